// Integration tests of the two views of a recording, on a bundled workload
// recorded here as root: `pagetrace export --format perfetto` (read back with
// an independent protobuf reader and checked against `replay` and `timeline`
// of the same file) and `pagetrace report` opened in headless Chromium (the
// DOM after the scripts ran: no script errors, the numbers shown equal the
// timeline's, the heatmap painted at the region the workload touched; the
// screenshot is kept in the build tree's test-artifacts/).
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "support/json_value.h"
#include "support/perfetto_reader.h"
#include "support/trace_fixture.h"

namespace pagetrace::test {
namespace {

std::string fmt_hex(uint64_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

class ViewsTest : public TraceTest {
protected:
    struct Result {
        int status = -1;
        std::string out;
        std::string err;
    };

    Result run(const std::vector<std::string>& argv_tail, double timeout_s = 120,
               const std::string& program = kPagetrace) {
        std::vector<std::string> argv = {program};
        argv.insert(argv.end(), argv_tail.begin(), argv_tail.end());
        SpawnOptions opts;
        opts.stdout_path = dir_.file("out." + std::to_string(++runs_));
        opts.stderr_path = dir_.file("err." + std::to_string(runs_));
        Subprocess proc(argv, opts);
        Result r;
        const auto status = proc.wait(timeout_s);
        if (!status) ADD_FAILURE() << argv[0] << " did not finish in " << timeout_s << " s";
        r.status = status.value_or(-1);
        r.out = read_file(opts.stdout_path);
        r.err = read_file(opts.stderr_path);
        return r;
    }

    // Records touch_pages (pages touched by the parent, some by a forked child).
    std::string record_workload(uint64_t pages, uint64_t child_pages) {
        const std::string file = dir_.file("run.ptr");
        const Result rec = run({"record", "-o", file, "--", kTouchPages, "--report", report_path(),
                                "--pages", std::to_string(pages), "--fork-pages",
                                std::to_string(child_pages)});
        EXPECT_EQ(rec.status, 0) << rec.err;
        workload = WorkloadReport::parse(read_file(report_path()));
        return file;
    }

    // `pagetrace timeline FILE --format json`: one summary per line.
    std::vector<Json> summaries(const std::string& file) {
        const Result r = run({"timeline", file, "--format", "json"});
        EXPECT_EQ(r.status, 0) << r.err;
        std::vector<Json> out;
        std::istringstream lines(r.out);
        std::string line;
        while (std::getline(lines, line)) {
            std::string why;
            auto j = parse_json(line, &why);
            if (!j) {
                ADD_FAILURE() << why;
                continue;
            }
            out.push_back(std::move(*j));
        }
        return out;
    }

    WorkloadReport workload;
    int runs_ = 0;
};

TEST_F(ViewsTest, PerfettoExportOfARecordingMatchesIt) {
    const std::string file = record_workload(512, 64);
    const std::string trace_file = dir_.file("run.pftrace");
    const Result exp = run({"export", file, "--format", "perfetto", "-o", trace_file});
    ASSERT_EQ(exp.status, 0) << exp.err;
    const ParsedTrace t = parse_perfetto_trace(read_file(trace_file));
    EXPECT_EQ(t.problems, std::vector<std::string>{});

    // Instants: one per recorded event of those types.
    const Result replay = run({"replay", file, "--format", "json"});
    ASSERT_EQ(replay.status, 0) << replay.err;
    std::map<std::string, uint64_t> expected;
    for (const JsonObject& e : parse_json_lines(replay.out)) {
        const std::string type = e.str("type");
        if (type == "tlb_flush") {
            if (e.has("start") && e.hex("end") > e.hex("start")) ++expected[type];
        } else if (type == "migrate" || type == "migrate_batch" || type == "madvise" ||
                   type == "exec" || type == "fork" || type == "exit" || type == "lost") {
            ++expected[type];
        }
    }
    std::map<std::string, uint64_t> instants;
    for (const TraceEvent& e : t.events) {
        if (e.type == 3 && e.name != "forked") ++instants[e.name];
    }
    EXPECT_EQ(instants, expected);
    EXPECT_EQ(instants["fork"], 1u);

    // Counters: the resident peak is the timeline's, the faults add up to its totals.
    const std::vector<Json> sums = summaries(file);
    ASSERT_EQ(sums.size(), 2u);  // the workload and its child
    for (const Json& s : sums) {
        const int64_t pid = static_cast<int64_t>(s["pid"].u64());
        SCOPED_TRACE("pid " + std::to_string(pid));
        ASSERT_NE(t.process_track(pid), nullptr);
        int64_t peak = 0, minor = 0;
        for (const auto* e : t.counter_events(pid, "resident")) peak = std::max(peak, e->counter_value);
        for (const auto* e : t.counter_events(pid, "minor faults per 1 ms")) minor += e->counter_value;
        EXPECT_EQ(peak, static_cast<int64_t>(s["resident_pages"]["peak"].u64() * kPageSize));
        EXPECT_EQ(minor, static_cast<int64_t>(s["faults"]["minor"].u64()));
    }
    // The workload's region is a mapping slice of the parent.
    const Region& region = workload.region_of(workload.pid);
    bool found = false;
    for (const TraceEvent& e : t.events) {
        if (e.type == 1 && e.args.count("addr") && e.args.at("addr") == fmt_hex(region.addr)) {
            found = true;
            EXPECT_EQ(e.args.at("len"), std::to_string(region.len));
            EXPECT_EQ(t.tracks.at(t.tracks.at(e.track_uuid).parent_uuid).pid, workload.pid);
        }
    }
    EXPECT_TRUE(found) << "no mapping slice at " << fmt_hex(region.addr);
}

// The browser's path, "" if there is none.
std::string chromium() {
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/snap/bin"}) {
        for (const char* name : {"chromium", "chromium-browser"}) {
            const std::string path = std::string(dir) + "/" + name;
            if (::access(path.c_str(), X_OK) == 0) return path;
        }
    }
    return "";
}

// The attribute `name` of each element whose start tag matches `tag_re`.
std::vector<std::map<std::string, std::string>> elements(const std::string& dom,
                                                         const std::string& tag) {
    std::vector<std::map<std::string, std::string>> out;
    const std::regex element("<" + tag + "((?: [a-z-]+=\"[^\"]*\")*)>([^<]*)");
    const std::regex attribute(" ([a-z-]+)=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(dom.begin(), dom.end(), element); it != std::sregex_iterator(); ++it) {
        std::map<std::string, std::string> attrs;
        const std::string list = (*it)[1];
        for (auto a = std::sregex_iterator(list.begin(), list.end(), attribute); a != std::sregex_iterator(); ++a) {
            attrs[(*a)[1]] = (*a)[2];
        }
        attrs["#text"] = (*it)[2];
        out.push_back(std::move(attrs));
    }
    return out;
}

TEST_F(ViewsTest, ReportOpensInABrowserAndShowsTheTimeline) {
    const std::string browser = chromium();
    if (browser.empty()) {
        if (std::getenv("CI")) FAIL() << "chromium is missing (tools/setup.sh installs it)";
        GTEST_SKIP() << "\n*** SKIPPED: chromium not installed (tools/setup.sh installs it) ***";
    }
    const std::string file = record_workload(4096, 64);
    const std::string page = dir_.file("run.html");
    const Result rep = run({"report", file, "-o", page});
    ASSERT_EQ(rep.status, 0) << rep.err;
    const std::vector<std::string> headless = {"--headless", "--no-sandbox", "--disable-gpu",
                                               "--hide-scrollbars", "--window-size=1280,1600",
                                               "--virtual-time-budget=10000",
                                               "--enable-logging=stderr", "--v=0",
                                               "--user-data-dir=" + dir_.file("chromium-profile")};
    std::vector<std::string> dump = headless;
    dump.push_back("--dump-dom");
    dump.push_back("file://" + page);
    const Result dom = run(dump, 120, browser);
    ASSERT_EQ(dom.status, 0) << dom.err;

    // The scripts ran to the end and said nothing on the console.
    EXPECT_NE(dom.out.find("data-ready=\"1\""), std::string::npos) << "the page's script did not finish";
    EXPECT_NE(dom.out.find("<div id=\"errors\"></div>"), std::string::npos) << "script errors shown";
    std::istringstream log(dom.err);
    std::string line;
    while (std::getline(log, line)) {
        EXPECT_EQ(line.find(":CONSOLE"), std::string::npos) << line;
    }

    // The numbers shown are the timeline's.
    const std::vector<Json> sums = summaries(file);
    ASSERT_EQ(sums.size(), 2u);
    const auto cells = elements(dom.out, "td");
    const std::map<std::string, uint64_t (*)(const Json&)> fields = {
        {"faults.total", [](const Json& s) { return s["faults"]["total"].u64(); }},
        {"faults.minor", [](const Json& s) { return s["faults"]["minor"].u64(); }},
        {"pages_touched", [](const Json& s) { return s["pages_touched"].u64(); }},
        {"resident_peak_bytes",
         [](const Json& s) { return s["resident_pages"]["peak"].u64() * kPageSize; }},
        {"mapped_peak_bytes", [](const Json& s) { return s["mapped_bytes"]["peak"].u64(); }},
        {"migrations", [](const Json& s) { return s["migrations"]["total"].u64(); }},
        {"tlb_flushes", [](const Json& s) { return s["tlb_flushes"]["total"].u64(); }},
    };
    // The cells of each summary row, by the pid in its first cell.
    std::map<std::string, std::map<std::string, std::string>> shown;  // pid -> field -> value
    std::string row_pid;
    for (const auto& cell : cells) {
        if (!cell.count("data-field") || !cell.count("data-value")) continue;
        if (cell.at("data-field") == "pid") row_pid = cell.at("data-value");
        shown[row_pid][cell.at("data-field")] = cell.at("data-value");
    }
    size_t checked = 0;
    for (const Json& s : sums) {
        const std::string pid = std::to_string(s["pid"].u64());
        for (const auto& [field, get] : fields) {
            ASSERT_TRUE(shown[pid].count(field)) << "no " << field << " shown for pid " << pid;
            EXPECT_EQ(shown[pid][field], std::to_string(get(s))) << field << " of pid " << pid;
            ++checked;
        }
    }
    EXPECT_EQ(checked, fields.size() * sums.size());

    // The heatmap has paint where the workload touched its pages, read back
    // from the canvas by the page (the parent's process is shown first: it
    // faulted the most).
    const Region& region = workload.region_of(workload.pid);
    bool found = false;
    for (const auto& band : elements(dom.out, "li")) {
        const uint64_t start = std::strtoull(band.at("data-start").c_str(), nullptr, 16);
        const uint64_t end = std::strtoull(band.at("data-end").c_str(), nullptr, 16);
        if (start <= region.addr && region.addr + region.len <= end) {
            found = true;
            EXPECT_GT(std::stoull(band.at("data-painted")), 0u) << "band " << band.at("#text");
        }
    }
    EXPECT_TRUE(found) << "no heatmap band holds the workload's region " << fmt_hex(region.addr);

    // The screenshot, kept for a person to look at.
    ::mkdir(PAGETRACE_ARTIFACT_DIR, 0755);
    const std::string png = std::string(PAGETRACE_ARTIFACT_DIR) + "/report.png";
    std::vector<std::string> shot = headless;
    shot.push_back("--screenshot=" + png);
    shot.push_back("file://" + page);
    const Result screenshot = run(shot, 120, browser);
    ASSERT_EQ(screenshot.status, 0) << screenshot.err;
    const std::string bytes = read_file(png);
    ASSERT_GT(bytes.size(), 10'000u) << png;
    EXPECT_EQ(bytes.substr(1, 3), "PNG");
}

}  // namespace
}  // namespace pagetrace::test
