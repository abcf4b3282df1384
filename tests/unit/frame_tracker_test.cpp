// The frame index that attributes migrations, against a fake kernel index and
// fake pagemaps: which frames it stores for which pages, when it looks pages
// up, what it forgets on unmap/discard/exec/exit, how it follows mremap and
// migrations, and the targeted snapshots it hands on.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "kernel/mm.h"
#include "kernel/page_flags.h"
#include "trace/frame_tracker.h"

using namespace pagetrace;

namespace {

uint64_t g_now = 1'000'000'000;
uint64_t fake_now() { return g_now; }

constexpr uint32_t kPid = 42;
constexpr uint64_t kBase = 0x7f0000000000;
constexpr uint64_t kPage = 4096;

// The kernel-side index: what was stored, what was removed.
class FakeIndex : public FrameIndex {
public:
    size_t store(std::span<const uint64_t> pfns, std::span<const pt_frame_owner> owners) override {
        size_t n = 0;
        for (size_t i = 0; i < pfns.size(); ++i) {
            if (frames.size() >= limit && !frames.count(pfns[i])) break;
            frames[pfns[i]] = owners[i];
            ++n;
        }
        return n;
    }
    void remove(std::span<const uint64_t> pfns) override {
        for (uint64_t pfn : pfns) {
            frames.erase(pfn);
            removed.push_back(pfn);
        }
    }
    uint32_t capacity() const override { return static_cast<uint32_t>(limit); }
    bool finds_private_pages() const override { return private_by_rmap; }

    std::map<uint64_t, pt_frame_owner> frames;
    bool private_by_rmap = false;
    std::vector<uint64_t> removed;
    size_t limit = 1000;
};

// Pagemaps: pid -> (virtual page -> pfn), and the reads made.
class FakePagemaps : public PagemapPages {
public:
    size_t read(pid_t pid, uint64_t first, size_t count, PagemapEntry* out) override {
        reads.push_back({first, count});
        auto& pages = present[pid];
        for (size_t i = 0; i < count; ++i) {
            auto it = pages.find(first + i);
            const auto b = bits.find(first + i);
            out[i].raw = it == pages.end() ? 0
                                           : (uint64_t{1} << 63) | it->second |
                                                 (b == bits.end() ? 0 : b->second);
        }
        return count;
    }
    void forget(pid_t pid) override { forgotten.push_back(pid); }
    bool pfns_visible() const override { return true; }
    size_t read_frame_flags(uint64_t first_pfn, size_t count, uint64_t* out) override {
        for (size_t i = 0; i < count; ++i) {
            auto it = frame_flags.find(first_pfn + i);
            out[i] = it == frame_flags.end() ? 0 : it->second;
        }
        return count;
    }
    uint64_t zero_pfn() const override { return 7; }

    std::map<uint64_t, uint64_t> frame_flags;  // pfn -> kpageflags
    std::map<uint64_t, uint64_t> bits;         // virtual page -> pagemap flag bits, any pid
    std::map<pid_t, std::map<uint64_t, uint64_t>> present;
    std::vector<std::pair<uint64_t, size_t>> reads;
    std::vector<pid_t> forgotten;
};

Event event_of(EventData data, uint32_t pid = kPid) {
    Event e;
    e.ts_ns = g_now;
    e.pid = pid;
    e.tid = pid;
    e.data = std::move(data);
    return e;
}

uint64_t vpn(uint64_t addr) { return addr / kPage; }

class FrameTrackerTest : public ::testing::Test {
protected:
    FrameTrackerTest()
        : tracker(&index, pagemaps, kernel::PageGeometry{}, fake_now,
                  [this](PagemapSnapshot&& s) { targeted.push_back(std::move(s)); }) {
        g_now = 1'000'000'000;
    }

    void fault(uint64_t addr, uint64_t pfn, uint32_t pid = kPid) {
        pagemaps.present[static_cast<pid_t>(pid)][vpn(addr)] = pfn;
        FaultData d;
        d.addr = addr;
        send(event_of(d, pid));
    }
    void send(const Event& e) { tracker.on_event(e, {}); }
    // Moves the clock past the settle time and resolves.
    void settle() {
        g_now += FrameTracker::kSettleNs + FrameTracker::kResolveIntervalNs;
        tracker.resolve_pending(g_now);
    }
    bool indexed(uint64_t pfn, uint64_t addr, uint32_t pid = kPid) const {
        auto it = index.frames.find(pfn);
        return it != index.frames.end() && it->second.tgid == pid && it->second.vaddr == addr;
    }

