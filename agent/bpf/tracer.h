// The loaded and attached pagetrace BPF programs. Construction runs the whole
// lifecycle in order (probe hooks -> open -> configure -> disable what this
// kernel lacks or the user turned off -> load -> attach); destruction detaches
// every link and unloads every program, so nothing stays in the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bpf/features.h"
#include "pagetrace/events.h"

struct pagetrace_bpf;
struct bpf_link;

namespace pagetrace {

inline constexpr uint64_t kAllEvents = ((1ull << (PT_EV_TYPE_MAX + 1)) - 1) & ~1ull;

struct TracerOptions {
    bool follow_children = true;
    uint64_t ring_bytes = 16ull << 20;  // power of two, multiple of the page size
    bool fault_outcome = true;          // join fault completions (outcome, latency_ns)
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

    // Adds a process to the in-kernel filter with a PT_TARGET_* state.
    void add_target(pid_t tgid, uint32_t state, const std::string& comm);
    void remove_target(pid_t tgid);
    std::vector<pid_t> targets() const;
    bool has_targets() const;

    // File descriptor of the event ring buffer.
    int ring_fd() const;
    // Records that found the ring full, per possible CPU, since load.
    std::vector<uint64_t> drops_per_cpu() const;
    uint64_t ring_bytes() const { return ring_bytes_; }

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

    const std::vector<HookStatus>& hooks() const { return hooks_; }

private:
    void attach_fault_completion();
    void targets_changed();

    struct SkeletonDeleter {
        void operator()(pagetrace_bpf* skel) const;
    };
    struct LinkDeleter {
        void operator()(bpf_link* link) const;
    };
    std::vector<HookStatus> hooks_;
    std::unique_ptr<pagetrace_bpf, SkeletonDeleter> skel_;
    std::vector<std::unique_ptr<bpf_link, LinkDeleter>> perf_links_;
    uint64_t ring_bytes_;
    uint64_t event_mask_;
    uint32_t max_frames_;
    int num_cpus_;
    bool fault_completion_ = false;
};

// Routes libbpf's messages into spdlog (warnings as warnings, the rest as debug).
void route_libbpf_logs();

// The online CPUs (from /sys/devices/system/cpu/online).
std::vector<int> online_cpus();

}  // namespace pagetrace
