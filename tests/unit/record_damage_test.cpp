// Bad input: a recording cut at every byte offset, a byte flipped at every
// offset, bad lengths, bad checksums, garbage. The reader must never crash
// (this suite also runs under ASan/UBSan), must give back only events that
// were recorded, in order, and must say where the damage is.
#include <gtest/gtest.h>

#include "cli/options.h"
#include "cli/replay_command.h"
#include "output/formatter.h"
#include "record/chunk_file_writer.h"
#include "record/crc32c.h"
#include "record/output_file.h"
#include "record/record_writer.h"
#include "record_support.h"

using namespace pagetrace;
using namespace pagetrace::recording;
using namespace pagetrace::recording::test;

namespace {

struct Sample {
    Bytes file;
    std::vector<Bytes> records;
    std::vector<uint64_t> chunk_offsets;  // of every chunk, in order
    std::vector<uint16_t> chunk_types;
};

// A small recording with every chunk type, compressed and raw events chunks.
const Sample& sample() {
    static const Sample s = [] {
        Sample out;
        TempDir dir;
        const std::string path = dir.file("small.ptr");
        {
            OutputFile file(path, false);
            ChunkFileWriter w(file.take_fd(), path, 1);
            file.publish();
            w.write_header(sample_header());
            RecordWriterOptions opts;
            opts.chunk_bytes = 400;
            RecordWriter writer(std::move(w), opts);
            ProcessSnapshot p;
            p.pid = 5;
            p.exe = "/bin/x";
            p.maps = "00400000-00401000 r-xp 00000000 00:00 0 /bin/x\n";
            writer.add_process(p);
            for (int i = 0; i < 24; ++i) {
                const uint16_t type = i % 6 == 5 ? PT_EV_MMAP : PT_EV_FAULT;
                out.records.push_back(
                    make_record(type, 1000 + i, 5, 5, 0, "x", 0x7f0000000000 + 4096ull * i));
                writer.add_record(out.records.back());
                if (i == 10) writer.add_pagemap(sample_snapshot(5));
            }
            out.records.push_back(lost_record(2000, 1, 3));
            writer.add_record(out.records.back());
            writer.finish({});
        }
        out.file = read_bytes(path);
        // Find the chunks by reading the file once.
        RecordingReader reader(memory_source(out.file), "x");
        Chunk c;
        while (reader.next(c)) {
            out.chunk_offsets.push_back(c.offset);
            out.chunk_types.push_back(c.header.type);
        }
        return out;
    }();
    return s;
}

std::span<const std::byte> prefix(const Bytes& b, size_t len) {
    return std::span<const std::byte>(b).first(len);
}

int replay_status(const std::string& path, bool force, std::string* output = nullptr) {
    QuietLogs quiet;
    ReplayOptions opts;
    opts.input_path = path;
    opts.force = force;
    opts.format = OutputFormat::Json;
    opts.output_path = path + ".out";
    int status;
    try {
        status = run_replay_command(opts);
    } catch (const Error& e) {
        status = e.exit_code();
    }
    if (output) *output = read_file(opts.output_path);
    ::unlink(opts.output_path.c_str());
    return status;
}

std::string json_of(const std::vector<Bytes>& recs) {
    auto f = make_formatter(OutputFormat::Json, 0);
    std::string out;
    Event e;
    for (const auto& r : recs) {
        if (!decode_event(r, e)) f->append(e, out);
    }
    return out;
}

}  // namespace

TEST(RecordDamage, SampleIsSoundAndHasEveryChunkType) {
    const Sample& s = sample();
    const ReadResult r = read_recording(s.file);
    ASSERT_TRUE(r.complete) << r.end_message;
    EXPECT_EQ(r.records, s.records);
    for (auto type : {ChunkType::Events, ChunkType::Process, ChunkType::Pagemap, ChunkType::Footer}) {
        EXPECT_NE(std::count(s.chunk_types.begin(), s.chunk_types.end(),
                             static_cast<uint16_t>(type)),
                  0)
            << chunk_type_name(static_cast<uint16_t>(type));
    }
    EXPECT_LT(s.file.size(), 4096u) << "keep the sample small: it is cut at every offset";
}

