// The live event source: loads the BPF programs, puts the targets into the
// in-kernel filter (starting the command if there is one), and yields what the
// kernel reports about them until they are gone or a stop is requested: the
// ring buffer's records, `lost` records for what it could not store, pagemap
// snapshots (at attach, after exec, every --snapshot-interval, at the end, and
// of just-faulted pages) and process facts (/proc at attach and after exec),
// in stream order.
//
// It also watches what it yields (its feedback sink): faults, unmaps and
// migrations keep the frame index that attributes migrations to their owner,
// and an exec is followed at once by the new program's /proc facts and
// executable mappings and soon by its pagemap snapshot; an mmap of an
// executable file range is followed at once by that mapping's path and
// build-id (for symbolizing later, anywhere).
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/tracer.h"
#include "pipeline/event_source.h"
#include "proc/command_launcher.h"
#include "symbols/image_reader.h"
#include "trace/frame_index.h"
#include "trace/frame_tracker.h"
#include "util/clock.h"

namespace pagetrace {

class RingConsumer;

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
    uint64_t records = 0;      // records the ring buffer delivered
    uint64_t lost = 0;         // events the kernel could not store
};

class LiveSource : public EventSource, private EventSink {
public:
    // Checks the targets, then loads and attaches the BPF programs. Tracing
    // starts with the first next(); it ends when the traced processes are gone
    // or *stop_signal becomes non-zero (set it from a signal handler).
    LiveSource(LiveTraceOptions options, const volatile std::sig_atomic_t* stop_signal);
    LiveSource(const LiveSource&) = delete;
    LiveSource& operator=(const LiveSource&) = delete;
    ~LiveSource() override;

    SourceItem next() override;
    // CLOCK_MONOTONIC time at which tracing started (before any event).
    uint64_t start_ns() const override { return start_ns_; }
    kernel::PageGeometry page_geometry() const override { return pages_; }
    void set_interest(const SinkInterest& interest) override;
    EventSink* feedback() override { return this; }

    // How tracing ended; complete once next() has returned End.
    const LiveTraceResult& result() const { return result_; }

private:
    enum class Phase { Start, Poll, Housekeep, Drain, Finish, Ended };

    // A queued item. Records come in runs: consecutive records are one item,
    // their bytes at [offset, offset + size) of arena_ and their sizes from
    // record_sizes_[first_size], so the queue moves once per drained run,
    // not once per record.
    struct Item {
        SourceItem::Kind kind;
        size_t offset = 0;  // Record: in arena_
        size_t size = 0;
        std::unique_ptr<PagemapSnapshot> snapshot;
        std::unique_ptr<ProcessSnapshot> process;
        std::unique_ptr<ProcessImages> images;
        size_t records = 0;  // Record: how many
        size_t first_size = 0;
    };
    // Puts an item before everything queued, right after the record handed
    // out last (the rest of its run goes back to the queue first).
    void queue_next(Item&& item);

    // EventSink: what the stream says this source must act on.
    void on_event(const Event& event, std::span<const std::byte> raw) override;
    void on_snapshot(const PagemapSnapshot& snapshot) override;

    void start();
    void finish();
    void queue_record(std::span<const std::byte> record);
    void act_on_drained(std::span<const std::byte> record);
    void queue_snapshot(PagemapSnapshot&& snapshot);
    // The executable mappings of `pid` (of `only`, if given), next in the
    // stream (front) or after what is queued.
    void queue_images(uint32_t pid, ImagesReason reason, bool front,
                      std::optional<AddressRange> only = std::nullopt);
    void add_attached_targets();
    void add_selected_targets();
    void add_target(pid_t tgid);
    // A full snapshot of `tgid`, after the records the ring holds now.
    void snapshot_process(pid_t tgid, SnapshotKind kind);
    void take_due_snapshots(uint64_t now);
    bool open_ended() const {
        return !options_.match_comm.empty() || !options_.cgroup_path.empty();
    }
    // Attach snapshots also seed the frame index; the others are for sinks only.
    bool takes_snapshots() const { return frames_ || interest_.snapshots; }
    void report_new_drops();
    void prune_exited_targets();

    LiveTraceOptions options_;
    const volatile std::sig_atomic_t* stop_signal_;
    kernel::PageGeometry pages_;
    SinkInterest interest_;
    uint64_t start_ns_ = 0;
    std::vector<pid_t> resolved_pids_;
    std::optional<Tracer> tracer_;
    std::unique_ptr<FrameIndex> kernel_index_;
    ProcPagemapPages pagemaps_;
    std::unique_ptr<FrameTracker> frames_;
    std::unique_ptr<RingConsumer> ring_;
    std::optional<LaunchedCommand> command_;

    Phase phase_ = Phase::Start;
    std::deque<Item> queue_;
    std::vector<std::byte> arena_;  // the queued records' bytes
    std::vector<uint32_t> record_sizes_;  // ... and their sizes, in order
    Item current_;                  // the item handed out last
    // The run of records being handed out: where its next record starts,
    // the index of its size, and how many are left.
    size_t run_offset_ = 0;
    size_t run_size_index_ = 0;
    size_t run_left_ = 0;
    std::vector<pid_t> exec_pending_;  // exec'd: snapshot them once the queue is read
    uint64_t last_prune_ns_ = 0;
    uint64_t last_periodic_ns_ = 0;
    std::vector<uint64_t> drops_seen_;
    LiveTraceResult result_;
};

}  // namespace pagetrace
