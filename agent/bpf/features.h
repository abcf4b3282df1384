// Which kernel hooks pagetrace can use on this machine, and which event types
// each feeds. Probed at start: a hook the kernel lacks is switched off before
// load with one warning naming what is lost; `pagetrace features` prints it all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pagetrace {

enum class HookKind { Tracepoint, PerfSoftwareEvent };

struct HookStatus {
    std::string name;      // "exceptions:page_fault_user"
    HookKind kind;
    uint64_t feeds;        // PT_EVENT_BIT mask of the event types it produces
    std::string role;      // what it contributes, for people
    bool required = false; // pagetrace cannot trace without it
    bool available = false;
    std::string why_not;   // when not available
};

// Probes every hook against the kernel's BTF (or btf_path) and perf.
std::vector<HookStatus> probe_hooks(const std::string& btf_path);

// Whether the named hook (as in HookStatus::name) is available.
bool hook_available(const std::vector<HookStatus>& hooks, const std::string& name);

// Human text for `pagetrace features`: hooks, then the source of each event type.
std::string describe_features(const std::vector<HookStatus>& hooks);

// Opens the software perf event `config` (PERF_COUNT_SW_PAGE_FAULTS_MIN or
// _MAJ) for every process on `cpu`, disabled, sampling every event,
// close-on-exec: the event a fault-completion program attaches to, and what
// probing that hook tries. Returns the fd, or -1 with errno set.
int open_software_perf_event(uint64_t config, int cpu);

}  // namespace pagetrace
