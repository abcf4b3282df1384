// A small protocol buffers encoder: the wire format (varints, 64-bit fixed
// fields, length-delimited fields) appended to a byte string, for the few
// messages pagetrace writes (the Perfetto trace). No schema, no reflection: the
// caller names each field by its number. Nested messages are written in place:
// begin() reserves four bytes for the length, end() writes the length in as
// few as it needs and moves the message back over the rest (our messages are
// small), so the bytes are the canonical encoding any protobuf library writes.
//
//   ProtoWriter w(buffer);
//   w.varint(1, 42);
//   auto nested = w.begin(3);
//   w.string(1, "name");
//   w.end(nested);
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pagetrace::proto {

enum class WireType : uint8_t { Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5 };

constexpr uint64_t tag(uint32_t field, WireType type) {
    return (uint64_t{field} << 3) | static_cast<uint8_t>(type);
}

// Bytes a varint of `value` takes (1 to 10).
constexpr size_t varint_size(uint64_t value) {
    size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++n;
    }
    return n;
}

inline void append_varint(std::string& out, uint64_t value) {
    char bytes[10];
    size_t n = 0;
    while (value >= 0x80) {
        bytes[n++] = static_cast<char>((value & 0x7f) | 0x80);
        value >>= 7;
    }
    bytes[n++] = static_cast<char>(value);
    out.append(bytes, n);
}

class ProtoWriter {
public:
    // Where a nested message's length goes, from begin() to end().
    struct Nested {
        size_t length_at = 0;
    };

    explicit ProtoWriter(std::string& out) : out_(out) {}

    // uint32/uint64/enum/bool fields, and int32/int64 of non-negative values.
    void varint(uint32_t field, uint64_t value) {
        append_varint(out_, tag(field, WireType::Varint));
        append_varint(out_, value);
    }
    // int32/int64 (two's complement: a negative value takes 10 bytes).
    void int64(uint32_t field, int64_t value) { varint(field, static_cast<uint64_t>(value)); }
    void boolean(uint32_t field, bool value) { varint(field, value ? 1 : 0); }
    void fixed64(uint32_t field, uint64_t value) {
        append_varint(out_, tag(field, WireType::Fixed64));
        char bytes[8];
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
        out_.append(bytes, 8);
    }
    void double_value(uint32_t field, double value) {
        uint64_t bits = 0;
        static_assert(sizeof bits == sizeof value);
        std::memcpy(&bits, &value, sizeof bits);
        fixed64(field, bits);
    }
    // string and bytes fields, and a nested message already encoded.
    void bytes(uint32_t field, std::string_view value) {
        append_varint(out_, tag(field, WireType::LengthDelimited));
        append_varint(out_, value.size());
        out_.append(value);
    }
    void string(uint32_t field, std::string_view value) { bytes(field, value); }

    // A nested message: its fields follow, then end().
    Nested begin(uint32_t field) {
        append_varint(out_, tag(field, WireType::LengthDelimited));
        Nested nested{out_.size()};
        out_.append(kLengthBytes, '\0');
        return nested;
    }
    // Fills in the length of the message begun at `nested` (at most 256 MiB).
    void end(Nested nested) {
        const size_t body_at = nested.length_at + kLengthBytes;
        const size_t length = out_.size() - body_at;
        if (length > kMaxNestedLength) throw std::length_error("protobuf message over 256 MiB");
        const size_t used = varint_size(length);
        char* at = out_.data() + nested.length_at;
        for (size_t i = 0; i < used; ++i) {
            const auto bits = static_cast<uint8_t>((length >> (7 * i)) & 0x7f);
            at[i] = static_cast<char>(i + 1 < used ? bits | 0x80 : bits);
        }
        if (used < kLengthBytes) {
            std::memmove(at + used, at + kLengthBytes, length);
            out_.resize(out_.size() - (kLengthBytes - used));
        }
    }

    std::string& buffer() { return out_; }

    static constexpr size_t kLengthBytes = 4;
    static constexpr size_t kMaxNestedLength = (size_t{1} << (7 * kLengthBytes)) - 1;

private:
    std::string& out_;
};

}  // namespace pagetrace::proto
