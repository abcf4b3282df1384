// The timeline builder, told as stories: one process, a few pages, and what
// their histories and summaries must say afterwards.
#include <gtest/gtest.h>

#include "timeline_story.h"

using namespace pagetrace;
using namespace pagetrace::story;

namespace {

constexpr uint64_t kA = 0x7f0000000000;  // a mapping
constexpr uint64_t kB = 0x7f1000000000;  // where mremap moves it

// Everything in [kA, kA + 16 pages) and [kB, kB + 16 pages) of pid 100.
HistoryFilter both_regions() { return HistoryFilter::range(100, kA, kB + 16 * kPage); }

}  // namespace

TEST(TimelineStory, EveryTransitionOfOnePage) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, 4 * kPage);                                  // 1.000000000
    s.fault(kA + 0x10, Access::Write);                      // +1 us
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x1000}});
    s.tlb_flush(kA, kA + 4 * kPage, PT_TLB_REMOTE_SHOOTDOWN, 4);
    s.migrate(kA, 0x1000, 0x2000);
    s.madvise(kA, 4 * kPage, kMadvDontneed);
    s.fault(kA, Access::Read);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x3000}});
    s.lost(7, 2);
    s.munmap(kA, 4 * kPage);

    EXPECT_EQ(s.whats(kA),
              "mapped first_touch pfn tlb_flush migrated discarded touch pfn gap unmapped");
    const auto h = s.history(kA);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->pid, 100u);
    EXPECT_EQ(h->comm, "story");
    ASSERT_TRUE(h->pfn);
    EXPECT_EQ(*h->pfn, 0x3000u);
    const auto& e = h->events;
    EXPECT_EQ(e[0].as<MappedInfo>().cause, MapCause::Mmap);
    const auto& first = e[1].as<TouchInfo>();
    EXPECT_TRUE(first.first);
    EXPECT_EQ(first.access, Access::Write);
    EXPECT_EQ(first.outcome, FaultOutcome::Minor);
    ASSERT_TRUE(first.since_mapped_ns);
    EXPECT_EQ(*first.since_mapped_ns, 1000u);
    EXPECT_EQ(*e[2].as<PfnInfo>().pfn, 0x1000u);
    EXPECT_FALSE(e[2].as<PfnInfo>().unexplained);
    EXPECT_EQ(e[3].as<TlbFlushInfo>().reason, uint32_t{PT_TLB_REMOTE_SHOOTDOWN});
    EXPECT_EQ(e[4].as<MigratedInfo>().old_pfn, 0x1000u);
    EXPECT_EQ(e[4].as<MigratedInfo>().new_pfn, 0x2000u);
    EXPECT_FALSE(e[4].as<MigratedInfo>().unexplained);
    EXPECT_EQ(e[5].as<DiscardedInfo>().advice, kMadvDontneed);
    EXPECT_FALSE(e[6].as<TouchInfo>().first);
    EXPECT_FALSE(e[6].as<TouchInfo>().since_mapped_ns);
    // A new frame after a discard and a fault is explained by the fault.
    EXPECT_EQ(*e[7].as<PfnInfo>().old_pfn, 0x2000u);
    EXPECT_FALSE(e[7].as<PfnInfo>().unexplained);
    EXPECT_EQ(e[8].as<GapInfo>().lost, 7u);
    EXPECT_EQ(e[8].as<GapInfo>().cpu, 2u);
    EXPECT_EQ(e[9].as<UnmappedInfo>().cause, UnmapCause::Munmap);
    for (size_t i = 1; i < e.size(); ++i) EXPECT_LE(e[i - 1].ts_ns, e[i].ts_ns);

    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.pages_touched, 1u);
    EXPECT_EQ(sum.faults.total, 2u);
    EXPECT_EQ(sum.migrations, 1u);
    EXPECT_EQ(sum.tlb_flushes, 1u);
    EXPECT_EQ(sum.discarded_pages, 1u);
    EXPECT_EQ(sum.gaps, 1u);
    EXPECT_EQ(sum.lost_events, 7u);
    EXPECT_EQ(sum.unexplained_frame_changes, 0u);
    EXPECT_EQ(sum.resident_pages_peak, 1u);
    EXPECT_EQ(sum.resident_pages_final, 0u);
    EXPECT_EQ(sum.untouched_bytes, 3 * kPage);
    EXPECT_EQ(sum.mapped_bytes_peak, 4 * kPage);
    EXPECT_EQ(sum.mapped_bytes_final, 0u);
    // The page left the compact table with its mapping.
    EXPECT_FALSE(s.timeline.page_state(100, kA));
}

