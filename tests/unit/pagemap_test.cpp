// /proc/PID/pagemap: decoding of hand-made entries bit by bit, and reading the
// test's own pagemap.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "proc/pagemap.h"
#include "support/subprocess.h"
#include "util/error.h"

using namespace pagetrace;

namespace {

constexpr uint64_t bit(int n) { return uint64_t{1} << n; }

constexpr uint64_t kPresent = bit(63);
constexpr uint64_t kSwapped = bit(62);
constexpr uint64_t kFileOrShared = bit(61);
constexpr uint64_t kGuard = bit(58);
constexpr uint64_t kUffdWp = bit(57);
constexpr uint64_t kExclusive = bit(56);
constexpr uint64_t kSoftDirty = bit(55);
constexpr uint64_t kLow55 = bit(55) - 1;

PagemapEntry entry(uint64_t raw) { return PagemapEntry{raw}; }

// A swap entry as the kernel writes it: type in bits 0-4, offset in 5-54.
uint64_t swap_raw(uint32_t type, uint64_t offset) {
    return kSwapped | (offset << 5) | (type & 0x1f);
}

}  // namespace

TEST(PagemapEntry, EmptyEntry) {
    const auto e = entry(0);
    EXPECT_FALSE(e.present());
    EXPECT_FALSE(e.swapped());
    EXPECT_FALSE(e.file_or_shared_anon());
    EXPECT_FALSE(e.guard_region());
    EXPECT_FALSE(e.uffd_write_protected());
    EXPECT_FALSE(e.exclusive());
    EXPECT_FALSE(e.soft_dirty());
    EXPECT_EQ(e.pfn(), 0u);
    EXPECT_EQ(e.swap_type(), 0u);
    EXPECT_EQ(e.swap_offset(), 0u);
    EXPECT_FALSE(e.special_swap_entry());
}

TEST(PagemapEntry, PresentWithPfn) {
    const auto e = entry(kPresent | 0x123456);
    EXPECT_TRUE(e.present());
    EXPECT_FALSE(e.swapped());
    EXPECT_EQ(e.pfn(), 0x123456u);
    EXPECT_EQ(e.swap_type(), 0u);
    EXPECT_EQ(e.swap_offset(), 0u);
    EXPECT_FALSE(e.special_swap_entry());
}

TEST(PagemapEntry, PfnIsBitsZeroTo54Only) {
    // All flag bits set around the largest PFN: none of them leaks into it.
    const auto e = entry(~uint64_t{0} & ~kSwapped);
    EXPECT_EQ(e.pfn(), kLow55);
    EXPECT_EQ(entry(kPresent | kLow55).pfn(), kLow55);
    EXPECT_EQ(entry(kPresent | bit(54)).pfn(), bit(54));
    EXPECT_EQ(entry(kPresent | kSoftDirty | kExclusive | kFileOrShared | 1).pfn(), 1u);
    EXPECT_EQ(PagemapEntry::kPfnMask, kLow55);
}

TEST(PagemapEntry, PresentWithoutPrivilegeHasPfnZero) {
    // Without CAP_SYS_ADMIN the kernel clears the PFN of present pages.
    const auto e = entry(kPresent | kExclusive | kSoftDirty);
    EXPECT_TRUE(e.present());
    EXPECT_EQ(e.pfn(), 0u);
}

TEST(PagemapEntry, PfnIsZeroWhenNotPresent) {
    // Bits 0-54 of a non-present entry are not a frame.
    EXPECT_EQ(entry(0x123456).pfn(), 0u);
    EXPECT_EQ(entry(kLow55).pfn(), 0u);
    EXPECT_EQ(entry(swap_raw(1, 0x4000)).pfn(), 0u);
    EXPECT_EQ(entry(kFileOrShared | kSoftDirty | 0xabc).pfn(), 0u);
}

TEST(PagemapEntry, SwappedTypeAndOffset) {
    const auto e = entry(swap_raw(3, 0x2abcdef));
    EXPECT_TRUE(e.swapped());
    EXPECT_FALSE(e.present());
    EXPECT_EQ(e.swap_type(), 3u);
    EXPECT_EQ(e.swap_offset(), 0x2abcdefu);
    EXPECT_FALSE(e.special_swap_entry());
}

