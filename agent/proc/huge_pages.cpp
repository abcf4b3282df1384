#include "proc/huge_pages.h"

#include "kernel/page_flags.h"

namespace pagetrace {

bool is_huge_frame(uint64_t flags) {
    return (flags & (kernel::kKpfThp | kernel::kKpfHuge)) != 0;
}

std::vector<HugePage> find_huge_pages(std::span<const SnapshotPage> pages,
                                      kernel::PageGeometry geometry,
                                      const FrameFlagsReader& read_flags) {
    std::vector<HugePage> found;
    const uint32_t order = pmd_order(geometry);
    const uint64_t block = uint64_t{1} << order;
    const uint64_t block_bytes = block * geometry.size();
    size_t i = 0;
    while (i + block <= pages.size()) {
        const SnapshotPage& head = pages[i];
        const uint64_t pfn = head.entry.pfn();
        // A candidate starts at an aligned address, in an aligned frame.
        if (head.vaddr % block_bytes != 0 || !pfn || pfn % block != 0) {
            ++i;
            continue;
        }
        size_t n = 1;
        while (n < block && pages[i + n].vaddr == head.vaddr + n * geometry.size() &&
               pages[i + n].entry.pfn() == pfn + n) {
            ++n;
        }
        if (n < block) {
            i += n;
            continue;
        }
        uint64_t flags = 0;
        if (read_flags(pfn, 1, &flags) == 1 && is_huge_frame(flags)) {
            found.push_back({head.vaddr, pfn, order, (flags & kernel::kKpfZeroPage) != 0});
        }
        i += block;
    }
    return found;
}

}  // namespace pagetrace