TEST(TimelineStory, MremapMoveTakesThePageHistoryToTheNewAddress) {
    Story s(both_regions());
    s.mmap(kA, 4 * kPage);
    s.fault(kA + kPage);
    s.snapshot(SnapshotKind::Targeted, {{kA + kPage, 0x500}});
    s.mremap(kA, 4 * kPage, kB, 4 * kPage, kMremapMaymove);
    s.fault(kB + kPage);  // the page is there already: a touch, not a first touch
    s.tlb_flush(kB, kB + kPage * 4, PT_TLB_REMOTE_SHOOTDOWN, 4);

    EXPECT_EQ(s.whats(kB + kPage), "mapped first_touch pfn moved touch tlb_flush");
    const auto h = s.history(kB + kPage);
    const auto& moved = h->events[3].as<MovedInfo>();
    EXPECT_EQ(moved.from, kA + kPage);
    EXPECT_EQ(moved.to, kB + kPage);
    EXPECT_EQ(*h->pfn, 0x500u);
    // Nothing is left at the old address.
    EXPECT_EQ(s.whats(kA + kPage), "");
    EXPECT_FALSE(s.timeline.page_state(100, kA + kPage));
    const auto state = s.timeline.page_state(100, kB + kPage);
    ASSERT_TRUE(state);
    EXPECT_EQ(*state->pfn, 0x500u);
    EXPECT_TRUE(state->resident);
    // Untouched pages moved too, with their mapping history.
    EXPECT_EQ(s.whats(kB), "mapped moved tlb_flush");

    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.pages_touched, 1u);
    EXPECT_EQ(sum.resident_pages_final, 1u);
    EXPECT_EQ(sum.mapped_bytes_final, 4 * kPage);
    EXPECT_EQ(sum.first_touch_after_mmap_ns.count, 1u);
}

TEST(TimelineStory, MremapShrinkingMoveUnmapsTheTailAndGrowingMapsNewPages) {
    Story s(both_regions());
    s.mmap(kA, 4 * kPage);
    for (int i = 0; i < 4; ++i) s.fault(kA + i * kPage);
    s.mremap(kA, 4 * kPage, kB, 2 * kPage, kMremapMaymove | kMremapFixed);
    EXPECT_EQ(s.whats(kB + kPage), "mapped first_touch moved");
    EXPECT_EQ(s.whats(kA + 3 * kPage), "mapped first_touch unmapped");
    EXPECT_EQ(s.history(kA + 3 * kPage)->events.back().as<UnmappedInfo>().cause, UnmapCause::Mremap);
    EXPECT_EQ(s.summary().resident_pages_final, 2u);
    EXPECT_EQ(s.summary().mapped_bytes_final, 2 * kPage);

    // Grow in place: the new pages are mapped now, and their first touch is
    // measured from the mremap.
    s.mremap(kB, 2 * kPage, kB, 3 * kPage, 0);
    EXPECT_EQ(s.whats(kB + 2 * kPage), "mapped");
    EXPECT_EQ(s.history(kB + 2 * kPage)->events[0].as<MappedInfo>().cause, MapCause::Mremap);
    s.wait(5000);
    s.fault(kB + 2 * kPage);
    const auto h = s.history(kB + 2 * kPage);
    EXPECT_EQ(*h->events[1].as<TouchInfo>().since_mapped_ns, 6000u);
    // Shrink in place.
    s.mremap(kB, 3 * kPage, kB, kPage, 0);
    EXPECT_EQ(s.whats(kB + kPage), "mapped first_touch moved unmapped");
    EXPECT_EQ(s.summary().mapped_bytes_final, kPage);
    EXPECT_EQ(s.summary().resident_pages_final, 1u);
}

TEST(TimelineStory, PageMovedOutOfTheFilterKeepsItsHistoryAndOneMovedInStartsOne) {
    {
        Story s(HistoryFilter::page(100, kA));
        s.mmap(kA, kPage);
        s.fault(kA);
        s.mremap(kA, kPage, kB, kPage);
        s.munmap(kB, kPage);
        EXPECT_EQ(s.whats(kB), "mapped first_touch moved unmapped");
    }
    {
        Story s(HistoryFilter::page(100, kB));
        s.mmap(kA, kPage);
        s.fault(kA);
        s.mremap(kA, kPage, kB, kPage);
        EXPECT_EQ(s.whats(kB), "moved");
        EXPECT_EQ(s.history(kB)->events[0].as<MovedInfo>().from, kA);
    }
}

