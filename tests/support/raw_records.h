// Raw event records for tests. Records are made the way the agent makes them,
// with the encoder (decode/encoder.h: encode_event, append_encoded,
// lost_record), the inverse of the decoder. This header adds only what the
// encoder cannot make, on purpose:
//   - event_of():       an Event of the type its data says, to encode;
//   - abi_record<T>():  the ABI struct of an encoded event, to change what the
//                       encoder would never write (reserved words, invalid
//                       enum values, strings without a terminator), then
//                       bytes_of() it;
//   - with_size(), with_type(), cut(), padded(), unknown_type_record():
//                       wrong size fields, cut-off records, types nobody knows;
//   - FencedBytes, decode_fenced(): a record placed right before an
//                       inaccessible page, so that reading one byte past it
//                       crashes the test instead of passing by luck.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "decode/decoder.h"
#include "decode/encoder.h"
#include "decode/event.h"
#include "pagetrace/events.h"

namespace pagetrace::test {

using RecordBytes = std::vector<std::byte>;

// The common fields of an event.
struct EventHead {
    uint32_t cpu = 0;
    uint64_t ts_ns = 0;
    uint32_t pid = 0;
    uint32_t tid = 0;
    std::string comm;
};

// The type whose data `data` holds (EventData lists them in PT_EV_* order).
inline EventType type_of(const EventData& data) {
    return static_cast<EventType>(PT_EV_FAULT + data.index());
}

inline Event event_of(EventData data, const EventHead& head = {}) {
    Event e;
    e.type = type_of(data);
    e.cpu = head.cpu;
    e.ts_ns = head.ts_ns;
    e.pid = head.pid;
    e.tid = head.tid;
    e.comm = head.comm;
    e.data = std::move(data);
    return e;
}

// The data of `type` with every field at its default.
inline EventData default_data(EventType type) {
    const size_t index = static_cast<size_t>(type) - PT_EV_FAULT;
    if (index >= std::variant_size_v<EventData>) throw std::out_of_range("no such event type");
    return [&]<size_t... I>(std::index_sequence<I...>) {
        EventData data;
        ((index == I ? (data.emplace<I>(), 0) : 0), ...);
        return data;
    }(std::make_index_sequence<std::variant_size_v<EventData>>{});
}

// `record` read as the ABI struct Record (it must be exactly that big).
template <typename Record>
Record abi_view(std::span<const std::byte> record) {
    static_assert(std::is_trivially_copyable_v<Record>);
    if (record.size() != sizeof(Record)) {
        throw std::logic_error("a record of " + std::to_string(record.size()) +
                               " bytes is not this ABI struct");
    }
    Record rec;
    std::memcpy(&rec, record.data(), sizeof(rec));
    return rec;
}

// The ABI struct the encoder writes for `event`.
template <typename Record>
Record abi_record(const Event& event) {
    return abi_view<Record>(encode_event(event));
}

template <typename Record>
RecordBytes bytes_of(const Record& rec) {
    static_assert(std::is_trivially_copyable_v<Record>);
    const auto* first = reinterpret_cast<const std::byte*>(&rec);
    return RecordBytes(first, first + sizeof(rec));
}

// `record` with the header's size field set to `size` (the bytes stay).
inline RecordBytes with_size(RecordBytes record, uint16_t size) {
    if (record.size() < offsetof(pt_event_header, size) + sizeof(size)) {
        throw std::out_of_range("no size field");
    }
    std::memcpy(record.data() + offsetof(pt_event_header, size), &size, sizeof(size));
    return record;
}

// `record` with the header's type field set to `type`.
inline RecordBytes with_type(RecordBytes record, uint16_t type) {
    if (record.size() < sizeof(type)) throw std::out_of_range("no type field");
    std::memcpy(record.data() + offsetof(pt_event_header, type), &type, sizeof(type));
    return record;
}

// The first `len` bytes of `record`.
inline RecordBytes cut(std::span<const std::byte> record, size_t len) {
    if (len > record.size()) throw std::out_of_range("a cut longer than the record");
    return RecordBytes(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(len));
}

// `record` followed by `count` bytes of `fill` (which its size field does not
// count unless a test says so with with_size()).
inline RecordBytes padded(RecordBytes record, size_t count, std::byte fill = std::byte{0xa5}) {
    record.insert(record.end(), count, fill);
    return record;
}

// A record of `size` bytes of a type this build does not know: a header
// (type, size, tgid), zeros after it.
inline RecordBytes unknown_type_record(uint16_t type, uint16_t size, uint32_t tgid = 0) {
    pt_event_header hdr{};
    hdr.type = type;
    hdr.size = size;
    hdr.tgid = tgid;
    RecordBytes record = bytes_of(hdr);
    record.resize(size);
    return record;
}

// Bytes whose end touches a PROT_NONE page.
class FencedBytes {
public:
    FencedBytes() {
        page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
        void* mem = ::mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) throw std::runtime_error("mmap failed");
        mem_ = static_cast<std::byte*>(mem);
        if (::mprotect(mem_ + page_, page_, PROT_NONE) != 0) {
            ::munmap(mem_, 2 * page_);
            throw std::runtime_error("mprotect failed");
        }
    }
    FencedBytes(const FencedBytes&) = delete;
    FencedBytes& operator=(const FencedBytes&) = delete;
    ~FencedBytes() { ::munmap(mem_, 2 * page_); }

    // A copy of `bytes` that ends at the fence.
    std::span<const std::byte> hold(std::span<const std::byte> bytes) {
        if (bytes.size() > page_) throw std::length_error("more than a page to fence");
        std::byte* at = mem_ + page_ - bytes.size();
        if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
        return {at, bytes.size()};
    }

private:
    size_t page_ = 0;
    std::byte* mem_ = nullptr;
};

// Decodes `record` right before the fence: "" on success, else the decoder's message.
inline std::string decode_fenced(std::span<const std::byte> record, Event& out) {
    FencedBytes fence;
    const auto err = decode_event(fence.hold(record), out);
    return err ? err->message : std::string();
}

}  // namespace pagetrace::test
