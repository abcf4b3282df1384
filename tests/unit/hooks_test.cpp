// The hook table and the plan made from it: what loads, which event types a
// run emits and what the user is warned of, on kernels that lack some hooks.
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/features.h"
#include "bpf/hooks.h"
#include "bpf/tracer.h"
#include "util/error.h"

using namespace pagetrace;

namespace {

constexpr uint64_t bit(int type) { return PT_EVENT_BIT(type); }
constexpr uint64_t kVma = bit(PT_EV_MMAP) | bit(PT_EV_MUNMAP) | bit(PT_EV_MREMAP) |
                          bit(PT_EV_BRK) | bit(PT_EV_MPROTECT) | bit(PT_EV_MADVISE);
constexpr uint64_t kMigration = bit(PT_EV_MIGRATE) | bit(PT_EV_MIGRATE_BATCH);

const std::set<std::string> kLifecycle = {"pt_fork", "pt_exec", "pt_exit", "pt_rename"};

// A kernel with every hook of the table except `missing`.
std::vector<HookStatus> kernel_without(std::initializer_list<std::string_view> missing = {}) {
    std::vector<HookStatus> out;
    for (const Hook& hook : hook_table()) {
        const bool lacks = std::find(missing.begin(), missing.end(), hook.name) != missing.end();
        out.push_back({&hook, !lacks, lacks ? "tracepoint not in this kernel" : ""});
    }
    for (std::string_view name : missing) {
        const bool known = std::any_of(out.begin(), out.end(),
                                       [&](const HookStatus& h) { return h.hook->name == name; });
        EXPECT_TRUE(known) << name << " is not in the hook table";
    }
    return out;
}

std::set<std::string> programs_of(const HookPlan& plan) {
    return {plan.programs.begin(), plan.programs.end()};
}

std::set<std::string> all_programs() {
    std::set<std::string> out;
    for (const Hook& hook : hook_table()) out.insert(hook.programs.begin(), hook.programs.end());
    return out;
}

std::set<std::string> with(std::set<std::string> base, std::initializer_list<const char*> more) {
    base.insert(more.begin(), more.end());
    return base;
}

std::set<std::string> without(std::set<std::string> base,
                              std::initializer_list<const char*> less) {
    for (const char* p : less) base.erase(p);
    return base;
}

const std::set<std::string> kMigrationPrograms = {
    "pt_migrate_start",     "pt_migrate_end",        "pt_set_migration_pte",
    "pt_remove_migration_pte", "pt_set_migration_pmd", "pt_remove_migration_pmd"};

std::set<std::string> operator+(std::set<std::string> a, const std::set<std::string>& b) {
    a.insert(b.begin(), b.end());
    return a;
}

// The text with every run of spaces made one (column widths aside).
std::string squeezed(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == ' ' && !out.empty() && out.back() == ' ') continue;
        out += c;
    }
    return out;
}

}  // namespace

TEST(HookTable, EveryRowIsWhole) {
    std::set<std::string_view> names;
    for (const Hook& hook : hook_table()) {
        SCOPED_TRACE(std::string(hook.name));
        EXPECT_TRUE(names.insert(hook.name).second) << "named twice";
        EXPECT_NE(hook.name.find(':'), std::string_view::npos);
        EXPECT_FALSE(hook.programs.empty());
        EXPECT_FALSE(hook.role.empty());
        EXPECT_NE(hook.feeds, 0u);
        EXPECT_EQ(hook.lost_without & ~hook.feeds, 0u) << "loses what it does not feed";
        EXPECT_EQ(hook.feeds & ~kAllEvents, 0u);
        if (hook.kind == HookKind::Tracepoint) {
            EXPECT_FALSE(hook.btf_name.empty());
        } else {
            EXPECT_NE(hook.perf_config, 0u);  // PERF_COUNT_SW_PAGE_FAULTS_MIN/MAJ are not 0
            EXPECT_EQ(hook.fault_source, FaultSource::Completion);
        }
    }
}

