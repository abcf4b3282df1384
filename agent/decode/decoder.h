// Decoding of raw event records (the layout of include/pagetrace/events.h).
// Pure functions over byte spans: every read is bounds-checked, no length field
// is trusted.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "decode/event.h"

namespace pagetrace {

// The event ABI versions this decoder reads: 2 (whose exit records end before
// the fault counters) up to the current one.
inline constexpr uint32_t kOldestDecodableAbi = 2;
constexpr bool abi_decodable(uint32_t version) {
    return version >= kOldestDecodableAbi && version <= PT_ABI_VERSION;
}

struct DecodeError {
    std::string message;
};

// Decodes exactly one record occupying `record` (as delivered by the ring
// buffer). On failure `out` is unspecified and the error says what was wrong.
std::optional<DecodeError> decode_event(std::span<const std::byte> record, Event& out);

}  // namespace pagetrace
