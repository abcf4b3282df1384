// Encoding events as raw records of the current event ABI: the inverse of
// decode_event(). The agent makes its own `lost` records with it, and the
// synthetic test source feeds encoded stories through the same decoder the
// live ring and recordings go through.
#pragma once

#include <cstddef>
#include <vector>

#include "decode/event.h"

namespace pagetrace {

// The record of `event` (header from its common fields, body from its data),
// appended to `out`. Strings longer than their field are cut; the record
// decodes back to the same event except for such cuts.
void append_encoded(const Event& event, std::vector<std::byte>& out);
std::vector<std::byte> encode_event(const Event& event);

// The record of a `lost` event: `count` events the kernel could not store on `cpu`.
std::vector<std::byte> lost_record(uint64_t ts_ns, uint32_t cpu, uint64_t count);

}  // namespace pagetrace
