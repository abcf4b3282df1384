// Integration tests of the timeline: recordings of the bundled workloads read
// back with `pagetrace timeline`, checked page by page against the frames the
// workload read from its own /proc/self/pagemap.
#include <fstream>

#include "support/trace_fixture.h"

namespace pagetrace::test {
namespace {

// "pfn before|after ADDR PFN" lines of a touch_pages --hold report.
void read_frames(const std::string& report, std::map<uint64_t, uint64_t>& before,
                 std::map<uint64_t, uint64_t>& after) {
    std::istringstream rep(read_file(report));
    std::string line;
    while (std::getline(rep, line)) {
        std::istringstream words(line);
        std::string kind, when, addr;
        uint64_t pfn = 0;
        if (!(words >> kind >> when >> addr >> pfn) || kind != "pfn") continue;
        (when == "before" ? before : after)[std::strtoull(addr.c_str(), nullptr, 16)] = pfn;
    }
}

class TimelineTest : public TraceTest {
protected:
    // `pagetrace timeline FILE ARGS --format json` into timeline.json.
    void timeline(const std::string& file, std::vector<std::string> args) {
        std::vector<std::string> argv = {kPagetrace, "timeline", file, "--format", "json"};
        argv.insert(argv.end(), args.begin(), args.end());
        SpawnOptions opts;
        opts.stdout_path = dir_.file("timeline.json");
        opts.stderr_path = dir_.file("timeline.err");
        Subprocess proc(argv, opts);
        EXPECT_EQ(proc.wait(60), 0) << read_file(opts.stderr_path);
    }
};

std::string hex_text(uint64_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

// The frames a page history shows, in order, with the migrations between them.
struct FrameStory {
    std::vector<uint64_t> observed;                          // `pfn` entries
    std::vector<std::pair<uint64_t, uint64_t>> migrations;  // `migrated` old -> new
    bool first_touch = false;
};

FrameStory story_of(const JsonObject& page, const std::string& events_json) {
    FrameStory s;
    // The events array is nested JSON, which the flat test reader does not
    // parse; pick the fields out of its text, one event object at a time.
    size_t at = 0;
    while ((at = events_json.find("{\"ts_ns\"", at)) != std::string::npos) {
        const size_t end = events_json.find('}', at);
        const std::string ev = events_json.substr(at, end - at);
        const auto num = [&](const std::string& key) -> uint64_t {
            const auto k = ev.find("\"" + key + "\":");
            return k == std::string::npos ? 0 : std::strtoull(ev.c_str() + k + key.size() + 3, nullptr, 10);
        };
        if (ev.find("\"what\":\"pfn\"") != std::string::npos) s.observed.push_back(num("pfn"));
        if (ev.find("\"what\":\"migrated\"") != std::string::npos) {
            s.migrations.emplace_back(num("old_pfn"), num("new_pfn"));
        }
        if (ev.find("\"what\":\"first_touch\"") != std::string::npos) s.first_touch = true;
        at = end;
    }
    (void)page;
    return s;
}

// The page history lines of the timeline output, by address.
std::map<uint64_t, std::string> page_lines(const std::string& text) {
    std::map<uint64_t, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("\"type\":\"page\"") == std::string::npos) continue;
        const auto a = line.find("\"addr\":\"0x");
        out[std::strtoull(line.c_str() + a + 10, nullptr, 16)] = line;
    }
    return out;
}

TEST_F(TimelineTest, FramesOfEveryPageMatchTheWorkloadsOwnPagemapAcrossCompaction) {
    constexpr uint64_t kPages = 8192;
    const std::string file = dir_.file("run.ptr");
    SpawnOptions opts;
    opts.stderr_path = dir_.file("record.err");
    Subprocess recorder({kPagetrace, "-v", "record", "-o", file, "--", kTouchPages, "--report",
                         report_path(), "--pages", std::to_string(kPages), "--hold"},
                        opts);
    ASSERT_TRUE(wait_for_text(report_path(), "held", 60)) << read_file(opts.stderr_path);
    // The frames of the touched pages are looked up shortly after the faults.
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    {
        std::ofstream compact("/proc/sys/vm/compact_memory");
        compact << "1\n";
    }
    const WorkloadReport held = WorkloadReport::parse(read_file(report_path()));
    kill(held.pid, SIGUSR2);
    ASSERT_EQ(recorder.wait(60), 0) << read_file(opts.stderr_path);

    std::map<uint64_t, uint64_t> before, after;
    read_frames(report_path(), before, after);
    ASSERT_EQ(before.size(), kPages);
    ASSERT_EQ(after.size(), kPages);
    const Region& reg = held.region_of(held.pid);

    timeline(file, {"--range", hex_text(reg.addr) + "-" + hex_text(reg.addr + reg.len)});
    const auto lines = page_lines(read_file(dir_.file("timeline.json")));
    ASSERT_EQ(lines.size(), kPages) << "one history per page of the region";
    size_t moved = 0;
    for (const auto& [addr, line] : lines) {
        std::string err;
        auto page = parse_json_object(line.substr(0, line.find(",\"events\"")) + "}", &err);
        ASSERT_TRUE(page) << err << ": " << line.substr(0, 200);
        EXPECT_EQ(page->num("pid"), held.pid);
        const FrameStory s = story_of(*page, line.substr(line.find("\"events\"")));
        EXPECT_TRUE(s.first_touch) << std::hex << addr;
        ASSERT_FALSE(s.observed.empty()) << "no frame observed for page " << std::hex << addr;
        // The first frame seen is the one the workload saw after touching...
        EXPECT_EQ(s.observed.front(), before.at(addr)) << std::hex << addr;
        // ...and the last known frame the one it saw at the end.
        EXPECT_EQ(static_cast<uint64_t>(page->num("pfn")), after.at(addr)) << std::hex << addr;
        if (before.at(addr) != after.at(addr)) {
            ++moved;
            ASSERT_FALSE(s.migrations.empty()) << "frame changed without a migrated entry";
            EXPECT_EQ(s.migrations.front().first, before.at(addr));
            EXPECT_EQ(s.migrations.back().second, after.at(addr));
        } else {
            for (const auto& m : s.migrations) EXPECT_NE(m.first, m.second);
        }
    }
    std::cout << "[ timeline ] " << moved << " of " << kPages
              << " pages moved; every frame matches the workload's pagemap\n";
}

TEST_F(TimelineTest, AttachingSeedsThePagesTouchedBeforeTracing) {
    constexpr uint64_t kPages = 256;
    Subprocess workload({kTouchPages, "--report", report_path(), "--pages", std::to_string(kPages),
                         "--hold"},
                        SpawnOptions{});
    ASSERT_TRUE(wait_for_text(report_path(), "held", 30));
    const std::string file = dir_.file("attach.ptr");
    SpawnOptions opts;
    opts.stderr_path = dir_.file("record.err");
    Subprocess recorder({kPagetrace, "record", "-o", file, "-p", std::to_string(workload.pid())},
                        opts);
    ASSERT_TRUE(wait_for_text(opts.stderr_path, "tracing pid", 30)) << read_file(opts.stderr_path);
    workload.send_signal(SIGUSR2);
    ASSERT_EQ(workload.wait(30), 0);
    ASSERT_EQ(recorder.wait(30), 0) << read_file(opts.stderr_path);

    std::map<uint64_t, uint64_t> before, after;
    read_frames(report_path(), before, after);
    const WorkloadReport rep = WorkloadReport::parse(read_file(report_path()));
    const Region& reg = rep.region_of(rep.pid);
    timeline(file, {"--range", hex_text(reg.addr) + "-" + hex_text(reg.addr + reg.len)});
    const std::string text = read_file(dir_.file("timeline.json"));
    const auto lines = page_lines(text);
    ASSERT_EQ(lines.size(), kPages) << "pages touched before tracing must appear";
    for (const auto& [addr, line] : lines) {
        EXPECT_NE(line.find("\"before_tracing\":true"), std::string::npos) << line.substr(0, 300);
        const FrameStory s = story_of(JsonObject{}, line.substr(line.find("\"events\"")));
        ASSERT_FALSE(s.observed.empty());
        EXPECT_EQ(s.observed.front(), before.at(addr)) << std::hex << addr;
        EXPECT_FALSE(s.first_touch) << "touched before tracing: no first touch was seen";
    }
}

}  // namespace
}  // namespace pagetrace::test
