// Names of kernel constants and of pagetrace's own values as they appear in
// pagetrace output: protections and flags, madvise advice, the kernel's TLB
// and migration enums, fault outcomes and access, event types; sizes and
// addresses.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "decode/event.h"
#include "output/names.h"
#include "pagetrace/events.h"

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

// --- protections and flags ------------------------------------------------------

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

TEST(MremapFlagsString, KnownFlags) {
    EXPECT_EQ(mremap_flags_string(0), "0");
    EXPECT_EQ(mremap_flags_string(1), "maymove");
    EXPECT_EQ(mremap_flags_string(2), "fixed");
    EXPECT_EQ(mremap_flags_string(1 | 2), "maymove|fixed");
    EXPECT_EQ(mremap_flags_string(4), "dontunmap");
    EXPECT_EQ(mremap_flags_string(1 | 4), "maymove|dontunmap");
    EXPECT_EQ(mremap_flags_string(1 | 2 | 4), "maymove|fixed|dontunmap");
}

TEST(MremapFlagsString, UnknownBitsAsHex) {
    EXPECT_EQ(mremap_flags_string(8), "0x8");
    EXPECT_EQ(mremap_flags_string(1 | 0x10), "maymove|0x10");
    EXPECT_EQ(mremap_flags_string(0x80000000u | 2), "fixed|0x80000000");
    EXPECT_EQ(mremap_flags_string(0xffffffffu), "maymove|fixed|dontunmap|0xfffffff8");
}

// --- madvise advice -------------------------------------------------------------

TEST(MadviseAdviceName, KnownValues) {
    // Values of include/uapi/asm-generic/mman-common.h, spelled out here so a
    // typo in the table shows up.
    EXPECT_EQ(madvise_advice_name(0), "normal");
    EXPECT_EQ(madvise_advice_name(3), "willneed");
    EXPECT_EQ(madvise_advice_name(4), "dontneed");
    EXPECT_EQ(madvise_advice_name(8), "free");
    EXPECT_EQ(madvise_advice_name(9), "remove");
    EXPECT_EQ(madvise_advice_name(14), "hugepage");
    EXPECT_EQ(madvise_advice_name(15), "nohugepage");
    EXPECT_EQ(madvise_advice_name(20), "cold");
    EXPECT_EQ(madvise_advice_name(21), "pageout");
    EXPECT_EQ(madvise_advice_name(24), "dontneed_locked");
    EXPECT_EQ(madvise_advice_name(25), "collapse");
    EXPECT_EQ(madvise_advice_name(100), "hwpoison");
    EXPECT_EQ(madvise_advice_name(102), "guard_install");
    EXPECT_EQ(madvise_advice_name(103), "guard_remove");
}

TEST(MadviseAdviceName, UnknownValuesAsDecimal) {
    // 5-7 are unused by the kernel.
    EXPECT_EQ(madvise_advice_name(5), "5");
    EXPECT_EQ(madvise_advice_name(7), "7");
    EXPECT_EQ(madvise_advice_name(26), "26");
    EXPECT_EQ(madvise_advice_name(99), "99");
    EXPECT_EQ(madvise_advice_name(104), "104");
    EXPECT_EQ(madvise_advice_name(-1), "-1");
    EXPECT_EQ(madvise_advice_name(INT32_MAX), "2147483647");
    EXPECT_EQ(madvise_advice_name(INT32_MIN), "-2147483648");
}

TEST(MadviseAdviceName, NamesAreDistinctAndPlain) {
    std::set<std::string> seen;
    for (int32_t advice = -2; advice <= 110; ++advice) {
        const std::string name = madvise_advice_name(advice);
        EXPECT_FALSE(name.empty()) << advice;
        EXPECT_EQ(name.find_first_of(" \"\\|"), std::string::npos) << name;
        EXPECT_TRUE(seen.insert(name).second) << "duplicate name " << name;
    }
}

// --- the kernel's TLB flush reasons, migration reasons and modes -------------------

