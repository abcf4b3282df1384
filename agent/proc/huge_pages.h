// Telling huge pages apart in pagemap: pagemap gives one entry per base page,
// also for the subpages of a huge page. A transparent huge page (or a hugetlb
// page) mapped by one PMD shows as a whole aligned block of present pages in
// consecutive frames from an aligned head; /proc/kpageflags then says THP (or
// HUGE) of its head. Huge pages mapped piecemeal by PTEs (after a split) are
// not reported as huge pages.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kernel/mm.h"
#include "proc/snapshot.h"

namespace pagetrace {

// The order of a PMD-mapped page: a page table of the page size holds
// page_size / 8 entries (9 with 4 KiB pages: 2 MiB).
constexpr uint32_t pmd_order(kernel::PageGeometry pages) { return pages.shift() - 3; }

// Reads the kpageflags words of `count` frames from first_pfn; returns how many.
using FrameFlagsReader = std::function<size_t(uint64_t first_pfn, size_t count, uint64_t* out)>;

// Whether kpageflags word `flags` is a page of a huge page (THP, hugetlb).
bool is_huge_frame(uint64_t flags);

// The PMD-mapped huge pages among `pages` (sorted by vaddr), in address order.
std::vector<HugePage> find_huge_pages(std::span<const SnapshotPage> pages,
                                      kernel::PageGeometry geometry,
                                      const FrameFlagsReader& read_flags);

}  // namespace pagetrace
