// The recording format's parts, each on its own: CRC32C, the file header,
// chunk headers, every payload, and the walk over event records. Every
// decoder must refuse what is malformed, never read out of bounds, and give
// back exactly what was encoded.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "record/crc32c.h"
#include "record/format.h"
#include "record_support.h"

using namespace pagetrace;
using namespace pagetrace::recording;
using namespace pagetrace::recording::test;

namespace {

Bytes bytes_of(std::string_view text) {
    const auto s = as_byte_span(text);
    return Bytes(s.begin(), s.end());
}

// Re-encodes the header's trailing CRC after a test changed its bytes.
void reseal_header(Bytes& header) {
    uint32_t len = 0;
    std::memcpy(&len, header.data() + 12, 4);
    const uint32_t crc = crc32c(std::span<const std::byte>(header).first(len - 4));
    std::memcpy(header.data() + len - 4, &crc, 4);
}

}  // namespace

// --- CRC32C -------------------------------------------------------------------

TEST(Crc32c, KnownValues) {
    EXPECT_EQ(crc32c(as_byte_span("123456789")), 0xe3069283u);
    EXPECT_EQ(crc32c(as_byte_span("")), 0u);
    // RFC 3720 (iSCSI), appendix B.4.
    EXPECT_EQ(crc32c(Bytes(32, std::byte{0})), 0x8a9136aau);
    EXPECT_EQ(crc32c(Bytes(32, std::byte{0xff})), 0x62a8ab43u);
    Bytes ascending(32);
    for (size_t i = 0; i < 32; ++i) ascending[i] = static_cast<std::byte>(i);
    EXPECT_EQ(crc32c(ascending), 0x46dd794eu);
}

TEST(Crc32c, HardwareAndPortableAgreeAndChain) {
    std::mt19937_64 rng(42);
    Bytes data(4099);
    for (auto& b : data) b = static_cast<std::byte>(rng());
    for (size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4099}) {
        for (size_t off : {0, 1, 3}) {
            if (off + len > data.size()) continue;
            const auto part = std::span<const std::byte>(data).subspan(off, len);
            EXPECT_EQ(crc32c(part), crc32c_portable(part)) << len << " at " << off;
            // Continuing from the CRC of a prefix gives the CRC of the whole.
            const size_t split = len / 3;
            EXPECT_EQ(crc32c(part.subspan(split), crc32c(part.first(split))), crc32c(part));
            EXPECT_EQ(crc32c_portable(part.subspan(split), crc32c_portable(part.first(split))),
                      crc32c(part));
        }
    }
}

// --- file header ----------------------------------------------------------------

TEST(RecordingHeader, RoundTripsEveryField) {
    RecordingHeader h = sample_header();
    h.pids = {12, 4194304};
    const Bytes encoded = encode_header(h);
    RecordingHeader back;
    const HeaderResult r = decode_header(encoded, back);
    ASSERT_EQ(r.status, HeaderStatus::Ok) << r.message;
    EXPECT_EQ(back.version_major, kFormatMajor);
    EXPECT_EQ(back.version_minor, kFormatMinor);
    EXPECT_EQ(back.abi_version, static_cast<uint32_t>(PT_ABI_VERSION));
    EXPECT_EQ(back.page_size, 4096u);
    EXPECT_EQ(back.start_ns, h.start_ns);
    EXPECT_EQ(back.clock_offset_ns, h.clock_offset_ns);
    EXPECT_EQ(back.kernel_release, h.kernel_release);
    EXPECT_EQ(back.host_name, h.host_name);
    EXPECT_EQ(back.machine, h.machine);
    EXPECT_EQ(back.agent_version, h.agent_version);
    EXPECT_EQ(back.agent_argv, h.agent_argv);
    EXPECT_EQ(back.command, h.command);
    EXPECT_EQ(back.pids, h.pids);
    EXPECT_EQ(back.options, h.options);
    EXPECT_EQ(back.header_size, encoded.size());
    EXPECT_EQ(back.unknown_fields, 0u);
    EXPECT_EQ(back.wall_ns(h.start_ns), 1'700'000'001'000'000'000);
}

