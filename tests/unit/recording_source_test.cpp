// A recording read back through RecordingSource yields the stream it was
// recorded from: records, snapshots (split ones joined again) and process
// facts in file order, and nothing the consumers did not ask for.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "decode/encoder.h"
#include "decode/framing.h"
#include "record/chunk_file_writer.h"
#include "record/format.h"
#include "record/record_reader.h"
#include "record/recording_source.h"
#include "util/unique_fd.h"

using namespace pagetrace;
using namespace pagetrace::recording;

namespace {

Event fault_at(uint64_t ts) {
    Event e;
    e.type = EventType::Fault;
    e.ts_ns = ts;
    e.pid = 7;
    e.tid = 7;
    e.data = FaultData{};
    return e;
}

Bytes events_payload(std::initializer_list<uint64_t> timestamps) {
    Bytes out;
    for (uint64_t ts : timestamps) append_encoded(fault_at(ts), out);
    return out;
}

PagemapSnapshot snapshot_of(uint32_t pid, size_t pages) {
    PagemapSnapshot s;
    s.pid = pid;
    s.ts_ns = 500;
    s.kind = SnapshotKind::Periodic;
    s.mappings.push_back({0x100000000ull, 0x100000000ull + pages * 16384, "rw-p", 0, "00:00", 0, ""});
    for (size_t i = 0; i < pages; ++i) {
        s.pages.push_back({0x100000000ull + i * 16384, {(uint64_t{1} << 63) | (i + 1)}});
    }
    return s;
}

// A recording written with the real chunk writer to a temporary file, read
// back whole.
class RecordingFile {
public:
    RecordingFile() {
        char name[] = "/tmp/pagetrace-source-XXXXXX";
        const int fd = ::mkstemp(name);
        if (fd < 0) throw std::runtime_error("mkstemp failed");
        path_ = name;
        writer_.emplace(UniqueFd(fd), path_, 0);
        RecordingHeader h;
        h.page_size = 16384;
        h.start_ns = 1000;
        writer_->write_header(h);
    }
    ~RecordingFile() { ::unlink(path_.c_str()); }

    void chunk(ChunkType type, std::span<const std::byte> payload) {
        writer_->write_chunk(type, payload);
    }
    Bytes bytes() {
        writer_->close();
        Bytes out;
        UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
        std::byte buf[65536];
        ssize_t n;
        while ((n = ::read(fd.get(), buf, sizeof(buf))) > 0) out.insert(out.end(), buf, buf + n);
        return out;
    }

private:
    std::string path_;
    std::optional<ChunkFileWriter> writer_;
};

// What a source yielded, in words.
std::vector<std::string> drain(RecordingSource& source, std::vector<PagemapSnapshot>* snaps = nullptr) {
    std::vector<std::string> out;
    while (true) {
        const SourceItem item = source.next();
        switch (item.kind) {
        case SourceItem::Kind::Record:
            out.push_back("record@" + std::to_string(peek_header(item.record)->ts_ns));
            break;
        case SourceItem::Kind::Records: {
            EventRecords records(item.record);
            std::span<const std::byte> raw;
            while (records.next(raw)) out.push_back("record@" + std::to_string(peek_header(raw)->ts_ns));
            break;
        }
        case SourceItem::Kind::Snapshot:
            out.push_back("snapshot" + std::to_string(item.snapshot->pages.size()));
            if (snaps) snaps->push_back(*item.snapshot);
            break;
        case SourceItem::Kind::Process:
            out.push_back("process" + std::to_string(item.process->pid));
            break;
        case SourceItem::Kind::Timeout: out.push_back("timeout"); break;
        case SourceItem::Kind::End: return out;
        }
    }
}

}  // namespace

