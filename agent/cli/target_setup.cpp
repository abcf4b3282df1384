#include "cli/target_setup.h"

#include "bpf/tracer.h"
#include "cli/preflight.h"
#include "proc/command_launcher.h"

namespace pagetrace {

LiveTraceOptions make_live_trace_options(const TargetOptions& target) {
    LiveTraceOptions live;
    live.tracer.follow_children = target.follow_children;
    live.tracer.ring_bytes = target.ring_bytes;
    live.tracer.fault_outcome = target.fault_outcome;
    live.tracer.latency_every = target.latency_every;
    live.tracer.btf_path = target.btf_path;
    live.tracer.event_mask = target.event_mask ? target.event_mask : kAllEvents;
    live.tracer.max_frames = target.max_frames;
    live.pids = target.pids;
    live.match_comm = target.match_comm;
    live.cgroup_path = target.cgroup_path;
    live.snapshot_interval_ns = target.snapshot_interval_ns;
    if (!target.command.empty()) {
        resolve_command(target.command[0]);  // 127 before any BPF work
        live.command = target.command;
        if (!target.user.empty()) live.user = lookup_user(target.user);
    }
    require_bpf_privileges();
    require_btf(target.btf_path);
    return live;
}

}  // namespace pagetrace
