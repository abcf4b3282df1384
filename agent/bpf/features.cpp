#include "bpf/features.h"

#include <bpf/btf.h>
#include <fmt/format.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "decode/event.h"
#include "pagetrace/events.h"
#include "util/error.h"

namespace pagetrace {

namespace {

struct HookSpec {
    const char* name;
    const char* btf_name;  // tracepoint name in BTF (btf_trace_<name>), or perf config
    HookKind kind;
    uint64_t feeds;
    const char* role;
    bool required;
};

constexpr uint64_t bit(int type) { return PT_EVENT_BIT(type); }
constexpr uint64_t kVmaEvents = bit(PT_EV_MMAP) | bit(PT_EV_MUNMAP) | bit(PT_EV_MREMAP) |
                                bit(PT_EV_BRK) | bit(PT_EV_MPROTECT) | bit(PT_EV_MADVISE);

const HookSpec kHooks[] = {
    {"exceptions:page_fault_user", "page_fault_user", HookKind::Tracepoint, bit(PT_EV_FAULT),
     "fault entry in user mode: address, ip, access", false},
    {"exceptions:page_fault_kernel", "page_fault_kernel", HookKind::Tracepoint, bit(PT_EV_FAULT),
     "fault entry in kernel mode (on user addresses)", false},
    {"perf:page-faults-min", "min", HookKind::PerfSoftwareEvent, bit(PT_EV_FAULT),
     "fault completion: outcome minor, latency_ns", false},
    {"perf:page-faults-maj", "maj", HookKind::PerfSoftwareEvent, bit(PT_EV_FAULT),
     "fault completion: outcome major, latency_ns", false},
    {"raw_syscalls:sys_enter", "sys_enter", HookKind::Tracepoint, kVmaEvents,
     "VMA syscall arguments (and tlb_flush ranges)", false},
    {"raw_syscalls:sys_exit", "sys_exit", HookKind::Tracepoint, kVmaEvents,
     "VMA syscall results", false},
    {"sched:sched_process_fork", "sched_process_fork", HookKind::Tracepoint, bit(PT_EV_FORK),
     "fork, and following children", true},
    {"sched:sched_process_exec", "sched_process_exec", HookKind::Tracepoint, bit(PT_EV_EXEC),
     "exec, and starting a launched command", true},
    {"sched:sched_process_exit", "sched_process_exit", HookKind::Tracepoint, bit(PT_EV_EXIT),
     "exit, and knowing when tracing is done", true},
    {"task:task_rename", "task_rename", HookKind::Tracepoint, 0,
     "process names for attributed events", false},
    {"tlb:tlb_flush", "tlb_flush", HookKind::Tracepoint, bit(PT_EV_TLB_FLUSH), "TLB flushes",
     false},
    {"sched:sched_switch", "sched_switch", HookKind::Tracepoint, bit(PT_EV_TLB_FLUSH),
     "owner of task-switch TLB flushes", false},
    {"migrate:mm_migrate_pages_start", "mm_migrate_pages_start", HookKind::Tracepoint,
     bit(PT_EV_MIGRATE) | bit(PT_EV_MIGRATE_BATCH), "migration reason and mode", false},
    {"migrate:mm_migrate_pages", "mm_migrate_pages", HookKind::Tracepoint,
     bit(PT_EV_MIGRATE_BATCH), "migration batch totals", false},
    {"migrate:set_migration_pte", "set_migration_pte", HookKind::Tracepoint, bit(PT_EV_MIGRATE),
     "page leaves its frame (old PFN)", false},
    {"migrate:remove_migration_pte", "remove_migration_pte", HookKind::Tracepoint,
     bit(PT_EV_MIGRATE), "page arrives in its new frame (new PFN)", false},
    {"thp:set_migration_pmd", "set_migration_pmd", HookKind::Tracepoint, bit(PT_EV_MIGRATE),
     "huge page leaves its frame", false},
    {"thp:remove_migration_pmd", "remove_migration_pmd", HookKind::Tracepoint,
     bit(PT_EV_MIGRATE), "huge page arrives in its new frame", false},
};

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

int open_software_perf_event(uint64_t config, int cpu) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = config;
    attr.sample_period = 1;
    attr.disabled = 1;
    return static_cast<int>(
        ::syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

std::vector<HookStatus> probe_hooks(const std::string& btf_path) {
    std::unique_ptr<btf, BtfDeleter> kernel_btf(
        btf_path.empty() ? btf__load_vmlinux_btf() : btf__parse(btf_path.c_str(), nullptr));
    const int btf_err = kernel_btf ? 0 : errno;

    std::vector<HookStatus> out;
    for (const HookSpec& spec : kHooks) {
        HookStatus h{spec.name, spec.kind, spec.feeds, spec.role, spec.required, false, ""};
        if (spec.kind == HookKind::Tracepoint) {
            if (!kernel_btf) {
                h.why_not = errno_message("no kernel BTF", btf_err);
            } else if (btf__find_by_name_kind(kernel_btf.get(),
                                              (std::string("btf_trace_") + spec.btf_name).c_str(),
                                              BTF_KIND_TYPEDEF) < 0) {
                h.why_not = "tracepoint not in this kernel";
            } else {
                h.available = true;
            }
        } else {
            const uint64_t config = std::strcmp(spec.btf_name, "maj") == 0
                                        ? PERF_COUNT_SW_PAGE_FAULTS_MAJ
                                        : PERF_COUNT_SW_PAGE_FAULTS_MIN;
            h.available = perf_software_event_works(config);
            if (!h.available) h.why_not = "perf_event_open refused the software event";
        }
        out.push_back(std::move(h));
    }
    return out;
}

bool hook_available(const std::vector<HookStatus>& hooks, const std::string& name) {
    for (const auto& h : hooks) {
        if (h.name == name) return h.available;
    }
    return false;
}

std::string describe_features(const std::vector<HookStatus>& hooks) {
    std::string out = fmt::format("{:<34} {:<10} {}\n", "HOOK", "AVAILABLE", "GIVES");
    for (const auto& h : hooks) {
        out += fmt::format("{:<34} {:<10} {}{}\n", h.name, h.available ? "yes" : "no", h.role,
                           h.available ? "" : " (" + h.why_not + ")");
    }
    out += fmt::format("\n{:<14} {}\n", "EVENT", "SOURCE ON THIS MACHINE");
    const auto avail = [&](const char* n) { return hook_available(hooks, n); };
    for (uint16_t t = 1; t <= kEventTypeCount; ++t) {
        std::string source;
        switch (t) {
        case PT_EV_FAULT:
            if (avail("exceptions:page_fault_user")) {
                source = "exceptions:page_fault_user/kernel (entry)";
                if (avail("perf:page-faults-min") && avail("perf:page-faults-maj")) {
                    source += " + perf page-faults-min/maj (outcome, latency_ns)";
                } else {
                    source += "; no outcome or latency_ns (perf software events unavailable)";
                }
            } else if (avail("perf:page-faults-min")) {
                source = "perf page-faults-min/maj only (no access, no latency_ns)";
            }
            break;
        case PT_EV_MMAP:
        case PT_EV_MUNMAP:
        case PT_EV_MREMAP:
        case PT_EV_BRK:
        case PT_EV_MPROTECT:
        case PT_EV_MADVISE:
            if (avail("raw_syscalls:sys_enter") && avail("raw_syscalls:sys_exit")) {
                source = "raw_syscalls:sys_enter + sys_exit (filtered by pid, then syscall)";
            }
            break;
        case PT_EV_FORK: source = "sched:sched_process_fork"; break;
        case PT_EV_EXEC: source = "sched:sched_process_exec"; break;
        case PT_EV_EXIT: source = "sched:sched_process_exit"; break;
        case PT_EV_LOST: source = "per-CPU drop counters in BPF, read by the agent"; break;
        case PT_EV_TLB_FLUSH:
            if (avail("tlb:tlb_flush")) {
                source = "tlb:tlb_flush, owner from the loaded mm / sched:sched_switch";
            }
            break;
        case PT_EV_MIGRATE:
            if (avail("migrate:set_migration_pte") && avail("migrate:remove_migration_pte")) {
                source = "migrate:set/remove_migration_pte joined with pagemap frames";
            }
            break;
        case PT_EV_MIGRATE_BATCH:
            if (avail("migrate:mm_migrate_pages")) source = "migrate:mm_migrate_pages";
            break;
        }
        out += fmt::format("{:<14} {}\n", event_type_name(static_cast<EventType>(t)),
                           source.empty() ? "unavailable on this kernel" : source);
    }
    return out;
}

}  // namespace pagetrace
