// Symbolization against the truth: the bundled fault_sites workload (built
// with -g -O1) first-touches 3,000 pages in alpha_touch() and 1,000 in
// beta_touch(), read(2)s into fresh pages (kernel-mode faults) and runs "JIT"
// code named in /tmp/perf-PID.map. Its source marks the touching lines;
// nm/addr2line on the binary and /proc/kallsyms are the other oracles. The
// recording is then read after the binary moved (found through --symfs) and
// after it was replaced by another build (refused).
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "support/json_value.h"
#include "support/trace_fixture.h"

namespace pagetrace::test {
namespace {

const std::string kWorkloads = PAGETRACE_WORKLOAD_DIR;
const std::string kSource = std::string(PAGETRACE_SOURCE_DIR) + "/tests/workloads/fault_sites.c";

// The line of the source that holds `marker`.
int line_of(const std::string& marker) {
    std::ifstream in(kSource);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.find(marker) != std::string::npos) return n;
    }
    return -1;
}

std::string shell(const std::string& command) {
    std::unique_ptr<FILE, decltype(&pclose)> p(popen(command.c_str(), "r"), &pclose);
    std::string out;
    char buf[4096];
    while (p && fgets(buf, sizeof(buf), p.get())) out += buf;
    return out;
}

uint64_t hex_of(const std::string& text) { return std::strtoull(text.c_str(), nullptr, 16); }

// A string field of an event, "" when it is absent.
std::string field(const JsonObject& e, const std::string& key) {
    return e.has(key) ? e.str(key) : std::string();
}

struct Report {
    int pid = 0;
    uint64_t alpha_fn = 0;
};

Report parse_report(const std::string& path) {
    Report r;
    std::istringstream in(read_file(path));
    std::string kind, value;
    while (in >> kind) {
        std::getline(in, value);
        if (kind == "pid") r.pid = std::stoi(value);
        if (kind == "alpha") r.alpha_fn = hex_of(value);
    }
    return r;
}

class SymbolsTest : public TraceTest {
protected:
    struct Run {
        int status = -1;
        std::string out, err;
    };
    Run pagetrace(const std::vector<std::string>& args, double timeout_s = 120) {
        std::vector<std::string> argv = {kPagetrace};
        argv.insert(argv.end(), args.begin(), args.end());
        SpawnOptions opts;
        opts.stdout_path = dir_.file("out.txt");
        opts.stderr_path = dir_.file("err.txt");
        Subprocess proc(argv, opts);
        Run run;
        run.status = proc.wait(timeout_s).value_or(-1);
        run.out = read_file(opts.stdout_path);
        run.err = read_file(opts.stderr_path);
        return run;
    }

    // The fault_sites array of pid's summary in `timeline --format json` output.
    static std::vector<Json> sites_of(const std::string& jsonl, int pid) {
        std::istringstream in(jsonl);
        std::string line;
        while (std::getline(in, line)) {
            std::string why;
            auto doc = parse_json(line, &why);
            if (!doc) {
                ADD_FAILURE() << why << ": " << line;
                return {};
            }
            if ((*doc)["type"].text == "process" && (*doc)["pid"].u64() == static_cast<uint64_t>(pid)) {
                return (*doc)["fault_sites"].items;
            }
        }
        ADD_FAILURE() << "no summary of pid " << pid;
        return {};
    }

    void TearDown() override {
        if (pid_) std::remove(("/tmp/perf-" + std::to_string(pid_) + ".map").c_str());
        TraceTest::TearDown();
    }
    int pid_ = 0;
};

