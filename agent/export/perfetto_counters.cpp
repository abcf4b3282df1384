// The counter tracks of the Perfetto export: levels (resident, mapped) at
// their changes within each interval, per-interval counts (faults, first
// touches, migrations, ...) as what the timeline's cumulative counts grew by.
#include <algorithm>

#include "export/perfetto_export.h"
#include "export/perfetto_process.h"

namespace pagetrace {

using namespace perfetto_detail;
using perfetto::TrackEventSpec;
using perfetto::TrackEventType;

void PerfettoExportSink::counter_point(Process& proc, size_t counter, uint64_t ts, uint64_t value) {
    Process::Counter& c = proc.counters[counter];
    if (!c.track) {
        if (value == 0) return;  // a counter that never moved gets no track
        c.track = new_uuid();
        const CounterSpec& spec = kCounters[counter];
        trace_.counter_track(c.track, proc.uuid,
                             spec.per_interval
                                 ? fmt::format("{} per {}", spec.name,
                                               interval_text(options_.interval_ns))
                                 : std::string(spec.name),
                             spec.unit);
    }
    trace_.add(TrackEventSpec{.ts_ns = ts,
                              .type = TrackEventType::Counter,
                              .track_uuid = c.track,
                              .counter_value = static_cast<int64_t>(value)});
    if (kCounters[counter].per_interval) c.written = value;
    ++stats_.counter_points;
}

void PerfettoExportSink::observe_counters(Process& proc, uint64_t ts) {
    const std::optional<ProcessNow> now = timeline_.process_now(proc.pid);
    if (!now) return;
    proc.now = *now;
    const uint64_t page = geometry_.size();
    for (size_t i = 0; i < kCounterCount; ++i) {
        if (kCounters[i].per_interval) continue;
        Process::Counter& c = proc.counters[i];
        const uint64_t value = kCounters[i].read(*now, page);
        if (value == c.last) continue;
        c.last = value;
        c.last_ts = ts;
        if (!c.changed || value > c.max) {
            c.max = value;
            c.max_ts = ts;
        }
        c.changed = true;
    }
    // A peak within one event (a snapshot that found pages and lost others)
    // is not seen between events; the timeline's own peak tells it.
    if (now->resident_pages_peak > proc.seen_peak) {
        proc.seen_peak = now->resident_pages_peak;
        Process::Counter& c = proc.counters[kResidentCounter];
        const uint64_t peak = proc.seen_peak * page;
        if (!c.changed || peak > c.max) {
            c.max = peak;
            c.max_ts = ts;
            c.changed = true;
        }
    }
}

void PerfettoExportSink::close_interval(Process& proc) {
    if (proc.interval == kNoInterval) return;
    const uint64_t begin = options_.start_ns + proc.interval * options_.interval_ns;
    for (size_t i = 0; i < kCounterCount; ++i) {
        Process::Counter& c = proc.counters[i];
        if (kCounters[i].per_interval) {
            const uint64_t total = kCounters[i].read(proc.now, geometry_.size());
            const uint64_t grew = total - c.base;
            c.base = total;
            if (grew != 0 || c.written != 0) {
                // A 0 right after a value is written by the next interval's own
                // point or, if that one stays silent, at zero_at.
                if (grew != 0) {
                    counter_point(proc, i, begin, grew);
                    c.zero_at = begin + options_.interval_ns;
                } else if (c.zero_at <= begin) {
                    counter_point(proc, i, begin, 0);
                }
            }
            continue;
        }
        if (!c.changed) continue;
        if (c.max != c.last) {
            counter_point(proc, i, c.max_ts, c.max);
            counter_point(proc, i, std::max(c.last_ts, c.max_ts + 1), c.last);
        } else {
            counter_point(proc, i, c.last_ts, c.last);
        }
        c.changed = false;
    }
    proc.interval = kNoInterval;
}

uint64_t PerfettoExportSink::interval_of(uint64_t ts) const {
    return ts > options_.start_ns ? (ts - options_.start_ns) / options_.interval_ns : 0;
}

bool PerfettoExportSink::write_zeros_before(Process& proc, uint64_t ts) {
    bool pending = false;
    for (size_t i = 0; i < kCounterCount; ++i) {
        Process::Counter& c = proc.counters[i];
        if (!kCounters[i].per_interval || c.written == 0) continue;
        if (c.zero_at < ts) {
            counter_point(proc, i, c.zero_at, 0);
        } else {
            pending = true;
        }
    }
    return pending;
}

void PerfettoExportSink::advance_interval(Process& proc, uint64_t ts) {
    const uint64_t index = interval_of(ts);
    if (proc.interval == index) return;
    close_interval(proc);
    // Per-interval counters whose last value was not followed by one: back to 0
    // where the interval after it began.
    write_zeros_before(proc, options_.start_ns + index * options_.interval_ns);
    proc.interval = index;
    if (!proc.in_open) {
        proc.in_open = true;
        open_.push_back(&proc);
    }
}

void PerfettoExportSink::sweep_intervals(uint64_t ts) {
    const uint64_t index = interval_of(ts);
    if (index <= swept_interval_) return;
    swept_interval_ = index;
    const uint64_t begin = options_.start_ns + index * options_.interval_ns;
    std::erase_if(open_, [&](Process* proc) {
        if (proc->interval != kNoInterval && proc->interval < index) close_interval(*proc);
        const bool zeros_pending = write_zeros_before(*proc, begin);
        const bool keep = proc->interval != kNoInterval || zeros_pending;
        proc->in_open = keep;
        return !keep;
    });
}

}  // namespace pagetrace
