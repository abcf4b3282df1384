#include "bpf/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "bpf/features.h"
#include "proc/pagemap.h"
#include "proc/process_info.h"
#include "util/unique_fd.h"
#include "pagetrace_bpf.skel.h"
#include "util/error.h"

namespace pagetrace {

namespace {

// One message may be long (a verifier log): it is passed on whole, a line at a time.
int libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
    va_list again;
    va_copy(again, args);
    const int n = std::vsnprintf(nullptr, 0, format, args);
    std::string text(n > 0 ? static_cast<size_t>(n) : 0, '\0');
    if (n > 0) std::vsnprintf(text.data(), text.size() + 1, format, again);
    va_end(again);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        switch (level) {
        case LIBBPF_WARN: spdlog::warn("libbpf: {}", line); break;
        case LIBBPF_INFO: spdlog::debug("libbpf: {}", line); break;
        case LIBBPF_DEBUG: spdlog::trace("libbpf: {}", line); break;
        }
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

std::vector<BpfProgramInfo> bpf_programs() {
    std::unique_ptr<pagetrace_bpf, decltype(&pagetrace_bpf__destroy)> skel(
        pagetrace_bpf__open(), &pagetrace_bpf__destroy);
    if (!skel) throw Error(errno_message("opening the BPF object failed", errno));
    std::vector<BpfProgramInfo> out;
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, skel->obj) {
        out.push_back({bpf_program__name(prog), bpf_program__section_name(prog)});
    }
    return out;
}

void Tracer::SkeletonDeleter::operator()(pagetrace_bpf* skel) const {
    pagetrace_bpf__destroy(skel);
}

void Tracer::LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

Tracer::Tracer(const TracerOptions& options)
    : max_frames_(options.max_frames) {
    // What to load: the hook table against this kernel and the user's wishes.
    const HookPlan plan =
        plan_hooks(probe_hooks(options.btf_path), options.event_mask, options.fault_outcome,
                   options.latency_every);
    event_mask_ = plan.event_mask;
    fault_completion_ = plan.fault_completion;
    completion_period_ = plan.completion_period;

    LIBBPF_OPTS(bpf_object_open_opts, open_opts);
    if (!options.btf_path.empty()) open_opts.btf_custom_path = options.btf_path.c_str();
    skel_.reset(pagetrace_bpf__open_opts(&open_opts));
    if (!skel_) throw Error(errno_message("opening the BPF object failed", errno));

    num_cpus_ = libbpf_num_possible_cpus();
    if (num_cpus_ <= 0) throw Error(errno_message("cannot count possible CPUs", -num_cpus_));

    // What this kernel cannot give, said once, before load.
    for (const std::string& warning : plan.warnings) spdlog::warn("{}", warning);
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, skel_->obj) {
        bpf_program__set_autoload(prog, plan.loads(bpf_program__name(prog)));
    }

    skel_->rodata->pt_cfg_follow_children = options.follow_children ? 1 : 0;
    if (options.match_comm.size() >= PT_COMM_LEN) {
        throw Error("--comm " + options.match_comm + ": process names have at most " +
                    std::to_string(PT_COMM_LEN - 1) + " characters");
    }
    std::memcpy(const_cast<char*>(skel_->rodata->pt_cfg_match_comm), options.match_comm.c_str(),
                options.match_comm.size() + 1);
    skel_->rodata->pt_cfg_match_cgroup = options.match_cgroup_id;
    skel_->rodata->pt_cfg_event_mask = event_mask_;
    skel_->rodata->pt_cfg_fault_entry = plan.fault_entry ? 1 : 0;
    skel_->rodata->pt_cfg_fault_completion = fault_completion_ ? 1 : 0;
    skel_->rodata->pt_cfg_fault_park = plan.fault_park ? 1 : 0;
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

    attach_tracepoints();
    if (bpf_program__autoload(skel_->progs.pt_delete_from_page_cache)) calibrate_frames();
    // With the entry hooks, latency is sampled in the traced processes only
    // (watch_faults); without them the completion events are the fault source
    // and must see every process from the start.
    per_process_completion_ = fault_completion_ && plan.fault_entry;
    if (fault_completion_ && !per_process_completion_) attach_fault_completion();
    spdlog::debug("BPF programs attached; ring buffer {} bytes, {} possible CPUs; events: {}",
                  options.ring_bytes, num_cpus_, event_names(event_mask_));
}

