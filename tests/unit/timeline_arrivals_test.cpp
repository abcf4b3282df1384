// How pages arrive, told as stories: every page a snapshot finds present has a
// cause — its own fault, a huge page one fault mapped whole, fault-around,
// MAP_POPULATE / MADV_POPULATE_*, execve's new stack, inheritance at fork —
// and only what none explains is "no fault seen". Copy-on-write and the zero
// page are named; the kernel's own fault count is joined with the events.
#include <gtest/gtest.h>

#include "kernel/mm.h"
#include "timeline/timeline_render.h"
#include "timeline_story.h"

using namespace pagetrace;
using namespace pagetrace::story;

namespace {

constexpr uint64_t kA = 0x7f0000000000;     // a mapping
constexpr uint64_t kHuge = 0x7f0000200000;  // 2 MiB aligned
constexpr uint64_t kHead = 0x40000;         // 512-aligned frame

const PfnInfo* pfn_entry(const PageHistory& h) {
    for (const PageEvent& e : h.events) {
        if (const auto* p = std::get_if<PfnInfo>(&e.data)) return p;
    }
    return nullptr;
}

const TouchInfo* first_touch(const PageHistory& h) {
    for (const PageEvent& e : h.events) {
        if (const auto* t = std::get_if<TouchInfo>(&e.data); t && t->first) return t;
    }
    return nullptr;
}

}  // namespace

TEST(TimelineArrivals, OneFaultOnAHugePageIsTheFirstTouchOfEverySubpage) {
    Story s(HistoryFilter::range(100, kHuge, kHuge + 2 * 1024 * 1024));
    s.mmap(kHuge, 4 * 1024 * 1024);
    s.fault(kHuge + 100 * kPage + 8, Access::Write);
    const uint64_t fault_ts = s.now - s.step;
    std::vector<std::pair<uint64_t, uint64_t>> pages;
    for (uint64_t i = 0; i < 512; ++i) pages.push_back({kHuge + i * kPage, kHead + i});
    s.snapshot_with(SnapshotKind::Targeted, pages, {}, true, [](PagemapSnapshot& snap) {
        snap.huge_pages.push_back({kHuge, kHead, 9, false});
    });

    for (uint64_t i : {uint64_t{0}, uint64_t{100}, uint64_t{511}}) {
        SCOPED_TRACE(i);
        const auto h = s.history(kHuge + i * kPage);
        ASSERT_TRUE(h);
        EXPECT_EQ(s.whats(kHuge + i * kPage), "mapped first_touch");
        const TouchInfo* touch = first_touch(*h);
        ASSERT_TRUE(touch);
        EXPECT_EQ(touch->order, 9u);
        EXPECT_EQ(touch->pfn, kHead + i);
        EXPECT_EQ(h->pfn, kHead + i);
        EXPECT_EQ(h->events.back().ts_ns, fault_ts);
        // The other subpages name the fault and share its details.
        if (i != 100) {
            EXPECT_EQ(touch->fault_addr, kHuge + 100 * kPage);
            EXPECT_EQ(touch->access, Access::Write);
        } else {
            EXPECT_FALSE(touch->fault_addr.has_value());
        }
    }
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.pages_touched, 512u);
    EXPECT_EQ(sum.huge_pages, 1u);
    EXPECT_EQ(sum.huge_page_bytes, 2u * 1024 * 1024);
    EXPECT_EQ(sum.present_without_fault, 0u);
    // Half the mapping is backed by the huge page: only the other half is untouched.
    EXPECT_EQ(sum.untouched_bytes, 2u * 1024 * 1024);
    // A later snapshot of the same huge page counts it once.
    s.snapshot_with(SnapshotKind::Periodic, pages, {{kHuge, kHuge + 4 * 1024 * 1024}}, true,
                    [](PagemapSnapshot& snap) { snap.huge_pages.push_back({kHuge, kHead, 9, false}); });
    EXPECT_EQ(s.summary().huge_pages, 1u);
    EXPECT_EQ(s.summary().unexplained_frame_changes, 0u);
}

TEST(TimelineArrivals, FaultAroundPagesAreMappedAroundOnceASnapshotSeesThem) {
    Story s(HistoryFilter::range(100, kA, kA + 16 * kPage));
    s.mmap(kA, 16 * kPage, kernel::kMapPrivate, kernel::kProtRead);
    s.fault(kA + 3 * kPage, Access::Read);
    s.fault_around(kA, 16 * kPage, kA + 3 * kPage);
    const uint64_t around_ts = s.now - s.step;
    // Only the cached pages were mapped: 12 of the 16.
    std::vector<std::pair<uint64_t, uint64_t>> pages;
    for (uint64_t i = 0; i < 12; ++i) pages.push_back({kA + i * kPage, 0x500 + i});
    s.snapshot(SnapshotKind::Targeted, pages);

    EXPECT_EQ(s.whats(kA + 3 * kPage), "mapped first_touch pfn");
    EXPECT_EQ(s.whats(kA), "mapped mapped_around");
    const auto h = s.history(kA + 5 * kPage);
    ASSERT_TRUE(h);
    const auto& around = h->events.back();
    EXPECT_EQ(around.ts_ns, around_ts);
    const auto& info = around.as<MappedAroundInfo>();
    EXPECT_EQ(info.fault_addr, kA + 3 * kPage);
    EXPECT_EQ(info.pfn, 0x505u);
    EXPECT_EQ(h->pfn, 0x505u);
    // Pages the fault-around did not map have no entry beyond their mapping.
    EXPECT_EQ(s.whats(kA + 13 * kPage), "mapped");
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.mapped_around, 11u);
    EXPECT_EQ(sum.fault_arounds, 1u);
    EXPECT_EQ(sum.present_without_fault, 0u);
    EXPECT_EQ(sum.pages_touched, 1u);
}

