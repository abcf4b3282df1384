// The event stream as a Perfetto trace: a sink of the pipeline that turns
// pagetrace's events into tracks and track events of a PerfettoTrace.
//
//   per process     a process track (pid, name), and under it
//                   - counters: resident bytes, mapped bytes (the timeline's
//                     own counts), and per interval: minor and major faults,
//                     first touches, pages discarded, pages migrated
//                   - "mappings": one slice per mmap'd region from its mmap to
//                     the munmap (or exec/exit) that removed the last of it,
//                     named by prot and flags; overlapping mappings go to
//                     separate lanes
//                   - instants on the process track: migrate, migrate_batch,
//                     tlb_flush (those with a range), madvise, exec, fork (a
//                     flow to the child's "forked" instant), exit
//   per thread      a thread track for each thread that faulted, with a slice
//                   for each stall: every major fault, and minor faults whose
//                   latency reached the threshold
//   globally        "lost events" instants (how many, on which CPU)
//
// The sink feeds the timeline itself (add it instead of a TimelineSink), so it
// reads the timeline's counters right after each event. Memory is bounded by
// what is alive (processes, threads, mappings) and the trace's reorder window,
// not by the length of the stream.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "export/perfetto_trace.h"
#include "pipeline/event_sink.h"
#include "timeline/timeline_builder.h"

namespace pagetrace {

struct PerfettoExportOptions {
    uint64_t interval_ns = 1'000'000;        // the per-interval counters' interval
    uint64_t long_fault_ns = 100'000;        // minor faults at least this long are slices
    uint64_t start_ns = 0;                   // the recording's start: intervals count from it
};

struct PerfettoExportStats {
    uint64_t processes = 0;
    uint64_t threads = 0;
    uint64_t mapping_slices = 0;
    uint64_t fault_slices = 0;
    uint64_t instants = 0;
    uint64_t counter_points = 0;
};

class PerfettoExportSink : public EventSink {
public:
    PerfettoExportSink(perfetto::PerfettoTrace& trace, TimelineBuilder& timeline,
                       kernel::PageGeometry geometry, PerfettoExportOptions options);
    ~PerfettoExportSink() override;

    SinkInterest interest() const override { return {.snapshots = true}; }
    void on_event(const Event& event, std::span<const std::byte> raw) override;
    void on_snapshot(const PagemapSnapshot& snapshot) override;
    // Closes what is open (intervals, slices) at the last time seen.
    void on_end() override;

    const PerfettoExportStats& stats() const { return stats_; }

private:
    struct Process;
    struct Thread;

    Process& process_of(const Event& event);
    Process* owner_of(uint32_t pid);
    Process& start_process(uint32_t pid, std::string_view comm, uint64_t ts);
    Thread& thread_of(Process& proc, const Event& event);

    void on_fault(Process& proc, const Event& event, const FaultData& d);
    void on_mmap(Process& proc, uint64_t ts, uint64_t start, uint64_t end, std::string_view name,
                 std::vector<perfetto::Annotation> annotations);
    void on_unmap(Process& proc, uint64_t ts, uint64_t start, uint64_t end);
    void end_all_mappings(Process& proc, uint64_t ts);
    void end_process(Process& proc, uint64_t ts);
    void instant(Process& proc, uint64_t ts, std::string_view name,
                 std::vector<perfetto::Annotation> annotations, uint64_t flow_out = 0,
                 uint64_t flow_in = 0);

    // Counters: the interval of proc moves on to the one holding ts.
    void advance_interval(Process& proc, uint64_t ts);
    // Closes the intervals that ended before the one holding ts (of processes
    // that had no event since) and writes the zeros that follow them.
    void sweep_intervals(uint64_t ts);
    // Writes the pending zeros of per-interval counters due before ts; true if
    // some are due later.
    bool write_zeros_before(Process& proc, uint64_t ts);
    uint64_t interval_of(uint64_t ts) const;
    void observe_counters(Process& proc, uint64_t ts);
    void close_interval(Process& proc);
    void counter_point(Process& proc, size_t counter, uint64_t ts, uint64_t value);

    uint64_t new_uuid() { return next_uuid_++; }

    perfetto::PerfettoTrace& trace_;
    TimelineBuilder& timeline_;
    kernel::PageGeometry geometry_;
    PerfettoExportOptions options_;
    std::vector<std::unique_ptr<Process>> processes_;
    std::unordered_map<uint32_t, Process*> by_pid_;  // the newest instance of each pid
    Process* last_ = nullptr;                        // events come in runs of one process
    std::vector<Process*> open_;  // with an open interval or zeros to write
    uint64_t swept_interval_ = 0;
    uint64_t lost_track_ = 0;
    uint64_t next_uuid_ = 1;
    uint64_t next_flow_ = 1;
    uint64_t last_ts_ = 0;
    PerfettoExportStats stats_;
};

}  // namespace pagetrace
