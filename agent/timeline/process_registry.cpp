#include "timeline/process_registry.h"

namespace pagetrace {

const TracedProcess* ProcessRegistry::latest(uint32_t pid) const {
    auto it = latest_.find(pid);
    return it != latest_.end() ? processes_[it->second].get() : nullptr;
}

TracedProcess& ProcessRegistry::start(uint32_t pid, uint64_t ts_ns,
                                      std::optional<uint64_t> start_ns) {
    auto proc = std::make_unique<TracedProcess>(processes_.size(), usage_, geometry_);
    proc->summary.pid = pid;
    proc->summary.start_ns = start_ns;
    proc->summary.first_ts_ns = ts_ns;
    proc->summary.last_ts_ns = ts_ns;
    TracedProcess& ref = *proc;
    processes_.push_back(std::move(proc));
    live_[pid] = &ref;
    latest_[pid] = ref.index;
    return ref;
}

TracedProcess* ProcessRegistry::owner_of(const Event& event) {
    if (!live(event.pid) && latest_.count(event.pid)) {
        ++orphan_events_;
        return nullptr;
    }
    return &of(event);
}

TracedProcess* ProcessRegistry::forked_child(uint32_t pid, std::optional<uint64_t> start_ns) {
    TracedProcess* known = live(pid);
    if (!known || !start_ns) return nullptr;
    ProcessSummary& s = known->summary;
    if (s.start_ns == start_ns) return known;
    if (!s.start_ns && s.first_ts_ns >= *start_ns) {
        s.start_ns = start_ns;
        return known;
    }
    return nullptr;
}

TracedProcess* ProcessRegistry::exiting(uint32_t pid, std::optional<uint64_t> start_ns) {
    TracedProcess* known = live(pid);
    if (known && known->summary.start_ns && start_ns && known->summary.start_ns != start_ns) {
        return nullptr;
    }
    return known;
}

void ProcessRegistry::end(TracedProcess& proc, uint64_t ts_ns, bool pid_reused) {
    proc.ended = true;
    proc.end_ts = ts_ns;
    proc.summary.pid_reused = pid_reused;
    auto it = live_.find(proc.pid());
    if (it != live_.end() && it->second == &proc) live_.erase(it);
}

}  // namespace pagetrace
