// Summary numbers on known inputs, and the building blocks behind them: the
// latency histogram, the mapping set and the compact page table.
#include <gtest/gtest.h>

#include "timeline/latency_histogram.h"
#include "timeline/mapping_set.h"
#include "timeline/page_table.h"
#include "timeline_story.h"

using namespace pagetrace;
using namespace pagetrace::story;

namespace {
constexpr uint64_t kA = 0x7f0000000000;
}  // namespace

TEST(TimelineSummary, ExactCountsOfFaultsMigrationsAndFlushes) {
    Story s;
    s.mmap(kA, 16 * kPage);
    for (int i = 0; i < 10; ++i) s.fault(kA + i * kPage, Access::Write, FaultOutcome::Minor);
    s.fault(kA + 10 * kPage, Access::Read, FaultOutcome::Major, 90'000);
    s.fault(kA + 11 * kPage, Access::Read, FaultOutcome::Major, 90'000);
    s.fault(kA + 12 * kPage, Access::Read, FaultOutcome::Unknown);
    s.fault(kA + 13 * kPage, Access::Read, FaultOutcome::Unaccounted);
    s.fault(kA, Access::Write, FaultOutcome::Minor);  // again
    s.migrate(kA, 1, 2, PT_MR_COMPACTION);
    s.migrate(kA + kPage, 3, 4, PT_MR_COMPACTION);
    s.migrate(kA + 2 * kPage, 5, 6, PT_MR_NUMA_MISPLACED);
    s.tlb_flush(0, 0, PT_TLB_TASK_SWITCH, PT_TLB_FLUSH_ALL);
    s.tlb_flush(kA, kA + kPage, PT_TLB_REMOTE_SHOOTDOWN);
    s.tlb_flush(kA, kA + kPage, PT_TLB_REMOTE_SHOOTDOWN);

    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.faults.total, 15u);
    EXPECT_EQ(sum.faults.minor, 11u);
    EXPECT_EQ(sum.faults.major, 2u);
    EXPECT_EQ(sum.faults.unknown, 1u);
    EXPECT_EQ(sum.faults.unaccounted, 1u);
    EXPECT_EQ(sum.pages_touched, 13u);
    EXPECT_EQ(sum.resident_pages_peak, 13u);
    EXPECT_EQ(sum.untouched_bytes, 3 * kPage);
    EXPECT_EQ(sum.migrations, 3u);
    EXPECT_EQ(sum.migrations_by_reason.at(PT_MR_COMPACTION), 2u);
    EXPECT_EQ(sum.migrations_by_reason.at(PT_MR_NUMA_MISPLACED), 1u);
    EXPECT_EQ(sum.tlb_flushes, 3u);
    EXPECT_EQ(sum.tlb_flushes_by_reason.at(PT_TLB_TASK_SWITCH), 1u);
    EXPECT_EQ(sum.tlb_flushes_by_reason.at(PT_TLB_REMOTE_SHOOTDOWN), 2u);
    EXPECT_EQ(sum.comm, "story");
    EXPECT_EQ(sum.gaps, 0u);
}

TEST(TimelineSummary, FirstTouchLatencyPercentilesOnKnownInputs) {
    // 100 pages mapped at once, page i first touched i ns later (i = 1..100).
    Story s;
    s.step = 1;
    s.mmap(kA, 100 * kPage);  // at t0, then the clock is t0 + 1
    for (int i = 0; i < 100; ++i) s.fault(kA + i * kPage);
    const LatencySummary l = s.summary().first_touch_after_mmap_ns;
    EXPECT_EQ(l.count, 100u);
    EXPECT_EQ(l.p50, 50u);
    EXPECT_EQ(l.p90, 90u);
    EXPECT_EQ(l.p99, 99u);
    EXPECT_EQ(l.max, 100u);
}

TEST(TimelineSummary, LatencyHistogramIsWithinItsPrecision) {
    LatencyHistogram h;
    EXPECT_EQ(h.percentile(50), 0u);
    for (uint64_t v = 1; v <= 10'000; ++v) h.add(v * 1'000);  // 1 us .. 10 ms
    EXPECT_EQ(h.count(), 10'000u);
    EXPECT_EQ(h.max(), 10'000'000u);
    for (double p : {50.0, 90.0, 99.0}) {
        const double exact = p / 100 * 10'000 * 1'000;
        const auto got = static_cast<double>(h.percentile(p));
        EXPECT_GE(got, exact) << p;
        EXPECT_LE(got, exact * (1 + 1.0 / 64)) << p;
    }
    EXPECT_EQ(h.percentile(100), 10'000'000u);
    // Buckets tile the whole range with no gaps or overlaps.
    for (size_t b = 0; b + 1 < 2000; ++b) {
        EXPECT_EQ(LatencyHistogram::bucket_high(b) + 1, LatencyHistogram::bucket_low(b + 1)) << b;
    }
    for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{129}, uint64_t{1} << 40,
                       ~uint64_t{0}}) {
        const size_t b = LatencyHistogram::bucket_of(v);
        EXPECT_LE(LatencyHistogram::bucket_low(b), v);
        EXPECT_GE(LatencyHistogram::bucket_high(b), v);
    }
}

