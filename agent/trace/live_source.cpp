#include "trace/live_source.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "bpf/ring_consumer.h"
#include "decode/decoder.h"
#include "decode/encoder.h"
#include "decode/framing.h"
#include "pagetrace/events.h"
#include "proc/process_info.h"
#include "proc/snapshot_reader.h"
#include "util/error.h"

namespace pagetrace {

namespace {

constexpr uint64_t kPruneIntervalNs = 500'000'000;

// The kernel's frame index: the BPF map pt_frames, through the tracer. When
// the kernel side finds private pages by their reverse map, only the frames
// stored are removed (a removal of a frame the map does not hold costs a
// syscall of its own), so it remembers which those are: the shared ones, few.
class KernelFrameIndex : public FrameIndex {
public:
    explicit KernelFrameIndex(Tracer& tracer)
        : tracer_(tracer), private_by_rmap_(tracer.finds_frames_by_rmap()) {}
    size_t store(std::span<const uint64_t> pfns, std::span<const pt_frame_owner> owners) override {
        const size_t stored = tracer_.index_frames(pfns, owners);
        if (private_by_rmap_) held_.insert(pfns.begin(), pfns.begin() + stored);
        return stored;
    }
    void remove(std::span<const uint64_t> pfns) override {
        if (!private_by_rmap_) return tracer_.unindex_frames(pfns);
        removing_.clear();
        for (uint64_t pfn : pfns) {
            if (held_.erase(pfn)) removing_.push_back(pfn);
        }
        if (!removing_.empty()) tracer_.unindex_frames(removing_);
    }
    uint32_t capacity() const override { return tracer_.max_frames(); }
    bool finds_private_pages() const override { return private_by_rmap_; }

private:
    Tracer& tracer_;
    const bool private_by_rmap_;
    std::unordered_set<uint64_t> held_;
    std::vector<uint64_t> removing_;
};

}  // namespace

LiveSource::LiveSource(LiveTraceOptions options, const volatile std::sig_atomic_t* stop_signal)
    : options_(std::move(options)),
      stop_signal_(stop_signal),
      pages_(kernel::PageGeometry::of_system()) {
    // Targets first: a wrong pid or command is reported before any BPF work.
    for (pid_t pid : options_.pids) {
        auto tgid = thread_group_of(pid);
        if (!tgid || !process_running(*tgid)) {
            throw Error("no running process with pid " + std::to_string(pid), kExitFailure);
        }
        if (is_kernel_thread(*tgid)) {
            throw Error("pid " + std::to_string(pid) + " (" + process_comm(*tgid) +
                        ") is a kernel thread: it has no user memory to trace");
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
}

LiveSource::~LiveSource() = default;

void LiveSource::set_interest(const SinkInterest& interest) { interest_ = interest; }

// ---------------------------------------------------------------- the queue

void LiveSource::queue_record(std::span<const std::byte> record) {
    if (!queue_.empty() && queue_.back().kind == SourceItem::Kind::Record &&
        queue_.back().offset + queue_.back().size == arena_.size()) {
        queue_.back().size += record.size();
        ++queue_.back().records;
    } else {
        Item item{SourceItem::Kind::Record, arena_.size(), record.size(), nullptr, nullptr, nullptr};
        item.records = 1;
        item.first_size = record_sizes_.size();
        queue_.push_back(std::move(item));
    }
    record_sizes_.push_back(static_cast<uint32_t>(record.size()));
    arena_.insert(arena_.end(), record.begin(), record.end());
    act_on_drained(record);
}

// The few records that must be acted on as the ring is drained, not when the
// pipeline gets to them (a short program may be gone by then), decoded here
// by the one decoder:
// - forks, execs and exits tell the tracer, in their order, which processes
//   carry latency perf events (a program the kernel selected at its exec,
//   --comm or --cgroup, gets them now);
// - an exec or an executable mmap put files in place whose images are read
//   now (the kernel wakes us for both).
void LiveSource::act_on_drained(std::span<const std::byte> record) {
    const auto header = peek_header(record);
    if (!header) return;
    const uint32_t type = header->type;
    const bool images = interest_.images && (type == PT_EV_MMAP || type == PT_EV_EXEC);
    if (!images && type != PT_EV_FORK && type != PT_EV_EXEC && type != PT_EV_EXIT) return;
    Event event;
    if (decode_event(record, event)) return;  // the pipeline reports it
    const auto pid = static_cast<pid_t>(event.pid);
    if (const auto* fork = std::get_if<ForkData>(&event.data)) {
        tracer_->note_fork(pid, static_cast<pid_t>(fork->child_pid));
    } else if (event.type == EventType::Exit) {
        tracer_->note_exit(pid);
    } else if (event.type == EventType::Exec) {
        tracer_->note_exec(pid);
        if (images) queue_images(event.pid, ImagesReason::Exec, false);
    } else if (const auto* m = std::get_if<MmapData>(&event.data)) {
        if (m->err == 0 && m->fd >= 0 && (m->prot & PROT_EXEC)) {
            queue_images(event.pid, ImagesReason::Mmap, false,
                         AddressRange{m->addr, m->addr + std::max<uint64_t>(m->len, 1)});
        }
    }
}

void LiveSource::queue_snapshot(PagemapSnapshot&& snapshot) {
    Item item{SourceItem::Kind::Snapshot, 0, 0, nullptr, nullptr, nullptr};
    item.snapshot = std::make_unique<PagemapSnapshot>(std::move(snapshot));
    queue_.push_back(std::move(item));
}

void LiveSource::queue_images(uint32_t pid, ImagesReason reason, bool front,
                              std::optional<AddressRange> only) {
    Item item{SourceItem::Kind::Images, 0, 0, nullptr, nullptr, nullptr};
    item.images = std::make_unique<ProcessImages>(
        read_process_images(pid, reason, monotonic_ns(), only));
    spdlog::debug("executable mappings of pid {}: {} read{}", pid, item.images->mappings.size(),
                  item.images->problems.empty() ? "" : "; " + item.images->problems);
    if (front) {
        queue_next(std::move(item));
    } else {
        queue_.push_back(std::move(item));
    }
}

void LiveSource::queue_next(Item&& item) {
    if (run_left_ > 0) {
        // The run's bytes end where current_'s do.
        Item rest{SourceItem::Kind::Record, run_offset_,
                  current_.offset + current_.size - run_offset_, nullptr, nullptr, nullptr};
        rest.records = run_left_;
        rest.first_size = run_size_index_;
        run_left_ = 0;
        queue_.push_front(std::move(rest));
    }
    queue_.push_front(std::move(item));
}

SourceItem LiveSource::next() {
    while (true) {
        if (run_left_ == 0 && !queue_.empty()) {
            current_ = std::move(queue_.front());
            queue_.pop_front();
            if (current_.kind == SourceItem::Kind::Record) {
                run_offset_ = current_.offset;
                run_size_index_ = current_.first_size;
                run_left_ = current_.records;
            } else {
                SourceItem out;
                out.kind = current_.kind;
                out.snapshot = current_.snapshot.get();
                out.process = current_.process.get();
                out.images = current_.images.get();
                return out;
            }
        }
        if (run_left_ > 0) {
            const size_t size = record_sizes_[run_size_index_++];
            SourceItem out;
            out.kind = SourceItem::Kind::Record;
            out.record = std::span<const std::byte>(arena_).subspan(run_offset_, size);
            run_offset_ += size;
            --run_left_;
            return out;
        }
        // Everything queued has been read (and seen by the feedback sink).
        arena_.clear();
        record_sizes_.clear();
        switch (phase_) {
        case Phase::Start:
            start();
            phase_ = Phase::Poll;
            break;
        case Phase::Poll:
            ring_->poll(options_.poll_interval_ms);
            report_new_drops();
            phase_ = Phase::Housekeep;
            if (queue_.empty()) return SourceItem::of(SourceItem::Kind::Timeout);
            break;
        case Phase::Housekeep: {
            if (frames_ && frames_->has_pending()) frames_->resolve_pending(monotonic_ns());
            if (interest_.snapshots) take_due_snapshots(monotonic_ns());
            phase_ = Phase::Poll;
            if (*stop_signal_) {
                result_.stopped_by_signal = true;
                result_.stop_signal = static_cast<int>(*stop_signal_);
                phase_ = Phase::Drain;
            } else if (!open_ended() && !tracer_->has_targets()) {
                phase_ = Phase::Drain;
            }
            if (phase_ == Phase::Drain) break;
            if (command_) command_->poll_exit();
            const uint64_t now = monotonic_ns();
            if (now - last_prune_ns_ >= kPruneIntervalNs) {
                prune_exited_targets();
                last_prune_ns_ = now;
            }
            break;
        }
        case Phase::Drain:
            // Everything the kernel wrote before the end is still in the ring.
            ring_->drain();
            report_new_drops();
            phase_ = Phase::Finish;
            break;
        case Phase::Finish:
            finish();
            phase_ = Phase::Ended;
            break;
        case Phase::Ended:
            return SourceItem::of(SourceItem::Kind::End);
        }
    }
}

// ---------------------------------------------------------------- starting and ending

void LiveSource::start() {
    // Faulted pages are looked up in pagemap for the migration index and for
    // anyone who wants snapshots (recordings, timelines).
    if (tracer_->tracks_frames() || interest_.snapshots) {
        if (tracer_->tracks_frames()) kernel_index_ = std::make_unique<KernelFrameIndex>(*tracer_);
        FrameTracker::TargetedHandler on_targeted;
        if (interest_.snapshots) {
            on_targeted = [this](PagemapSnapshot&& snap) { queue_snapshot(std::move(snap)); };
        }
        frames_ = std::make_unique<FrameTracker>(kernel_index_.get(), pagemaps_, pages_,
                                                 monotonic_ns, std::move(on_targeted));
        frames_->set_arrival_clock(monotonic_coarse_ns);
    }
    ring_ = std::make_unique<RingConsumer>(
        tracer_->ring_fd(), [this](std::span<const std::byte> rec) {
            ++result_.records;
            queue_record(rec);
        });

    if (!options_.command.empty()) {
        command_.emplace(options_.command, options_.user);
        tracer_->add_target(command_->pid(), PT_TARGET_PENDING_EXEC, options_.command[0]);
        command_->release();  // throws with 126/127 if it cannot exec
        spdlog::debug("started {} as pid {}", options_.command[0], command_->pid());
    } else {
        if (interest_.processes) {
            for (pid_t tgid : resolved_pids_) {
                Item item{SourceItem::Kind::Process, 0, 0, nullptr, nullptr, nullptr};
                item.process = std::make_unique<ProcessSnapshot>(read_process_snapshot(
                    static_cast<uint32_t>(tgid), SnapshotReason::Attach, monotonic_ns()));
                queue_.push_back(std::move(item));
            }
        }
        if (interest_.images) {
            for (pid_t tgid : resolved_pids_) {
                queue_images(static_cast<uint32_t>(tgid), ImagesReason::Attach, false);
            }
        }
        add_attached_targets();
        add_selected_targets();
    }
    last_prune_ns_ = monotonic_ns();
    last_periodic_ns_ = last_prune_ns_;
}

void LiveSource::finish() {
    if (interest_.snapshots) {
        // Pages faulted just before the end, and the processes still running.
        if (frames_ && frames_->has_pending()) frames_->resolve_pending(monotonic_ns(), true);
        for (pid_t pid : tracer_->targets()) snapshot_process(pid, SnapshotKind::Final);
    }
    if (result_.stopped_by_signal) {
        // Ctrl-C reaches the command through the terminal; anything else we
        // pass on. Tracing was cut short, so the status says so: 128 + signal.
        if (command_ && result_.stop_signal != SIGINT) command_->signal(result_.stop_signal);
        if (command_) command_->poll_exit();
        result_.exit_status = 128 + result_.stop_signal;
    } else if (command_) {
        result_.exit_status = command_->wait_exit();
    }
}

// ---------------------------------------------------------------- feedback

void LiveSource::on_event(const Event& event, std::span<const std::byte> raw) {
    if (frames_) frames_->on_event(event, raw);
    if (event.type != EventType::Exec) return;
    const auto pid = static_cast<pid_t>(event.pid);
    // The exec'd program's facts, read as soon as we learn of it, right after
    // its exec in the stream.
    if (interest_.processes) {
        Item item{SourceItem::Kind::Process, 0, 0, nullptr, nullptr, nullptr};
        item.process = std::make_unique<ProcessSnapshot>(
            read_process_snapshot(event.pid, SnapshotReason::Exec, monotonic_ns()));
        queue_next(std::move(item));
    }
    if (interest_.snapshots) exec_pending_.push_back(pid);
}

void LiveSource::on_snapshot(const PagemapSnapshot& snapshot) {
    if (frames_) frames_->on_snapshot(snapshot);
}

// ---------------------------------------------------------------- targets and snapshots

void LiveSource::add_target(pid_t tgid) {
    tracer_->add_target(tgid, PT_TARGET_ACTIVE, process_comm(tgid));
    if (interest_.images) queue_images(static_cast<uint32_t>(tgid), ImagesReason::Attach, false);
    snapshot_process(tgid, SnapshotKind::Attach);
}

void LiveSource::snapshot_process(pid_t tgid, SnapshotKind kind) {
    if (!takes_snapshots()) return;
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
    queue_snapshot(std::move(snap));
}

void LiveSource::take_due_snapshots(uint64_t now) {
    for (pid_t pid : exec_pending_) snapshot_process(pid, SnapshotKind::Exec);
    exec_pending_.clear();
    if (options_.snapshot_interval_ns && now - last_periodic_ns_ >= options_.snapshot_interval_ns) {
        last_periodic_ns_ = now;
        for (pid_t pid : tracer_->targets()) snapshot_process(pid, SnapshotKind::Periodic);
    }
}

// Processes already running that --comm or --cgroup select; later ones join
// in the kernel at their execve.
void LiveSource::add_selected_targets() {
    size_t found = 0;
    const pid_t self = ::getpid();
    if (!options_.match_comm.empty()) {
        for (pid_t pid : numbered_entries("/proc")) {
            if (pid == self || process_comm(pid) != options_.match_comm) continue;
            add_target(pid);
            ++found;
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

void LiveSource::add_attached_targets() {
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

void LiveSource::report_new_drops() {
    const std::vector<uint64_t> drops = tracer_->drops_per_cpu();
    for (size_t cpu = 0; cpu < drops.size() && cpu < drops_seen_.size(); ++cpu) {
        if (drops[cpu] <= drops_seen_[cpu]) continue;
        const uint64_t delta = drops[cpu] - drops_seen_[cpu];
        drops_seen_[cpu] = drops[cpu];
        result_.lost += delta;
        queue_record(lost_record(monotonic_ns(), static_cast<uint32_t>(cpu), delta));
    }
}

void LiveSource::prune_exited_targets() {
    for (pid_t tgid : tracer_->targets()) {
        if (!process_running(tgid)) {
            spdlog::debug("pid {} is gone; removing it from the filter", tgid);
            tracer_->remove_target(tgid);
        }
    }
}

}  // namespace pagetrace
