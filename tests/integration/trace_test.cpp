// Integration tests of `pagetrace trace`: root + BPF. Each drives the bundled
// touch_pages workload, whose report says exactly what it did (its pid, the
// region it mapped, the pages it touched), and checks the trace against it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/bpf_inventory.h"
#include "support/json_lines.h"
#include "support/subprocess.h"

namespace pagetrace::test {
namespace {

constexpr uint64_t kPageSize = 4096;
const std::string kPagetrace = PAGETRACE_BIN;
const std::string kTouchPages = std::string(PAGETRACE_WORKLOAD_DIR) + "/touch_pages";

struct Region {
    int pid = 0;
    uint64_t addr = 0;
    uint64_t len = 0;
    std::string mode;
};

// What touch_pages says it did.
struct WorkloadReport {
    int pid = 0;
    std::vector<int> children;
    std::vector<Region> regions;

    static WorkloadReport parse(const std::string& text) {
        WorkloadReport r;
        std::istringstream in(text);
        std::string kind;
        while (in >> kind) {
            if (kind == "pid") {
                in >> r.pid;
            } else if (kind == "child") {
                int child;
                in >> child;
                r.children.push_back(child);
            } else if (kind == "region") {
                Region reg;
                std::string addr;
                in >> reg.pid >> addr >> reg.len >> reg.mode;
                reg.addr = std::strtoull(addr.c_str(), nullptr, 16);
                r.regions.push_back(reg);
            } else {
                std::string rest;
                std::getline(in, rest);
            }
        }
        return r;
    }