// Opening the object needs no privileges, so this runs everywhere.
TEST(HookTable, NamesEveryProgramOfTheSkeletonExactlyOnce) {
    std::map<std::string, const Hook*> owner;
    for (const Hook& hook : hook_table()) {
        for (std::string_view program : hook.programs) {
            EXPECT_TRUE(owner.emplace(std::string(program), &hook).second)
                << program << " is in two rows";
        }
    }
    const std::vector<BpfProgramInfo> programs = bpf_programs();
    ASSERT_FALSE(programs.empty());
    std::set<std::string> in_skeleton;
    for (const BpfProgramInfo& p : programs) {
        SCOPED_TRACE(p.name);
        in_skeleton.insert(p.name);
        const auto row = owner.find(p.name);
        ASSERT_NE(row, owner.end()) << "no hook table row names this program";
        // The row's hook is where the program's section says it attaches.
        if (row->second->kind == HookKind::Tracepoint && row->second->needs_tracefs) {
            // A classic tracepoint: "tracepoint/<category>/<name>", as the row names it.
            const std::string name(row->second->name);
            const auto colon = name.find(':');
            ASSERT_NE(colon, std::string::npos) << name;
            EXPECT_EQ(p.section, "tracepoint/" + name.substr(0, colon) + "/" +
                                     std::string(row->second->btf_name));
            EXPECT_EQ(name.substr(colon + 1), row->second->btf_name);
        } else if (row->second->kind == HookKind::Tracepoint) {
            // BTF-typed, or raw (arguments as plain values).
            const std::string name(row->second->btf_name);
            EXPECT_TRUE(p.section == "tp_btf/" + name || p.section == "raw_tp/" + name)
                << p.section;

        } else {
            EXPECT_EQ(p.section, "perf_event");
        }
    }
    for (const auto& [name, hook] : owner) {
        EXPECT_TRUE(in_skeleton.count(name)) << name << " (" << hook->name
                                             << ") is not in the skeleton";
    }
}

TEST(PlanHooks, FullKernelLoadsEverythingAndWarnsOfNothing) {
    const HookPlan plan = plan_hooks(kernel_without(), kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents);
    EXPECT_TRUE(plan.warnings.empty());
    EXPECT_TRUE(plan.fault_entry);
    EXPECT_TRUE(plan.fault_completion);
    EXPECT_EQ(programs_of(plan), all_programs());
}

TEST(PlanHooks, WithoutFaultEntryTracepointsFaultsComeFromCompletions) {
    for (bool fault_outcome : {true, false}) {
        SCOPED_TRACE(fault_outcome);
        const HookPlan plan = plan_hooks(
            kernel_without({"exceptions:page_fault_user", "exceptions:page_fault_kernel"}),
            kAllEvents, fault_outcome);
        // fault_around events find their address through the entry hooks: lost too.
        EXPECT_EQ(plan.event_mask, kAllEvents & ~bit(PT_EV_FAULT_AROUND));
        EXPECT_FALSE(plan.fault_entry);
        EXPECT_TRUE(plan.fault_completion);  // even with --no-fault-outcome: the only source
        EXPECT_EQ(programs_of(plan), without(all_programs(), {"pt_fault_user", "pt_fault_kernel",
                                                              "pt_filemap_map_pages"}));
        EXPECT_EQ(plan.warnings,
                  std::vector<std::string>{
                      "exceptions:page_fault_user/page_fault_kernel are not available on this "
                      "kernel: fault events come from perf software events, without access or "
                      "latency_ns; no fault_around events"});
    }
}

TEST(PlanHooks, OneMissingEntryTracepointIsNamedAlone) {
    const HookPlan plan =
        plan_hooks(kernel_without({"exceptions:page_fault_kernel"}), kAllEvents, true);
    EXPECT_FALSE(plan.fault_entry);
    // Half an entry source is no entry source: neither entry program loads.
    EXPECT_FALSE(plan.loads("pt_fault_user"));
    EXPECT_TRUE(plan.loads("pt_fault_minor"));
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_EQ(plan.warnings[0].rfind("exceptions:page_fault_kernel is not available", 0), 0u)
        << plan.warnings[0];
}

TEST(PlanHooks, FaultAroundAloneLoadsTheEntryHooksToo) {
    const HookPlan plan = plan_hooks(kernel_without(), bit(PT_EV_FAULT_AROUND), true);
    EXPECT_EQ(plan.event_mask, bit(PT_EV_FAULT_AROUND));
    EXPECT_TRUE(plan.fault_entry);  // they park the fault whose address fault-around needs
    EXPECT_FALSE(plan.fault_completion);
    EXPECT_TRUE(plan.loads("pt_filemap_map_pages"));
    EXPECT_TRUE(plan.loads("pt_fault_user"));
    EXPECT_FALSE(plan.loads("pt_fault_minor"));
}

TEST(PlanHooks, WithoutPerfSoftwareEventsFaultsHaveNoLatency) {
    const HookPlan plan = plan_hooks(
        kernel_without({"perf:page-faults-min", "perf:page-faults-maj"}), kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents);
    EXPECT_TRUE(plan.fault_entry);
    EXPECT_FALSE(plan.fault_completion);
    EXPECT_EQ(programs_of(plan), without(all_programs(), {"pt_fault_minor", "pt_fault_major"}));
    EXPECT_EQ(plan.warnings, std::vector<std::string>{
                                 "perf:page-faults-min/page-faults-maj are not available: fault "
                                 "events have no latency_ns"});
    // The outcome comes from the threads' own counters.
    EXPECT_TRUE(plan.fault_park);
}

