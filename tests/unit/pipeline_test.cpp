// The event pipeline over a synthetic source: every record is decoded once and
// reaches every sink once, in order, with its raw bytes; what cannot be
// decoded is counted once and never reaches on_event; filters, snapshots,
// process facts, idle moments and the end arrive as the source yields them.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "decode/encoder.h"
#include "pipeline/memory_source.h"
#include "pipeline/pipeline.h"

using namespace pagetrace;

namespace {

Event fault_at(uint64_t ts, uint32_t pid, uint64_t addr) {
    Event e;
    e.type = EventType::Fault;
    e.ts_ns = ts;
    e.pid = pid;
    e.tid = pid;
    e.comm = "worker";
    FaultData d;
    d.addr = addr;
    d.outcome = FaultOutcome::Minor;
    e.data = d;
    return e;
}

Event mmap_at(uint64_t ts, uint32_t pid, uint64_t addr) {
    Event e;
    e.type = EventType::Mmap;
    e.ts_ns = ts;
    e.pid = pid;
    e.tid = pid;
    MmapData d;
    d.addr = addr;
    d.len = 4096;
    e.data = d;
    return e;
}

// Writes down everything it is handed.
class Journal : public EventSink {
public:
    explicit Journal(std::string name, std::vector<std::string>* shared = nullptr,
                     SinkInterest interest = {})
        : name_(std::move(name)), shared_(shared), interest_(interest) {}

    SinkInterest interest() const override { return interest_; }
    void on_event(const Event& e, std::span<const std::byte> raw) override {
        // The raw bytes are the record the event came from.
        Event again;
        EXPECT_FALSE(decode_event(raw, again).has_value());
        EXPECT_EQ(again.ts_ns, e.ts_ns);
        note(std::string(event_type_name(e.type)) + "@" + std::to_string(e.ts_ns));
        ++events;
    }
    void on_undecodable(std::span<const std::byte>, const DecodeError& why) override {
        note("undecodable");
        problems.push_back(why.message);
    }
    void on_snapshot(const PagemapSnapshot& s) override { note("snapshot" + std::to_string(s.pid)); }
    void on_process(const ProcessSnapshot& p) override { note("process" + std::to_string(p.pid)); }
    void on_idle() override { note("idle"); }
    void on_end() override { note("end"); }

    std::vector<std::string> seen;
    std::vector<std::string> problems;
    int events = 0;

private:
    void note(const std::string& what) {
        seen.push_back(what);
        if (shared_) shared_->push_back(name_ + ":" + what);
    }
    std::string name_;
    std::vector<std::string>* shared_;
    SinkInterest interest_;
};

// A source whose feedback sink must see each item before the others do.
class SourceWithFeedback : public MemorySource {
public:
    explicit SourceWithFeedback(std::vector<std::string>* order) : watcher("feedback", order) {}
    EventSink* feedback() override { return &watcher; }
    Journal watcher;
};

}  // namespace

TEST(Pipeline, EverySinkSeesEveryEventOnceInOrder) {
    MemorySource source;
    source.add_event(mmap_at(10, 7, 0x1000));
    source.add_event(fault_at(20, 7, 0x1000));
    source.add_event(fault_at(30, 8, 0x2000));
    Journal a("a"), b("b");
    Pipeline pipeline(source);
    pipeline.add(a);
    pipeline.add(b);
    const PipelineStats& stats = pipeline.run();

    const std::vector<std::string> expected = {"mmap@10", "fault@20", "fault@30", "end"};
    EXPECT_EQ(a.seen, expected);
    EXPECT_EQ(b.seen, expected);
    EXPECT_EQ(stats.events.records, 3u);
    EXPECT_EQ(stats.events.per_type[PT_EV_FAULT], 2u);
    EXPECT_EQ(stats.events.pids.size(), 2u);
    EXPECT_EQ(stats.undecodable_records(), 0u);
}

TEST(Pipeline, UndecodableRecordsAreCountedOnceAndReachNoOnEvent) {
    MemorySource source;
    source.add_event(fault_at(10, 7, 0x1000));
    // A fault record one byte short of its type's size, and an unknown type.
    std::vector<std::byte> short_fault = encode_event(fault_at(20, 7, 0x2000));
    short_fault.pop_back();
    const uint16_t short_size = static_cast<uint16_t>(short_fault.size());
    std::memcpy(short_fault.data() + offsetof(pt_event_header, size), &short_size, 2);
    source.add_record(short_fault);
    std::vector<std::byte> unknown = encode_event(fault_at(30, 7, 0x3000));
    const uint16_t type = 999;
    std::memcpy(unknown.data(), &type, 2);
    source.add_record(unknown);
    source.add_record(unknown);
    source.add_event(fault_at(40, 7, 0x4000));

    Journal a("a"), b("b");
    Pipeline pipeline(source);
    pipeline.add(a);
    pipeline.add(b);
    const PipelineStats& stats = pipeline.run();

    EXPECT_EQ(a.events, 2);
    EXPECT_EQ(b.events, 2);
    EXPECT_EQ(stats.events.records, 2u);
    EXPECT_EQ(stats.undecodable_records(), 3u);
    ASSERT_EQ(stats.undecodable.size(), 2u);  // two kinds of problem
    EXPECT_EQ(stats.undecodable.at("unknown event type 999"), 2u);
    EXPECT_EQ(a.problems.size(), 3u);
    EXPECT_EQ(b.problems.size(), 3u);
}