// Cut at every byte: no crash, only a prefix of the events, never "complete",
// and the command says "partial" (exit status 3).
TEST(RecordDamage, TruncationAtEveryOffsetGivesAPrefixAndSaysPartial) {
    const Sample& s = sample();
    TempDir dir;
    const std::string path = dir.file("cut.ptr");
    const std::string full_json = json_of(s.records);
    for (size_t len = 0; len < s.file.size(); ++len) {
        const ReadResult r = read_recording(prefix(s.file, len));
        ASSERT_FALSE(r.complete) << "cut at " << len;
        ASSERT_TRUE(is_prefix(r.records, s.records)) << "cut at " << len;
        if (r.opened) {
            EXPECT_TRUE(r.end == EndKind::NotFinalized || r.end == EndKind::Truncated)
                << "cut at " << len << ": " << r.end_message;
            EXPECT_LE(r.end_offset, len);
            EXPECT_NE(r.end_message.find("byte"), std::string::npos) << r.end_message;
        } else {
            EXPECT_EQ(r.open_status, kExitPartial) << "cut at " << len << ": " << r.open_error;
        }
        write_bytes(path, prefix(s.file, len));
        std::string out;
        ASSERT_EQ(replay_status(path, false, &out), kExitPartial) << "cut at " << len;
        EXPECT_EQ(full_json.compare(0, out.size(), out), 0) << "cut at " << len;
    }
    write_bytes(path, s.file);
    std::string out;
    EXPECT_EQ(replay_status(path, false, &out), 0);
    EXPECT_EQ(out, full_json);
}

// A byte flipped anywhere is noticed: never a clean "complete", events only
// from before the damage (without --force) or all but the damaged chunk
// (with --force), and replay exits non-zero.
TEST(RecordDamage, AFlippedByteAnywhereIsDetected) {
    const Sample& s = sample();
    TempDir dir;
    const std::string path = dir.file("flip.ptr");
    for (size_t i = 0; i < s.file.size(); ++i) {
        Bytes bad = s.file;
        bad[i] ^= std::byte{0x41};
        const ReadResult r = read_recording(bad);
        ASSERT_FALSE(r.complete) << "flip at " << i;
        ASSERT_TRUE(is_prefix(r.records, s.records)) << "flip at " << i;
        if (r.opened && r.end == EndKind::Corrupt) {
            EXPECT_NE(r.end_message.find("byte "), std::string::npos) << r.end_message;
        }
        const ReadResult forced = read_recording(bad, {.skip_damaged = true});
        ASSERT_FALSE(forced.complete) << "flip at " << i;
        ASSERT_TRUE(is_subsequence(forced.records, s.records)) << "flip at " << i;
        if (i % 7 == 0) {  // the command's exit status, on a sample of offsets
            write_bytes(path, bad);
            EXPECT_NE(replay_status(path, false), 0) << "flip at " << i;
            EXPECT_NE(replay_status(path, true), 0) << "flip at " << i;
        }
    }
}

