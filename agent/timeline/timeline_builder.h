// The timeline: what happened to the pages of each traced process, built in one
// streaming pass over the decoded events and pagemap snapshots, live or from a
// recording (the builder never knows which).
//
//   TimelineBuilder timeline(HistoryFilter::range(pid, start, end), geometry);
//   for each event / snapshot in stream order:
//       timeline.add(event);  or  timeline.add_snapshot(snapshot);
//   timeline.summaries();       // one ProcessSummary per process instance
//   timeline.page_histories();  // the histories of the pages the filter selected
//
// The builder is a facade over one part per concern: ProcessRegistry (which
// instance an event belongs to), an AddressSpace per process (mappings, brk,
// page records), PageHistories (the filtered pages' entries) and the
// ProcessSummary of each instance, which the handlers update directly. add()
// hands each event type to one handler (on()), which says what the event
// means for each part.
//
// Every page the timeline knows has a 16-byte record while it is mapped
// (PageTable: 17.5 bytes of heap per page when pages are dense); full
// event histories are kept only for the pages the HistoryFilter selects. Lost
// events are kept once, in a global list of gaps, and show in every history and
// summary whose lifetime they fall in.
//
// The output format of summaries and histories is documented in
// agent/timeline/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "decode/event.h"
#include "kernel/mm.h"
#include "proc/snapshot.h"
#include "timeline/mapping_set.h"
#include "timeline/fault_sites.h"
#include "timeline/page_event.h"
#include "timeline/page_histories.h"
#include "timeline/page_table.h"
#include "timeline/process_registry.h"
#include "timeline/process_summary.h"

namespace pagetrace {

// What the compact record of a page says now.
class Symbolizer;

struct PageState {
    uint64_t addr = 0;
    std::optional<uint64_t> pfn;
    std::optional<uint64_t> first_touch_ns;
    bool resident = false;
    bool discarded = false;
};

// What the running instance of a process has now, while the stream is read:
// the counters its summary keeps up to date as events arrive (nothing that
// summaries() derives at the end). For sinks that chart the timeline over
// time (the Perfetto export, the HTML report).
struct ProcessNow {
    uint64_t resident_pages = 0;
    uint64_t resident_pages_peak = 0;
    uint64_t mapped_bytes = 0;
    uint64_t pages_touched = 0;
    uint64_t discarded_pages = 0;
    uint64_t migrated_pages = 0;
    uint64_t tlb_flushes = 0;
    uint64_t swapped_out_pages = 0;
    uint64_t swapped_in_pages = 0;
    uint64_t evicted_pages = 0;
    FaultCounts faults;
};

// One mapping piece of a running process and how many of its pages are
// believed resident now.
struct MappingNow {
    MappingPiece piece;
    uint64_t resident_pages = 0;
};

struct TimelineStats {
    uint64_t events = 0;
    uint64_t snapshots = 0;
    uint64_t processes = 0;       // instances
    uint64_t orphan_events = 0;   // migrations/flushes for a process that had exited
    // swap_out/evict/ksm_merge events for a page that had left the frame
    // they name (the agent's frame index trailed), or that the timeline
    // does not have mapped: ignored.
    uint64_t stale_frame_events = 0;
    uint64_t tracked_pages = 0;   // page records held now
    uint64_t page_bytes = 0;      // their memory, as the page tables estimate it
    uint64_t tracked_pages_peak = 0;
    uint64_t page_bytes_at_peak = 0;
    double bytes_per_page = 0;    // at the peak of tracked pages (the estimate)
    uint64_t history_pages = 0;
    uint64_t history_events = 0;
    uint64_t history_bytes = 0;
    uint64_t histories_dropped = 0;  // pages the filter selected beyond max_pages
    uint64_t gaps = 0;
    uint64_t lost_events = 0;
};

class TimelineBuilder {
public:
    // Pages are of `geometry`: on replay the recording header's page size,
    // live the system's.
    explicit TimelineBuilder(HistoryFilter filter = HistoryFilter::none(),
                             kernel::PageGeometry geometry = {});
    ~TimelineBuilder();
    TimelineBuilder(const TimelineBuilder&) = delete;
    TimelineBuilder& operator=(const TimelineBuilder&) = delete;

    // Also count faults per faulting instruction (the summaries' fault_sites:
    // the `top` sites of each process), located through `symbols` (nullptr:
    // by ip only) when an instruction is first seen; touches in histories get
    // the location too. `symbols` must outlive the builder's results.
    void track_fault_sites(Symbolizer* symbols, size_t top = FaultSites::kDefaultTop);

    // Feed the stream in order.
    void add(const Event& event);
    void add_snapshot(const PagemapSnapshot& snapshot);