TEST(PlanHooks, WithoutAnyFaultSourceThereAreNoFaultEvents) {
    const HookPlan plan =
        plan_hooks(kernel_without({"exceptions:page_fault_user", "exceptions:page_fault_kernel",
                                   "perf:page-faults-min", "perf:page-faults-maj"}),
                   kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents & ~bit(PT_EV_FAULT) & ~bit(PT_EV_FAULT_AROUND));
    EXPECT_FALSE(plan.fault_entry);
    EXPECT_FALSE(plan.fault_completion);
    EXPECT_EQ(programs_of(plan),
              without(all_programs(), {"pt_fault_user", "pt_fault_kernel", "pt_fault_minor",
                                       "pt_fault_major", "pt_filemap_map_pages"}));
    EXPECT_EQ(plan.warnings, std::vector<std::string>{
                                 "exceptions:page_fault_user/page_fault_kernel and "
                                 "perf:page-faults-min/page-faults-maj are not available on "
                                 "this kernel: no fault events; no fault_around events"});
}

TEST(PlanHooks, WithoutRawSyscallsThereAreNoVmaEvents) {
    const HookPlan plan = plan_hooks(
        kernel_without({"raw_syscalls:sys_enter", "raw_syscalls:sys_exit"}), kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents & ~kVma);
    EXPECT_EQ(programs_of(plan), without(all_programs(), {"pt_sys_enter", "pt_sys_exit"}));
    EXPECT_EQ(plan.warnings,
              std::vector<std::string>{"raw_syscalls:sys_enter/sys_exit are not available on "
                                       "this kernel: no mmap, munmap, mremap, brk, mprotect, "
                                       "madvise events"});
}

TEST(PlanHooks, OneMissingSyscallHookLosesTheVmaEventsAndIsNamedAlone) {
    const HookPlan plan = plan_hooks(kernel_without({"raw_syscalls:sys_exit"}), kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents & ~kVma);
    // sys_enter still names the range of a tlb_flush.
    EXPECT_TRUE(plan.loads("pt_sys_enter"));
    EXPECT_EQ(plan.warnings,
              std::vector<std::string>{"raw_syscalls:sys_exit is not available on this kernel: "
                                       "no mmap, munmap, mremap, brk, mprotect, madvise events"});
}

TEST(PlanHooks, WithoutTlbFlushThereAreNoTlbEvents) {
    const HookPlan plan = plan_hooks(kernel_without({"tlb:tlb_flush"}), kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents & ~bit(PT_EV_TLB_FLUSH));
    // sched_switch still ends faults of the threads switched away from.
    EXPECT_EQ(programs_of(plan), without(all_programs(), {"pt_tlb_flush"}));
    EXPECT_EQ(plan.warnings, std::vector<std::string>{
                                 "tlb:tlb_flush is not available on this kernel: no tlb_flush "
                                 "events"});
}

TEST(PlanHooks, WithoutSchedSwitchNothingIsLost) {
    const HookPlan plan = plan_hooks(kernel_without({"sched:sched_switch"}), kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents);
    EXPECT_TRUE(plan.warnings.empty());
    EXPECT_EQ(programs_of(plan), without(all_programs(), {"pt_sched_switch"}));
}

TEST(PlanHooks, WithoutMigrationTracepointsThereAreNoMigrationEvents) {
    const HookPlan plan = plan_hooks(
        kernel_without({"migrate:mm_migrate_pages_start", "migrate:mm_migrate_pages",
                        "migrate:set_migration_pte", "migrate:remove_migration_pte",
                        "thp:set_migration_pmd", "thp:remove_migration_pmd"}),
        kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents & ~kMigration);
    EXPECT_EQ(programs_of(plan), [] {
        std::set<std::string> rest = all_programs();
        for (const auto& p : kMigrationPrograms) rest.erase(p);
        return rest;
    }());
    EXPECT_EQ(plan.warnings,
              (std::vector<std::string>{
                  "migrate:mm_migrate_pages is not available on this kernel: no migrate_batch "
                  "events",
                  "migrate:set_migration_pte/remove_migration_pte are not available on this "
                  "kernel: no migrate events"}));
}

