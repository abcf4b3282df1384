#include "trace/live_trace.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "bpf/ring_consumer.h"
#include "decode/encoder.h"
#include "pagetrace/events.h"
#include "proc/process_info.h"
#include "proc/snapshot_reader.h"
#include "util/error.h"

#include <cstdlib>

namespace pagetrace {

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {

constexpr uint64_t kPruneIntervalNs = 500'000'000;

}  // namespace

LiveTrace::LiveTrace(LiveTraceOptions options, RecordHandler handler,
                     SnapshotHandler snapshot_handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      snapshot_handler_(std::move(snapshot_handler)) {
    // Targets first: a wrong pid or command is reported before any BPF work.
    for (pid_t pid : options_.pids) {
        auto tgid = thread_group_of(pid);
        if (!tgid || !process_running(*tgid)) {
            throw Error("no running process with pid " + std::to_string(pid), kExitFailure);
        }
        if (*tgid != pid) {
            spdlog::info("pid {} is a thread of process {}; tracing the whole process", pid,
                         *tgid);
        }
        resolved_pids_.push_back(*tgid);
    }

    if (!options_.cgroup_path.empty()) {
        constexpr long kCgroup2Magic = 0x63677270;
        struct statfs fs {};
        struct stat st {};
        if (::statfs(options_.cgroup_path.c_str(), &fs) != 0 ||
            ::stat(options_.cgroup_path.c_str(), &st) != 0) {
            throw Error(errno_message("--cgroup " + options_.cgroup_path, errno));
        }
        if (fs.f_type != kCgroup2Magic || !S_ISDIR(st.st_mode)) {
            throw Error("--cgroup " + options_.cgroup_path +
                        " is not a cgroup v2 directory (e.g. /sys/fs/cgroup/system.slice/x)");
        }
        options_.tracer.match_cgroup_id = st.st_ino;
    }
    options_.tracer.match_comm = options_.match_comm;

    start_ns_ = monotonic_ns();
    tracer_.emplace(options_.tracer);
    drops_seen_.assign(tracer_->drops_per_cpu().size(), 0);
    // Faulted pages are looked up in pagemap for the migration index and for
    // anyone who wants snapshots (recordings, timelines).
    if (tracer_->tracks_frames() || snapshot_handler_) {
        frames_ = std::make_unique<FrameTracker>(*tracer_, monotonic_ns, tracer_->tracks_frames(),
                                                 snapshot_handler_);
    }
}

LiveTrace::~LiveTrace() = default;

void LiveTrace::add_target(pid_t tgid) {
    tracer_->add_target(tgid, PT_TARGET_ACTIVE, process_comm(tgid));
    snapshot_process(tgid, SnapshotKind::Attach);
}

void LiveTrace::snapshot_process(pid_t tgid, SnapshotKind kind) {
    if (!frames_ && !snapshot_handler_) return;
    // Events up to now go into the stream first, so the snapshot follows them.
    if (ring_) ring_->drain();
    PagemapSnapshot snap;
    try {
        snap = take_snapshot(tgid, kind, monotonic_ns());
    } catch (const Error& e) {
        spdlog::debug("snapshot of pid {}: {}", tgid, e.what());  // it exited meanwhile
        return;
    }
    snap.ts_ns = monotonic_ns();  // the read has finished
    if (snap.partial) spdlog::debug("snapshot of pid {} cut short: it exited or exec'd", tgid);
    if (frames_) frames_->seed(snap);
    if (snapshot_handler_) snapshot_handler_(snap);
}

void LiveTrace::take_due_snapshots(uint64_t now) {
    for (pid_t pid : exec_pending_) snapshot_process(pid, SnapshotKind::Exec);
    exec_pending_.clear();
    if (options_.snapshot_interval_ns && now - last_periodic_ns_ >= options_.snapshot_interval_ns) {
        last_periodic_ns_ = now;
        for (pid_t pid : tracer_->targets()) snapshot_process(pid, SnapshotKind::Periodic);
    }
}

// Processes already running that --comm or --cgroup select; later ones join
// in the kernel at their execve.
void LiveTrace::add_selected_targets() {
    size_t found = 0;
    const pid_t self = ::getpid();
    if (!options_.match_comm.empty()) {
        if (DIR* proc = ::opendir("/proc")) {
            while (dirent* entry = ::readdir(proc)) {
                char* end = nullptr;
                const long pid = std::strtol(entry->d_name, &end, 10);
                if (*end || pid <= 0 || pid == self) continue;
                if (process_comm(static_cast<pid_t>(pid)) != options_.match_comm) continue;
                add_target(static_cast<pid_t>(pid));
                ++found;
            }
            ::closedir(proc);
        }
        spdlog::info("tracing processes named '{}': {} running now, and any that start", 
                     options_.match_comm, found);
    }
    if (!options_.cgroup_path.empty()) {
        std::ifstream procs(options_.cgroup_path + "/cgroup.procs");
        pid_t pid = 0;
        size_t in_cgroup = 0;
        while (procs >> pid) {
            if (pid == self) continue;
            add_target(pid);
            ++in_cgroup;
        }
        spdlog::info("tracing cgroup {}: {} processes now, and any that start in it",
                     options_.cgroup_path, in_cgroup);
    }
}

void LiveTrace::add_attached_targets() {
    for (pid_t tgid : resolved_pids_) {
        tracer_->add_target(tgid, PT_TARGET_ACTIVE, process_comm(tgid));
        // It may have exited between our check and the insert, in which case
        // its exit event will never remove it from the filter.
        if (!process_running(tgid)) {
            tracer_->remove_target(tgid);
            throw Error("process " + std::to_string(tgid) + " exited before tracing started");
        }
        // Pages it had before we came: their frames, so their migrations are ours.
        snapshot_process(tgid, SnapshotKind::Attach);
        spdlog::info("tracing pid {} ({}){}", tgid, process_comm(tgid),
                     options_.tracer.follow_children ? " and the children it creates" : "");
    }
}

void LiveTrace::report_new_drops() {
    const std::vector<uint64_t> drops = tracer_->drops_per_cpu();
    for (size_t cpu = 0; cpu < drops.size() && cpu < drops_seen_.size(); ++cpu) {
        if (drops[cpu] <= drops_seen_[cpu]) continue;
        const uint64_t delta = drops[cpu] - drops_seen_[cpu];
        drops_seen_[cpu] = drops[cpu];
        lost_ += delta;
        handler_(lost_record(monotonic_ns(), static_cast<uint32_t>(cpu), delta));
    }
}

void LiveTrace::prune_exited_targets() {
    for (pid_t tgid : tracer_->targets()) {
        if (!process_running(tgid)) {
            spdlog::debug("pid {} is gone; removing it from the filter", tgid);
            tracer_->remove_target(tgid);
        }
    }
}

LiveTraceResult LiveTrace::run(const volatile std::sig_atomic_t* stop_signal) {
    LiveTraceResult result;
    RingConsumer ring(tracer_->ring_fd(), [this](std::span<const std::byte> rec) {
        ++records_;
        if (frames_) frames_->observe(rec);
        handler_(rec);
        if (snapshot_handler_ && rec.size() >= sizeof(pt_event_header)) {
            pt_event_header hdr;
            std::memcpy(&hdr, rec.data(), sizeof(hdr));
            if (hdr.type == PT_EV_EXEC) exec_pending_.push_back(static_cast<pid_t>(hdr.tgid));
        }
    });

    ring_ = &ring;
    struct ForgetRing {
        RingConsumer*& ring;
        ~ForgetRing() { ring = nullptr; }
    } forget_ring{ring_};

    std::optional<LaunchedCommand> command;
    if (!options_.command.empty()) {
        command.emplace(options_.command, options_.user);
        tracer_->add_target(command->pid(), PT_TARGET_PENDING_EXEC, options_.command[0]);
        command->release();  // throws with 126/127 if it cannot exec
        spdlog::debug("started {} as pid {}", options_.command[0], command->pid());
    } else {
        add_attached_targets();
        add_selected_targets();
    }

    uint64_t last_prune = monotonic_ns();
    last_periodic_ns_ = last_prune;
    while (true) {
        ring.poll(options_.poll_interval_ms);
        report_new_drops();
        if (frames_ && frames_->has_pending()) frames_->resolve_pending(monotonic_ns());
        if (snapshot_handler_) take_due_snapshots(monotonic_ns());
        if (*stop_signal) {
            result.stopped_by_signal = true;
            result.stop_signal = static_cast<int>(*stop_signal);
            break;
        }
        if (!open_ended() && !tracer_->has_targets()) break;
        if (command) command->poll_exit();
        const uint64_t now = monotonic_ns();
        if (now - last_prune >= kPruneIntervalNs) {
            prune_exited_targets();
            last_prune = now;
        }
    }
    // Everything the kernel wrote before the end is still in the ring.
    ring.drain();
    report_new_drops();
    if (snapshot_handler_) {
        // Pages faulted just before the end, and the processes still running.
        if (frames_ && frames_->has_pending()) frames_->resolve_pending(monotonic_ns(), true);
        for (pid_t pid : tracer_->targets()) snapshot_process(pid, SnapshotKind::Final);
    }

    if (result.stopped_by_signal) {
        // Ctrl-C reaches the command through the terminal; anything else we
        // pass on. Tracing was cut short, so the status says so: 128 + signal.
        if (command && result.stop_signal != SIGINT) command->signal(result.stop_signal);
        if (command) command->poll_exit();
        result.exit_status = 128 + result.stop_signal;
    } else if (command) {
        result.exit_status = command->wait_exit();
    }
    result.records = records_;
    result.lost = lost_;
    return result;
}

}  // namespace pagetrace
