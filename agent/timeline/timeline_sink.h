// The timeline as a sink of the event pipeline: events and pagemap snapshots
// go to its builder in stream order.
#pragma once

#include "pipeline/event_sink.h"
#include "timeline/timeline_builder.h"

namespace pagetrace {

class TimelineSink : public EventSink {
public:
    explicit TimelineSink(TimelineBuilder& timeline) : timeline_(timeline) {}

    SinkInterest interest() const override { return {.snapshots = true}; }
    void on_event(const Event& event, std::span<const std::byte>) override { timeline_.add(event); }
    void on_snapshot(const PagemapSnapshot& snapshot) override { timeline_.add_snapshot(snapshot); }

private:
    TimelineBuilder& timeline_;
};

}  // namespace pagetrace
