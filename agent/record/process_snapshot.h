// Reading a process's facts from /proc for a process chunk: exe, cmdline,
// comm and the memory map, as they are when read.
#pragma once

#include <cstdint>

#include "record/format.h"

namespace pagetrace::recording {

// Reads /proc/PID/{comm,exe,cmdline,maps}. What cannot be read (the process
// is gone, permissions) is left empty and explained in `problems`.
ProcessSnapshot read_process_snapshot(uint32_t pid, SnapshotReason reason, uint64_t ts_ns);

}  // namespace pagetrace::recording
