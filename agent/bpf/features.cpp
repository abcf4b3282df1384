#include "bpf/features.h"

#include <bpf/btf.h>
#include <fmt/format.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "bpf/tracefs.h"
#include "decode/event.h"
#include "pagetrace/events.h"
#include "util/error.h"

namespace pagetrace {

namespace {

int open_page_fault_event(uint64_t config, pid_t pid, int cpu, uint64_t sample_period,
                          bool inherit) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = config;
    attr.sample_period = sample_period;
    attr.disabled = 1;
    attr.inherit = inherit ? 1 : 0;
    return static_cast<int>(
        ::syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

struct BtfDeleter {
    void operator()(btf* b) const { btf__free(b); }
};

bool perf_software_event_works(uint64_t config) {
    const int fd = open_software_perf_event(config, 0);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

}  // namespace

int open_software_perf_event(uint64_t config, int cpu, uint64_t sample_period) {
    return open_page_fault_event(config, -1, cpu, sample_period, false);
}

int open_thread_perf_event(uint64_t config, pid_t tid, uint64_t sample_period) {
    return open_page_fault_event(config, tid, -1, sample_period, true);
}

std::vector<HookStatus> probe_hooks(const std::string& btf_path) {
    std::unique_ptr<btf, BtfDeleter> kernel_btf(
        btf_path.empty() ? btf__load_vmlinux_btf() : btf__parse(btf_path.c_str(), nullptr));
    const int btf_err = kernel_btf ? 0 : errno;

    std::vector<HookStatus> out;
    for (const Hook& hook : hook_table()) {
        HookStatus h{&hook};
        if (hook.kind == HookKind::Tracepoint) {
            const std::string type = std::string("btf_trace_").append(hook.btf_name);
            if (!kernel_btf) {
                h.why_not = errno_message("no kernel BTF", btf_err);
            } else if (btf__find_by_name_kind(kernel_btf.get(), type.c_str(), BTF_KIND_TYPEDEF) <
                       0) {
                h.why_not = "tracepoint not in this kernel";
            } else if (hook.needs_tracefs && !tracefs_mounted() && ::geteuid() != 0) {
                h.why_not = "needs tracefs, which is not mounted (root mounts it at start)";
            } else {
                h.available = true;
            }
        } else {
            h.available = perf_software_event_works(hook.perf_config);
            if (!h.available) h.why_not = "perf_event_open refused the software event";
        }
        out.push_back(std::move(h));
    }
    return out;
}

namespace {

// The fault rule (hooks.h): entry tracepoints, completion perf events, or both.
std::string fault_source_text(std::span<const HookStatus> hooks) {
    const std::string entry = hook_names(fault_source_hooks(hooks, FaultSource::Entry), "/");
    const std::string completion =
        hook_names(fault_source_hooks(hooks, FaultSource::Completion), "/");
    if (fault_source_available(hooks, FaultSource::Entry)) {
        std::string text = entry + " (entry) + the thread's fault counters (outcome)";
        if (fault_source_available(hooks, FaultSource::Completion)) {
            return text + " + " + completion + " (latency_ns, of one fault in --latency-every)";
        }
        return text + "; no latency_ns (perf software events unavailable)";
    }
    if (fault_source_available(hooks, FaultSource::Completion)) {
        return completion + " only (no access, no latency_ns)";
    }
    return "";
}

// Where events of `type` come from: the hooks it cannot do without, if this
// kernel has them all.
std::string event_source_text(std::span<const HookStatus> hooks, uint16_t type) {
    if (type == PT_EV_FAULT) return fault_source_text(hooks);
    if (type == PT_EV_LOST) return "per-CPU drop counters in BPF, read by the agent";
    std::vector<const Hook*> needed;
    std::string_view how;
    for (const HookStatus& h : hooks) {
        if (!(h.hook->lost_without & PT_EVENT_BIT(type))) continue;
        if (!h.available) return "";
        needed.push_back(h.hook);
        if (how.empty()) how = h.hook->how;
    }
    return needed.empty() ? "" : hook_names(needed, " + ").append(how);
}

}  // namespace

std::string describe_features(std::span<const HookStatus> hooks) {
    size_t width = 4;  // "HOOK"
    for (const HookStatus& h : hooks) width = std::max(width, h.hook->name.size());
    std::string out = fmt::format("{:<{}} {:<10} {}\n", "HOOK", width, "AVAILABLE", "GIVES");
    for (const HookStatus& h : hooks) {
        out += fmt::format("{:<{}} {:<10} {}{}\n", h.hook->name, width,
                           h.available ? "yes" : "no", h.hook->role,
                           h.available ? "" : " (" + h.why_not + ")");
    }
    out += fmt::format("\n{:<14} {}\n", "EVENT", "SOURCE ON THIS MACHINE");
    for (uint16_t t = 1; t <= kEventTypeCount; ++t) {
        const std::string source = event_source_text(hooks, t);
        out += fmt::format("{:<14} {}\n", event_type_name(static_cast<EventType>(t)),
                           source.empty() ? "unavailable on this kernel" : source);
    }
    return out;
}

}  // namespace pagetrace
