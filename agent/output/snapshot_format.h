// `pagetrace snapshot` output: per mapping its range, permissions, backing and
// page counts; per page (with --pages) its frame and flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "output/formatter.h"
#include "proc/snapshot.h"

namespace pagetrace {

// What /proc/kpageflags and /proc/kpagecount say of a page's frame.
struct FrameFacts {
    bool known = false;
    uint64_t flags = 0;     // KPF_* (kernel/page_flags.h)
    uint64_t mapcount = 0;  // mappings of the frame
};

// "thp ksm zero swapcache lru active ..." of a KPF_* word.
std::string kernel_page_flags_string(uint64_t flags);

// frames: with --pages, the facts of each page's frame (parallel to
// snapshot.pages; empty when they could not be read).
std::string format_snapshot(const PagemapSnapshot& snapshot, OutputFormat format, bool pages,
                            const std::vector<FrameFacts>& frames = {});

}  // namespace pagetrace
