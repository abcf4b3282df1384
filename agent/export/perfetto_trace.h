// A Perfetto trace written as it is produced: the TracePacket messages of
// Perfetto's public protos/perfetto/trace/perfetto_trace.proto that the UI
// (ui.perfetto.dev) and trace_processor read, encoded with our own
// ProtoWriter. The writer knows tracks and events, not pagetrace's events:
//
//   PerfettoTrace trace(out, start_ns, clock_offset_ns);
//   trace.process_track(uuid, pid, "demo");
//   trace.counter_track(counter_uuid, uuid, "resident", CounterUnit::Bytes);
//   trace.add(TrackEventSpec{.ts_ns = ts, .type = TrackEventType::Counter, ...});
//   trace.finish();
//
// Timestamps are CLOCK_MONOTONIC (what the events carry): every packet says
// so (timestamp_clock_id), and the first packet is a clock snapshot that
// makes MONOTONIC the trace's clock and ties it to the wall clock, so the UI
// shows the recording's real times. Events go through a reorder window: a
// recording is in stream order, which is nearly but not exactly time order
// (a fault is stamped at its entry and delivered at its end), and a slice's
// end is known before later events are; packets leave the window in time
// order, so timestamps never go backwards on the sequence. Track descriptors
// and interned names are written at once, before any event that uses them.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "output/output_stream.h"

namespace pagetrace::perfetto {

// The field numbers and enum values we write, as perfetto_trace.proto has them
// (checked against google/perfetto's protos/perfetto/trace/ at ec5d16b14b).
namespace field {
inline constexpr uint32_t kTracePacket = 1;  // Trace.packet

// TracePacket
inline constexpr uint32_t kClockSnapshot = 6;
inline constexpr uint32_t kTimestamp = 8;
inline constexpr uint32_t kTrustedPacketSequenceId = 10;
inline constexpr uint32_t kTrackEvent = 11;
inline constexpr uint32_t kInternedData = 12;
inline constexpr uint32_t kSequenceFlags = 13;
inline constexpr uint32_t kTimestampClockId = 58;
inline constexpr uint32_t kTrackDescriptor = 60;

// ClockSnapshot, ClockSnapshot.Clock
inline constexpr uint32_t kClockSnapshotClocks = 1;
inline constexpr uint32_t kClockSnapshotPrimaryTraceClock = 2;
inline constexpr uint32_t kClockId = 1;
inline constexpr uint32_t kClockTimestamp = 2;

// TrackDescriptor
inline constexpr uint32_t kTrackUuid = 1;
inline constexpr uint32_t kTrackName = 2;
inline constexpr uint32_t kTrackProcess = 3;
inline constexpr uint32_t kTrackThread = 4;
inline constexpr uint32_t kTrackParentUuid = 5;
inline constexpr uint32_t kTrackCounter = 8;
// ProcessDescriptor
inline constexpr uint32_t kProcessPid = 1;
inline constexpr uint32_t kProcessName = 6;
inline constexpr uint32_t kProcessStartTimestampNs = 7;
// ThreadDescriptor
inline constexpr uint32_t kThreadPid = 1;
inline constexpr uint32_t kThreadTid = 2;
inline constexpr uint32_t kThreadName = 5;
// CounterDescriptor
inline constexpr uint32_t kCounterUnit = 3;

// TrackEvent
inline constexpr uint32_t kEventDebugAnnotations = 4;
inline constexpr uint32_t kEventType = 9;
inline constexpr uint32_t kEventNameIid = 10;
inline constexpr uint32_t kEventTrackUuid = 11;
inline constexpr uint32_t kEventCounterValue = 30;
inline constexpr uint32_t kEventFlowIds = 47;             // repeated fixed64
inline constexpr uint32_t kEventTerminatingFlowIds = 48;  // repeated fixed64
// DebugAnnotation
inline constexpr uint32_t kAnnotationNameIid = 1;
inline constexpr uint32_t kAnnotationUintValue = 3;
inline constexpr uint32_t kAnnotationIntValue = 4;
inline constexpr uint32_t kAnnotationStringValue = 6;
inline constexpr uint32_t kAnnotationPointerValue = 7;

// InternedData; EventName and DebugAnnotationName (iid 1, name 2)
inline constexpr uint32_t kInternedEventNames = 2;
inline constexpr uint32_t kInternedAnnotationNames = 3;
inline constexpr uint32_t kInternedIid = 1;
inline constexpr uint32_t kInternedName = 2;
}  // namespace field

// BuiltinClock
inline constexpr uint32_t kClockRealtime = 1;
inline constexpr uint32_t kClockMonotonic = 3;
// TracePacket.SequenceFlags
inline constexpr uint32_t kSeqIncrementalStateCleared = 1;
inline constexpr uint32_t kSeqNeedsIncrementalState = 2;

// TrackEvent.Type
enum class TrackEventType : uint8_t { SliceBegin = 1, SliceEnd = 2, Instant = 3, Counter = 4 };

// CounterDescriptor.Unit
enum class CounterUnit : uint8_t { Unspecified = 0, TimeNs = 1, Count = 2, Bytes = 3 };

// A debug annotation (the event's arguments in the UI). Pointer values show in
// hex: addresses, instruction pointers.
struct Annotation {
    struct Pointer {
        uint64_t value = 0;
    };
    std::string_view name;
    std::variant<uint64_t, int64_t, std::string_view, Pointer> value;
};

struct TrackEventSpec {
    uint64_t ts_ns = 0;  // CLOCK_MONOTONIC
    TrackEventType type = TrackEventType::Instant;
    uint64_t track_uuid = 0;
    std::string_view name = {};  // not for counters and slice ends
    int64_t counter_value = 0;
    uint64_t flow_out = 0;   // 0: none; a flow that starts here
    uint64_t flow_in = 0;    // 0: none; a flow that ends here
    std::vector<Annotation> annotations = {};
};

struct PerfettoTraceStats {
    uint64_t packets = 0;
    uint64_t events = 0;
    uint64_t tracks = 0;
    uint64_t late_events = 0;  // older than the reorder window: moved up to its edge
    uint64_t bytes = 0;
};

class PerfettoTrace {
public:
    struct Window {
        uint64_t span_ns = 1'000'000'000;  // events are held until this much newer ones came
        size_t max_events = size_t{1} << 18;
    };