TEST(PlanHooks, WithoutTheHugePageMigrationHooksNothingIsLost) {
    const HookPlan plan = plan_hooks(
        kernel_without({"thp:set_migration_pmd", "thp:remove_migration_pmd"}), kAllEvents, true);
    EXPECT_EQ(plan.event_mask, kAllEvents);
    EXPECT_TRUE(plan.warnings.empty());
    EXPECT_FALSE(plan.loads("pt_set_migration_pmd"));
    EXPECT_TRUE(plan.loads("pt_set_migration_pte"));
}

TEST(PlanHooks, EventSubsetsLoadOnlyWhatFeedsThem) {
    const auto plan_for = [](uint64_t wanted) {
        return plan_hooks(kernel_without(), wanted, true);
    };
    const HookPlan faults = plan_for(bit(PT_EV_FAULT));
    EXPECT_EQ(faults.event_mask, bit(PT_EV_FAULT));
    // The syscall entry and context switches end a thread's parked fault.
    EXPECT_EQ(programs_of(faults),
              with(kLifecycle, {"pt_fault_user", "pt_fault_kernel", "pt_fault_minor",
                                "pt_fault_major", "pt_sys_enter", "pt_sched_switch"}));

    const HookPlan mmap = plan_for(bit(PT_EV_MMAP));
    EXPECT_FALSE(mmap.fault_entry);
    EXPECT_FALSE(mmap.fault_completion);
    EXPECT_EQ(programs_of(mmap), with(kLifecycle, {"pt_sys_enter", "pt_sys_exit"}));

    const HookPlan exits = plan_for(bit(PT_EV_EXIT));
    EXPECT_EQ(programs_of(exits), kLifecycle);

    // TLB flushes take their range from the syscall hooks and their owner
    // from sched_switch or a migration in progress.
    const HookPlan tlb = plan_for(bit(PT_EV_TLB_FLUSH));
    EXPECT_EQ(programs_of(tlb),
              with(kLifecycle, {"pt_tlb_flush", "pt_sched_switch", "pt_sys_enter",
                                "pt_sys_exit"}) + kMigrationPrograms);

    const HookPlan migrate = plan_for(bit(PT_EV_MIGRATE));
    EXPECT_EQ(programs_of(migrate), kLifecycle + kMigrationPrograms);

    for (const HookPlan* plan : {&faults, &mmap, &exits, &tlb, &migrate}) {
        EXPECT_TRUE(plan->warnings.empty());
    }
}

TEST(PlanHooks, MissingHooksOfUnwantedTypesAreNotWarnedOf) {
    const HookPlan plan =
        plan_hooks(kernel_without({"tlb:tlb_flush", "raw_syscalls:sys_enter",
                                   "perf:page-faults-min", "migrate:set_migration_pte"}),
                   bit(PT_EV_EXEC) | bit(PT_EV_FORK), true);
    EXPECT_EQ(plan.event_mask, bit(PT_EV_EXEC) | bit(PT_EV_FORK));
    EXPECT_TRUE(plan.warnings.empty());
    EXPECT_EQ(programs_of(plan), kLifecycle);
}

TEST(PlanHooks, AWarningNamesOnlyTheWantedTypesItLoses) {
    const HookPlan plan = plan_hooks(kernel_without({"raw_syscalls:sys_enter"}),
                                     bit(PT_EV_MMAP) | bit(PT_EV_BRK) | bit(PT_EV_FAULT), true);
    EXPECT_EQ(plan.event_mask, bit(PT_EV_FAULT));
    EXPECT_EQ(plan.warnings, std::vector<std::string>{
                                 "raw_syscalls:sys_enter is not available on this kernel: no "
                                 "mmap, brk events"});
}

TEST(PlanHooks, NoFaultOutcomeLeavesTheCompletionEventsOut) {
    const HookPlan plan = plan_hooks(kernel_without(), kAllEvents, false);
    EXPECT_EQ(plan.event_mask, kAllEvents);
    EXPECT_TRUE(plan.fault_entry);
    EXPECT_FALSE(plan.fault_park);
    EXPECT_FALSE(plan.fault_completion);
    EXPECT_TRUE(plan.warnings.empty());
    EXPECT_EQ(programs_of(plan), without(all_programs(), {"pt_fault_minor", "pt_fault_major"}));
}

