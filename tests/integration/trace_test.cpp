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

#include "support/trace_fixture.h"

namespace pagetrace::test {
namespace {

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