TEST(RecordingHeader, StartsWithMagicVersionAndLength) {
    const Bytes encoded = encode_header(sample_header());
    EXPECT_EQ(std::memcmp(encoded.data(), "\x89PGTRACE", 8), 0);
    uint16_t major = 0;
    uint32_t len = 0;
    std::memcpy(&major, encoded.data() + 8, 2);
    std::memcpy(&len, encoded.data() + 12, 4);
    EXPECT_EQ(major, kFormatMajor);
    EXPECT_EQ(len, encoded.size());
}

TEST(RecordingHeader, FieldsOfANewerMinorVersionAreSkipped) {
    Bytes encoded = encode_header(sample_header());
    // Insert a field with tag 99 before the CRC, as a newer writer might.
    Bytes field;
    put<uint32_t>(field, 99);
    put<uint32_t>(field, 3);
    put_bytes(field, std::string_view("new"));
    encoded.insert(encoded.end() - 4, field.begin(), field.end());
    put_at<uint16_t>(encoded, 10, kFormatMinor + 1);
    put_at<uint32_t>(encoded, 12, static_cast<uint32_t>(encoded.size()));
    reseal_header(encoded);
    RecordingHeader back;
    const HeaderResult r = decode_header(encoded, back);
    ASSERT_EQ(r.status, HeaderStatus::Ok) << r.message;
    EXPECT_EQ(back.unknown_fields, 1u);
    EXPECT_EQ(back.host_name, "testhost");
    EXPECT_EQ(back.version_minor, kFormatMinor + 1);
}

