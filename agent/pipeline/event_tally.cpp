#include "pipeline/event_tally.h"

#include "decode/decoder.h"
#include "decode/framing.h"
#include "pagetrace/events.h"

namespace pagetrace {

void EventTally::add(std::span<const std::byte> record) {
    const auto header = peek_header(record);
    if (!header) return;
    if (header->type == PT_EV_LOST) {
        Event event;
        if (!decode_event(record, event)) {
            add(event, header->size);
            return;
        }
    }
    count(header->type, header->tgid, header->ts_ns, header->size);
}

void EventTally::add_payload(std::span<const std::byte> payload) {
    EventRecords walk(payload);
    std::span<const std::byte> record;
    while (walk.next(record)) add(record);
}

uint64_t EventTally::delivered() const {
    const uint64_t lost_records = per_type.size() > PT_EV_LOST ? per_type[PT_EV_LOST] : 0;
    return records - lost_records;
}

}  // namespace pagetrace