TEST(TlbReasonName, AllReasons) {
    EXPECT_STREQ(tlb_reason_name(PT_TLB_TASK_SWITCH), "task_switch");
    EXPECT_STREQ(tlb_reason_name(PT_TLB_REMOTE_SHOOTDOWN), "remote_shootdown");
    EXPECT_STREQ(tlb_reason_name(PT_TLB_LOCAL_SHOOTDOWN), "local_shootdown");
    EXPECT_STREQ(tlb_reason_name(PT_TLB_LOCAL_MM_SHOOTDOWN), "local_mm_shootdown");
    EXPECT_STREQ(tlb_reason_name(PT_TLB_REMOTE_SEND_IPI), "remote_send_ipi");
    EXPECT_STREQ(tlb_reason_name(PT_TLB_REMOTE_WRONG_CPU), "remote_wrong_cpu");
}

TEST(TlbReasonName, Unknown) {
    EXPECT_STREQ(tlb_reason_name(PT_TLB_UNKNOWN_REASON), "unknown");
    EXPECT_STREQ(tlb_reason_name(PT_TLB_REMOTE_WRONG_CPU + 1), "unknown");
    EXPECT_STREQ(tlb_reason_name(0xffffffffu), "unknown");
}

TEST(MigrateReasonName, AllReasons) {
    EXPECT_STREQ(migrate_reason_name(PT_MR_COMPACTION), "compaction");
    EXPECT_STREQ(migrate_reason_name(PT_MR_MEMORY_FAILURE), "memory_failure");
    EXPECT_STREQ(migrate_reason_name(PT_MR_MEMORY_HOTPLUG), "memory_hotplug");
    EXPECT_STREQ(migrate_reason_name(PT_MR_SYSCALL), "syscall");
    EXPECT_STREQ(migrate_reason_name(PT_MR_MEMPOLICY_MBIND), "mempolicy_mbind");
    EXPECT_STREQ(migrate_reason_name(PT_MR_NUMA_MISPLACED), "numa_misplaced");
    EXPECT_STREQ(migrate_reason_name(PT_MR_CONTIG_RANGE), "contig_range");
    EXPECT_STREQ(migrate_reason_name(PT_MR_LONGTERM_PIN), "longterm_pin");
    EXPECT_STREQ(migrate_reason_name(PT_MR_DEMOTION), "demotion");
    EXPECT_STREQ(migrate_reason_name(PT_MR_DAMON), "damon");
}

TEST(MigrateReasonName, Unknown) {
    EXPECT_STREQ(migrate_reason_name(PT_MR_UNKNOWN), "unknown");
    EXPECT_STREQ(migrate_reason_name(PT_MR_DAMON + 1), "unknown");
    EXPECT_STREQ(migrate_reason_name(0xffffffffu), "unknown");
}

TEST(MigrateModeName, AllModes) {
    EXPECT_STREQ(migrate_mode_name(PT_MIGRATE_ASYNC), "async");
    EXPECT_STREQ(migrate_mode_name(PT_MIGRATE_SYNC_LIGHT), "sync_light");
    EXPECT_STREQ(migrate_mode_name(PT_MIGRATE_SYNC), "sync");
    EXPECT_STREQ(migrate_mode_name(PT_MIGRATE_SYNC_NO_COPY), "sync_no_copy");
}

TEST(MigrateModeName, Unknown) {
    EXPECT_STREQ(migrate_mode_name(PT_MIGRATE_UNKNOWN_MODE), "unknown");
    EXPECT_STREQ(migrate_mode_name(PT_MIGRATE_SYNC_NO_COPY + 1), "unknown");
    EXPECT_STREQ(migrate_mode_name(0xffffffffu), "unknown");
}

// --- fault outcome and access, event types ------------------------------------

