// Writer -> reader round trips: every event type and every chunk type comes
// back byte for byte; chunks are flushed by size and by time; versioning
// rules; and `replay` prints exactly what `trace`'s formatter printed for the
// same records.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <zstd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "cli/options.h"
#include "cli/replay_command.h"
#include "output/formatter.h"
#include "record/chunk_file_writer.h"
#include "record/output_file.h"
#include "record/record_writer.h"
#include "record_support.h"
#include "support/subprocess.h"

using namespace pagetrace;
using namespace pagetrace::recording;
using namespace pagetrace::recording::test;

namespace {

ChunkFileWriter open_writer(const std::string& path, int level = 1) {
    OutputFile file(path, false);
    ChunkFileWriter w(file.take_fd(), path, level);
    file.publish();
    return w;
}

// A story of events: one of each type for two processes, a lost record, and
// faults that compress well.
std::vector<Bytes> sample_records() {
    std::vector<Bytes> recs;
    uint64_t ts = 1'000'000'500;
    for (uint16_t t = 1; t <= PT_EV_TYPE_MAX; ++t) {
        if (t == PT_EV_LOST) continue;
        recs.push_back(make_record(t, ts += 1000, 4242, 4243, 1, "worker", 0x7f0000001000));
        recs.push_back(make_record(t, ts += 1000, 77, 0, 0, "other\nname"));
    }
    recs.push_back(lost_record(ts += 1000, 1, 12));
    for (int i = 0; i < 40; ++i) {
        recs.push_back(make_record(PT_EV_FAULT, ts += 1700, 4242, 4242, 0, "worker",
                                   0x7f0000000000 + 4096ull * i));
    }
    return recs;
}

ProcessSnapshot sample_process() {
    ProcessSnapshot s;
    s.pid = 4242;
    s.reason = SnapshotReason::Exec;
    s.ts_ns = 1'000'001'000;
    s.comm = "worker";
    s.exe = "/usr/bin/worker";
    s.cmdline = std::string("worker\0-v\0", 10);
    s.maps = "55d0c0000000-55d0c0001000 r--p 00000000 fd:01 42 /usr/bin/worker\n";
    return s;
}

PagemapSnapshot sample_pagemap() { return sample_snapshot(); }

Bytes write_sample(const TempDir& dir, const std::string& name, size_t chunk_bytes,
                   const std::vector<Bytes>& recs, Footer footer = {}) {
    const std::string path = dir.file(name);
    ChunkFileWriter w = open_writer(path);
    RecordingHeader h = sample_header();
    w.write_header(h);
    RecordWriterOptions opts;
    opts.chunk_bytes = chunk_bytes;
    RecordWriter writer(std::move(w), opts);
    writer.add_process(sample_process());
    for (size_t i = 0; i < recs.size(); ++i) {
        writer.add_record(recs[i]);
        if (i == recs.size() / 2) writer.add_pagemap(sample_pagemap());
    }
    writer.finish(footer);
    return read_bytes(path);
}

// What `trace` prints for these records, formatted directly.
std::string formatted(const std::vector<Bytes>& recs, OutputFormat format, uint64_t start_ns) {
    auto f = make_formatter(format, start_ns);
    std::string out = f->preamble();
    Event e;
    for (const auto& r : recs) {
        if (decode_event(r, e)) continue;
        f->append(e, out);
    }
    return out;
}

struct ReplayRun {
    int status = -1;
    std::string output;
    std::string error;
};

ReplayRun replay(ReplayOptions options, const TempDir& dir) {
    QuietLogs quiet;
    options.output_path = dir.file("replay.out");
    ReplayRun run;
    try {
        run.status = run_replay_command(options);
    } catch (const Error& e) {
        run.status = e.exit_code();
        run.error = e.what();
    }
    run.output = read_file(options.output_path);
    ::unlink(options.output_path.c_str());
    return run;
}

}  // namespace