TEST(RecordingHeader, NewerMajorVersionIsRefusedWithAClearMessage) {
    Bytes encoded = encode_header(sample_header());
    put_at<uint16_t>(encoded, 8, kFormatMajor + 1);
    reseal_header(encoded);
    RecordingHeader back;
    const HeaderResult r = decode_header(encoded, back);
    EXPECT_EQ(r.status, HeaderStatus::NewerMajor);
    EXPECT_NE(r.message.find("newer"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(std::to_string(kFormatMajor + 1) + "." +
                             std::to_string(kFormatMinor)),
              std::string::npos)
        << r.message;
}

TEST(RecordingHeader, EveryPrefixIsTruncatedNotCorrupt) {
    const Bytes encoded = encode_header(sample_header());
    for (size_t len = 0; len < encoded.size(); ++len) {
        RecordingHeader back;
        const HeaderResult r = decode_header(std::span<const std::byte>(encoded).first(len), back);
        EXPECT_EQ(r.status, HeaderStatus::Truncated) << "prefix of " << len << ": " << r.message;
    }
}

TEST(RecordingHeader, EveryFlippedByteIsDetected) {
    const Bytes encoded = encode_header(sample_header());
    for (size_t i = 0; i < encoded.size(); ++i) {
        Bytes bad = encoded;
        bad[i] ^= std::byte{0x20};
        RecordingHeader back;
        const HeaderResult r = decode_header(bad, back);
        EXPECT_NE(r.status, HeaderStatus::Ok) << "flip at byte " << i << " went unnoticed";
    }
}

TEST(RecordingHeader, GarbageIsNotARecording) {
    RecordingHeader back;
    EXPECT_EQ(decode_header(bytes_of("#!/bin/sh\necho hello\n"), back).status,
              HeaderStatus::NotRecording);
    EXPECT_EQ(decode_header(bytes_of("PGTRACE"), back).status, HeaderStatus::NotRecording);
    const HeaderResult r = decode_header(Bytes(100, std::byte{0}), back);
    EXPECT_EQ(r.status, HeaderStatus::NotRecording);
    EXPECT_NE(r.message.find("not a pagetrace recording"), std::string::npos);
}

TEST(RecordingHeader, AbsurdHeaderLengthIsCorrupt) {
    Bytes encoded = encode_header(sample_header());
    put_at<uint32_t>(encoded, 12, 0xffffffffu);
    RecordingHeader back;
    const HeaderResult r = decode_header(encoded, back);
    EXPECT_EQ(r.status, HeaderStatus::Corrupt);
    EXPECT_NE(r.message.find("byte 12"), std::string::npos) << r.message;
    put_at<uint32_t>(encoded, 12, 10);
    EXPECT_EQ(decode_header(encoded, back).status, HeaderStatus::Corrupt);
}

// --- chunk headers ---------------------------------------------------------------

namespace {
std::array<std::byte, kChunkHeaderSize> encoded_chunk_header(const ChunkHeader& h) {
    std::array<std::byte, kChunkHeaderSize> out{};
    encode_chunk_header(h, out);
    return out;
}
void reseal_chunk_header(std::array<std::byte, kChunkHeaderSize>& b) {
    const uint32_t crc = crc32c(std::span<const std::byte>(b).first(20));
    std::memcpy(b.data() + 20, &crc, 4);
}
}  // namespace

TEST(ChunkHeader, RoundTrips) {
    const ChunkHeader h{static_cast<uint16_t>(ChunkType::Events), kChunkFlagZstd, 1234, 56789,
                        0xdeadbeef};
    const auto bytes = encoded_chunk_header(h);
    EXPECT_EQ(std::memcmp(bytes.data(), "PGCK", 4), 0);
    ChunkHeader back;
    ASSERT_EQ(decode_chunk_header(bytes, back), std::nullopt);
    EXPECT_EQ(back.type, h.type);
    EXPECT_EQ(back.flags, h.flags);
    EXPECT_EQ(back.stored_size, h.stored_size);
    EXPECT_EQ(back.raw_size, h.raw_size);
    EXPECT_EQ(back.payload_crc, h.payload_crc);
}

TEST(ChunkHeader, EveryFlippedByteIsDetected) {
    const auto good = encoded_chunk_header({1, 0, 100, 100, 7});
    for (size_t i = 0; i < kChunkHeaderSize; ++i) {
        auto bad = good;
        bad[i] ^= std::byte{1};
        ChunkHeader back;
        EXPECT_NE(decode_chunk_header(bad, back), std::nullopt) << "flip at " << i;
    }
}

TEST(ChunkHeader, LimitsAndFlagsAreChecked) {
    ChunkHeader back;
    auto big = encoded_chunk_header({1, 0, kMaxChunkPayload + 1, kMaxChunkPayload + 1, 0});
    auto err = decode_chunk_header(big, back);
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("16 MiB"), std::string::npos) << *err;

    auto bomb = encoded_chunk_header({1, kChunkFlagZstd, 10, kMaxChunkPayload + 1, 0});
    EXPECT_TRUE(decode_chunk_header(bomb, back));

    auto flags = encoded_chunk_header({1, 0x0100, 10, 10, 0});
    err = decode_chunk_header(flags, back);
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("flags"), std::string::npos) << *err;

    auto sizes = encoded_chunk_header({1, 0, 10, 11, 0});
    EXPECT_TRUE(decode_chunk_header(sizes, back));

    // Checksums off (fuzzing): a stale CRC passes, the limits still hold.
    auto stale = encoded_chunk_header({1, 0, 10, 10, 0});
    stale[8] = std::byte{11};
    stale[12] = std::byte{11};
    EXPECT_TRUE(decode_chunk_header(stale, back));
    EXPECT_FALSE(decode_chunk_header(stale, back, false));
    reseal_chunk_header(stale);
    EXPECT_FALSE(decode_chunk_header(stale, back));
}

TEST(ChunkType, NamesAndKnownTypes) {
    EXPECT_EQ(chunk_type_name(1), "events");
    EXPECT_EQ(chunk_type_name(2), "process");
    EXPECT_EQ(chunk_type_name(3), "pagemap");
    EXPECT_EQ(chunk_type_name(4), "loss");
    EXPECT_EQ(chunk_type_name(5), "footer");
    EXPECT_EQ(chunk_type_name(6), "pagemap_notes");
    EXPECT_EQ(chunk_type_name(7), "images");
    EXPECT_EQ(chunk_type_name(8), "symbols");
    EXPECT_EQ(chunk_type_name(0x42), "type 0x0042");
    EXPECT_TRUE(is_known_chunk_type(5));
    EXPECT_TRUE(is_known_chunk_type(8));
    EXPECT_FALSE(is_known_chunk_type(0));
    EXPECT_FALSE(is_known_chunk_type(9));
}