TEST(TimelineStory, MremapDontunmapLeavesAnEmptyMappingBehind) {
    Story s(both_regions());
    s.mmap(kA, kPage);
    s.fault(kA);
    s.mremap(kA, kPage, kB, kPage, kMremapMaymove | kMremapDontunmap);
    EXPECT_EQ(s.whats(kB), "mapped first_touch moved");
    EXPECT_EQ(s.summary().mapped_bytes_final, 2 * kPage);
    // The old address is a fresh, empty page: its next fault is a first touch.
    s.fault(kA);
    EXPECT_EQ(s.history(kA)->events.back().kind(), PageEventKind::FirstTouch);
    EXPECT_EQ(s.summary().pages_touched, 2u);
}

TEST(TimelineStory, PartialMunmapSplitsTheMapping) {
    Story s(HistoryFilter::range(100, kA, kA + 8 * kPage));
    s.mmap(kA, 8 * kPage);
    for (int i = 0; i < 8; ++i) s.fault(kA + i * kPage);
    s.munmap(kA + 3 * kPage, 2 * kPage);

    EXPECT_EQ(s.whats(kA + 2 * kPage), "mapped first_touch");
    EXPECT_EQ(s.whats(kA + 3 * kPage), "mapped first_touch unmapped");
    EXPECT_EQ(s.whats(kA + 4 * kPage), "mapped first_touch unmapped");
    EXPECT_EQ(s.whats(kA + 5 * kPage), "mapped first_touch");
    ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.mapped_bytes_final, 6 * kPage);
    EXPECT_EQ(sum.resident_pages_final, 6u);
    EXPECT_EQ(sum.resident_pages_peak, 8u);
    EXPECT_EQ(sum.untouched_bytes, 0u);

    // Both remaining pieces keep the original mmap time.
    s.munmap(kA + 6 * kPage, kPage);
    s.fault(kA + 7 * kPage);  // touched again: a touch
    EXPECT_EQ(s.summary().first_touch_after_mmap_ns.count, 8u);
    // Touching an unmapped page again (a new mapping there) is a first touch.
    s.mmap(kA + 3 * kPage, kPage, kPrivateAnon | kMapFixed);
    s.fault(kA + 3 * kPage);
    EXPECT_EQ(s.whats(kA + 3 * kPage), "mapped first_touch unmapped mapped first_touch");
    sum = s.summary();
    EXPECT_EQ(sum.pages_touched, 9u);
    EXPECT_EQ(sum.mapped_bytes_final, 6 * kPage);
}

TEST(TimelineStory, OverlappingMapFixedReplacesThePagesUnderIt) {
    Story s(HistoryFilter::range(100, kA, kA + 8 * kPage));
    s.mmap(kA, 4 * kPage);
    s.fault(kA);
    s.fault(kA + 2 * kPage);
    s.mmap(kA + 2 * kPage, 4 * kPage, kPrivateAnon | kMapFixed);

    EXPECT_EQ(s.whats(kA), "mapped first_touch");
    EXPECT_EQ(s.whats(kA + 2 * kPage), "mapped first_touch unmapped mapped");
    EXPECT_EQ(s.history(kA + 2 * kPage)->events[2].as<UnmappedInfo>().cause, UnmapCause::Replaced);
    EXPECT_EQ(s.whats(kA + 3 * kPage), "mapped unmapped mapped");
    EXPECT_EQ(s.whats(kA + 5 * kPage), "mapped");
    const uint64_t remapped_at = s.now - s.step;
    s.fault(kA + 2 * kPage);
    const auto h = s.history(kA + 2 * kPage);
    EXPECT_EQ(h->events.back().kind(), PageEventKind::FirstTouch);
    EXPECT_EQ(*h->events.back().as<TouchInfo>().since_mapped_ns, s.now - s.step - remapped_at);

    ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.pages_touched, 3u);
    EXPECT_EQ(sum.mapped_bytes_final, 6 * kPage);
    EXPECT_EQ(sum.resident_pages_final, 2u);
    EXPECT_EQ(sum.mapping_conflicts, 0u);
    // The replaced part's untouched page (kA + 3 pages) counts as never touched.
    EXPECT_EQ(sum.untouched_bytes, (1 + 1 + 3) * kPage);

    // Without MAP_FIXED the kernel never lands on a mapping: ours was stale.
    s.mmap(kA, kPage);
    EXPECT_EQ(s.summary().mapping_conflicts, 1u);
}