TEST(PagemapEntry, SwapFieldsAtTheirLimits) {
    const uint64_t max_offset = (uint64_t{1} << 50) - 1;  // bits 5-54
    const auto e = entry(swap_raw(31, max_offset) | kSoftDirty | kExclusive);
    EXPECT_EQ(e.swap_type(), 31u);
    EXPECT_EQ(e.swap_offset(), max_offset);
    // Type 0, offset 1 is just bit 5.
    const auto low = entry(kSwapped | bit(5));
    EXPECT_EQ(low.swap_type(), 0u);
    EXPECT_EQ(low.swap_offset(), 1u);
    // Offset 0 with the largest type: only bits 0-4.
    const auto type_only = entry(kSwapped | 0x1f);
    EXPECT_EQ(type_only.swap_type(), 31u);
    EXPECT_EQ(type_only.swap_offset(), 0u);
}

TEST(PagemapEntry, SwapFieldsAreZeroWhenNotSwapped) {
    const auto e = entry(kPresent | 0x1f | (0x1234ull << 5));
    EXPECT_EQ(e.swap_type(), 0u);
    EXPECT_EQ(e.swap_offset(), 0u);
    EXPECT_FALSE(e.special_swap_entry());
}

TEST(PagemapEntry, SpecialSwapEntryFromType24Up) {
    for (uint32_t type = 0; type < 32; ++type) {
        const auto e = entry(swap_raw(type, 0x777));
        EXPECT_EQ(e.swap_type(), type);
        EXPECT_EQ(e.special_swap_entry(), type >= 24) << "type " << type;
    }
    // The same low bits on a present page are a PFN, not a swap type.
    EXPECT_FALSE(entry(kPresent | 0x1f).special_swap_entry());
    EXPECT_FALSE(entry(0x1f).special_swap_entry());
}

TEST(PagemapEntry, EachFlagBitAlone) {
    struct Flag {
        uint64_t raw;
        const char* name;
    };
    for (const Flag& f : {Flag{kPresent, "present"}, Flag{kSwapped, "swapped"},
                          Flag{kFileOrShared, "file/shared"}, Flag{kGuard, "guard"},
                          Flag{kUffdWp, "uffd-wp"}, Flag{kExclusive, "exclusive"},
                          Flag{kSoftDirty, "soft-dirty"}}) {
        const auto e = entry(f.raw);
        EXPECT_EQ(e.present(), f.raw == kPresent) << f.name;
        EXPECT_EQ(e.swapped(), f.raw == kSwapped) << f.name;
        EXPECT_EQ(e.file_or_shared_anon(), f.raw == kFileOrShared) << f.name;
        EXPECT_EQ(e.guard_region(), f.raw == kGuard) << f.name;
        EXPECT_EQ(e.uffd_write_protected(), f.raw == kUffdWp) << f.name;
        EXPECT_EQ(e.exclusive(), f.raw == kExclusive) << f.name;
        EXPECT_EQ(e.soft_dirty(), f.raw == kSoftDirty) << f.name;
        EXPECT_EQ(e.pfn(), 0u) << f.name;
    }
}

TEST(PagemapEntry, UnusedBitsMeanNothing) {
    // Bits 59 and 60 are not assigned: they set no flag.
    const auto e = entry(bit(59) | bit(60));
    EXPECT_FALSE(e.present());
    EXPECT_FALSE(e.swapped());
    EXPECT_FALSE(e.file_or_shared_anon());
    EXPECT_FALSE(e.guard_region());
    EXPECT_FALSE(e.uffd_write_protected());
}

TEST(PagemapEntry, RealisticCombinations) {
    // A private anonymous page just written by its only user.
    const auto anon = entry(kPresent | kExclusive | kSoftDirty | 0x3f00a);
    EXPECT_TRUE(anon.present());
    EXPECT_TRUE(anon.exclusive());
    EXPECT_TRUE(anon.soft_dirty());
    EXPECT_FALSE(anon.file_or_shared_anon());
    EXPECT_EQ(anon.pfn(), 0x3f00au);
    // A page of a shared library.
    const auto lib = entry(kPresent | kFileOrShared | 0x1000);
    EXPECT_TRUE(lib.file_or_shared_anon());
    EXPECT_FALSE(lib.exclusive());
    EXPECT_EQ(lib.pfn(), 0x1000u);
    // A file page that was swapped out of shmem.
    const auto shm = entry(swap_raw(0, 42) | kFileOrShared);
    EXPECT_TRUE(shm.swapped());
    EXPECT_TRUE(shm.file_or_shared_anon());
    EXPECT_EQ(shm.swap_offset(), 42u);
    // A guard region installed with MADV_GUARD_INSTALL: not present, no frame.
    const auto guard = entry(kGuard);
    EXPECT_TRUE(guard.guard_region());
    EXPECT_FALSE(guard.present());
    EXPECT_EQ(guard.pfn(), 0u);
    // A write-protected userfaultfd page.
    EXPECT_TRUE(entry(kPresent | kUffdWp | 5).uffd_write_protected());
}

