#include "bpf/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <string>

#include "pagetrace/events.h"
#include "pagetrace_bpf.skel.h"
#include "util/error.h"

namespace pagetrace {

namespace {

int libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
    char buf[1024];
    const int n = std::vsnprintf(buf, sizeof(buf), format, args);
    std::string line(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
    while (!line.empty() && line.back() == '\n') line.pop_back();
    switch (level) {
    case LIBBPF_WARN: spdlog::warn("libbpf: {}", line); break;
    case LIBBPF_INFO: spdlog::debug("libbpf: {}", line); break;
    case LIBBPF_DEBUG: spdlog::trace("libbpf: {}", line); break;
    }
    return 0;
}

std::string load_error_message(int err) {
    if (err == EPERM || err == EACCES) {
        return "the kernel refused to load pagetrace's BPF programs (" + errno_name(err) +
               "): run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE "
               "(and check kernel.unprivileged_bpf_disabled / lockdown)";
    }
    return errno_message("loading pagetrace's BPF programs failed (run with -v for the "
                         "verifier log)",
                         err);
}

}  // namespace

void route_libbpf_logs() { libbpf_set_print(libbpf_log); }

void Tracer::SkeletonDeleter::operator()(pagetrace_bpf* skel) const {
    pagetrace_bpf__destroy(skel);
}

Tracer::Tracer(const TracerOptions& options) : ring_bytes_(options.ring_bytes) {
    LIBBPF_OPTS(bpf_object_open_opts, open_opts);
    if (!options.btf_path.empty()) open_opts.btf_custom_path = options.btf_path.c_str();

    skel_.reset(pagetrace_bpf__open_opts(&open_opts));
    if (!skel_) throw Error(errno_message("opening the BPF object failed", errno));

    num_cpus_ = libbpf_num_possible_cpus();
    if (num_cpus_ <= 0) throw Error(errno_message("cannot count possible CPUs", -num_cpus_));

    skel_->rodata->pt_cfg_follow_children = options.follow_children ? 1 : 0;
    // Wake the consumer once a quarter of the ring is waiting; otherwise it
    // drains on its own timer.
    skel_->rodata->pt_cfg_wakeup_bytes = options.ring_bytes / 4;
    if (int err = bpf_map__set_max_entries(skel_->maps.pt_events,
                                           static_cast<uint32_t>(options.ring_bytes))) {
        throw Error(errno_message("setting the ring buffer size", -err));
    }

    if (int err = pagetrace_bpf__load(skel_.get())) throw Error(load_error_message(-err));

    struct Hook {
        bpf_program* prog;
        bpf_link** link;  // owned by the skeleton: destroy() detaches it
    };
    const Hook hooks[] = {
        {skel_->progs.pt_fault_user, &skel_->links.pt_fault_user},
        {skel_->progs.pt_fault_kernel, &skel_->links.pt_fault_kernel},
        {skel_->progs.pt_sys_enter, &skel_->links.pt_sys_enter},
        {skel_->progs.pt_sys_exit, &skel_->links.pt_sys_exit},
        {skel_->progs.pt_fork, &skel_->links.pt_fork},
        {skel_->progs.pt_exec, &skel_->links.pt_exec},
        {skel_->progs.pt_exit, &skel_->links.pt_exit},
    };
    for (const Hook& hook : hooks) {
        *hook.link = bpf_program__attach(hook.prog);
        if (!*hook.link) {
            const int err = errno;
            throw Error(errno_message(std::string("attaching BPF program ") +
                                          bpf_program__name(hook.prog) + " to " +
                                          bpf_program__section_name(hook.prog),
                                      err));
        }
    }
    spdlog::debug("BPF programs attached; ring buffer {} bytes, {} possible CPUs",
                  options.ring_bytes, num_cpus_);
}

Tracer::~Tracer() = default;

void Tracer::add_target(pid_t tgid, uint32_t state) {
    const uint32_t key = static_cast<uint32_t>(tgid);
    if (bpf_map__update_elem(skel_->maps.pt_targets, &key, sizeof(key), &state, sizeof(state),
                             BPF_ANY)) {
        throw Error(errno_message("adding pid " + std::to_string(tgid) + " to the filter", errno));
    }
}

void Tracer::remove_target(pid_t tgid) {
    const uint32_t key = static_cast<uint32_t>(tgid);
    bpf_map__delete_elem(skel_->maps.pt_targets, &key, sizeof(key), 0);
}

std::vector<pid_t> Tracer::targets() const {
    std::vector<pid_t> out;
    uint32_t key = 0;
    uint32_t next = 0;
    const void* prev = nullptr;
    while (bpf_map__get_next_key(skel_->maps.pt_targets, prev, &next, sizeof(next)) == 0) {
        out.push_back(static_cast<pid_t>(next));
        key = next;
        prev = &key;
    }
    return out;
}

bool Tracer::has_targets() const {
    uint32_t next = 0;
    return bpf_map__get_next_key(skel_->maps.pt_targets, nullptr, &next, sizeof(next)) == 0;
}

int Tracer::ring_fd() const { return bpf_map__fd(skel_->maps.pt_events); }

std::vector<uint64_t> Tracer::drops_per_cpu() const {
    std::vector<uint64_t> values(static_cast<size_t>(num_cpus_), 0);
    const uint32_t key = 0;
    if (bpf_map__lookup_elem(skel_->maps.pt_drops, &key, sizeof(key), values.data(),
                             values.size() * sizeof(uint64_t), 0)) {
        throw Error(errno_message("reading the drop counters", errno));
    }
    return values;
}

}  // namespace pagetrace