TEST_F(SymbolsTest, TopFaultSitesAreTheWorkloadsFunctionsLiveAndFromAMovedBinary) {
    const std::string bin = dir_.file("bin"), moved = dir_.file("moved");
    ASSERT_EQ(::mkdir(bin.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(moved.c_str(), 0755), 0);
    const std::string exe = bin + "/fault_sites";
    std::filesystem::copy_file(kWorkloads + "/fault_sites", exe);
    const std::string rec = dir_.file("rec.ptr");
    Run r = pagetrace({"record", "-o", rec, "--", exe, "--alpha", "3000", "--beta", "1000",
                       "--read-pages", "64", "--jit-pages", "16", "--report", report_path()});
    ASSERT_EQ(r.status, 0) << r.err;
    const Report report = parse_report(report_path());
    pid_ = report.pid;
    ASSERT_GT(report.pid, 0);
    const std::string alpha_src = "fault_sites.c:" + std::to_string(line_of("/* TOUCH-ALPHA */"));
    const std::string beta_src = "fault_sites.c:" + std::to_string(line_of("/* TOUCH-BETA */"));
    // The summary `record` printed at the end names them too.
    EXPECT_NE(r.err.find("alpha_touch+0x"), std::string::npos) << r.err;

    const auto expect_top_two = [&](const std::vector<Json>& sites, const std::string& when) {
        ASSERT_GE(sites.size(), 2u) << when;
        EXPECT_EQ(sites[0]["sym"].text.rfind("alpha_touch+0x", 0), 0u) << when << sites[0]["sym"].text;
        EXPECT_EQ(sites[0]["first_touches"].u64(), 3000u) << when;
        EXPECT_GE(sites[0]["faults"].u64(), 3000u) << when;
        EXPECT_EQ(sites[0]["src"].text, alpha_src) << when;
        EXPECT_EQ(sites[0]["dso"].text, "fault_sites") << when;
        EXPECT_EQ(sites[1]["sym"].text.rfind("beta_touch+0x", 0), 0u) << when << sites[1]["sym"].text;
        EXPECT_EQ(sites[1]["first_touches"].u64(), 1000u) << when;
        EXPECT_EQ(sites[1]["src"].text, beta_src) << when;
    };

    r = pagetrace({"timeline", rec, "--format", "json"});
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<Json> sites = sites_of(r.out, report.pid);
    expect_top_two(sites, "in place: ");
    if (HasFailure()) return;

    // addr2line agrees on the line: the site's ip, less the load bias the
    // workload's own function address gives against nm's.
    const uint64_t nm_alpha = hex_of(shell("nm " + exe + " | awk '$3 == \"alpha_touch\" {print $1}'"));
    ASSERT_NE(nm_alpha, 0u);
    const uint64_t ip = hex_of(sites[0]["ip"].text);
    const uint64_t file_addr = ip - (report.alpha_fn - nm_alpha);
    const std::string a2l = shell(fmt::format("addr2line -f -e {} {:#x}", exe, file_addr));
    EXPECT_EQ(a2l.rfind("alpha_touch\n", 0), 0u) << a2l;
    EXPECT_NE(a2l.find("/" + alpha_src), std::string::npos) << a2l;

    // The JIT code, named by the perf map captured at the workload's exit.
    bool jit = false, kernel = false;
    for (const Json& s : sites) {
        if (s["dso"].text == "[jit]") {
            jit = true;
            EXPECT_EQ(s["sym"].text, "jit_touch_page+0x0");
            EXPECT_EQ(s["first_touches"].u64(), 16u);
        }
        if (s["mode"].text == "kernel" && s["first_touches"].u64() == 64) kernel = true;
    }
    EXPECT_TRUE(jit) << r.out;
    // read(2) into 64 fresh pages: a kernel function, when kallsyms shows addresses.
    EXPECT_TRUE(kernel) << r.out;
    const bool kallsyms = shell("head -1 /proc/kallsyms").rfind("0000000000000000", 0) != 0;
    for (const Json& s : sites) {
        if (s["mode"].text != "kernel" || s["first_touches"].u64() != 64) continue;
        if (kallsyms) {
            EXPECT_EQ(s["dso"].text, "[kernel]");
            const std::string fn = s["sym"].text.substr(0, s["sym"].text.find('+'));
            EXPECT_NE(shell("awk '$3 == \"" + fn + "\"' /proc/kallsyms"), "") << fn;
        } else {
            EXPECT_EQ(s["sym"].kind, Json::Null);
        }
    }

    // The binary moved: found again through --symfs (DIR/NAME).
    std::filesystem::rename(exe, moved + "/fault_sites");
    r = pagetrace({"timeline", rec, "--format", "json"});
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<Json> lost = sites_of(r.out, report.pid);
    ASSERT_GE(lost.size(), 1u);
    EXPECT_EQ(lost[0]["sym"].kind, Json::Null) << "a binary that is not there cannot name code";
    EXPECT_EQ(lost[0]["first_touches"].u64(), 3000u);
    r = pagetrace({"timeline", rec, "--format", "json", "--symfs", moved});
    ASSERT_EQ(r.status, 0) << r.err;
    expect_top_two(sites_of(r.out, report.pid), "through --symfs: ");

    // Another build at the recorded path is refused, said once; --symfs
    // still finds the right one.
    std::filesystem::copy_file(kWorkloads + "/fault_sites_rebuilt", exe);
    r = pagetrace({"timeline", rec, "--format", "json"});
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<Json> refused = sites_of(r.out, report.pid);
    ASSERT_GE(refused.size(), 1u);
    EXPECT_EQ(refused[0]["sym"].kind, Json::Null) << "code located in the wrong build";
    size_t said = 0;
    for (size_t at = 0; (at = r.err.find("not used for", at)) != std::string::npos; ++at) ++said;
    EXPECT_EQ(said, 1u) << r.err;
    r = pagetrace({"info", rec});
    EXPECT_NE(r.out.find("NOT USED"), std::string::npos) << r.out;
    r = pagetrace({"timeline", rec, "--format", "json", "--symfs", moved});
    expect_top_two(sites_of(r.out, report.pid), "rebuilt in place, right one in --symfs: ");
    r = pagetrace({"info", rec, "--symfs", moved});
    EXPECT_NE(r.out.find("found at " + moved + "/fault_sites"), std::string::npos) << r.out;
}

TEST_F(SymbolsTest, ReplayAndLiveTraceNameTheFunctionOfEachFault) {
    const std::string exe = kWorkloads + "/fault_sites";
    const std::string alpha_src = "fault_sites.c:" + std::to_string(line_of("/* TOUCH-ALPHA */"));
    // Programs that live a few ms at least (see the recording below).
    const TraceRun live = trace({"--", exe, "--alpha", "3000", "--beta", "1000", "--report", report_path()});
    ASSERT_EQ(live.exit_status, 0) << live.stderr_text;
    pid_ = live.report.pid;
    size_t alpha = 0;
    for (const auto& e : of_type(live.events, "fault")) {
        if (field(e, "sym").rfind("alpha_touch+0x", 0) != 0) continue;
        ++alpha;
        EXPECT_EQ(field(e, "src"), alpha_src);
        EXPECT_EQ(field(e, "dso"), "fault_sites");
    }
    EXPECT_EQ(alpha, 3000u);

    // A recording replays with the same fields, and text lines carry the symbol.
    const std::string rec = dir_.file("rec.ptr");
    // Long enough a life (a few ms) for the recorder to read its mappings
    // after exec: a program that is gone within about a millisecond may not
    // be (agent/symbols/README.md, Limits).
    Run r = pagetrace({"record", "-o", rec, "--", exe, "--alpha", "3000", "--beta", "1000"});
    ASSERT_EQ(r.status, 0) << r.err;
    r = pagetrace({"replay", rec, "--format", "json"});
    ASSERT_EQ(r.status, 0) << r.err;
    alpha = 0;
    for (const auto& e : of_type(parse_json_lines(r.out), "fault")) {
        if (field(e, "sym").rfind("alpha_touch+0x", 0) == 0 && field(e, "src") == alpha_src) ++alpha;
    }
    EXPECT_EQ(alpha, 3000u);
    r = pagetrace({"replay", rec});
    EXPECT_NE(r.out.find(" alpha_touch+0x"), std::string::npos);
    r = pagetrace({"replay", rec, "--format", "json", "--no-symbols"});
    EXPECT_EQ(r.out.find("\"sym\""), std::string::npos);
    EXPECT_EQ(r.out.find("\"src\""), std::string::npos);
}

}  // namespace
}  // namespace pagetrace::test