// --- PagemapReader on the test's own address space ----------------------------

namespace {

size_t page_size() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }

// An anonymous mapping that is unmapped at the end, with transparent huge
// pages off for it: with THP a single touch could populate a whole 2 MiB.
class Mapping {
public:
    explicit Mapping(size_t pages, int flags = MAP_PRIVATE | MAP_ANONYMOUS,
                     int prot = PROT_READ | PROT_WRITE)
        : len_(pages * page_size()) {
        void* mem = ::mmap(nullptr, len_, prot, flags, -1, 0);
        if (mem == MAP_FAILED) {
            ADD_FAILURE() << "mmap: " << std::strerror(errno);
            return;
        }
        base_ = static_cast<char*>(mem);
        ::madvise(base_, len_, MADV_NOHUGEPAGE);
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() {
        if (base_) ::munmap(base_, len_);
    }

    char* page(size_t i) const { return base_ + i * page_size(); }
    uint64_t first_vpn() const { return reinterpret_cast<uintptr_t>(base_) / page_size(); }
    bool ok() const { return base_ != nullptr; }

private:
    size_t len_ = 0;
    char* base_ = nullptr;
};

void touch(char* p, char value) { *static_cast<volatile char*>(p) = value; }

bool is_root() { return ::geteuid() == 0; }

}  // namespace

TEST(PagemapReader, TouchedPagesArePresent) {
    constexpr size_t kPages = 16;
    Mapping m(kPages);
    ASSERT_TRUE(m.ok());
    for (size_t i = 0; i < kPages; ++i) touch(m.page(i), static_cast<char>(i + 1));

    PagemapReader reader(::getpid());
    EXPECT_EQ(reader.pid(), ::getpid());
    std::vector<PagemapEntry> entries(kPages);
    ASSERT_EQ(reader.read(m.first_vpn(), kPages, entries.data()), kPages);

    std::set<uint64_t> pfns;
    for (size_t i = 0; i < kPages; ++i) {
        const auto& e = entries[i];
        EXPECT_TRUE(e.present()) << "page " << i << " raw " << std::hex << e.raw;
        EXPECT_FALSE(e.swapped()) << "page " << i;
        EXPECT_FALSE(e.file_or_shared_anon()) << "private anonymous page " << i;
        EXPECT_TRUE(e.exclusive()) << "page " << i << " raw " << std::hex << e.raw;
        pfns.insert(e.pfn());
    }
    if (!is_root()) {
        std::fprintf(stderr,
                     "*** PagemapReader.TouchedPagesArePresent: not root, the kernel hides PFNs: "
                     "SKIPPING the PFN checks ***\n");
        for (const auto& e : entries) EXPECT_EQ(e.pfn(), 0u);
        return;
    }
    EXPECT_EQ(pfns.count(0), 0u) << "a present page has PFN 0 although we are root";
    EXPECT_EQ(pfns.size(), kPages) << "two pages share a frame";
}

TEST(PagemapReader, UntouchedPagesOfAFreshMappingAreNotPresent) {
    constexpr size_t kPages = 32;
    Mapping m(kPages);
    ASSERT_TRUE(m.ok());
    PagemapReader reader(::getpid());
    std::vector<PagemapEntry> entries(kPages);
    ASSERT_EQ(reader.read(m.first_vpn(), kPages, entries.data()), kPages);
    for (size_t i = 0; i < kPages; ++i) {
        EXPECT_FALSE(entries[i].present()) << "page " << i << " raw " << std::hex << entries[i].raw;
        EXPECT_FALSE(entries[i].swapped()) << "page " << i;
        EXPECT_EQ(entries[i].pfn(), 0u) << "page " << i;
    }
}

