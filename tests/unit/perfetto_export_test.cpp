// `pagetrace export --format perfetto`: the protobuf encoder byte for byte, the
// trace writer's ordering, and exports of the recorded fixtures checked against
// the recordings themselves (every track described, timestamps in order,
// slices balanced, one instant per event of the instant types, counters that
// peak where the timeline says and add up to its totals), and read by
// `protoc --decode` with a minimal .proto of Perfetto's field numbers.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "export/perfetto_export.h"
#include "export/perfetto_trace.h"
#include "export/proto_writer.h"
#include "output/output_stream.h"
#include "pipeline/memory_source.h"
#include "pipeline/pipeline.h"
#include "record/record_reader.h"
#include "record/recording_source.h"
#include "support/perfetto_reader.h"
#include "timeline/timeline_builder.h"
#include "timeline/timeline_sink.h"
#include "unit/record_support.h"

namespace pagetrace {
namespace {

using recording::RecordingReader;
using recording::RecordingSource;
using recording::ReaderOptions;
using recording::open_file_source;
using recording::test::TempDir;
using pagetrace::test::parse_perfetto_trace;
using pagetrace::test::ParsedTrace;

std::string hex_bytes(const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%02x", c);
        out += buf;
    }
    return out;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// ---------------------------------------------------------------- encoder

TEST(ProtoWriter, WritesTheWireFormat) {
    std::string out;
    proto::ProtoWriter w(out);
    w.varint(1, 150);  // the protobuf documentation's example: 08 96 01
    EXPECT_EQ(hex_bytes(out), "089601");
    out.clear();
    w.varint(58, 3);  // a tag above 15 takes two bytes
    EXPECT_EQ(hex_bytes(out), "d00303");
    out.clear();
    w.int64(4, -1);  // negative int64: ten bytes
    EXPECT_EQ(hex_bytes(out), "20ffffffffffffffffff01");
    out.clear();
    w.string(2, "hi");
    EXPECT_EQ(hex_bytes(out), "12026869");
    out.clear();
    w.fixed64(47, 0x0102030405060708);
    EXPECT_EQ(hex_bytes(out), "f9020807060504030201");
    out.clear();
    w.double_value(44, 1.0);
    EXPECT_EQ(hex_bytes(out), "e102000000000000f03f");
}

TEST(ProtoWriter, NestedMessagesGetCanonicalLengths) {
    std::string out;
    proto::ProtoWriter w(out);
    auto nested = w.begin(3);
    w.varint(1, 1);
    w.end(nested);
    // tag 1a, length 2, then 08 01
    EXPECT_EQ(hex_bytes(out), "1a020801");
    pagetrace::test::WireReader r(out);
    const auto f = r.next();
    EXPECT_EQ(f.number, 3u);
    EXPECT_EQ(f.data.size(), 2u);
    EXPECT_TRUE(r.done());
    // A message of 200 bytes: a two-byte length.
    out.clear();
    nested = w.begin(1);
    w.bytes(2, std::string(197, 'x'));
    w.end(nested);
    EXPECT_EQ(out.size(), 1u + 2u + 200u);
    EXPECT_EQ(hex_bytes(out.substr(0, 5)), "0ac80112c5");
}

TEST(ProtoWriter, VarintSizes) {
    EXPECT_EQ(proto::varint_size(0), 1u);
    EXPECT_EQ(proto::varint_size(127), 1u);
    EXPECT_EQ(proto::varint_size(128), 2u);
    EXPECT_EQ(proto::varint_size(~uint64_t{0}), 10u);
}

// ---------------------------------------------------------------- writer

TEST(PerfettoTrace, EventsLeaveTheWindowInTimeOrder) {
    TempDir dir;
    const std::string path = dir.path() + "/t.pftrace";
    {
        OutputStream out(path);
        perfetto::PerfettoTrace trace(out, 1000, 0, {.span_ns = 100, .max_events = 1000});
        trace.child_track(7, 0, "t");
        for (uint64_t ts : {1500, 1300, 1400, 1700, 1350, 1900, 1200}) {
            trace.add({.ts_ns = ts, .type = perfetto::TrackEventType::Instant, .track_uuid = 7,
                       .name = "i"});
        }
        trace.finish();
        // 1700 pushes out what is older than 1600; 1350 then comes too late,
        // and so does 1200 once 1900 pushed out 1700: both go to the window's edge.
        EXPECT_EQ(trace.stats().late_events, 2u);
    }
    const ParsedTrace t = parse_perfetto_trace(read_all(path));
    EXPECT_EQ(t.problems, std::vector<std::string>{});
    ASSERT_EQ(t.events.size(), 7u);
    std::vector<uint64_t> ts;
    for (const auto& e : t.events) ts.push_back(e.ts);
    EXPECT_EQ(ts, (std::vector<uint64_t>{1300, 1400, 1500, 1500, 1700, 1700, 1900}));
    EXPECT_EQ(t.primary_clock, perfetto::kClockMonotonic);
    EXPECT_EQ(t.clocks.at(perfetto::kClockMonotonic), 1000u);
    EXPECT_EQ(t.clocks.count(perfetto::kClockRealtime), 0u);  // offset unknown
}

// ---------------------------------------------------------------- stories

// Events through a memory source, the pipeline and the export sink.
struct ExportStory {
    explicit ExportStory(PerfettoExportOptions options = {})
        : out(path()), trace(out, 0, 1'700'000'000'000'000'000),
          sink(trace, timeline, {}, options), pipeline(source) {
        pipeline.add(sink);
    }
    static std::string path() { return dir().path() + "/story.pftrace"; }
    static TempDir& dir() {
        static TempDir d;
        return d;
    }
    template <typename Data>
    void add(uint64_t ts, EventType type, Data data, uint32_t pid = 100, uint32_t tid = 100) {
        Event e;
        e.type = type;
        e.ts_ns = ts;
        e.pid = pid;
        e.tid = tid;
        e.comm = "story";
        e.data = std::move(data);
        source.add_event(e);
        pipeline.step();
    }
    ParsedTrace finish() {
        source.add_timeout();
        pipeline.run();
        trace.finish();
        return parse_perfetto_trace(read_all(path()));
    }