// --- payloads -----------------------------------------------------------------

// Every prefix shorter than the whole fails to decode, and never crashes.
template <typename T, typename Decode>
void expect_prefixes_rejected(const Bytes& encoded, Decode decode) {
    for (size_t len = 0; len < encoded.size(); ++len) {
        T out;
        EXPECT_TRUE(decode(std::span<const std::byte>(encoded).first(len), out))
            << "prefix of " << len << " of " << encoded.size() << " decoded";
    }
}

TEST(ProcessPayload, RoundTripsAndRejectsPrefixes) {
    ProcessSnapshot s;
    s.pid = 4242;
    s.reason = SnapshotReason::Attach;
    s.ts_ns = 99;
    s.comm = "worker";
    s.exe = "/usr/bin/worker";
    s.cmdline = std::string("worker\0--flag\0", 14);
    s.maps = "00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/worker\n";
    s.problems = "/proc/4242/environ: Permission denied\n";
    const Bytes encoded = encode_process(s);
    ProcessSnapshot back;
    ASSERT_EQ(decode_process(encoded, back), std::nullopt);
    EXPECT_EQ(back.pid, s.pid);
    EXPECT_EQ(back.reason, s.reason);
    EXPECT_EQ(back.ts_ns, s.ts_ns);
    EXPECT_EQ(back.comm, s.comm);
    EXPECT_EQ(back.exe, s.exe);
    EXPECT_EQ(back.cmdline, s.cmdline);
    EXPECT_EQ(split_nul(back.cmdline), (std::vector<std::string>{"worker", "--flag"}));
    EXPECT_EQ(back.maps, s.maps);
    EXPECT_EQ(back.problems, s.problems);
    // Prefixes that end exactly between fields are valid (fewer fields); all
    // others are refused.
    for (size_t len = 0; len < 16; ++len) {
        ProcessSnapshot out;
        EXPECT_TRUE(decode_process(std::span<const std::byte>(encoded).first(len), out));
    }
    Bytes cut(encoded.begin(), encoded.end() - 1);
    EXPECT_TRUE(decode_process(cut, back));
}

TEST(PagemapPayload, RoundTripsTheSnapshotReadersSnapshots) {
    PagemapSnapshot s = sample_snapshot();
    s.partial = true;
    const std::vector<Bytes> parts = encode_pagemap(s, 4096);
    ASSERT_EQ(parts.size(), 1u);
    PagemapPart back;
    ASSERT_EQ(decode_pagemap(parts[0], back), std::nullopt);
    EXPECT_EQ(back.page_size, 4096u);
    EXPECT_FALSE(back.continuation);
    expect_same_snapshot(back.snapshot, s);
    // Pages 0-2, 5-6 and 15: three runs of 2 words of header each, not 6 pages
    // of address + word.
    const size_t mapping_bytes = (32 + 4 + 4 + 4 + 5 + 4 + 15) + (32 + 4 + 4 + 4 + 5 + 4 + 0);
    EXPECT_EQ(parts[0].size(), 32 + mapping_bytes + 3 * 16 + 6 * 8);
    expect_prefixes_rejected<PagemapPart>(parts[0], [](auto b, auto& o) {
        return decode_pagemap(b, o).has_value();
    });

    PagemapSnapshot empty;
    empty.kind = SnapshotKind::Targeted;
    const auto empty_parts = encode_pagemap(empty, 4096);
    ASSERT_EQ(empty_parts.size(), 1u);
    ASSERT_EQ(decode_pagemap(empty_parts[0], back), std::nullopt);
    expect_same_snapshot(back.snapshot, empty);
}