    // Writes the clock snapshot at once. `clock_offset_ns` is CLOCK_REALTIME -
    // CLOCK_MONOTONIC at the recording's start (0: unknown, no wall clock).
    PerfettoTrace(OutputStream& out, uint64_t start_ns, int64_t clock_offset_ns);
    PerfettoTrace(OutputStream& out, uint64_t start_ns, int64_t clock_offset_ns, Window window);
    PerfettoTrace(const PerfettoTrace&) = delete;
    PerfettoTrace& operator=(const PerfettoTrace&) = delete;

    // Track descriptors, written at once. A track described again (same uuid)
    // takes the new name (a process after exec).
    void process_track(uint64_t uuid, uint32_t pid, std::string_view name,
                       std::optional<uint64_t> start_ns = std::nullopt);
    void thread_track(uint64_t uuid, uint32_t pid, uint32_t tid, std::string_view name);
    // A track of slices and instants, under `parent_uuid` (0: at the top).
    void child_track(uint64_t uuid, uint64_t parent_uuid, std::string_view name);
    void counter_track(uint64_t uuid, uint64_t parent_uuid, std::string_view name,
                       CounterUnit unit);

    // An event; it is written once the reorder window has passed it.
    void add(const TrackEventSpec& event);

    // Writes what the window holds and flushes the output.
    void finish();

    const PerfettoTraceStats& stats() const { return stats_; }

private:
    struct Pending {
        uint64_t ts_ns;
        uint64_t order;  // ties keep the order of add()
        std::string track_event;
        bool operator>(const Pending& o) const {
            return ts_ns != o.ts_ns ? ts_ns > o.ts_ns : order > o.order;
        }
    };

    // The iid of a name, emitting its interned entry first if it is new.
    uint64_t event_name_iid(std::string_view name);
    uint64_t annotation_name_iid(std::string_view name);
    uint64_t intern(std::unordered_map<std::string, uint64_t>& table, uint32_t interned_field,
                    std::string_view name);
    void write_descriptor(const std::string& descriptor);
    void write_pending(const Pending& pending);
    void drain(uint64_t newest_ts);
    void flush_if_full();

    static constexpr size_t kFlushBytes = 256 * 1024;

    OutputStream& out_;
    Window window_;
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
    uint64_t next_order_ = 0;
    uint64_t newest_ts_ = 0;
    uint64_t written_ts_ = 0;  // the last timestamp written: nothing older may follow
    std::unordered_map<std::string, uint64_t> event_names_;
    std::unordered_map<std::string, uint64_t> annotation_names_;
    std::string scratch_;
    PerfettoTraceStats stats_;
};

}  // namespace pagetrace::perfetto