// Every loaded program of a tracepoint hook, attached where its section says.
void Tracer::attach_tracepoints() {
    for (const Hook& hook : hook_table()) {
        if (hook.kind != HookKind::Tracepoint) continue;
        for (std::string_view name : hook.programs) {
            bpf_program* prog =
                bpf_object__find_program_by_name(skel_->obj, std::string(name).c_str());
            if (!prog || !bpf_program__autoload(prog)) continue;
            if (hook.needs_tracefs) tracefs_.ensure(std::string(hook.name).c_str());
            bpf_link* link = bpf_program__attach(prog);
            if (!link) {
                const int err = errno;
                throw Error(errno_message(fmt::format("attaching BPF program {} to {}", name,
                                                      hook.name),
                                          err));
            }
            tracepoint_links_.emplace_back(link);
        }
    }
}

// Where the kernel keeps its struct pages, so that BPF can tell a folio's PFN
// (frames.bpf.h): the agent writes a page of a memory file of its own, reads
// its PFN in its pagemap and truncates the file; the eviction program, seeing
// the agent, keeps the folio pointer the kernel drops. Two pages must agree.
void Tracer::calibrate_frames() {
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    std::string why;
    std::optional<uint64_t> base;
    for (int i = 0; i < 2 && why.empty(); ++i) {
        UniqueFd file(::memfd_create("pagetrace-frames", MFD_CLOEXEC));
        if (!file.valid() || ::ftruncate(file.get(), static_cast<off_t>(page)) != 0) {
            why = errno_message("memfd", errno);
            break;
        }
        void* mem = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, file.get(), 0);
        if (mem == MAP_FAILED) {
            why = errno_message("mmap", errno);
            break;
        }
        *static_cast<volatile char*>(mem) = 1;
        PagemapEntry entry;
        uint64_t pfn = 0;
        try {
            PagemapReader self(::getpid());
            if (self.read(reinterpret_cast<uint64_t>(mem) / page, 1, &entry) == 1) pfn = entry.pfn();
        } catch (const Error& e) {
            why = e.what();
        }
        ::munmap(mem, page);
        __atomic_store_n(&skel_->bss->pt_calib_folio, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&skel_->bss->pt_calib_tgid, static_cast<uint32_t>(::getpid()),
                         __ATOMIC_SEQ_CST);
        const int truncated = ::ftruncate(file.get(), 0);  // the page leaves the page cache
        __atomic_store_n(&skel_->bss->pt_calib_tgid, 0, __ATOMIC_SEQ_CST);
        if (!why.empty()) break;
        if (truncated != 0) {
            why = errno_message("truncating the memfd", errno);
            break;
        }
        const uint64_t folio = __atomic_load_n(&skel_->bss->pt_calib_folio, __ATOMIC_SEQ_CST);
        const uint64_t size = __atomic_load_n(&skel_->bss->pt_calib_page_size, __ATOMIC_SEQ_CST);
        if (!folio || !size || !pfn || folio < pfn * size) {
            why = fmt::format("its page was not seen as expected (folio {:#x}, pfn {:#x})", folio,
                              pfn);
            break;
        }
        const uint64_t found = folio - pfn * size;
        if (base && *base != found) {
            why = fmt::format("two pages disagree ({:#x} and {:#x})", *base, found);
            break;
        }
        base = found;
    }
    if (why.empty() && base) {
        __atomic_store_n(&skel_->bss->pt_vmemmap_base, *base, __ATOMIC_SEQ_CST);
        spdlog::debug("struct pages at {:#x}: the PFNs of reclaimed folios are known", *base);
    } else {
        spdlog::warn("cannot tell where the kernel keeps its struct pages ({}): swap_out and "
                     "evict events name their pages but not the frames they left (pfn 0)",
                     why);
    }
}

