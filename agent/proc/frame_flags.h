// What the kernel says of physical frames: /proc/kpageflags (KPF_* bits,
// kernel/page_flags.h) and /proc/kpagecount (how many mappings each frame
// has). Both need CAP_SYS_ADMIN; without it every read gives nothing. Also the
// frame of the shared zero page, found once by reading an untouched page of
// our own.
#pragma once

#include <cstddef>
#include <cstdint>

#include "util/unique_fd.h"

namespace pagetrace {

class FrameFlags {
public:
    // Opens both files; reads fail (return 0) where they could not be opened.
    FrameFlags();

    bool available() const { return flags_.valid(); }
    // Reads the words of `count` frames from first_pfn; returns how many were read.
    size_t read_flags(uint64_t first_pfn, size_t count, uint64_t* out) const;
    size_t read_counts(uint64_t first_pfn, size_t count, uint64_t* out) const;

private:
    UniqueFd flags_;
    UniqueFd counts_;
};

// The frame of the zero page on this machine, or 0 if frames are not visible
// here. Found once and cached.
uint64_t zero_page_frame();

}  // namespace pagetrace
