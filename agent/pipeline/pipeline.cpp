#include "pipeline/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "decode/decoder.h"
#include "decode/framing.h"

namespace pagetrace {

uint64_t PipelineStats::undecodable_records() const {
    uint64_t n = 0;
    for (const auto& [problem, count] : undecodable) n += count;
    return n;
}

Pipeline::Pipeline(EventSource& source, EventFilter filter)
    : source_(source), filter_(std::move(filter)), feedback_(source.feedback()) {}

void Pipeline::add(EventSink& sink) { sinks_.push_back(&sink); }

void Pipeline::on_undecodable(std::span<const std::byte> raw, const DecodeError& err) {
    ++stats_.undecodable[err.message];
    for (EventSink* sink : sinks_) sink->on_undecodable(raw, err);
}

bool Pipeline::unwanted_type(std::span<const std::byte> raw) {
    const auto header = peek_header(raw);
    if (header && !filter_.wants_type(header->type)) {
        ++stats_.filtered;
        return true;
    }
    return false;
}

// Once per event: the rare paths are out of line, so this stays small.
void Pipeline::on_record(std::span<const std::byte> raw) {
    if (!filter_.types.empty() && unwanted_type(raw)) return;
    if (auto err = decode_event(raw, event_)) {
        on_undecodable(raw, *err);
        return;
    }
    if (!filter_.wants_pid(event_.pid)) {
        ++stats_.filtered;
        return;
    }
    stats_.events.add(event_, raw.size());
    if (feedback_) feedback_->on_event(event_, raw);
    for (EventSink* sink : sinks_) sink->on_event(event_, raw);
}

const PipelineStats& Pipeline::run() {
    while (step()) {
    }
    return stats_;
}

bool Pipeline::step() {
    if (!started_) {
        started_ = true;
        SinkInterest interest;
        for (const EventSink* sink : sinks_) interest = interest | sink->interest();
        source_.set_interest(interest);
    }
    const SourceItem item = source_.next();
    switch (item.kind) {
    case SourceItem::Kind::Record:
        on_record(item.record);
        return true;
    case SourceItem::Kind::Records: {
        EventRecords records(item.record);
        std::span<const std::byte> raw;
        while (records.next(raw)) on_record(raw);
        if (!records.error().empty()) {
            spdlog::warn("skipping the rest of an events chunk: {}", records.error());
        }
        return true;
    }
    case SourceItem::Kind::Snapshot:
        ++stats_.snapshots;
        if (feedback_) feedback_->on_snapshot(*item.snapshot);
        for (EventSink* sink : sinks_) sink->on_snapshot(*item.snapshot);
        return true;
    case SourceItem::Kind::Process:
        ++stats_.processes;
        if (feedback_) feedback_->on_process(*item.process);
        for (EventSink* sink : sinks_) sink->on_process(*item.process);
        return true;
    case SourceItem::Kind::Images:
        for (EventSink* sink : sinks_) sink->on_images(*item.images);
        return true;
    case SourceItem::Kind::Timeout:
        for (EventSink* sink : sinks_) sink->on_idle();
        return true;
    case SourceItem::Kind::End:
        for (EventSink* sink : sinks_) sink->on_end();
        return false;
    }
    return false;
}

void Pipeline::log_undecodable() const {
    for (const auto& [problem, count] : stats_.undecodable) {
        spdlog::warn("{} record(s) could not be decoded and were skipped: {}", count, problem);
    }
}

}  // namespace pagetrace
