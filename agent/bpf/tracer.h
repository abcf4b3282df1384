// The loaded and attached pagetrace BPF programs. Construction runs the whole
// lifecycle in order (probe hooks -> plan what to load from the hook table ->
// open -> configure -> autoload only the planned programs -> load -> attach);
// destruction detaches every link and unloads every program, so nothing stays
// in the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bpf/hooks.h"
#include "bpf/tracefs.h"
#include "pagetrace/events.h"

struct pagetrace_bpf;
struct bpf_link;

namespace pagetrace {

struct TracerOptions {
    bool follow_children = true;
    uint64_t ring_bytes = 16ull << 20;  // power of two, multiple of the page size
    bool fault_outcome = true;          // park faults for their outcome (else emit at entry)
    uint32_t latency_every = kDefaultLatencyEvery;  // one fault in N gets latency_ns (0: none)
    std::string btf_path;               // empty: the running kernel's BTF
    uint64_t event_mask = kAllEvents;   // PT_EVENT_BIT(PT_EV_*) of the types to emit
    uint32_t max_frames = 1u << 20;     // frames indexed for migration attribution
    std::string match_comm;             // --comm: processes that exec with this name
    uint64_t match_cgroup_id = 0;       // --cgroup: processes that exec in this cgroup
};

class Tracer {
public:
    explicit Tracer(const TracerOptions& options);
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;
    ~Tracer();

    // Adds a process to the in-kernel filter with a PT_TARGET_* state (and
    // samples its faults' latency: watch_faults).
    void add_target(pid_t tgid, uint32_t state, const std::string& comm);
    void remove_target(pid_t tgid);

    // Latency sampling follows the traced processes, so that no other process
    // pays for it: each thread of `tgid` gets the fault-completion perf
    // events, which the threads and children it creates later inherit.
    // Nothing to do for a process already covered, or when the completion
    // events are per CPU (no fault entry hooks: they are the fault source).
    void watch_faults(pid_t tgid);
    // What the stream says of processes: a child forked by a covered process
    // inherited its events; an exec'd process the kernel selected (--comm,
    // --cgroup) is covered from here on; an exited one closes its events.
    void note_fork(pid_t parent, pid_t child);
    void note_exec(pid_t tgid) { watch_faults(tgid); }
    void note_exit(pid_t tgid);
    std::vector<pid_t> targets() const;
    bool has_targets() const;

    // File descriptor of the event ring buffer.
    int ring_fd() const;
    // Records that found the ring full, per possible CPU, since load.
    std::vector<uint64_t> drops_per_cpu() const;

    // The event types this run emits (the requested ones this kernel can give).
    uint64_t event_mask() const { return event_mask_; }
    // Whether migrations are traced, so the frame index must be kept.
    bool tracks_frames() const;
    // The frame index (PFN -> traced page) migration attribution joins with.
    // Returns how many entries were stored (the map may be full).
    size_t index_frames(std::span<const uint64_t> pfns, std::span<const pt_frame_owner> owners);
    // Removes frames from the index (batched; frames not in it are skipped).
    void unindex_frames(std::span<const uint64_t> pfns);
    uint32_t max_frames() const { return max_frames_; }
    // Whether BPF finds where a frame is mapped through its folio's reverse
    // map (it knows where struct pages are): then private pages need no
    // frame index entry for their migrations and reclaim to be attributed.
    bool finds_frames_by_rmap() const;

private:
    void attach_tracepoints();
    void attach_fault_completion();
    bool covered(pid_t tgid) const;
    // Raises the open-files limit to its hard limit if `more` fds would not
    // fit under it (done only then, so that a command we launched never sees it).
    void make_room_for_files(size_t more);
    void calibrate_frames();
    void targets_changed();

    struct SkeletonDeleter {
        void operator()(pagetrace_bpf* skel) const;
    };
    struct LinkDeleter {
        void operator()(bpf_link* link) const;
    };
    // Declared first: unmounted (if it was mounted here) after everything is detached.
    TracefsMount tracefs_;
    std::unique_ptr<pagetrace_bpf, SkeletonDeleter> skel_;
    // Declared after skel_: destroyed before the programs they attach.
    std::vector<std::unique_ptr<bpf_link, LinkDeleter>> tracepoint_links_;
    std::vector<std::unique_ptr<bpf_link, LinkDeleter>> perf_links_;
    // Per traced process: the completion events of its threads (when they
    // follow processes), and the processes covered by inheriting them.
    std::unordered_map<pid_t, std::vector<std::unique_ptr<bpf_link, LinkDeleter>>>
        process_links_;
    std::unordered_set<pid_t> inherited_;
    bool per_process_completion_ = false;
    bool warned_watch_ = false;
    uint64_t event_mask_;
    uint32_t max_frames_;
    int num_cpus_;
    bool fault_completion_ = false;
    uint32_t completion_period_ = 1;
};

// Routes libbpf's messages into spdlog (warnings as warnings, the rest as debug).
void route_libbpf_logs();

// The online CPUs (from /sys/devices/system/cpu/online).
std::vector<int> online_cpus();

struct BpfProgramInfo {
    std::string name;     // "pt_fault_user"
    std::string section;  // "tp_btf/page_fault_user"
};

// Every program in pagetrace's BPF object, from opening it without loading:
// needs no privileges.
std::vector<BpfProgramInfo> bpf_programs();

}  // namespace pagetrace
