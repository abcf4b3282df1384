// Little-endian byte building and bounds-checked byte reading for the
// recording format. pagetrace records on x86-64 only, where the event ABI is
// little-endian too; the format says so and these helpers keep it explicit.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pagetrace::recording {

static_assert(std::endian::native == std::endian::little,
              "the recording format and the event ABI are little-endian");

using Bytes = std::vector<std::byte>;

template <typename T>
void put(Bytes& out, T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    out.insert(out.end(), p, p + sizeof(T));
}

inline void put_bytes(Bytes& out, const void* data, size_t len) {
    const auto* p = static_cast<const std::byte*>(data);
    out.insert(out.end(), p, p + len);
}

inline void put_bytes(Bytes& out, std::string_view text) { put_bytes(out, text.data(), text.size()); }

// Overwrites sizeof(T) bytes at `offset` (which must lie inside `out`).
template <typename T>
void put_at(Bytes& out, size_t offset, T value) {
    std::memcpy(out.data() + offset, &value, sizeof(T));
}

// A string as u32 length + bytes (mapping fields of pagemap and images payloads).
inline void put_string32(Bytes& out, std::string_view text) {
    put<uint32_t>(out, static_cast<uint32_t>(text.size()));
    put_bytes(out, text);
}

// Reads fields front to back. Every read checks the bounds first; after one
// fails, ok() stays false and all further reads fail too.
class ByteReader {
public:
    explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

    template <typename T>
    bool get(T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        if (!ok_ || remaining() < sizeof(T)) return ok_ = false;
        std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return true;
    }

    bool get_string(size_t len, std::string& out) {
        if (!ok_ || remaining() < len) return ok_ = false;
        out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
        pos_ += len;
        return true;
    }

    bool get_span(size_t len, std::span<const std::byte>& out) {
        if (!ok_ || remaining() < len) return ok_ = false;
        out = bytes_.subspan(pos_, len);
        pos_ += len;
        return true;
    }

    bool skip(size_t len) {
        if (!ok_ || remaining() < len) return ok_ = false;
        pos_ += len;
        return true;
    }

    size_t remaining() const { return bytes_.size() - pos_; }
    size_t position() const { return pos_; }
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == bytes_.size(); }

private:
    std::span<const std::byte> bytes_;
    size_t pos_ = 0;
    bool ok_ = true;
};

// Reads what put_string32 wrote.
inline bool get_string32(ByteReader& in, std::string& out) {
    uint32_t len = 0;
    return in.get(len) && in.get_string(len, out);
}

inline std::span<const std::byte> as_byte_span(std::string_view text) {
    return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

}  // namespace pagetrace::recording
