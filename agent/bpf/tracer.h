// The loaded and attached pagetrace BPF programs. Construction runs the whole
// lifecycle in order (open -> configure -> load -> attach); destruction detaches
// every link and unloads every program, so nothing stays in the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct pagetrace_bpf;

namespace pagetrace {

struct TracerOptions {
    bool follow_children = true;
    uint64_t ring_bytes = 64ull << 20;  // power of two, multiple of the page size
    std::string btf_path;               // empty: the running kernel's BTF
};

class Tracer {
public:
    explicit Tracer(const TracerOptions& options);
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;
    ~Tracer();

    // Adds a process to the in-kernel filter with a PT_TARGET_* state.
    void add_target(pid_t tgid, uint32_t state);
    void remove_target(pid_t tgid);
    std::vector<pid_t> targets() const;
    bool has_targets() const;

    // File descriptor of the event ring buffer.
    int ring_fd() const;
    // Records that found the ring full, per possible CPU, since load.
    std::vector<uint64_t> drops_per_cpu() const;
    uint64_t ring_bytes() const { return ring_bytes_; }

private:
    struct SkeletonDeleter {
        void operator()(pagetrace_bpf* skel) const;
    };
    std::unique_ptr<pagetrace_bpf, SkeletonDeleter> skel_;
    uint64_t ring_bytes_;
    int num_cpus_;
};

// Routes libbpf's messages into spdlog (warnings as warnings, the rest as debug).
void route_libbpf_logs();

}  // namespace pagetrace
