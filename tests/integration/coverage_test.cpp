// Integration tests of the event coverage: VMA syscalls with their results,
// fault outcomes, TLB flushes and page migrations attributed to their owner.
// Each checks the trace against what the workload itself did or read from
// its own /proc/self/pagemap.
#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include "proc/pagemap.h"
#include "support/trace_fixture.h"

namespace pagetrace::test {
namespace {

const std::string kVmaOps = std::string(PAGETRACE_WORKLOAD_DIR) + "/vma_ops";
const std::string kFaultStorm = std::string(PAGETRACE_WORKLOAD_DIR) + "/fault_storm";

// "KEY a b c" lines of a report, by key.
std::map<std::string, std::vector<std::string>> report_lines(const std::string& path) {
    std::map<std::string, std::vector<std::string>> out;
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
        const auto space = line.find(' ');
        if (space == std::string::npos) continue;
        out[line.substr(0, space)].push_back(line.substr(space + 1));
    }
    return out;
}

uint64_t hex_word(std::istringstream& in) {
    std::string word;
    in >> word;
    return std::strtoull(word.c_str(), nullptr, 16);
}

// Waits until pagetrace -v reports at least `pages` frames indexed.
bool wait_for_indexed_pages(const std::string& stderr_path, uint64_t pages, double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    while (std::chrono::steady_clock::now() < deadline) {
        std::istringstream in(read_file(stderr_path));
        std::string line;
        while (std::getline(in, line)) {
            const auto at = line.find(" pages indexed");
            if (at == std::string::npos) continue;
            const auto start = line.rfind(' ', at - 1);
            if (std::strtoull(line.c_str() + start + 1, nullptr, 10) >= pages) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

class CoverageTest : public TraceTest {
protected:
    void compaction_attempt(int attempt, size_t* changed);
};

// Compaction is run by this test process, not by the workload: a migrate
// event attributed to the workload proves the attribution.
// One traced workload run with compaction rounds; sets *changed to the number
// of the workload's pages that moved. All attribution checks happen here.
void CoverageTest::compaction_attempt(int attempt, size_t* changed_out) {
    constexpr uint64_t kPages = 65536;  // 256 MiB
    *changed_out = 0;
    const std::string tag = std::to_string(attempt);
    // Compaction moves pages only out of fragmented memory, and how many it
    // moves varies from run to run. Each round: an untraced helper fills
    // 2 GiB and frees every other page, exits, and compaction runs. A second
    // round runs if fewer than 50 of the workload's pages have moved, as its
    // pagemap shows; every round's moves must appear as events.
    // The workload's pages go into the holes of a fragmenter that holds every
    // other page of 2 GiB; when it exits they sit in half-empty blocks.
    const std::string hole_report = dir_.file("holes" + tag + ".txt");
    Subprocess holes({kTouchPages, "--report", hole_report, "--pages", "524288",
                      "--free-every-other", "--hold"},
                     SpawnOptions{});
    ASSERT_TRUE(wait_for_text(hole_report, "held", 60)) << "fragmenter did not start";
    SpawnOptions opts;
    opts.stderr_path = dir_.file("stderr" + tag + ".txt");
    const std::string report = dir_.file("report" + tag + ".txt");
    const std::string trace_json = dir_.file("trace" + tag + ".json");
    // A frame index 64 times too small for the workload: its pages are
    // private, and BPF finds their owner through the folio's reverse map.
    Subprocess tracer({kPagetrace, "-v", "trace", "--max-frames", "1024", "--format", "json", "-o",
                       trace_json, "--", kTouchPages, "--report", report, "--pages",
                       std::to_string(kPages), "--hold"},
                      opts);
    ASSERT_TRUE(wait_for_text(report, "held", 60)) << read_file(opts.stderr_path);
    // The agent looks up the frames of faulted pages shortly after the faults
    // (-v says how many it holds); compaction before that would test nothing.
    ASSERT_TRUE(wait_for_indexed_pages(opts.stderr_path, kPages, 60))
        << read_file(opts.stderr_path);
    const WorkloadReport held = WorkloadReport::parse(read_file(report));
    const Region& region = held.region_of(held.pid);
    std::vector<PagemapEntry> first(kPages), now(kPages);
    {
        PagemapReader reader(held.pid);
        ASSERT_EQ(reader.read(region.addr / kPageSize, kPages, first.data()), kPages);
    }
    holes.send_signal(SIGUSR2);
    ASSERT_EQ(holes.wait(60), 0);
    size_t moved_so_far = 0;
    for (int round = 0; round < 2 && moved_so_far < 50; ++round) {
        const std::string frag_report =
            dir_.file("fragmenter" + tag + "-" + std::to_string(round) + ".txt");
        Subprocess fragmenter({kTouchPages, "--report", frag_report, "--pages", "524288",
                               "--free-every-other", "--hold"},
                              SpawnOptions{});
        ASSERT_TRUE(wait_for_text(frag_report, "held", 60)) << "fragmenter did not start";
        fragmenter.send_signal(SIGUSR2);
        ASSERT_EQ(fragmenter.wait(60), 0);
        {
            std::ofstream compact("/proc/sys/vm/compact_memory");
            compact << "1\n";
        }
        PagemapReader reader(held.pid);
        ASSERT_EQ(reader.read(region.addr / kPageSize, kPages, now.data()), kPages);
        moved_so_far = 0;
        for (size_t i = 0; i < kPages; ++i) moved_so_far += now[i].pfn() != first[i].pfn();
        std::cout << "[ compaction ] round " << round + 1 << ": " << moved_so_far
                  << " pages moved so far\n";
    }
    kill(held.pid, SIGUSR2);
    auto status = tracer.wait(60);
    ASSERT_TRUE(status.has_value());
    ASSERT_EQ(*status, 0) << read_file(opts.stderr_path);

    // What the workload read from its own pagemap, before and after.
    std::map<uint64_t, uint64_t> before, after;
    std::istringstream rep(read_file(report));
    std::string kind, when, addr;
    uint64_t pfn = 0;
    while (rep >> kind) {
        if (kind != "pfn") {
            std::getline(rep, when);
            continue;
        }
        rep >> when >> addr >> pfn;
        (when == "before" ? before : after)[std::strtoull(addr.c_str(), nullptr, 16)] = pfn;
    }
    ASSERT_EQ(before.size(), kPages);
    ASSERT_EQ(after.size(), kPages);
    for (const auto& [page, frame] : before) ASSERT_NE(frame, 0u) << "pagemap PFNs need root";

    const auto events = parse_json_lines(read_file(trace_json));
    std::map<uint64_t, std::vector<JsonObject>> moves;
    for (const auto& e : of_type(events, "migrate")) {
        EXPECT_EQ(e.num("pid"), held.pid);
        // Another task did it (this test's compaction, kcompactd, or a direct
        // compaction of the fragmenter), and the owner is credited.
        EXPECT_NE(e.num("by_pid"), held.pid) << "the workload never migrates its own pages here";
        EXPECT_EQ(e.str("reason"), "compaction");
        EXPECT_EQ(e.num("order"), 0);
        moves[e.hex("addr")].push_back(e);
    }

    size_t changed = 0;
    for (const auto& [page, old_frame] : before) {
        const uint64_t new_frame = after.at(page);
        auto it = moves.find(page);
        if (old_frame == new_frame) {
            // Unchanged: no move, or moves that came back to the same frame.
            if (it == moves.end()) continue;
            EXPECT_EQ(static_cast<uint64_t>(it->second.front().num("old_pfn")), old_frame);
            EXPECT_EQ(static_cast<uint64_t>(it->second.back().num("new_pfn")), new_frame);
            continue;
        }
        ++changed;
        ASSERT_NE(it, moves.end()) << "page " << std::hex << page << " moved from " << std::dec
                                   << old_frame << " to " << new_frame << " without an event";
        ASSERT_EQ(it->second.size(), 1u) << "page " << std::hex << page;
        EXPECT_EQ(static_cast<uint64_t>(it->second[0].num("old_pfn")), old_frame);
        EXPECT_EQ(static_cast<uint64_t>(it->second[0].num("new_pfn")), new_frame);
    }
    *changed_out = changed;
    // Inside the region, no event for a page that was not there. (Outside it,
    // events are the workload's other pages: stack, heap, libraries.)
    const uint64_t region_start = before.begin()->first;
    const uint64_t region_end = before.rbegin()->first + kPageSize;
    for (const auto& [page, list] : moves) {
        if (page >= region_start && page < region_end) {
            EXPECT_TRUE(before.count(page)) << "migrate event for a page the workload never had";
        }
    }

    // The batches that moved them say so.
    int64_t batch_pages = 0;
    for (const auto& b : of_type(events, "migrate_batch")) {
        EXPECT_EQ(b.num("pid"), held.pid);
        EXPECT_EQ(b.str("reason"), "compaction");
        EXPECT_GE(b.num("succeeded"), b.num("traced_pages"));
        batch_pages += b.num("traced_pages");
    }
    EXPECT_EQ(batch_pages, static_cast<int64_t>(of_type(events, "migrate").size()));
    std::cout << "[ compaction ] attempt " << attempt << ": " << changed << " of " << kPages
              << " pages changed frame, each with its migrate event\n";
}

TEST_F(CoverageTest, CompactionMigrationsAreAttributedToTheOwnerWithBothFrames) {
    // Where the kernel placed the workload's pages decides whether compaction
    // moves any; if none moved, the run tested nothing and a fresh one is made.
    size_t changed = 0;
    for (int attempt = 1; attempt <= 4 && changed == 0; ++attempt) {
        compaction_attempt(attempt, &changed);
        if (HasFatalFailure()) return;
    }
    EXPECT_GT(changed, 0u) << "compaction moved none of the workload's pages in 4 runs";
}

TEST_F(CoverageTest, VmaSyscallsCarryTheirArgumentsResultsAndFlushes) {
    constexpr uint64_t kPages = 64;
    const TraceRun run = trace({"--", kVmaOps, "--pages", std::to_string(kPages), "--report",
                                report_path(), "--exec", kTouchPages, "--pages", "4",
                                "--exit-code", "5"});
    // exec'd into touch_pages, which exits 5.
    ASSERT_EQ(run.exit_status, 5) << run.stderr_text;
    auto rep = report_lines(report_path());
    ASSERT_EQ(rep["region"].size(), 1u) << read_file(report_path());
    std::istringstream region_line(rep["region"][0]);
    const uint64_t region = hex_word(region_line);
    uint64_t len = 0;
    region_line >> len;
    std::istringstream remap_line(rep["mremap"].at(0));
    const uint64_t remap_old = hex_word(remap_line);
    const uint64_t remap_new = hex_word(remap_line);
    std::istringstream brk_line(rep["brk"].at(0));
    const uint64_t brk_old = hex_word(brk_line);
    const uint64_t brk_new = hex_word(brk_line);
    ASSERT_EQ(remap_old, region);

    int64_t pid = -1;
    for (const auto& e : of_type(run.events, "exec")) pid = e.num("pid");
    ASSERT_GT(pid, 0);

    // mprotect: read-only, then read-write again, each with a flush of the range.
    std::vector<std::string> prots;
    for (const auto& e : of_type(run.events, "mprotect")) {
        if (e.hex("addr") == region && e.num("len") == static_cast<int64_t>(len)) {
            prots.push_back(e.str("prot"));
            EXPECT_FALSE(e.has("error"));
        }
    }
    EXPECT_EQ(prots, (std::vector<std::string>{"r--", "rw-"}));
    size_t region_flushes = 0, moved_flushes = 0;
    for (const auto& e : of_type(run.events, "tlb_flush")) {
        EXPECT_EQ(e.num("pid"), pid);
        if (!e.has("start")) continue;
        if (e.hex("start") == region && e.hex("end") == region + len) ++region_flushes;
        if (e.hex("start") == remap_new && e.hex("end") == remap_new + len) ++moved_flushes;
    }
    EXPECT_GE(region_flushes, 1u) << "no tlb_flush for the write-protected range";
    EXPECT_GE(moved_flushes, 1u) << "no tlb_flush for the unmapped range";

    // madvise(DONTNEED), then a second round of first-touch faults.
    size_t dontneeds = 0;
    for (const auto& e : of_type(run.events, "madvise")) {
        if (e.hex("addr") == region && e.str("advice") == "dontneed") ++dontneeds;
    }
    EXPECT_EQ(dontneeds, 1u);
    const Region reg{static_cast<int>(pid), region, len, "user"};
    const auto faults = faults_in(run.events, reg);
    EXPECT_EQ(faults.size(), 2 * kPages) << "one fault per page before and after DONTNEED";
    for (const auto& f : faults) EXPECT_EQ(f.str("access"), "write");

    // mremap that moved it.
    bool saw_mremap = false;
    for (const auto& e : of_type(run.events, "mremap")) {
        if (e.hex("old_addr") != region) continue;
        saw_mremap = true;
        EXPECT_EQ(e.hex("new_addr"), remap_new);
        EXPECT_EQ(e.num("old_len"), static_cast<int64_t>(len));
        EXPECT_EQ(e.num("new_len"), static_cast<int64_t>(len));
        EXPECT_EQ(e.str("flags"), "maymove|fixed");
    }
    EXPECT_TRUE(saw_mremap);

    // brk growth: requested and granted.
    bool saw_brk = false;
    for (const auto& e : of_type(run.events, "brk")) {
        if (e.hex("addr") == brk_new) {
            saw_brk = true;
            EXPECT_EQ(e.hex("ret"), brk_new);
        }
    }
    EXPECT_TRUE(saw_brk) << "brk from " << std::hex << brk_old << " to " << brk_new;

    size_t munmaps = 0;
    for (const auto& e : of_type(run.events, "munmap")) munmaps += e.hex("addr") == remap_new;
    EXPECT_EQ(munmaps, 1u);

    // exec of another binary, then its exit code.
    const auto execs = of_type(run.events, "exec");
    ASSERT_EQ(execs.size(), 2u);
    EXPECT_EQ(execs[1].str("filename"), kTouchPages);
    EXPECT_EQ(execs[1].str("comm"), "touch_pages");
    const auto exits = of_type(run.events, "exit");
    ASSERT_EQ(exits.size(), 1u);
    EXPECT_EQ(exits[0].num("code"), 5);
    expect_only_pids(run.events, {pid});
}

TEST_F(CoverageTest, FaultsCarryOutcomeAndLatency) {
    constexpr uint64_t kPages = 2048;
    std::vector<std::string> args = {"--latency-every", "1"};
    for (const auto& a : touch_pages({"--pages", std::to_string(kPages)})) args.push_back(a);
    const TraceRun run = trace(args);
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    const auto faults = faults_in(run.events, run.report.region_of(run.report.pid));
    ASSERT_EQ(faults.size(), kPages);
    for (const auto& f : faults) {
        // A first touch of anonymous memory is a minor fault that completed.
        EXPECT_EQ(f.str("outcome"), "minor");
        EXPECT_GT(f.num("latency_ns"), 0);
        EXPECT_LT(f.num("latency_ns"), 1'000'000'000);
    }
    // Every fault event of the run has an outcome.
    for (const auto& f : of_type(run.events, "fault")) EXPECT_TRUE(f.has("outcome"));
}

// By default every fault has its outcome (the thread's counters) and one in
// --latency-every (64) its latency; with 0, none has.
TEST_F(CoverageTest, EveryFaultHasItsOutcomeAndOneInNItsLatency) {
    constexpr uint64_t kPages = 2048;
    for (const std::string every : {"", "0"}) {
        SCOPED_TRACE("--latency-every " + (every.empty() ? "(default)" : every));
        std::vector<std::string> args;
        if (!every.empty()) args = {"--latency-every", every};
        for (const auto& a : touch_pages({"--pages", std::to_string(kPages)})) args.push_back(a);
        // An untraced process faulting all the while.
        Subprocess bystander({kFaultStorm, "--mib", "64", "--iterations", "100000"},
                             SpawnOptions{});
        const TraceRun run = trace(args);
        bystander.send_signal(SIGKILL);
        bystander.wait(10);
        ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
        const auto faults = faults_in(run.events, run.report.region_of(run.report.pid));
        ASSERT_EQ(faults.size(), kPages);
        size_t with_latency = 0;
        for (const auto& f : faults) {
            EXPECT_EQ(f.str("outcome"), "minor");
            if (f.has("latency_ns")) {
                ++with_latency;
                EXPECT_GT(f.num("latency_ns"), 0);
            }
        }
        if (every.empty()) {
            // The sample counts the traced process's own faults only: kPages
            // minor faults in a row hold kPages / 64 sample points, whatever
            // the untraced storm beside it does.
            EXPECT_NEAR(static_cast<double>(with_latency), kPages / 64.0, 1.0);
        } else {
            EXPECT_EQ(with_latency, 0u);
        }
    }
}

// Latency sampling follows the traced process: attached to a running
// process, its threads from before the attach and one it creates after get
// the completion events, so with --latency-every 1 every fault of theirs has
// its latency.
TEST_F(CoverageTest, AttachedThreadsAndLaterOnesHaveTheirLatency) {
    constexpr int kPages = 1024;
    const std::string script = R"(
import ctypes, mmap, os, signal, sys, threading
report, pages = sys.argv[1], int(sys.argv[2])
go = threading.Event()
def touch(name):
    go.wait()
    m = mmap.mmap(-1, pages * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    m.madvise(mmap.MADV_NOHUGEPAGE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    for i in range(0, len(m), 4096):
        m[i] = 1
    with open(report, 'a') as f:
        f.write('region %s %x\n' % (name, addr))
early = [threading.Thread(target=touch, args=('early%d' % i,)) for i in range(2)]
for t in early: t.start()
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
with open(report, 'a') as f:
    f.write('ready %d\n' % os.getpid())
signal.sigwait([signal.SIGUSR1])
late = threading.Thread(target=touch, args=('late',))
late.start()
go.set()
for t in early + [late]: t.join()
)";
    Subprocess workload({"/usr/bin/python3", "-c", script, report_path(), std::to_string(kPages)},
                        SpawnOptions{});
    ASSERT_TRUE(wait_for_text(report_path(), "ready", 30)) << read_file(report_path());
    SpawnOptions opts;
    opts.stderr_path = dir_.file("stderr.txt");
    Subprocess tracer({kPagetrace, "trace", "--events", "fault", "--latency-every", "1",
                       "--format", "json", "-o", dir_.file("trace.json"), "-p",
                       std::to_string(workload.pid())},
                      opts);
    ASSERT_TRUE(wait_for_text(opts.stderr_path, "tracing pid", 20)) << read_file(opts.stderr_path);
    workload.send_signal(SIGUSR1);
    ASSERT_EQ(workload.wait(60), 0);
    auto status = tracer.wait(30);
    ASSERT_TRUE(status.has_value());
    ASSERT_EQ(*status, 0) << read_file(opts.stderr_path);

    const auto events = parse_json_lines(read_file(dir_.file("trace.json")));
    const auto regions = report_lines(report_path())["region"];
    ASSERT_EQ(regions.size(), 3u) << read_file(report_path());
    for (const std::string& line : regions) {
        SCOPED_TRACE(line);
        std::istringstream in(line);
        std::string name;
        in >> name;
        const Region reg{workload.pid(), hex_word(in), uint64_t{kPages} * 4096, "user"};
        // Each page faults once or twice (python may read it before the write).
        const auto faults = faults_in(events, reg);
        std::set<uint64_t> pages;
        size_t timed = 0;
        for (const auto& f : faults) {
            pages.insert(f.hex("addr") / 4096);
            EXPECT_EQ(f.str("outcome"), "minor");
            timed += f.has("latency_ns") && f.num("latency_ns") > 0;
        }
        EXPECT_EQ(pages.size(), static_cast<size_t>(kPages));
        EXPECT_EQ(timed, faults.size());
    }
}

// Without the completion hook every first touch is still there, exactly once,
// with what the entry gives (access, mode, ip) and no outcome or latency.
TEST_F(CoverageTest, NoFaultOutcomeKeepsEveryFaultWithoutOutcomeOrLatency) {
    constexpr uint64_t kPages = 2048;
    std::vector<std::string> args = {"--no-fault-outcome"};
    for (const auto& a : touch_pages({"--pages", std::to_string(kPages)})) args.push_back(a);
    const TraceRun run = trace(args);
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    const auto faults = faults_in(run.events, run.report.region_of(run.report.pid));
    ASSERT_EQ(faults.size(), kPages);
    for (const auto& f : faults) {
        EXPECT_EQ(f.str("access"), "write");
        EXPECT_EQ(f.str("mode"), "user");
        EXPECT_NE(f.hex("ip"), 0u);
    }
    for (const auto& f : of_type(run.events, "fault")) {
        EXPECT_FALSE(f.has("outcome"));
        EXPECT_FALSE(f.has("latency_ns"));
    }
}

// Loss accounting is exact: the kernel counts every fault of the window
// (getrusage), pagetrace is frozen while a 4 KiB ring overflows, and what it
// received in the window plus what it reports lost must equal that count.
TEST_F(CoverageTest, ReceivedPlusLostEqualsWhatTheKernelCounted) {
    constexpr uint64_t kPages = 8192;
    SpawnOptions wl_opts;
    Subprocess workload({kTouchPages, "--report", report_path(), "--pages", std::to_string(kPages),
                         "--wait-signal", "--window"},
                        wl_opts);
    ASSERT_TRUE(wait_for_text(report_path(), "ready", 20));
    // Attach after start-up, so no burst before the window can lose events.
    SpawnOptions opts;
    opts.stderr_path = dir_.file("stderr.txt");
    Subprocess tracer({kPagetrace, "trace", "--events", "fault", "--ring-size", "4K", "--format",
                       "json", "-o", dir_.file("trace.json"), "-p",
                       std::to_string(workload.pid())},
                      opts);
    ASSERT_TRUE(wait_for_text(opts.stderr_path, "tracing pid", 20)) << read_file(opts.stderr_path);
    tracer.send_signal(SIGSTOP);
    workload.send_signal(SIGUSR1);
    ASSERT_TRUE(wait_for_text(report_path(), "window", 30));
    tracer.send_signal(SIGCONT);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the ring drains
    workload.send_signal(SIGUSR2);
    ASSERT_EQ(workload.wait(30), 0);
    auto status = tracer.wait(30);
    ASSERT_TRUE(status.has_value());
    const std::string err = read_file(opts.stderr_path);
    ASSERT_EQ(*status, 0) << err;

    int64_t t0 = 0, t1 = 0, produced = 0;
    auto rep = report_lines(report_path());
    for (const auto& line : rep["window"]) std::istringstream(line) >> t0 >> t1 >> produced;
    ASSERT_GE(produced, static_cast<int64_t>(kPages));
    const auto events = parse_json_lines(read_file(dir_.file("trace.json")));
    int64_t received = 0, lost = 0;
    for (const auto& e : events) {
        const std::string type = e.str("type");
        if (type == "lost") {
            lost += e.num("count");
        } else {
            ASSERT_EQ(type, "fault") << "--events fault lets nothing else through";
            if (e.num("ts_ns") >= t0 && e.num("ts_ns") <= t1) ++received;
        }
    }
    EXPECT_GT(lost, 0) << "a frozen consumer and a 4 KiB ring must lose events";
    EXPECT_EQ(received + lost, produced)
        << "received " << received << " + lost " << lost << " != the kernel's " << produced;
    EXPECT_NE(err.find("; " + std::to_string(lost) + " lost"), std::string::npos) << err;
}

TEST_F(CoverageTest, EventsAreFilteredInTheKernel) {
    const TraceRun run = trace({"--events", "mmap,munmap", "--", kTouchPages, "--report",
                                report_path(), "--pages", "256"});
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    std::set<std::string> types;
    for (const auto& e : run.events) types.insert(e.str("type"));
    EXPECT_EQ(types, (std::set<std::string>{"mmap", "munmap"}));
    const Region& reg = run.report.region_of(run.report.pid);
    size_t mine = 0;
    for (const auto& e : of_type(run.events, "mmap")) mine += e.hex("addr") == reg.addr;
    EXPECT_EQ(mine, 1u);
}

TEST_F(CoverageTest, CommSelectsRunningAndLaterProcessesByName) {
    // A copy of the workload under a name nothing else has.
    const std::string named = dir_.file("ptcommsel");
    {
        std::ifstream src(kTouchPages, std::ios::binary);
        std::ofstream dst(named, std::ios::binary);
        dst << src.rdbuf();
    }
    ASSERT_EQ(chmod(named.c_str(), 0755), 0);
    const std::string early_report = dir_.file("early.txt");
    Subprocess early({named, "--report", early_report, "--pages", "64", "--wait-signal"},
                     SpawnOptions{});
    ASSERT_TRUE(wait_for_text(early_report, "ready", 20));

    SpawnOptions opts;
    opts.stderr_path = dir_.file("stderr.txt");
    Subprocess tracer({kPagetrace, "trace", "--comm", "ptcommsel", "--latency-every", "1",
                       "--format", "json", "-o", dir_.file("trace.json")},
                      opts);
    ASSERT_TRUE(wait_for_text(opts.stderr_path, "1 running now", 20)) << read_file(opts.stderr_path);
    early.send_signal(SIGUSR1);
    ASSERT_EQ(early.wait(30), 0);
    // One started after pagetrace, found at its exec.
    const std::string late_report = dir_.file("late.txt");
    Subprocess late({named, "--report", late_report, "--pages", "32"}, SpawnOptions{});
    ASSERT_EQ(late.wait(30), 0);
    // One found at its exec that waits before it faults: by then it carries
    // the latency perf events (opened when the agent saw its exec).
    const std::string timed_report = dir_.file("timed.txt");
    Subprocess timed({named, "--report", timed_report, "--pages", "256", "--wait-signal"},
                     SpawnOptions{});
    ASSERT_TRUE(wait_for_text(timed_report, "ready", 20));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    timed.send_signal(SIGUSR1);
    ASSERT_EQ(timed.wait(30), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    tracer.send_signal(SIGINT);
    auto status = tracer.wait(30);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 128 + SIGINT);

    const auto events = parse_json_lines(read_file(dir_.file("trace.json")));
    const WorkloadReport e = WorkloadReport::parse(read_file(early_report));
    const WorkloadReport l = WorkloadReport::parse(read_file(late_report));
    const WorkloadReport t = WorkloadReport::parse(read_file(timed_report));
    EXPECT_EQ(faults_in(events, e.region_of(e.pid)).size(), 64u);
    EXPECT_EQ(faults_in(events, l.region_of(l.pid)).size(), 32u);
    expect_only_pids(events, {e.pid, l.pid, t.pid});
    // --latency-every 1: the running process found at the start and the one
    // found at its exec have the latency of every fault of theirs.
    for (const WorkloadReport* w : {&e, &t}) {
        const auto faults = faults_in(events, w->region_of(w->pid));
        EXPECT_EQ(faults.size(), w == &e ? 64u : 256u);
        for (const auto& f : faults) EXPECT_TRUE(f.has("latency_ns")) << "pid " << w->pid;
    }
}

TEST_F(CoverageTest, FeaturesNamesTheSourceOfEveryEventType) {
    SpawnOptions opts;
    opts.stdout_path = dir_.file("features.txt");
    Subprocess proc({kPagetrace, "features"}, opts);
    ASSERT_EQ(proc.wait(20), 0);
    const std::string text = read_file(opts.stdout_path);
    for (const char* type : {"fault", "mmap", "mremap", "madvise", "tlb_flush", "migrate",
                             "migrate_batch", "fork", "exec", "exit", "lost"}) {
        EXPECT_NE(text.find(std::string("\n") + type + " "), std::string::npos) << type;
    }
    // On these machines (x86, 6.18) every hook is there.
    EXPECT_EQ(text.find("unavailable"), std::string::npos) << text;
}

}  // namespace
}  // namespace pagetrace::test