TEST(TimelineSummary, UntouchedBytesCountTracedMappingsOnly) {
    Story s;
    s.mmap(kA, 10 * kPage);
    for (int i = 0; i < 3; ++i) s.fault(kA + i * kPage);
    s.munmap(kA, 10 * kPage);  // 7 never touched
    s.mmap(kA + 0x100000, 5 * kPage);  // 5 more, still mapped
    s.snapshot(SnapshotKind::Periodic, {},
               {{kA + 0x100000, kA + 0x100000 + 5 * kPage}, {kA + 0x200000, kA + 0x200000 + 8 * kPage}});
    EXPECT_EQ(s.summary().untouched_bytes, 12 * kPage);
    EXPECT_EQ(s.summary().mapped_bytes_final, 13 * kPage);
}

TEST(TimelineSummary, MappedBytesSeriesIsDownsampledButKeepsPeakAndEnd) {
    Story s;
    for (int i = 0; i < 1000; ++i) s.mmap(kA + static_cast<uint64_t>(i) * kPage, kPage);
    for (int i = 0; i < 999; ++i) s.munmap(kA + static_cast<uint64_t>(i) * kPage, kPage);
    const ProcessSummary sum = s.summary();
    EXPECT_LE(sum.mapped_bytes.size(), ProcessSummary::kMaxMappedPoints);
    EXPECT_GE(sum.mapped_bytes.size(), ProcessSummary::kMaxMappedPoints / 4);
    EXPECT_EQ(sum.mapped_bytes.front().bytes, kPage);
    EXPECT_EQ(sum.mapped_bytes.back().bytes, kPage);
    EXPECT_EQ(sum.mapped_bytes.back().ts_ns, s.now - s.step);
    EXPECT_EQ(sum.mapped_bytes_peak, 1000 * kPage);
    EXPECT_EQ(sum.mapped_bytes_final, kPage);
    for (size_t i = 1; i < sum.mapped_bytes.size(); ++i) {
        EXPECT_LT(sum.mapped_bytes[i - 1].ts_ns, sum.mapped_bytes[i].ts_ns);
    }
}

TEST(TimelineMappingSet, RemoveSplitsAndReportsTheCutPieces) {
    MappingSet set;
    set.insert({0x1000, 0x9000, 5, 3, 0x22, MapCause::Mmap});
    const auto removed = set.remove(0x3000, 0x5000);
    ASSERT_EQ(removed.size(), 1u);
    EXPECT_EQ(removed[0].start, 0x3000u);
    EXPECT_EQ(removed[0].end, 0x5000u);
    EXPECT_EQ(removed[0].mapped_ns, 5u);
    EXPECT_EQ(set.total_bytes(), 0x6000u);
    ASSERT_EQ(set.pieces().size(), 2u);
    EXPECT_EQ(set.find(0x2fff)->end, 0x3000u);
    EXPECT_EQ(set.find(0x3000), nullptr);
    EXPECT_EQ(set.find(0x5000)->start, 0x5000u);
    EXPECT_EQ(set.find(0x5000)->mapped_ns, 5u);
    const auto holes = set.holes(0, 0xa000);
    ASSERT_EQ(holes.size(), 3u);
    EXPECT_EQ(holes[1], std::make_pair(uint64_t{0x3000}, uint64_t{0x5000}));
    // A removal spanning several pieces.
    set.insert({0x3000, 0x4000, 6, 3, 0x22, MapCause::Mmap});
    EXPECT_EQ(set.remove(0x2000, 0x6000).size(), 3u);
    EXPECT_EQ(set.total_bytes(), 0x4000u);
    EXPECT_EQ(set.overlapping(0, ~uint64_t{0}).size(), 2u);
}

TEST(TimelinePageTable, RecordsRangesAndMemoryAccounting) {
    PageTableUsage usage;
    {
        PageTable table(&usage);
        for (uint64_t vpn = 100; vpn < 300; vpn += 3) table.get(vpn).set(PageRecord::kTouched);
        EXPECT_EQ(table.size(), 67u);
        EXPECT_EQ(usage.pages, 67u);
        EXPECT_GT(usage.bytes, 67u * sizeof(PageRecord));
        EXPECT_NE(table.find(103), nullptr);
        EXPECT_EQ(table.find(104), nullptr);
        EXPECT_EQ(table.count_with(100, 200, PageRecord::kTouched), 34u);
        auto moved = table.extract_range(150, 250);
        EXPECT_EQ(moved.size(), 33u);
        EXPECT_EQ(moved.front().first, 151u);
        EXPECT_EQ(table.size(), 34u);
        uint64_t seen = 0;
        table.for_each(0, 1000, [&](uint64_t vpn, PageRecord&) {
            EXPECT_TRUE(vpn < 150 || vpn >= 250);
            ++seen;
        });
        EXPECT_EQ(seen, 34u);
        PageRecord& rec = table.get(5);
        rec.set_pfn(0x12345);
        rec.set(PageRecord::kResident);
        EXPECT_EQ(table.find(5)->pfn(), 0x12345u);
        EXPECT_TRUE(table.find(5)->has(PageRecord::kPfnKnown));
        EXPECT_TRUE(table.find(5)->has(PageRecord::kResident));
    }
    EXPECT_EQ(usage.pages, 0u);
    EXPECT_EQ(usage.bytes, 0u);
}
