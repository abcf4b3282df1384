// What the kernel takes or changes, told as stories: a page reclaim writes to
// swap comes back with a swapped_in fault, an evicted file page with a
// refault; KSM merges pages into one frame (a later write copies it out
// again); a collapse moves every subpage from its own old frame to its own
// frame of the huge page; splits are noted; stalls are summed by kind. In
// none of them is a frame change or a vanished page left unexplained.
#include <gtest/gtest.h>

#include "kernel/mm.h"
#include "timeline/timeline_render.h"
#include "timeline_story.h"

using namespace pagetrace;
using namespace pagetrace::story;

namespace {

constexpr uint64_t kA = 0x7f0000000000;
constexpr uint64_t kHuge = 0x7f0000200000;  // 2 MiB aligned
constexpr uint64_t kHead = 0x40000;         // 512-aligned frame
constexpr uint32_t kPrivateFile = 0x02;     // MAP_PRIVATE

template <typename Info>
const Info* last_entry(const PageHistory& h) {
    const Info* found = nullptr;
    for (const PageEvent& e : h.events) {
        if (const auto* info = std::get_if<Info>(&e.data)) found = info;
    }
    return found;
}

void expect_nothing_unexplained(const ProcessSummary& s) {
    EXPECT_EQ(s.unexplained_frame_changes, 0u);
    EXPECT_EQ(s.not_present, 0u);
}

}  // namespace

TEST(TimelineReclaim, ASwappedOutPageComesBackWithASwapInFault) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, 4 * kPage);
    s.fault(kA);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x900}});
    s.swap_out(kA, 0x900);
    const uint64_t out_ts = s.now - s.step;
    // The lookup after the swap-out finds the slot.
    s.snapshot_with(SnapshotKind::Targeted, {}, {}, true, [](PagemapSnapshot& snap) {
        snap.pages.push_back(Story::swapped(kA, 1, 0x1c0));
    });
    s.wait(2'000'000);
    s.fault(kA, Access::Read, FaultOutcome::Major, 40'000);
    const uint64_t in_ts = s.now - s.step;
    s.snapshot(SnapshotKind::Targeted, {{kA, 0xa00}});

    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn swapped_out swapped_in pfn");
    const auto h = s.history(kA);
    ASSERT_TRUE(h);
    const auto* out = last_entry<SwappedOutInfo>(*h);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->pfn, 0x900u);
    EXPECT_EQ(out->by_comm, "kswapd0");
    EXPECT_EQ(out->swap_type, 1u);
    EXPECT_EQ(out->swap_offset, 0x1c0u);
    const auto* in = last_entry<TouchInfo>(*h);
    ASSERT_TRUE(in);
    EXPECT_EQ(in->cause, TouchCause::SwapIn);
    EXPECT_EQ(in->outcome, FaultOutcome::Major);
    EXPECT_EQ(in->away_ns, in_ts - out_ts);
    const auto* frame = last_entry<PfnInfo>(*h);
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->old_pfn, 0x900u);
    EXPECT_FALSE(frame->unexplained);  // the swap-in gave it a new frame
    EXPECT_EQ(h->pfn, 0xa00u);

    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.swapped_out_pages, 1u);
    EXPECT_EQ(sum.swapped_in_pages, 1u);
    EXPECT_EQ(sum.time_swapped_ns.count, 1u);
    EXPECT_EQ(sum.time_swapped_ns.max, in_ts - out_ts);
    EXPECT_EQ(sum.resident_pages_final, 1u);
    expect_nothing_unexplained(sum);
}

TEST(TimelineReclaim, ASwapOutThatTrailsTheSnapshotStillExplainsIt) {
    // Events are drained in batches: a full snapshot can see the swap entry
    // before the swap_out event reaches the stream.
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, 2 * kPage);
    s.fault(kA);
    s.fault(kA + kPage);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x900}, {kA + kPage, 0x901}});
    const uint64_t swapped_at = s.now;
    s.wait(1'000'000);
    s.snapshot_with(SnapshotKind::Periodic, {{kA + kPage, 0x901}}, {{kA, kA + 2 * kPage}}, true,
                    [](PagemapSnapshot& snap) { snap.pages.push_back(Story::swapped(kA, 0, 7)); });
    EXPECT_EQ(s.summary().not_present, 1u);  // for now
    s.at(swapped_at).swap_out(kA, 0x900);
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.swapped_out_pages, 1u);
    EXPECT_EQ(sum.not_present, 0u);
    // In time order: the swap-out, then what the snapshot saw.
    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn swapped_out not_present");
}