TEST(RecordDamage, BadChecksumNamesOffsetAndTypeAndForceSkipsOnlyThatChunk) {
    const Sample& s = sample();
    // The second events chunk.
    size_t which = 0;
    int seen = 0;
    for (size_t k = 0; k < s.chunk_types.size(); ++k) {
        if (s.chunk_types[k] == static_cast<uint16_t>(ChunkType::Events) && ++seen == 2) which = k;
    }
    ASSERT_GT(which, 0u);
    const uint64_t at = s.chunk_offsets[which];
    Bytes bad = s.file;
    bad[at + kChunkHeaderSize + 3] ^= std::byte{1};

    const ReadResult r = read_recording(bad);
    EXPECT_EQ(r.end, EndKind::Corrupt);
    EXPECT_EQ(r.end_offset, at);
    EXPECT_NE(r.end_message.find("byte " + std::to_string(at)), std::string::npos) << r.end_message;
    EXPECT_NE(r.end_message.find("(events)"), std::string::npos) << r.end_message;
    EXPECT_NE(r.end_message.find("checksum"), std::string::npos) << r.end_message;
    const size_t before = r.records.size();
    EXPECT_TRUE(is_prefix(r.records, s.records));

    const ReadResult forced = read_recording(bad, {.skip_damaged = true});
    EXPECT_EQ(forced.end, EndKind::Complete);
    ASSERT_EQ(forced.damage.size(), 1u);
    EXPECT_EQ(forced.damage[0].offset, at);
    EXPECT_EQ(forced.damage[0].length, s.chunk_offsets[which + 1] - at);
    EXPECT_EQ(forced.damage[0].chunk_type, "events");
    EXPECT_TRUE(is_subsequence(forced.records, s.records));
    EXPECT_GT(forced.records.size(), before);
    EXPECT_LT(forced.records.size(), s.records.size());
    EXPECT_EQ(forced.records.back(), s.records.back()) << "the chunks after the damage are read";

    TempDir dir;
    write_bytes(dir.file("bad.ptr"), bad);
    EXPECT_EQ(replay_status(dir.file("bad.ptr"), false), kExitFailure);
    EXPECT_EQ(replay_status(dir.file("bad.ptr"), true), kExitPartial);
}

TEST(RecordDamage, BadLengthsAreCaught) {
    const Sample& s = sample();
    const uint64_t at = s.chunk_offsets[1];
    auto with_sizes = [&](uint32_t stored, uint32_t raw) {
        Bytes bad = s.file;
        ChunkHeader h;
        EXPECT_FALSE(decode_chunk_header(
            std::span<const std::byte>(bad).subspan(at).first<kChunkHeaderSize>(), h));
        h.stored_size = stored;
        h.raw_size = raw;
        encode_chunk_header(h, std::span<std::byte>(bad).subspan(at).first<kChunkHeaderSize>());
        return bad;
    };
    // Longer than the limit, with a valid header checksum: refused, named.
    ReadResult r = read_recording(with_sizes(kMaxChunkPayload + 1, kMaxChunkPayload + 1));
    EXPECT_EQ(r.end, EndKind::Corrupt);
    EXPECT_EQ(r.end_offset, at);
    EXPECT_NE(r.end_message.find("16 MiB"), std::string::npos) << r.end_message;
    // Shorter than the payload: its checksum no longer holds.
    r = read_recording(with_sizes(10, 10));
    EXPECT_EQ(r.end, EndKind::Corrupt);
    EXPECT_EQ(r.end_offset, at);
    // Past the end of the file: reads as a chunk cut short.
    r = read_recording(with_sizes(1u << 20, 1u << 20));
    EXPECT_EQ(r.end, EndKind::Truncated);
    EXPECT_NE(r.end_message.find("cut short"), std::string::npos) << r.end_message;
    // A record whose size field lies, in a chunk whose checksum holds.
    {
        Bytes payload = s.records[0];
        put_at<uint16_t>(payload, 2, 9999);
        TempDir dir;
        const std::string path = dir.file("lie.ptr");
        OutputFile file(path, false);
        ChunkFileWriter w(file.take_fd(), path, 0);
        file.publish();
        w.write_header(sample_header());
        w.write_chunk(ChunkType::Events, s.records[0]);
        w.write_chunk(ChunkType::Events, payload);
        w.write_chunk(ChunkType::Events, s.records[1]);
        r = read_recording(read_bytes(path));
        EXPECT_EQ(r.end, EndKind::Corrupt);
        EXPECT_NE(r.end_message.find("declares 9999 bytes"), std::string::npos) << r.end_message;
        EXPECT_EQ(r.records, std::vector<Bytes>{s.records[0]});
        r = read_recording(read_bytes(path), {.skip_damaged = true});
        EXPECT_EQ(r.records, (std::vector<Bytes>{s.records[0], s.records[1]}));
    }
}