TEST(OutcomeName, AllOutcomes) {
    EXPECT_EQ(outcome_name(FaultOutcome::Minor), "minor");
    EXPECT_EQ(outcome_name(FaultOutcome::Major), "major");
    EXPECT_EQ(outcome_name(FaultOutcome::Unaccounted), "unaccounted");
    // Unknown has no name: the field is left out of the output.
    EXPECT_EQ(outcome_name(FaultOutcome::Unknown), "");
}

TEST(AccessName, UnknownAccess) {
    EXPECT_EQ(access_name(Access::Unknown), "unknown");
}

TEST(EventTypeName, EveryTypeSpelledOut) {
    EXPECT_EQ(event_type_name(EventType::Fault), "fault");
    EXPECT_EQ(event_type_name(EventType::Mmap), "mmap");
    EXPECT_EQ(event_type_name(EventType::Munmap), "munmap");
    EXPECT_EQ(event_type_name(EventType::Fork), "fork");
    EXPECT_EQ(event_type_name(EventType::Exec), "exec");
    EXPECT_EQ(event_type_name(EventType::Exit), "exit");
    EXPECT_EQ(event_type_name(EventType::Lost), "lost");
    EXPECT_EQ(event_type_name(EventType::Mremap), "mremap");
    EXPECT_EQ(event_type_name(EventType::Brk), "brk");
    EXPECT_EQ(event_type_name(EventType::Mprotect), "mprotect");
    EXPECT_EQ(event_type_name(EventType::Madvise), "madvise");
    EXPECT_EQ(event_type_name(EventType::TlbFlush), "tlb_flush");
    EXPECT_EQ(event_type_name(EventType::Migrate), "migrate");
    EXPECT_EQ(event_type_name(EventType::MigrateBatch), "migrate_batch");
}

TEST(EventTypeFromName, RoundTripForEveryType) {
    std::set<std::string> names;
    for (uint16_t t = 1; t <= PT_EV_TYPE_MAX; ++t) {
        const auto type = static_cast<EventType>(t);
        const std::string name(event_type_name(type));
        EXPECT_NE(name, "unknown") << "type " << t;
        EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
        const std::optional<EventType> back = event_type_from_name(name);
        ASSERT_TRUE(back.has_value()) << name;
        EXPECT_EQ(*back, type) << name;
    }
    EXPECT_EQ(names.size(), static_cast<size_t>(PT_EV_TYPE_MAX));
}

TEST(EventTypeFromName, EveryNameSpelledOut) {
    EXPECT_EQ(event_type_from_name("fault"), EventType::Fault);
    EXPECT_EQ(event_type_from_name("mmap"), EventType::Mmap);
    EXPECT_EQ(event_type_from_name("munmap"), EventType::Munmap);
    EXPECT_EQ(event_type_from_name("fork"), EventType::Fork);
    EXPECT_EQ(event_type_from_name("exec"), EventType::Exec);
    EXPECT_EQ(event_type_from_name("exit"), EventType::Exit);
    EXPECT_EQ(event_type_from_name("lost"), EventType::Lost);
    EXPECT_EQ(event_type_from_name("mremap"), EventType::Mremap);
    EXPECT_EQ(event_type_from_name("brk"), EventType::Brk);
    EXPECT_EQ(event_type_from_name("mprotect"), EventType::Mprotect);
    EXPECT_EQ(event_type_from_name("madvise"), EventType::Madvise);
    EXPECT_EQ(event_type_from_name("tlb_flush"), EventType::TlbFlush);
    EXPECT_EQ(event_type_from_name("migrate"), EventType::Migrate);
    EXPECT_EQ(event_type_from_name("migrate_batch"), EventType::MigrateBatch);
}

TEST(EventTypeFromName, UnknownNames) {
    for (const char* name : {"", "unknown", "Fault", "FAULT", "tlb-flush", "tlbflush",
                             "migrate_", "migrate batch", " brk", "brk ", "faults", "page_fault"}) {
        EXPECT_EQ(event_type_from_name(name), std::nullopt) << '"' << name << '"';
    }
}

// --- sizes and addresses --------------------------------------------------------

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
