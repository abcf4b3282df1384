// A process's facts as /proc tells them: its name, executable, command line
// and memory map. Read when tracing of a process begins (attach) and right
// after it exec'd; recordings carry them as process chunks, for `info` and for
// anyone who needs the binaries a process ran.
#pragma once

#include <cstdint>
#include <string>

namespace pagetrace {

enum class SnapshotReason : uint32_t {
    Attach = 1,  // a process traced with -p, when recording started
    Exec = 2,    // a traced process called execve()
};

struct ProcessSnapshot {
    uint32_t pid = 0;
    SnapshotReason reason = SnapshotReason::Exec;
    uint64_t ts_ns = 0;     // CLOCK_MONOTONIC when /proc was read
    std::string comm;
    std::string exe;        // readlink /proc/PID/exe
    std::string cmdline;    // /proc/PID/cmdline as is: NUL-separated arguments
    std::string maps;       // /proc/PID/maps text
    std::string problems;   // what could not be read, and why ("" if nothing)
};

// Reads /proc/PID/{comm,exe,cmdline,maps}. What cannot be read (the process
// is gone, permissions) is left empty and explained in `problems`.
ProcessSnapshot read_process_snapshot(uint32_t pid, SnapshotReason reason, uint64_t ts_ns);

}  // namespace pagetrace
