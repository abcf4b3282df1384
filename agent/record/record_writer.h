// The recorder: a sink of the live pipeline that stores the stream in a
// recording. Each event's raw record is appended to a buffer (a copy under a
// mutex, nothing more); a writer thread turns the buffer into chunks,
// compresses and writes them, so compression never delays draining the ring
// buffer. Snapshots and process facts become chunks in stream order; records
// the pipeline could not decode are not stored but counted in a loss chunk.
//
// Flush policy: an events chunk is written when it holds `chunk_bytes`, or
// `flush_interval` after its first record arrived, whichever comes first, so a
// recorder killed at any moment loses at most that window (plus chunks still
// queued, at most `max_queued_chunks`). If the disk cannot keep up, the
// handler waits for queue space: the kernel ring buffer then fills and the
// kernel's drops are counted as `lost` events, never lost silently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/event_sink.h"
#include "pipeline/event_tally.h"
#include "record/chunk_file_writer.h"
#include "record/format.h"

namespace pagetrace::recording {

struct RecordingProgress {
    uint64_t records = 0;     // event records received
    uint64_t lost = 0;        // events the kernel dropped, as written so far
    uint64_t file_bytes = 0;  // bytes written to the file
};

struct RecordWriterOptions {
    size_t chunk_bytes = 1u << 20;
    std::chrono::milliseconds flush_interval{1000};
    size_t max_queued_chunks = 8;
    // Called from the writer thread every progress_interval (if set).
    std::function<void(const RecordingProgress&)> progress;
    std::chrono::milliseconds progress_interval{500};
    // Called once from the writer thread when writing fails, so the owner can
    // stop tracing even if no further event arrives.
    std::function<void()> on_failure;
};

struct RecordingTotals {
    EventTally events;       // what was written
    uint64_t malformed = 0;  // records received that could not be decoded, not stored
    uint64_t chunks = 0;
    uint64_t file_bytes = 0;
};

class RecordWriter : public EventSink {
public:
    // The header must already be written to `file`.
    RecordWriter(ChunkFileWriter file, RecordWriterOptions options);
    RecordWriter(const RecordWriter&) = delete;
    RecordWriter& operator=(const RecordWriter&) = delete;
    // Writes what is pending, without a footer, if finish() was not called.
    ~RecordWriter() override;

    SinkInterest interest() const override {
        return {.snapshots = true, .processes = true, .images = true};
    }
    void on_event(const Event&, std::span<const std::byte> raw) override { add_record(raw); }
    void on_undecodable(std::span<const std::byte> raw, const DecodeError& why) override;
    void on_snapshot(const PagemapSnapshot& snapshot) override { add_pagemap(snapshot); }
    void on_process(const ProcessSnapshot& process) override { add_process(process); }
    void on_images(const ProcessImages& images) override { add_images(images); }

    // Appends one raw record (from one producer thread). Throws Error once
    // writing has failed.
    void add_record(std::span<const std::byte> record);
    // Queues a process or pagemap chunk(s) after the events received so far.
    void add_process(const ProcessSnapshot& snapshot);
    void add_pagemap(const PagemapSnapshot& snapshot);
    void add_images(const ProcessImages& images);
    // Symbols captured while recording (symbols/code_facts.h); where they
    // land does not matter, replay reads them first.
    void add_symbols(const CapturedSymbols& symbols);

    // Writes everything pending, then the footer with the totals filled in,
    // syncs and closes the file. Throws Error if any write failed.
    RecordingTotals finish(Footer footer);
    // Writes what is pending without a footer: the recording ended by an
    // error and says so by not being finalized. Never throws.
    void abandon();

private:
    struct Item {
        ChunkType type;
        Bytes payload;
    };

    void run();
    void add_after_events(ChunkType type, Bytes payload);
    void hand_off_locked(std::unique_lock<std::mutex>& lock, bool may_wait);
    void write_item(Item& item);
    void stop_thread();

    ChunkFileWriter file_;
    RecordWriterOptions options_;

    std::mutex mutex_;
    std::condition_variable work_cv_;   // the writer thread waits for work
    std::condition_variable space_cv_;  // the producer waits for queue space
    Bytes active_;                      // events of the chunk being filled
    std::vector<Item> after_active_;    // chunks to write after active_
    std::chrono::steady_clock::time_point active_since_;
    std::deque<Item> queue_;
    size_t queued_events_ = 0;
    std::vector<Bytes> spare_;
    uint64_t records_in_ = 0;
    uint64_t malformed_ = 0;
    uint64_t malformed_reported_ = 0;
    bool stopping_ = false;
    std::string failure_;
    std::atomic<bool> failed_{false};

    // Owned by the writer thread until it is joined.
    RecordingTotals totals_;
    uint64_t lost_written_ = 0;

    std::thread thread_;
};

}  // namespace pagetrace::recording
