// Which hooks of the table (hooks.h) this machine offers: probed at start
// against the kernel's BTF and perf, and told to people by `pagetrace features`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/hooks.h"

namespace pagetrace {

// Probes every hook of hook_table(), in its order, against the kernel's BTF (or
// btf_path) and perf.
std::vector<HookStatus> probe_hooks(const std::string& btf_path);

// Human text for `pagetrace features`: hooks, then the source of each event type.
std::string describe_features(std::span<const HookStatus> hooks);

// Opens the software perf event `config` (PERF_COUNT_SW_PAGE_FAULTS_MIN or
// _MAJ) for every process on `cpu`, disabled, overflowing every
// `sample_period` events, close-on-exec: the event a fault-completion program
// attaches to, and what probing that hook tries. Returns the fd, or -1 with
// errno set.
int open_software_perf_event(uint64_t config, int cpu, uint64_t sample_period = 1);

// The same event for one thread `tid` on any CPU, inherited by the threads and
// processes it creates from now on (each inherited copy runs the attached
// program too).
int open_thread_perf_event(uint64_t config, pid_t tid, uint64_t sample_period);

}  // namespace pagetrace
