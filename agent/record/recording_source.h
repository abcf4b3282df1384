// A recording read back as the stream it was recorded from: event records
// (each events chunk as one buffer of records), pagemap snapshots and process
// facts in file order, snapshots split across
// chunks joined again. Replay, timelines and exports read recordings through
// it exactly as they read a live trace.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "pipeline/event_source.h"
#include "proc/snapshot.h"
#include "record/bytes.h"
#include "record/format.h"
#include "record/record_reader.h"

namespace pagetrace::recording {

class RecordingSource : public EventSource {
public:
    explicit RecordingSource(RecordingReader& reader) : reader_(reader) {}

    SourceItem next() override;
    uint64_t start_ns() const override { return reader_.header().start_ns; }
    // The page size the recording header names (4 KiB if it names none).
    kernel::PageGeometry page_geometry() const override;
    // Pagemap and process chunks nobody reads are skipped undecoded.
    void set_interest(const SinkInterest& interest) override { interest_ = interest; }

    RecordingReader& reader() { return reader_; }

private:
    RecordingReader& reader_;
    SinkInterest interest_;
    PagemapSnapshot snapshot_;
    ProcessSnapshot process_;
    ProcessImages images_;
    std::optional<PagemapSnapshot> building_;  // a snapshot whose continuations may follow
    std::optional<Chunk> held_;                // read ahead while finishing a snapshot
    Bytes held_payload_;
    bool ended_ = false;
    bool warned_bad_snapshot_ = false;
};

}  // namespace pagetrace::recording