TEST(RecordingSource, YieldsRecordsSnapshotsAndProcessesInFileOrder) {
    RecordingFile file;
    file.chunk(ChunkType::Events, events_payload({10, 20}));
    file.chunk(ChunkType::Pagemap, encode_pagemap(snapshot_of(7, 3), 16384)[0]);
    file.chunk(ChunkType::Events, events_payload({30}));
    ProcessSnapshot proc;
    proc.pid = 7;
    proc.exe = "/bin/worker";
    file.chunk(ChunkType::Process, encode_process(proc));
    file.chunk(ChunkType::Events, events_payload({40}));
    const Bytes bytes = file.bytes();

    RecordingReader reader(memory_source(bytes), "test");
    RecordingSource source(reader);
    source.set_interest({.snapshots = true, .processes = true});
    EXPECT_EQ(source.start_ns(), 1000u);
    EXPECT_EQ(source.page_geometry().size(), 16384u);
    EXPECT_EQ(drain(source), (std::vector<std::string>{"record@10", "record@20", "snapshot3",
                                                       "record@30", "process7", "record@40"}));
}

TEST(RecordingSource, JoinsASnapshotSplitAcrossChunksBeforeWhatFollows) {
    const PagemapSnapshot big = snapshot_of(9, kMaxPagemapPagesPerChunk + 5);
    const auto parts = encode_pagemap(big, 16384);
    ASSERT_EQ(parts.size(), 2u);
    RecordingFile file;
    file.chunk(ChunkType::Events, events_payload({10}));
    file.chunk(ChunkType::Pagemap, parts[0]);
    file.chunk(ChunkType::Pagemap, parts[1]);
    file.chunk(ChunkType::Events, events_payload({20}));
    // A snapshot that is the file's last chunk comes out too.
    file.chunk(ChunkType::Pagemap, encode_pagemap(snapshot_of(9, 2), 16384)[0]);
    const Bytes bytes = file.bytes();

    RecordingReader reader(memory_source(bytes), "test");
    RecordingSource source(reader);
    source.set_interest({.snapshots = true});
    std::vector<PagemapSnapshot> snaps;
    EXPECT_EQ(drain(source, &snaps),
              (std::vector<std::string>{"record@10",
                                        "snapshot" + std::to_string(kMaxPagemapPagesPerChunk + 5),
                                        "record@20", "snapshot2"}));
    ASSERT_EQ(snaps.size(), 2u);
    EXPECT_EQ(snaps[0].mappings.size(), 1u);
    EXPECT_EQ(snaps[0].pages.back().vaddr, big.pages.back().vaddr);
    EXPECT_EQ(snaps[0].pages.back().entry.raw, big.pages.back().entry.raw);
}

TEST(RecordingSource, SkipsWhatNobodyAskedFor) {
    RecordingFile file;
    file.chunk(ChunkType::Events, events_payload({10}));
    file.chunk(ChunkType::Pagemap, encode_pagemap(snapshot_of(7, 3), 16384)[0]);
    ProcessSnapshot proc;
    proc.pid = 7;
    file.chunk(ChunkType::Process, encode_process(proc));
    file.chunk(ChunkType::Events, events_payload({20}));
    const Bytes bytes = file.bytes();

    RecordingReader reader(memory_source(bytes), "test");
    RecordingSource source(reader);
    EXPECT_EQ(drain(source), (std::vector<std::string>{"record@10", "record@20"}));
}

TEST(RecordingSource, WithForceAChunkWithAMalformedRecordIsSkippedAndTheRestRead) {
    Bytes bad = events_payload({10, 20});
    const uint16_t too_big = 4000;
    std::memcpy(bad.data() + (bad.size() / 2) + offsetof(pt_event_header, size), &too_big, 2);
    RecordingFile file;
    file.chunk(ChunkType::Events, bad);
    file.chunk(ChunkType::Events, events_payload({30}));
    const Bytes bytes = file.bytes();
    {
        RecordingReader reader(memory_source(bytes), "test");
        RecordingSource source(reader);
        EXPECT_TRUE(drain(source).empty());
        EXPECT_EQ(reader.end_kind(), EndKind::Corrupt);
    }
    RecordingReader reader(memory_source(bytes), "test", ReaderOptions{.skip_damaged = true});
    RecordingSource source(reader);
    EXPECT_EQ(drain(source), (std::vector<std::string>{"record@30"}));
    EXPECT_EQ(reader.damage().size(), 1u);
}
