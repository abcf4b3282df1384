// The timeline: what happened to the pages of each traced process, built in one
// streaming pass over the decoded events and pagemap snapshots, live or from a
// recording (the builder never knows which).
//
//   TimelineBuilder timeline(HistoryFilter::range(pid, start, end));
//   for each event / snapshot in stream order:
//       timeline.add(event);  or  timeline.add_snapshot(snapshot);
//   timeline.summaries();       // one ProcessSummary per process instance
//   timeline.page_histories();  // the histories of the pages the filter selected
//
// A process is (pid, start time): an exit ends it, and a later event with the
// same pid, or a fork of a child with that pid and another start time, begins a
// new instance; two instances are never merged.
//
// Every page the timeline knows costs a 16-byte record while it is mapped
// (PageTable); full event histories are kept only for the pages the
// HistoryFilter selects. Lost events are kept once, in a global list of gaps,
// and show in every history and summary whose lifetime they fall in.
//
// The output format of summaries and histories is documented in
// agent/timeline/README.md.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "decode/event.h"
#include "proc/snapshot.h"
#include "timeline/mapping_set.h"
#include "timeline/page_event.h"
#include "timeline/page_table.h"

namespace pagetrace {

// Which pages get a full history. Summaries are always made for every process.
struct HistoryFilter {
    std::optional<uint32_t> pid;  // every instance of this pid; nullopt: every process
    uint64_t start = 0;           // [start, end), addresses; start == end: no histories
    uint64_t end = 0;
    // Histories beyond this many pages are not kept (TimelineStats::histories_dropped).
    uint64_t max_pages = uint64_t{1} << 20;

    static HistoryFilter none() { return {}; }
    // The pages overlapping [start, end) (rounded out to whole pages).
    static HistoryFilter range(std::optional<uint32_t> pid, uint64_t start, uint64_t end);
    // The page holding addr.
    static HistoryFilter page(std::optional<uint32_t> pid, uint64_t addr);

    bool enabled() const { return start < end; }
};

struct MappedPoint {
    uint64_t ts_ns = 0;
    uint64_t bytes = 0;  // mapped bytes from ts_ns on
};

struct LatencySummary {
    uint64_t count = 0;
    uint64_t p50 = 0;
    uint64_t p90 = 0;
    uint64_t p99 = 0;
    uint64_t max = 0;
};

struct FaultCounts {
    uint64_t total = 0;
    uint64_t minor = 0;
    uint64_t major = 0;
    uint64_t unaccounted = 0;
    uint64_t unknown = 0;
};

// One process instance, over the whole stream (or up to now, live).
struct ProcessSummary {
    uint32_t pid = 0;
    std::optional<uint64_t> start_ns;  // known from its fork or exit event
    std::optional<uint32_t> parent_pid;
    std::string comm;
    std::string exec_filename;  // the last execve seen ("" if none)
    uint64_t first_ts_ns = 0;   // first event or snapshot
    uint64_t last_ts_ns = 0;
    std::optional<uint64_t> exit_ts_ns;
    std::optional<uint32_t> exit_status;  // wait(2)-style
    // It ended without an exit event: a new process with its pid appeared.
    bool pid_reused = false;

    // Mapped bytes each time the total changed, downsampled to at most
    // kMaxMappedPoints points (the first and the latest change always kept).
    std::vector<MappedPoint> mapped_bytes;
    uint64_t mapped_bytes_peak = 0;
    uint64_t mapped_bytes_final = 0;

    uint64_t pages_touched = 0;  // first touches (a page touched in two mappings counts twice)
    uint64_t resident_pages_peak = 0;
    uint64_t resident_pages_final = 0;
    FaultCounts faults;
    LatencySummary first_touch_after_mmap_ns;  // mmap (or mremap/brk growth) to first fault
    // Pages of mappings created by mmap/mremap/brk while traced that were
    // never touched before they were unmapped (or by now), in bytes.
    uint64_t untouched_bytes = 0;
    uint64_t discarded_pages = 0;

    uint64_t migrations = 0;      // migrate events
    uint64_t migrated_pages = 0;  // pages they moved (a 2 MiB THP is 512)
    std::map<uint32_t, uint64_t> migrations_by_reason;  // PT_MR_* -> events
    uint64_t migrate_batches = 0;
    uint64_t migrate_batch_failed = 0;  // pages the batches failed to move
    uint64_t tlb_flushes = 0;
    std::map<uint32_t, uint64_t> tlb_flushes_by_reason;  // PT_TLB_* -> events

    uint64_t gaps = 0;         // lost-event reports during its lifetime
    uint64_t lost_events = 0;  // events those reports counted (all processes')

    // Conflicts between snapshots and events, resolved and counted here.
    uint64_t present_before_tracing = 0;  // pages the attach snapshot found
    uint64_t present_without_fault = 0;   // pages a later snapshot found with no fault seen
    uint64_t unexplained_frame_changes = 0;  // frame changed with no migration seen
    uint64_t not_present = 0;             // believed resident, a full snapshot disagreed
    uint64_t mapping_conflicts = 0;       // ranges the maps and the events disagree on

