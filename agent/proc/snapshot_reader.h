// Taking pagemap snapshots. A full snapshot reads /proc/PID/maps and the
// pagemap entries of every present or swapped page; a targeted one reads just
// the pages asked for. On kernels with the PAGEMAP_SCAN ioctl (6.7+) the
// present and swapped runs are found first and only they are read (the ioctl
// gives no frames); elsewhere every mapped page's entry is read in 32 KiB
// chunks and the empty ones are skipped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>

#include "proc/snapshot.h"

namespace pagetrace {

enum class ScanMethod {
    Auto,         // PAGEMAP_SCAN if the kernel has it, else plain reads
    PlainRead,    // read every mapped page's entry
    PagemapScan,  // PAGEMAP_SCAN to find runs, then read those (Error if unsupported)
};

// Whether this kernel supports the PAGEMAP_SCAN ioctl (probed once).
bool pagemap_scan_supported();

// Whether this process can see PFNs in pagemap (CAP_SYS_ADMIN).
bool pagemap_pfns_visible();

struct SnapshotStats {
    uint64_t mapped_pages = 0;  // pages covered by the mappings
    uint64_t entries_read = 0;  // pagemap entries read with pread
    uint64_t scan_calls = 0;    // PAGEMAP_SCAN ioctls
};

// A full snapshot. Throws Error if the process is gone before it starts; a
// process that exits or execs meanwhile gives a snapshot marked partial.
PagemapSnapshot take_snapshot(pid_t pid, SnapshotKind kind, uint64_t ts_ns,
                              ScanMethod method = ScanMethod::Auto,
                              SnapshotStats* stats = nullptr);

// Fills in what /proc/kpageflags adds to a snapshot (the zero page's frame,
// the huge pages), when frames are visible.
void describe_frames(PagemapSnapshot& snapshot);

// A targeted snapshot of the given virtual page numbers (address >> 12),
// sorted ascending. Missing or empty pages are left out.
PagemapSnapshot take_page_snapshot(pid_t pid, std::span<const uint64_t> vpages, uint64_t ts_ns);

}  // namespace pagetrace
