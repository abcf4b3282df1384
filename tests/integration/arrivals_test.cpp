// How pages arrive, checked against the kernel's own account: huge pages
// against the workload's pagemap and /proc/kpageflags, fault-around against
// the pages its pagemap shows present, fork and copy-on-write against both
// processes' pagemaps, and the fault counts of real programs (python3, sort,
// xz, gcc, git) against wait4's rusage.
#include <fstream>

#include "support/json_value.h"
#include "support/trace_fixture.h"

namespace pagetrace::test {
namespace {

const std::string kArrivals = std::string(PAGETRACE_WORKLOAD_DIR) + "/arrivals";
const std::string kRusageRun = std::string(PAGETRACE_WORKLOAD_DIR) + "/rusage_run";
constexpr uint64_t kKpfThp = uint64_t{1} << 22;

uint64_t hex_of(const std::string& text) { return std::strtoull(text.c_str(), nullptr, 16); }

std::string hex_text(uint64_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

// The lines of a report whose first word is `kind`: the words after it.
std::vector<std::vector<std::string>> report_lines(const std::string& path,
                                                   const std::string& kind) {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string first, word;
        if (!(words >> first) || first != kind) continue;
        std::vector<std::string> rest;
        while (words >> word) rest.push_back(word);
        out.push_back(rest);
    }
    return out;
}

// Every JSON line of a timeline output, parsed.
std::vector<Json> json_lines(const std::string& text) {
    std::vector<Json> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::string why;
        auto value = parse_json(line, &why);
        if (!value) throw std::runtime_error("bad JSON line: " + why + ": " + line);
        out.push_back(std::move(*value));
    }
    return out;
}

// Page histories by (pid, address).
std::map<std::pair<uint64_t, uint64_t>, Json> histories_of(const std::vector<Json>& lines) {
    std::map<std::pair<uint64_t, uint64_t>, Json> out;
    for (const Json& l : lines) {
        if (l["type"].text == "page") out[{l["pid"].u64(), hex_of(l["addr"].text)}] = l;
    }
    return out;
}

// The entries of a history with what == `what`.
std::vector<const Json*> entries(const Json& history, const std::string& what) {
    std::vector<const Json*> out;
    for (const Json& e : history["events"].items) {
        if (e["what"].text == what) out.push_back(&e);
    }
    return out;
}

class ArrivalsTest : public TraceTest {
protected:
    // `pagetrace record -o run.ptr -- ARGS`; fails the test if it fails.
    std::string record(const std::vector<std::string>& command, double timeout_s = 120) {
        const std::string file = dir_.file("run.ptr");
        std::vector<std::string> args = {"record", "--force", "-o", file, "--"};
        args.insert(args.end(), command.begin(), command.end());
        const RunResult r = run_pagetrace(args, {.timeout_s = timeout_s});
        EXPECT_FALSE(r.timed_out);
        EXPECT_EQ(r.status, 0) << r.err;
        return file;
    }
    std::vector<Json> timeline(const std::string& file, const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args = {"timeline", file, "--format", "json"};
        args.insert(args.end(), extra.begin(), extra.end());
        const RunResult r = run_pagetrace(args, {.timeout_s = 120});
        EXPECT_EQ(r.status, 0) << r.err;
        return json_lines(r.out);
    }
    std::vector<Json> replay(const std::string& file, const std::string& types) {
        const RunResult r =
            run_pagetrace({"replay", file, "--format", "json", "--events", types}, {.timeout_s = 120});
        EXPECT_EQ(r.status, 0) << r.err;
        return json_lines(r.out);
    }
    static std::string range_arg(uint64_t addr, uint64_t len) {
        std::ostringstream out;
        out << std::hex << "0x" << addr << "-0x" << addr + len;
        return out.str();
    }
};

TEST_F(ArrivalsTest, EveryPageOfAHugePageRegionHasItsFirstTouchAndItsOwnFrame) {
    const std::string thp = read_file("/sys/kernel/mm/transparent_hugepage/enabled");
    if (thp.find("[never]") != std::string::npos || thp.empty()) {
        // Not a skip: this machine cannot show what the test is about.
        FAIL() << "transparent huge pages are off on this kernel (" << thp
               << "): set /sys/kernel/mm/transparent_hugepage/enabled to madvise";
    }
    const std::string file = record({kArrivals, "thp", "--report", report_path()});
    const auto region = report_lines(report_path(), "region");
    ASSERT_EQ(region.size(), 1u);
    const uint64_t start = hex_of(region[0][0]);
    const uint64_t len = std::stoull(region[0][1]);
    const auto pages = report_lines(report_path(), "page");
    ASSERT_EQ(pages.size(), len / kPageSize);
    const uint64_t pid = std::stoull(report_lines(report_path(), "pid")[0][0]);

    const auto lines = timeline(file, {"--pid", std::to_string(pid), "--range", range_arg(start, len)});
    const auto histories = histories_of(lines);
    size_t thp_pages = 0, checked = 0;
    for (const auto& p : pages) {
        const uint64_t addr = hex_of(p[0]);
        const uint64_t pfn = std::stoull(p[1]);
        const bool in_thp = (std::stoull(p[2]) & kKpfThp) != 0;
        SCOPED_TRACE(p[0]);
        ASSERT_NE(pfn, 0u) << "the workload touched every page";
        auto it = histories.find({pid, addr});
        ASSERT_NE(it, histories.end()) << "no history";
        const auto touches = entries(it->second, "first_touch");
        ASSERT_EQ(touches.size(), 1u);
        EXPECT_EQ(it->second["pfn"].u64(), pfn) << "the last frame known is the workload's own";
        for (const Json& e : it->second["events"].items) EXPECT_FALSE(e.has("no_fault_seen"));
        if (in_thp) {
            ++thp_pages;
            EXPECT_EQ((*touches[0])["order"].u64(), 9u);
            EXPECT_EQ((*touches[0])["pfn"].u64(), pfn);
        }
        ++checked;
    }
    EXPECT_EQ(checked, 16384u);
    EXPECT_GT(thp_pages, 0u) << "the kernel gave the MADV_HUGEPAGE region no huge page";
    // The summary counts them, and reports none of that memory as untouched.
    for (const Json& l : lines) {
        if (l["type"].text != "process" || l["pid"].u64() != pid) continue;
        EXPECT_EQ(l["huge_pages"]["count"].u64(), thp_pages / 512);
        EXPECT_EQ(l["huge_pages"]["bytes"].u64(), thp_pages * kPageSize);
        EXPECT_LE(l["untouched_bytes"].u64(), 2u << 20) << "only the alignment slack is untouched";
        EXPECT_EQ(l["unexplained"]["frame_changes"].u64(), 0u);
    }
}

TEST_F(ArrivalsTest, FaultAroundPagesArePresentPagesWithoutAFaultOfTheirOwn) {
    // A warm 1 MiB file: every page is in the page cache.
    const std::string data = dir_.file("data.bin");
    {
        std::ofstream out(data, std::ios::binary);
        for (int i = 0; i < (1 << 20); ++i) out.put(static_cast<char>(i * 7 + 3));
    }
    ASSERT_EQ(read_file(data).size(), 1u << 20);
    const std::string file =
        record({kArrivals, "around", "--file", data, "--report", report_path()});
    const uint64_t pid = std::stoull(report_lines(report_path(), "pid")[0][0]);
    const auto region = report_lines(report_path(), "region");
    ASSERT_EQ(region.size(), 1u);
    const uint64_t start = hex_of(region[0][0]);
    const uint64_t len = std::stoull(region[0][1]);
    std::set<uint64_t> present;
    for (const auto& p : report_lines(report_path(), "present")) present.insert(hex_of(p[0]));
    ASSERT_GT(present.size(), 16u) << "the workload read 16 pages; fault-around maps more";

    std::set<uint64_t> explained, around;
    for (const auto& [key, h] : histories_of(timeline(file, {"--pid", std::to_string(pid),
                                                             "--range", range_arg(start, len)}))) {
        if (!entries(h, "first_touch").empty()) explained.insert(key.second);
        if (!entries(h, "mapped_around").empty()) {
            explained.insert(key.second);
            around.insert(key.second);
            EXPECT_NE((*entries(h, "mapped_around")[0])["fault_addr"].text, "");
        }
    }
    std::vector<std::string> missing, extra;
    for (uint64_t a : present) {
        if (!explained.count(a)) missing.push_back(hex_text(a));
    }
    for (uint64_t a : explained) {
        if (!present.count(a)) extra.push_back(hex_text(a));
    }
    EXPECT_TRUE(missing.empty() && extra.empty())
        << missing.size() << " present pages without first_touch or mapped_around (e.g. "
        << (missing.empty() ? "-" : missing[0]) << "), " << extra.size()
        << " with one that are not present (e.g. " << (extra.empty() ? "-" : extra[0]) << ") of "
        << present.size() << "\n"
        << (missing.empty() ? std::string()
                            : run_pagetrace({"timeline", file, "--addr", missing[0]}).out +
                                  run_pagetrace({"replay", file, "--events", "fault,fault_around,mmap"}).out);
    EXPECT_FALSE(around.empty());
    EXPECT_FALSE(replay(file, "fault_around").empty());
}

TEST_F(ArrivalsTest, AForkedChildInheritsFramesAndItsWritesAreCopyOnWrite) {
    constexpr uint64_t kPages = 512;
    const std::string file = record({kArrivals, "cow", "--pages", std::to_string(kPages),
                                     "--report", report_path()});
    const uint64_t parent = std::stoull(report_lines(report_path(), "pid")[0][0]);
    const uint64_t child = std::stoull(report_lines(report_path(), "child_pid")[0][0]);
    const auto region = report_lines(report_path(), "region");
    ASSERT_EQ(region.size(), 1u);
    const uint64_t start = hex_of(region[0][0]);
    std::map<uint64_t, uint64_t> before, in_child, after;
    for (const auto& p : report_lines(report_path(), "parent")) before[hex_of(p[0])] = std::stoull(p[1]);
    for (const auto& p : report_lines(report_path(), "child")) in_child[hex_of(p[0])] = std::stoull(p[1]);
    for (const auto& p : report_lines(report_path(), "parent_after")) after[hex_of(p[0])] = std::stoull(p[1]);
    ASSERT_EQ(in_child.size(), kPages);

    const auto lines = timeline(file, {"--range", range_arg(start, kPages * kPageSize)});
    const auto histories = histories_of(lines);
    for (uint64_t i = 0; i < kPages; ++i) {
        const uint64_t addr = start + i * kPageSize;
        SCOPED_TRACE(i);
        auto c = histories.find({child, addr});
        ASSERT_NE(c, histories.end());
        const auto inherited = entries(c->second, "pfn");
        ASSERT_FALSE(inherited.empty());
        EXPECT_EQ((*inherited[0])["source"].text, "fork");
        EXPECT_EQ((*inherited[0])["pfn"].u64(), before.at(addr)) << "the parent's frame at fork";
        EXPECT_EQ(c->second["pfn"].u64(), in_child.at(addr)) << "the child's own pagemap";
        const auto touches = entries(c->second, "touch");
        if (i < kPages / 2) {
            ASSERT_EQ(touches.size(), 1u) << "the child wrote the first half";
            EXPECT_TRUE((*touches[0])["cow"].boolean);
            EXPECT_NE(in_child.at(addr), before.at(addr));
        } else {
            EXPECT_TRUE(touches.empty()) << "reads of inherited pages do not fault";
            EXPECT_EQ(in_child.at(addr), before.at(addr));
        }
        for (const Json& e : c->second["events"].items) {
            EXPECT_FALSE(e.has("unexplained"));
            EXPECT_FALSE(e.has("no_fault_seen"));
        }
        // The parent keeps its frames.
        auto p = histories.find({parent, addr});
        ASSERT_NE(p, histories.end());
        EXPECT_EQ(p->second["pfn"].u64(), after.at(addr));
        EXPECT_EQ(after.at(addr), before.at(addr));
    }
    for (const Json& l : lines) {
        if (l["type"].text != "process" || l["pid"].u64() != child) continue;
        EXPECT_GE(l["faults"]["cow"].u64(), kPages / 2);
        EXPECT_EQ(l["unexplained"]["frame_changes"].u64(), 0u);
    }
}

// One real program under rusage_run: the kernel's count (wait4's rusage of
// it and the children it waited for) equals the sum of the exit events'
// counters, and every process's fault events fit in its kernel count.
void expect_exact_accounting(ArrivalsTest& test, const std::string& file,
                             const std::string& report, const std::string& what) {
    (void)test;
    SCOPED_TRACE(what);
    const auto rusage = report_lines(report, "rusage");
    ASSERT_EQ(rusage.size(), 1u);
    const uint64_t command = std::stoull(rusage[0][0]);
    const uint64_t kernel = std::stoull(rusage[0][1]) + std::stoull(rusage[0][2]);
    (void)command;
    std::map<uint64_t, uint64_t> parent_of;
    uint64_t wrapper = 0;
    std::vector<Json> lines;
    {
        const RunResult r = run_pagetrace({"timeline", file, "--format", "json"}, {.timeout_s = 120});
        ASSERT_EQ(r.status, 0) << r.err;
        lines = json_lines(r.out);
    }
    for (const Json& l : lines) {
        if (l["type"].text != "process") continue;
        if (l["parent_pid"].kind == Json::Null) wrapper = l["pid"].u64();
    }
    uint64_t sum = 0;
    size_t processes = 0;
    for (const Json& l : lines) {
        if (l["type"].text != "process" || l["pid"].u64() == wrapper) continue;
        const Json& f = l["faults"];
        ASSERT_EQ(f["kernel_minor"].kind, Json::Number) << "pid " << l["pid"].u64();
        ASSERT_EQ(f["without_exception"].kind, Json::Number);
        ASSERT_EQ(f["kernel_before_tracing"].kind, Json::Number) << "pid " << l["pid"].u64();
        ASSERT_EQ(f["kernel_before_tracing"].u64(), 0u)
            << "traced since its fork: pid " << l["pid"].u64() << " " << l["comm"].text << " exec "
            << l["exec"].text << " parent " << l["parent_pid"].text;
        const uint64_t k_minor = f["kernel_minor"].u64(), k_major = f["kernel_major"].u64();
        sum += k_minor + k_major;
        // No fault event without a kernel count behind it.
        EXPECT_LE(f["minor"].u64(), k_minor) << "pid " << l["pid"].u64();
        EXPECT_LE(f["major"].u64(), k_major) << "pid " << l["pid"].u64();
        EXPECT_EQ(f["unknown"].u64(), 0u);
        EXPECT_EQ(f["minor"].u64() + f["major"].u64() + f["without_exception"].u64(),
                  k_minor + k_major);
        ++processes;
    }
    EXPECT_GE(processes, 1u);
    EXPECT_EQ(sum, kernel) << "the exits' counters against wait4's rusage";
}

TEST_F(ArrivalsTest, FaultCountsOfRealProgramsAreExactlyTheKernels) {
    const std::string numbers = dir_.file("numbers.txt");
    {
        std::ofstream out(numbers);
        for (int i = 0; i < 200000; ++i) out << (i * 7919) % 200003 << '\n';
    }
    const std::string source = dir_.file("t.c");
    {
        std::ofstream out(source);
        out << "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n";
    }
    const std::vector<std::pair<std::string, std::vector<std::string>>> programs = {
        {"python3", {"python3", "-c", "import json; print(len(json.dumps(list(range(100000)))))"}},
        {"sort", {"sort", numbers, "-o", dir_.file("sorted.txt")}},
        {"xz", {"xz", "-T2", "-k", "-f", numbers}},
        {"gcc", {"gcc", "-O1", "-c", source, "-o", dir_.file("t.o")}},
        {"git", {"git", "-C", PAGETRACE_SOURCE_DIR, "log", "-n", "20", "-p", "--stat"}},
    };
    for (const auto& [name, argv] : programs) {
        const std::string report = dir_.file(name + ".rusage");
        std::vector<std::string> command = {kRusageRun, "--report", report, "--"};
        command.insert(command.end(), argv.begin(), argv.end());
        const std::string file = record(command);
        expect_exact_accounting(*this, file, report, name);
    }
}

}  // namespace
}  // namespace pagetrace::test
