#include "export/perfetto_trace.h"

#include <algorithm>

#include "export/proto_writer.h"

namespace pagetrace::perfetto {

namespace {

// All our packets are on one sequence (interned names are per sequence).
constexpr uint32_t kSequenceId = 1;

void write_annotation(proto::ProtoWriter& w, uint64_t name_iid, const Annotation& a) {
    auto nested = w.begin(field::kEventDebugAnnotations);
    w.varint(field::kAnnotationNameIid, name_iid);
    std::visit(
        [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, uint64_t>) {
                w.varint(field::kAnnotationUintValue, value);
            } else if constexpr (std::is_same_v<T, int64_t>) {
                w.int64(field::kAnnotationIntValue, value);
            } else if constexpr (std::is_same_v<T, std::string_view>) {
                w.string(field::kAnnotationStringValue, value);
            } else {
                w.varint(field::kAnnotationPointerValue, value.value);
            }
        },
        a.value);
    w.end(nested);
}

}  // namespace

PerfettoTrace::PerfettoTrace(OutputStream& out, uint64_t start_ns, int64_t clock_offset_ns)
    : PerfettoTrace(out, start_ns, clock_offset_ns, Window{}) {}

PerfettoTrace::PerfettoTrace(OutputStream& out, uint64_t start_ns, int64_t clock_offset_ns,
                             Window window)
    : out_(out), window_(window) {
    // The clock snapshot: MONOTONIC is the trace's clock; with the offset the
    // recording header gives, the wall clock at the same moment. It also
    // starts the sequence's incremental state (interned names).
    proto::ProtoWriter w(out_.buffer());
    auto packet = w.begin(field::kTracePacket);
    w.varint(field::kTrustedPacketSequenceId, kSequenceId);
    w.varint(field::kSequenceFlags, kSeqIncrementalStateCleared);
    auto snapshot = w.begin(field::kClockSnapshot);
    auto monotonic = w.begin(field::kClockSnapshotClocks);
    w.varint(field::kClockId, kClockMonotonic);
    w.varint(field::kClockTimestamp, start_ns);
    w.end(monotonic);
    const int64_t realtime = static_cast<int64_t>(start_ns) + clock_offset_ns;
    if (clock_offset_ns != 0 && realtime > 0) {
        auto wall = w.begin(field::kClockSnapshotClocks);
        w.varint(field::kClockId, kClockRealtime);
        w.varint(field::kClockTimestamp, static_cast<uint64_t>(realtime));
        w.end(wall);
    }
    w.varint(field::kClockSnapshotPrimaryTraceClock, kClockMonotonic);
    w.end(snapshot);
    w.end(packet);
    ++stats_.packets;
    written_ts_ = start_ns;
}

void PerfettoTrace::write_descriptor(const std::string& descriptor) {
    proto::ProtoWriter w(out_.buffer());
    auto packet = w.begin(field::kTracePacket);
    w.varint(field::kTrustedPacketSequenceId, kSequenceId);
    w.bytes(field::kTrackDescriptor, descriptor);
    w.end(packet);
    ++stats_.packets;
    ++stats_.tracks;
    flush_if_full();
}

void PerfettoTrace::process_track(uint64_t uuid, uint32_t pid, std::string_view name,
                                  std::optional<uint64_t> start_ns) {
    scratch_.clear();
    proto::ProtoWriter w(scratch_);
    w.varint(field::kTrackUuid, uuid);
    auto process = w.begin(field::kTrackProcess);
    w.varint(field::kProcessPid, pid);
    w.string(field::kProcessName, name);
    if (start_ns) w.varint(field::kProcessStartTimestampNs, *start_ns);
    w.end(process);
    write_descriptor(scratch_);
}

void PerfettoTrace::thread_track(uint64_t uuid, uint32_t pid, uint32_t tid, std::string_view name) {
    scratch_.clear();
    proto::ProtoWriter w(scratch_);
    w.varint(field::kTrackUuid, uuid);
    auto thread = w.begin(field::kTrackThread);
    w.varint(field::kThreadPid, pid);
    w.varint(field::kThreadTid, tid);
    w.string(field::kThreadName, name);
    w.end(thread);
    write_descriptor(scratch_);
}

void PerfettoTrace::child_track(uint64_t uuid, uint64_t parent_uuid, std::string_view name) {
    scratch_.clear();
    proto::ProtoWriter w(scratch_);
    w.varint(field::kTrackUuid, uuid);
    w.string(field::kTrackName, name);
    if (parent_uuid) w.varint(field::kTrackParentUuid, parent_uuid);
    write_descriptor(scratch_);
}

