// The pagetrace recording format (docs/format.md is the reference): a header,
// then self-delimiting chunks, each checked by CRC32C. This header holds the
// constants and the encoders/decoders of every part; the file writer and the
// streaming reader are built on them. Decoders are pure functions over byte
// spans that check bounds before every read and trust no length field.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decode/framing.h"
#include "pagetrace/events.h"
#include "proc/process_snapshot.h"
#include "proc/snapshot.h"
#include "record/bytes.h"
#include "symbols/code_facts.h"

namespace pagetrace::recording {

// --- versions and limits ----------------------------------------------------

// Major: a reader refuses files of a newer major version. Minor: adds chunk
// types or header fields that older readers of the same major skip.
inline constexpr uint16_t kFormatMajor = 1;
//   1.1: pagemap notes chunks (the zero page's frame, huge pages).
//   1.2: images and symbols chunks (build-ids, kernel functions, JIT maps).
//   1.3: events chunks stored by columns (a critical type: older readers stop).
inline constexpr uint16_t kFormatMinor = 3;

inline constexpr std::array<char, 8> kMagic = {'\x89', 'P', 'G', 'T', 'R', 'A', 'C', 'E'};
inline constexpr size_t kFixedHeaderSize = 48;          // before the header fields
inline constexpr size_t kMaxHeaderSize = 1u << 20;      // fields included
inline constexpr size_t kChunkHeaderSize = 24;
inline constexpr uint32_t kMaxChunkPayload = 16u << 20;  // stored or decompressed
inline constexpr std::array<char, 4> kChunkMarker = {'P', 'G', 'C', 'K'};

// Exit status of replay/info for a recording that is readable but incomplete:
// cut short (recorder killed, disk full) or with damaged chunks skipped.
inline constexpr int kExitPartial = 3;

// --- file header ------------------------------------------------------------

// Tags of the header's variable fields. Readers skip tags they do not know.
enum class HeaderTag : uint32_t {
    KernelRelease = 1,  // uname -r
    HostName = 2,       // uname -n
    Machine = 3,        // uname -m
    AgentVersion = 4,   // "pagetrace 0.1.0"
    AgentArgv = 5,      // pagetrace's own command line, NUL-separated
    Command = 6,        // the traced command (-- CMD ARGS), NUL-separated
    Pids = 7,           // -p targets, u32 each
    Options = 8,        // "key=value" lines: how the recording was made
};

struct RecordingHeader {
    uint16_t version_major = kFormatMajor;
    uint16_t version_minor = kFormatMinor;
    uint32_t abi_version = PT_ABI_VERSION;  // layout of the event records
    uint32_t page_size = 0;
    uint64_t start_ns = 0;         // CLOCK_MONOTONIC when tracing started
    int64_t clock_offset_ns = 0;   // CLOCK_REALTIME - CLOCK_MONOTONIC at that time
    std::string kernel_release;
    std::string host_name;
    std::string machine;
    std::string agent_version;
    std::vector<std::string> agent_argv;
    std::vector<std::string> command;
    std::vector<uint32_t> pids;
    std::string options;
    uint32_t header_size = 0;      // set by the decoder: bytes the header occupies
    uint32_t unknown_fields = 0;   // set by the decoder: fields of tags it skipped

