// Text and JSON Lines rendering of timeline summaries and page histories. The
// JSON is read back with a small strict parser that knows nothing of the
// renderer, and checked against the schema in agent/timeline/README.md.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/json_value.h"
#include "timeline/timeline_render.h"
#include "timeline_story.h"

using namespace pagetrace;
using namespace pagetrace::story;
using pagetrace::test::Json;
using pagetrace::test::parse_json;

namespace {

constexpr uint64_t kA = 0x7f0000000000;

std::vector<Json> parse_lines(const std::string& text) {
    std::vector<Json> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::string why;
        std::optional<Json> j = parse_json(line, &why);
        EXPECT_TRUE(j.has_value()) << why << ": " << line;
        out.push_back(j ? std::move(*j) : Json{});
    }
    return out;
}

// A story with a bit of everything, for the renderers.
Story& busy_story(Story& s) {
    s.comm = "demo \"q\"";
    s.mmap(kA, 4 * kPage);
    s.fault(kA + 0x10, Access::Write, FaultOutcome::Minor, 1'500);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x1234}});
    s.tlb_flush(kA, kA + kPage, PT_TLB_REMOTE_SHOOTDOWN, 1);
    s.migrate(kA, 0x1234, 0x5678);
    s.madvise(kA, kPage, kMadvDontneed);
    s.fault(kA, Access::Read, FaultOutcome::Major, 2'000'000);
    s.snapshot(SnapshotKind::Periodic, {{kA, 0x9999}, {kA + kPage, 0x7}}, {{kA, kA + 4 * kPage}});
    s.lost(12, 3);
    s.mremap(kA, 4 * kPage, kA + 0x100000, 4 * kPage);
    s.exit(9 /* SIGKILL */, 777);
    return s;
}

}  // namespace

TEST(TimelineRenderJson, SummaryHasTheDocumentedFields) {
    Story s;
    busy_story(s);
    const auto lines = parse_lines(format_summaries(s.timeline.summaries(), OutputFormat::Json, 0));
    ASSERT_EQ(lines.size(), 1u);
    const Json& j = lines[0];
    EXPECT_EQ(j["type"].text, "process");
    EXPECT_EQ(j["pid"].u64(), 100u);
    EXPECT_EQ(j["start_ns"].u64(), 777u);
    EXPECT_EQ(j["parent_pid"].kind, Json::Null);
    EXPECT_EQ(j["comm"].text, "demo \"q\"");
    EXPECT_EQ(j["exit"]["code"].u64(), 137u);
    EXPECT_EQ(j["exit"]["signal"].text, "SIGKILL");
    EXPECT_EQ(j["pid_reused"].kind, Json::Bool);
    EXPECT_EQ(j["mapped_bytes"]["peak"].u64(), 4 * kPage);
    EXPECT_EQ(j["mapped_bytes"]["final"].u64(), 0u);
    const Json& series = j["mapped_bytes"]["series"];
    ASSERT_EQ(series.kind, Json::Array);
    ASSERT_GE(series.items.size(), 2u);
    EXPECT_EQ(series.items.front().items.at(1).u64(), 4 * kPage);
    EXPECT_EQ(series.items.back().items.at(1).u64(), 0u);
    EXPECT_EQ(j["pages_touched"].u64(), 1u);
    EXPECT_EQ(j["resident_pages"]["peak"].u64(), 2u);
    EXPECT_EQ(j["faults"]["total"].u64(), 2u);
    EXPECT_EQ(j["faults"]["major"].u64(), 1u);
    EXPECT_EQ(j["first_touch_after_mmap_ns"]["count"].u64(), 1u);
    EXPECT_EQ(j["first_touch_after_mmap_ns"]["p50"].u64(), 1000u);
    EXPECT_EQ(j["migrations"]["by_reason"]["compaction"].u64(), 1u);
    EXPECT_EQ(j["tlb_flushes"]["by_reason"]["remote_shootdown"].u64(), 1u);
    EXPECT_EQ(j["gaps"]["count"].u64(), 1u);
    EXPECT_EQ(j["gaps"]["lost_events"].u64(), 12u);
    EXPECT_EQ(j["unexplained"]["frame_changes"].u64(), 0u);  // the fault explains 0x9999
    EXPECT_EQ(j["snapshots"]["present_without_fault"].u64(), 1u);
    for (const char* key : {"first_ts_ns", "last_ts_ns", "exec", "untouched_bytes", "discarded_pages"}) {
        EXPECT_TRUE(j.has(key)) << key;
    }
}