TEST(TimelineArrivals, PopulatedPagesAndTheExecStackHaveTheirCause) {
    Story s(HistoryFilter::range(100, kA, kA + 0x200000));
    s.mmap(kA, 4 * kPage, kernel::kMapPrivate | kernel::kMapAnonymous | kernel::kMapPopulate);
    s.mmap(kA + 0x10000, 2 * kPage);
    s.madvise(kA + 0x10000, 2 * kPage, kernel::kMadvPopulateWrite);
    s.snapshot(SnapshotKind::Targeted, {{kA, 1}, {kA + kPage, 2}, {kA + 0x10000, 3}});
    const auto h = s.history(kA);
    ASSERT_TRUE(h);
    const PfnInfo* p = pfn_entry(*h);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->cause, PresentCause::Populated);
    EXPECT_FALSE(p->no_fault_seen);
    EXPECT_EQ(pfn_entry(*s.history(kA + 0x10000))->cause, PresentCause::Populated);
    EXPECT_EQ(s.summary().populated_pages, 3u);

    // An exec: the new stack is there without a fault; anything else unexplained is not.
    const uint64_t stack = kA + 0x100000;
    s.exec("/bin/prog");
    s.snapshot_with(SnapshotKind::Exec, {{stack, 9}, {kA + 0x80000, 10}},
                    {{stack, stack + 4 * kPage}, {kA + 0x80000, kA + 0x81000}}, true,
                    [&](PagemapSnapshot& snap) { snap.mappings[0].path = "[stack]"; });
    EXPECT_EQ(pfn_entry(*s.history(stack))->cause, PresentCause::Exec);
    EXPECT_TRUE(pfn_entry(*s.history(kA + 0x80000))->no_fault_seen);
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.exec_pages, 1u);
    EXPECT_EQ(sum.present_without_fault, 1u);
}

TEST(TimelineArrivals, AForkedChildInheritsFramesAndItsWritesAreCopyOnWrite) {
    Story s(HistoryFilter::range(std::nullopt, kA, kA + 4 * kPage));
    s.mmap(kA, 4 * kPage);
    for (uint64_t i = 0; i < 4; ++i) s.fault(kA + i * kPage, Access::Write);
    std::vector<std::pair<uint64_t, uint64_t>> frames;
    for (uint64_t i = 0; i < 4; ++i) frames.push_back({kA + i * kPage, 0x900 + i});
    s.snapshot(SnapshotKind::Targeted, frames);
    s.fork(200, 5);

    s.pid = 200;
    // The child reads two pages (no fault: its page tables are copies) and
    // writes two: copy-on-write, new frames.
    s.fault(kA + 2 * kPage, Access::Write);
    s.fault(kA + 3 * kPage, Access::Write);
    s.snapshot(SnapshotKind::Targeted, {{kA + 2 * kPage, 0xa02}, {kA + 3 * kPage, 0xa03}});
    s.snapshot(SnapshotKind::Periodic,
               {{kA, 0x900}, {kA + kPage, 0x901}, {kA + 2 * kPage, 0xa02}, {kA + 3 * kPage, 0xa03}},
               {{kA, kA + 4 * kPage}});

    EXPECT_EQ(s.whats(kA, 200), "mapped pfn");
    const auto first = s.history(kA, 200);  // kept: inherited points into it
    const PfnInfo* inherited = pfn_entry(*first);
    ASSERT_TRUE(inherited);
    EXPECT_TRUE(inherited->inherited);
    EXPECT_EQ(inherited->pfn, 0x900u);
    EXPECT_EQ(s.whats(kA + 2 * kPage, 200), "mapped pfn touch pfn");
    const auto written = s.history(kA + 2 * kPage, 200);
    const TouchInfo* touch = nullptr;
    for (const PageEvent& e : written->events) {
        if (const auto* t = std::get_if<TouchInfo>(&e.data)) touch = t;
    }
    ASSERT_TRUE(touch);
    EXPECT_TRUE(touch->cow);
    EXPECT_EQ(written->pfn, 0xa02u);
    const ProcessSummary child = s.summary();
    EXPECT_EQ(child.cow_faults, 2u);
    EXPECT_EQ(child.unexplained_frame_changes, 0u);
    EXPECT_EQ(child.present_without_fault, 0u);
    EXPECT_EQ(child.not_present, 0u);
    EXPECT_EQ(child.resident_pages_final, 4u);
    // The parent keeps its frames; its own next write is copy-on-write too.
    s.pid = 100;
    EXPECT_EQ(s.history(kA, 100)->pfn, 0x900u);
    s.fault(kA, Access::Write);
    EXPECT_EQ(s.summary().cow_faults, 1u);
}

