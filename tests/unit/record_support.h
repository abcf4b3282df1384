// Helpers for the recording tests: records of every type (through the
// encoder), a sample header and snapshot, and reading a whole recording into
// plain values. Temporary directories and files: support/files.h.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "decode/decoder.h"
#include "decode/encoder.h"
#include "decode/framing.h"
#include "pagetrace/events.h"
#include "record/format.h"
#include "record/record_reader.h"
#include "support/files.h"
#include "support/raw_records.h"
#include "util/error.h"

namespace pagetrace::recording::test {

using pagetrace::test::read_bytes;
using pagetrace::test::read_file;
using pagetrace::test::TempDir;
using pagetrace::test::write_bytes;

// The record of an event of `type`, made by the encoder: its data at the
// defaults, with `addr` as its address if the type has one.
inline Bytes make_record(uint16_t type, uint64_t ts_ns, uint32_t pid, uint32_t tid = 0,
                         uint32_t cpu = 0, const char* comm = "worker", uint64_t addr = 0) {
    Event event = pagetrace::test::event_of(
        pagetrace::test::default_data(static_cast<EventType>(type)),
        {.cpu = cpu, .ts_ns = ts_ns, .pid = pid, .tid = tid ? tid : pid, .comm = comm});
    std::visit(
        [&](auto& data) {
            if constexpr (requires { data.addr; }) data.addr = addr;
        },
        event.data);
    return encode_event(event);
}

// The type field of a record that has a sound header.
inline uint16_t record_type(std::span<const std::byte> record) {
    const auto header = peek_header(record);
    if (!header) throw std::runtime_error("record without a sound header");
    return header->type;
}

inline RecordingHeader sample_header() {
    RecordingHeader h;
    h.page_size = 4096;
    h.start_ns = 1'000'000'000;
    h.clock_offset_ns = 1'700'000'000'000'000'000;
    h.kernel_release = "6.18.0-test";
    h.host_name = "testhost";
    h.machine = "x86_64";
    h.agent_version = "pagetrace test";
    h.agent_argv = {"pagetrace", "record", "-o", "x.ptr", "--", "prog", "an arg"};
    h.command = {"prog", "an arg"};
    h.options = "follow_children=1\nring_size=67108864\n";
    return h;
}

// A gtest parameter name for a fixture's path ("abi2/vma.ptr" -> "abi2_vma_ptr").
inline std::string fixture_test_name(const std::string& path) {
    std::string name = path;
    for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    return name;
}

// Everything a reader gets out of a recording.
struct ReadResult {
    bool opened = false;
    int open_status = 0;  // exit status of the Error when the header could not be read
    std::string open_error;
    RecordingHeader header;
    std::vector<Bytes> records;
    std::vector<ProcessSnapshot> processes;
    std::vector<PagemapPart> pagemaps;
    std::vector<LossRecord> losses;
    std::vector<uint16_t> chunk_types;
    std::vector<uint16_t> chunk_flags;
    std::vector<bool> chunk_columns;  // stored as EventColumns
    std::optional<Footer> footer;
    EndKind end = EndKind::Reading;
    uint64_t end_offset = 0;
    std::string end_message;
    std::vector<Damage> damage;
    std::vector<std::string> notes;
    bool complete = false;
};

inline ReadResult read_recording(std::span<const std::byte> bytes, ReaderOptions options = {}) {
    ReadResult r;
    try {
        RecordingReader reader(memory_source(bytes), "test.ptr", options);
        r.opened = true;
        r.header = reader.header();
        Chunk chunk;
        while (reader.next(chunk)) {
            r.chunk_types.push_back(chunk.header.type);
            r.chunk_flags.push_back(chunk.header.flags);
            r.chunk_columns.push_back(chunk.columns);
            switch (chunk.type()) {
            case ChunkType::Events: {
                EventRecords walk(chunk.payload);
                std::span<const std::byte> rec;
                while (walk.next(rec)) r.records.emplace_back(rec.begin(), rec.end());
                break;
            }
            case ChunkType::Process: {
                ProcessSnapshot s;
                if (!decode_process(chunk.payload, s)) r.processes.push_back(s);
                break;
            }
            case ChunkType::Pagemap: {
                PagemapPart part;
                if (!decode_pagemap(chunk.payload, part)) r.pagemaps.push_back(part);
                break;
            }
            case ChunkType::Loss: {
                LossRecord l;
                if (!decode_loss(chunk.payload, l)) r.losses.push_back(l);
                break;
            }
            case ChunkType::Footer: break;
            }
        }
        r.footer = reader.footer();
        r.end = reader.end_kind();
        r.end_offset = reader.end_offset();
        r.end_message = reader.end_message();
        r.damage = reader.damage();
        r.notes = reader.notes();
        r.complete = reader.complete();
    } catch (const Error& e) {
        r.open_status = e.exit_code();
        r.open_error = e.what();
    }
    return r;
}

// A snapshot like the snapshot reader takes: mappings, and present pages in
// runs with gaps.
inline PagemapSnapshot sample_snapshot(uint32_t pid = 4242) {
    PagemapSnapshot s;
    s.pid = pid;
    s.ts_ns = 1'000'002'000;
    s.kind = SnapshotKind::Exec;
    s.pfns_visible = true;
    s.mappings.push_back({0x55d0c0000000, 0x55d0c0001000, "r--p", 0, "fd:01", 42, "/usr/bin/worker"});
    s.mappings.push_back({0x7f0000000000, 0x7f0000010000, "rw-p", 0, "00:00", 0, ""});
    for (uint64_t page : {0, 1, 2, 5, 6, 15}) {
        SnapshotPage p;
        p.vaddr = 0x7f0000000000 + page * 4096;
        p.entry.raw = (1ull << 63) | (0x1234 + page);
        s.pages.push_back(p);
    }
    return s;
}

inline void expect_same_snapshot(const PagemapSnapshot& a, const PagemapSnapshot& b) {
    EXPECT_EQ(a.pid, b.pid);
    EXPECT_EQ(a.ts_ns, b.ts_ns);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.pfns_visible, b.pfns_visible);
    EXPECT_EQ(a.partial, b.partial);
    ASSERT_EQ(a.mappings.size(), b.mappings.size());
    for (size_t i = 0; i < a.mappings.size(); ++i) {
        EXPECT_EQ(a.mappings[i].start, b.mappings[i].start);
        EXPECT_EQ(a.mappings[i].end, b.mappings[i].end);
        EXPECT_EQ(a.mappings[i].perms, b.mappings[i].perms);
        EXPECT_EQ(a.mappings[i].offset, b.mappings[i].offset);
        EXPECT_EQ(a.mappings[i].dev, b.mappings[i].dev);
        EXPECT_EQ(a.mappings[i].inode, b.mappings[i].inode);
        EXPECT_EQ(a.mappings[i].path, b.mappings[i].path);
    }
    ASSERT_EQ(a.pages.size(), b.pages.size());
    for (size_t i = 0; i < a.pages.size(); ++i) {
        EXPECT_EQ(a.pages[i].vaddr, b.pages[i].vaddr) << i;
        EXPECT_EQ(a.pages[i].entry.raw, b.pages[i].entry.raw) << i;
    }
}

// True if `part` is a prefix of `whole`.
inline bool is_prefix(const std::vector<Bytes>& part, const std::vector<Bytes>& whole) {
    if (part.size() > whole.size()) return false;
    for (size_t i = 0; i < part.size(); ++i) {
        if (part[i] != whole[i]) return false;
    }
    return true;
}

// True if `part` is `whole` with some elements left out, order kept.
inline bool is_subsequence(const std::vector<Bytes>& part, const std::vector<Bytes>& whole) {
    size_t j = 0;
    for (const auto& p : part) {
        while (j < whole.size() && whole[j] != p) ++j;
        if (j == whole.size()) return false;
        ++j;
    }
    return true;
}

// Silences spdlog for the scope (in-process command runs log warnings).
class QuietLogs {
public:
    QuietLogs() : level_(spdlog::get_level()) { spdlog::set_level(spdlog::level::off); }
    ~QuietLogs() { spdlog::set_level(level_); }

private:
    spdlog::level::level_enum level_;
};

}  // namespace pagetrace::recording::test