TEST(TimelineRenderJson, PageHistoryHasTheDocumentedFields) {
    Story s(HistoryFilter::range(100, kA, kA + 0x200000));
    busy_story(s);
    const auto lines = parse_lines(format_page_histories(s.timeline.page_histories(), OutputFormat::Json, 0));
    ASSERT_FALSE(lines.empty());
    const Json* page = nullptr;
    for (const Json& j : lines) {
        EXPECT_EQ(j["type"].text, "page");
        if (j["addr"].text == "0x7f0000100000") page = &j;
    }
    ASSERT_NE(page, nullptr);
    EXPECT_EQ((*page)["pid"].u64(), 100u);
    EXPECT_EQ((*page)["start_ns"].u64(), 777u);
    EXPECT_EQ((*page)["pfn"].u64(), 0x9999u);
    const auto& events = (*page)["events"].items;
    std::string whats;
    for (const Json& e : events) {
        EXPECT_TRUE(e.has("ts_ns"));
        whats += e["what"].text + " ";
    }
    EXPECT_EQ(whats,
              "mapped first_touch pfn tlb_flush migrated discarded touch pfn gap moved unmapped ");
    EXPECT_EQ(events[0]["cause"].text, "mmap");
    EXPECT_EQ(events[0]["prot"].text, "rw-");
    EXPECT_EQ(events[0]["flags"].text, "private|anonymous");
    EXPECT_EQ(events[1]["access"].text, "write");
    EXPECT_EQ(events[1]["outcome"].text, "minor");
    EXPECT_EQ(events[1]["latency_ns"].u64(), 1500u);
    EXPECT_EQ(events[1]["since_mapped_ns"].u64(), 1000u);
    EXPECT_EQ(events[1]["ip"].text, "0x401000");
    EXPECT_EQ(events[2]["pfn"].u64(), 0x1234u);
    EXPECT_EQ(events[2]["source"].text, "targeted");
    EXPECT_EQ(events[3]["pages"].u64(), 1u);
    EXPECT_EQ(events[3]["start"].text, "0x7f0000000000");
    EXPECT_EQ(events[4]["old_pfn"].u64(), 0x1234u);
    EXPECT_EQ(events[4]["new_pfn"].u64(), 0x5678u);
    EXPECT_EQ(events[4]["reason"].text, "compaction");
    EXPECT_EQ(events[4]["by_comm"].text, "kcompactd0");
    EXPECT_FALSE(events[4].has("unexplained"));
    EXPECT_EQ(events[5]["advice"].text, "dontneed");
    EXPECT_FALSE(events[6].has("since_mapped_ns"));
    EXPECT_EQ(events[7]["old_pfn"].u64(), 0x5678u);
    EXPECT_EQ(events[7]["source"].text, "periodic");
    EXPECT_EQ(events[8]["lost"].u64(), 12u);
    EXPECT_EQ(events[8]["cpu"].u64(), 3u);
    EXPECT_EQ(events[9]["from"].text, "0x7f0000000000");
    EXPECT_EQ(events[9]["to"].text, "0x7f0000100000");
    EXPECT_EQ(events[10]["cause"].text, "exit");
}

TEST(TimelineRenderJson, UnknownFramesAreNullAndUnexplainedIsMarked) {
    Story s(HistoryFilter::page(100, kA));
    s.snapshot(SnapshotKind::Attach, {{kA, 0}}, {{kA, kA + kPage}}, false);
    s.snapshot(SnapshotKind::Periodic, {{kA, 0x20}}, {{kA, kA + kPage}});
    s.snapshot(SnapshotKind::Periodic, {{kA, 0x30}}, {{kA, kA + kPage}});
    const auto lines = parse_lines(format_page_histories(s.timeline.page_histories(), OutputFormat::Json, 0));
    ASSERT_EQ(lines.size(), 1u);
    const auto& events = lines[0]["events"].items;
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[1]["pfn"].kind, Json::Null);
    EXPECT_TRUE(events[1]["before_tracing"].boolean);
    EXPECT_EQ(events[2]["pfn"].u64(), 0x20u);
    EXPECT_FALSE(events[2].has("unexplained"));
    EXPECT_TRUE(events[3]["unexplained"].boolean);
    EXPECT_EQ(events[3]["old_pfn"].u64(), 0x20u);

    Story none(HistoryFilter::page(100, kA));
    none.mmap(kA, kPage);
    const auto plain = parse_lines(format_page_histories(none.timeline.page_histories(), OutputFormat::Json, 0));
    ASSERT_EQ(plain.size(), 1u);
    EXPECT_EQ(plain[0]["pfn"].kind, Json::Null);
    EXPECT_EQ(plain[0]["start_ns"].kind, Json::Null);
}

