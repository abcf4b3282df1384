// The frame index that attributes migrations, swap-outs and evictions: which
// physical frame backs each page a traced process has touched. A sink of the
// live stream: faults (and collapses) say which pages to look up; munmap,
// madvise, mremap, MAP_FIXED mmap, swap-out, eviction, KSM merges, exec and
// exit say which entries to drop or move; full snapshots seed it. Faulted
// pages are read from pagemap in batches shortly after their faults (pages
// unmapped meanwhile cost nothing), and each batch can be handed on as a
// targeted snapshot. The index is mirrored into the kernel (FrameIndex), where
// the migration hooks look up the old frame of a moving page to find its
// owner.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <unordered_map>
#include <vector>

#include "kernel/mm.h"
#include "pipeline/event_sink.h"
#include "proc/snapshot.h"
#include "trace/frame_index.h"
#include "trace/page_frame_map.h"
#include "trace/retiring_frames.h"

namespace pagetrace {

struct FrameTrackerStats {
    uint64_t pages_indexed = 0;    // index entries now
    uint64_t lookups = 0;          // pages looked up in pagemap
    uint64_t not_present = 0;      // looked up but gone already
    uint64_t index_full = 0;       // could not be stored: the kernel index was full
    uint64_t left_to_rmap = 0;     // private pages not stored: BPF finds them by reverse map
};

class FrameTracker : public EventSink {
public:
    using TargetedHandler = std::function<void(PagemapSnapshot&&)>;

    // index: the kernel-side index to keep (nullptr: none, the lookups only
    // feed on_targeted). now_ns: the clock of arrivals and resolve_pending()
    // (CLOCK_MONOTONIC). on_targeted: receives each targeted snapshot (the
    // frames of just-faulted pages); may be empty.
    FrameTracker(FrameIndex* index, PagemapPages& pagemaps, kernel::PageGeometry pages,
                 uint64_t (*now_ns)(), TargetedHandler on_targeted);
    ~FrameTracker() override;

    void on_event(const Event& event, std::span<const std::byte> raw) override;
    // Full snapshots (attach, exec, ...) index every present page they saw.
    void on_snapshot(const PagemapSnapshot& snapshot) override;

    // Reads pagemap for pages faulted at least kSettleNs ago and indexes them,
    // at most every kResolveIntervalNs. With everything, every waiting page is
    // read now (at the end).
    void resolve_pending(uint64_t now_ns, bool everything = false);
    bool has_pending() const { return !pending_.empty(); }

    static constexpr uint64_t kSettleNs = 250'000'000;
    static constexpr uint64_t kResolveIntervalNs = 100'000'000;
    // Frames no page of ours holds any more stay in the kernel's index this
    // long, unless a migration or lookup reclaims them, and then go in one batch.
    static constexpr uint64_t kRetireNs = 1'000'000'000;
    // One populate call looks up at most this many pages (4 GiB of 4 KiB pages).
    static constexpr uint64_t kMaxLookupPages = uint64_t{1} << 20;

    FrameTrackerStats stats() const;

    // The clock that dates faults as they arrive (default: now_ns). Batches
    // and the settling time are milliseconds, so a coarse clock does; it is
    // read once per fault.
    void set_arrival_clock(uint64_t (*arrival_ns)()) { arrival_ns_ = arrival_ns; }

private:
    // Queues pages for a pagemap lookup once they settle.
    void look_up(pid_t pid, uint64_t first_page, uint64_t count);
    // Completes a targeted snapshot's pages with the whole of every huge
    // page one of them is part of, and finds the huge pages.
    void add_huge_pages(pid_t pid, PagemapSnapshot& snap);
    void index_pages(pid_t pid, uint64_t first_page, std::span<const PagemapEntry> entries);
    void index_one(pid_t pid, uint64_t page, const PagemapEntry& entry);
    void forget_range(pid_t pid, uint64_t start, uint64_t len);
    // Drops the entry of the page at addr if it is still pfn.
    void forget_frame(pid_t pid, uint64_t addr, uint64_t pfn);
    void forget_process(pid_t pid);
    void move_range(pid_t pid, uint64_t old_addr, uint64_t old_len, uint64_t new_addr,
                    uint64_t new_len);
    void drop_frame(uint64_t pfn);
    void flush_index_updates();

    FrameIndex* index_;
    PagemapPages& pagemaps_;
    kernel::PageGeometry pages_;
    uint64_t (*now_ns_)();
    uint64_t (*arrival_ns_)();
    TargetedHandler on_targeted_;
    uint64_t last_resolve_ns_ = 0;
    std::unordered_map<pid_t, PageFrameMap> frames_;  // per process: virtual page -> pfn
    // Faulted pages waiting for their frame lookup, in batches by arrival time.
    struct PendingBatch {
        uint64_t arrived_ns = 0;
        std::map<pid_t, std::vector<uint64_t>> pages;  // pid -> virtual pages
    };
    std::deque<PendingBatch> pending_;
    std::vector<uint64_t> add_pfns_;
    std::vector<pt_frame_owner> add_owners_;
    RetiringFrames retiring_{kRetireNs};
    FrameTrackerStats stats_;
};

}  // namespace pagetrace
