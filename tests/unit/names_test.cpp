// Names of kernel constants as they appear in pagetrace output.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>

#include "output/names.h"

using namespace pagetrace;

// Not every libc exposes these; the values are the kernel's (x86-64 uapi).
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

namespace {

uint32_t u32(long value) { return static_cast<uint32_t>(value); }

}  // namespace

TEST(ProtString, PlainCombinations) {
    EXPECT_EQ(prot_string(PROT_NONE), "---");
    EXPECT_EQ(prot_string(PROT_READ), "r--");
    EXPECT_EQ(prot_string(PROT_READ | PROT_WRITE), "rw-");
    EXPECT_EQ(prot_string(PROT_READ | PROT_EXEC), "r-x");
    EXPECT_EQ(prot_string(PROT_WRITE | PROT_EXEC), "-wx");
    EXPECT_EQ(prot_string(PROT_READ | PROT_WRITE | PROT_EXEC), "rwx");
}

TEST(ProtString, ExtraBitsAreAppended) {
    EXPECT_EQ(prot_string(u32(PROT_READ | PROT_WRITE | PROT_GROWSDOWN)), "rw-|growsdown");
    EXPECT_EQ(prot_string(u32(PROT_READ | PROT_GROWSUP)), "r--|growsup");
    EXPECT_EQ(prot_string(PROT_READ | 0x8), "r--|sem");
    // Bits without a name are kept as hex so nothing is silently dropped.
    EXPECT_EQ(prot_string(PROT_READ | 0x100), "r--|0x100");
    EXPECT_EQ(prot_string(0x80000000u | PROT_EXEC), "--x|0x80000000");
}

TEST(MmapFlagsString, MappingTypes) {
    EXPECT_EQ(mmap_flags_string(MAP_SHARED), "shared");
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE), "private");
    EXPECT_EQ(mmap_flags_string(MAP_SHARED_VALIDATE), "shared_validate");
}

TEST(MmapFlagsString, CommonCombinations) {
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE | MAP_ANONYMOUS), "private|anonymous");
    EXPECT_EQ(mmap_flags_string(MAP_SHARED | MAP_FIXED), "shared|fixed");
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE | MAP_FIXED_NOREPLACE), "private|fixed_noreplace");
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE),
              "private|anonymous|noreserve|populate");
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_GROWSDOWN),
              "private|anonymous|growsdown|stack");
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE | MAP_DENYWRITE | MAP_EXECUTABLE),
              "private|denywrite|executable");
}

TEST(MmapFlagsString, NoFlagsAtAll) {
    EXPECT_EQ(mmap_flags_string(0), "0");
    // No type but a flag: the flag alone.
    EXPECT_EQ(mmap_flags_string(MAP_ANONYMOUS), "anonymous");
}

TEST(MmapFlagsString, UnknownBitsAsHex) {
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE | 0x8000000), "private|0x8000000");
    // An unknown value of the type nibble stays visible as well.
    EXPECT_EQ(mmap_flags_string(0x04), "0x4");
    EXPECT_EQ(mmap_flags_string(0x04 | MAP_ANONYMOUS), "anonymous|0x4");
}

TEST(MmapFlagsString, HugetlbWithoutSize) {
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB),
              "private|anonymous|hugetlb");
}

TEST(MmapFlagsString, HugetlbWithPageSize1G) {
    EXPECT_EQ(mmap_flags_string(u32(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB)),
              "private|anonymous|hugetlb_1GB");
}

// The size bits of MAP_HUGE_2MB (21 << 26) overlap MAP_UNINITIALIZED (1 << 26):
// they are a page size here, not a flag, and must not be printed as one.
TEST(MmapFlagsString, HugetlbWithPageSize2M) {
    const std::string text =
        mmap_flags_string(u32(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB));
    EXPECT_NE(text.find("hugetlb_2MB"), std::string::npos) << text;
    EXPECT_EQ(text, "private|anonymous|hugetlb_2MB");
}

TEST(MmapFlagsString, HugeSizeBitsWithoutHugetlbAreNotASize) {
    // Without MAP_HUGETLB bit 26 is MAP_UNINITIALIZED.
    EXPECT_EQ(mmap_flags_string(MAP_PRIVATE | MAP_ANONYMOUS | 0x4000000),
              "private|anonymous|uninitialized");
}

TEST(MmapFlagsString, NeverContainsSpaces) {
    for (uint32_t log2 = 12; log2 < 40; ++log2) {
        const std::string text =
            mmap_flags_string(MAP_PRIVATE | MAP_HUGETLB | (log2 << MAP_HUGE_SHIFT));
        EXPECT_EQ(text.find(' '), std::string::npos) << text;
    }
}

TEST(HumanSize, Bytes) {
    EXPECT_EQ(human_size(0), "0 B");
    EXPECT_EQ(human_size(1), "1 B");
    EXPECT_EQ(human_size(1023), "1023 B");
}

TEST(HumanSize, ExactUnits) {
    EXPECT_EQ(human_size(1024), "1 KiB");
    EXPECT_EQ(human_size(4096), "4 KiB");
    EXPECT_EQ(human_size(2u << 20), "2 MiB");
    EXPECT_EQ(human_size(1ull << 30), "1 GiB");
    EXPECT_EQ(human_size(3ull << 30), "3 GiB");
    EXPECT_EQ(human_size(1ull << 40), "1 TiB");
    EXPECT_EQ(human_size(1ull << 60), "1 EiB");
    EXPECT_EQ(human_size(640ull << 10), "640 KiB");
}

TEST(HumanSize, OneDecimalWhenNotExact) {
    EXPECT_EQ(human_size(1536), "1.5 KiB");
    EXPECT_EQ(human_size(3ull << 19), "1.5 MiB");
    EXPECT_EQ(human_size((1ull << 30) + (1ull << 29)), "1.5 GiB");
    EXPECT_EQ(human_size(4097), "4.0 KiB");
}

TEST(HumanSize, LargestValue) {
    EXPECT_EQ(human_size(UINT64_MAX), "16.0 EiB");
}

TEST(Hex, LowercaseWithPrefix) {
    EXPECT_EQ(hex(0), "0x0");
    EXPECT_EQ(hex(0xff), "0xff");
    EXPECT_EQ(hex(0x7f0012345000ull), "0x7f0012345000");
    EXPECT_EQ(hex(UINT64_MAX), "0xffffffffffffffff");
}
