// What PerfettoExportSink keeps per process and thread, shared by its two
// halves: perfetto_export.cpp (processes, mappings, events) and
// perfetto_counters.cpp (the counter tracks). Private to agent/export/.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "export/perfetto_export.h"

namespace pagetrace::perfetto_detail {

using perfetto::CounterUnit;

// The counters of a process, one track each (made when it first has a value
// other than 0). Levels are the timeline's own counts; per-interval ones are
// what a cumulative count of the timeline grew by in each interval.
struct CounterSpec {
    std::string_view name;
    CounterUnit unit;
    bool per_interval;
    uint64_t (*read)(const ProcessNow& now, uint64_t page_size);
};

inline constexpr CounterSpec kCounters[] = {
    {"resident", CounterUnit::Bytes, false,
     [](const ProcessNow& n, uint64_t page) { return n.resident_pages * page; }},
    {"mapped", CounterUnit::Bytes, false,
     [](const ProcessNow& n, uint64_t) { return n.mapped_bytes; }},
    {"minor faults", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.faults.minor; }},
    {"major faults", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.faults.major; }},
    {"first touches", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.pages_touched; }},
    {"pages discarded", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.discarded_pages; }},
    {"pages migrated", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.migrated_pages; }},
    {"TLB flushes", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.tlb_flushes; }},
    {"pages swapped out", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.swapped_out_pages; }},
    {"pages swapped in", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.swapped_in_pages; }},
    {"file pages evicted", CounterUnit::Count, true,
     [](const ProcessNow& n, uint64_t) { return n.evicted_pages; }},
};
inline constexpr size_t kCounterCount = std::size(kCounters);
inline constexpr size_t kResidentCounter = 0;

inline constexpr uint64_t kNoInterval = ~uint64_t{0};

inline std::string interval_text(uint64_t ns) {
    if (ns % 1'000'000'000 == 0) return fmt::format("{} s", ns / 1'000'000'000);
    if (ns % 1'000'000 == 0) return fmt::format("{} ms", ns / 1'000'000);
    if (ns % 1'000 == 0) return fmt::format("{} us", ns / 1'000);
    return fmt::format("{} ns", ns);
}

}  // namespace pagetrace::perfetto_detail

namespace pagetrace {

struct PerfettoExportSink::Thread {
    uint64_t uuid = 0;
    uint64_t busy_until = 0;  // end of its last slice: the next one starts no earlier
    // Its stalls in reclaim and compaction, on a track of their own under the
    // thread's: they happen inside its faults.
    uint64_t stall_uuid = 0;
    uint64_t stalled_until = 0;
};

struct PerfettoExportSink::Process {
    struct Counter {
        uint64_t track = 0;
        // levels, within the open interval
        uint64_t last = 0;
        uint64_t last_ts = 0;
        uint64_t max = 0;
        uint64_t max_ts = 0;
        bool changed = false;
        // per interval
        uint64_t base = 0;          // the cumulative count when the interval opened
        uint64_t written = 0;       // the value last written
        uint64_t zero_at = 0;       // when it falls back to 0, unless written again first
    };
    struct Region {
        uint64_t end = 0;
        size_t slice = 0;
    };
    struct Slice {
        size_t lane = 0;
        uint64_t bytes = 0;  // still mapped
        uint64_t begin_ts = 0;
    };
    struct Lane {
        uint64_t uuid = 0;
        bool busy = false;
        uint64_t free_since = 0;
    };

    uint32_t pid = 0;
    uint64_t uuid = 0;
    bool ended = false;
    std::string name;
    std::unordered_map<uint32_t, Thread> threads;
    Thread* last_thread = nullptr;
    uint32_t last_tid = 0;

    uint64_t interval = perfetto_detail::kNoInterval;  // index of the open interval
    bool in_open = false;             // listed in open_
    ProcessNow now;
    uint64_t seen_peak = 0;  // resident pages
    Counter counters[perfetto_detail::kCounterCount];

    std::map<uint64_t, Region> regions;  // start -> the mapped part of a slice
    std::vector<Slice> slices;           // by index; freed ones are reused
    std::vector<size_t> free_slices;
    std::vector<Lane> lanes;
};

}  // namespace pagetrace