    static constexpr size_t kMaxMappedPoints = 200;
};

// The history of one page of one process instance.
struct PageHistory {
    uint32_t pid = 0;
    std::optional<uint64_t> start_ns;
    std::string comm;
    uint64_t addr = 0;             // page address (the latest, after mremap moves)
    std::optional<uint64_t> pfn;   // last known frame
    std::vector<PageEvent> events;  // in time order, gaps merged in
};

// What the compact record of a page says now.
struct PageState {
    uint64_t addr = 0;
    std::optional<uint64_t> pfn;
    std::optional<uint64_t> first_touch_ns;
    bool resident = false;
    bool discarded = false;
};

struct TimelineStats {
    uint64_t events = 0;
    uint64_t snapshots = 0;
    uint64_t processes = 0;       // instances
    uint64_t orphan_events = 0;   // migrations/flushes for a process that had exited
    uint64_t tracked_pages = 0;   // page records held now
    uint64_t page_bytes = 0;      // their memory
    uint64_t tracked_pages_peak = 0;
    uint64_t page_bytes_at_peak = 0;
    double bytes_per_page = 0;    // at the peak of tracked pages
    uint64_t history_pages = 0;
    uint64_t history_events = 0;
    uint64_t history_bytes = 0;
    uint64_t histories_dropped = 0;  // pages the filter selected beyond max_pages
    uint64_t gaps = 0;
    uint64_t lost_events = 0;
};

struct TimelineGap {
    uint64_t ts_ns = 0;
    uint64_t lost = 0;
    uint32_t cpu = 0;
};

class TimelineBuilder {
public:
    explicit TimelineBuilder(HistoryFilter filter = HistoryFilter::none());
    ~TimelineBuilder();
    TimelineBuilder(const TimelineBuilder&) = delete;
    TimelineBuilder& operator=(const TimelineBuilder&) = delete;

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
    TimelineStats stats() const;
    const HistoryFilter& filter() const { return filter_; }

private:
    struct Process;
    struct History {
        std::vector<PageEvent> events;
        std::optional<uint64_t> last_pfn;
        bool alive = false;  // mapped (or present) now, as far as we know
    };
    struct HistoryKey {
        size_t process = 0;  // index into processes_
        uint64_t vpn = 0;
        auto operator<=>(const HistoryKey&) const = default;
    };
    using Histories = std::map<HistoryKey, History>;

    // Processes.
    Process& process_for(const Event& event);
    Process* attributed_process(const Event& event);
    Process& new_process(uint32_t pid, uint64_t ts_ns, std::optional<uint64_t> start_ns);
    void end_process(Process& proc, uint64_t ts_ns, bool pid_reused);
    void touch_process(Process& proc, const Event& event);

    // Events.
    void on_fault(Process& proc, const Event& event, const FaultData& d);
    void on_mmap(Process& proc, uint64_t ts, const MmapData& d);
    void on_munmap(Process& proc, uint64_t ts, const MunmapData& d);
    void on_mremap(Process& proc, uint64_t ts, const MremapData& d);
    void on_brk(Process& proc, uint64_t ts, const BrkData& d);
    void on_madvise(Process& proc, uint64_t ts, const MadviseData& d);
    void on_tlb_flush(Process& proc, uint64_t ts, const TlbFlushData& d);
    void on_migrate(Process& proc, uint64_t ts, const MigrateData& d);
    void on_fork(Process& parent, const Event& event, const ForkData& d);
    void on_exec(Process& proc, uint64_t ts, const ExecData& d);
    void on_exit(const Event& event, const ExitData& d);

    // Snapshots.
    void reconcile_mappings(Process& proc, const PagemapSnapshot& snap);
    void observe_present(Process& proc, const PagemapSnapshot& snap, uint64_t vpn, uint64_t pfn,
                         bool pfn_known);
    void observe_gone(Process& proc, uint64_t ts, uint64_t vpn, PageRecord& rec, bool swapped,
                      SnapshotKind source);

    // Mappings and pages.
    void map_range(Process& proc, const MappingPiece& piece, uint64_t ts);
    void unmap_range(Process& proc, uint64_t start, uint64_t end, uint64_t ts, UnmapCause cause);
    void note_mapped(Process& proc, uint64_t ts);
    void set_resident(Process& proc, PageRecord& rec);
    void clear_resident(Process& proc, PageRecord& rec);
    uint64_t untouched_pages(const Process& proc, const MappingPiece& piece) const;

    // Histories.
    bool wants_history(const Process& proc, uint64_t vpn) const;
    History* history(const Process& proc, uint64_t vpn, bool create);
    void record(const Process& proc, uint64_t vpn, uint64_t ts, PageEventData data, bool create);
    // Calls f(vpn) for the pages of [start, end) the filter selects, while
    // there is room for new histories; past that, only for those that have one.
    template <typename F>
    void for_filter_pages(const Process& proc, uint64_t start, uint64_t end, F&& f);
    void note_peaks();

    HistoryFilter filter_;
    std::vector<std::unique_ptr<Process>> processes_;
    std::unordered_map<uint32_t, Process*> live_;   // pid -> its running instance
    std::unordered_map<uint32_t, size_t> latest_;   // pid -> its newest instance
    Histories histories_;
    std::vector<std::pair<HistoryKey, History>> retired_;  // overwritten by a moved page
    uint64_t history_count_ = 0;
    uint64_t histories_dropped_ = 0;
    std::vector<TimelineGap> gaps_;
    PageTableUsage usage_;
    uint64_t peak_pages_ = 0;
    uint64_t peak_bytes_ = 0;
    uint64_t events_ = 0;
    uint64_t snapshots_ = 0;
    uint64_t orphan_events_ = 0;
};

}  // namespace pagetrace