void PerfettoTrace::counter_track(uint64_t uuid, uint64_t parent_uuid, std::string_view name,
                                  CounterUnit unit) {
    scratch_.clear();
    proto::ProtoWriter w(scratch_);
    w.varint(field::kTrackUuid, uuid);
    w.string(field::kTrackName, name);
    if (parent_uuid) w.varint(field::kTrackParentUuid, parent_uuid);
    auto counter = w.begin(field::kTrackCounter);
    if (unit != CounterUnit::Unspecified) w.varint(field::kCounterUnit, static_cast<uint8_t>(unit));
    w.end(counter);
    write_descriptor(scratch_);
}

uint64_t PerfettoTrace::intern(std::unordered_map<std::string, uint64_t>& table,
                               uint32_t interned_field, std::string_view name) {
    // Heterogeneous lookup needs C++20 transparent hashing; names are short.
    auto it = table.find(std::string(name));
    if (it != table.end()) return it->second;
    const uint64_t iid = table.size() + 1;
    table.emplace(std::string(name), iid);
    proto::ProtoWriter w(out_.buffer());
    auto packet = w.begin(field::kTracePacket);
    w.varint(field::kTrustedPacketSequenceId, kSequenceId);
    w.varint(field::kSequenceFlags, kSeqNeedsIncrementalState);
    auto interned = w.begin(field::kInternedData);
    auto entry = w.begin(interned_field);
    w.varint(field::kInternedIid, iid);
    w.string(field::kInternedName, name);
    w.end(entry);
    w.end(interned);
    w.end(packet);
    ++stats_.packets;
    return iid;
}

uint64_t PerfettoTrace::event_name_iid(std::string_view name) {
    return intern(event_names_, field::kInternedEventNames, name);
}

uint64_t PerfettoTrace::annotation_name_iid(std::string_view name) {
    return intern(annotation_names_, field::kInternedAnnotationNames, name);
}

void PerfettoTrace::add(const TrackEventSpec& event) {
    Pending pending{event.ts_ns, next_order_++, {}};
    proto::ProtoWriter w(pending.track_event);
    w.varint(field::kEventType, static_cast<uint8_t>(event.type));
    w.varint(field::kEventTrackUuid, event.track_uuid);
    if (!event.name.empty()) w.varint(field::kEventNameIid, event_name_iid(event.name));
    if (event.type == TrackEventType::Counter) {
        w.int64(field::kEventCounterValue, event.counter_value);
    }
    for (const Annotation& a : event.annotations) {
        write_annotation(w, annotation_name_iid(a.name), a);
    }
    if (event.flow_out) w.fixed64(field::kEventFlowIds, event.flow_out);
    if (event.flow_in) w.fixed64(field::kEventTerminatingFlowIds, event.flow_in);

    // Older than what was already written: it goes at the window's edge.
    if (pending.ts_ns < written_ts_) {
        pending.ts_ns = written_ts_;
        ++stats_.late_events;
    }
    newest_ts_ = std::max(newest_ts_, pending.ts_ns);
    pending_.push(std::move(pending));
    drain(newest_ts_ > window_.span_ns ? newest_ts_ - window_.span_ns : 0);
}

void PerfettoTrace::drain(uint64_t up_to_ts) {
    while (!pending_.empty() &&
           (pending_.top().ts_ns <= up_to_ts || pending_.size() > window_.max_events)) {
        write_pending(pending_.top());
        pending_.pop();
    }
}

void PerfettoTrace::write_pending(const Pending& pending) {
    proto::ProtoWriter w(out_.buffer());
    auto packet = w.begin(field::kTracePacket);
    w.varint(field::kTimestamp, pending.ts_ns);
    w.varint(field::kTimestampClockId, kClockMonotonic);
    w.varint(field::kTrustedPacketSequenceId, kSequenceId);
    w.varint(field::kSequenceFlags, kSeqNeedsIncrementalState);
    w.bytes(field::kTrackEvent, pending.track_event);
    w.end(packet);
    written_ts_ = pending.ts_ns;
    ++stats_.packets;
    ++stats_.events;
    flush_if_full();
}

void PerfettoTrace::flush_if_full() {
    if (out_.buffer().size() >= kFlushBytes) {
        stats_.bytes += out_.buffer().size();
        out_.flush();
    }
}

void PerfettoTrace::finish() {
    drain(~uint64_t{0});
    stats_.bytes += out_.buffer().size();
    out_.flush();
}

}  // namespace pagetrace::perfetto