TEST(RecordDamage, GarbageHeaderIsAClearError) {
    TempDir dir;
    const std::string path = dir.file("garbage.ptr");
    write_bytes(path, as_byte_span("this is a text file, not a recording\n"));
    QuietLogs quiet;
    ReplayOptions opts;
    opts.input_path = path;
    try {
        run_replay_command(opts);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), kExitFailure);
        EXPECT_NE(std::string(e.what()).find("not a pagetrace recording"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    // A header with a wrong checksum: an error naming the header; --force reads on.
    Bytes bad = sample().file;
    bad[20] ^= std::byte{1};  // page size field
    EXPECT_EQ(read_recording(bad).open_status, kExitFailure);
    EXPECT_NE(read_recording(bad).open_error.find("checksum"), std::string::npos);
    const ReadResult forced = read_recording(bad, {.skip_damaged = true});
    EXPECT_TRUE(forced.opened);
    EXPECT_EQ(forced.records, sample().records);
    EXPECT_FALSE(forced.complete);
}

TEST(RecordDamage, ForceResyncsOverInsertedGarbage) {
    const Sample& s = sample();
    const uint64_t at = s.chunk_offsets[2];
    Bytes bad = s.file;
    const std::string junk = "PGCK junk that even starts with a chunk marker PGCKPGC";
    const auto j = as_byte_span(junk);
    bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(at), j.begin(), j.end());
    const ReadResult plain = read_recording(bad);
    EXPECT_EQ(plain.end, EndKind::Corrupt);
    EXPECT_EQ(plain.end_offset, at);
    const ReadResult forced = read_recording(bad, {.skip_damaged = true});
    EXPECT_EQ(forced.records, s.records);
    ASSERT_EQ(forced.damage.size(), 1u);
    EXPECT_EQ(forced.damage[0].offset, at);
    EXPECT_EQ(forced.damage[0].length, junk.size());
}

TEST(RecordDamage, DataAfterTheFooterAndMissingChunksAreNoticed) {
    const Sample& s = sample();
    Bytes extra = s.file;
    extra.push_back(std::byte{0});
    ReadResult r = read_recording(extra);
    EXPECT_EQ(r.end, EndKind::Corrupt);
    EXPECT_NE(r.end_message.find("after the footer"), std::string::npos) << r.end_message;
    EXPECT_EQ(r.records, s.records);

    // A whole chunk cut out cleanly: every checksum holds, the footer's
    // totals do not.
    Bytes missing = s.file;
    const uint64_t from = s.chunk_offsets[2];
    const uint64_t to = s.chunk_offsets[3];
    missing.erase(missing.begin() + static_cast<std::ptrdiff_t>(from),
                  missing.begin() + static_cast<std::ptrdiff_t>(to));
    r = read_recording(missing);
    EXPECT_EQ(r.end, EndKind::Corrupt);
    EXPECT_NE(r.end_message.find("chunks are missing"), std::string::npos) << r.end_message;
}

TEST(RecordDamage, ChecksumsOffStillNeverReadOutOfBounds) {
    // The fuzzer's deeper mode: with checksums ignored, a flipped byte reaches
    // the payload decoders, which must hold on their own.
    const Sample& s = sample();
    for (size_t i = 0; i < s.file.size(); ++i) {
        for (std::byte mask : {std::byte{0x01}, std::byte{0x80}, std::byte{0xff}}) {
            Bytes bad = s.file;
            bad[i] ^= mask;
            const ReadResult r = read_recording(bad, {.skip_damaged = true, .verify_checksums = false});
            (void)r;
        }
    }
}
