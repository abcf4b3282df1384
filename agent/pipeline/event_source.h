// Where the event stream comes from: the kernel's ring buffer (LiveSource),
// a recording (RecordingSource) or a test (MemorySource). Everything that
// consumes the stream sees the same items in the same order whichever it is:
// raw records, pagemap snapshots and process facts, interleaved as they
// happened, then the end. Records come one at a time or, where a source has
// them at hand that way, as a buffer of concatenated records (the pipeline
// walks it; one call per chunk instead of one per record).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/mm.h"
#include "pipeline/event_sink.h"
#include "proc/process_snapshot.h"
#include "proc/snapshot.h"
#include "symbols/code_facts.h"

namespace pagetrace {

struct SourceItem {
    enum class Kind {
        Record,    // `record`: one raw event record
        Records,   // `record`: several, concatenated (a recording's events chunk)
        Snapshot,  // `snapshot`: a pagemap snapshot
        Process,   // `process`: process facts
        Images,    // `images`: a process's executable mappings and their build-ids
        Timeout,   // nothing arrived for a while (live only)
        End,       // the stream is over; next() must not be called again
    };
    Kind kind = Kind::End;
    std::span<const std::byte> record;
    const PagemapSnapshot* snapshot = nullptr;
    const ProcessSnapshot* process = nullptr;
    const ProcessImages* images = nullptr;

    static SourceItem of(Kind kind) {
        SourceItem item;
        item.kind = kind;
        return item;
    }
};

class EventSource {
public:
    virtual ~EventSource() = default;

    // The next item. Whatever it refers to stays valid until the next call.
    virtual SourceItem next() = 0;

    // CLOCK_MONOTONIC time at which tracing started: the origin of text output.
    virtual uint64_t start_ns() const = 0;
    // The page size of the traced machine.
    virtual kernel::PageGeometry page_geometry() const = 0;

    // What the consumers need; called once, before the first next().
    virtual void set_interest(const SinkInterest& /*interest*/) {}
    // A sink the pipeline hands every decoded event and snapshot first, for a
    // source that acts on what it produced (the live source keeps its frame
    // index from the stream and reads /proc after an exec). Most have none.
    virtual EventSink* feedback() { return nullptr; }
};

}  // namespace pagetrace
