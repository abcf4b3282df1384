// The frame index that attributes migrations: which physical frame backs each
// page a traced process has touched. Fed by the event stream (faults say which
// pages to look up; munmap, madvise, mremap, exec and exit say which entries
// to drop or move) and by pagemap reads, batched shortly after the faults. It
// mirrors itself into the BPF map pt_frames, where the migration hooks look up
// the old frame of a moving page to find its owner.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "pagetrace/events.h"
#include "proc/pagemap.h"
#include "proc/snapshot.h"
#include "trace/page_frame_map.h"
#include "trace/retiring_frames.h"

namespace pagetrace {

class Tracer;

struct FrameTrackerStats {
    uint64_t pages_indexed = 0;    // index entries now
    uint64_t lookups = 0;          // pages looked up in pagemap
    uint64_t not_present = 0;      // looked up but gone already
    uint64_t index_full = 0;       // could not be stored: the BPF map was full
};

class FrameTracker {
public:
    using SnapshotHandler = std::function<void(const PagemapSnapshot&)>;

    // now_ns: the clock of resolve_pending() (CLOCK_MONOTONIC). index_in_bpf:
    // keep the kernel's pt_frames map (migration attribution); on_targeted:
    // receives each targeted snapshot (the frames of just-faulted pages).
    FrameTracker(Tracer& tracer, uint64_t (*now_ns)(), bool index_in_bpf,
                 SnapshotHandler on_targeted);
    ~FrameTracker();

    // Looks at one raw record of the stream.
    void observe(std::span<const std::byte> record);
    // Indexes every present page of a full snapshot (taken at attach or exec).
    void seed(const PagemapSnapshot& snapshot);
    // Reads pagemap for pages faulted at least settle_ns ago and indexes them.
    // Pages unmapped meanwhile are never read: short-lived memory costs nothing.
    // With everything, pages that have not settled yet are read too (at the end).
    void resolve_pending(uint64_t now_ns, bool everything = false);
    // Whether some faulted pages are waiting to be resolved.
    bool has_pending() const { return !pending_.empty(); }

    static constexpr uint64_t kSettleNs = 250'000'000;
    static constexpr uint64_t kResolveIntervalNs = 100'000'000;

    FrameTrackerStats stats() const;

private:
    using PageIndex = PageFrameMap;  // virtual page -> pfn

    void index_entries(pid_t pid, uint64_t first_page, std::span<const PagemapEntry> entries,
                       bool only_present_changes);
    void forget_range(pid_t pid, uint64_t start, uint64_t len);
    void drop_frame(uint64_t pfn);
    void claim_frame(uint64_t pfn) { retiring_.claim(pfn); }
    void forget_process(pid_t pid);
    void move_range(pid_t pid, uint64_t old_addr, uint64_t old_len, uint64_t new_addr,
                    uint64_t new_len);
    PagemapReader* reader_for(pid_t pid);
    void flush_bpf_updates();

    Tracer& tracer_;
    uint64_t (*now_ns_)();
    bool index_in_bpf_;
    uint64_t last_resolve_ns_ = 0;
    SnapshotHandler on_targeted_;
    std::unordered_map<pid_t, PageIndex> index_;
    std::unordered_map<pid_t, std::unique_ptr<PagemapReader>> readers_;
    // Faulted pages waiting for their frame lookup, in batches by arrival time.
    struct PendingBatch {
        uint64_t arrived_ns = 0;
        std::map<pid_t, std::vector<uint64_t>> pages;  // pid -> virtual pages
    };
    std::deque<PendingBatch> pending_;
    std::vector<uint64_t> add_pfns_;
    std::vector<pt_frame_owner> add_owners_;
    // Frames no page of ours holds any more, deleted from the kernel's index
    // kRetireNs after they were dropped unless reclaimed meanwhile.
    static constexpr uint64_t kRetireNs = 1'000'000'000;
    RetiringFrames retiring_{kRetireNs};
    FrameTrackerStats stats_;
};

}  // namespace pagetrace
