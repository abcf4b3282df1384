// The kernel hooks pagetrace uses, each described once (hook_table()), and the
// pure decision of what to load on a kernel that has only some of them
// (plan_hooks()). Probing (features.h), program autoload and attach (tracer.h),
// the "not available" warnings, the event mask and `pagetrace features` all
// read the table; nothing else names a hook.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pagetrace/events.h"

namespace pagetrace {

// Every event type BPF can emit (PT_EVENT_BIT of 1..PT_EV_TYPE_MAX).
inline constexpr uint64_t kAllEvents = ((1ull << (PT_EV_TYPE_MAX + 1)) - 1) & ~1ull;

enum class HookKind { Tracepoint, PerfSoftwareEvent };

// Faults are the one event type with two sources: the entry tracepoints (access,
// ip, error code) and the completion perf events (outcome, latency_ns). Either
// alone makes fault events; plan_hooks() applies that rule explicitly.
enum class FaultSource { None, Entry, Completion };

// With the entry hooks, a fault's outcome comes from the faulting thread's own
// counters, and the completion events (sampled: one fault in N) give its
// latency. This N by default (--latency-every).
inline constexpr uint32_t kDefaultLatencyEvery = 64;

struct Hook {
    std::string_view name = {};  // for people: "exceptions:page_fault_user"
    HookKind kind = HookKind::Tracepoint;
    // Tracepoint: probed as the BTF typedef btf_trace_<btf_name>.
    std::string_view btf_name = {};
    // PerfSoftwareEvent: PERF_COUNT_SW_*.
    uint64_t perf_config = 0;
    // The skeleton's programs that attach to it (the perf ones per traced
    // thread by Tracer::watch_faults(), or per CPU by
    // Tracer::attach_fault_completion() when they are the only fault source).
    std::vector<std::string_view> programs = {};
    // PT_EVENT_BIT mask of the event types its programs help make: they are
    // loaded when one of them is wanted. The process lifecycle hooks feed every
    // type, since following and ending depend on them.
    uint64_t feeds = 0;
    // The event types this kernel cannot give at all without it (a subset of feeds).
    uint64_t lost_without = 0;
    FaultSource fault_source = FaultSource::None;
    bool required = false;       // pagetrace cannot trace without it
    // A classic tracepoint program (its record has fields the BTF one lacks,
    // such as a PFN): attaching needs tracefs, which the tracer mounts if it
    // must.
    bool needs_tracefs = false;
    std::string_view role = {};  // what it gives, for `pagetrace features`
    // How its lost_without types are made from it, after the hook names in the
    // EVENT list of `pagetrace features` (with its own leading punctuation).
    std::string_view how = {};
};

// The table, in the order `pagetrace features` lists it.
const std::vector<Hook>& hook_table();

// One hook of the table on this kernel.
struct HookStatus {
    const Hook* hook = nullptr;
    bool available = false;
    std::string why_not = {};  // when not available
};

// What to load, given what the kernel has and what the user asked for.
struct HookPlan {
    std::vector<std::string_view> programs = {};  // the skeleton programs to load
    uint64_t event_mask = 0;                 // the event types this run emits
    bool fault_entry = false;                // the entry tracepoint programs load
    bool fault_park = false;                 // entry parks faults for their outcome
    bool fault_completion = false;           // the completion perf programs load
    uint32_t completion_period = 0;          // ... with this sample period
    std::vector<std::string> warnings;       // one line each, for the user

    bool loads(std::string_view program) const;
};

// `hooks` has one status per table row. `wanted` is the PT_EVENT_BIT mask the
// user asked for; `fault_outcome` false (--no-fault-outcome) emits faults at
// entry, without outcome or latency; `latency_every` is N of "one fault in N
// has its latency" (0: none). Without the entry tracepoints the completion
// events are the only source, and see every fault. Throws Error if a required
// hook is missing.
HookPlan plan_hooks(std::span<const HookStatus> hooks, uint64_t wanted, bool fault_outcome,
                    uint32_t latency_every = kDefaultLatencyEvery);

// The hooks of a fault source, in table order; with missing_only, those this
// kernel lacks.
std::vector<const Hook*> fault_source_hooks(std::span<const HookStatus> hooks, FaultSource source,
                                           bool missing_only = false);

// Whether every hook of a fault source is available (false if it has none).
bool fault_source_available(std::span<const HookStatus> hooks, FaultSource source);

// Whether every required hook is available.
bool required_hooks_available(std::span<const HookStatus> hooks);

// "mmap, munmap, brk": the names of the event types in a PT_EVENT_BIT mask.
std::string event_names(uint64_t mask);

// The names of some hooks, a category said once while it repeats:
// "raw_syscalls:sys_enter/sys_exit" with separator "/".
std::string hook_names(std::span<const Hook* const> hooks, std::string_view separator);

}  // namespace pagetrace
