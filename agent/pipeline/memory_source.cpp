#include "pipeline/memory_source.h"

#include "decode/encoder.h"

namespace pagetrace {

void MemorySource::add_event(const Event& event) {
    items_.push_back({SourceItem::Kind::Record, encode_event(event), {}, {}, {}});
}

void MemorySource::add_record(std::span<const std::byte> record) {
    items_.push_back({SourceItem::Kind::Record, {record.begin(), record.end()}, {}, {}, {}});
}

void MemorySource::add_snapshot(PagemapSnapshot snapshot) {
    items_.push_back({SourceItem::Kind::Snapshot, {}, std::move(snapshot), {}, {}});
}

void MemorySource::add_process(ProcessSnapshot process) {
    items_.push_back({SourceItem::Kind::Process, {}, {}, std::move(process), {}});
}

void MemorySource::add_images(ProcessImages images) {
    items_.push_back({SourceItem::Kind::Images, {}, {}, {}, std::move(images)});
}

void MemorySource::add_timeout() { items_.push_back({SourceItem::Kind::Timeout, {}, {}, {}, {}}); }

SourceItem MemorySource::next() {
    if (next_ >= items_.size()) return {};
    const Item& item = items_[next_++];
    SourceItem out;
    out.kind = item.kind;
    out.record = item.record;
    out.snapshot = &item.snapshot;
    out.process = &item.process;
    out.images = &item.images;
    return out;
}

}  // namespace pagetrace