TEST(TimelineReclaim, ASwapOutOfAFrameThePageHasLeftIsNotThePages) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x900}});
    s.swap_out(kA, 0x777);  // a stale frame index entry named another frame
    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn");
    EXPECT_EQ(s.summary().swapped_out_pages, 0u);
    EXPECT_EQ(s.timeline.stats().stale_frame_events, 1u);
    // Nor is one for an address that is not mapped.
    s.swap_out(kA + 16 * kPage, 0x901);
    EXPECT_EQ(s.timeline.stats().stale_frame_events, 2u);
}

TEST(TimelineReclaim, AnEvictedFilePageComesBackWithARefault) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, 4 * kPage, kPrivateFile, 0x1);
    s.fault(kA, Access::Read);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x900}});
    s.evict(kA, 0x900);
    s.fault(kA, Access::Read, FaultOutcome::Major);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x950}});
    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn evicted refault pfn");
    const auto h = s.history(kA);
    ASSERT_TRUE(h);
    const auto* evicted = last_entry<EvictedInfo>(*h);
    ASSERT_TRUE(evicted);
    EXPECT_EQ(evicted->ino, 1234u);
    EXPECT_EQ(last_entry<TouchInfo>(*h)->cause, TouchCause::Refault);
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.evicted_pages, 1u);
    EXPECT_EQ(sum.refaults, 1u);
    EXPECT_EQ(sum.swapped_in_pages, 0u);
    expect_nothing_unexplained(sum);
}

TEST(TimelineReclaim, KsmMergesIntoOneFrameAndAWriteCopiesItOut) {
    Story s(HistoryFilter::range(100, kA, kA + 3 * kPage));
    s.mmap(kA, 3 * kPage);
    for (uint64_t i = 0; i < 3; ++i) s.fault(kA + i * kPage);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x900}, {kA + kPage, 0x901}, {kA + 2 * kPage, 0x902}});
    // The first page becomes the KSM page (it keeps its frame); the others
    // merge into it, and the kernel's event names only the KSM frame.
    s.ksm_merge(kA, 0x900, 0x900);
    s.ksm_merge(kA + kPage, 0, 0x900);
    s.ksm_merge(kA + 2 * kPage, 0, 0x900);
    s.snapshot(SnapshotKind::Periodic, {{kA, 0x900}, {kA + kPage, 0x900}, {kA + 2 * kPage, 0x900}},
               {{kA, kA + 3 * kPage}});
    for (uint64_t i = 1; i < 3; ++i) {
        SCOPED_TRACE(i);
        const auto h = s.history(kA + i * kPage);
        ASSERT_TRUE(h);
        const auto* merged = last_entry<MergedInfo>(*h);
        ASSERT_TRUE(merged);
        EXPECT_EQ(merged->old_pfn, 0x900u + i);  // the frame the timeline knew
        EXPECT_EQ(merged->new_pfn, 0x900u);
        EXPECT_EQ(h->pfn, 0x900u);
    }
    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn merged");
    // A write breaks the sharing: copy-on-write, a frame of its own again.
    s.fault(kA + kPage, Access::Write);
    s.snapshot(SnapshotKind::Targeted, {{kA + kPage, 0xa01}});
    const auto written = s.history(kA + kPage);
    ASSERT_TRUE(written);
    EXPECT_TRUE(last_entry<TouchInfo>(*written)->cow);
    EXPECT_EQ(written->pfn, 0xa01u);
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.ksm_merged_pages, 3u);
    EXPECT_EQ(sum.cow_faults, 1u);
    expect_nothing_unexplained(sum);
}

TEST(TimelineReclaim, ACollapseMovesEverySubpageToItsFrameInTheHugePage) {
    Story s(HistoryFilter::range(100, kHuge, kHuge + 512 * kPage));
    s.mmap(kHuge, 512 * kPage);
    std::vector<std::pair<uint64_t, uint64_t>> small;
    for (uint64_t i = 0; i < 512; ++i) {
        s.fault(kHuge + i * kPage);
        small.push_back({kHuge + i * kPage, 0x10000 + 3 * i});  // scattered frames
    }
    s.snapshot(SnapshotKind::Targeted, small);
    s.collapse(kHuge);
    std::vector<std::pair<uint64_t, uint64_t>> huge;
    for (uint64_t i = 0; i < 512; ++i) huge.push_back({kHuge + i * kPage, kHead + i});
    s.snapshot_with(SnapshotKind::Targeted, huge, {}, true, [](PagemapSnapshot& snap) {
        snap.huge_pages.push_back({kHuge, kHead, 9, false});
    });
    for (uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{300}, uint64_t{511}}) {
        SCOPED_TRACE(i);
        const auto h = s.history(kHuge + i * kPage);
        ASSERT_TRUE(h);
        EXPECT_EQ(s.whats(kHuge + i * kPage), "mapped first_touch pfn collapsed");
        const auto* c = last_entry<CollapsedInfo>(*h);
        ASSERT_TRUE(c);
        EXPECT_EQ(c->old_pfn, 0x10000u + 3 * i);
        EXPECT_EQ(c->new_pfn, kHead + i);
        EXPECT_EQ(c->order, 9u);
        EXPECT_EQ(c->huge_addr, kHuge);
        EXPECT_EQ(c->by_comm, "khugepaged");
        EXPECT_EQ(h->pfn, kHead + i);
    }
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.collapses, 1u);
    EXPECT_EQ(sum.collapsed_pages, 512u);
    EXPECT_EQ(sum.huge_pages, 1u);
    expect_nothing_unexplained(sum);
    // A later full snapshot agrees.
    s.snapshot(SnapshotKind::Periodic, huge, {{kHuge, kHuge + 512 * kPage}});
    expect_nothing_unexplained(s.summary());
}

