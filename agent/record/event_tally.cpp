#include "record/event_tally.h"

#include <algorithm>
#include <cstring>

#include "pagetrace/events.h"
#include "record/format.h"

namespace pagetrace::recording {

void EventTally::add(std::span<const std::byte> record) {
    pt_event_header hdr;
    std::memcpy(&hdr, record.data(), sizeof(hdr));
    ++records;
    event_bytes += record.size();
    if (hdr.type >= per_type.size()) per_type.resize(hdr.type + 1u);
    ++per_type[hdr.type];
    last_ts_ns = std::max<uint64_t>(last_ts_ns, hdr.ts_ns);
    if (hdr.tgid) pids.insert(hdr.tgid);
    if (hdr.type == PT_EV_LOST && record.size() >= sizeof(pt_lost_event)) {
        uint64_t count = 0;
        std::memcpy(&count, record.data() + offsetof(pt_lost_event, count), sizeof(count));
        lost += count;
    }
}

void EventTally::add_payload(std::span<const std::byte> payload) {
    EventRecords walk(payload);
    std::span<const std::byte> record;
    while (walk.next(record)) add(record);
}

}  // namespace pagetrace::recording
