// Totals over raw event records: how many of each type, the events the
// kernel lost, bytes, distinct processes. The recorder keeps one for the
// footer and its summary; `info` keeps one while it reads a file.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

namespace pagetrace::recording {

struct EventTally {
    uint64_t records = 0;
    uint64_t lost = 0;         // sum of the counts of `lost` records
    uint64_t event_bytes = 0;
    uint64_t last_ts_ns = 0;
    std::vector<uint64_t> per_type;  // index: event type
    std::unordered_set<uint32_t> pids;

    // Counts one record (at least a pt_event_header; its size is not checked
    // again here).
    void add(std::span<const std::byte> record);
    // Counts every record of an events payload.
    void add_payload(std::span<const std::byte> payload);
};

}  // namespace pagetrace::recording
