#include "bpf/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "decode/event.h"
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
    return errno_message("loading pagetrace's BPF programs failed (run with -vv for the "
                         "verifier log)",
                         err);
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

}  // namespace

void route_libbpf_logs() { libbpf_set_print(libbpf_log); }

std::vector<int> online_cpus() {
    std::ifstream in("/sys/devices/system/cpu/online");
    std::string text;
    std::getline(in, text);
    std::vector<int> cpus;
    std::istringstream parts(text);
    std::string part;
    while (std::getline(parts, part, ',')) {
        const auto dash = part.find('-');
        try {
            const int first = std::stoi(part.substr(0, dash));
            const int last = dash == std::string::npos ? first : std::stoi(part.substr(dash + 1));
            for (int c = first; c <= last; ++c) cpus.push_back(c);
        } catch (const std::exception&) {
            throw Error("cannot parse /sys/devices/system/cpu/online: '" + text + "'");
        }
    }
    if (cpus.empty()) throw Error("cannot read the online CPUs from /sys/devices/system/cpu/online");
    return cpus;
}

void Tracer::SkeletonDeleter::operator()(pagetrace_bpf* skel) const {
    pagetrace_bpf__destroy(skel);
}

void Tracer::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

Tracer::Tracer(const TracerOptions& options)
    : ring_bytes_(options.ring_bytes),
      event_mask_(options.event_mask),
      max_frames_(options.max_frames) {
    hooks_ = probe_hooks(options.btf_path);
    for (const auto& h : hooks_) {
        if (h.required && !h.available) {
            throw Error("this kernel lacks " + h.name + ", which pagetrace needs (" + h.why_not +
                        ")");
        }
    }

    LIBBPF_OPTS(bpf_object_open_opts, open_opts);
    if (!options.btf_path.empty()) open_opts.btf_custom_path = options.btf_path.c_str();
    skel_.reset(pagetrace_bpf__open_opts(&open_opts));
    if (!skel_) throw Error(errno_message("opening the BPF object failed", errno));

    num_cpus_ = libbpf_num_possible_cpus();
    if (num_cpus_ <= 0) throw Error(errno_message("cannot count possible CPUs", -num_cpus_));

    // Each program: the hook it needs and the event types it serves. A program
    // is loaded only if the user wants what it gives and the kernel has its hook.
    struct Program {
        bpf_program* prog;
        bpf_link** link;
        const char* hook;
        uint64_t serves;
    };
    const uint64_t lifecycle = ~0ull;  // always: following and ending depend on them
    const uint64_t vma = PT_EVENT_BIT(PT_EV_MMAP) | PT_EVENT_BIT(PT_EV_MUNMAP) |
                         PT_EVENT_BIT(PT_EV_MREMAP) | PT_EVENT_BIT(PT_EV_BRK) |
                         PT_EVENT_BIT(PT_EV_MPROTECT) | PT_EVENT_BIT(PT_EV_MADVISE) |
                         PT_EVENT_BIT(PT_EV_TLB_FLUSH);
    const uint64_t migration = PT_EVENT_BIT(PT_EV_MIGRATE) | PT_EVENT_BIT(PT_EV_MIGRATE_BATCH) |
                               PT_EVENT_BIT(PT_EV_TLB_FLUSH);
    auto& p = skel_->progs;
    auto& l = skel_->links;
    const Program programs[] = {
        {p.pt_fault_user, &l.pt_fault_user, "exceptions:page_fault_user", PT_EVENT_BIT(PT_EV_FAULT)},
        {p.pt_fault_kernel, &l.pt_fault_kernel, "exceptions:page_fault_kernel",
         PT_EVENT_BIT(PT_EV_FAULT)},
        {p.pt_sys_enter, &l.pt_sys_enter, "raw_syscalls:sys_enter", vma},
        {p.pt_sys_exit, &l.pt_sys_exit, "raw_syscalls:sys_exit", vma},
        {p.pt_fork, &l.pt_fork, "sched:sched_process_fork", lifecycle},
        {p.pt_exec, &l.pt_exec, "sched:sched_process_exec", lifecycle},
        {p.pt_exit, &l.pt_exit, "sched:sched_process_exit", lifecycle},
        {p.pt_rename, &l.pt_rename, "task:task_rename", lifecycle},
        {p.pt_tlb_flush, &l.pt_tlb_flush, "tlb:tlb_flush", PT_EVENT_BIT(PT_EV_TLB_FLUSH)},
        {p.pt_sched_switch, &l.pt_sched_switch, "sched:sched_switch",
         PT_EVENT_BIT(PT_EV_TLB_FLUSH)},
        {p.pt_migrate_start, &l.pt_migrate_start, "migrate:mm_migrate_pages_start", migration},
        {p.pt_migrate_end, &l.pt_migrate_end, "migrate:mm_migrate_pages", migration},
        {p.pt_set_migration_pte, &l.pt_set_migration_pte, "migrate:set_migration_pte", migration},
        {p.pt_remove_migration_pte, &l.pt_remove_migration_pte, "migrate:remove_migration_pte",
         migration},
        {p.pt_set_migration_pmd, &l.pt_set_migration_pmd, "thp:set_migration_pmd", migration},
        {p.pt_remove_migration_pmd, &l.pt_remove_migration_pmd, "thp:remove_migration_pmd",
         migration},
    };

    // What this kernel cannot give, said once, before load.
    const auto avail = [&](const char* hook) { return hook_available(hooks_, hook); };
    const auto lose = [&](uint64_t types, const std::string& hook) {
        const uint64_t lost = types & event_mask_;
        if (!lost) return;
        spdlog::warn("{} is not available on this kernel: no {} events", hook, event_names(lost));
        event_mask_ &= ~lost;
    };
    const bool fault_entry = avail("exceptions:page_fault_user") &&
                             avail("exceptions:page_fault_kernel");
    const bool fault_completion = avail("perf:page-faults-min") && avail("perf:page-faults-maj");
    if (!fault_entry && !fault_completion) {
        lose(PT_EVENT_BIT(PT_EV_FAULT), "exceptions:page_fault_user/kernel");
    } else if (!fault_entry && (event_mask_ & PT_EVENT_BIT(PT_EV_FAULT))) {
        spdlog::warn("exceptions:page_fault_user/kernel are not available on this kernel: fault "
                     "events come from perf software events, without access or latency_ns");
    } else if (!fault_completion && (event_mask_ & PT_EVENT_BIT(PT_EV_FAULT))) {
        spdlog::warn("perf page-fault software events are not available: fault events have no "
                     "outcome or latency_ns");
    }
    if (!avail("raw_syscalls:sys_enter") || !avail("raw_syscalls:sys_exit")) {
        lose(vma & ~PT_EVENT_BIT(PT_EV_TLB_FLUSH), "raw_syscalls:sys_enter/sys_exit");
    }
    if (!avail("tlb:tlb_flush")) lose(PT_EVENT_BIT(PT_EV_TLB_FLUSH), "tlb:tlb_flush");
    if (!avail("migrate:set_migration_pte") || !avail("migrate:remove_migration_pte")) {
        lose(PT_EVENT_BIT(PT_EV_MIGRATE), "migrate:set/remove_migration_pte");
    }
    if (!avail("migrate:mm_migrate_pages")) {
        lose(PT_EVENT_BIT(PT_EV_MIGRATE_BATCH), "migrate:mm_migrate_pages");
    }

    for (const Program& prog : programs) {
        const bool wanted = (prog.serves & event_mask_) != 0;
        bpf_program__set_autoload(prog.prog, wanted && avail(prog.hook));
    }
    // Without the entry hooks the completion events are the only fault source.
    fault_completion_ = fault_completion && (event_mask_ & PT_EVENT_BIT(PT_EV_FAULT)) &&
                        (options.fault_outcome || !fault_entry);
    bpf_program__set_autoload(p.pt_fault_minor, fault_completion_);
    bpf_program__set_autoload(p.pt_fault_major, fault_completion_);

    skel_->rodata->pt_cfg_follow_children = options.follow_children ? 1 : 0;
    if (options.match_comm.size() >= PT_COMM_LEN) {
        throw Error("--comm " + options.match_comm + ": process names have at most " +
                    std::to_string(PT_COMM_LEN - 1) + " characters");
    }
    std::memcpy(const_cast<char*>(skel_->rodata->pt_cfg_match_comm), options.match_comm.c_str(),
                options.match_comm.size() + 1);
    skel_->rodata->pt_cfg_match_cgroup = options.match_cgroup_id;
    skel_->rodata->pt_cfg_event_mask = event_mask_;
    skel_->rodata->pt_cfg_fault_entry = fault_entry ? 1 : 0;
    skel_->rodata->pt_cfg_fault_completion = fault_completion_ ? 1 : 0;
    // Wake the consumer once a quarter of the ring is waiting; otherwise it
    // drains on its own timer.
    skel_->rodata->pt_cfg_wakeup_bytes = options.ring_bytes / 4;
    if (int err = bpf_map__set_max_entries(skel_->maps.pt_events,
                                           static_cast<uint32_t>(options.ring_bytes))) {
        throw Error(errno_message("setting the ring buffer size", -err));
    }
    if (int err = bpf_map__set_max_entries(skel_->maps.pt_frames, options.max_frames)) {
        throw Error(errno_message("setting the frame index size", -err));
    }

    if (int err = pagetrace_bpf__load(skel_.get())) throw Error(load_error_message(-err));

    for (const Program& prog : programs) {
        if (!bpf_program__autoload(prog.prog)) continue;
        *prog.link = bpf_program__attach(prog.prog);
        if (!*prog.link) {
            const int err = errno;
            throw Error(errno_message(std::string("attaching BPF program ") +
                                          bpf_program__name(prog.prog) + " to " + prog.hook,
                                      err));
        }
    }
    if (fault_completion_) attach_fault_completion();
    spdlog::debug("BPF programs attached; ring buffer {} bytes, {} possible CPUs; events: {}",
                  options.ring_bytes, num_cpus_, event_names(event_mask_));
}

