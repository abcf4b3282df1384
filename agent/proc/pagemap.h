// /proc/PID/pagemap, with the kernel's real bit layout
// (Documentation/admin-guide/mm/pagemap.rst): one little-endian u64 per
// virtual page.
//   bits 0-54  PFN if present (0 unless the reader has CAP_SYS_ADMIN)
//   bits 0-4   swap type, 5-54 swap offset, if swapped
//   bit 55 soft-dirty, 56 exclusively mapped, 57 uffd write-protected,
//   58 guard region, 61 file page or shared anonymous, 62 swapped (also a
//   migration entry: a page under migration), 63 present.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "util/unique_fd.h"

namespace pagetrace {

struct PagemapEntry {
    static constexpr uint64_t kPfnMask = (1ull << 55) - 1;

    uint64_t raw = 0;

    bool present() const { return (raw >> 63) & 1; }
    bool swapped() const { return (raw >> 62) & 1; }
    bool file_or_shared_anon() const { return (raw >> 61) & 1; }
    bool guard_region() const { return (raw >> 58) & 1; }
    bool uffd_write_protected() const { return (raw >> 57) & 1; }
    bool exclusive() const { return (raw >> 56) & 1; }
    bool soft_dirty() const { return (raw >> 55) & 1; }
    // The frame, for a present page (0 if the reader may not see frames).
    uint64_t pfn() const { return present() ? raw & kPfnMask : 0; }
    uint32_t swap_type() const { return swapped() ? static_cast<uint32_t>(raw & 0x1f) : 0; }
    uint64_t swap_offset() const { return swapped() ? (raw & kPfnMask) >> 5 : 0; }
    // A swap entry whose type is one of the kernel's non-swap-file types
    // (migration, device, hwpoison, marker: the top of the 5-bit type space).
    // With no swap files that high, such an entry is a page under migration.
    bool special_swap_entry() const { return swapped() && swap_type() >= 24; }
};

class PagemapReader {
public:
    // Opens /proc/PID/pagemap. Throws Error; a process that is gone gives an
    // Error mentioning it.
    explicit PagemapReader(pid_t pid);

    // Reads `count` entries from virtual page number `first_page` (address >>
    // 12) into `out`. Returns how many were read: fewer if the process exited
    // or exec'd meanwhile.
    size_t read(uint64_t first_page, size_t count, PagemapEntry* out);

    pid_t pid() const { return pid_; }

private:
    pid_t pid_;
    UniqueFd fd_;
};

}  // namespace pagetrace