TEST(TimelineStory, DontneedThenRetouch) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA);
    s.madvise(kA, kPage, kMadvDontneed);
    EXPECT_EQ(s.summary().resident_pages_final, 0u);
    EXPECT_TRUE(s.timeline.page_state(100, kA)->discarded);
    s.madvise(kA, kPage, kMadvDontneed);  // nothing left to discard
    s.fault(kA, Access::Read);
    s.madvise(kA, kPage, kMadvFree);

    EXPECT_EQ(s.whats(kA), "mapped first_touch discarded touch discarded");
    const auto h = s.history(kA);
    EXPECT_EQ(h->events[4].as<DiscardedInfo>().advice, kMadvFree);
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.pages_touched, 1u);
    EXPECT_EQ(sum.faults.total, 2u);
    EXPECT_EQ(sum.discarded_pages, 2u);
    EXPECT_EQ(sum.resident_pages_peak, 1u);
    EXPECT_EQ(sum.resident_pages_final, 0u);
    EXPECT_EQ(sum.first_touch_after_mmap_ns.count, 1u);
}

TEST(TimelineStory, LossGapShowsInTheHistoriesOfPagesAliveThen) {
    Story s(HistoryFilter::range(100, kA, kA + 4 * kPage));
    s.mmap(kA, 4 * kPage);
    s.fault(kA);
    s.fault(kA + kPage);
    s.munmap(kA + kPage, kPage);  // gone before the loss
    s.lost(100, 3);
    s.fault(kA + 2 * kPage);      // touched after it
    s.lost(5, 1);
    s.munmap(kA, 4 * kPage);
    s.lost(9, 0);                 // after the page is gone

    EXPECT_EQ(s.whats(kA), "mapped first_touch gap gap unmapped");
    EXPECT_EQ(s.whats(kA + kPage), "mapped first_touch unmapped");
    // Mapped before the first gap, so it spans both.
    EXPECT_EQ(s.whats(kA + 2 * kPage), "mapped gap first_touch gap unmapped");
    EXPECT_EQ(s.history(kA)->events[2].as<GapInfo>().lost, 100u);

    // Every live process gets the gaps: the stream cannot say whose events were lost.
    s.pid = 200;
    s.mmap(kB, kPage);
    s.lost(1);
    EXPECT_EQ(s.summary({}, 100).gaps, 4u);
    EXPECT_EQ(s.summary({}, 100).lost_events, 115u);
    EXPECT_EQ(s.summary({}, 200).gaps, 1u);
    s.pid = 100;
    s.exit();
    s.lost(2);
    EXPECT_EQ(s.summary({}, 100).gaps, 4u);  // exited: no more
    EXPECT_EQ(s.timeline.stats().gaps, 5u);
    EXPECT_EQ(s.timeline.stats().lost_events, 117u);
}

TEST(TimelineStory, SnapshotFrameChangeWithoutMigrationIsUnexplained) {
    Story s(HistoryFilter::range(100, kA, kA + 4 * kPage));
    const std::vector<std::pair<uint64_t, uint64_t>> maps{{kA, kA + 4 * kPage}};
    s.mmap(kA, 4 * kPage);
    s.fault(kA);
    s.fault(kA + kPage);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x100}, {kA + kPage, 0x200}});
    s.migrate(kA + kPage, 0x200, 0x210);
    // The periodic snapshot: kA moved with no event (unexplained), kA + 1 page
    // matches its migration (nothing new to say).
    s.snapshot(SnapshotKind::Periodic, {{kA, 0x999}, {kA + kPage, 0x210}}, maps);

    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn pfn");
    const auto page = s.history(kA);
    const auto& seen = page->events[3].as<PfnInfo>();
    EXPECT_EQ(*seen.pfn, 0x999u);
    EXPECT_EQ(*seen.old_pfn, 0x100u);
    EXPECT_TRUE(seen.unexplained);
    EXPECT_EQ(seen.source, SnapshotKind::Periodic);
    EXPECT_EQ(*s.history(kA)->pfn, 0x999u);
    EXPECT_EQ(s.whats(kA + kPage), "mapped first_touch pfn migrated");

    // A migration whose old frame is not the one we knew is reported too.
    s.migrate(kA, 0x555, 0x556);
    const auto after = s.history(kA);
    const auto& migrated = after->events.back().as<MigratedInfo>();
    EXPECT_TRUE(migrated.unexplained);
    EXPECT_EQ(*migrated.expected_old_pfn, 0x999u);
    EXPECT_EQ(s.summary().unexplained_frame_changes, 2u);

    // Frames invisible to the snapshot reader: presence only, never a conflict.
    s.snapshot(SnapshotKind::Periodic, {{kA, 0}, {kA + kPage, 0}}, maps, false);
    EXPECT_EQ(s.summary().unexplained_frame_changes, 2u);
    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn pfn migrated");
}