// The software page-fault events fire when a fault completes; one per CPU and
// kind, each running the matching BPF program.
void Tracer::attach_fault_completion() {
    for (int cpu : online_cpus()) {
        for (const auto& [config, prog] :
             {std::pair{PERF_COUNT_SW_PAGE_FAULTS_MIN, skel_->progs.pt_fault_minor},
              std::pair{PERF_COUNT_SW_PAGE_FAULTS_MAJ, skel_->progs.pt_fault_major}}) {
            const int fd = open_software_perf_event(config, cpu);
            if (fd < 0) {
                throw Error(errno_message("opening the page-fault perf event on CPU " +
                                              std::to_string(cpu),
                                          errno));
            }
            bpf_link* link = bpf_program__attach_perf_event(prog, fd);
            if (!link) {
                const int err = errno;
                ::close(fd);
                throw Error(errno_message("attaching to the page-fault perf event on CPU " +
                                              std::to_string(cpu),
                                          err));
            }
            // The link owns the perf event fd from here and closes it.
            perf_links_.emplace_back(link);
        }
    }
}

Tracer::~Tracer() {
    perf_links_.clear();  // before the programs they run go away
}

// Threads keep what they looked up in pt_targets until this generation moves.
void Tracer::targets_changed() {
    __atomic_fetch_add(&skel_->bss->pt_targets_gen, 1, __ATOMIC_SEQ_CST);
}

