// What consumes the event stream: a formatter, the record writer, the
// timeline, the live source's frame index. The pipeline decodes each record
// once and hands every sink the decoded event together with its raw bytes (for
// the writer, which stores them as they came); a sink never decodes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "decode/event.h"
#include "proc/process_snapshot.h"
#include "proc/snapshot.h"
#include "symbols/code_facts.h"

namespace pagetrace {

struct DecodeError;

// What a sink needs besides events, so a source can skip the work of
// producing what nobody reads (decoding pagemap chunks, reading /proc).
struct SinkInterest {
    bool snapshots = false;  // pagemap snapshots (PagemapSnapshot)
    bool processes = false;  // process facts (ProcessSnapshot)
    bool images = false;     // executable mappings and build-ids (ProcessImages)

    SinkInterest operator|(const SinkInterest& o) const {
        return {snapshots || o.snapshots, processes || o.processes, images || o.images};
    }
};

class EventSink {
public:
    virtual ~EventSink() = default;

    virtual SinkInterest interest() const { return {}; }

    // One decoded event; `raw` is the record it was decoded from (valid for
    // the call only).
    virtual void on_event(const Event& event, std::span<const std::byte> raw) = 0;
    // A record that could not be decoded (already counted by the pipeline).
    virtual void on_undecodable(std::span<const std::byte> /*raw*/, const DecodeError& /*why*/) {}
    // A pagemap snapshot, in stream order (only with interest().snapshots).
    virtual void on_snapshot(const PagemapSnapshot& /*snapshot*/) {}
    // Process facts (/proc at attach and exec), in stream order (only with
    // interest().processes).
    virtual void on_process(const ProcessSnapshot& /*process*/) {}
    // A process's executable mappings (at attach, exec and executable mmaps),
    // in stream order (only with interest().images).
    virtual void on_images(const ProcessImages& /*images*/) {}
    // The source had nothing for a while (live tracing): a moment to flush.
    virtual void on_idle() {}
    // The stream has ended.
    virtual void on_end() {}
};

}  // namespace pagetrace