TEST(TimelineStory, SnapshotsSeedPagesPresentBeforeTracing) {
    Story s(HistoryFilter::range(100, kA, kA + 4 * kPage));
    s.snapshot(SnapshotKind::Attach, {{kA, 0x10}, {kA + kPage, 0x11}}, {{kA, kA + 4 * kPage}});
    EXPECT_EQ(s.whats(kA), "mapped pfn");
    EXPECT_EQ(s.history(kA)->events[0].as<MappedInfo>().cause, MapCause::Snapshot);
    EXPECT_TRUE(s.history(kA)->events[1].as<PfnInfo>().before_tracing);
    EXPECT_EQ(s.whats(kA + 2 * kPage), "mapped");
    // A fault on a page that was already there is a touch (a COW, a write after a read).
    s.fault(kA);
    EXPECT_EQ(s.history(kA)->events.back().kind(), PageEventKind::Touch);
    // A page the next snapshot finds with no fault seen for it.
    s.snapshot(SnapshotKind::Periodic, {{kA, 0x10}, {kA + kPage, 0x11}, {kA + 3 * kPage, 0x13}},
               {{kA, kA + 4 * kPage}});
    EXPECT_TRUE(s.history(kA + 3 * kPage)->events.back().as<PfnInfo>().no_fault_seen);
    // The fault made the frame of kA stale; the same frame again says nothing new.
    EXPECT_EQ(s.whats(kA), "mapped pfn touch");

    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.present_before_tracing, 2u);
    EXPECT_EQ(sum.present_without_fault, 1u);
    EXPECT_EQ(sum.pages_touched, 1u);
    EXPECT_EQ(sum.resident_pages_final, 3u);
    EXPECT_EQ(sum.first_touch_after_mmap_ns.count, 0u);  // mapped before tracing: unknown
    EXPECT_EQ(sum.untouched_bytes, 0u);  // only traced mappings count
    EXPECT_EQ(sum.mapped_bytes_final, 4 * kPage);
}

TEST(TimelineStory, FullSnapshotFindsPagesGoneAndMappingsUnmappedUnseen) {
    Story s(HistoryFilter::range(100, kA, kA + 8 * kPage));
    s.mmap(kA, 4 * kPage);
    s.mmap(kA + 4 * kPage, 4 * kPage);
    s.fault(kA);
    s.fault(kA + kPage);
    s.fault(kA + 4 * kPage);
    // kA + 1 page was reclaimed, and the second mapping was unmapped while
    // events were lost.
    s.snapshot(SnapshotKind::Final, {{kA, 0x10}}, {{kA, kA + 4 * kPage}});

    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn");
    EXPECT_EQ(s.whats(kA + kPage), "mapped first_touch not_present");
    EXPECT_FALSE(s.history(kA + kPage)->events.back().as<NotPresentInfo>().swapped);
    EXPECT_EQ(s.whats(kA + 4 * kPage), "mapped first_touch unmapped");
    EXPECT_EQ(s.history(kA + 4 * kPage)->events.back().as<UnmappedInfo>().cause, UnmapCause::Snapshot);
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.not_present, 1u);
    EXPECT_EQ(sum.mapping_conflicts, 1u);
    EXPECT_EQ(sum.resident_pages_final, 1u);
    EXPECT_EQ(sum.mapped_bytes_final, 4 * kPage);

    // A swapped-out page.
    PagemapSnapshot swapped;
    swapped.pid = 100;
    swapped.ts_ns = s.now;
    swapped.kind = SnapshotKind::Periodic;
    swapped.mappings = {Mapping{kA, kA + 4 * kPage, "rw-p", 0, "00:00", 0, ""}};
    SnapshotPage page;
    page.vaddr = kA;
    page.entry.raw = (uint64_t{1} << 62) | (uint64_t{77} << 5) | 1;  // swap type 1
    swapped.pages.push_back(page);
    s.timeline.add_snapshot(swapped);
    EXPECT_EQ(s.whats(kA), "mapped first_touch pfn not_present");
    EXPECT_TRUE(s.history(kA)->events.back().as<NotPresentInfo>().swapped);
    EXPECT_EQ(s.summary().resident_pages_final, 0u);
}

TEST(TimelineStory, PartialSnapshotConcludesNothingFromWhatItLacks) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA);
    PagemapSnapshot snap;
    snap.pid = 100;
    snap.ts_ns = s.now;
    snap.kind = SnapshotKind::Final;
    snap.partial = true;
    s.timeline.add_snapshot(snap);
    EXPECT_EQ(s.whats(kA), "mapped first_touch");
    EXPECT_EQ(s.summary().resident_pages_final, 1u);
}