    const Region& region_of(int pid) const {
        for (const auto& reg : regions) {
            if (reg.pid == pid) return reg;
        }
        throw std::runtime_error("workload reported no region for pid " + std::to_string(pid));
    }
};

struct TraceRun {
    int exit_status = -1;
    std::vector<JsonObject> events;
    std::string stderr_text;
    WorkloadReport report;
};

std::vector<JsonObject> of_type(const std::vector<JsonObject>& events, const std::string& type) {
    std::vector<JsonObject> out;
    for (const auto& e : events) {
        if (e.str("type") == type) out.push_back(e);
    }
    return out;
}

std::vector<JsonObject> faults_in(const std::vector<JsonObject>& events, const Region& reg) {
    std::vector<JsonObject> out;
    for (const auto& e : of_type(events, "fault")) {
        const uint64_t addr = e.hex("addr");
        if (addr >= reg.addr && addr < reg.addr + reg.len) out.push_back(e);
    }
    return out;
}

class TraceTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) {
            if (std::getenv("CI")) {
                FAIL() << "integration tests must run as root in CI (BPF needs it)";
            }
            GTEST_SKIP() << "\n*** SKIPPED: integration tests need root and BPF; run them with "
                            "sudo (CI always does) ***";
        }
        for (const auto& prog : loaded_pagetrace_programs()) programs_before_.insert(prog.id);
    }

    // Nothing the test's pagetrace runs loaded may outlive them. The kernel
    // frees programs after an RCU grace period, so a released program can stay
    // listed for a moment; a leaked one stays for good. (Programs of other
    // pagetrace instances running on the machine meanwhile are not ours.)
    void TearDown() override {
        if (IsSkipped()) return;
        std::vector<std::string> leaked;
        for (int attempt = 0; attempt < 100; ++attempt) {
            leaked.clear();
            for (const auto& prog : loaded_pagetrace_programs()) {
                if (!programs_before_.count(prog.id)) leaked.push_back(prog.name);
            }
            if (leaked.empty()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        EXPECT_EQ(leaked, std::vector<std::string>{})
            << "pagetrace left BPF programs loaded 5 s after it exited";
        if (programs_before_.empty()) {
            EXPECT_EQ(pagetrace_links(), 0u) << "pagetrace left BPF links attached";
        }
    }

    std::set<unsigned> programs_before_;

    // Runs `pagetrace trace --format json -o FILE <args>` to completion.
    TraceRun trace(const std::vector<std::string>& args, double timeout_s = 60) {
        std::vector<std::string> argv = {kPagetrace, "trace", "--format", "json", "-o",
                                         dir_.file("trace.json")};
        argv.insert(argv.end(), args.begin(), args.end());
        SpawnOptions opts;
        opts.stderr_path = dir_.file("stderr.txt");
        Subprocess proc(argv, opts);
        TraceRun run;
        auto status = proc.wait(timeout_s);
        run.stderr_text = read_file(opts.stderr_path);
        if (!status) {
            ADD_FAILURE() << "pagetrace did not finish within " << timeout_s << " s";
            return run;
        }
        run.exit_status = *status;
        run.events = parse_json_lines(read_file(dir_.file("trace.json")));
        run.report = WorkloadReport::parse(read_file(report_path()));
        return run;
    }

    std::vector<std::string> touch_pages(const std::vector<std::string>& args) const {
        std::vector<std::string> argv = {"--", kTouchPages, "--report", report_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }

    std::string report_path() const { return dir_.file("report.txt"); }

    TempDir dir_;
};

// Every event belongs to one of `pids`.
void expect_only_pids(const std::vector<JsonObject>& events, const std::set<int64_t>& pids) {
    std::map<int64_t, size_t> strangers;
    for (const auto& e : events) {
        if (!pids.count(e.num("pid"))) ++strangers[e.num("pid")];
    }
    EXPECT_TRUE(strangers.empty()) << "events from " << strangers.size()
                                   << " processes outside the traced tree, e.g. pid "
                                   << strangers.begin()->first;
}

TEST_F(TraceTest, BpfProgramsLoadAndTraceACommand) {
    const TraceRun run = trace({"--", "/bin/true"});
    ASSERT_EQ(run.exit_status, 0) << "pagetrace could not trace /bin/true:\n" << run.stderr_text;
    ASSERT_FALSE(of_type(run.events, "exec").empty());
    EXPECT_EQ(of_type(run.events, "exec").front().str("filename"), "/bin/true");
    EXPECT_NE(run.stderr_text.find("0 lost"), std::string::npos) << run.stderr_text;
}

TEST_F(TraceTest, SeesEveryFirstTouchOfARegionAndItsMapping) {
    constexpr uint64_t kPages = 4096;
    // A process outside the traced tree doing the same kind of work meanwhile.
    SpawnOptions noise_opts;
    Subprocess noise({kTouchPages, "--pages", "256", "--loop"}, noise_opts);

    const TraceRun run = trace(touch_pages({"--pages", std::to_string(kPages)}));
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    const int pid = run.report.pid;
    ASSERT_GT(pid, 0);
    const Region& reg = run.report.region_of(pid);
    ASSERT_EQ(reg.len, kPages * kPageSize);

    // Exactly one mmap returning the region, with its length.
    size_t mmaps = 0;
    for (const auto& e : of_type(run.events, "mmap")) {
        if (e.hex("addr") == reg.addr) {
            ++mmaps;
            EXPECT_EQ(e.num("len"), static_cast<int64_t>(reg.len));
            EXPECT_EQ(e.num("pid"), pid);
            EXPECT_EQ(e.str("prot"), "rw-");
            EXPECT_EQ(e.str("flags"), "private|anonymous");
            EXPECT_EQ(e.num("fd"), -1);
            EXPECT_FALSE(e.has("error"));
        }
    }
    EXPECT_EQ(mmaps, 1u);

    // Exactly N write faults in it, one per page, taken in user mode.
    const auto faults = faults_in(run.events, reg);
    EXPECT_EQ(faults.size(), kPages);
    std::set<uint64_t> pages;
    for (const auto& f : faults) {
        EXPECT_EQ(f.str("access"), "write");
        EXPECT_EQ(f.str("mode"), "user");
        EXPECT_EQ(f.num("pid"), pid);
        EXPECT_EQ(f.num("tid"), pid);
        EXPECT_EQ(f.str("comm"), "touch_pages");
        pages.insert(f.hex("addr") / kPageSize);
    }
    EXPECT_EQ(pages.size(), kPages);

    // One munmap of it, after the faults.
    size_t munmaps = 0;
    for (const auto& e : of_type(run.events, "munmap")) {
        if (e.hex("addr") == reg.addr && e.num("len") == static_cast<int64_t>(reg.len)) {
            ++munmaps;
            ASSERT_FALSE(faults.empty());
            EXPECT_GT(e.num("ts_ns"), faults.back().num("ts_ns"));
        }
    }
    EXPECT_EQ(munmaps, 1u);

    expect_only_pids(run.events, {pid});
    const auto exits = of_type(run.events, "exit");
    ASSERT_EQ(exits.size(), 1u);
    EXPECT_EQ(exits[0].num("code"), 0);
    EXPECT_EQ(of_type(run.events, "lost").size(), 0u);
}

TEST_F(TraceTest, FaultsInsideSystemCallsAreKernelMode) {
    constexpr uint64_t kPages = 1024;
    const TraceRun run = trace(touch_pages({"--pages", std::to_string(kPages), "--kernel-read"}));
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    const Region& reg = run.report.region_of(run.report.pid);
    const auto faults = faults_in(run.events, reg);
    EXPECT_EQ(faults.size(), kPages);
    for (const auto& f : faults) {
        EXPECT_EQ(f.str("mode"), "kernel");
        EXPECT_EQ(f.str("access"), "write");
        // The faulting instruction is the kernel's copy routine.
        EXPECT_GE(f.hex("ip"), 0xffff800000000000ull);
    }
}

TEST_F(TraceTest, FollowsForkedChildren) {
    const TraceRun run = trace(touch_pages({"--pages", "1024", "--fork-pages", "512"}));
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    ASSERT_EQ(run.report.children.size(), 1u);
    const int parent = run.report.pid;
    const int child = run.report.children[0];

    const auto forks = of_type(run.events, "fork");
    ASSERT_EQ(forks.size(), 1u);
    EXPECT_EQ(forks[0].num("pid"), parent);
    EXPECT_EQ(forks[0].num("child_pid"), child);

    const auto child_faults = faults_in(run.events, run.report.region_of(child));
    EXPECT_EQ(child_faults.size(), 512u);
    for (const auto& f : child_faults) EXPECT_EQ(f.num("pid"), child);
    EXPECT_EQ(faults_in(run.events, run.report.region_of(parent)).size(), 1024u);
    expect_only_pids(run.events, {parent, child});
    EXPECT_EQ(of_type(run.events, "exit").size(), 2u);
}

TEST_F(TraceTest, NoFollowLeavesChildrenOut) {
    const TraceRun run =
        trace({"--no-follow", "--", kTouchPages, "--report", report_path(), "--pages", "256",
               "--fork-pages", "128"});
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    ASSERT_EQ(run.report.children.size(), 1u);
    const int child = run.report.children[0];
    // The parent's fork is still an event of the parent...
    ASSERT_EQ(of_type(run.events, "fork").size(), 1u);
    EXPECT_EQ(of_type(run.events, "fork")[0].num("child_pid"), child);
    // ...but nothing of the child.
    for (const auto& e : run.events) EXPECT_NE(e.num("pid"), child) << e.str("type");
    EXPECT_EQ(faults_in(run.events, run.report.region_of(run.report.pid)).size(), 256u);
}

TEST_F(TraceTest, AttachesToARunningProcess) {
    SpawnOptions wl_opts;
    Subprocess workload({kTouchPages, "--report", report_path(), "--pages", "1024",
                         "--wait-signal"},
                        wl_opts);
    ASSERT_TRUE(wait_for_text(report_path(), "ready", 10)) << "workload did not start";

    SpawnOptions opts;
    opts.stderr_path = dir_.file("stderr.txt");
    Subprocess tracer({kPagetrace, "trace", "--format", "json", "-o", dir_.file("trace.json"),
                       "-p", std::to_string(workload.pid())},
                      opts);
    ASSERT_TRUE(wait_for_text(opts.stderr_path, "tracing pid", 20))
        << read_file(opts.stderr_path);
    workload.send_signal(SIGUSR1);
    ASSERT_EQ(workload.wait(30), 0);

    // The traced process is gone, so pagetrace ends by itself.
    auto status = tracer.wait(30);
    ASSERT_TRUE(status.has_value()) << "pagetrace kept running after its target exited";
    EXPECT_EQ(*status, 0) << read_file(opts.stderr_path);

    const auto events = parse_json_lines(read_file(dir_.file("trace.json")));
    const WorkloadReport report = WorkloadReport::parse(read_file(report_path()));
    const Region& reg = report.region_of(workload.pid());
    size_t mmaps = 0;
    for (const auto& e : of_type(events, "mmap")) mmaps += e.hex("addr") == reg.addr;
    EXPECT_EQ(mmaps, 1u);
    EXPECT_EQ(faults_in(events, reg).size(), 1024u);
    expect_only_pids(events, {workload.pid()});
}

// When the consumer cannot keep up, events are lost; every loss must show up
// as `lost` events in the stream and in the summary, so that what was captured
// plus what was lost accounts for every fault the workload caused. pagetrace
// is frozen (SIGSTOP) while the workload touches its pages, so a 4 KiB ring
// overflows for certain.
TEST_F(TraceTest, LostEventsAreCountedNeverSilent) {
    constexpr uint64_t kPages = 4096;
    SpawnOptions opts;
    opts.stderr_path = dir_.file("stderr.txt");
    Subprocess tracer({kPagetrace, "trace", "--format", "json", "-o", dir_.file("trace.json"),
                       "--ring-size", "4K", "--", kTouchPages, "--report", report_path(),
                       "--pages", std::to_string(kPages), "--wait-signal"},
                      opts);
    ASSERT_TRUE(wait_for_text(report_path(), "ready", 20)) << read_file(opts.stderr_path);
    const WorkloadReport ready = WorkloadReport::parse(read_file(report_path()));
    tracer.send_signal(SIGSTOP);
    kill(ready.pid, SIGUSR1);
    ASSERT_TRUE(wait_for_text(report_path(), "region", 20));
    tracer.send_signal(SIGCONT);
    auto status = tracer.wait(30);
    ASSERT_TRUE(status.has_value());
    const std::string err = read_file(opts.stderr_path);
    ASSERT_EQ(*status, 0) << err;

    const auto events = parse_json_lines(read_file(dir_.file("trace.json")));
    const WorkloadReport report = WorkloadReport::parse(read_file(report_path()));
    int64_t lost = 0;
    for (const auto& e : of_type(events, "lost")) {
        EXPECT_GT(e.num("count"), 0);
        EXPECT_EQ(e.num("pid"), 0);
        lost += e.num("count");
    }
    ASSERT_GT(lost, 0) << "a 4 KiB ring cannot hold a 4096-page burst";
    const auto captured = faults_in(events, report.region_of(report.pid));
    EXPECT_LT(captured.size(), kPages);
    EXPECT_GE(static_cast<int64_t>(captured.size()) + lost, static_cast<int64_t>(kPages));
    EXPECT_NE(err.find("; " + std::to_string(lost) + " lost"), std::string::npos) << err;
    EXPECT_NE(err.find("raise --ring-size"), std::string::npos) << err;
}

TEST_F(TraceTest, ExitsWithTheCommandsStatus) {
    const TraceRun run = trace(touch_pages({"--pages", "16", "--exit-code", "7"}));
    EXPECT_EQ(run.exit_status, 7) << run.stderr_text;
    const auto exits = of_type(run.events, "exit");
    ASSERT_EQ(exits.size(), 1u);
    EXPECT_EQ(exits[0].num("code"), 7);
}

TEST_F(TraceTest, FailedMmapCarriesItsErrno) {
    // The demo workload calls mmap with length 0, which fails with EINVAL.
    const TraceRun run = trace({"--", std::string(PAGETRACE_WORKLOAD_DIR) + "/demo"});
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    bool saw_einval = false;
    for (const auto& e : of_type(run.events, "mmap")) {
        if (e.has("error") && e.str("error") == "EINVAL" && e.num("len") == 0) saw_einval = true;
    }
    EXPECT_TRUE(saw_einval) << "demo's mmap(len=0) should appear with error EINVAL";
}

// Runs touch_pages --loop under pagetrace and stops pagetrace with `signum`.
void stop_with_signal(TempDir& dir, int signum, int expected_status, bool forwarded) {
    SpawnOptions opts;
    opts.stderr_path = dir.file("stderr.txt");
    const std::string report = dir.file("report.txt");
    Subprocess tracer({kPagetrace, "trace", "--format", "json", "-o", dir.file("trace.json"), "--",
                       kTouchPages, "--report", report, "--pages", "64", "--loop"},
                      opts);
    ASSERT_TRUE(wait_for_text(report, "region", 20)) << read_file(opts.stderr_path);
    tracer.send_signal(signum);
    auto status = tracer.wait(20);
    ASSERT_TRUE(status.has_value()) << "pagetrace did not stop on signal " << signum;
    EXPECT_EQ(*status, expected_status) << read_file(opts.stderr_path);

    const WorkloadReport rep = WorkloadReport::parse(read_file(report));
    ASSERT_GT(rep.pid, 0);
    if (forwarded) {
        // SIGTERM is passed on to the command, which ends on it.
        bool gone = false;
        for (int i = 0; i < 500 && !gone; ++i) {
            gone = kill(rep.pid, 0) != 0;
            if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_TRUE(gone) << "the command did not get the SIGTERM pagetrace received";
    }
    // Ctrl-C reaches a command through the terminal, not through pagetrace.
    kill(rep.pid, SIGKILL);

    // Everything written is complete JSON lines, with every loop iteration the
    // workload completed before the signal: 64 faults each, same region.
    const auto events = parse_json_lines(read_file(dir.file("trace.json")));
    ASSERT_FALSE(rep.regions.empty());
    EXPECT_GE(faults_in(events, rep.regions.front()).size(), 64u);
    EXPECT_NE(read_file(opts.stderr_path).find("events from"), std::string::npos)
        << "no summary on stderr";
}

TEST_F(TraceTest, SigtermStopsCleanly) {
    stop_with_signal(dir_, SIGTERM, 128 + SIGTERM, /*forwarded=*/true);
}

TEST_F(TraceTest, SigintStopsCleanly) {
    stop_with_signal(dir_, SIGINT, 128 + SIGINT, /*forwarded=*/false);
}

TEST_F(TraceTest, UnprivilegedUserGetsOneClearError) {
    SpawnOptions opts;
    opts.stderr_path = dir_.file("stderr.txt");
    opts.uid = 65534;  // nobody
    Subprocess proc({kPagetrace, "trace", "--", "/bin/true"}, opts);
    auto status = proc.wait(20);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1);
    const std::string err = read_file(opts.stderr_path);
    EXPECT_NE(err.find("needs root"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(TraceTest, MissingPidGetsOneClearError) {
    // A pid that cannot exist: above the kernel's pid_max limit.
    const TraceRun run = trace({"-p", "4194305"});
    EXPECT_EQ(run.exit_status, 1);
    EXPECT_NE(run.stderr_text.find("no running process with pid 4194305"), std::string::npos)
        << run.stderr_text;
}

TEST_F(TraceTest, RunsTheCommandAsAnotherUser) {
    const TraceRun run =
        trace({"--user", "nobody", "--", kTouchPages, "--report", report_path(), "--pages", "32"});
    ASSERT_EQ(run.exit_status, 0) << run.stderr_text;
    EXPECT_EQ(faults_in(run.events, run.report.region_of(run.report.pid)).size(), 32u);
}

}  // namespace
}  // namespace pagetrace::test