    // One summary per process instance, in order of first appearance.
    std::vector<ProcessSummary> summaries() const;
    // The kept histories, by process instance then address, gaps merged in.
    std::vector<PageHistory> page_histories() const;
    // The compact state of a page of pid's current (or last) instance.
    std::optional<PageState> page_state(uint32_t pid, uint64_t addr) const;
    const std::vector<TimelineGap>& gaps() const { return gaps_; }
    // The counters of pid's running instance now; nullopt if none is running.
    std::optional<ProcessNow> process_now(uint32_t pid) const;
    // The mappings of pid's running instance now, in address order, each with
    // its resident pages (a walk over its page records: for sampling, not for
    // every event).
    std::vector<MappingNow> mappings_now(uint32_t pid) const;
    TimelineStats stats() const;
    const HistoryFilter& filter() const { return histories_.filter(); }

private:
    // One handler per event type (timeline_builder.cpp: page events;
    // timeline_mappings.cpp: mappings; timeline_processes.cpp: processes).
    void on(const Event& event, const FaultData& d);
    void on(const Event& event, const MadviseData& d);
    void on(const Event& event, const TlbFlushData& d);
    void on(const Event& event, const MigrateData& d);
    void on(const Event& event, const MigrateBatchData& d);
    void on(const Event& event, const MprotectData& d);
    void on(const Event& event, const LostData& d);
    void on(const Event& event, const MmapData& d);
    void on(const Event& event, const MunmapData& d);
    void on(const Event& event, const MremapData& d);
    void on(const Event& event, const BrkData& d);
    void on(const Event& event, const ForkData& d);
    void on(const Event& event, const ExecData& d);
    void on(const Event& event, const ExitData& d);
    void on(const Event& event, const FaultAroundData& d);
    // What the kernel takes or changes (timeline_reclaim.cpp).
    void on(const Event& event, const SwapOutData& d);
    void on(const Event& event, const EvictData& d);
    void on(const Event& event, const KsmMergeData& d);
    void on(const Event& event, const CollapseData& d);
    void on(const Event& event, const ReclaimStallData& d);
    PageRecord* page_of_frame(TracedProcess& proc, uint64_t addr, uint64_t pfn);
    template <typename MakeEntry>
    void take_pages(const Event& event, uint64_t addr, uint64_t pfn, uint32_t order, uint64_t flag,
                    uint64_t ProcessSummary::*counter, MakeEntry&& entry);
    void explain_gone(TracedProcess& proc, uint64_t vpn);
    void begin_collapse(TracedProcess& proc, uint64_t addr, uint64_t count, uint64_t ts,
                        uint32_t by_pid, const std::string& by_comm);
    bool finish_collapse(TracedProcess& proc, const HugePage& huge);
    void note_splits(TracedProcess& proc, uint64_t start, uint64_t end, uint64_t ts,
                     SplitCause cause);

    // Snapshots (timeline_snapshots.cpp).
    void reconcile_mappings(TracedProcess& proc, const PagemapSnapshot& snap);
    void observe_present(TracedProcess& proc, const PagemapSnapshot& snap, uint64_t vpn,
                         uint64_t pfn, bool pfn_known);
    void observe_gone(TracedProcess& proc, uint64_t ts, uint64_t vpn, PageRecord& rec,
                      bool swapped, SnapshotKind source);
    void observe_huge_page(TracedProcess& proc, const PagemapSnapshot& snap, const HugePage& huge);
    const TracedProcess::FaultAround* folio_fault_around(const TracedProcess& proc, uint64_t vpn,
                                                         uint64_t before_ns) const;

    // Changes of the address space, with their page histories
    // (timeline_mappings.cpp, timeline_processes.cpp).
    void map_range(TracedProcess& proc, const MappingPiece& piece, uint64_t ts);
    void record_mapped(TracedProcess& proc, const MappingPiece& piece, uint64_t ts);
    void unmap_range(TracedProcess& proc, uint64_t start, uint64_t end, uint64_t ts,
                     UnmapCause cause);
    void end_process(TracedProcess& proc, uint64_t ts, bool pid_reused);
    void inherit_pages(TracedProcess& parent, TracedProcess& child, const MappingPiece& piece,
                       uint64_t ts);
    // Pages of [start, end) the kernel put in (or may have) without a fault of
    // their own: by fault-around (around) or MAP_POPULATE / MADV_POPULATE_*.
    // A snapshot that sees them present confirms it.
    void expect_arrivals(TracedProcess& proc, uint64_t start, uint64_t end, uint64_t ts,
                         bool around, uint64_t fault_addr = 0);
    void note_peaks();

    FaultSite* note_fault_site(TracedProcess& proc, const Event& event, const FaultData& d);

    kernel::PageGeometry geometry_;
    PageTableUsage usage_;
    bool track_sites_ = false;
    Symbolizer* symbols_ = nullptr;
    size_t sites_top_ = FaultSites::kDefaultTop;
    ProcessRegistry processes_;
    PageHistories histories_;
    std::vector<TimelineGap> gaps_;
    uint64_t peak_pages_ = 0;
    uint64_t peak_bytes_ = 0;
    uint64_t events_ = 0;
    uint64_t snapshots_ = 0;
    uint64_t stale_frame_events_ = 0;
    std::pair<uint64_t, uint64_t> exec_stack_{0, 0};  // of the exec snapshot being read
};

}  // namespace pagetrace
