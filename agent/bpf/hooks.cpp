#include "bpf/hooks.h"

#include <fmt/format.h>
#include <linux/perf_event.h>

#include <algorithm>

#include "decode/event.h"
#include "util/error.h"

namespace pagetrace {

namespace {

constexpr uint64_t bit(int type) { return PT_EVENT_BIT(type); }
constexpr uint64_t kVmaEvents = bit(PT_EV_MMAP) | bit(PT_EV_MUNMAP) | bit(PT_EV_MREMAP) |
                                bit(PT_EV_BRK) | bit(PT_EV_MPROTECT) | bit(PT_EV_MADVISE);
// The syscall hooks also name the range of a tlb_flush that a VMA syscall caused.
constexpr uint64_t kSyscallFeeds = kVmaEvents | bit(PT_EV_TLB_FLUSH);
// A migration in progress in the current task also owns the TLB flushes it causes.
// The frame index also finds the owner of a page reclaim writes to swap.
// Reclaim: the frames of its folios.
constexpr uint64_t kReclaimFeeds = bit(PT_EV_SWAP_OUT) | bit(PT_EV_EVICT);
constexpr uint64_t kMigrationFeeds =
    bit(PT_EV_MIGRATE) | bit(PT_EV_MIGRATE_BATCH) | bit(PT_EV_TLB_FLUSH);

const char* is_or_are(size_t count) { return count == 1 ? "is" : "are"; }

// The explicit fault rule: faults are lost only when neither source is whole;
// fault_around events need the entry hooks (they find the faulting address
// there). Returns the warning, if any; clears from `mask` what is lost.
std::string plan_fault_source(std::span<const HookStatus> hooks, uint64_t& mask) {
    const bool faults = mask & bit(PT_EV_FAULT);
    const bool around = mask & bit(PT_EV_FAULT_AROUND);
    if (!faults && !around) return "";
    const bool entry = fault_source_available(hooks, FaultSource::Entry);
    const bool completion = fault_source_available(hooks, FaultSource::Completion);
    const auto entry_missing = fault_source_hooks(hooks, FaultSource::Entry, true);
    const auto completion_missing = fault_source_hooks(hooks, FaultSource::Completion, true);
    if (!entry) mask &= ~bit(PT_EV_FAULT_AROUND);
    const std::string no_around = around && !entry ? "; no fault_around events" : "";
    if (!faults) {
        return entry ? "" : fmt::format("{} {} not available on this kernel: no fault_around events",
                                        hook_names(entry_missing, "/"),
                                        is_or_are(entry_missing.size()));
    }
    if (!entry && !completion) {
        mask &= ~bit(PT_EV_FAULT);
        return fmt::format("{} and {} are not available on this kernel: no fault events{}",
                           hook_names(entry_missing, "/"), hook_names(completion_missing, "/"),
                           no_around);
    }
    if (!entry) {
        return fmt::format("{} {} not available on this kernel: fault events come from perf "
                           "software events, without access or latency_ns{}",
                           hook_names(entry_missing, "/"), is_or_are(entry_missing.size()),
                           no_around);
    }
    if (!completion) {
        return fmt::format("{} {} not available: fault events have no latency_ns",
                           hook_names(completion_missing, "/"),
                           is_or_are(completion_missing.size()));
    }
    return "";
}

}  // namespace

const std::vector<Hook>& hook_table() {
    static const std::vector<Hook> table = {
        {.name = "exceptions:page_fault_user",
         .kind = HookKind::Tracepoint,
         .btf_name = "page_fault_user",
         .programs = {"pt_fault_user"},
         .feeds = bit(PT_EV_FAULT),
         .fault_source = FaultSource::Entry,
         .role = "fault entry in user mode: address, ip, access"},
        {.name = "exceptions:page_fault_kernel",
         .kind = HookKind::Tracepoint,
         .btf_name = "page_fault_kernel",
         .programs = {"pt_fault_kernel"},
         .feeds = bit(PT_EV_FAULT),
         .fault_source = FaultSource::Entry,
         .role = "fault entry in kernel mode (on user addresses)"},
        {.name = "perf:page-faults-min",
         .kind = HookKind::PerfSoftwareEvent,
         .perf_config = PERF_COUNT_SW_PAGE_FAULTS_MIN,
         .programs = {"pt_fault_minor"},
         .feeds = bit(PT_EV_FAULT),
         .fault_source = FaultSource::Completion,
         .role = "fault completion: outcome minor, latency_ns"},
        {.name = "perf:page-faults-maj",
         .kind = HookKind::PerfSoftwareEvent,
         .perf_config = PERF_COUNT_SW_PAGE_FAULTS_MAJ,
         .programs = {"pt_fault_major"},
         .feeds = bit(PT_EV_FAULT),
         .fault_source = FaultSource::Completion,
         .role = "fault completion: outcome major, latency_ns"},
        {.name = "raw_syscalls:sys_enter",
         .kind = HookKind::Tracepoint,
         .btf_name = "sys_enter",
         .programs = {"pt_sys_enter"},
         .feeds = kSyscallFeeds | bit(PT_EV_FAULT),
         .lost_without = kVmaEvents,
         .role = "VMA syscall arguments (and tlb_flush ranges); a thread's fault is over",
         .how = " (filtered by pid, then syscall)"},
        {.name = "raw_syscalls:sys_exit",
         .kind = HookKind::Tracepoint,
         .btf_name = "sys_exit",
         .programs = {"pt_sys_exit"},
         .feeds = kSyscallFeeds,
         .lost_without = kVmaEvents,
         .role = "VMA syscall results"},
        {.name = "sched:sched_process_fork",
         .kind = HookKind::Tracepoint,
         .btf_name = "sched_process_fork",
         .programs = {"pt_fork"},
         .feeds = kAllEvents,
         .lost_without = bit(PT_EV_FORK),
         .required = true,
         .role = "fork, and following children"},
        {.name = "sched:sched_process_exec",
         .kind = HookKind::Tracepoint,
         .btf_name = "sched_process_exec",
         .programs = {"pt_exec"},
         .feeds = kAllEvents,
         .lost_without = bit(PT_EV_EXEC),
         .required = true,
         .role = "exec, and starting a launched command"},
        {.name = "sched:sched_process_exit",
         .kind = HookKind::Tracepoint,
         .btf_name = "sched_process_exit",
         .programs = {"pt_exit"},
         .feeds = kAllEvents,
         .lost_without = bit(PT_EV_EXIT),
         .required = true,
         .role = "exit, and knowing when tracing is done"},
        {.name = "task:task_rename",
         .kind = HookKind::Tracepoint,
         .btf_name = "task_rename",
         .programs = {"pt_rename"},
         .feeds = kAllEvents,
         .role = "process names for attributed events"},
        {.name = "tlb:tlb_flush",
         .kind = HookKind::Tracepoint,
         .btf_name = "tlb_flush",
         .programs = {"pt_tlb_flush"},
         .feeds = bit(PT_EV_TLB_FLUSH),
         .lost_without = bit(PT_EV_TLB_FLUSH),
         .role = "TLB flushes",
         .how = ", owner from the loaded mm / sched:sched_switch"},
        {.name = "sched:sched_switch",
         .kind = HookKind::Tracepoint,
         .btf_name = "sched_switch",
         .programs = {"pt_sched_switch"},
         .feeds = bit(PT_EV_TLB_FLUSH) | bit(PT_EV_FAULT),
         .role = "owner of task-switch TLB flushes; the thread switched away from is out of its fault"},
        {.name = "migrate:mm_migrate_pages_start",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_migrate_pages_start",
         .programs = {"pt_migrate_start"},
         .feeds = kMigrationFeeds,
         .role = "migration reason and mode"},
        {.name = "migrate:mm_migrate_pages",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_migrate_pages",
         .programs = {"pt_migrate_end"},
         .feeds = kMigrationFeeds,
         .lost_without = bit(PT_EV_MIGRATE_BATCH),
         .role = "migration batch totals"},
        {.name = "migrate:set_migration_pte",
         .kind = HookKind::Tracepoint,
         .btf_name = "set_migration_pte",
         .programs = {"pt_set_migration_pte"},
         .feeds = kMigrationFeeds,
         .lost_without = bit(PT_EV_MIGRATE),
         .role = "page leaves its frame (old PFN)",
         .how = " joined with pagemap frames"},
        {.name = "migrate:remove_migration_pte",
         .kind = HookKind::Tracepoint,
         .btf_name = "remove_migration_pte",
         .programs = {"pt_remove_migration_pte"},
         .feeds = kMigrationFeeds,
         .lost_without = bit(PT_EV_MIGRATE),
         .role = "page arrives in its new frame (new PFN)"},
        {.name = "thp:set_migration_pmd",
         .kind = HookKind::Tracepoint,
         .btf_name = "set_migration_pmd",
         .programs = {"pt_set_migration_pmd"},
         .feeds = kMigrationFeeds,
         .role = "huge page leaves its frame"},
        {.name = "thp:remove_migration_pmd",
         .kind = HookKind::Tracepoint,
         .btf_name = "remove_migration_pmd",
         .programs = {"pt_remove_migration_pmd"},
         .feeds = kMigrationFeeds,
         .role = "huge page arrives in its new frame"},
        {.name = "filemap:mm_filemap_map_pages",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_filemap_map_pages",
         .programs = {"pt_filemap_map_pages"},
         .feeds = bit(PT_EV_FAULT_AROUND),
         .lost_without = bit(PT_EV_FAULT_AROUND),
         .role = "file pages mapped around a file fault (fault-around)",
         .how = ", addresses from the faulting thread's VMA"},
        {.name = "vmscan:mm_vmscan_write_folio",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_vmscan_write_folio",
         .programs = {"pt_write_folio"},
         .feeds = kReclaimFeeds,
         .lost_without = bit(PT_EV_SWAP_OUT),
         .role = "a page written to swap by reclaim",
         .how = ", owner from the frame index or the kernel's reverse map"},
        {.name = "filemap:mm_filemap_delete_from_page_cache",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_filemap_delete_from_page_cache",
         .programs = {"pt_delete_from_page_cache"},
         .feeds = kReclaimFeeds,
         .lost_without = bit(PT_EV_EVICT),
         .role = "a file page dropped from the page cache (and, once, where struct pages are)",
         .how = ", owner from the frame index or the kernel's reverse map"},
        {.name = "vmscan:mm_vmscan_direct_reclaim_begin",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_vmscan_direct_reclaim_begin",
         .programs = {"pt_direct_reclaim_begin"},
         .feeds = bit(PT_EV_RECLAIM_STALL),
         .role = "a traced thread enters direct reclaim"},
        {.name = "vmscan:mm_vmscan_direct_reclaim_end",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_vmscan_direct_reclaim_end",
         .programs = {"pt_direct_reclaim_end"},
         .feeds = bit(PT_EV_RECLAIM_STALL),
         .lost_without = bit(PT_EV_RECLAIM_STALL),
         .role = "... and leaves it (pages reclaimed)",
         .how = " (per-thread time in direct and memcg reclaim, direct compaction)"},
        {.name = "vmscan:mm_vmscan_memcg_reclaim_begin",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_vmscan_memcg_reclaim_begin",
         .programs = {"pt_memcg_reclaim_begin"},
         .feeds = bit(PT_EV_RECLAIM_STALL),
         .role = "a traced thread reclaims within its memory cgroup's limit"},
        {.name = "vmscan:mm_vmscan_memcg_reclaim_end",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_vmscan_memcg_reclaim_end",
         .programs = {"pt_memcg_reclaim_end"},
         .feeds = bit(PT_EV_RECLAIM_STALL),
         .role = "... and is done"},
        {.name = "compaction:mm_compaction_try_to_compact_pages",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_compaction_try_to_compact_pages",
         .programs = {"pt_compaction_begin"},
         .feeds = bit(PT_EV_RECLAIM_STALL),
         .role = "a traced thread enters direct compaction"},
        {.name = "compaction:mm_compaction_end",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_compaction_end",
         .programs = {"pt_compaction_end"},
         .feeds = bit(PT_EV_RECLAIM_STALL),
         .role = "... and compaction of a zone ends"},
        {.name = "ksm:ksm_merge_with_ksm_page",
         .kind = HookKind::Tracepoint,
         .btf_name = "ksm_merge_with_ksm_page",
         .programs = {"pt_ksm_merge_with_ksm_page"},
         .feeds = bit(PT_EV_KSM_MERGE),
         .lost_without = bit(PT_EV_KSM_MERGE),
         .role = "KSM merged a page into a shared frame",
         .how = ", owner from the mm, address from the rmap item"},
        {.name = "ksm:ksm_merge_one_page",
         .kind = HookKind::Tracepoint,
         .btf_name = "ksm_merge_one_page",
         .programs = {"pt_ksm_merge_one_page"},
         .feeds = bit(PT_EV_KSM_MERGE),
         .role = "KSM merged a page of zeros with the zero page"},
        {.name = "huge_memory:mm_khugepaged_scan_pmd",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_khugepaged_scan_pmd",
         .programs = {"pt_khugepaged_scan_pmd"},
         .feeds = bit(PT_EV_COLLAPSE),
         .lost_without = bit(PT_EV_COLLAPSE),
         .needs_tracefs = true,
         .role = "khugepaged or MADV_COLLAPSE made a huge page of a range",
         .how = ", owner from the mm, range from the frame index"},
        {.name = "huge_memory:mm_collapse_huge_page_isolate",
         .kind = HookKind::Tracepoint,
         .btf_name = "mm_collapse_huge_page_isolate",
         .programs = {"pt_collapse_isolate"},
         .feeds = bit(PT_EV_COLLAPSE),
         .role = "the small pages a collapse replaces, isolated",
         .how = ": the collapsed range's address from their reverse map"},
    };
    return table;
}

bool HookPlan::loads(std::string_view program) const {
    return std::find(programs.begin(), programs.end(), program) != programs.end();
}

HookPlan plan_hooks(std::span<const HookStatus> hooks, uint64_t wanted, bool fault_outcome,
                    uint32_t latency_every) {
    for (const HookStatus& h : hooks) {
        if (h.hook->required && !h.available) {
            throw Error(fmt::format("this kernel lacks {}, which pagetrace needs ({})",
                                    h.hook->name, h.why_not));
        }
    }
    HookPlan plan;
    plan.event_mask = wanted;
    if (std::string w = plan_fault_source(hooks, plan.event_mask); !w.empty()) {
        plan.warnings.push_back(std::move(w));
    }

    // Every other loss: the missing hooks that lose the same event types are
    // named together, in one warning.
    struct Loss {
        uint64_t types;
        std::vector<const Hook*> hooks;
    };
    std::vector<Loss> losses;
    for (const HookStatus& h : hooks) {
        const uint64_t lost = h.hook->lost_without & wanted;
        if (h.available || !lost) continue;
        auto same = std::find_if(losses.begin(), losses.end(),
                                 [&](const Loss& l) { return l.types == lost; });
        if (same == losses.end()) {
            losses.push_back({lost, {h.hook}});
        } else {
            same->hooks.push_back(h.hook);
        }
    }
    for (const Loss& loss : losses) {
        plan.warnings.push_back(fmt::format("{} {} not available on this kernel: no {} events",
                                            hook_names(loss.hooks, "/"),
                                            is_or_are(loss.hooks.size()),
                                            event_names(loss.types)));
        plan.event_mask &= ~loss.types;
    }

    const bool faults = (plan.event_mask & bit(PT_EV_FAULT)) != 0;
    const bool entry = fault_source_available(hooks, FaultSource::Entry);
    const bool around = (plan.event_mask & bit(PT_EV_FAULT_AROUND)) != 0;
    plan.fault_entry = (faults || around) && entry;
    plan.fault_park = faults && entry && fault_outcome;
    // Without the entry hooks the completion events are the only fault source
    // and see every fault; with them, one in latency_every.
    plan.fault_completion = faults && fault_source_available(hooks, FaultSource::Completion) &&
                            (!entry || (fault_outcome && latency_every > 0));
    if (plan.fault_completion) plan.completion_period = entry ? latency_every : 1;
    for (const HookStatus& h : hooks) {
        bool load = false;
        switch (h.hook->fault_source) {
        case FaultSource::Entry: load = plan.fault_entry; break;
        case FaultSource::Completion: load = plan.fault_completion; break;
        case FaultSource::None: load = h.available && (h.hook->feeds & plan.event_mask); break;
        }
        if (load) {
            plan.programs.insert(plan.programs.end(), h.hook->programs.begin(),
                                 h.hook->programs.end());
        }
    }
    return plan;
}

std::vector<const Hook*> fault_source_hooks(std::span<const HookStatus> hooks, FaultSource source,
                                           bool missing_only) {
    std::vector<const Hook*> out;
    for (const HookStatus& h : hooks) {
        if (h.hook->fault_source == source && !(missing_only && h.available)) {
            out.push_back(h.hook);
        }
    }
    return out;
}

bool fault_source_available(std::span<const HookStatus> hooks, FaultSource source) {
    bool any = false;
    for (const HookStatus& h : hooks) {
        if (h.hook->fault_source != source) continue;
        if (!h.available) return false;
        any = true;
    }
    return any;
}

bool required_hooks_available(std::span<const HookStatus> hooks) {
    return std::all_of(hooks.begin(), hooks.end(),
                       [](const HookStatus& h) { return !h.hook->required || h.available; });
}

std::string event_names(uint64_t mask) {
    std::string out;
    for (uint16_t t = 1; t <= kEventTypeCount; ++t) {
        if (!(mask & PT_EVENT_BIT(t))) continue;
        if (!out.empty()) out += ", ";
        out += event_type_name(static_cast<EventType>(t));
    }
    return out;
}

std::string hook_names(std::span<const Hook* const> hooks, std::string_view separator) {
    std::string out;
    std::string_view category;  // of the previous name, with its ':'
    for (const Hook* h : hooks) {
        const size_t colon = h->name.find(':');
        const std::string_view cat =
            colon == std::string_view::npos ? std::string_view() : h->name.substr(0, colon + 1);
        if (out.empty()) {
            out += h->name;
        } else {
            out += separator;
            out += cat == category ? h->name.substr(cat.size()) : h->name;
        }
        category = cat;
    }
    return out;
}

}  // namespace pagetrace
