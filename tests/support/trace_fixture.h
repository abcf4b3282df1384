// Shared pieces of the integration tests: running pagetrace on a bundled
// workload, reading what the workload reports about itself, and checking that
// no BPF program outlives a run.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
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

inline constexpr uint64_t kPageSize = 4096;
inline const std::string kPagetrace = PAGETRACE_BIN;
inline const std::string kTouchPages = std::string(PAGETRACE_WORKLOAD_DIR) + "/touch_pages";

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

inline std::vector<JsonObject> of_type(const std::vector<JsonObject>& events, const std::string& type) {
    std::vector<JsonObject> out;
    for (const auto& e : events) {
        if (e.str("type") == type) out.push_back(e);
    }
    return out;
}

inline std::vector<JsonObject> faults_in(const std::vector<JsonObject>& events, const Region& reg) {
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
        std::vector<std::string> trace_args = {"trace", "--format", "json", "-o",
                                               dir_.file("trace.json")};
        trace_args.insert(trace_args.end(), args.begin(), args.end());
        const RunResult result = run_pagetrace(trace_args, {.timeout_s = timeout_s});
        TraceRun run;
        run.stderr_text = result.err;
        if (result.timed_out) {
            ADD_FAILURE() << "pagetrace did not finish within " << timeout_s << " s";
            return run;
        }
        run.exit_status = result.status;
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

    TempDir dir_{0777};  // workloads run as other users in some tests and write their reports here
};

// Every event belongs to one of `pids`.
inline void expect_only_pids(const std::vector<JsonObject>& events, const std::set<int64_t>& pids) {
    std::map<int64_t, size_t> strangers;
    for (const auto& e : events) {
        if (!pids.count(e.num("pid"))) ++strangers[e.num("pid")];
    }
    EXPECT_TRUE(strangers.empty()) << "events from " << strangers.size()
                                   << " processes outside the traced tree, e.g. pid "
                                   << strangers.begin()->first;
}


}  // namespace pagetrace::test