TEST(TimelineStory, PidReuseMakesANewProcessInstance) {
    Story s(HistoryFilter::page({}, kA));
    s.pid = 1;
    s.fork(100, 900);
    s.pid = 100;
    s.mmap(kA, kPage);
    s.fault(kA);
    s.exit(0, 900);
    // The same pid again, after the exit: a new process.
    s.mmap(kA, 2 * kPage);
    s.fault(kA, Access::Read);
    s.fault(kA + kPage);

    const auto all = s.timeline.summaries();
    std::vector<ProcessSummary> mine;
    for (const auto& sum : all) {
        if (sum.pid == 100) mine.push_back(sum);
    }
    ASSERT_GE(mine.size(), 2u);
    const ProcessSummary& old = mine[mine.size() - 2];
    const ProcessSummary& now = mine.back();
    EXPECT_EQ(old.pages_touched, 1u);
    ASSERT_TRUE(old.exit_status);
    EXPECT_EQ(*old.start_ns, 900u);
    EXPECT_EQ(now.pages_touched, 2u);
    EXPECT_FALSE(now.exit_ts_ns);
    EXPECT_FALSE(now.start_ns);
    EXPECT_EQ(now.mapped_bytes_final, 2 * kPage);

    // Two histories for the same address, one per instance, never merged.
    int pages_at_a = 0;
    for (const auto& h : s.timeline.page_histories()) {
        if (h.addr == kA && h.pid == 100) ++pages_at_a;
    }
    EXPECT_EQ(pages_at_a, 2);
    EXPECT_EQ(s.whats(kA), "mapped first_touch");  // the newest one

    // A migration trailing the exit of a process does not invent a new one.
    Story t;
    t.mmap(kA, kPage);
    t.exit(0, 5);
    t.migrate(kA, 1, 2);
    EXPECT_EQ(t.timeline.summaries().size(), 1u);
    EXPECT_EQ(t.timeline.stats().orphan_events, 1u);
}

TEST(TimelineStory, ForkWithTheSamePidAndAnotherStartTimeIsANewChild) {
    Story s;
    s.pid = 1;
    s.fork(200, 5'000);
    s.pid = 200;
    s.mmap(kA, kPage);
    s.pid = 1;
    s.fork(200, 9'000);  // 200's exit was lost; a new child got its pid
    s.pid = 200;
    s.fault(kA);
    s.exit(0, 9'000);

    const ProcessSummary first = s.summary(0, 200);
    const ProcessSummary second = s.summary(1, 200);
    EXPECT_EQ(*first.start_ns, 5'000u);
    EXPECT_TRUE(first.pid_reused);
    EXPECT_FALSE(first.exit_status);
    EXPECT_EQ(*second.start_ns, 9'000u);
    EXPECT_EQ(*second.parent_pid, 1u);
    EXPECT_FALSE(second.pid_reused);
    EXPECT_EQ(second.pages_touched, 1u);
    EXPECT_EQ(first.pages_touched, 0u);
    // The second child inherited the parent's address space (empty here).
    EXPECT_EQ(s.timeline.summaries().size(), 3u);
}

TEST(TimelineStory, ChildEventsRacingAheadOfTheForkJoinTheChild) {
    Story s;
    s.pid = 300;
    s.at(2'000'000).fault(kA);  // the child's first event, before its fork event arrives
    s.pid = 1;
    s.fork(300, 1'999'000);     // started before that fault
    EXPECT_EQ(s.timeline.summaries().size(), 2u);
    EXPECT_EQ(*s.summary({}, 300).start_ns, 1'999'000u);
    EXPECT_EQ(s.summary({}, 300).pages_touched, 1u);
}

TEST(TimelineStory, ForkedChildInheritsTheMappings) {
    Story s(HistoryFilter::range({}, kA, kA + 2 * kPage));
    s.mmap(kA, 2 * kPage);
    s.fault(kA);
    s.fork(101, 7'000);
    s.pid = 101;
    s.fault(kA + kPage);
    EXPECT_EQ(s.whats(kA + kPage, 101), "mapped first_touch");
    EXPECT_EQ(s.history(kA + kPage, 101)->events[0].as<MappedInfo>().cause, MapCause::Fork);
    EXPECT_FALSE(s.history(kA + kPage, 101)->events[1].as<TouchInfo>().since_mapped_ns);
    const ProcessSummary child = s.summary({}, 101);
    EXPECT_EQ(child.mapped_bytes_final, 2 * kPage);
    EXPECT_EQ(*child.parent_pid, 100u);
    EXPECT_EQ(child.comm, "story");
}

TEST(TimelineStory, ExecReplacesTheAddressSpaceAndExitEndsIt) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA);
    s.comm = "newname";
    s.exec("/bin/true");
    EXPECT_EQ(s.whats(kA), "mapped first_touch unmapped");
    EXPECT_EQ(s.history(kA)->events.back().as<UnmappedInfo>().cause, UnmapCause::Exec);
    s.mmap(kA, kPage);
    s.fault(kA);
    s.exit(9);  // SIGKILL
    EXPECT_EQ(s.whats(kA), "mapped first_touch unmapped mapped first_touch unmapped");
    EXPECT_EQ(s.history(kA)->events.back().as<UnmappedInfo>().cause, UnmapCause::Exit);
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.comm, "newname");
    EXPECT_EQ(sum.exec_filename, "/bin/true");
    EXPECT_EQ(*sum.exit_status, 9u);
    EXPECT_EQ(sum.pages_touched, 2u);
    EXPECT_EQ(sum.mapped_bytes_final, 0u);
    EXPECT_EQ(sum.resident_pages_final, 0u);
    EXPECT_EQ(s.timeline.stats().tracked_pages, 0u);
}

TEST(TimelineStory, BrkGrowsAndShrinksTheHeap) {
    constexpr uint64_t kHeap = 0x555555559000;
    Story s(HistoryFilter::range(100, kHeap, kHeap + 4 * kPage));
    s.brk(kHeap);                       // the query: where the heap starts
    s.brk(kHeap + 0x2100, kHeap + 0x2100);  // grows to 3 pages
    s.fault(kHeap + kPage);
    s.brk(kHeap + kPage, kHeap + kPage);    // shrinks to 1
    EXPECT_EQ(s.whats(kHeap + kPage), "mapped first_touch unmapped");
    EXPECT_EQ(s.history(kHeap + kPage)->events[0].as<MappedInfo>().cause, MapCause::Brk);
    EXPECT_EQ(s.history(kHeap + kPage)->events.back().as<UnmappedInfo>().cause, UnmapCause::Brk);
    EXPECT_EQ(s.whats(kHeap), "mapped");
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.mapped_bytes_peak, 3 * kPage);
    EXPECT_EQ(sum.mapped_bytes_final, kPage);
    EXPECT_EQ(sum.first_touch_after_mmap_ns.count, 1u);
}

TEST(TimelineStory, UnaccountedFaultIsATouchAndItsRetryTheFirstTouch) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA, Access::Write, FaultOutcome::Unaccounted, 0);
    s.fault(kA, Access::Write, FaultOutcome::Major, 80'000);
    EXPECT_EQ(s.whats(kA), "mapped touch first_touch");
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.faults.unaccounted, 1u);
    EXPECT_EQ(sum.faults.major, 1u);
    EXPECT_EQ(sum.pages_touched, 1u);
}