TEST(TimelineArrivals, TheZeroPageIsNamedAndItsFirstWriteIsCopyOnWrite) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA, Access::Read);
    s.snapshot_with(SnapshotKind::Targeted, {{kA, 0x77}}, {}, true,
                    [](PagemapSnapshot& snap) { snap.zero_pfn = 0x77; });
    s.fault(kA, Access::Write);
    s.snapshot_with(SnapshotKind::Targeted, {{kA, 0x1234}}, {}, true,
                    [](PagemapSnapshot& snap) { snap.zero_pfn = 0x77; });
    const auto h = s.history(kA);
    ASSERT_TRUE(h);
    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn touch pfn");
    EXPECT_TRUE(std::get<PfnInfo>(h->events[2].data).zero_page);
    EXPECT_TRUE(std::get<TouchInfo>(h->events[3].data).cow);
    EXPECT_FALSE(std::get<PfnInfo>(h->events[4].data).unexplained);
    EXPECT_EQ(s.summary().zero_page_pages, 1u);
}

TEST(TimelineArrivals, TheKernelsCountJoinsTheFaultEvents) {
    Story s;
    // Traced from its exec: the 3 faults it had taken before came before tracing.
    s.add_exec("/bin/prog", 3, 0);
    s.mmap(kA, 8 * kPage);
    for (uint64_t i = 0; i < 5; ++i) s.fault(kA + i * kPage);
    s.fault(kA + 5 * kPage, Access::Read, FaultOutcome::Major);
    s.exit_counted(/*min_flt=*/12, /*maj_flt=*/1);
    const ProcessSummary sum = s.summary();
    ASSERT_TRUE(sum.faults.kernel_minor && sum.faults.kernel_major && sum.faults.without_exception &&
                sum.faults.kernel_before_tracing);
    EXPECT_EQ(*sum.faults.kernel_minor, 12u);
    EXPECT_EQ(*sum.faults.kernel_major, 1u);
    EXPECT_EQ(*sum.faults.kernel_before_tracing, 3u);
    EXPECT_EQ(*sum.faults.without_exception, 4u);
    EXPECT_EQ(sum.faults.minor + sum.faults.major + *sum.faults.without_exception +
                  *sum.faults.kernel_before_tracing,
              *sum.faults.kernel_minor + *sum.faults.kernel_major);
    const std::string text = format_summaries({sum}, OutputFormat::Text, 0);
    EXPECT_NE(text.find("the kernel counted 13 (12 minor, 1 major), 3 before tracing: 4 without "
                        "an exception"),
              std::string::npos)
        << text;
    const std::string json = format_summaries({sum}, OutputFormat::Json, 0);
    EXPECT_NE(json.find(R"("kernel_minor":12,"kernel_major":1,"kernel_before_tracing":3,)"
                        R"("without_exception":4)"),
              std::string::npos)
        << json;
    // A forked child counts from its fork: nothing before tracing.
    s.fork(300, 77);
    s.pid = 300;
    s.fault(kA + 6 * kPage);
    s.exit_counted(1, 0, 0, 77);
    EXPECT_EQ(s.summary().faults.kernel_before_tracing, 0u);
    EXPECT_EQ(s.summary().faults.without_exception, 0u);
    // Without counters (a process still running, or event ABI 2): unknown, not zero.
    Story running;
    running.fault(kA);
    EXPECT_NE(format_summaries({running.summary()}, OutputFormat::Json, 0)
                  .find(R"("kernel_minor":null,"kernel_major":null,"kernel_before_tracing":null,)"
                        R"("without_exception":null)"),
              std::string::npos);
}

TEST(TimelineArrivals, ALargeFolioMappedWholeBeyondTheReportedRangeIsMappedAroundToo) {
    Story s(HistoryFilter::range(100, kA, kA + 64 * kPage));
    s.mmap(kA, 64 * kPage, kernel::kMapPrivate, kernel::kProtRead);
    s.fault(kA + 3 * kPage, Access::Read);
    s.fault_around(kA, 16 * kPage, kA + 3 * kPage);
    // The page cache held a 32-page folio: the kernel mapped all of it.
    s.snapshot(SnapshotKind::Targeted, {{kA + 20 * kPage, 0x620}});
    EXPECT_EQ(s.whats(kA + 20 * kPage), "mapped mapped_around");
    EXPECT_EQ(s.summary().present_without_fault, 0u);
    // Anonymous memory has no folio of a file: no such explanation there.
    s.mmap(kHuge, 4 * kPage);
    s.snapshot(SnapshotKind::Targeted, {{kHuge, 0x700}});
    EXPECT_EQ(s.summary().present_without_fault, 1u);
}
