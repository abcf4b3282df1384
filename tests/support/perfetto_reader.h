// Reading back a Perfetto trace in tests: an independent decoder of the
// protobuf wire format (not the agent's encoder run backwards) that turns the
// packets `pagetrace export` writes into plain values, with the checks every
// trace must pass: every event's track has a descriptor, interned names are
// defined before they are used, timestamps never go back on a sequence, and
// slices balance on each track.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pagetrace::test {

struct TraceTrack {
    uint64_t uuid = 0;
    uint64_t parent_uuid = 0;
    std::string name;
    bool is_process = false;
    bool is_thread = false;
    bool is_counter = false;
    int64_t pid = 0;
    int64_t tid = 0;
    std::string process_name;
};

struct TraceEvent {
    uint64_t ts = 0;
    uint32_t sequence = 0;
    int type = 0;  // 1 begin, 2 end, 3 instant, 4 counter
    uint64_t track_uuid = 0;
    std::string name;  // resolved from its iid
    int64_t counter_value = 0;
    std::vector<uint64_t> flow_ids;
    std::vector<uint64_t> terminating_flow_ids;
    std::map<std::string, std::string> args;  // debug annotations, values as text
};

struct ParsedTrace {
    std::vector<TraceEvent> events;
    std::map<uint64_t, TraceTrack> tracks;
    std::map<uint32_t, uint64_t> clocks;  // clock snapshot: clock id -> timestamp
    uint32_t primary_clock = 0;
    std::vector<std::string> problems;  // what breaks the rules above

    // The events on tracks whose name is `name`, under the process with `pid`.
    std::vector<const TraceEvent*> counter_events(int64_t pid, std::string_view name) const;
    const TraceTrack* process_track(int64_t pid) const;
};

// A reader of protobuf wire format over a byte string.
class WireReader {
public:
    explicit WireReader(std::string_view bytes) : bytes_(bytes) {}
    bool done() const { return pos_ >= bytes_.size(); }

    struct Field {
        uint32_t number = 0;
        int wire_type = 0;
        uint64_t value = 0;     // varint or fixed64
        std::string_view data;  // length-delimited
    };

    Field next() {
        Field f;
        const uint64_t tag = varint();
        f.number = static_cast<uint32_t>(tag >> 3);
        f.wire_type = static_cast<int>(tag & 7);
        switch (f.wire_type) {
        case 0: f.value = varint(); break;
        case 1: f.value = fixed(8); break;
        case 5: f.value = fixed(4); break;
        case 2: {
            const uint64_t len = varint();
            if (len > bytes_.size() - pos_) throw std::runtime_error("length past the end");
            f.data = bytes_.substr(pos_, len);
            pos_ += len;
            break;
        }
        default: throw std::runtime_error("unknown wire type " + std::to_string(f.wire_type));
        }
        return f;
    }

private:
    uint64_t varint() {
        uint64_t value = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos_ >= bytes_.size()) throw std::runtime_error("varint past the end");
            const auto byte = static_cast<uint8_t>(bytes_[pos_++]);
            value |= uint64_t{byte & 0x7fu} << shift;
            if (!(byte & 0x80)) return value;
        }
        throw std::runtime_error("varint too long");
    }
    uint64_t fixed(size_t n) {
        if (n > bytes_.size() - pos_) throw std::runtime_error("fixed field past the end");
        uint64_t value = 0;
        for (size_t i = 0; i < n; ++i) value |= uint64_t{static_cast<uint8_t>(bytes_[pos_ + i])} << (8 * i);
        pos_ += n;
        return value;
    }

    std::string_view bytes_;
    size_t pos_ = 0;
};

// Decodes a whole trace file's bytes. Throws on malformed protobuf; rule
// violations go to `problems`.
ParsedTrace parse_perfetto_trace(std::string_view bytes);

}  // namespace pagetrace::test