void Tracer::add_target(pid_t tgid, uint32_t state, const std::string& comm) {
    const uint32_t key = static_cast<uint32_t>(tgid);
    pt_target value{};
    value.state = state;
    std::strncpy(value.comm, comm.c_str(), sizeof(value.comm) - 1);
    if (bpf_map__update_elem(skel_->maps.pt_targets, &key, sizeof(key), &value, sizeof(value),
                             BPF_ANY)) {
        throw Error(errno_message("adding pid " + std::to_string(tgid) + " to the filter", errno));
    }
    targets_changed();
}

void Tracer::remove_target(pid_t tgid) {
    const uint32_t key = static_cast<uint32_t>(tgid);
    bpf_map__delete_elem(skel_->maps.pt_targets, &key, sizeof(key), 0);
    targets_changed();
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

bool Tracer::tracks_frames() const {
    return (event_mask_ & (PT_EVENT_BIT(PT_EV_MIGRATE) | PT_EVENT_BIT(PT_EV_MIGRATE_BATCH))) != 0;
}

size_t Tracer::index_frames(std::span<const uint64_t> pfns,
                            std::span<const pt_frame_owner> owners) {
    const int fd = bpf_map__fd(skel_->maps.pt_frames);
    const size_t total = std::min(pfns.size(), owners.size());
    size_t done = 0;
    size_t stored = 0;
    // One syscall per batch; a full map stops a batch, and the rest is not stored.
    while (done < total) {
        __u32 count = static_cast<__u32>(total - done);
        const int err = bpf_map_update_batch(fd, pfns.data() + done, owners.data() + done, &count,
                                             nullptr);
        stored += count;
        done += count;
        if (err == 0) continue;
        if (errno == E2BIG || errno == ENOMEM || errno == ENOSPC) break;
        // Anything else: skip the element it stopped at and go on.
        spdlog::debug("frame index update: {}", std::strerror(errno));
        ++done;
    }
    return stored;
}

void Tracer::unindex_frames(std::span<const uint64_t> pfns) {
    const int fd = bpf_map__fd(skel_->maps.pt_frames);
    size_t done = 0;
    // A batch stops at the first key the map does not hold; skip it, go on.
    while (done < pfns.size()) {
        __u32 count = static_cast<__u32>(pfns.size() - done);
        const int err = bpf_map_delete_batch(fd, pfns.data() + done, &count, nullptr);
        done += count;
        if (err != 0) ++done;
    }
}

}  // namespace pagetrace
