// Reading a recording streaming, in bounded memory: the header, then one
// chunk at a time (at most one chunk's stored and decompressed payload, each
// under 16 MiB, is held). Nothing in the file is trusted: every length is
// checked against the limits and the bytes present, every chunk against its
// checksums.
//
// How a reading ends (end_kind()):
// - Complete: the footer was read and its totals match what was read.
// - NotFinalized: the file ends cleanly after a chunk but has no footer (the
//   recorder was killed or stopped by a write error).
// - Truncated: the file ends inside a chunk (cut short while being written,
//   or copied incompletely).
// - Corrupt: a damaged chunk (bad marker, checksum, length, payload). With
//   skip_damaged (--force) damaged chunks are skipped instead, the reader
//   resynchronises on the next sound chunk, and each skip is listed in
//   damage().
// Events read before any of these are always good: a prefix of the recording
// (or, with skip_damaged, the recording minus the damaged chunks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "record/bytes.h"
#include "record/compression.h"
#include "record/format.h"

namespace pagetrace::recording {

class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Reads up to n bytes into dst; returns 0 only at the end of the input.
    // Throws Error if reading fails.
    virtual size_t read(std::byte* dst, size_t n) = 0;
};

// Opens a recording file for reading; throws Error with a clear message
// (missing file, permissions, a directory).
std::unique_ptr<ByteSource> open_file_source(const std::string& path);
// Reads from memory (tests, fuzzing). The bytes must outlive the source.
std::unique_ptr<ByteSource> memory_source(std::span<const std::byte> bytes);

struct ReaderOptions {
    bool skip_damaged = false;     // --force: skip damaged chunks and resync
    bool verify_checksums = true;  // off only for fuzzing deeper layers
    // Events and pagemap chunks are passed over (their checksum checked, not
    // decompressed or decoded): a quick pass for the other chunks (replay
    // reads the symbols chunks first).
    bool skim = false;
};

enum class EndKind { Reading, Complete, NotFinalized, Truncated, Corrupt };

struct Damage {
    uint64_t offset = 0;     // where the damaged bytes start
    uint64_t length = 0;     // bytes skipped (with skip_damaged)
    std::string chunk_type;  // "events", ..., or what the unverified header says
    std::string what;
};

struct Chunk {
    uint64_t offset = 0;  // of its chunk header in the file
    ChunkHeader header;  // an EventColumns chunk is handed on as Events, raw_size its records'
    std::span<const std::byte> payload;  // decompressed; valid until the next read
    bool columns = false;                // stored as EventColumns
    ChunkType type() const { return static_cast<ChunkType>(header.type); }
};

class RecordingReader {
public:
    // Reads and checks the file header. Throws Error: with exit status
    // kExitPartial if the file ends inside its header (cut short at the very
    // start), kExitFailure if it is not a recording, corrupt, or of a newer
    // major version. `name` is used in messages.
    RecordingReader(std::unique_ptr<ByteSource> source, std::string name,
                    ReaderOptions options = {});

    const RecordingHeader& header() const { return header_; }
    const std::string& name() const { return name_; }

    // The next chunk of a type this reader knows (others are skipped with a
    // note); false when reading has ended (see end_kind()). The footer is
    // returned like any chunk and is the last one.
    bool next(Chunk& out);

    EndKind end_kind() const { return end_; }
    // Byte offset at which reading stopped.
    uint64_t end_offset() const { return end_offset_; }
    // Why reading stopped where it did, naming the offset ("" for Complete).
    const std::string& end_message() const { return end_message_; }
    // Chunk type at the end offset, for Truncated and Corrupt.
    const std::string& end_chunk_type() const { return end_chunk_type_; }
    // True if what was read is the whole recording as it was written.
    bool complete() const { return end_ == EndKind::Complete && damage_.empty(); }

    const std::vector<Damage>& damage() const { return damage_; }
    const std::optional<Footer>& footer() const { return footer_; }
    // Things a user should know that are not errors (newer minor version,
    // chunk types skipped).
    std::vector<std::string> notes() const;

    uint64_t records_read() const { return records_; }
    uint64_t chunks_read() const { return chunks_; }

private:
    size_t fill(size_t n);
    std::span<const std::byte> window(size_t n) const;
    void consume(size_t n);
    uint64_t offset() const { return base_ + pos_; }

    void stop(EndKind kind, std::string chunk_type, std::string message);
    // A damaged chunk at the current offset: stops (Corrupt), or with
    // skip_damaged records it and moves to the next sound chunk. Returns true
    // if reading can go on.
    bool damaged(std::string chunk_type, std::string what);
    bool resync();
    bool chunk_at_is_sound();
    std::string unverified_type();
    // Checks that a payload decodes as its type says; counts event records.
    std::optional<std::string> check_payload(const ChunkHeader& header,
                                             std::span<const std::byte> payload,
                                             uint64_t& records);

    std::unique_ptr<ByteSource> source_;
    std::string name_;
    ReaderOptions options_;
    RecordingHeader header_;

    Bytes buf_;          // bytes read from the source; unconsumed ones from pos_
    size_t pos_ = 0;
    uint64_t base_ = 0;  // file offset of buf_[0]
    bool eof_ = false;

    Decompressor decompressor_;
    Bytes raw_;
    Bytes rows_;  // the records of an EventColumns chunk

    EndKind end_ = EndKind::Reading;
    uint64_t end_offset_ = 0;
    std::string end_message_;
    std::string end_chunk_type_;
    std::vector<Damage> damage_;
    std::optional<Footer> footer_;
    std::map<uint16_t, uint64_t> skipped_types_;
    uint64_t records_ = 0;
    uint64_t chunks_ = 0;
};

}  // namespace pagetrace::recording
