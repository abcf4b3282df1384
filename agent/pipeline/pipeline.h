// One pass over an event stream: every record from the source is decoded once,
// counted once, and handed with its raw bytes to each sink in turn (the
// source's own feedback sink first); snapshots, process facts, idle moments
// and the end go to the sinks as they come. Every command is a source and a
// list of sinks run by this loop, live or from a recording alike.
//
//   RecordingSource source(reader);
//   EventPrinter printer(...);
//   Pipeline pipeline(source);
//   pipeline.add(printer);
//   const PipelineStats& stats = pipeline.run();
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "decode/event.h"
#include "pipeline/event_sink.h"
#include "pipeline/event_source.h"
#include "pipeline/event_tally.h"

namespace pagetrace {

// Which events reach the sinks. Records of other types are skipped before
// they are decoded; `lost` events belong to no process and pass a pid filter.
struct EventFilter {
    std::vector<uint16_t> types;  // empty: every type
    std::vector<uint32_t> pids;   // empty: every process

    bool wants_type(uint16_t type) const {
        return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
    }
    bool wants_pid(uint32_t pid) const {
        return pids.empty() || pid == 0 || std::find(pids.begin(), pids.end(), pid) != pids.end();
    }
};

struct PipelineStats {
    EventTally events;  // decoded events handed to the sinks
    uint64_t filtered = 0;
    std::map<std::string, uint64_t> undecodable;  // problem -> records
    uint64_t snapshots = 0;
    uint64_t processes = 0;

    uint64_t undecodable_records() const;
};

class Pipeline {
public:
    explicit Pipeline(EventSource& source, EventFilter filter = {});

    // Sinks see every item in the order they were added. They must outlive run().
    void add(EventSink& sink);

    // Reads the source to its end. Exceptions from the source or a sink end
    // the run and propagate; the stats say how far it got.
    const PipelineStats& run();
    // Handles one item; false once the source has ended (its end went to the
    // sinks). For callers that interleave their own work (tests that look at a
    // sink after each event of a story).
    bool step();
    const PipelineStats& stats() const { return stats_; }

    // One warning per kind of undecodable record ("N record(s) could not be
    // decoded and were skipped: ..."), if there were any.
    void log_undecodable() const;

private:
    void on_record(std::span<const std::byte> raw);
    [[gnu::noinline, gnu::cold]] void on_undecodable(std::span<const std::byte> raw,
                                                     const DecodeError& err);
    [[gnu::noinline]] bool unwanted_type(std::span<const std::byte> raw);

    EventSource& source_;
    EventFilter filter_;
    EventSink* feedback_ = nullptr;
    bool started_ = false;
    std::vector<EventSink*> sinks_;
    Event event_;  // reused: decoding into it keeps its strings' capacity
    PipelineStats stats_;
};

}  // namespace pagetrace
