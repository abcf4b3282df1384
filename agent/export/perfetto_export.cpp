#include "export/perfetto_export.h"

#include <algorithm>
#include <fmt/format.h>

#include "export/perfetto_process.h"
#include "kernel/mm.h"
#include "output/names.h"
#include "util/error.h"

namespace pagetrace {

using perfetto::Annotation;
using perfetto::CounterUnit;
using perfetto::TrackEventSpec;
using perfetto::TrackEventType;

using namespace perfetto_detail;

PerfettoExportSink::PerfettoExportSink(perfetto::PerfettoTrace& trace, TimelineBuilder& timeline,
                                       kernel::PageGeometry geometry,
                                       PerfettoExportOptions options)
    : trace_(trace), timeline_(timeline), geometry_(geometry), options_(options) {
    if (options_.interval_ns == 0) options_.interval_ns = 1;
}

PerfettoExportSink::~PerfettoExportSink() = default;

// ---------------------------------------------------------------- processes

PerfettoExportSink::Process& PerfettoExportSink::start_process(uint32_t pid, std::string_view comm,
                                                               uint64_t ts) {
    auto proc = std::make_unique<Process>();
    proc->pid = pid;
    proc->uuid = new_uuid();
    proc->name = comm.empty() ? fmt::format("pid {}", pid) : std::string(comm);
    trace_.process_track(proc->uuid, pid, proc->name);
    Process& p = *proc;
    processes_.push_back(std::move(proc));
    by_pid_[pid] = &p;
    ++stats_.processes;
    (void)ts;
    return p;
}

PerfettoExportSink::Process& PerfettoExportSink::process_of(const Event& event) {
    if (last_ && last_->pid == event.pid && !last_->ended) return *last_;
    auto it = by_pid_.find(event.pid);
    Process* proc = it != by_pid_.end() && !it->second->ended
                        ? it->second
                        : &start_process(event.pid, event.comm, event.ts_ns);
    last_ = proc;
    return *proc;
}

PerfettoExportSink::Process* PerfettoExportSink::owner_of(uint32_t pid) {
    auto it = by_pid_.find(pid);
    return it != by_pid_.end() ? it->second : nullptr;
}

PerfettoExportSink::Thread& PerfettoExportSink::thread_of(Process& proc, const Event& event) {
    if (proc.last_thread && proc.last_tid == event.tid) return *proc.last_thread;
    auto [it, inserted] = proc.threads.try_emplace(event.tid);
    if (inserted) {
        it->second.uuid = new_uuid();
        trace_.thread_track(it->second.uuid, proc.pid, event.tid, event.comm);
        ++stats_.threads;
    }
    proc.last_tid = event.tid;
    proc.last_thread = &it->second;
    return it->second;
}

void PerfettoExportSink::instant(Process& proc, uint64_t ts, std::string_view name,
                                 std::vector<Annotation> annotations, uint64_t flow_out,
                                 uint64_t flow_in) {
    trace_.add(TrackEventSpec{.ts_ns = ts,
                              .type = TrackEventType::Instant,
                              .track_uuid = proc.uuid,
                              .name = name,
                              .flow_out = flow_out,
                              .flow_in = flow_in,
                              .annotations = std::move(annotations)});
    ++stats_.instants;
}

void PerfettoExportSink::end_process(Process& proc, uint64_t ts) {
    close_interval(proc);
    end_all_mappings(proc, ts);
    for (size_t i = 0; i < kCounterCount; ++i) {
        Process::Counter& c = proc.counters[i];
        if (!c.track) continue;
        if (kCounters[i].per_interval) {
            if (c.written != 0) counter_point(proc, i, std::max(ts, c.zero_at), 0);
        } else if (c.last != 0) {
            counter_point(proc, i, std::max(ts, c.last_ts), 0);
        }
    }
    proc.ended = true;
    if (last_ == &proc) last_ = nullptr;
}

// ---------------------------------------------------------------- mappings

void PerfettoExportSink::on_mmap(Process& proc, uint64_t ts, uint64_t start, uint64_t end,
                                 std::string_view name, std::vector<Annotation> annotations) {
    if (start >= end) return;
    on_unmap(proc, ts, start, end);  // the kernel never overlaps mappings: what was there is gone
    size_t lane = 0;
    while (lane < proc.lanes.size() && proc.lanes[lane].busy) ++lane;
    if (lane == proc.lanes.size()) {
        proc.lanes.push_back({new_uuid(), false, 0});
        trace_.child_track(proc.lanes[lane].uuid, proc.uuid, "mappings");
    }
    Process::Lane& l = proc.lanes[lane];
    l.busy = true;
    const uint64_t begin_ts = std::max(ts, l.free_since);
    size_t slice;
    if (!proc.free_slices.empty()) {
        slice = proc.free_slices.back();
        proc.free_slices.pop_back();
    } else {
        slice = proc.slices.size();
        proc.slices.emplace_back();
    }
    proc.slices[slice] = {lane, end - start, begin_ts};
    proc.regions[start] = {end, slice};
    trace_.add(TrackEventSpec{.ts_ns = begin_ts,
                              .type = TrackEventType::SliceBegin,
                              .track_uuid = l.uuid,
                              .name = name,
                              .annotations = std::move(annotations)});
    ++stats_.mapping_slices;
}

void PerfettoExportSink::on_unmap(Process& proc, uint64_t ts, uint64_t start, uint64_t end) {
    if (start >= end || proc.regions.empty()) return;
    auto it = proc.regions.upper_bound(start);
    if (it != proc.regions.begin() && std::prev(it)->second.end > start) --it;
    while (it != proc.regions.end() && it->first < end) {
        const uint64_t r_start = it->first;
        const Process::Region region = it->second;
        it = proc.regions.erase(it);
        if (r_start < start) proc.regions[r_start] = {start, region.slice};
        if (region.end > end) it = proc.regions.emplace(end, Process::Region{region.end, region.slice}).first;
        Process::Slice& s = proc.slices[region.slice];
        s.bytes -= std::min(region.end, end) - std::max(r_start, start);
        if (s.bytes == 0) {
            Process::Lane& lane = proc.lanes[s.lane];
            const uint64_t end_ts = std::max(ts, s.begin_ts);
            trace_.add(TrackEventSpec{.ts_ns = end_ts,
                                      .type = TrackEventType::SliceEnd,
                                      .track_uuid = lane.uuid});
            lane.busy = false;
            lane.free_since = end_ts;
            proc.free_slices.push_back(region.slice);
        }
        if (region.end > end) ++it;
    }
}

void PerfettoExportSink::end_all_mappings(Process& proc, uint64_t ts) {
    on_unmap(proc, ts, 0, ~uint64_t{0});
}

// ---------------------------------------------------------------- events

void PerfettoExportSink::on_stall(Process& proc, const Event& event, const ReclaimStallData& d) {
    if (event.tid == 0) return;
    Thread& thread = thread_of(proc, event);
    if (!thread.stall_uuid) {
        thread.stall_uuid = new_uuid();
        trace_.child_track(thread.stall_uuid, thread.uuid,
                           fmt::format("memory stalls {}", event.tid));
    }
    const uint64_t begin = std::max(event.ts_ns, thread.stalled_until);
    const uint64_t end = std::max(begin, event.ts_ns + d.duration_ns);
    const std::string_view kind = stall_kind_name(d.kind);
    std::vector<Annotation> args = {{"kind", kind}, {"duration_ns", d.duration_ns}};
    if (d.kind != PT_STALL_COMPACTION) args.push_back({"reclaimed_pages", d.reclaimed});
    trace_.add(TrackEventSpec{.ts_ns = begin,
                              .type = TrackEventType::SliceBegin,
                              .track_uuid = thread.stall_uuid,
                              .name = d.kind == PT_STALL_COMPACTION ? "compaction stall"
                                                                    : "reclaim stall",
                              .annotations = std::move(args)});
    trace_.add(TrackEventSpec{
        .ts_ns = end, .type = TrackEventType::SliceEnd, .track_uuid = thread.stall_uuid});
    thread.stalled_until = end;
    ++stats_.stall_slices;
}

void PerfettoExportSink::on_fault(Process& proc, const Event& event, const FaultData& d) {
    // Only a fault whose latency was measured (one in --latency-every) has a length.
    if (event.tid == 0 || d.latency_ns == 0) return;
    Thread& thread = thread_of(proc, event);
    const bool stall = d.outcome == FaultOutcome::Major ||
                       (d.outcome == FaultOutcome::Minor && d.latency_ns >= options_.long_fault_ns);
    if (!stall) return;
    const uint64_t begin = std::max(event.ts_ns, thread.busy_until);
    const uint64_t end = std::max(begin, event.ts_ns + d.latency_ns);
    trace_.add(TrackEventSpec{
        .ts_ns = begin,
        .type = TrackEventType::SliceBegin,
        .track_uuid = thread.uuid,
        .name = d.outcome == FaultOutcome::Major ? "major fault" : "minor fault",
        .annotations = {{"addr", Annotation::Pointer{d.addr}},
                        {"ip", Annotation::Pointer{d.ip}},
                        {"access", access_name(d.access)},
                        {"mode", d.mode == FaultMode::User ? "user" : "kernel"},
                        {"latency_ns", d.latency_ns}}});
    trace_.add(TrackEventSpec{
        .ts_ns = end, .type = TrackEventType::SliceEnd, .track_uuid = thread.uuid});
    thread.busy_until = end;
    ++stats_.fault_slices;
}

void PerfettoExportSink::on_event(const Event& event, std::span<const std::byte>) {
    timeline_.add(event);
    last_ts_ = std::max(last_ts_, event.ts_ns);
    const uint64_t ts = event.ts_ns;

    if (const auto* lost = std::get_if<LostData>(&event.data)) {
        if (!lost_track_) {
            lost_track_ = new_uuid();
            trace_.child_track(lost_track_, 0, "lost events");
        }
        trace_.add(TrackEventSpec{.ts_ns = ts,
                                  .type = TrackEventType::Instant,
                                  .track_uuid = lost_track_,
                                  .name = "lost",
                                  .annotations = {{"count", lost->count},
                                                  {"cpu", uint64_t{event.cpu}}}});
        ++stats_.instants;
        return;
    }

    // Migrations, flushes and what reclaim, KSM and khugepaged do are
    // credited to their owner, and may trail its exit.
    const bool attributed =
        event.type == EventType::Migrate || event.type == EventType::MigrateBatch ||
        event.type == EventType::TlbFlush || event.type == EventType::SwapOut ||
        event.type == EventType::Evict || event.type == EventType::KsmMerge ||
        event.type == EventType::Collapse;
    Process* owner = attributed ? owner_of(event.pid) : nullptr;
    Process& proc = owner ? *owner : process_of(event);
    sweep_intervals(ts);
    if (!proc.ended) {
        advance_interval(proc, ts);
        observe_counters(proc, ts);
    }

    std::visit(
        [&](const auto& d) {
            using T = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<T, FaultData>) {
                on_fault(proc, event, d);
            } else if constexpr (std::is_same_v<T, MmapData>) {
                if (d.err != 0) return;
                const std::string name =
                    fmt::format("mmap {} {}", prot_string(d.prot), mmap_flags_string(d.flags));
                std::vector<Annotation> args = {{"addr", Annotation::Pointer{d.addr}},
                                                {"len", d.len}};
                if (d.fd >= 0) {
                    args.push_back({"fd", int64_t{d.fd}});
                    args.push_back({"pgoff", d.pgoff});
                }
                on_mmap(proc, ts, geometry_.down(d.addr), geometry_.range_end(d.addr, d.len), name,
                        std::move(args));
            } else if constexpr (std::is_same_v<T, MunmapData>) {
                if (d.err == 0) {
                    on_unmap(proc, ts, geometry_.down(d.addr), geometry_.range_end(d.addr, d.len));
                }
            } else if constexpr (std::is_same_v<T, MremapData>) {
                if (d.err != 0) return;
                const uint64_t old_start = geometry_.down(d.old_addr);
                const uint64_t old_end = geometry_.range_end(d.old_addr, d.old_len);
                const uint64_t new_start = geometry_.down(d.new_addr);
                const uint64_t new_end = geometry_.range_end(d.new_addr, d.new_len);
                const bool keeps_old =
                    d.old_len == 0 || (d.flags & kernel::kMremapDontunmap) != 0;
                if (!keeps_old) on_unmap(proc, ts, old_start, old_end);
                on_mmap(proc, ts, new_start, new_end,
                        fmt::format("mremap {}", mremap_flags_string(d.flags)),
                        {{"old_addr", Annotation::Pointer{d.old_addr}},
                         {"old_len", d.old_len},
                         {"new_len", d.new_len}});
            } else if constexpr (std::is_same_v<T, MadviseData>) {
                std::vector<Annotation> args = {{"advice", std::string_view{}},
                                                {"addr", Annotation::Pointer{d.addr}},
                                                {"len", d.len}};
                const std::string advice = madvise_advice_name(d.advice);
                args[0].value = std::string_view(advice);
                std::string error;
                if (d.err != 0) {
                    error = errno_name(d.err);
                    args.push_back({"error", std::string_view(error)});
                }
                instant(proc, ts, "madvise", std::move(args));
            } else if constexpr (std::is_same_v<T, TlbFlushData>) {
                if (d.start >= d.end) return;  // no range: counted, not drawn
                std::vector<Annotation> args = {{"reason", tlb_reason_name(d.reason)},
                                                {"start", Annotation::Pointer{d.start}},
                                                {"end", Annotation::Pointer{d.end}}};
                if (d.pages != PT_TLB_FLUSH_ALL) args.push_back({"pages", d.pages});
                instant(proc, ts, "tlb_flush", std::move(args));
            } else if constexpr (std::is_same_v<T, MigrateData>) {
                instant(proc, ts, "migrate",
                        {{"addr", Annotation::Pointer{d.addr}},
                         {"old_pfn", Annotation::Pointer{d.old_pfn}},
                         {"new_pfn", Annotation::Pointer{d.new_pfn}},
                         {"order", uint64_t{d.order}},
                         {"reason", migrate_reason_name(d.reason)},
                         {"mode", migrate_mode_name(d.mode)},
                         {"by_pid", uint64_t{d.by_pid}},
                         {"by_comm", std::string_view(d.by_comm)}});
            } else if constexpr (std::is_same_v<T, KsmMergeData>) {
                std::vector<Annotation> args = {{"addr", Annotation::Pointer{d.addr}},
                                                {"new_pfn", Annotation::Pointer{d.new_pfn}},
                                                {"by_comm", std::string_view(d.by_comm)}};
                if (d.old_pfn) args.push_back({"old_pfn", Annotation::Pointer{d.old_pfn}});
                instant(proc, ts, "ksm_merge", std::move(args));
            } else if constexpr (std::is_same_v<T, CollapseData>) {
                std::vector<Annotation> args = {{"pages", uint64_t{d.pages}},
                                                {"by_pid", uint64_t{d.by_pid}},
                                                {"by_comm", std::string_view(d.by_comm)}};
                if (d.addr) args.push_back({"addr", Annotation::Pointer{d.addr}});
                instant(proc, ts, "collapse", std::move(args));
            } else if constexpr (std::is_same_v<T, ReclaimStallData>) {
                on_stall(proc, event, d);
            } else if constexpr (std::is_same_v<T, MigrateBatchData>) {
                instant(proc, ts, "migrate_batch",
                        {{"succeeded", d.succeeded},
                         {"failed", d.failed},
                         {"thp_succeeded", d.thp_succeeded},
                         {"thp_failed", d.thp_failed},
                         {"traced_pages", uint64_t{d.traced_pages}},
                         {"reason", migrate_reason_name(d.reason)},
                         {"by_comm", std::string_view(d.by_comm)}});
            } else if constexpr (std::is_same_v<T, ForkData>) {
                const uint64_t flow = next_flow_++;
                instant(proc, ts, "fork", {{"child_pid", uint64_t{d.child_pid}}}, flow);
                Process* child = owner_of(d.child_pid);
                if (!child || child->ended) child = &start_process(d.child_pid, event.comm, ts);
                instant(*child, ts, "forked", {{"parent_pid", uint64_t{proc.pid}}}, 0, flow);
            } else if constexpr (std::is_same_v<T, ExecData>) {
                instant(proc, ts, "exec", {{"filename", std::string_view(d.filename)}});
                end_all_mappings(proc, ts);
                const size_t slash = d.filename.rfind('/');
                std::string name = event.comm;
                if (name.empty()) name = d.filename.substr(slash == std::string::npos ? 0 : slash + 1);
                if (!name.empty() && name != proc.name) {
                    proc.name = name;
                    trace_.process_track(proc.uuid, proc.pid, proc.name);
                }
            } else if constexpr (std::is_same_v<T, ExitData>) {
                std::vector<Annotation> args;
                std::string signal;
                if ((d.status & 0x7f) != 0) {
                    signal = signal_name(static_cast<int>(d.status & 0x7f));
                    args.push_back({"code", uint64_t{128 + (d.status & 0x7f)}});
                    args.push_back({"signal", std::string_view(signal)});
                } else {
                    args.push_back({"code", uint64_t{(d.status >> 8) & 0xff}});
                }
                instant(proc, ts, "exit", std::move(args));
                if (!proc.ended) end_process(proc, ts);
            }
        },
        event.data);
}

void PerfettoExportSink::on_snapshot(const PagemapSnapshot& snapshot) {
    timeline_.add_snapshot(snapshot);
    last_ts_ = std::max(last_ts_, snapshot.ts_ns);
    Process* proc = owner_of(snapshot.pid);
    sweep_intervals(snapshot.ts_ns);
    if (!proc || proc->ended) return;
    advance_interval(*proc, snapshot.ts_ns);
    observe_counters(*proc, snapshot.ts_ns);
}

void PerfettoExportSink::on_end() {
    for (auto& proc : processes_) {
        if (proc->ended) continue;
        close_interval(*proc);
        end_all_mappings(*proc, last_ts_);
        for (size_t i = 0; i < kCounterCount; ++i) {
            Process::Counter& c = proc->counters[i];
            if (kCounters[i].per_interval && c.written != 0) {
                counter_point(*proc, i, std::max(c.zero_at, last_ts_), 0);
            }
        }
    }
}

}  // namespace pagetrace