    FakeIndex index;
    FakePagemaps pagemaps;
    std::vector<PagemapSnapshot> targeted;
    FrameTracker tracker;
};

}  // namespace

TEST_F(FrameTrackerTest, FaultedPagesAreLookedUpOnceSettledInRuns) {
    for (uint64_t i = 0; i < 4; ++i) fault(kBase + i * kPage, 100 + i);
    fault(kBase + 10 * kPage, 200);
    fault(kBase + 10 * kPage, 200);  // a second fault on the same page: one lookup
    EXPECT_TRUE(tracker.has_pending());

    tracker.resolve_pending(g_now + 1000);  // not settled yet
    EXPECT_TRUE(index.frames.empty());
    settle();
    EXPECT_FALSE(tracker.has_pending());
    // Two contiguous runs, two reads.
    EXPECT_EQ(pagemaps.reads, (std::vector<std::pair<uint64_t, size_t>>{{vpn(kBase), 4},
                                                                        {vpn(kBase) + 10, 1}}));
    for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(indexed(100 + i, kBase + i * kPage));
    EXPECT_TRUE(indexed(200, kBase + 10 * kPage));
    EXPECT_EQ(tracker.stats().pages_indexed, 5u);
    EXPECT_EQ(tracker.stats().lookups, 5u);

    ASSERT_EQ(targeted.size(), 1u);
    EXPECT_EQ(targeted[0].kind, SnapshotKind::Targeted);
    EXPECT_EQ(targeted[0].pid, kPid);
    ASSERT_EQ(targeted[0].pages.size(), 5u);
    EXPECT_EQ(targeted[0].pages[4].vaddr, kBase + 10 * kPage);
    EXPECT_EQ(targeted[0].pages[4].entry.pfn(), 200u);
}

TEST_F(FrameTrackerTest, PagesGoneBeforeTheirLookupAreNotIndexed) {
    fault(kBase, 100);
    pagemaps.present[kPid].erase(vpn(kBase));  // unmapped before the lookup
    settle();
    EXPECT_TRUE(index.frames.empty());
    EXPECT_EQ(tracker.stats().not_present, 1u);
    EXPECT_TRUE(targeted.empty());
}

TEST_F(FrameTrackerTest, UnmappedAndDiscardedFramesAreRetiredAfterADelay) {
    for (uint64_t i = 0; i < 4; ++i) fault(kBase + i * kPage, 100 + i);
    settle();
    send(event_of(MunmapData{kBase, kPage, 0}));
    send(event_of(MadviseData{kBase + kPage, kPage, kernel::kMadvDontneed, 0}));
    send(event_of(MadviseData{kBase + 2 * kPage, kPage, kernel::kMadvWillneed, 0}));  // keeps it
    send(event_of(MunmapData{kBase + 3 * kPage, kPage, /*err=*/22}));  // failed: keeps it
    EXPECT_EQ(tracker.stats().pages_indexed, 2u);
    // Still in the kernel's index until they retire, then removed in one batch.
    EXPECT_TRUE(index.removed.empty());
    g_now += FrameTracker::kRetireNs + 1;
    fault(kBase + 20 * kPage, 300);
    settle();
    EXPECT_EQ(index.removed, (std::vector<uint64_t>{100, 101}));
    EXPECT_TRUE(indexed(102, kBase + 2 * kPage));
    EXPECT_TRUE(indexed(103, kBase + 3 * kPage));
}

TEST_F(FrameTrackerTest, MapFixedOverPagesForgetsThem) {
    fault(kBase, 100);
    settle();
    MmapData plain;
    plain.addr = kBase;
    plain.len = kPage;
    send(event_of(plain));
    EXPECT_EQ(tracker.stats().pages_indexed, 1u);  // a hint only: not over our page
    MmapData fixed = plain;
    fixed.flags = kernel::kMapFixed | kernel::kMapPrivate | kernel::kMapAnonymous;
    send(event_of(fixed));
    EXPECT_EQ(tracker.stats().pages_indexed, 0u);
}

TEST_F(FrameTrackerTest, MremapMovesEntriesToTheNewAddress) {
    for (uint64_t i = 0; i < 3; ++i) fault(kBase + i * kPage, 100 + i);
    settle();
    const uint64_t to = kBase + 0x100000;
    // Moved and shrunk to two pages: the third is dropped.
    send(event_of(MremapData{kBase, 3 * kPage, to, 2 * kPage, kernel::kMremapMaymove, 0}));
    EXPECT_TRUE(indexed(100, to));
    EXPECT_TRUE(indexed(101, to + kPage));
    EXPECT_EQ(tracker.stats().pages_indexed, 2u);
    // Shrunk in place: the tail goes.
    send(event_of(MremapData{to, 2 * kPage, to, kPage, 0, 0}));
    EXPECT_EQ(tracker.stats().pages_indexed, 1u);
}