    // Wall-clock time (ns since the epoch) of a CLOCK_MONOTONIC timestamp.
    int64_t wall_ns(uint64_t monotonic_ns) const {
        return static_cast<int64_t>(monotonic_ns) + clock_offset_ns;
    }
};

Bytes encode_header(const RecordingHeader& header);

enum class HeaderStatus {
    Ok,
    Truncated,     // the bytes given are a prefix of a header: more are needed
    NotRecording,  // wrong magic
    NewerMajor,    // a format this reader cannot read
    Corrupt,       // bad length or checksum, malformed fields
};

struct HeaderResult {
    HeaderStatus status = HeaderStatus::Ok;
    std::string message;  // what is wrong, for everything but Ok
    size_t needed = 0;    // for Truncated: bytes the whole header needs, if known
};

// Decodes the header at the start of `bytes` (which may hold more after it).
// With verify_checksum false a checksum mismatch is not an error (for
// --force and fuzzing).
HeaderResult decode_header(std::span<const std::byte> bytes, RecordingHeader& out,
                           bool verify_checksum = true);

// --- chunks -----------------------------------------------------------------

enum class ChunkType : uint16_t {
    Events = 1,   // raw event records (events.h layout), concatenated
    Process = 2,  // a process's /proc facts: exe, cmdline, maps
    Pagemap = 3,  // /proc/PID/pagemap words for ranges of pages
    Loss = 4,     // records the recorder received but could not store
    Footer = 5,   // totals; marks a recording that ended cleanly. Always last
    PagemapNotes = 6,  // 1.1: more about the frames of the snapshot just before
    Images = 7,   // 1.2: a process's executable file mappings and their build-ids
    Symbols = 8,  // 1.2: symbols captured while recording: kernel functions, JIT maps
    // 1.3: raw event records stored by columns (record/event_columns.h). A
    // reader hands them on as an Events chunk; critical, so that a reader that
    // cannot rebuild the records stops instead of skipping events.
    EventColumns = 0x8009,
};

// Chunk types with this bit set change how later chunks must be read: a
// reader that does not know one stops there instead of skipping it.
inline constexpr uint16_t kChunkTypeCritical = 0x8000;
inline constexpr uint16_t kChunkFlagZstd = 0x0001;

// "events", "process", ...; "type 0x0042" for types this reader does not know.
std::string chunk_type_name(uint16_t type);
bool is_known_chunk_type(uint16_t type);

struct ChunkHeader {
    uint16_t type = 0;
    uint16_t flags = 0;
    uint32_t stored_size = 0;  // payload bytes in the file
    uint32_t raw_size = 0;     // payload bytes once decompressed
    uint32_t payload_crc = 0;  // CRC32C of the stored payload bytes
};

void encode_chunk_header(const ChunkHeader& header, std::span<std::byte, kChunkHeaderSize> out);

// Decodes and checks a chunk header: marker, its own checksum, sizes within
// limits, known flags. Returns the problem, or nullopt if it is sound.
std::optional<std::string> decode_chunk_header(std::span<const std::byte, kChunkHeaderSize> bytes,
                                               ChunkHeader& out, bool verify_checksum = true);

// --- events payload -------------------------------------------------------

// Raw event records, concatenated: walked with EventRecords (decode/framing.h).

// --- process payload --------------------------------------------------------

// The process facts of proc/process_snapshot.h, as a chunk.
using pagetrace::ProcessSnapshot;
using pagetrace::SnapshotReason;

Bytes encode_process(const ProcessSnapshot& snapshot);
std::optional<std::string> decode_process(std::span<const std::byte> payload, ProcessSnapshot& out);

// --- images and symbols payloads (format 1.1) -------------------------------

// The executable mappings of symbols/code_facts.h, as a chunk that follows the
// exec or mmap that made them (or the start, for attach).
Bytes encode_images(const ProcessImages& images);
std::optional<std::string> decode_images(std::span<const std::byte> payload, ProcessImages& out);

// Symbols the recording machine had only while recording. A recording may
// hold several such chunks; readers merge them (decode_symbols appends).
Bytes encode_symbols(const CapturedSymbols& symbols);
std::optional<std::string> decode_symbols(std::span<const std::byte> payload, CapturedSymbols& out);

// --- pagemap payload --------------------------------------------------------

// A pagemap snapshot (proc/snapshot.h) is stored as one or more chunks: its
// pages as runs of consecutive pages (start address, count, the raw pagemap
// words), at most kMaxPagemapPagesPerChunk pages per chunk. The first chunk
// carries the mappings; the ones after it carry the `continuation` flag and
// only more pages, and follow it directly.
inline constexpr size_t kMaxPagemapPagesPerChunk = 1u << 20;  // 8 MiB of words

std::vector<Bytes> encode_pagemap(const PagemapSnapshot& snapshot, uint32_t page_size);

struct PagemapPart {
    PagemapSnapshot snapshot;
    uint32_t page_size = 0;
    bool continuation = false;  // more pages of the snapshot in the chunk before
};

std::optional<std::string> decode_pagemap(std::span<const std::byte> payload, PagemapPart& out);

// --- pagemap notes payload (1.1) ------------------------------------------------

// What the agent learnt about the frames of a snapshot from /proc/kpageflags:
// the zero page's frame and the huge pages among its pages. Follows the
// snapshot's pagemap chunk(s) directly, for the same pid and time; readers of
// format 1.0 skip it.
struct PagemapNotes {
    uint32_t pid = 0;
    uint64_t ts_ns = 0;
    uint64_t zero_pfn = 0;
    std::vector<HugePage> huge_pages;
};

// The notes of a snapshot, or nullopt if it has none worth a chunk.
std::optional<Bytes> encode_pagemap_notes(const PagemapSnapshot& snapshot);
std::optional<std::string> decode_pagemap_notes(std::span<const std::byte> payload,
                                                PagemapNotes& out);

// --- loss payload -----------------------------------------------------------

enum class LossReason : uint32_t {
    MalformedRecord = 1,  // the ring delivered a record whose size field was wrong
};

struct LossRecord {
    uint64_t ts_ns = 0;  // CLOCK_MONOTONIC when the recorder noticed
    uint64_t count = 0;
    LossReason reason = LossReason::MalformedRecord;
    std::string detail;
};

Bytes encode_loss(const LossRecord& loss);
std::optional<std::string> decode_loss(std::span<const std::byte> payload, LossRecord& out);

// --- footer payload ---------------------------------------------------------

enum class EndReason : uint32_t {
    TargetsEnded = 1,  // every traced process exited
    Signal = 2,        // stopped by SIGINT/SIGTERM/SIGHUP
    Error = 3,         // stopped by an error (the footer could still be written)
};

struct Footer {
    uint64_t end_ns = 0;       // CLOCK_MONOTONIC when recording ended
    uint64_t records = 0;      // event records in the file (lost records included)
    uint64_t lost = 0;         // events the kernel dropped (sum of lost records)
    uint64_t event_bytes = 0;  // raw bytes of those records
    uint64_t chunks = 0;       // chunks before the footer
    EndReason end_reason = EndReason::TargetsEnded;
    uint32_t signal = 0;       // with EndReason::Signal
    int32_t exit_status = 0;   // the command's shell-style status
    std::vector<std::pair<uint16_t, uint64_t>> per_type;  // records per event type
};

Bytes encode_footer(const Footer& footer);
std::optional<std::string> decode_footer(std::span<const std::byte> payload, Footer& out);

// --- helpers ---------------------------------------------------------------

// "a\0b\0" <-> {"a", "b"}; a trailing NUL is optional when splitting.
std::string join_nul(const std::vector<std::string>& parts);
std::vector<std::string> split_nul(std::string_view text);

}  // namespace pagetrace::recording