TEST(PagemapNotesPayload, RoundTripAndRefusals) {
    PagemapSnapshot s = sample_snapshot();
    EXPECT_FALSE(encode_pagemap_notes(s).has_value());  // nothing to note
    s.zero_pfn = 0x1234;
    s.huge_pages.push_back({0x7f0000200000, 0x40000, 9, false});
    s.huge_pages.push_back({0x7f0000400000, 0x80000, 9, true});
    const auto payload = encode_pagemap_notes(s);
    ASSERT_TRUE(payload.has_value());
    PagemapNotes back;
    ASSERT_EQ(decode_pagemap_notes(*payload, back), std::nullopt);
    EXPECT_EQ(back.pid, s.pid);
    EXPECT_EQ(back.ts_ns, s.ts_ns);
    EXPECT_EQ(back.zero_pfn, 0x1234u);
    ASSERT_EQ(back.huge_pages.size(), 2u);
    EXPECT_EQ(back.huge_pages[1].vaddr, 0x7f0000400000u);
    EXPECT_EQ(back.huge_pages[1].pfn, 0x80000u);
    EXPECT_EQ(back.huge_pages[1].order, 9u);
    EXPECT_TRUE(back.huge_pages[1].zero);
    for (size_t cut = 0; cut < payload->size(); ++cut) {
        EXPECT_NE(decode_pagemap_notes(std::span(*payload).first(cut), back), std::nullopt) << cut;
    }
    Bytes bad_order = *payload;
    put_at<uint32_t>(bad_order, 32 + 16, 0);
    EXPECT_NE(decode_pagemap_notes(bad_order, back), std::nullopt);
}

TEST(PagemapPayload, LargeSnapshotsAreSplitIntoChunks) {
    PagemapSnapshot s = sample_snapshot();
    s.pages.clear();
    const size_t n = kMaxPagemapPagesPerChunk + 10;
    for (size_t i = 0; i < n; ++i) s.pages.push_back({0x100000000ull + i * 4096, {i}});
    const auto parts = encode_pagemap(s, 4096);
    ASSERT_EQ(parts.size(), 2u);
    for (const auto& p : parts) EXPECT_LE(p.size(), kMaxChunkPayload);
    PagemapPart first;
    PagemapPart second;
    ASSERT_EQ(decode_pagemap(parts[0], first), std::nullopt);
    ASSERT_EQ(decode_pagemap(parts[1], second), std::nullopt);
    EXPECT_FALSE(first.continuation);
    EXPECT_TRUE(second.continuation);
    EXPECT_EQ(first.snapshot.mappings.size(), 2u);
    EXPECT_TRUE(second.snapshot.mappings.empty());
    EXPECT_EQ(first.snapshot.pages.size() + second.snapshot.pages.size(), n);
    EXPECT_EQ(second.snapshot.pages.back().vaddr, s.pages.back().vaddr);
    EXPECT_EQ(second.snapshot.pages.back().entry.raw, n - 1);
}

TEST(PagemapPayload, RejectsRunsThatOverflowOrGoBackwards) {
    const Bytes good = encode_pagemap(sample_snapshot(), 4096)[0];
    const size_t runs_at = good.size() - (3 * 16 + 6 * 8);
    PagemapPart out;
    auto with = [&](size_t offset, uint64_t value) {
        Bytes bad = good;
        put_at<uint64_t>(bad, offset, value);
        return decode_pagemap(bad, out);
    };
    EXPECT_TRUE(with(runs_at + 8, 1ull << 61));           // page count beyond the payload
    EXPECT_TRUE(with(runs_at + 8, 0));                    // empty run
    EXPECT_TRUE(with(runs_at, 0x7f0000000001));           // unaligned
    EXPECT_TRUE(with(runs_at, 0xfffffffffffff000ull));    // runs past the top of memory
    EXPECT_TRUE(with(runs_at + 16 + 3 * 8, 0x7f0000000000));  // second run before the first ends
    Bytes odd_page = good;
    put_at<uint32_t>(odd_page, 4, 5000);
    EXPECT_TRUE(decode_pagemap(odd_page, out));
    Bytes many_mappings = good;
    put_at<uint32_t>(many_mappings, 20, 0xffffffffu);
    EXPECT_TRUE(decode_pagemap(many_mappings, out));
    Bytes extra = good;
    extra.push_back(std::byte{0});
    EXPECT_TRUE(decode_pagemap(extra, out));
}