TEST(PagemapReader, OnlyTheTouchedPagesArePresentAcrossReadChunks) {
    // The reader preads at most 4096 entries at a time: touch pages on both
    // sides of the chunk boundaries and check each lands at its own index.
    constexpr size_t kPages = 9000;
    Mapping m(kPages, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    ASSERT_TRUE(m.ok());
    const std::set<size_t> touched{0, 1, 4095, 4096, 4097, 8191, 8192, kPages - 1};
    for (size_t i : touched) touch(m.page(i), 1);

    PagemapReader reader(::getpid());
    std::vector<PagemapEntry> entries(kPages);
    ASSERT_EQ(reader.read(m.first_vpn(), kPages, entries.data()), kPages);
    for (size_t i = 0; i < kPages; ++i) {
        ASSERT_EQ(entries[i].present(), touched.count(i) == 1) << "page " << i;
    }
    // A read that starts inside the mapping sees the same entries.
    std::vector<PagemapEntry> tail(10);
    ASSERT_EQ(reader.read(m.first_vpn() + 4090, tail.size(), tail.data()), tail.size());
    for (size_t k = 0; k < tail.size(); ++k) {
        EXPECT_EQ(tail[k].raw, entries[4090 + k].raw) << "page " << 4090 + k;
    }
}

TEST(PagemapReader, SharedAnonymousPagesAreMarkedFileOrShared) {
    Mapping m(2, MAP_SHARED | MAP_ANONYMOUS);
    ASSERT_TRUE(m.ok());
    touch(m.page(0), 1);
    PagemapReader reader(::getpid());
    PagemapEntry e[2];
    ASSERT_EQ(reader.read(m.first_vpn(), 2, e), 2u);
    EXPECT_TRUE(e[0].present());
    EXPECT_TRUE(e[0].file_or_shared_anon()) << std::hex << e[0].raw;
    EXPECT_FALSE(e[1].present());
}

TEST(PagemapReader, UnmappedPagesAreNotPresent) {
    Mapping m(3);
    ASSERT_TRUE(m.ok());
    touch(m.page(0), 1);
    touch(m.page(1), 1);
    touch(m.page(2), 1);
    ASSERT_EQ(::munmap(m.page(1), page_size()), 0);  // a hole in the middle
    PagemapReader reader(::getpid());
    PagemapEntry e[3];
    ASSERT_EQ(reader.read(m.first_vpn(), 3, e), 3u);
    EXPECT_TRUE(e[0].present());
    EXPECT_EQ(e[1].raw, 0u);
    EXPECT_TRUE(e[2].present());
}

TEST(PagemapReader, GuardRegionBit) {
    // MADV_GUARD_INSTALL (Linux 6.13); pagemap reports it from Linux 6.15.
    utsname u{};
    int major = 0, minor = 0;
    if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2 ||
        major < 6 || (major == 6 && minor < 15)) {
        GTEST_SKIP() << "kernel too old for the pagemap guard-region bit";
    }
    Mapping m(2);
    ASSERT_TRUE(m.ok());
    if (::madvise(m.page(0), page_size(), 102 /* MADV_GUARD_INSTALL */) != 0) {
        GTEST_SKIP() << "MADV_GUARD_INSTALL: " << std::strerror(errno);
    }
    PagemapReader reader(::getpid());
    PagemapEntry e[2];
    ASSERT_EQ(reader.read(m.first_vpn(), 2, e), 2u);
    EXPECT_TRUE(e[0].guard_region()) << std::hex << e[0].raw;
    EXPECT_FALSE(e[0].present());
    EXPECT_FALSE(e[1].guard_region());
}

TEST(PagemapReader, ReadPastTheEndOfTheAddressSpaceIsShort) {
    // The user address space ends one page below 2^47 (4-level paging) or
    // 2^56 (5-level). A read straddling the end returns the entries before it;
    // one starting past the end returns none. Neither is an error.
    PagemapReader reader(::getpid());
    PagemapEntry e[8];
    const size_t got47 = reader.read((uint64_t{1} << 47) / page_size() - 4, 8, e);
    const size_t got56 = reader.read((uint64_t{1} << 56) / page_size() - 4, 8, e);
    if (got47 < 8) {
        // 4-level: the last page below 2^47 is not a user page.
        EXPECT_EQ(got47, 3u);
        EXPECT_EQ(got56, 0u);
    } else {
        std::fprintf(stderr, "(5-level paging: the address space ends below 2^56)\n");
        EXPECT_EQ(got56, 3u);
    }
    // Entirely past every possible end, up to the largest page number.
    EXPECT_EQ(reader.read(uint64_t{1} << 50, 8, e), 0u);
    EXPECT_EQ(reader.read((uint64_t{1} << 52) - 1, 8, e), 0u);
}

TEST(PagemapReader, ZeroCountReadsNothing) {
    PagemapReader reader(::getpid());
    PagemapEntry e{0xdead};
    EXPECT_EQ(reader.read(0, 0, &e), 0u);
    EXPECT_EQ(e.raw, 0xdeadu);
}

TEST(PagemapReader, GoneProcessIsAnErrorSayingSo) {
    const pid_t child = pagetrace::test::reaped_pid();
    try {
        PagemapReader reader(child);
        FAIL() << "opened the pagemap of reaped pid " << child;
    } catch (const Error& err) {
        const std::string what = err.what();
        EXPECT_NE(what.find("gone"), std::string::npos) << what;
        EXPECT_NE(what.find(std::to_string(child)), std::string::npos) << what;
    }
}
