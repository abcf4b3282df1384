// Totals over an event stream: records of each type, the events the kernel
// lost, bytes, distinct processes, the last timestamp. The pipeline keeps one
// over what it passed to its sinks (the end-of-run summary of `trace` and
// `record`); the record writer keeps one over what it wrote (the footer);
// `info` keeps one over a file's events chunks.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "decode/event.h"

namespace pagetrace {

struct EventTally {
    uint64_t records = 0;      // `lost` records included
    uint64_t lost = 0;         // sum of the counts of `lost` records
    uint64_t event_bytes = 0;
    uint64_t last_ts_ns = 0;
    std::vector<uint64_t> per_type;  // index: event type
    std::unordered_set<uint32_t> pids;

    // Counts one decoded event whose record had `bytes` bytes. Inline: the
    // pipeline counts every event.
    void add(const Event& event, size_t bytes) {
        count(static_cast<uint16_t>(event.type), event.pid, event.ts_ns, bytes);
        if (event.type == EventType::Lost) lost += std::get<LostData>(event.data).count;
    }
    // Counts one raw record by its header (decoding only `lost` records, for
    // their count). Records without a sound header are not counted.
    void add(std::span<const std::byte> record);
    // Counts every record of a buffer of concatenated records.
    void add_payload(std::span<const std::byte> payload);

    // Records that are not `lost` records: what the kernel delivered.
    uint64_t delivered() const;

private:
    void count(uint16_t type, uint32_t pid, uint64_t ts_ns, size_t bytes) {
        ++records;
        event_bytes += bytes;
        if (type >= per_type.size()) per_type.resize(type + 1u);
        ++per_type[type];
        if (ts_ns > last_ts_ns) last_ts_ns = ts_ns;
        // Events come in runs of one process: one set lookup a run.
        if (pid && pid != last_pid_) {
            pids.insert(pid);
            last_pid_ = pid;
        }
    }

    uint32_t last_pid_ = 0;
};

}  // namespace pagetrace