TEST_F(FrameTrackerTest, ExecAndExitForgetTheProcessAndItsQueuedFaults) {
    fault(kBase, 100);
    settle();
    fault(kBase + kPage, 101);  // queued, not looked up yet
    send(event_of(ExecData{"/bin/true"}));
    EXPECT_EQ(tracker.stats().pages_indexed, 0u);
    EXPECT_EQ(pagemaps.forgotten, (std::vector<pid_t>{kPid}));
    settle();
    EXPECT_FALSE(indexed(101, kBase + kPage));
    fault(kBase, 100, 43);
    settle();
    send(event_of(ExitData{0, 0}, 43));
    EXPECT_EQ(tracker.stats().pages_indexed, 0u);
}

TEST_F(FrameTrackerTest, MigrationsMoveTheEntryToTheNewFrame) {
    fault(kBase, 100);
    settle();
    MigrateData m;
    m.addr = kBase;
    m.old_pfn = 100;
    m.new_pfn = 500;
    send(event_of(m));
    // The kernel side moved its own entry; the tracker follows, and a later
    // unmap retires the new frame, not the old one.
    send(event_of(MunmapData{kBase, kPage, 0}));
    g_now += FrameTracker::kRetireNs + 1;
    fault(kBase + 20 * kPage, 300);
    settle();
    EXPECT_EQ(index.removed, (std::vector<uint64_t>{500}));
}

TEST_F(FrameTrackerTest, FullSnapshotsSeedTheIndexAndTargetedOnesAreIgnored) {
    PagemapSnapshot snap;
    snap.pid = kPid;
    snap.kind = SnapshotKind::Attach;
    snap.pages.push_back({kBase, {(uint64_t{1} << 63) | 100}});
    snap.pages.push_back({kBase + kPage, {uint64_t{1} << 62}});  // swapped: no frame
    tracker.on_snapshot(snap);
    EXPECT_TRUE(indexed(100, kBase));
    EXPECT_EQ(tracker.stats().pages_indexed, 1u);
    snap.kind = SnapshotKind::Targeted;
    snap.pages[0].entry.raw = (uint64_t{1} << 63) | 777;
    tracker.on_snapshot(snap);
    EXPECT_FALSE(index.frames.count(777));
}

TEST_F(FrameTrackerTest, AFullIndexIsCountedOnce) {
    index.limit = 2;
    for (uint64_t i = 0; i < 5; ++i) fault(kBase + i * kPage, 100 + i);
    settle();
    EXPECT_EQ(index.frames.size(), 2u);
    EXPECT_EQ(tracker.stats().index_full, 3u);
}

TEST(FrameTrackerWithoutKernelIndex, StillHandsOnTargetedSnapshots) {
    FakePagemaps pagemaps;
    std::vector<PagemapSnapshot> targeted;
    FrameTracker tracker(nullptr, pagemaps, kernel::PageGeometry::of_size(16384), fake_now,
                         [&](PagemapSnapshot&& s) { targeted.push_back(std::move(s)); });
    pagemaps.present[kPid][kBase / 16384] = 100;
    FaultData d;
    d.addr = kBase + 100;  // inside the 16 KiB page
    tracker.on_event(event_of(d), {});
    g_now += FrameTracker::kSettleNs + FrameTracker::kResolveIntervalNs;
    tracker.resolve_pending(g_now);
    ASSERT_EQ(targeted.size(), 1u);
    ASSERT_EQ(targeted[0].pages.size(), 1u);
    EXPECT_EQ(targeted[0].pages[0].vaddr, kBase);
}