    OutputStream out;
    perfetto::PerfettoTrace trace;
    TimelineBuilder timeline;
    PerfettoExportSink sink;
    MemorySource source;
    Pipeline pipeline;
};

std::vector<std::string> slice_names(const ParsedTrace& t, int type) {
    std::vector<std::string> out;
    for (const auto& e : t.events) {
        if (e.type == type) out.push_back(e.name);
    }
    return out;
}

TEST(PerfettoExport, AMappingIsOneSliceUntilTheLastOfItIsUnmapped) {
    ExportStory s;
    constexpr uint64_t kA = 0x7f0000000000, kB = 0x7f0000100000;
    s.add(1'000, EventType::Mmap, MmapData{.addr = kA, .len = 16 * 4096, .prot = 3, .flags = 0x22});
    s.add(2'000, EventType::Mmap, MmapData{.addr = kB, .len = 4096, .prot = 1, .flags = 0x22});
    s.add(3'000, EventType::Munmap, MunmapData{kA + 4096, 4096, 0});        // a hole: still mapped
    s.add(4'000, EventType::Munmap, MunmapData{kA, 4096, 0});               // its first page
    s.add(5'000, EventType::Munmap, MunmapData{kA + 2 * 4096, 14 * 4096, 0});  // the rest: ends
    const ParsedTrace t = s.finish();
    EXPECT_EQ(t.problems, std::vector<std::string>{});
    std::vector<const pagetrace::test::TraceEvent*> ends;
    std::map<uint64_t, std::string> lane_of_begin;
    for (const auto& e : t.events) {
        if (e.type == 1) lane_of_begin[e.track_uuid] = e.name;
        if (e.type == 2) ends.push_back(&e);
    }
    // Two lanes (the mappings overlap in time), named by prot and flags.
    ASSERT_EQ(lane_of_begin.size(), 2u);
    EXPECT_EQ(slice_names(t, 1),
              (std::vector<std::string>{"mmap rw- private|anonymous", "mmap r-- private|anonymous"}));
    ASSERT_EQ(ends.size(), 2u);
    EXPECT_EQ(ends[0]->ts, 5'000u);  // A, when its last page went
    EXPECT_EQ(ends[1]->ts, 5'000u);  // B, at the end of the stream (still mapped)
    for (const auto& e : t.events) {
        if (e.type == 1) {
            EXPECT_EQ(t.tracks.at(e.track_uuid).name, "mappings");
        }
    }
}

TEST(PerfettoExport, StallsAreSlicesOnTheirThread) {
    ExportStory s({.long_fault_ns = 100'000});
    const auto fault = [](uint64_t addr, FaultOutcome outcome, uint64_t latency) {
        FaultData d;
        d.addr = addr;
        d.ip = 0x401000;
        d.outcome = outcome;
        d.latency_ns = latency;
        return d;
    };
    s.add(1'000, EventType::Fault, fault(0x1000, FaultOutcome::Minor, 500));
    s.add(2'000, EventType::Fault, fault(0x2000, FaultOutcome::Minor, 150'000), 100, 101);
    s.add(3'000, EventType::Fault, fault(0x3000, FaultOutcome::Major, 20'000));
    const ParsedTrace t = s.finish();
    EXPECT_EQ(t.problems, std::vector<std::string>{});
    EXPECT_EQ(slice_names(t, 1), (std::vector<std::string>{"minor fault", "major fault"}));
    std::map<int64_t, int> slices_by_tid;
    for (const auto& e : t.events) {
        if (e.type != 1) continue;
        const auto& track = t.tracks.at(e.track_uuid);
        EXPECT_TRUE(track.is_thread);
        ++slices_by_tid[track.tid];
        EXPECT_EQ(e.args.at("ip"), "0x401000");
    }
    EXPECT_EQ(slices_by_tid, (std::map<int64_t, int>{{100, 1}, {101, 1}}));
    // The minor fault's slice lasts its latency.
    for (size_t i = 0; i + 1 < t.events.size(); ++i) {
        if (t.events[i].name == "minor fault") EXPECT_EQ(t.events[i].ts, 2'000u);
    }
    bool found_end = false;
    for (const auto& e : t.events) found_end |= e.type == 2 && e.ts == 152'000;
    EXPECT_TRUE(found_end);
}

TEST(PerfettoExport, ForkDrawsAFlowToTheChild) {
    ExportStory s;
    s.add(1'000, EventType::Fork, ForkData{200, 999});
    s.add(2'000, EventType::Exit, ExitData{0, 999}, 200, 200);
    s.add(3'000, EventType::Exit, ExitData{9, 0});
    const ParsedTrace t = s.finish();
    EXPECT_EQ(t.problems, std::vector<std::string>{});
    const pagetrace::test::TraceEvent* fork = nullptr;
    const pagetrace::test::TraceEvent* forked = nullptr;
    for (const auto& e : t.events) {
        if (e.name == "fork") fork = &e;
        if (e.name == "forked") forked = &e;
    }
    ASSERT_TRUE(fork && forked);
    ASSERT_EQ(fork->flow_ids.size(), 1u);
    EXPECT_EQ(forked->terminating_flow_ids, fork->flow_ids);
    EXPECT_EQ(t.tracks.at(fork->track_uuid).pid, 100);
    EXPECT_EQ(t.tracks.at(forked->track_uuid).pid, 200);
    EXPECT_EQ(fork->args.at("child_pid"), "200");
    // Killed by SIGKILL: 128 + 9.
    for (const auto& e : t.events) {
        if (e.name == "exit" && t.tracks.at(e.track_uuid).pid == 100) {
            EXPECT_EQ(e.args.at("code"), "137");
            EXPECT_EQ(e.args.at("signal"), "SIGKILL");
        }
    }
    EXPECT_EQ(t.clocks.at(perfetto::kClockRealtime), 1'700'000'000'000'000'000u);
}

// ---------------------------------------------------------------- fixtures

struct RecordingFacts {
    std::map<std::string, uint64_t> instants;  // expected instants by name
    std::vector<ProcessSummary> summaries;
    uint64_t page_size = 4096;
};

// What the recording itself says: events of each instant type, and the
// timeline's summaries.
class FactsSink : public EventSink {
public:
    explicit FactsSink(RecordingFacts& facts) : facts_(facts) {}
    void on_event(const Event& e, std::span<const std::byte>) override {
        switch (e.type) {
        case EventType::TlbFlush: {
            const auto& d = std::get<TlbFlushData>(e.data);
            if (d.start < d.end) ++facts_.instants["tlb_flush"];
            break;
        }
        case EventType::Migrate:
        case EventType::MigrateBatch:
        case EventType::Madvise:
        case EventType::Exec:
        case EventType::Fork:
        case EventType::Exit:
        case EventType::Lost: ++facts_.instants[std::string(event_type_name(e.type))]; break;
        default: break;
        }
    }

private:
    RecordingFacts& facts_;
};

RecordingFacts facts_of(const std::string& file) {
    RecordingFacts facts;
    RecordingReader reader(open_file_source(file), file, ReaderOptions{});
    RecordingSource source(reader);
    facts.page_size = source.page_geometry().size();
    TimelineBuilder timeline(HistoryFilter::none(), source.page_geometry());
    TimelineSink timeline_sink(timeline);
    FactsSink counts(facts);
    Pipeline pipeline(source);
    pipeline.add(timeline_sink);
    pipeline.add(counts);
    pipeline.run();
    facts.summaries = timeline.summaries();
    return facts;
}

std::string export_fixture(const std::string& file, const std::string& out_path) {
    RecordingReader reader(open_file_source(file), file, ReaderOptions{});
    RecordingSource source(reader);
    OutputStream out(out_path);
    perfetto::PerfettoTrace trace(out, reader.header().start_ns, reader.header().clock_offset_ns);
    TimelineBuilder timeline(HistoryFilter::none(), source.page_geometry());
    PerfettoExportSink sink(trace, timeline, source.page_geometry(),
                            {.start_ns = reader.header().start_ns});
    Pipeline pipeline(source);
    pipeline.add(sink);
    pipeline.run();
    trace.finish();
    return read_all(out_path);
}

class FixtureExport : public ::testing::TestWithParam<const char*> {};

TEST_P(FixtureExport, MatchesTheRecording) {
    const std::string file = std::string(PAGETRACE_FIXTURE_DIR) + "/" + GetParam();
    TempDir dir;
    const ParsedTrace t = parse_perfetto_trace(export_fixture(file, dir.path() + "/out.pftrace"));
    const RecordingFacts facts = facts_of(file);
    EXPECT_EQ(t.problems, std::vector<std::string>{});
    EXPECT_EQ(t.primary_clock, perfetto::kClockMonotonic);

    std::map<std::string, uint64_t> instants;
    for (const auto& e : t.events) {
        if (e.type == 3 && e.name != "forked") ++instants[e.name];
    }
    EXPECT_EQ(instants, facts.instants);

    ASSERT_FALSE(facts.summaries.empty());
    for (const ProcessSummary& s : facts.summaries) {
        SCOPED_TRACE("pid " + std::to_string(s.pid));
        ASSERT_NE(t.process_track(s.pid), nullptr);
        int64_t resident_peak = 0, mapped_peak = 0, minor = 0, major = 0, touched = 0;
        for (const auto* e : t.counter_events(s.pid, "resident")) {
            resident_peak = std::max(resident_peak, e->counter_value);
        }
        for (const auto* e : t.counter_events(s.pid, "mapped")) {
            mapped_peak = std::max(mapped_peak, e->counter_value);
        }
        for (const auto* e : t.counter_events(s.pid, "minor faults per 1 ms")) minor += e->counter_value;
        for (const auto* e : t.counter_events(s.pid, "major faults per 1 ms")) major += e->counter_value;
        for (const auto* e : t.counter_events(s.pid, "first touches per 1 ms")) {
            touched += e->counter_value;
        }
        EXPECT_EQ(resident_peak, static_cast<int64_t>(s.resident_pages_peak * facts.page_size));
        EXPECT_EQ(mapped_peak, static_cast<int64_t>(s.mapped_bytes_peak));
        EXPECT_EQ(minor, static_cast<int64_t>(s.faults.minor));
        EXPECT_EQ(major, static_cast<int64_t>(s.faults.major));
        EXPECT_EQ(touched, static_cast<int64_t>(s.pages_touched));
    }
}

INSTANTIATE_TEST_SUITE_P(Recordings, FixtureExport,
                         ::testing::Values("touch_pages.ptr", "killed.ptr", "abi2/compaction.ptr",
                                           "abi2/vma.ptr", "abi2/lost.ptr"),
                         [](const auto& info) {
                             return recording::test::fixture_test_name(info.param);
                         });

// protoc, with a .proto of Perfetto's field numbers written for this test,
// reads the export and finds no field it does not know.
TEST(PerfettoExport, ProtocDecodesIt) {
    if (std::system("command -v protoc >/dev/null 2>&1") != 0) {
        if (std::getenv("CI")) FAIL() << "protoc is missing (tools/setup.sh installs protobuf-compiler)";
        GTEST_SKIP() << "\n*** SKIPPED: protoc not installed (tools/setup.sh installs it) ***";
    }
    TempDir dir;
    const std::string trace = dir.path() + "/c.pftrace";
    export_fixture(std::string(PAGETRACE_FIXTURE_DIR) + "/abi2/compaction.ptr", trace);
    const std::string decoded = dir.path() + "/decoded.txt";
    const std::string proto_dir = std::string(PAGETRACE_TEST_DATA_DIR);
    const std::string cmd = "protoc --proto_path=" + proto_dir +
                            " --decode=pagetrace_test.Trace " + proto_dir +
                            "/perfetto_minimal.proto < " + trace + " > " + decoded + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << read_all(decoded);
    const std::string text = read_all(decoded);
    // Unknown fields show as bare numbers ("  58: 3").
    std::istringstream lines(text);
    std::string line;
    size_t packets = 0, migrates = 0;
    while (std::getline(lines, line)) {
        const size_t first = line.find_first_not_of(' ');
        ASSERT_FALSE(first != std::string::npos && std::isdigit(static_cast<unsigned char>(line[first])))
            << "a field the minimal .proto does not know: " << line;
        if (line == "packet {") ++packets;
        if (line.find("name: \"migrate\"") != std::string::npos) ++migrates;
    }
    EXPECT_GT(packets, 10u);
    EXPECT_EQ(migrates, 1u);  // interned once
    EXPECT_NE(text.find("timestamp_clock_id: 3"), std::string::npos);
    EXPECT_NE(text.find("primary_trace_clock: 3"), std::string::npos);
    EXPECT_NE(text.find("unit: UNIT_SIZE_BYTES"), std::string::npos);
    EXPECT_NE(text.find("type: TYPE_SLICE_BEGIN"), std::string::npos);
}

}  // namespace
}  // namespace pagetrace
