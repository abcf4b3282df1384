// One live tracing run: loads the BPF programs, puts the targets into the
// in-kernel filter (starting the command if there is one), and drains the ring
// buffer until the traced processes are gone or a stop is requested. Every raw
// record, including the agent's own `lost` records, goes to one handler, so
// `trace` and `record` share this loop.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpf/tracer.h"
#include "proc/command_launcher.h"
#include "trace/frame_tracker.h"

namespace pagetrace {

struct LiveTraceOptions {
    TracerOptions tracer;
    std::vector<pid_t> pids;          // -p: processes (or threads) to attach to
    std::vector<std::string> command; // -- CMD ARGS: started by us
    std::optional<RunAsUser> user;    // --user for the command
    std::string match_comm;           // --comm: processes with this name, now and later
    std::string cgroup_path;          // --cgroup: processes in this cgroup, now and later
    int poll_interval_ms = 10;
    uint64_t snapshot_interval_ns = 0;  // --snapshot-interval: 0 for none
};

struct LiveTraceResult {
    int exit_status = 0;       // the command's shell-style status, or 0
    bool stopped_by_signal = false;
    int stop_signal = 0;
    uint64_t records = 0;
    uint64_t lost = 0;
};

class LiveTrace {
public:
    using RecordHandler = std::function<void(std::span<const std::byte>)>;
    using SnapshotHandler = std::function<void(const PagemapSnapshot&)>;

    // Checks the targets, then loads and attaches the BPF programs. With a
    // snapshot handler, pagemap snapshots are taken (at attach, after exec,
    // every snapshot_interval_ns, at the end, and of just-faulted pages) and
    // handed over in stream order, between the records.
    LiveTrace(LiveTraceOptions options, RecordHandler handler,
              SnapshotHandler snapshot_handler = nullptr);
    LiveTrace(const LiveTrace&) = delete;
    LiveTrace& operator=(const LiveTrace&) = delete;
    ~LiveTrace();

    // CLOCK_MONOTONIC time at which tracing started (before any event).
    uint64_t start_ns() const { return start_ns_; }

    // Runs until the traced processes are gone or *stop_signal becomes non-zero
    // (set it from a signal handler). Called once.
    LiveTraceResult run(const volatile std::sig_atomic_t* stop_signal);

    // The event types this run emits (the requested ones this kernel can give).
    uint64_t event_mask() const { return tracer_->event_mask(); }
    // The frame index, when migrations are traced.
    const FrameTracker* frames() const { return frames_.get(); }

private:
    void add_attached_targets();
    void add_selected_targets();
    void add_target(pid_t tgid);
    // A full snapshot of `tgid` to the handler and the frame index.
    void snapshot_process(pid_t tgid, SnapshotKind kind);
    void take_due_snapshots(uint64_t now);
    bool open_ended() const {
        return !options_.match_comm.empty() || !options_.cgroup_path.empty();
    }
    void report_new_drops();
    void prune_exited_targets();

    LiveTraceOptions options_;
    RecordHandler handler_;
    SnapshotHandler snapshot_handler_;
    std::vector<pid_t> exec_pending_;  // exec'd since the last loop: snapshot them
    uint64_t last_periodic_ns_ = 0;
    uint64_t start_ns_ = 0;
    std::vector<pid_t> resolved_pids_;
    std::optional<Tracer> tracer_;
    std::unique_ptr<FrameTracker> frames_;
    class RingConsumer* ring_ = nullptr;  // while run() drains it
    std::vector<uint64_t> drops_seen_;
    uint64_t records_ = 0;
    uint64_t lost_ = 0;
};

// CLOCK_MONOTONIC in nanoseconds (the clock of the events' ts_ns).
uint64_t monotonic_ns();

}  // namespace pagetrace
