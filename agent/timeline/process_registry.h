// Which process an event belongs to. A process is (pid, start time): an exit
// ends it, and a later event with the same pid, or a fork of a child with that
// pid and another start time, begins a new instance; two instances are never
// merged. The registry keeps every instance in order of first appearance, the
// running one of each pid (live) and the newest one (latest), and counts the
// migrations and TLB flushes that trail their owner's exit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "decode/event.h"
#include "kernel/mm.h"
#include "timeline/address_space.h"
#include "timeline/latency_histogram.h"
#include "timeline/process_summary.h"

namespace pagetrace {

// One process instance: its summary (identity and counters, updated in place)
// and its address space.
struct TracedProcess {
    TracedProcess(size_t index, PageTableUsage* usage, kernel::PageGeometry geometry)
        : index(index), space(usage, geometry) {}

    const size_t index;  // in order of first appearance
    ProcessSummary summary;
    AddressSpace space;
    LatencyHistogram first_touch_latency;  // mmap (or mremap/brk growth) to first fault
    LatencyHistogram swapped_time;         // swap-out to swap-in
    // Pages a snapshot found gone with no event that took them (yet): a
    // swap_out or evict that trails the snapshot explains them.
    std::unordered_set<uint64_t> gone_unannounced;
    std::unordered_set<uint64_t> huge_pages;  // first vpn of each huge page counted
    // Collapses whose range the event could not say (none of its frames was
    // known): the next huge page found in place of small pages is theirs.
    struct UnplacedCollapse {
        uint64_t ts_ns = 0;
        uint32_t by_pid = 0;
        std::string by_comm;
    };
    std::deque<UnplacedCollapse> unplaced_collapses;
    // The latest fault-arounds (at most kRecentFaultArounds): a large folio in
    // the page cache is mapped whole, beyond the range the kernel reports.
    struct FaultAround {
        uint64_t start = 0;
        uint64_t end = 0;
        uint64_t ts_ns = 0;
        uint64_t fault_addr = 0;
    };
    std::deque<FaultAround> fault_arounds;
    static constexpr size_t kRecentFaultArounds = 1024;
    FaultSites sites;                      // by faulting instruction, when tracked
    bool ended = false;
    uint64_t end_ts = 0;

    uint32_t pid() const { return summary.pid; }

    // Residency of its pages: resident_pages_final is the count now.
    void set_resident(PageRecord& rec) {
        rec.set(PageRecord::kResident);
        ++summary.resident_pages_final;
        summary.resident_pages_peak =
            std::max(summary.resident_pages_peak, summary.resident_pages_final);
    }
    void clear_resident(PageRecord& rec) {
        if (!rec.has(PageRecord::kResident)) return;
        rec.clear(PageRecord::kResident);
        --summary.resident_pages_final;
    }
    // After its mappings changed: the mapped-bytes series and peak.
    void note_mapped(uint64_t ts_ns) {
        if (space.note_mapped(ts_ns)) {
            summary.mapped_bytes_peak = std::max(summary.mapped_bytes_peak, space.mapped_bytes());
        }
    }
};

class ProcessRegistry {
public:
    ProcessRegistry(PageTableUsage* usage, kernel::PageGeometry geometry)
        : usage_(usage), geometry_(geometry) {}

    // The running instance of pid, if any.
    TracedProcess* live(uint32_t pid) {
        auto it = live_.find(pid);
        return it != live_.end() ? it->second : nullptr;
    }
    const TracedProcess* live(uint32_t pid) const {
        auto it = live_.find(pid);
        return it != live_.end() ? it->second : nullptr;
    }
    // The newest instance of pid, running or not.
    const TracedProcess* latest(uint32_t pid) const;
    // Every instance, in order of first appearance.
    const std::vector<std::unique_ptr<TracedProcess>>& all() const { return processes_; }
    const TracedProcess& at(size_t index) const { return *processes_[index]; }
    // Events for a pid whose process had exited (see owner_of()).
    uint64_t orphan_events() const { return orphan_events_; }

    // A new instance of pid, running from now on.
    TracedProcess& start(uint32_t pid, uint64_t ts_ns, std::optional<uint64_t> start_ns);

    // The running instance the event belongs to, started if there is none,
    // with the event's time and name noted.
    TracedProcess& of(const Event& event) {
        TracedProcess* proc = live(event.pid);
        if (!proc) proc = &start(event.pid, event.ts_ns, std::nullopt);
        note(*proc, event);
        return *proc;
    }
    // The same for migrations and TLB flushes, which the agent attributes to
    // their owner and which may trail its exit: they never start a new
    // instance of a pid that exited (nullptr, counted in orphan_events()).
    TracedProcess* owner_of(const Event& event);

    // The running instance of pid if it is the child a fork started at
    // start_ns: it has that start time, or none and no event older than it
    // (its own events raced ahead of the fork; it takes the start time).
    TracedProcess* forked_child(uint32_t pid, std::optional<uint64_t> start_ns);
    // The running instance of pid if an exit of the process started at
    // start_ns (nullopt: unknown) may be its exit.
    TracedProcess* exiting(uint32_t pid, std::optional<uint64_t> start_ns);

    // The instance ended at ts: by its exit, or unseen, when a new process
    // took its pid (pid_reused). Its pid has no running instance after this.
    void end(TracedProcess& proc, uint64_t ts_ns, bool pid_reused);

    // The event's time, and its task's name: the main thread's name is the
    // process's, another thread's only until the main thread shows up.
    static void note(TracedProcess& proc, const Event& event) {
        ProcessSummary& s = proc.summary;
        s.last_ts_ns = std::max(s.last_ts_ns, event.ts_ns);
        if (!event.comm.empty() && (event.tid == event.pid || s.comm.empty())) s.comm = event.comm;
    }

private:
    PageTableUsage* usage_;
    kernel::PageGeometry geometry_;
    std::vector<std::unique_ptr<TracedProcess>> processes_;
    std::unordered_map<uint32_t, TracedProcess*> live_;  // pid -> its running instance
    std::unordered_map<uint32_t, size_t> latest_;        // pid -> its newest instance
    uint64_t orphan_events_ = 0;
};

}  // namespace pagetrace