TEST(TimelineReclaim, ACollapseOfAnUnknownRangeIsPlacedByTheHugePageFoundLater) {
    Story s(HistoryFilter::range(100, kHuge, kHuge + 512 * kPage));
    s.mmap(kHuge, 512 * kPage);
    std::vector<std::pair<uint64_t, uint64_t>> small, huge;
    for (uint64_t i = 0; i < 512; ++i) {
        s.fault(kHuge + i * kPage);
        small.push_back({kHuge + i * kPage, 0x10000 + 2 * i});
        huge.push_back({kHuge + i * kPage, kHead + i});
    }
    s.snapshot(SnapshotKind::Targeted, small);
    s.collapse(0);  // none of its frames was in the frame index
    s.snapshot_with(SnapshotKind::Periodic, huge, {{kHuge, kHuge + 512 * kPage}}, true,
                    [](PagemapSnapshot& snap) { snap.huge_pages.push_back({kHuge, kHead, 9, false}); });
    const auto h = s.history(kHuge + 7 * kPage);
    ASSERT_TRUE(h);
    EXPECT_EQ(s.whats(kHuge + 7 * kPage), "mapped first_touch pfn collapsed");
    const auto* c = last_entry<CollapsedInfo>(*h);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->old_pfn, 0x10000u + 14);
    EXPECT_EQ(c->new_pfn, kHead + 7);
    expect_nothing_unexplained(s.summary());
}

TEST(TimelineReclaim, AHugePageInPlaceOfKnownSmallPagesWithNoCollapseIsUnexplained) {
    Story s(HistoryFilter::page(100, kHuge));
    s.mmap(kHuge, 512 * kPage);
    std::vector<std::pair<uint64_t, uint64_t>> huge;
    for (uint64_t i = 0; i < 512; ++i) huge.push_back({kHuge + i * kPage, kHead + i});
    s.fault(kHuge);
    s.snapshot(SnapshotKind::Targeted, {{kHuge, 0x777}});
    s.snapshot_with(SnapshotKind::Targeted, huge, {}, true,
                    [](PagemapSnapshot& snap) { snap.huge_pages.push_back({kHuge, kHead, 9, false}); });
    const auto h = s.history(kHuge);
    ASSERT_TRUE(h);
    const auto* p = last_entry<PfnInfo>(*h);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->unexplained);
    EXPECT_EQ(p->old_pfn, 0x777u);
    EXPECT_EQ(h->pfn, kHead);
    EXPECT_EQ(s.summary().unexplained_frame_changes, 1u);
}

TEST(TimelineReclaim, CutsThroughAHugePageSplitIt) {
    Story s(HistoryFilter::range(100, kHuge, kHuge + 512 * kPage));
    s.mmap(kHuge, 1024 * kPage);
    s.fault(kHuge);
    std::vector<std::pair<uint64_t, uint64_t>> huge;
    for (uint64_t i = 0; i < 512; ++i) huge.push_back({kHuge + i * kPage, kHead + i});
    s.snapshot_with(SnapshotKind::Targeted, huge, {}, true, [](PagemapSnapshot& snap) {
        snap.huge_pages.push_back({kHuge, kHead, 9, false});
    });
    s.mprotect(kHuge, 256 * kPage, 0x1);  // the first half read-only
    EXPECT_EQ(s.whats(kHuge + 300 * kPage), "mapped first_touch split");
    const auto h = s.history(kHuge + 300 * kPage);
    ASSERT_TRUE(h);
    const auto* split = last_entry<SplitInfo>(*h);
    ASSERT_TRUE(split);
    EXPECT_EQ(split->huge_addr, kHuge);
    EXPECT_EQ(split->cause, SplitCause::Mprotect);
    // Once split it is split: unmapping part of it again is no second split.
    s.munmap(kHuge + 400 * kPage, 16 * kPage);
    EXPECT_EQ(s.summary().huge_page_splits, 1u);
    // A cut on a huge page's edge splits nothing.
    s.munmap(kHuge + 512 * kPage, 512 * kPage);
    EXPECT_EQ(s.summary().huge_page_splits, 1u);
}

