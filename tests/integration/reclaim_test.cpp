// What the kernel takes or changes, checked against the workload's own
// pagemap at each step: pages MADV_PAGEOUT sends to swap and the faults that
// bring them back, reclaim under a memory cgroup's limit and the stalls it
// costs, KSM merging pages of equal content, MADV_COLLAPSE making a huge page
// of small ones. Each test makes the machine state it needs (a swap file,
// KSM on, a memory cgroup) and puts it back whatever happens (system_state.h).
#include "support/recording_fixture.h"
#include "support/system_state.h"

namespace pagetrace::test {
namespace {

const std::string kReclaim = std::string(PAGETRACE_WORKLOAD_DIR) + "/reclaim";

constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kSwapped = uint64_t{1} << 62;
constexpr uint64_t kPfnMask = (uint64_t{1} << 55) - 1;

uint64_t pfn_of(uint64_t entry) { return entry & kPresent ? entry & kPfnMask : 0; }

// One step of the workload's pagemap readings: address -> raw entry.
std::map<uint64_t, uint64_t> pagemap_step(const std::string& report, const std::string& step) {
    std::map<uint64_t, uint64_t> out;
    for (const auto& words : report_lines(report, step)) out[hex_of(words[0])] = hex_of(words[1]);
    return out;
}

class ReclaimTest : public RecordingTest {
protected:
    uint64_t workload_pid() const { return std::stoull(report_lines(report_path(), "pid")[0][0]); }
    std::pair<uint64_t, uint64_t> region() const {
        const auto r = report_lines(report_path(), "region");
        if (r.size() != 1) throw std::runtime_error("the workload reported no region");
        return {hex_of(r[0][0]), std::stoull(r[0][1])};
    }
    // The timeline's summary of pid (the last instance).
    Json summary_of(const std::string& file, uint64_t pid) {
        Json found;
        for (Json& l : timeline(file, {"--pid", std::to_string(pid)})) {
            if (l["type"].text == "process" && l["pid"].u64() == pid) found = std::move(l);
        }
        if (found["type"].text != "process") ADD_FAILURE() << "no summary of pid " << pid;
        return found;
    }
    static void expect_nothing_unexplained(const Json& summary) {
        EXPECT_EQ(summary["unexplained"]["frame_changes"].u64(), 0u);
        EXPECT_EQ(summary["unexplained"]["not_present"].u64(), 0u);
    }
};

TEST_F(ReclaimTest, PagedOutPagesHaveTheirSwapOutAndComeBackWithASwapIn) {
    SwapFile swap(64);
    const std::string file = record({kReclaim, "pageout", "--pages", "4096", "--report", report_path()});
    const uint64_t pid = workload_pid();
    const auto [start, len] = region();
    const auto touched = pagemap_step(report_path(), "touched");
    const auto paged_out = pagemap_step(report_path(), "paged_out");
    const auto back = pagemap_step(report_path(), "back");
    ASSERT_EQ(paged_out.size(), 4096u);

    std::map<uint64_t, std::vector<const Json*>> swap_outs;
    const std::vector<Json> events = replay(file, "swap_out");
    for (const Json& e : events) {
        EXPECT_EQ(e["pid"].u64(), pid);
        swap_outs[hex_of(e["addr"].text)].push_back(&e);
    }
    const auto lines = timeline(file, {"--pid", std::to_string(pid), "--range", range_arg(start, len)});
    const auto histories = histories_of(lines);
    size_t swapped = 0;
    for (const auto& [addr, entry] : paged_out) {
        if (!(entry & kSwapped)) continue;
        ++swapped;
        SCOPED_TRACE(hex_text(addr));
        const auto out = swap_outs.find(addr);
        ASSERT_NE(out, swap_outs.end()) << "no swap_out";
        ASSERT_EQ(out->second.size(), 1u);
        EXPECT_EQ((*out->second[0])["pfn"].u64(), pfn_of(touched.at(addr)));
        const auto h = histories.find({pid, addr});
        ASSERT_NE(h, histories.end());
        const auto outs = entries(h->second, "swapped_out");
        const auto ins = entries(h->second, "swapped_in");
        ASSERT_EQ(outs.size(), 1u);
        ASSERT_EQ(ins.size(), 1u);
        EXPECT_LT((*outs[0])["ts_ns"].u64(), (*ins[0])["ts_ns"].u64());
        EXPECT_EQ((*outs[0])["pfn"].u64(), pfn_of(touched.at(addr)));
        // The frame after it is the one the workload's pagemap shows.
        EXPECT_EQ(h->second["pfn"].u64(), pfn_of(back.at(addr)));
    }
    // Every page went: the swap file had room and nothing else held them.
    EXPECT_EQ(swapped, 4096u);
    const Json summary = summary_of(file, pid);
    EXPECT_EQ(summary["swap"]["out_pages"].u64(), swapped);
    EXPECT_EQ(summary["swap"]["in_pages"].u64(), swapped);
    EXPECT_EQ(summary["swap"]["time_swapped_ns"]["count"].u64(), swapped);
    EXPECT_GT(summary["swap"]["time_swapped_ns"]["max"].u64(), 0u);
    expect_nothing_unexplained(summary);
}

TEST_F(ReclaimTest, UnderAMemoryCgroupLimitEverySwappedPageHasItsSwapOutAndStallsAreCounted) {
    SwapFile swap(512);
    MemoryCgroup cgroup(32u << 20);
    const std::string command = "echo $$ > " + cgroup.procs_file() + " && exec " + kReclaim +
                                " pressure --mib 128 --passes 2 --report " + report_path();
    const std::string file = record({"/bin/sh", "-c", command}, 300);
    const uint64_t pid = workload_pid();
    const auto final_step = pagemap_step(report_path(), "final");
    ASSERT_EQ(final_step.size(), (128u << 20) / kPageSize);

    std::set<uint64_t> swapped_out;
    uint64_t stalls = 0;
    for (const Json& e : replay(file, "swap_out,reclaim_stall")) {
        if (e["type"].text == "swap_out") {
            EXPECT_EQ(e["pid"].u64(), pid);
            EXPECT_NE(e["pfn"].u64(), 0u);
            swapped_out.insert(hex_of(e["addr"].text));
        } else if (e["pid"].u64() == pid) {
            const std::string& kind = e["kind"].text;
            EXPECT_TRUE(kind == "memcg" || kind == "direct") << kind;
            EXPECT_GT(e["duration_ns"].u64(), 0u);
            ++stalls;
        }
    }
    size_t swapped_at_end = 0;
    std::vector<std::string> missing;
    for (const auto& [addr, entry] : final_step) {
        if (!(entry & kSwapped)) continue;
        ++swapped_at_end;
        if (!swapped_out.count(addr) && missing.size() < 10) missing.push_back(hex_text(addr));
    }
    // 128 MiB in 32: most of it must have gone to swap.
    EXPECT_GT(swapped_at_end, final_step.size() / 2);
    EXPECT_EQ(missing, std::vector<std::string>{}) << "swapped pages without a swap_out";
    EXPECT_GT(stalls, 0u);

    const auto lines = timeline(file);
    const Json summary = summary_of(file, pid);
    EXPECT_GE(summary["swap"]["out_pages"].u64(), swapped_at_end);
    const Json& memcg = summary["stalls"]["memcg"];
    const Json& direct = summary["stalls"]["direct"];
    EXPECT_EQ(memcg["count"].u64() + direct["count"].u64(), stalls);
    EXPECT_GT(memcg["total_ns"].u64() + direct["total_ns"].u64(), 0u);
    expect_nothing_unexplained(summary);
}

TEST_F(ReclaimTest, KsmMergesEveryPageFromItsOwnFrameIntoTheSharedOne) {
    KsmSettings ksm;
    ksm.set("sleep_millisecs", "10");
    ksm.set("pages_to_scan", "1000");
    ksm.set("run", "1");
    const std::string file = record({kReclaim, "ksm", "--pages", "256", "--report", report_path()});
    const uint64_t pid = workload_pid();
    const auto [start, len] = region();
    const auto before = pagemap_step(report_path(), "before");
    const auto after = pagemap_step(report_path(), "after");
    ASSERT_EQ(after.size(), 256u);
    const uint64_t shared = pfn_of(after.begin()->second);
    ASSERT_NE(shared, 0u);

    std::set<uint64_t> merge_events;
    for (const Json& e : replay(file, "ksm_merge")) {
        EXPECT_EQ(e["pid"].u64(), pid);
        EXPECT_EQ(e["new_pfn"].u64(), shared);
        EXPECT_EQ(e["by_comm"].text, "ksmd");
        merge_events.insert(hex_of(e["addr"].text));
    }
    const auto lines = timeline(file, {"--pid", std::to_string(pid), "--range", range_arg(start, len)});
    const auto histories = histories_of(lines);
    size_t merged = 0;
    for (const auto& [addr, entry] : after) {
        if (pfn_of(entry) != shared) continue;
        ++merged;
        SCOPED_TRACE(hex_text(addr));
        EXPECT_TRUE(merge_events.count(addr)) << "no ksm_merge";
        const auto h = histories.find({pid, addr});
        ASSERT_NE(h, histories.end());
        const auto m = entries(h->second, "merged");
        ASSERT_EQ(m.size(), 1u);
        EXPECT_EQ((*m[0])["old_pfn"].u64(), pfn_of(before.at(addr)));
        EXPECT_EQ((*m[0])["new_pfn"].u64(), shared);
        EXPECT_EQ(h->second["pfn"].u64(), shared);
    }
    EXPECT_EQ(merged, 256u) << "KSM did not merge every page within the workload's wait";
    const Json summary = summary_of(file, pid);
    EXPECT_EQ(summary["ksm_merged_pages"].u64(), merged);
    expect_nothing_unexplained(summary);
}

TEST_F(ReclaimTest, ACollapseMovesEachSmallPageToItsFrameInTheHugePage) {
    const std::string file = record({kReclaim, "collapse", "--report", report_path()});
    const uint64_t pid = workload_pid();
    const auto [start, len] = region();
    const auto before = pagemap_step(report_path(), "before");
    const auto after = pagemap_step(report_path(), "after");
    ASSERT_EQ(after.size(), 512u);
    const uint64_t head = pfn_of(after.at(start));
    ASSERT_NE(head, 0u);
    ASSERT_EQ(head % 512, 0u) << "MADV_COLLAPSE made no huge page";

    const std::vector<Json> collapses = replay(file, "collapse");
    ASSERT_EQ(collapses.size(), 1u);
    EXPECT_EQ(collapses[0]["pid"].u64(), pid);
    EXPECT_EQ(hex_of(collapses[0]["addr"].text), start);
    // MADV_HUGEPAGE registers the address space with khugepaged, which may collapse the
    // range before MADV_COLLAPSE runs (MADV_COLLAPSE then finds a huge page and succeeds):
    // the collapser is the caller or khugepaged, and the event must say which.
    if (collapses[0]["by_pid"].u64() != pid) {
        EXPECT_EQ(collapses[0]["by_comm"].text, "khugepaged");
    } else {
        EXPECT_EQ(collapses[0]["by_comm"].text, "reclaim");
    }

    const auto lines = timeline(file, {"--pid", std::to_string(pid), "--range", range_arg(start, len)});
    const auto histories = histories_of(lines);
    for (uint64_t i = 0; i < 512; ++i) {
        const uint64_t addr = start + i * kPageSize;
        SCOPED_TRACE(hex_text(addr));
        EXPECT_EQ(pfn_of(after.at(addr)), head + i);
        const auto h = histories.find({pid, addr});
        ASSERT_NE(h, histories.end());
        const auto c = entries(h->second, "collapsed");
        ASSERT_EQ(c.size(), 1u);
        EXPECT_EQ((*c[0])["old_pfn"].u64(), pfn_of(before.at(addr)));
        EXPECT_EQ((*c[0])["new_pfn"].u64(), head + i);
        EXPECT_EQ(h->second["pfn"].u64(), head + i);
    }
    const Json summary = summary_of(file, pid);
    EXPECT_EQ(summary["huge_pages"]["collapses"].u64(), 1u);
    EXPECT_EQ(summary["huge_pages"]["collapsed_pages"].u64(), 512u);
    expect_nothing_unexplained(summary);
}

}  // namespace
}  // namespace pagetrace::test