// The software page-fault events fire when a fault completes. Without the
// entry hooks they are the fault source: one per CPU and kind, for every
// process, each running the matching BPF program.
void Tracer::attach_fault_completion() {
    for (int cpu : online_cpus()) {
        for (const auto& [config, prog] :
             {std::pair{PERF_COUNT_SW_PAGE_FAULTS_MIN, skel_->progs.pt_fault_minor},
              std::pair{PERF_COUNT_SW_PAGE_FAULTS_MAJ, skel_->progs.pt_fault_major}}) {
            const int fd = open_software_perf_event(config, cpu, completion_period_);
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
    // Before the programs they run go away.
    process_links_.clear();
    perf_links_.clear();
    tracepoint_links_.clear();
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
    // The programs' filter in front of pt_targets: its bit first (see
    // pt_maybe_target in bpf/common.bpf.h).
    auto& bits = skel_->bss->pt_target_bits;
    const size_t words = sizeof(bits) / sizeof(bits[0]);
    __atomic_fetch_or(&bits[(key / 64) % words], uint64_t{1} << (key % 64), __ATOMIC_SEQ_CST);
    if (bpf_map__update_elem(skel_->maps.pt_targets, &key, sizeof(key), &value, sizeof(value),
                             BPF_ANY)) {
        throw Error(errno_message("adding pid " + std::to_string(tgid) + " to the filter", errno));
    }
    targets_changed();
    watch_faults(tgid);
}

void Tracer::remove_target(pid_t tgid) {
    const uint32_t key = static_cast<uint32_t>(tgid);
    bpf_map__delete_elem(skel_->maps.pt_targets, &key, sizeof(key), 0);
    targets_changed();
    note_exit(tgid);
}

bool Tracer::covered(pid_t tgid) const {
    return process_links_.count(tgid) != 0 || inherited_.count(tgid) != 0;
}

void Tracer::watch_faults(pid_t tgid) {
    if (!per_process_completion_ || covered(tgid)) return;
    auto& links = process_links_[tgid];
    // A thread created before its creator had the events did not inherit
    // them: list the threads again until no new one turns up (a few times at
    // most). One created after its creator had them inherited them and may
    // get its own too if a later listing finds it: it is then sampled twice
    // as often, nothing worse (the second completion finds the fault done).
    std::unordered_set<pid_t> done;
    int listings = 0;
    for (bool found = true; found && listings < 4; ++listings) {
        found = false;
        const std::vector<pid_t> threads = thread_ids(tgid);
        // Two fds per thread (a perf event and its link): a process with
        // many threads may need the open-files limit raised to its hard
        // limit, done only then, so that a command we launched never sees it.
        make_room_for_files(2 * threads.size());
        for (pid_t tid : threads) {
            if (!done.insert(tid).second) continue;
            found = true;
            for (const auto& [config, prog] :
                 {std::pair{PERF_COUNT_SW_PAGE_FAULTS_MIN, skel_->progs.pt_fault_minor},
                  std::pair{PERF_COUNT_SW_PAGE_FAULTS_MAJ, skel_->progs.pt_fault_major}}) {
                const int fd = open_thread_perf_event(config, tid, completion_period_);
                bpf_link* link = fd < 0 ? nullptr : bpf_program__attach_perf_event(prog, fd);
                if (!link) {
                    const int err = errno;
                    if (fd >= 0) ::close(fd);
                    // The thread exited meanwhile: nothing lost.
                    if (err == ESRCH) break;
                    if (!warned_watch_) {
                        spdlog::warn("{}: its faults keep their outcome but have no latency_ns",
                                     errno_message(fmt::format("cannot sample the fault latency "
                                                               "of thread {} of pid {}",
                                                               tid, tgid),
                                                   err));
                        warned_watch_ = true;
                    }
                    break;
                }
                links.emplace_back(link);  // owns the perf event fd from here
            }
        }
    }
}

void Tracer::make_room_for_files(size_t more) {
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur >= files.rlim_max) return;
    const size_t open = numbered_entries("/proc/self/fd").size();
    if (open + more + 64 <= files.rlim_cur) return;
    spdlog::debug("raising the open-files limit from {} to {} for per-thread perf events",
                  files.rlim_cur, files.rlim_max);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
}

void Tracer::note_fork(pid_t parent, pid_t child) {
    if (per_process_completion_ && covered(parent)) inherited_.insert(child);
}

void Tracer::note_exit(pid_t tgid) {
    process_links_.erase(tgid);
    inherited_.erase(tgid);
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
    // Every event the kernel side attributes through the frame index.
    constexpr uint64_t kByFrame = PT_EVENT_BIT(PT_EV_MIGRATE) | PT_EVENT_BIT(PT_EV_MIGRATE_BATCH) |
                                  PT_EVENT_BIT(PT_EV_SWAP_OUT) | PT_EVENT_BIT(PT_EV_EVICT) |
                                  PT_EVENT_BIT(PT_EV_COLLAPSE);
    return (event_mask_ & kByFrame) != 0;
}

bool Tracer::finds_frames_by_rmap() const {
    return __atomic_load_n(&skel_->bss->pt_vmemmap_base, __ATOMIC_SEQ_CST) != 0;
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