TEST(TimelineReclaim, StallsAreSummedByKind) {
    Story s;
    s.reclaim_stall(PT_STALL_MEMCG, 1'000'000, 32);
    s.reclaim_stall(PT_STALL_MEMCG, 3'000'000, 8);
    s.reclaim_stall(PT_STALL_COMPACTION, 500'000);
    const ProcessSummary sum = s.summary();
    ASSERT_EQ(sum.stalls_by_kind.count(PT_STALL_MEMCG), 1u);
    const StallTotals& memcg = sum.stalls_by_kind.at(PT_STALL_MEMCG);
    EXPECT_EQ(memcg.count, 2u);
    EXPECT_EQ(memcg.total_ns, 4'000'000u);
    EXPECT_EQ(memcg.max_ns, 3'000'000u);
    EXPECT_EQ(memcg.reclaimed_pages, 40u);
    EXPECT_EQ(sum.stalls_by_kind.at(PT_STALL_COMPACTION).count, 1u);
    EXPECT_EQ(sum.stalls_by_kind.count(PT_STALL_DIRECT), 0u);

    std::string json;
    append_summary_json(json, sum);
    EXPECT_NE(json.find(R"("stalls":{"direct":{"count":0,"total_ns":0,"max_ns":0,"reclaimed_pages":0},)"
                        R"("memcg":{"count":2,"total_ns":4000000,"max_ns":3000000,"reclaimed_pages":40},)"
                        R"("compaction":{"count":1,"total_ns":500000,"max_ns":500000,"reclaimed_pages":0}})"),
              std::string::npos)
        << json;
    std::string text;
    append_summary_text(text, sum, 0);
    EXPECT_NE(text.find("stalls        memcg 2: 4.00 ms total, max 3.00 ms, 40 pages reclaimed; "
                        "compaction 1: 500.0 us total, max 500.0 us"),
              std::string::npos)
        << text;
}

TEST(TimelineReclaim, PageoutAdviceDiscardsNothing) {
    // MADV_PAGEOUT asks reclaim to take the pages, keeping their contents:
    // what it takes, swap_out events say.
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, 2 * kPage);
    s.fault(kA);
    s.madvise(kA, 2 * kPage, kernel::kMadvPageout);
    EXPECT_EQ(s.whats(kA), "mapped first_touch");
    EXPECT_EQ(s.summary().discarded_pages, 0u);
    EXPECT_EQ(s.summary().resident_pages_final, 1u);
}

TEST(TimelineReclaim, EntriesRenderInTextAndJson) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x900}});
    s.swap_out(kA, 0x900);
    s.snapshot_with(SnapshotKind::Targeted, {}, {}, true, [](PagemapSnapshot& snap) {
        snap.pages.push_back(Story::swapped(kA, 2, 0x40));
    });
    s.wait(1'500'000);
    s.fault(kA, Access::Read, FaultOutcome::Major, 20'000);
    const auto h = s.history(kA);
    ASSERT_TRUE(h);
    std::string json;
    append_history_json(json, *h);
    EXPECT_NE(json.find(R"("what":"swapped_out","pfn":2304,"order":0,"by_pid":45,)"
                        R"("by_comm":"kswapd0","swap_type":2,"swap_offset":64})"),
              std::string::npos)
        << json;
    EXPECT_NE(json.find(R"("what":"swapped_in","access":"read","mode":"user","outcome":"major",)"
                        R"("latency_ns":20000,"ip":"0x401000","away_ns":1502000})"),
              std::string::npos)
        << json;
    std::string text;
    append_history_text(text, *h, 1'000'000'000);
    EXPECT_NE(text.find("swapped_out  0x900 by kswapd0/45 to swap 2:0x40"), std::string::npos)
        << text;
    EXPECT_NE(text.find("swapped_in   read user major 20.0 us ip=0x401000, 1.50 ms after it was "
                        "swapped out"),
              std::string::npos)
        << text;

    std::string summary;
    append_summary_json(summary, s.summary());
    EXPECT_NE(summary.find(R"("swap":{"out_pages":1,"in_pages":1,"time_swapped_ns":{"count":1,)"),
              std::string::npos)
        << summary;
    EXPECT_NE(summary.find(R"("evictions":{"pages":0,"refaults":0},"ksm_merged_pages":0)"),
              std::string::npos)
        << summary;
}
