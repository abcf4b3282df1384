// Integration tests of `pagetrace record`, `replay` and `info`: root + BPF.
// A recording of a bundled workload, replayed without privileges, must show
// what the workload did (the kernel is the oracle, as for live tracing), and
// byte for byte what `trace` printed live; the recorder killed, stopped, or
// out of disk must leave a file that says what it is.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/trace_fixture.h"

namespace pagetrace::test {
namespace {

constexpr int kNobody = 65534;
constexpr int kExitPartial = 3;
const std::string kWorkloads = PAGETRACE_WORKLOAD_DIR;

// TraceTest's checks (root, no BPF program left behind), for record,
// replay and info.
class RecordTest : public TraceTest {
protected:
    // Runs pagetrace with `args` to completion (stdout and stderr captured).
    RunResult run(const std::vector<std::string>& args, std::optional<uid_t> uid = std::nullopt,
                  double timeout_s = 60) {
        const RunResult r = run_pagetrace(args, {.uid = uid, .timeout_s = timeout_s});
        if (r.timed_out) ADD_FAILURE() << "pagetrace " << args[0] << " did not finish in time";
        return r;
    }

    // Lets the unprivileged user read a recording in dir_, as a user would
    // after copying it elsewhere.
    void hand_to_nobody(const std::string& path) {
        ASSERT_EQ(::chown(path.c_str(), kNobody, kNobody), 0) << std::strerror(errno);
    }
};

TEST_F(RecordTest, ReplayWithoutPrivilegesShowsWhatTheWorkloadDid) {
    constexpr uint64_t kPages = 4096;
    const std::string file = dir_.file("run.ptr");
    std::vector<std::string> args = {"record", "-o", file};
    for (const auto& a : touch_pages({"--pages", std::to_string(kPages), "--fork-pages", "512"})) {
        args.push_back(a);
    }
    const RunResult rec = run(args);
    ASSERT_EQ(rec.status, 0) << rec.err;
    EXPECT_NE(rec.err.find("0 lost"), std::string::npos) << rec.err;
    EXPECT_NE(rec.err.find("bytes/event"), std::string::npos) << rec.err;
    EXPECT_EQ(rec.err.find('\r'), std::string::npos) << "no status line when stderr is a file";

    struct stat st{};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    hand_to_nobody(file);
    const RunResult replay = run({"replay", file, "--format", "json"}, kNobody);
    ASSERT_EQ(replay.status, 0) << replay.err;
    EXPECT_EQ(replay.err, "");
    const auto events = parse_json_lines(replay.out);
    const WorkloadReport truth = WorkloadReport::parse(read_file(report_path()));
    ASSERT_GT(truth.pid, 0);
    ASSERT_EQ(truth.children.size(), 1u);
    const int child = truth.children[0];
    const Region& reg = truth.region_of(truth.pid);
    ASSERT_EQ(reg.len, kPages * kPageSize);

    size_t mmaps = 0;
    for (const auto& e : of_type(events, "mmap")) mmaps += e.hex("addr") == reg.addr;
    EXPECT_EQ(mmaps, 1u);
    EXPECT_EQ(faults_in(events, reg).size(), kPages);
    EXPECT_EQ(faults_in(events, truth.region_of(child)).size(), 512u);
    size_t munmaps = 0;
    for (const auto& e : of_type(events, "munmap")) munmaps += e.hex("addr") == reg.addr;
    EXPECT_EQ(munmaps, 1u);
    const auto forks = of_type(events, "fork");
    ASSERT_EQ(forks.size(), 1u);
    EXPECT_EQ(forks[0].num("child_pid"), child);
    EXPECT_EQ(of_type(events, "exit").size(), 2u);
    EXPECT_EQ(of_type(events, "lost").size(), 0u);
    for (const auto& e : events) {
        EXPECT_TRUE(e.num("pid") == truth.pid || e.num("pid") == child) << e.str("type");
    }

    // info, unprivileged too.
    const RunResult info = run({"info", file}, kNobody);
    ASSERT_EQ(info.status, 0) << info.err;
    EXPECT_NE(info.out.find("finalized (ended cleanly"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("status 0"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("events     " + std::to_string(events.size()) + " "),
              std::string::npos)
        << info.out;
    EXPECT_NE(info.out.find("exec   " + kTouchPages), std::string::npos)
        << "the exec'd program's /proc facts:\n"
        << info.out;

    // --pid selects one process of the two.
    const RunResult only_child =
        run({"replay", file, "--format", "json", "--pid", std::to_string(child)}, kNobody);
    ASSERT_EQ(only_child.status, 0) << only_child.err;
    const auto child_events = parse_json_lines(only_child.out);
    EXPECT_EQ(faults_in(child_events, truth.region_of(child)).size(), 512u);
    for (const auto& e : child_events) EXPECT_EQ(e.num("pid"), child);
}

// The JSON lines with the fields that depend on when each BPF instance read
// the clock taken out: two instances attached to the same tracepoint run one
// after the other, so their timestamps of one event differ by some 100 ns.
std::string without_clock_readings(const std::string& json_lines) {
    static const std::regex clock_fields(R"re("ts_ns":[0-9]+,|,"latency_ns":[0-9]+)re");
    return std::regex_replace(json_lines, clock_fields, "");
}

// trace and record attached to the same process see the same kernel events:
// replay must print what trace printed live (byte for byte for the same
// records, which the unit tests check; here, one event for one event, each
// field equal but the clock readings).
TEST_F(RecordTest, ReplayPrintsWhatTracePrintedLive) {
    SpawnOptions wl;
    Subprocess workload({kTouchPages, "--report", report_path(), "--pages", "2048", "--wait-signal"},
                        wl);
    ASSERT_TRUE(wait_for_text(report_path(), "ready", 10));
    const std::string pid = std::to_string(workload.pid());

    SpawnOptions trace_opts;
    trace_opts.stderr_path = dir_.file("trace.err");
    Subprocess trace({kPagetrace, "trace", "--format", "json", "-o", dir_.file("live.json"), "-p",
                      pid},
                     trace_opts);
    SpawnOptions rec_opts;
    rec_opts.stderr_path = dir_.file("record.err");
    Subprocess record({kPagetrace, "record", "-o", dir_.file("run.ptr"), "-p", pid}, rec_opts);
    ASSERT_TRUE(wait_for_text(trace_opts.stderr_path, "tracing pid", 20))
        << read_file(trace_opts.stderr_path);
    ASSERT_TRUE(wait_for_text(rec_opts.stderr_path, "tracing pid", 20))
        << read_file(rec_opts.stderr_path);

    workload.send_signal(SIGUSR1);
    ASSERT_EQ(workload.wait(30), 0);
    ASSERT_EQ(trace.wait(30), 0) << read_file(trace_opts.stderr_path);
    ASSERT_EQ(record.wait(30), 0) << read_file(rec_opts.stderr_path);

    const std::string live = read_file(dir_.file("live.json"));
    const RunResult replay = run({"replay", dir_.file("run.ptr"), "--format", "json"});
    ASSERT_EQ(replay.status, 0) << replay.err;
    const WorkloadReport truth = WorkloadReport::parse(read_file(report_path()));
    EXPECT_EQ(faults_in(parse_json_lines(live), truth.region_of(workload.pid())).size(), 2048u);
    ASSERT_NE(without_clock_readings(live), live);
    EXPECT_EQ(without_clock_readings(replay.out), without_clock_readings(live));

    // The attached process's /proc facts were recorded when recording began.
    const RunResult info = run({"info", dir_.file("run.ptr")});
    EXPECT_NE(info.out.find(pid + " attach " + kTouchPages), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("target     pid " + pid), std::string::npos) << info.out;
}

// The recorder killed with SIGKILL at an arbitrary moment: what it wrote is
// readable, info says it was not finalized, replay warns where it stops.
TEST_F(RecordTest, SigkillLeavesEveryCompleteChunkReadable) {
    const std::string file = dir_.file("killed.ptr");
    SpawnOptions opts;
    opts.stderr_path = dir_.file("record.err");
    std::vector<std::string> argv = {kPagetrace, "record", "-o", file};
    for (const auto& a : touch_pages({"--pages", "64", "--loop"})) argv.push_back(a);
    Subprocess recorder(argv, opts);
    ASSERT_TRUE(wait_for_text(report_path(), "region", 20)) << read_file(opts.stderr_path);
    // Past the first flush interval (1 s): events must be on disk.
    std::this_thread::sleep_for(std::chrono::milliseconds(1600));
    recorder.send_signal(SIGKILL);
    ASSERT_EQ(recorder.wait(10), 128 + SIGKILL);
    const WorkloadReport truth = WorkloadReport::parse(read_file(report_path()));
    ::kill(truth.pid, SIGKILL);

    struct stat st{};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    const RunResult info = run({"info", file});
    EXPECT_EQ(info.status, kExitPartial) << info.err;
    EXPECT_NE(info.out.find("NOT FINALIZED"), std::string::npos) << info.out;

    const RunResult replay = run({"replay", file, "--format", "json"});
    EXPECT_EQ(replay.status, kExitPartial) << replay.err;
    EXPECT_NE(replay.err.find("warning"), std::string::npos) << replay.err;
    EXPECT_NE(replay.err.find("byte "), std::string::npos) << replay.err;
    const auto events = parse_json_lines(replay.out);
    // At least the first second's iterations: 64 faults each in the region.
    const size_t faults = faults_in(events, truth.regions.front()).size();
    EXPECT_GE(faults, 64u * 10) << "less than 10 loop iterations recovered";
    EXPECT_EQ(of_type(events, "exec").size(), 1u);
}

void stop_and_check_footer(RecordTest& t, TempDir& dir, int signum, bool forwarded) {
    const std::string file = dir.file("stopped.ptr");
    const std::string report = dir.file("report.txt");
    SpawnOptions opts;
    opts.stderr_path = dir.file("record.err");
    // A few KiB of events per loop: nothing reaches the 1 MiB chunk size, and
    // the 1 s flush interval has not passed when the signal comes. (Snapshots
    // close the events chunk being filled, so some events may be in the file
    // early; the ones after the last snapshot are still pending at the signal.)
    Subprocess recorder({kPagetrace, "record", "-o", file, "--", kTouchPages, "--report", report,
                         "--pages", "4", "--loop"},
                        opts);
    ASSERT_TRUE(wait_for_text(report, "region", 20)) << read_file(opts.stderr_path);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    size_t early_faults = 0;
    {
        // Readable while recording, as a recording in progress.
        SpawnOptions o;
        o.stdout_path = dir.file("early.json");
        Subprocess early({kPagetrace, "replay", file, "--format", "json"}, o);
        EXPECT_EQ(early.wait(20), kExitPartial);
        const WorkloadReport so_far = WorkloadReport::parse(read_file(report));
        early_faults =
            faults_in(parse_json_lines(read_file(o.stdout_path)), so_far.regions.front()).size();
    }
    // Every loop completed before the signal must be in the file after it.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const size_t loops_before_signal = WorkloadReport::parse(read_file(report)).regions.size();
    recorder.send_signal(signum);
    const auto status = recorder.wait(20);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 128 + signum) << read_file(opts.stderr_path);
    const WorkloadReport truth = WorkloadReport::parse(read_file(report));
    if (forwarded) {
        bool gone = false;
        for (int i = 0; i < 500 && !gone; ++i) {
            gone = ::kill(truth.pid, 0) != 0;
            if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_TRUE(gone) << "the command did not get the SIGTERM";
    }
    ::kill(truth.pid, SIGKILL);

    // Pending events were flushed and the footer written: a complete file
    // holding the events of those 300 ms.
    std::vector<std::string> info_args = {kPagetrace, "info", file};
    SpawnOptions info_opts;
    info_opts.stdout_path = dir.file("info.out");
    Subprocess info(info_args, info_opts);
    EXPECT_EQ(info.wait(20), 0);
    const std::string text = read_file(info_opts.stdout_path);
    EXPECT_NE(text.find("finalized (ended cleanly"), std::string::npos) << text;
    EXPECT_NE(text.find("stopped by " + std::string(signum == SIGINT ? "SIGINT" : "SIGTERM")),
              std::string::npos)
        << text;
    SpawnOptions replay_opts;
    replay_opts.stdout_path = dir.file("replay.json");
    Subprocess replay({kPagetrace, "replay", file, "--format", "json"}, replay_opts);
    EXPECT_EQ(replay.wait(20), 0);
    const auto events = parse_json_lines(read_file(replay_opts.stdout_path));
    const size_t faults = faults_in(events, truth.regions.front()).size();
    EXPECT_GE(faults, 4u * loops_before_signal) << "events pending at the signal were not flushed";
    EXPECT_GT(faults, early_faults) << "the stop wrote nothing that was pending";
    (void)t;
}

TEST_F(RecordTest, SigtermFlushesAndFinalizes) { stop_and_check_footer(*this, dir_, SIGTERM, true); }

TEST_F(RecordTest, SigintFlushesAndFinalizes) { stop_and_check_footer(*this, dir_, SIGINT, false); }

// A full disk (a 512 KiB tmpfs, half of the storm's recording or less): the
// recorder stops with one clear error, and
// the file is consistent up to its last chunk.
TEST_F(RecordTest, DiskFullStopsCleanlyWithAConsistentFile) {
    const std::string mnt = dir_.file("small-fs");
    ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=512k"), 0) << std::strerror(errno);
    struct Unmount {
        std::string path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{mnt};

    const std::string file = mnt + "/full.ptr";
    const std::string storm_report = dir_.file("storm.txt");
    const RunResult rec = run({"record", "-o", file, "--", kWorkloads + "/fault_storm", "--mib",
                               "256", "--iterations", "4", "--report", storm_report});
    EXPECT_EQ(rec.status, 1) << rec.err;
    EXPECT_NE(rec.err.find("No space left on device"), std::string::npos) << rec.err;
    EXPECT_NE(rec.err.find(file), std::string::npos) << rec.err;
    struct stat st{};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_NE(rec.err.find("complete up to byte " + std::to_string(st.st_size)), std::string::npos)
        << rec.err << "(file size " << st.st_size << ")";

    const RunResult info = run({"info", file});
    EXPECT_EQ(info.status, kExitPartial) << info.err;
    EXPECT_NE(info.out.find("NOT FINALIZED"), std::string::npos) << info.out;
    const RunResult replay = run({"replay", file, "--format", "json"});
    EXPECT_EQ(replay.status, kExitPartial) << replay.err;
    EXPECT_NE(replay.err.find("not finalized"), std::string::npos) << replay.err;
    const auto events = parse_json_lines(replay.out);
    // What the chunks on disk hold: tens of thousands of faults (a few bytes each).
    EXPECT_GT(of_type(events, "fault").size(), 50000u);

    // The workload outlives the recorder; let it finish before the next test.
    EXPECT_TRUE(wait_for_text(storm_report, "pages_touched", 60));
}

// Peak resident memory (KiB) of `pagetrace args...` run to completion with
// its output discarded.
// Peak RSS of `pagetrace ARGS`, measured by the small rss_probe workload (see
// there why the test process cannot measure it itself).
long peak_rss_kib(const std::vector<std::string>& args, const std::string& out, int* status) {
    std::vector<std::string> argv = {std::string(PAGETRACE_WORKLOAD_DIR) + "/rss_probe",
                                     kPagetrace};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions opts;
    opts.stdout_path = out;
    Subprocess probe(argv, opts);
    if (probe.wait(120) != 0) return -1;
    long kib = -1;
    if (std::sscanf(read_file(out).c_str(), "maxrss_kib=%ld status=%d", &kib, status) != 2) {
        return -1;
    }
    return kib;
}

// Replay and info stream: a recording whose events take 36 MiB raw is read
// in a fixed, small amount of memory.
TEST_F(RecordTest, ReplayAndInfoReadInBoundedMemory) {
    const std::string file = dir_.file("storm.ptr");
    const RunResult rec = run({"record", "-o", file, "--", kWorkloads + "/fault_storm", "--mib",
                               "256", "--iterations", "8"});
    ASSERT_EQ(rec.status, 0) << rec.err;
    const RunResult info = run({"info", file});
    ASSERT_NE(info.out.find("events 36."), std::string::npos) << info.out;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"replay", file, "--format", "json"}, {"replay", file}, {"info", file}}) {
        int status = -1;
        const long kib = peak_rss_kib(args, dir_.file("rss_probe.out"), &status);
        EXPECT_EQ(status, 0) << args[0];
        EXPECT_GT(kib, 0);
        EXPECT_LT(kib, 32 * 1024) << args[0] << " " << args.size() << " args peaked at " << kib
                                  << " KiB";
    }
}

TEST_F(RecordTest, AnExistingFileOrSymlinkIsRefusedUnlessForced) {
    const std::string target = dir_.file("precious.txt");
    {
        std::ofstream(target) << "precious";
    }
    const RunResult refused = run({"record", "-o", target, "--", "/bin/true"});
    EXPECT_EQ(refused.status, 1);
    EXPECT_NE(refused.err.find("already exists"), std::string::npos) << refused.err;
    EXPECT_EQ(read_file(target), "precious");

    const std::string link = dir_.file("link.ptr");
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    const RunResult via_link = run({"record", "-o", link, "--", "/bin/true"});
    EXPECT_EQ(via_link.status, 1);
    EXPECT_NE(via_link.err.find("symbolic link"), std::string::npos) << via_link.err;

    const RunResult forced = run({"record", "--force", "-o", link, "--", "/bin/true"});
    EXPECT_EQ(forced.status, 0) << forced.err;
    EXPECT_EQ(read_file(target), "precious") << "written through the symlink";
    struct stat st{};
    ASSERT_EQ(::lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    const RunResult replay = run({"replay", link, "--format", "json"});
    EXPECT_EQ(replay.status, 0) << replay.err;
    EXPECT_NE(replay.out.find("\"filename\":\"/bin/true\""), std::string::npos) << replay.out;
}

// On a terminal, stderr carries a live status line, redrawn in place.
TEST_F(RecordTest, ShowsALiveStatusLineOnATerminal) {
    const std::string file = dir_.file("tty.ptr");
    SpawnOptions opts;
    opts.terminal = true;
    Subprocess recorder({kPagetrace, "record", "-o", file, "--", kTouchPages, "--pages", "16",
                         "--loop"},
                        opts);
    const int terminal = recorder.terminal_fd();
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd pfd{terminal, POLLIN, 0};
        if (::poll(&pfd, 1, 100) > 0) {
            const ssize_t n = ::read(terminal, buf, sizeof(buf));
            if (n > 0) seen.append(buf, static_cast<size_t>(n));
        }
    }
    recorder.send_signal(SIGTERM);
    ASSERT_TRUE(recorder.wait(30).has_value()) << "pagetrace did not stop after SIGTERM";
    while (true) {
        pollfd pfd{terminal, POLLIN, 0};
        if (::poll(&pfd, 1, 200) <= 0) break;
        const ssize_t n = ::read(terminal, buf, sizeof(buf));
        if (n <= 0) break;
        seen.append(buf, static_cast<size_t>(n));
    }
    // pagetrace itself exits with 128 + SIGTERM (it is not killed by the signal).
    const int status = recorder.wait_status();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM) << status;
    EXPECT_NE(seen.find("\r\033[Krecording "), std::string::npos) << seen;
    EXPECT_NE(seen.find(" events, "), std::string::npos) << seen;
    EXPECT_NE(seen.find(" lost"), std::string::npos) << seen;
    // The line is cleared before the summary.
    const size_t summary = seen.find("events from");
    ASSERT_NE(summary, std::string::npos) << seen;
    EXPECT_NE(seen.rfind("\r\033[K", summary), std::string::npos);
}

}  // namespace
}  // namespace pagetrace::test