TEST(TimelineStory, HugePageMigrationMovesEverySubpage) {
    Story s(HistoryFilter::range(100, kA, kA + 4 * kPage));
    s.mmap(kA, 512 * kPage);
    s.fault(kA);
    s.migrate(kA, 0x40000, 0x80000, PT_MR_NUMA_MISPLACED, 9);
    EXPECT_EQ(s.whats(kA + 3 * kPage), "mapped migrated");
    EXPECT_EQ(s.history(kA + 3 * kPage)->events[1].as<MigratedInfo>().new_pfn, 0x80003u);
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.migrations, 1u);
    EXPECT_EQ(sum.migrated_pages, 512u);
    EXPECT_EQ(sum.migrations_by_reason.at(PT_MR_NUMA_MISPLACED), 1u);
    EXPECT_EQ(sum.resident_pages_final, 512u);
}

TEST(TimelineStory, FullTlbFlushesAreCountedNotAddedToHistories) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA);
    s.tlb_flush(0, 0, PT_TLB_TASK_SWITCH, PT_TLB_FLUSH_ALL);
    s.tlb_flush(kA + kPage, kA + 2 * kPage);  // a range that misses the page
    s.tlb_flush(kA, kA + kPage, PT_TLB_LOCAL_MM_SHOOTDOWN);
    EXPECT_EQ(s.whats(kA), "mapped first_touch tlb_flush");
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.tlb_flushes, 3u);
    EXPECT_EQ(sum.tlb_flushes_by_reason.at(PT_TLB_TASK_SWITCH), 1u);
    EXPECT_EQ(sum.tlb_flushes_by_reason.at(PT_TLB_REMOTE_SHOOTDOWN), 1u);
}