TEST(PlanHooks, LatencyOfOneFaultInNIsTheCompletionEventsSamplePeriod) {
    const HookPlan sampled = plan_hooks(kernel_without(), kAllEvents, true, 16);
    EXPECT_TRUE(sampled.fault_park);
    EXPECT_TRUE(sampled.fault_completion);
    EXPECT_EQ(sampled.completion_period, 16u);
    const HookPlan every = plan_hooks(kernel_without(), kAllEvents, true, 1);
    EXPECT_EQ(every.completion_period, 1u);
    // No latency: outcomes from the counters, no perf events at all.
    const HookPlan none = plan_hooks(kernel_without(), kAllEvents, true, 0);
    EXPECT_TRUE(none.fault_park);
    EXPECT_FALSE(none.fault_completion);
    EXPECT_EQ(programs_of(none), without(all_programs(), {"pt_fault_minor", "pt_fault_major"}));
    // Without the entry hooks the completion events are the only source: every fault.
    const HookPlan only = plan_hooks(
        kernel_without({"exceptions:page_fault_user", "exceptions:page_fault_kernel"}), kAllEvents,
        true, 16);
    EXPECT_TRUE(only.fault_completion);
    EXPECT_FALSE(only.fault_park);
    EXPECT_EQ(only.completion_period, 1u);
}

TEST(PlanHooks, AMissingRequiredHookStopsPagetrace) {
    try {
        plan_hooks(kernel_without({"sched:sched_process_exec"}), kAllEvents, true);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(),
                     "this kernel lacks sched:sched_process_exec, which pagetrace needs "
                     "(tracepoint not in this kernel)");
    }
    EXPECT_FALSE(required_hooks_available(kernel_without({"sched:sched_process_fork"})));
    EXPECT_TRUE(required_hooks_available(kernel_without({"task:task_rename"})));
}

TEST(HookNames, SayTheCategoryOnceWhileItRepeats) {
    const auto& t = hook_table();
    const auto row = [&](std::string_view name) {
        return &*std::find_if(t.begin(), t.end(), [&](const Hook& h) { return h.name == name; });
    };
    const std::vector<const Hook*> hooks = {row("raw_syscalls:sys_enter"),
                                            row("raw_syscalls:sys_exit"), row("tlb:tlb_flush"),
                                            row("sched:sched_switch")};
    EXPECT_EQ(hook_names(hooks, "/"), "raw_syscalls:sys_enter/sys_exit/tlb:tlb_flush/"
                                      "sched:sched_switch");
    EXPECT_EQ(hook_names(std::span(hooks).first(2), " + "), "raw_syscalls:sys_enter + sys_exit");
    EXPECT_EQ(hook_names({}, "/"), "");
}

TEST(DescribeFeatures, NamesASourceForEveryEventTypeOnAFullKernel) {
    const std::string text = describe_features(kernel_without());
    EXPECT_EQ(text.find("unavailable"), std::string::npos) << text;
    EXPECT_NE(text.find("\nmmap           raw_syscalls:sys_enter + sys_exit (filtered by pid, "
                        "then syscall)\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\ntlb_flush      tlb:tlb_flush, owner from the loaded mm / "
                        "sched:sched_switch\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nfork           sched:sched_process_fork\n"), std::string::npos);
    EXPECT_NE(text.find("\nlost           per-CPU drop counters in BPF, read by the agent\n"),
              std::string::npos);
    EXPECT_NE(squeezed(text).find("\nexceptions:page_fault_user yes fault entry in user "
                                  "mode: address, ip, access\n"),
              std::string::npos)
        << text;
    // The hook column fits the longest name: every GIVES starts in one column.
    const size_t gives = text.find("GIVES");
    size_t line = text.find('\n') + 1;
    for (; line < text.size() && text[line] != '\n'; line = text.find('\n', line) + 1) {
        EXPECT_EQ(text[line + gives - 1], ' ') << text.substr(line, 80);
        EXPECT_NE(text[line + gives], ' ') << text.substr(line, 80);
    }
}

TEST(DescribeFeatures, SaysWhatIsMissingAndWhy) {
    const std::string text = describe_features(
        kernel_without({"tlb:tlb_flush", "exceptions:page_fault_user",
                        "exceptions:page_fault_kernel"}));
    EXPECT_NE(squeezed(text).find("\ntlb:tlb_flush no TLB flushes (tracepoint not in this "
                                  "kernel)\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\ntlb_flush      unavailable on this kernel\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("\nfault          perf:page-faults-min/page-faults-maj only (no access, "
                        "no latency_ns)\n"),
              std::string::npos)
        << text;
    // Entry without completion.
    const std::string no_perf =
        describe_features(kernel_without({"perf:page-faults-maj"}));
    EXPECT_NE(no_perf.find("\nfault          exceptions:page_fault_user/page_fault_kernel "
                           "(entry) + the thread's fault counters (outcome); no latency_ns "
                           "(perf software events unavailable)\n"),
              std::string::npos)
        << no_perf;
}
