// A recording read back as the stream it was recorded from: event records and
// pagemap snapshots in file order, snapshots split across chunks joined again.
// The timeline reads recordings through it exactly as it reads a live trace.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "proc/snapshot.h"
#include "record/bytes.h"
#include "record/format.h"
#include "record/record_reader.h"

namespace pagetrace::recording {

class RecordingStream {
public:
    enum class Item { Record, Snapshot, End };

    explicit RecordingStream(RecordingReader& reader) : reader_(reader) {}

    // The next item; record() or snapshot() holds it until the next call.
    Item next();
    std::span<const std::byte> record() const { return record_; }
    const PagemapSnapshot& snapshot() const { return snapshot_; }

    // Pagemap chunks that could not be decoded (their problems are logged once each).
    uint64_t bad_snapshots() const { return bad_snapshots_; }

private:

    RecordingReader& reader_;
    Bytes events_;  // the events chunk being read (a copy: chunks are read ahead)
    std::optional<EventRecords> records_;
    std::span<const std::byte> record_;
    PagemapSnapshot snapshot_;
    std::optional<PagemapSnapshot> building_;  // a snapshot whose continuations may follow
    std::optional<Chunk> held_;                // read ahead while finishing a snapshot
    Bytes held_payload_;
    bool ended_ = false;
    uint64_t bad_snapshots_ = 0;
};

}  // namespace pagetrace::recording
