// The framing of raw event records (include/pagetrace/events.h): every record
// starts with pt_event_header, whose `size` delimits it. These are the only
// functions besides the decoder that look at raw record bytes: the header of
// one record, and the records of a buffer of concatenated records (an events
// chunk of a recording). Records of any type, including types this agent does
// not know, pass through unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include "pagetrace/events.h"

namespace pagetrace {

// The common header fields of a raw record.
struct RecordHeader {
    uint16_t type = 0;
    uint16_t size = 0;  // of the whole record
    uint32_t cpu = 0;
    uint64_t ts_ns = 0;
    uint32_t tgid = 0;
    uint32_t tid = 0;
};

// The header of `record`, if it holds one whose size field is sound: at least
// a header, at most the bytes given.
inline std::optional<RecordHeader> peek_header(std::span<const std::byte> record) {
    if (record.size() < sizeof(pt_event_header)) return std::nullopt;
    pt_event_header raw;
    std::memcpy(&raw, record.data(), sizeof(raw));
    if (raw.size < sizeof(pt_event_header) || raw.size > record.size()) return std::nullopt;
    return RecordHeader{raw.type, raw.size, raw.cpu, raw.ts_ns, raw.tgid, raw.tid};
}

// Walks the records of a buffer of concatenated records.
class EventRecords {
public:
    explicit EventRecords(std::span<const std::byte> payload) : payload_(payload) {}
    // The next record; false at the end or at a malformed record (then error()
    // says what, at which payload offset). Inline: replay calls it per event.
    bool next(std::span<const std::byte>& record) {
        if (pos_ >= payload_.size() || !error_.empty()) return false;
        const size_t left = payload_.size() - pos_;
        if (left < sizeof(pt_event_header)) return malformed(left);
        uint16_t size = 0;
        std::memcpy(&size, payload_.data() + pos_ + offsetof(pt_event_header, size), sizeof(size));
        if (size < sizeof(pt_event_header) || size > left) return malformed(left);
        record = payload_.subspan(pos_, size);
        pos_ += size;
        return true;
    }
    const std::string& error() const { return error_; }

private:
    // Sets error() for the record at pos_ (`left` bytes remain); returns false.
    bool malformed(size_t left);

    std::span<const std::byte> payload_;
    size_t pos_ = 0;
    std::string error_;
};

}  // namespace pagetrace
