// A pagemap snapshot: the state of a process's pages at one moment, read from
// /proc/PID/maps and /proc/PID/pagemap. Taken at attach, after exec,
// periodically, at the end of tracing, and for exactly the pages just faulted
// (targeted). Recordings carry them as chunks; the timeline joins them with
// the event stream.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proc/maps.h"
#include "proc/pagemap.h"

namespace pagetrace {

enum class SnapshotKind : uint8_t {
    Attach = 1,    // when tracing of the process began
    Exec = 2,      // after it exec'd
    Periodic = 3,  // --snapshot-interval
    Final = 4,     // when tracing ended
    Targeted = 5,  // just the pages faulted shortly before
};

// One page that is present or swapped (pages with neither are left out).
struct SnapshotPage {
    uint64_t vaddr = 0;  // page-aligned
    PagemapEntry entry;
};

// A transparent huge page mapped whole (by one PMD) over an aligned block of
// the address space: its subpages are present, subpage i in frame pfn + i.
struct HugePage {
    uint64_t vaddr = 0;  // its first page, aligned to its size
    uint64_t pfn = 0;    // the frame of its head page
    uint32_t order = 0;  // 9: 2 MiB with 4 KiB pages
    bool zero = false;   // the huge zero page (read faults on huge-page-eligible memory)
};

struct PagemapSnapshot {
    uint32_t pid = 0;
    // CLOCK_MONOTONIC when the read finished: each page shows its state at some
    // moment before it (a fault before ts_ns may already be reflected).
    uint64_t ts_ns = 0;
    SnapshotKind kind = SnapshotKind::Periodic;
    // PFNs are only visible to a reader with CAP_SYS_ADMIN; without it every
    // present page reads PFN 0, which is recorded as "unknown", never as a frame.
    bool pfns_visible = true;
    // The mappings at the time (full snapshots; empty for targeted ones).
    std::vector<Mapping> mappings;
    // Ordered by vaddr.
    std::vector<SnapshotPage> pages;
    // The read was cut short: the process exited or exec'd meanwhile.
    bool partial = false;
    // The frame of the shared zero page on the traced machine (0: unknown),
    // so that a page mapping it is not taken for one with a frame of its own.
    uint64_t zero_pfn = 0;
    // The huge pages among `pages` (by vaddr), found with /proc/kpageflags.
    std::vector<HugePage> huge_pages;
};

}  // namespace pagetrace
