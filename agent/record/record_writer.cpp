#include "record/record_writer.h"

#include <time.h>
#include <unistd.h>

#include <cstring>

#include "decode/framing.h"
#include "kernel/mm.h"
#include "util/clock.h"
#include "util/error.h"

namespace pagetrace::recording {

namespace {

// Room for the largest record (its size is a u16) past the chunk threshold,
// so appending never reallocates.
constexpr size_t kMaxRecordBytes = 65535;

}  // namespace

RecordWriter::RecordWriter(ChunkFileWriter file, RecordWriterOptions options)
    : file_(std::move(file)), options_(std::move(options)) {
    if (options_.chunk_bytes == 0) options_.chunk_bytes = 1;
    if (options_.max_queued_chunks == 0) options_.max_queued_chunks = 1;
    active_.reserve(options_.chunk_bytes + kMaxRecordBytes);
    totals_.file_bytes = file_.size();
    thread_ = std::thread([this] { run(); });
}

RecordWriter::~RecordWriter() { abandon(); }

void RecordWriter::add_record(std::span<const std::byte> record) {
    std::unique_lock lock(mutex_);
    if (failed_.load(std::memory_order_relaxed)) throw Error(failure_);
    const auto header = peek_header(record);
    if (!header) {
        ++malformed_;
        return;
    }
    if (active_.empty()) active_since_ = std::chrono::steady_clock::now();
    active_.insert(active_.end(), record.begin(), record.begin() + header->size);
    ++records_in_;
    if (active_.size() >= options_.chunk_bytes) hand_off_locked(lock, true);
}

void RecordWriter::on_undecodable(std::span<const std::byte>, const DecodeError&) {
    std::unique_lock lock(mutex_);
    ++malformed_;
}

void RecordWriter::add_process(const ProcessSnapshot& snapshot) {
    add_after_events(ChunkType::Process, encode_process(snapshot));
}

void RecordWriter::add_images(const ProcessImages& images) {
    add_after_events(ChunkType::Images, encode_images(images));
}

void RecordWriter::add_symbols(const CapturedSymbols& symbols) {
    add_after_events(ChunkType::Symbols, encode_symbols(symbols));
}

void RecordWriter::add_pagemap(const PagemapSnapshot& snapshot) {
    const auto page_size = static_cast<uint32_t>(kernel::PageGeometry::of_system().size());
    for (auto& part : encode_pagemap(snapshot, page_size)) {
        add_after_events(ChunkType::Pagemap, std::move(part));
    }
    if (auto notes = encode_pagemap_notes(snapshot)) {
        add_after_events(ChunkType::PagemapNotes, std::move(*notes));
    }
}

// A chunk that must follow exactly the events received so far: the chunk
// being filled is closed first, so the file keeps the stream's order (a
// snapshot never lands after events that came later than it).
void RecordWriter::add_after_events(ChunkType type, Bytes payload) {
    std::unique_lock lock(mutex_);
    if (failed_.load(std::memory_order_relaxed)) throw Error(failure_);
    after_active_.push_back({type, std::move(payload)});
    hand_off_locked(lock, true);
}

// Moves the chunk being filled (and what waits for it) to the write queue.
// With may_wait, first waits while the queue is full (backpressure).
void RecordWriter::hand_off_locked(std::unique_lock<std::mutex>& lock, bool may_wait) {
    if (may_wait) {
        space_cv_.wait(lock, [&] {
            return queued_events_ < options_.max_queued_chunks ||
                   failed_.load(std::memory_order_relaxed);
        });
        if (failed_.load(std::memory_order_relaxed)) throw Error(failure_);
    }
    if (!active_.empty()) {
        Bytes next;
        if (!spare_.empty()) {
            next = std::move(spare_.back());
            spare_.pop_back();
        } else {
            next.reserve(options_.chunk_bytes + kMaxRecordBytes);
        }
        queue_.push_back({ChunkType::Events, std::move(active_)});
        active_ = std::move(next);
        ++queued_events_;
    }
    for (auto& item : after_active_) queue_.push_back(std::move(item));
    after_active_.clear();
    if (malformed_ > malformed_reported_) {
        LossRecord loss;
        loss.ts_ns = monotonic_ns();
        loss.count = malformed_ - malformed_reported_;
        loss.reason = LossReason::MalformedRecord;
        loss.detail = "records from the ring buffer that could not be decoded";
        malformed_reported_ = malformed_;
        queue_.push_back({ChunkType::Loss, encode_loss(loss)});
    }
    work_cv_.notify_one();
}

void RecordWriter::write_item(Item& item) {
    if (item.type == ChunkType::Events) totals_.events.add_payload(item.payload);
    file_.write_chunk(item.type, item.payload);
    totals_.file_bytes = file_.size();
    lost_written_ = totals_.events.lost;
}

void RecordWriter::run() {
    using Clock = std::chrono::steady_clock;
    std::unique_lock lock(mutex_);
    auto next_progress = Clock::now() + options_.progress_interval;
    while (true) {
        const auto now = Clock::now();
        if (queue_.empty() && !active_.empty() && now - active_since_ >= options_.flush_interval) {
            hand_off_locked(lock, false);
        }
        if (!queue_.empty()) {
            Item item = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            std::string error;
            try {
                write_item(item);
            } catch (const std::exception& e) {
                error = e.what();
            }
            lock.lock();
            if (item.type == ChunkType::Events) {
                --queued_events_;
                item.payload.clear();
                spare_.push_back(std::move(item.payload));
            }
            if (!error.empty()) {
                failure_ = error;
                failed_.store(true, std::memory_order_relaxed);
                queue_.clear();
                queued_events_ = 0;
                space_cv_.notify_all();
                lock.unlock();
                if (options_.on_failure) options_.on_failure();
                return;
            }
            space_cv_.notify_all();
            continue;
        }
        if (stopping_) return;
        if (options_.progress && now >= next_progress) {
            const RecordingProgress progress{records_in_, lost_written_, totals_.file_bytes};
            lock.unlock();
            options_.progress(progress);
            lock.lock();
            next_progress = now + options_.progress_interval;
            continue;
        }
        auto deadline = now + options_.flush_interval;
        if (!active_.empty()) deadline = std::min(deadline, active_since_ + options_.flush_interval);
        if (options_.progress) deadline = std::min(deadline, next_progress);
        work_cv_.wait_until(lock, deadline);
    }
}

void RecordWriter::stop_thread() {
    if (!thread_.joinable()) return;
    {
        std::unique_lock lock(mutex_);
        if (!failed_.load(std::memory_order_relaxed)) hand_off_locked(lock, false);
        stopping_ = true;
        work_cv_.notify_one();
    }
    thread_.join();
}

RecordingTotals RecordWriter::finish(Footer footer) {
    stop_thread();
    if (failed_.load(std::memory_order_relaxed)) throw Error(failure_);
    const EventTally& events = totals_.events;
    footer.records = events.records;
    footer.lost = events.lost;
    footer.event_bytes = events.event_bytes;
    footer.chunks = file_.chunks();
    footer.per_type.clear();
    for (size_t t = 0; t < events.per_type.size(); ++t) {
        if (events.per_type[t]) footer.per_type.emplace_back(static_cast<uint16_t>(t), events.per_type[t]);
    }
    file_.write_chunk(ChunkType::Footer, encode_footer(footer));
    file_.sync();
    file_.close();
    totals_.chunks = file_.chunks();
    totals_.file_bytes = file_.size();
    totals_.malformed = malformed_;
    return totals_;
}

void RecordWriter::abandon() {
    try {
        stop_thread();
        file_.close();
    } catch (...) {
        // The file is consistent up to its last complete chunk either way.
    }
}

}  // namespace pagetrace::recording