TEST(TimelineStory, AFlushOfSomePagesOfACallsRangeGoesToNoHistory) {
    // Reclaim during MADV_PAGEOUT of 16 pages flushes them one at a time:
    // each flush has the call's range but one page, and which one is unknown.
    Story s(HistoryFilter::range(100, kA, kA + 16 * kPage));
    s.mmap(kA, 16 * kPage);
    for (int i = 0; i < 16; ++i) s.fault(kA + i * kPage);
    for (int i = 0; i < 16; ++i) s.tlb_flush(kA, kA + 16 * kPage, PT_TLB_LOCAL_MM_SHOOTDOWN, 1);
    s.tlb_flush(kA, kA + 16 * kPage, PT_TLB_LOCAL_MM_SHOOTDOWN, PT_TLB_FLUSH_ALL);
    EXPECT_EQ(s.whats(kA + 5 * kPage), "mapped first_touch tlb_flush");  // the full one
    EXPECT_EQ(s.summary().tlb_flushes, 17u);
}

TEST(TimelineStory, FaultOutsideAnyKnownMappingStillMakesAPageRecord) {
    Story s(HistoryFilter::page(100, kA));
    s.fault(kA);
    EXPECT_EQ(s.whats(kA), "first_touch");
    EXPECT_FALSE(s.history(kA)->events[0].as<TouchInfo>().since_mapped_ns);
    EXPECT_EQ(s.summary().pages_touched, 1u);
    EXPECT_EQ(*s.timeline.page_state(100, kA)->first_touch_ns, s.now - s.step);
}

TEST(TimelineStory, HistoryLimitIsCountedNotExceeded) {
    HistoryFilter filter = HistoryFilter::range(100, kA, kA + 64 * kPage);
    filter.max_pages = 10;
    Story s(filter);
    s.mmap(kA, 64 * kPage);
    for (int i = 0; i < 64; ++i) s.fault(kA + i * kPage);
    s.munmap(kA, 64 * kPage);
    const TimelineStats st = s.timeline.stats();
    EXPECT_EQ(st.history_pages, 10u);
    EXPECT_GT(st.histories_dropped, 0u);
    EXPECT_EQ(s.whats(kA + 9 * kPage), "mapped first_touch unmapped");
    EXPECT_EQ(s.whats(kA + 10 * kPage), "");
    EXPECT_EQ(s.summary().pages_touched, 64u);  // summaries see every page
}

TEST(TimelineStory, WithoutAFilterNoHistoriesAreKept) {
    Story s;
    s.mmap(kA, 4 * kPage);
    s.fault(kA);
    EXPECT_TRUE(s.timeline.page_histories().empty());
    EXPECT_EQ(s.timeline.stats().history_pages, 0u);
    EXPECT_EQ(s.summary().pages_touched, 1u);
}

TEST(TimelineStory, FailedCallsChangeNothing) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage, kPrivateAnon, kProtRw, /*err=*/12);
    EXPECT_EQ(s.whats(kA), "");
    EXPECT_EQ(s.summary().mapped_bytes_final, 0u);
}

TEST(TimelineStory, MmapReadBySnapshotBeforeItsEventIsNoConflict) {
    Story s(HistoryFilter::page(100, kA));
    // The periodic snapshot was read just after an mmap whose event comes next.
    s.snapshot(SnapshotKind::Periodic, {{kA, 0x40}}, {{kA, kA + 2 * kPage}});
    s.mmap(kA, 2 * kPage);
    s.fault(kA);
    EXPECT_EQ(s.summary().mapping_conflicts, 0u);
    EXPECT_EQ(s.summary().mapped_bytes_final, 2 * kPage);
    EXPECT_EQ(s.whats(kA), "mapped pfn unmapped mapped first_touch");
}

TEST(TimelineStory, PagesAreOfTheGeometryTheBuilderIsGiven) {
    // A recording of a machine with 16 KiB pages: four of our 4 KiB steps are one page.
    const kernel::PageGeometry pages16k = kernel::PageGeometry::of_size(16384);
    Story s(HistoryFilter::page(100, kA + 5000, pages16k), pages16k);
    EXPECT_EQ(s.timeline.filter().start, kA);
    EXPECT_EQ(s.timeline.filter().end, kA + 16384);
    s.mmap(kA, 2 * 16384);
    s.fault(kA + kPage);
    s.fault(kA + 3 * kPage);  // the same page again
    s.madvise(kA + 2 * kPage, kPage);
    EXPECT_TRUE(s.timeline.page_state(100, kA + 3 * kPage)->discarded);
    EXPECT_EQ(s.timeline.page_state(100, kA + 3 * kPage)->addr, kA);
    s.munmap(kA, 16384);
    EXPECT_EQ(s.whats(kA), "mapped first_touch touch discarded unmapped");
    const ProcessSummary sum = s.summary();
    EXPECT_EQ(sum.pages_touched, 1u);
    EXPECT_EQ(sum.discarded_pages, 1u);
    EXPECT_EQ(sum.mapped_bytes_final, 16384u);
    EXPECT_EQ(sum.untouched_bytes, 16384u);  // the second page, never touched
}