TEST(LossPayload, RoundTripsAndRejectsPrefixes) {
    const LossRecord l{123, 4, LossReason::MalformedRecord, "size mismatch"};
    const Bytes encoded = encode_loss(l);
    LossRecord back;
    ASSERT_EQ(decode_loss(encoded, back), std::nullopt);
    EXPECT_EQ(back.ts_ns, 123u);
    EXPECT_EQ(back.count, 4u);
    EXPECT_EQ(back.reason, LossReason::MalformedRecord);
    EXPECT_EQ(back.detail, "size mismatch");
    expect_prefixes_rejected<LossRecord>(encoded, [](auto b, auto& o) {
        return decode_loss(b, o).has_value();
    });
}

TEST(FooterPayload, RoundTripsAndRejectsPrefixes) {
    Footer f;
    f.end_ns = 77;
    f.records = 1000;
    f.lost = 3;
    f.event_bytes = 64000;
    f.chunks = 9;
    f.end_reason = EndReason::Signal;
    f.signal = 15;
    f.exit_status = 143;
    f.per_type = {{1, 990}, {7, 10}};
    const Bytes encoded = encode_footer(f);
    Footer back;
    ASSERT_EQ(decode_footer(encoded, back), std::nullopt);
    EXPECT_EQ(back.end_ns, 77u);
    EXPECT_EQ(back.records, 1000u);
    EXPECT_EQ(back.lost, 3u);
    EXPECT_EQ(back.event_bytes, 64000u);
    EXPECT_EQ(back.chunks, 9u);
    EXPECT_EQ(back.end_reason, EndReason::Signal);
    EXPECT_EQ(back.signal, 15u);
    EXPECT_EQ(back.exit_status, 143);
    EXPECT_EQ(back.per_type, f.per_type);
    expect_prefixes_rejected<Footer>(encoded, [](auto b, auto& o) {
        return decode_footer(b, o).has_value();
    });
}

// --- event records -------------------------------------------------------------

TEST(EventRecords, WalksRecordsOfEveryTypeAndSize) {
    Bytes payload;
    std::vector<Bytes> recs;
    for (uint16_t t = 1; t <= PT_EV_TYPE_MAX; ++t) recs.push_back(make_record(t, t, 100));
    // A type this build does not know passes through.
    recs.push_back(pagetrace::test::unknown_type_record(999, 48));
    for (const auto& r : recs) payload.insert(payload.end(), r.begin(), r.end());

    EventRecords walk(payload);
    std::span<const std::byte> rec;
    std::vector<Bytes> back;
    while (walk.next(rec)) back.emplace_back(rec.begin(), rec.end());
    EXPECT_EQ(walk.error(), "");
    EXPECT_EQ(back, recs);
    EXPECT_EQ(record_type(recs.back()), 999);
}

TEST(EventRecords, RefusesBadSizes) {
    Bytes rec = make_record(PT_EV_FAULT, 1, 2);
    for (uint16_t size : {0, 1, 39}) {
        Bytes bad = rec;
        put_at<uint16_t>(bad, 2, size);
        EventRecords walk(bad);
        std::span<const std::byte> out;
        EXPECT_FALSE(walk.next(out));
        EXPECT_NE(walk.error().find("offset 0"), std::string::npos) << walk.error();
    }
    // Declares more than is there.
    Bytes longer = rec;
    put_at<uint16_t>(longer, 2, static_cast<uint16_t>(rec.size() + 8));
    EventRecords walk(longer);
    std::span<const std::byte> out;
    EXPECT_FALSE(walk.next(out));
    EXPECT_NE(walk.error(), "");
    // A tail shorter than a header after a good record.
    Bytes tail = rec;
    tail.resize(rec.size() + 10);
    EventRecords walk2(tail);
    EXPECT_TRUE(walk2.next(out));
    EXPECT_FALSE(walk2.next(out));
    EXPECT_NE(walk2.error().find("offset " + std::to_string(rec.size())), std::string::npos)
        << walk2.error();
}

TEST(NulLists, JoinAndSplit) {
    EXPECT_EQ(join_nul({"a", "b c"}), std::string("a\0b c\0", 6));
    EXPECT_EQ(split_nul(std::string("a\0b c\0", 6)), (std::vector<std::string>{"a", "b c"}));
    EXPECT_EQ(split_nul(std::string("a\0b", 3)), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(split_nul("").empty());
}
