// Reading a live process's executable file mappings and their build-ids: what
// the recorder writes at attach, after an exec and after an mmap of an
// executable range, while the process and its files are there to be read.
#pragma once

#include <cstdint>
#include <optional>

#include "symbols/code_facts.h"

namespace pagetrace {

struct AddressRange {
    uint64_t start = 0;
    uint64_t end = 0;
};

// The file-backed executable mappings of `pid` (all of them, or those that
// overlap `only`), each with the build-id of its file. The file is opened
// through /proc/PID/map_files/ (the very file mapped, even if its path was
// replaced or deleted since; needs CAP_SYS_ADMIN), else by its path.
ProcessImages read_process_images(uint32_t pid, ImagesReason reason, uint64_t ts_ns,
                                  std::optional<AddressRange> only = std::nullopt);

}  // namespace pagetrace
