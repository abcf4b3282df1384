// Names of the constants ABI v2 introduced: madvise advice, mremap flags, TLB
// flush reasons, migration reasons and modes, fault outcomes, event types.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "decode/event.h"
#include "output/names.h"
#include "pagetrace/events.h"

using namespace pagetrace;

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