TEST_F(FrameTrackerTest, AFaultInAHugePageReadsAndIndexesTheWholeHugePage) {
    const uint64_t block = kBase + 0x200000;  // 2 MiB aligned
    const uint64_t head = 0x40000;            // 512-aligned frame
    for (uint64_t i = 0; i < 512; ++i) {
        pagemaps.present[kPid][vpn(block) + i] = head + i;
        pagemaps.frame_flags[head + i] = kernel::kKpfThp | (i ? kernel::kKpfCompoundTail
                                                              : kernel::kKpfCompoundHead);
    }
    fault(block + 100 * kPage + 8, head + 100);
    settle();
    ASSERT_EQ(targeted.size(), 1u);
    const PagemapSnapshot& snap = targeted[0];
    EXPECT_EQ(snap.pages.size(), 512u);
    ASSERT_EQ(snap.huge_pages.size(), 1u);
    EXPECT_EQ(snap.huge_pages[0].vaddr, block);
    EXPECT_EQ(snap.huge_pages[0].pfn, head);
    EXPECT_EQ(snap.huge_pages[0].order, 9u);
    EXPECT_FALSE(snap.huge_pages[0].zero);
    EXPECT_EQ(snap.zero_pfn, 7u);
    // Every subpage is in the index: a migration of the huge page (its head
    // frame) is attributed.
    EXPECT_TRUE(indexed(head, block));
    EXPECT_TRUE(indexed(head + 511, block + 511 * kPage));
    EXPECT_EQ(tracker.stats().pages_indexed, 512u);
}

TEST_F(FrameTrackerTest, SmallPagesOfABlockAreNotAHugePage) {
    const uint64_t block = kBase + 0x200000;
    for (uint64_t i = 0; i < 512; ++i) pagemaps.present[kPid][vpn(block) + i] = 0x40000 + i;
    fault(block, 0x40000);  // contiguous frames, but kpageflags says no THP
    settle();
    ASSERT_EQ(targeted.size(), 1u);
    EXPECT_EQ(targeted[0].pages.size(), 1u);
    EXPECT_TRUE(targeted[0].huge_pages.empty());
}

TEST_F(FrameTrackerTest, FaultAroundAndPopulateRangesAreLookedUp) {
    for (uint64_t i = 0; i < 16; ++i) pagemaps.present[kPid][vpn(kBase) + i] = 100 + i;
    send(event_of(FaultAroundData{kBase, 16 * kPage, kBase + 3 * kPage, 1, 2}));
    MmapData populate;
    populate.addr = kBase + 0x100000;
    populate.len = 4 * kPage;
    populate.flags = kernel::kMapPrivate | kernel::kMapAnonymous | kernel::kMapPopulate;
    for (uint64_t i = 0; i < 4; ++i) pagemaps.present[kPid][vpn(populate.addr) + i] = 200 + i;
    send(event_of(populate));
    send(event_of(MadviseData{kBase + 0x200000, 2 * kPage, kernel::kMadvPopulateWrite, 0}));
    settle();
    ASSERT_EQ(targeted.size(), 1u);
    EXPECT_EQ(targeted[0].pages.size(), 20u);  // the madvised pages are not present here
    EXPECT_TRUE(indexed(100, kBase));
    EXPECT_TRUE(indexed(203, populate.addr + 3 * kPage));
}

// When the kernel side finds private pages through their folio's reverse map,
// only pages that several processes may map go into its index: file pages
// and anonymous ones not mapped exclusively (shared since a fork, KSM).
TEST_F(FrameTrackerTest, PrivatePagesAreLeftToTheReverseMap) {
    index.private_by_rmap = true;
    constexpr uint64_t kExclusive = uint64_t{1} << 56;
    constexpr uint64_t kFileOrShared = uint64_t{1} << 61;
    pagemaps.bits[vpn(kBase)] = kExclusive;                         // private anonymous
    pagemaps.bits[vpn(kBase + kPage)] = kExclusive | kFileOrShared;  // a file page
    // kBase + 2 pages: anonymous, not exclusive (a forked child maps it too)
    fault(kBase, 100);
    fault(kBase + kPage, 101);
    fault(kBase + 2 * kPage, 102);
    settle();
    EXPECT_EQ(index.frames.count(100), 0u);
    EXPECT_TRUE(indexed(101, kBase + kPage));
    EXPECT_TRUE(indexed(102, kBase + 2 * kPage));
    EXPECT_EQ(tracker.stats().left_to_rmap, 1u);
    // The agent still knows every frame: the targeted snapshot has all three,
    // and an unmap drops them all (the index ignores frames it never held).
    ASSERT_EQ(targeted.size(), 1u);
    EXPECT_EQ(targeted[0].pages.size(), 3u);
    MunmapData m;
    m.addr = kBase;
    m.len = 3 * kPage;
    send(event_of(m));
    g_now += FrameTracker::kRetireNs + 1;
    fault(kBase + 8 * kPage, 300);
    settle();
    EXPECT_EQ(index.frames.count(101), 0u);
    EXPECT_EQ(index.frames.count(102), 0u);
}
