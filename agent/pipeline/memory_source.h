// A source that replays items held in memory: raw records (encoded events or
// any bytes at all), snapshots, process facts and idle moments, in the order
// they were added. Tests build streams with it that go through the same
// decoder and pipeline as the live ring and recordings; the fuzzer feeds it
// what a recording yields.
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <vector>

#include "decode/event.h"
#include "pipeline/event_source.h"

namespace pagetrace {

class MemorySource : public EventSource {
public:
    explicit MemorySource(uint64_t start_ns = 0, kernel::PageGeometry pages = {})
        : start_ns_(start_ns), pages_(pages) {}

    // The record of `event` in the current ABI (decode/encoder.h).
    void add_event(const Event& event);
    // Any bytes, as one record: malformed ones are the point of some tests.
    void add_record(std::span<const std::byte> record);
    void add_snapshot(PagemapSnapshot snapshot);
    void add_process(ProcessSnapshot process);
    void add_images(ProcessImages images);
    void add_timeout();

    SourceItem next() override;
    uint64_t start_ns() const override { return start_ns_; }
    kernel::PageGeometry page_geometry() const override { return pages_; }
    void set_interest(const SinkInterest& interest) override { interest_ = interest; }

    // What the pipeline said its sinks need.
    const SinkInterest& interest() const { return interest_; }
    // Items not handed out yet.
    size_t pending() const { return items_.size() - next_; }

private:
    struct Item {
        SourceItem::Kind kind;
        std::vector<std::byte> record;
        PagemapSnapshot snapshot;
        ProcessSnapshot process;
        ProcessImages images;
    };
    uint64_t start_ns_;
    kernel::PageGeometry pages_;
    SinkInterest interest_;
    std::deque<Item> items_;
    size_t next_ = 0;
};

}  // namespace pagetrace