TEST(TimelineRenderText, SummaryReadsAsAReport) {
    Story s;
    busy_story(s);
    const std::string text = format_summaries(s.timeline.summaries(), OutputFormat::Text, s.timeline.summaries()[0].first_ts_ns);
    EXPECT_NE(text.find("process 100 demo \"q\""), std::string::npos) << text;
    EXPECT_NE(text.find("killed by SIGKILL"), std::string::npos) << text;
    EXPECT_NE(text.find("  mapped        peak 16 KiB, final 0 B, never touched 8 KiB"), std::string::npos) << text;
    EXPECT_NE(text.find("  faults        2: minor 1, major 1, unaccounted 0, unknown 0"), std::string::npos) << text;
    EXPECT_NE(text.find("  mmap->touch   1 pages: p50 1.0 us"), std::string::npos) << text;
    EXPECT_NE(text.find("  migrations    1 (1 pages): compaction 1"), std::string::npos) << text;
    EXPECT_NE(text.find("  tlb flushes   1: remote_shootdown 1"), std::string::npos) << text;
    EXPECT_NE(text.find("  gaps          1 (12 events lost"), std::string::npos) << text;
    EXPECT_NE(text.find("█"), std::string::npos) << text;
}

TEST(TimelineRenderText, HistoryIsOneAlignedLinePerEntry) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA);
    s.snapshot(SnapshotKind::Targeted, {{kA, 0x10}});
    s.snapshot(SnapshotKind::Periodic, {{kA, 0x11}}, {{kA, kA + kPage}});
    s.munmap(kA, kPage);
    const std::string text = format_page_histories(s.timeline.page_histories(), OutputFormat::Text, 1'000'000'000);
    EXPECT_EQ(text,
              "page 0x7f0000000000 of process 100 story  frame 0x11\n"
              "      0.000000  mapped       mmap rw- private|anonymous\n"
              "      0.000001  first_touch  write user minor 500 ns ip=0x401000, 1.0 us after mapping\n"
              "      0.000002  pfn          0x10 [targeted snapshot]\n"
              "      0.000003  pfn          0x11 (was 0x10) [periodic snapshot] UNEXPLAINED: no migration seen\n"
              "      0.000004  unmapped     munmap\n");
}

TEST(TimelineRenderText, StatsLine) {
    Story s(HistoryFilter::page(100, kA));
    s.mmap(kA, kPage);
    s.fault(kA);
    s.lost(3);
    const std::string line = format_timeline_stats(s.timeline.stats());
    EXPECT_NE(line.find("3 events, 0 snapshots, 1 processes; 1 pages tracked at peak"), std::string::npos) << line;
    EXPECT_NE(line.find("1 page histories"), std::string::npos) << line;
    EXPECT_NE(line.find("1 gaps, 3 events lost"), std::string::npos) << line;
}

TEST(TimelineRenderText, DurationUnits) {
    EXPECT_EQ(timeline_duration_text(850), "850 ns");
    EXPECT_EQ(timeline_duration_text(12'345), "12.3 us");
    EXPECT_EQ(timeline_duration_text(4'560'000), "4.56 ms");
    EXPECT_EQ(timeline_duration_text(1'230'000'000), "1.23 s");
}

TEST(TimelineRender, AFaultWhoseLatencyWasNotMeasuredHasNone) {
    // With --latency-every N, N - 1 faults in N have an outcome but latency 0.
    story::Story s(HistoryFilter::page(100, 0x7f0000000000));
    s.mmap(0x7f0000000000, 4096);
    s.fault(0x7f0000000000, Access::Write, FaultOutcome::Minor, 0);
    const auto h = s.history(0x7f0000000000);
    ASSERT_TRUE(h);
    std::string json, text;
    append_history_json(json, *h);
    append_history_text(text, *h, 0);
    EXPECT_NE(json.find(R"("what":"first_touch","access":"write","mode":"user","outcome":"minor","ip")"),
              std::string::npos)
        << json;
    EXPECT_NE(text.find("first_touch  write user minor ip=0x401000"), std::string::npos) << text;
}