TEST(Pipeline, TypeFilterSkipsRecordsBeforeDecodingAndPidFilterKeepsLost) {
    MemorySource source;
    source.add_event(mmap_at(10, 7, 0x1000));
    source.add_event(fault_at(20, 7, 0x1000));
    source.add_event(fault_at(30, 8, 0x2000));
    source.add_record(lost_record(35, 1, 12));
    std::vector<std::byte> bad_mmap = encode_event(mmap_at(40, 7, 0x5000));
    const uint16_t tiny = sizeof(pt_event_header);
    std::memcpy(bad_mmap.data() + offsetof(pt_event_header, size), &tiny, 2);
    source.add_record(bad_mmap);  // undecodable, but of a type nobody asked for

    EventFilter filter;
    filter.types = {PT_EV_FAULT, PT_EV_LOST};
    filter.pids = {7};
    Journal a("a");
    Pipeline pipeline(source, filter);
    pipeline.add(a);
    const PipelineStats& stats = pipeline.run();

    EXPECT_EQ(a.seen, (std::vector<std::string>{"fault@20", "lost@35", "end"}));
    EXPECT_EQ(stats.filtered, 3u);  // the mmap, pid 8's fault, the bad mmap
    EXPECT_EQ(stats.undecodable_records(), 0u);
    EXPECT_EQ(stats.events.lost, 12u);
    EXPECT_EQ(stats.events.delivered(), 1u);
}

TEST(Pipeline, SnapshotsProcessesAndIdleMomentsArriveInStreamOrder) {
    MemorySource source;
    source.add_event(fault_at(10, 7, 0x1000));
    PagemapSnapshot snap;
    snap.pid = 7;
    source.add_snapshot(snap);
    ProcessSnapshot proc;
    proc.pid = 7;
    source.add_process(proc);
    source.add_timeout();
    source.add_event(fault_at(20, 7, 0x2000));
    Journal a("a");
    Pipeline pipeline(source);
    pipeline.add(a);
    const PipelineStats& stats = pipeline.run();
    EXPECT_EQ(a.seen, (std::vector<std::string>{"fault@10", "snapshot7", "process7", "idle",
                                                "fault@20", "end"}));
    EXPECT_EQ(stats.snapshots, 1u);
    EXPECT_EQ(stats.processes, 1u);
}

TEST(Pipeline, TheSourceLearnsWhatTheSinksNeed) {
    {
        MemorySource source;
        Journal plain("plain");
        Pipeline pipeline(source);
        pipeline.add(plain);
        pipeline.run();
        EXPECT_FALSE(source.interest().snapshots);
        EXPECT_FALSE(source.interest().processes);
    }
    MemorySource source;
    Journal snapshots("s", nullptr, {.snapshots = true});
    Journal processes("p", nullptr, {.processes = true});
    Pipeline pipeline(source);
    pipeline.add(snapshots);
    pipeline.add(processes);
    pipeline.run();
    EXPECT_TRUE(source.interest().snapshots);
    EXPECT_TRUE(source.interest().processes);
}

TEST(Pipeline, TheSourcesFeedbackSinkSeesEachItemFirst) {
    std::vector<std::string> order;
    SourceWithFeedback source(&order);
    source.add_event(fault_at(10, 7, 0x1000));
    PagemapSnapshot snap;
    snap.pid = 7;
    source.add_snapshot(snap);
    Journal a("a", &order);
    Pipeline pipeline(source);
    pipeline.add(a);
    pipeline.run();
    EXPECT_EQ(order, (std::vector<std::string>{"feedback:fault@10", "a:fault@10",
                                               "feedback:snapshot7", "a:snapshot7", "a:end"}));
}

TEST(Pipeline, StepHandlesOneItemAtATime) {
    MemorySource source;
    source.add_event(fault_at(10, 7, 0x1000));
    source.add_event(fault_at(20, 7, 0x2000));
    Journal a("a");
    Pipeline pipeline(source);
    pipeline.add(a);
    EXPECT_TRUE(pipeline.step());
    EXPECT_EQ(a.seen.size(), 1u);
    EXPECT_TRUE(pipeline.step());
    EXPECT_FALSE(pipeline.step());
    EXPECT_EQ(a.seen.back(), "end");
}

TEST(Pipeline, AnExceptionFromASinkEndsTheRun) {
    struct Failing : EventSink {
        void on_event(const Event&, std::span<const std::byte>) override {
            throw std::runtime_error("disk full");
        }
    } failing;
    MemorySource source;
    source.add_event(fault_at(10, 7, 0x1000));
    source.add_event(fault_at(20, 7, 0x2000));
    Pipeline pipeline(source);
    pipeline.add(failing);
    EXPECT_THROW(pipeline.run(), std::runtime_error);
    EXPECT_EQ(source.pending(), 1u);
}
