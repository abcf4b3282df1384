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

struct DecodeError {
    std::string message;
};

// Decodes exactly one record occupying `record` (as delivered by the ring
// buffer). On failure `out` is unspecified and the error says what was wrong.
std::optional<DecodeError> decode_event(std::span<const std::byte> record, Event& out);

}  // namespace pagetrace
