// The kernel's memory-management constants as the event ABI carries them, in
// one place: the mmap/mremap/madvise argument values (x86-64 uapi, which is
// what recordings hold, whatever machine replays them) and the page geometry
// (the page size of the traced machine: live from the system, on replay from
// the recording header).
#pragma once

#include <cstdint>

namespace pagetrace::kernel {

// --- mmap(2) and mprotect(2) (include/uapi/asm-generic/mman-common.h) -------

inline constexpr uint32_t kProtRead = 0x1;
inline constexpr uint32_t kProtWrite = 0x2;
inline constexpr uint32_t kProtExec = 0x4;

inline constexpr uint32_t kMapShared = 0x01;
inline constexpr uint32_t kMapPrivate = 0x02;
inline constexpr uint32_t kMapSharedValidate = 0x03;
inline constexpr uint32_t kMapDroppable = 0x08;
inline constexpr uint32_t kMapTypeMask = 0x0f;
inline constexpr uint32_t kMapFixed = 0x10;
inline constexpr uint32_t kMapAnonymous = 0x20;
inline constexpr uint32_t kMap32Bit = 0x40;
inline constexpr uint32_t kMapGrowsdown = 0x100;
inline constexpr uint32_t kMapDenywrite = 0x800;
inline constexpr uint32_t kMapExecutable = 0x1000;
inline constexpr uint32_t kMapLocked = 0x2000;
inline constexpr uint32_t kMapNoreserve = 0x4000;
inline constexpr uint32_t kMapPopulate = 0x8000;
inline constexpr uint32_t kMapNonblock = 0x10000;
inline constexpr uint32_t kMapStack = 0x20000;
inline constexpr uint32_t kMapHugetlb = 0x40000;
inline constexpr uint32_t kMapSync = 0x80000;
inline constexpr uint32_t kMapFixedNoreplace = 0x100000;
inline constexpr uint32_t kMapUninitialized = 0x4000000;
// With kMapHugetlb: log2 of the huge page size in bits 26-31 (MAP_HUGE_SHIFT).
inline constexpr int kMapHugeShift = 26;
inline constexpr uint32_t kMapHugeMask = 0x3f;

// --- mremap(2) (include/uapi/linux/mman.h) ------------------------------------

inline constexpr uint32_t kMremapMaymove = 1;
inline constexpr uint32_t kMremapFixed = 2;
inline constexpr uint32_t kMremapDontunmap = 4;

// --- madvise(2) advice (include/uapi/asm-generic/mman-common.h) --------------

inline constexpr int32_t kMadvNormal = 0;
inline constexpr int32_t kMadvRandom = 1;
inline constexpr int32_t kMadvSequential = 2;
inline constexpr int32_t kMadvWillneed = 3;
inline constexpr int32_t kMadvDontneed = 4;
inline constexpr int32_t kMadvFree = 8;
inline constexpr int32_t kMadvRemove = 9;
inline constexpr int32_t kMadvDontfork = 10;
inline constexpr int32_t kMadvDofork = 11;
inline constexpr int32_t kMadvMergeable = 12;
inline constexpr int32_t kMadvUnmergeable = 13;
inline constexpr int32_t kMadvHugepage = 14;
inline constexpr int32_t kMadvNohugepage = 15;
inline constexpr int32_t kMadvDontdump = 16;
inline constexpr int32_t kMadvDodump = 17;
inline constexpr int32_t kMadvWipeonfork = 18;
inline constexpr int32_t kMadvKeeponfork = 19;
inline constexpr int32_t kMadvCold = 20;
inline constexpr int32_t kMadvPageout = 21;
inline constexpr int32_t kMadvPopulateRead = 22;
inline constexpr int32_t kMadvPopulateWrite = 23;
inline constexpr int32_t kMadvDontneedLocked = 24;
inline constexpr int32_t kMadvCollapse = 25;
inline constexpr int32_t kMadvGuardInstall = 102;
inline constexpr int32_t kMadvGuardRemove = 103;
inline constexpr int32_t kMadvHwpoison = 100;
inline constexpr int32_t kMadvSoftOffline = 101;

// Advice after which the range's pages no longer hold their frames.
// (MADV_PAGEOUT is not one: it asks reclaim to take the pages, which keeps
// their contents in swap or the file; swap_out and evict events say which.)
constexpr bool madvise_discards(int32_t advice) {
    return advice == kMadvDontneed || advice == kMadvFree || advice == kMadvRemove ||
           advice == kMadvDontneedLocked;
}

// --- pages ------------------------------------------------------------------

// The page size of the traced machine and the arithmetic on it. Everything
// that turns addresses into pages takes one, so a recording made on a machine
// with 16 KiB or 64 KiB pages replays with its own page size.
class PageGeometry {
public:
    // 4 KiB pages (x86-64).
    constexpr PageGeometry() = default;
    // A power of two of at least 4 KiB; anything else gives 4 KiB pages
    // (recording headers are checked before this is reached).
    static constexpr PageGeometry of_size(uint64_t page_size) {
        PageGeometry g;
        if (page_size >= 4096 && (page_size & (page_size - 1)) == 0) {
            g.shift_ = static_cast<unsigned>(__builtin_ctzll(page_size));
        }
        return g;
    }
    // The running system's page size (sysconf).
    static PageGeometry of_system();

    constexpr unsigned shift() const { return shift_; }
    constexpr uint64_t size() const { return uint64_t{1} << shift_; }
    constexpr uint64_t mask() const { return size() - 1; }
    // One past the highest page address: the whole address space.
    constexpr uint64_t address_end() const { return ~mask(); }

    constexpr uint64_t down(uint64_t addr) const { return addr & ~mask(); }
    // Rounded up to a page, never past address_end().
    constexpr uint64_t up(uint64_t addr) const {
        return addr > address_end() ? address_end() : (addr + mask()) & ~mask();
    }
    // The end of [addr, addr + len) rounded up to a page, without wrapping.
    constexpr uint64_t range_end(uint64_t addr, uint64_t len) const {
        return up(addr + len < addr ? address_end() : addr + len);
    }
    constexpr uint64_t vpn(uint64_t addr) const { return addr >> shift_; }
    constexpr uint64_t addr(uint64_t vpn) const { return vpn << shift_; }
    // Pages covering [addr, addr + len).
    constexpr uint64_t pages_in(uint64_t addr, uint64_t len) const {
        return vpn(range_end(addr, len)) - vpn(down(addr));
    }

    constexpr bool operator==(const PageGeometry&) const = default;

private:
    unsigned shift_ = 12;
};

}  // namespace pagetrace::kernel