TEST(RecordRoundTrip, EveryEventTypeAndChunkTypeComesBackUnchanged) {
    TempDir dir;
    const auto recs = sample_records();
    Footer footer;
    footer.end_ns = 2'000'000'000;
    footer.end_reason = EndReason::TargetsEnded;
    footer.exit_status = 7;
    const Bytes file = write_sample(dir, "all.ptr", 256, recs, footer);

    const ReadResult r = read_recording(file);
    ASSERT_TRUE(r.opened) << r.open_error;
    EXPECT_TRUE(r.complete) << r.end_message;
    EXPECT_EQ(r.end, EndKind::Complete);
    EXPECT_EQ(r.records, recs);

    ASSERT_EQ(r.processes.size(), 1u);
    EXPECT_EQ(r.processes[0].exe, "/usr/bin/worker");
    EXPECT_EQ(r.processes[0].maps, sample_process().maps);
    ASSERT_EQ(r.pagemaps.size(), 1u);
    expect_same_snapshot(r.pagemaps[0].snapshot, sample_pagemap());

    // Chunk order: the process chunk before any events; the footer last.
    ASSERT_FALSE(r.chunk_types.empty());
    EXPECT_EQ(r.chunk_types.front(), static_cast<uint16_t>(ChunkType::Process));
    EXPECT_EQ(r.chunk_types.back(), static_cast<uint16_t>(ChunkType::Footer));
    EXPECT_GT(std::count(r.chunk_types.begin(), r.chunk_types.end(),
                         static_cast<uint16_t>(ChunkType::Events)),
              3);

    ASSERT_TRUE(r.footer);
    EXPECT_EQ(r.footer->records, recs.size());
    EXPECT_EQ(r.footer->lost, 12u);
    EXPECT_EQ(r.footer->end_ns, 2'000'000'000u);
    EXPECT_EQ(r.footer->exit_status, 7);
    EXPECT_EQ(r.footer->chunks, r.chunk_types.size() - 1);
    uint64_t bytes = 0;
    for (const auto& rec : recs) bytes += rec.size();
    EXPECT_EQ(r.footer->event_bytes, bytes);
    for (const auto& [type, count] : r.footer->per_type) {
        const auto expected = std::count_if(recs.begin(), recs.end(), [&](const Bytes& rec) {
            return record_type(rec) == type;
        });
        EXPECT_EQ(count, static_cast<uint64_t>(expected)) << "type " << type;
    }
    EXPECT_EQ(r.footer->per_type.size(), static_cast<size_t>(PT_EV_TYPE_MAX));
    EXPECT_EQ(r.header.host_name, "testhost");
}

TEST(RecordRoundTrip, CompressesWhatPaysAndStoresTheRestRaw) {
    TempDir dir;
    std::vector<Bytes> faults;
    for (int i = 0; i < 2000; ++i) {
        faults.push_back(make_record(PT_EV_FAULT, 1'000'000'000ull + 1500ull * i, 10, 10, 0,
                                     "storm", 0x7f0000000000 + 4096ull * i));
    }
    const Bytes file = write_sample(dir, "faults.ptr", 64 * 1024, faults);
    const ReadResult r = read_recording(file);
    ASSERT_TRUE(r.complete) << r.end_message;
    EXPECT_EQ(r.records, faults);
    bool compressed_events = false;
    size_t by_columns = 0;
    for (size_t i = 0; i < r.chunk_types.size(); ++i) {
        if (r.chunk_types[i] == static_cast<uint16_t>(ChunkType::Events)) {
            compressed_events |= (r.chunk_flags[i] & kChunkFlagZstd) != 0;
            by_columns += r.chunk_columns[i];
        }
    }
    EXPECT_TRUE(compressed_events);
    EXPECT_GT(by_columns, 0u) << "a fault storm is stored by columns";
    // Fault storms compress far below their raw size, and by columns below
    // what zstd makes of the records one after the other.
    EXPECT_LT(file.size(), faults.size() * faults[0].size() / 4);
    Bytes rows;
    for (const auto& f : faults) rows.insert(rows.end(), f.begin(), f.end());
    Bytes packed(ZSTD_compressBound(rows.size()));
    packed.resize(ZSTD_compress(packed.data(), packed.size(), rows.data(), rows.size(), 1));
    EXPECT_LT(file.size(), packed.size());

    // Random bytes do not compress: stored raw, and still read back.
    std::mt19937_64 rng(1);
    PagemapSnapshot noise;
    for (uint64_t i = 0; i < 512; ++i) noise.pages.push_back({0x1000 + 4096 * i, {rng()}});
    const std::string path = dir.file("noise.ptr");
    ChunkFileWriter w = open_writer(path);
    w.write_header(sample_header());
    w.write_chunk(ChunkType::Pagemap, encode_pagemap(noise, 4096)[0]);
    const ReadResult n = read_recording(read_bytes(path));
    ASSERT_EQ(n.pagemaps.size(), 1u);
    EXPECT_EQ(n.chunk_flags[0] & kChunkFlagZstd, 0);
    expect_same_snapshot(n.pagemaps[0].snapshot, noise);
    EXPECT_EQ(n.end, EndKind::NotFinalized);  // no footer written
}

TEST(RecordRoundTrip, MalformedRecordsBecomeALossChunk) {
    TempDir dir;
    const std::string path = dir.file("loss.ptr");
    ChunkFileWriter w = open_writer(path);
    w.write_header(sample_header());
    RecordWriter writer(std::move(w), {});
    const Bytes good = make_record(PT_EV_FAULT, 1, 2);
    Bytes bad = good;
    put_at<uint16_t>(bad, 2, static_cast<uint16_t>(good.size() + 8));  // longer than delivered
    writer.add_record(good);
    writer.add_record(bad);
    writer.add_record(Bytes(10));  // shorter than a header
    writer.add_record(good);
    const RecordingTotals totals = writer.finish({});
    EXPECT_EQ(totals.malformed, 2u);
    const ReadResult r = read_recording(read_bytes(path));
    ASSERT_TRUE(r.complete) << r.end_message;
    EXPECT_EQ(r.records, (std::vector<Bytes>{good, good}));
    ASSERT_EQ(r.losses.size(), 1u);
    EXPECT_EQ(r.losses[0].count, 2u);
    EXPECT_EQ(r.losses[0].reason, LossReason::MalformedRecord);
}

// A recorder that is killed leaves what it had for longer than the flush
// interval on disk: no finish(), no footer, but the events are there.
TEST(RecordRoundTrip, PendingEventsReachTheFileWithinTheFlushInterval) {
    TempDir dir;
    const std::string path = dir.file("timed.ptr");
    ChunkFileWriter w = open_writer(path);
    w.write_header(sample_header());
    RecordWriterOptions opts;
    opts.flush_interval = std::chrono::milliseconds(50);
    RecordWriter writer(std::move(w), opts);
    std::vector<Bytes> recs;
    for (int i = 0; i < 3; ++i) recs.push_back(make_record(PT_EV_MMAP, 100 + i, 9));
    for (const auto& rec : recs) writer.add_record(rec);

    ReadResult r;
    for (int i = 0; i < 100 && r.records.size() < recs.size(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        r = read_recording(read_bytes(path));
    }
    EXPECT_EQ(r.records, recs) << "events were not flushed within 2 s of a 50 ms interval";
    EXPECT_EQ(r.end, EndKind::NotFinalized);
    EXPECT_NE(r.end_message.find("not finalized"), std::string::npos) << r.end_message;
    EXPECT_NE(r.end_message.find("byte " + std::to_string(read_bytes(path).size())),
              std::string::npos)
        << r.end_message;

    writer.finish({});
    const ReadResult done = read_recording(read_bytes(path));
    EXPECT_TRUE(done.complete) << done.end_message;
    EXPECT_EQ(done.records, recs);
}

TEST(RecordRoundTrip, ASlowDiskHoldsTheProducerBackAndLosesNothing) {
    TempDir dir;
    const std::string path = dir.file("slow.ptr");
    ChunkFileWriter w = open_writer(path);
    w.write_header(sample_header());
    RecordWriterOptions opts;
    opts.chunk_bytes = 200;
    opts.max_queued_chunks = 1;
    RecordWriter writer(std::move(w), opts);
    std::vector<Bytes> recs;
    for (int i = 0; i < 3000; ++i) {
        recs.push_back(make_record(PT_EV_FAULT, 10 + i, 3, 3, 0, "w", 0x1000ull * (i + 1)));
        writer.add_record(recs.back());
    }
    const RecordingTotals totals = writer.finish({});
    EXPECT_EQ(totals.events.records, recs.size());
    const ReadResult r = read_recording(read_bytes(path));
    ASSERT_TRUE(r.complete) << r.end_message;
    EXPECT_EQ(r.records, recs);
}

TEST(RecordVersioning, UnknownChunkTypesOfANewerMinorAreSkippedWithANote) {
    TempDir dir;
    const std::string path = dir.file("newer.ptr");
    ChunkFileWriter w = open_writer(path);
    RecordingHeader h = sample_header();
    h.version_minor = kFormatMinor + 3;
    w.write_header(h);
    const Bytes a = make_record(PT_EV_FAULT, 1, 2);
    const Bytes b = make_record(PT_EV_MMAP, 2, 2);
    w.write_chunk(ChunkType::Events, a);
    w.write_raw_chunk(0x0042, Bytes(100, std::byte{7}));
    w.write_chunk(ChunkType::Events, b);
    Footer f;
    f.records = 2;
    f.chunks = 3;
    w.write_chunk(ChunkType::Footer, encode_footer(f));

    const ReadResult r = read_recording(read_bytes(path));
    ASSERT_TRUE(r.opened) << r.open_error;
    EXPECT_TRUE(r.complete) << r.end_message;
    EXPECT_EQ(r.records, (std::vector<Bytes>{a, b}));
    std::string notes;
    for (const auto& n : r.notes) notes += n + "\n";
    EXPECT_NE(notes.find("type 0x0042"), std::string::npos) << notes;
    EXPECT_NE(notes.find("newer"), std::string::npos) << notes;
    EXPECT_NE(notes.find("1." + std::to_string(kFormatMinor + 3)), std::string::npos) << notes;
}

TEST(RecordVersioning, AnUnknownCriticalChunkTypeStopsReading) {
    TempDir dir;
    const std::string path = dir.file("critical.ptr");
    ChunkFileWriter w = open_writer(path);
    w.write_header(sample_header());
    const Bytes a = make_record(PT_EV_FAULT, 1, 2);
    w.write_chunk(ChunkType::Events, a);
    w.write_raw_chunk(kChunkTypeCritical | 0x0042, Bytes(10));
    w.write_chunk(ChunkType::Events, a);
    const ReadResult r = read_recording(read_bytes(path));
    EXPECT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.end, EndKind::Corrupt);
    EXPECT_NE(r.end_message.find("newer pagetrace"), std::string::npos) << r.end_message;
}

TEST(RecordVersioning, ANewerMajorVersionIsRefused) {
    TempDir dir;
    RecordingHeader h = sample_header();
    h.version_major = kFormatMajor + 1;
    const std::string path = dir.file("major.ptr");
    ChunkFileWriter w = open_writer(path);
    w.write_header(h);
    const ReadResult r = read_recording(read_bytes(path));
    EXPECT_FALSE(r.opened);
    EXPECT_EQ(r.open_status, kExitFailure);
    EXPECT_NE(r.open_error.find("newer"), std::string::npos) << r.open_error;
}

TEST(RecordVersioning, ReplayRefusesEventsOfAnotherAbi) {
    TempDir dir;
    RecordingHeader h = sample_header();
    h.abi_version = PT_ABI_VERSION + 1;
    const std::string path = dir.file("abi.ptr");
    ChunkFileWriter w = open_writer(path);
    w.write_header(h);
    ReplayOptions opts;
    opts.input_path = path;
    const ReplayRun run = replay(opts, dir);
    EXPECT_EQ(run.status, kExitFailure);
    EXPECT_NE(run.error.find("ABI"), std::string::npos) << run.error;
    EXPECT_NE(run.error.find("pagetrace test"), std::string::npos) << run.error;
}

// The promise users rely on: replay prints, byte for byte, what trace printed
// live for the same records (same formatter, same start time).
TEST(Replay, PrintsWhatTracePrintedByteForByte) {
    TempDir dir;
    const auto recs = sample_records();
    write_sample(dir, "same.ptr", 300, recs);
    ReplayOptions opts;
    opts.input_path = dir.file("same.ptr");
    for (OutputFormat format : {OutputFormat::Text, OutputFormat::Json}) {
        opts.format = format;
        const ReplayRun run = replay(opts, dir);
        EXPECT_EQ(run.status, 0) << run.error;
        EXPECT_EQ(run.output, formatted(recs, format, sample_header().start_ns));
    }
}

TEST(Replay, FiltersByPidAndEventTypeKeepingLostEvents) {
    TempDir dir;
    const auto recs = sample_records();
    write_sample(dir, "filter.ptr", 300, recs);
    ReplayOptions opts;
    opts.input_path = dir.file("filter.ptr");
    opts.format = OutputFormat::Json;
    opts.pids = {77};
    std::vector<Bytes> expected;
    for (const auto& r : recs) {
        const auto hdr = peek_header(r);
        if (hdr->tgid == 77 || hdr->type == PT_EV_LOST) expected.push_back(r);
    }
    ReplayRun run = replay(opts, dir);
    EXPECT_EQ(run.status, 0) << run.error;
    EXPECT_EQ(run.output, formatted(expected, OutputFormat::Json, 0));

    opts.pids.clear();
    opts.event_types = {PT_EV_MMAP, PT_EV_EXIT};
    expected.clear();
    for (const auto& r : recs) {
        if (record_type(r) == PT_EV_MMAP || record_type(r) == PT_EV_EXIT) expected.push_back(r);
    }
    ASSERT_EQ(expected.size(), 4u);
    run = replay(opts, dir);
    EXPECT_EQ(run.status, 0) << run.error;
    EXPECT_EQ(run.output, formatted(expected, OutputFormat::Json, 0));
}

// Disk full, simulated with RLIMIT_FSIZE (writes past it fail with EFBIG) in
// a child process: the writer stops with an error naming the file and the
// byte where the recording ends, and the file reads cleanly up to there.
TEST(RecordWriteFailure, StopsCleanlyAndLeavesAConsistentFile) {
    TempDir dir;
    const std::string path = dir.file("full.ptr");
    const std::string report = dir.file("report.txt");
    std::vector<Bytes> recs;
    std::mt19937_64 rng(3);
    for (int i = 0; i < 4000; ++i) {
        // Random addresses compress badly, so the limit is reached quickly.
        recs.push_back(make_record(PT_EV_FAULT, 100 + i, 5, 5, 0, "w", rng() | 1));
    }
    const int status = pagetrace::test::wait_status_of_child([&] {
        ::signal(SIGXFSZ, SIG_IGN);
        rlimit lim{32 * 1024, 32 * 1024};
        ::setrlimit(RLIMIT_FSIZE, &lim);
        std::string message = "no error";
        try {
            ChunkFileWriter w = open_writer(path);
            w.write_header(sample_header());
            RecordWriterOptions opts;
            opts.chunk_bytes = 4096;
            RecordWriter writer(std::move(w), opts);
            for (const auto& r : recs) writer.add_record(r);
            writer.finish({});
        } catch (const Error& e) {
            message = e.what();
        }
        std::ofstream(report) << message;
    });
    ASSERT_TRUE(WIFEXITED(status));
    const std::string message = read_file(report);
    const Bytes file = read_bytes(path);
    EXPECT_NE(message.find("File too large"), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("complete up to byte " + std::to_string(file.size())),
              std::string::npos)
        << message << " (file has " << file.size() << " bytes)";
    EXPECT_LE(file.size(), 32u * 1024);

    const ReadResult r = read_recording(file);
    ASSERT_TRUE(r.opened) << r.open_error;
    EXPECT_EQ(r.end, EndKind::NotFinalized) << r.end_message;
    EXPECT_TRUE(r.damage.empty());
    EXPECT_GT(r.records.size(), 0u);
    EXPECT_TRUE(is_prefix(r.records, recs));
}

// Records of a type this pagetrace cannot decode (a newer agent's) are
// skipped with a warning; everything else still prints.
TEST(Replay, SkipsRecordsItCannotDecodeAndPrintsTheRest) {
    TempDir dir;
    const Bytes a = make_record(PT_EV_MMAP, 10, 1);
    const Bytes unknown = pagetrace::test::unknown_type_record(999, 48, 1);
    const Bytes b = make_record(PT_EV_EXIT, 20, 1);
    write_sample(dir, "unknown.ptr", 1 << 20, {a, unknown, b});
    ReplayOptions opts;
    opts.input_path = dir.file("unknown.ptr");
    opts.format = OutputFormat::Json;
    const ReplayRun run = replay(opts, dir);
    EXPECT_EQ(run.status, 0) << run.error;
    EXPECT_EQ(run.output, formatted({a, b}, OutputFormat::Json, 0));
}
