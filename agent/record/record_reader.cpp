#include "record/record_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "record/crc32c.h"
#include "record/event_columns.h"
#include "util/error.h"
#include "util/unique_fd.h"

namespace pagetrace::recording {

namespace {

constexpr size_t kReadBlock = 64 * 1024;

class FileSource final : public ByteSource {
public:
    FileSource(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
    size_t read(std::byte* dst, size_t n) override {
        while (true) {
            const ssize_t got = ::read(fd_.get(), dst, n);
            if (got >= 0) return static_cast<size_t>(got);
            if (errno != EINTR) throw Error(errno_message("reading " + path_, errno));
        }
    }

private:
    UniqueFd fd_;
    std::string path_;
};

class MemorySource final : public ByteSource {
public:
    explicit MemorySource(std::span<const std::byte> bytes) : bytes_(bytes) {}
    size_t read(std::byte* dst, size_t n) override {
        n = std::min(n, bytes_.size() - pos_);
        if (n) std::memcpy(dst, bytes_.data() + pos_, n);
        pos_ += n;
        return n;
    }

private:
    std::span<const std::byte> bytes_;
    size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> open_file_source(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        const int err = errno;
        if (err == EACCES) {
            throw Error(errno_message("cannot open " + path, err) +
                        " (recordings are created readable by their owner only: chmod or chown "
                        "the file to read it as another user)");
        }
        throw Error(errno_message("cannot open " + path, err));
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
        throw Error(path + " is a directory, not a recording");
    }
    return std::make_unique<FileSource>(std::move(fd), path);
}

std::unique_ptr<ByteSource> memory_source(std::span<const std::byte> bytes) {
    return std::make_unique<MemorySource>(bytes);
}

// --- buffer ---------------------------------------------------------------------

// Makes at least n unconsumed bytes available, unless the input ends first;
// returns how many are available.
size_t RecordingReader::fill(size_t n) {
    if (buf_.size() - pos_ >= n) return buf_.size() - pos_;
    if (pos_ > 0) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
        base_ += pos_;
        pos_ = 0;
    }
    while (buf_.size() < n && !eof_) {
        const size_t old = buf_.size();
        const size_t want = std::max(n - old, kReadBlock);
        buf_.resize(old + want);
        size_t got = 0;
        try {
            got = source_->read(buf_.data() + old, want);
        } catch (...) {
            buf_.resize(old);
            throw;
        }
        buf_.resize(old + got);
        if (got == 0) eof_ = true;
    }
    return buf_.size() - pos_;
}

std::span<const std::byte> RecordingReader::window(size_t n) const {
    return std::span<const std::byte>(buf_).subspan(pos_, std::min(n, buf_.size() - pos_));
}

void RecordingReader::consume(size_t n) { pos_ += std::min(n, buf_.size() - pos_); }

// --- header ---------------------------------------------------------------------

RecordingReader::RecordingReader(std::unique_ptr<ByteSource> source, std::string name,
                                 ReaderOptions options)
    : source_(std::move(source)), name_(std::move(name)), options_(options) {
    size_t want = 16;
    while (true) {
        const size_t have = fill(want);
        if (have == 0) {
            throw Error(name_ + " is empty: the recording was cut short before its header was "
                                "written",
                        kExitPartial);
        }
        HeaderResult r = decode_header(window(have), header_, options_.verify_checksums);
        if (r.status == HeaderStatus::Corrupt && options_.skip_damaged &&
            r.message.find("checksum") != std::string::npos) {
            damage_.push_back({0, 0, "header", r.message + "; read anyway (--force)"});
            r = decode_header(window(have), header_, false);
        }
        switch (r.status) {
        case HeaderStatus::Ok:
            consume(header_.header_size);
            return;
        case HeaderStatus::Truncated: {
            const size_t needed = std::max<size_t>(r.needed, 16);
            if (have >= needed || eof_) {
                throw Error(name_ + ": " + r.message +
                                " (the recording was cut short before its first chunk)",
                            kExitPartial);
            }
            want = needed;
            continue;
        }
        case HeaderStatus::NotRecording:
        case HeaderStatus::NewerMajor:
        case HeaderStatus::Corrupt:
            throw Error(name_ + ": " + r.message);
        }
    }
}

std::vector<std::string> RecordingReader::notes() const {
    std::vector<std::string> notes;
    if (header_.version_minor > kFormatMinor) {
        notes.push_back(fmt::format(
            "{} uses format {}.{}, newer than this pagetrace's {}.{}: what it adds is skipped",
            name_, header_.version_major, header_.version_minor, kFormatMajor, kFormatMinor));
    }
    if (header_.unknown_fields) {
        notes.push_back(fmt::format("{} header field(s) of a newer format skipped",
                                    header_.unknown_fields));
    }
    for (const auto& [type, count] : skipped_types_) {
        notes.push_back(fmt::format("skipped {} chunk(s) of {} that this pagetrace does not know "
                                    "(written by a newer version)",
                                    count, chunk_type_name(type)));
    }
    return notes;
}

// --- chunks ---------------------------------------------------------------------

void RecordingReader::stop(EndKind kind, std::string chunk_type, std::string message) {
    end_ = kind;
    end_offset_ = offset();
    end_chunk_type_ = std::move(chunk_type);
    end_message_ = std::move(message);
}

bool RecordingReader::chunk_at_is_sound() {
    if (fill(kChunkHeaderSize) < kChunkHeaderSize) return false;
    ChunkHeader h;
    if (decode_chunk_header(window(kChunkHeaderSize).first<kChunkHeaderSize>(), h,
                            options_.verify_checksums)) {
        return false;
    }
    const size_t total = kChunkHeaderSize + h.stored_size;
    // A sound header of a chunk cut short by the end of the file is taken as
    // the resume point: reading then reports the truncation there.
    if (fill(total) < total) return true;
    return !options_.verify_checksums ||
           crc32c(window(total).subspan(kChunkHeaderSize)) == h.payload_crc;
}

// Moves past the damaged chunk at the current offset to the next sound one:
// the next chunk marker followed by a header and payload whose checksums hold.
bool RecordingReader::resync() {
    consume(1);
    while (true) {
        const size_t have = fill(kChunkHeaderSize);
        if (have < kChunkMarker.size()) {
            consume(have);
            return false;
        }
        const auto w = window(have);
        const auto hit =
            std::search(w.begin(), w.end(), kChunkMarker.begin(), kChunkMarker.end(),
                        [](std::byte a, char b) { return a == static_cast<std::byte>(b); });
        if (hit == w.end()) {
            consume(have - (kChunkMarker.size() - 1));  // a marker may straddle the end
            continue;
        }
        consume(static_cast<size_t>(hit - w.begin()));
        if (chunk_at_is_sound()) return true;
        consume(1);
    }
}

bool RecordingReader::damaged(std::string chunk_type, std::string what) {
    const uint64_t at = offset();
    if (!options_.skip_damaged) {
        stop(EndKind::Corrupt, chunk_type,
             fmt::format("damaged chunk at byte {} ({}): {}", at, chunk_type, what));
        return false;
    }
    const bool resumed = resync();
    damage_.push_back({at, offset() - at, chunk_type, what});
    if (!resumed) {
        stop(EndKind::NotFinalized, "",
             fmt::format("no sound chunk after the damage at byte {}: the recording ends there",
                         at));
        end_offset_ = at;
    }
    return resumed;
}

// What the type field of a chunk header that failed its checks claims.
std::string RecordingReader::unverified_type() {
    const auto w = window(kChunkHeaderSize);
    if (w.size() < 6 || std::memcmp(w.data(), kChunkMarker.data(), kChunkMarker.size()) != 0) {
        return "not a chunk header";
    }
    uint16_t type = 0;
    std::memcpy(&type, w.data() + 4, sizeof(type));
    return "unverified header, type field says " + chunk_type_name(type);
}

bool RecordingReader::next(Chunk& out) {
    while (end_ == EndKind::Reading) {
        const uint64_t at = offset();
        if (footer_) {
            // The footer is the last chunk; anything after it is damage.
            if (fill(1) == 0) {
                stop(EndKind::Complete, "", "");
                return false;
            }
            if (!options_.skip_damaged) {
                stop(EndKind::Corrupt, "footer",
                     fmt::format("unexpected data at byte {}, after the footer", at));
                return false;
            }
            while (fill(kReadBlock) > 0) consume(kReadBlock);
            damage_.push_back({at, offset() - at, "footer", "unexpected data after the footer"});
            stop(EndKind::Complete, "", "");
            return false;
        }

        size_t have = fill(kChunkHeaderSize);
        if (have == 0) {
            stop(EndKind::NotFinalized, "",
                 fmt::format("the recording was not finalized (no footer): it ends at byte {}, "
                             "after its last complete chunk",
                             at));
            return false;
        }
        if (have < kChunkHeaderSize) {
            const size_t cmp = std::min(have, kChunkMarker.size());
            if (std::memcmp(window(cmp).data(), kChunkMarker.data(), cmp) == 0) {
                stop(EndKind::Truncated, "unknown",
                     fmt::format("the chunk at byte {} is cut short: {} of its {} header bytes "
                                 "present",
                                 at, have, kChunkHeaderSize));
                return false;
            }
            if (!damaged("not a chunk header",
                         fmt::format("{} trailing bytes that are not a chunk", have))) {
                return false;
            }
            continue;
        }

        ChunkHeader h;
        if (auto err = decode_chunk_header(window(kChunkHeaderSize).first<kChunkHeaderSize>(), h,
                                           options_.verify_checksums)) {
            if (!damaged(unverified_type(), *err)) return false;
            continue;
        }
        const std::string type_name = chunk_type_name(h.type);
        const size_t total = kChunkHeaderSize + h.stored_size;
        have = fill(total);
        if (have < total) {
            stop(EndKind::Truncated, type_name,
                 fmt::format("the {} chunk at byte {} is cut short: {} of its {} bytes present",
                             type_name, at, have, total));
            return false;
        }
        const auto stored = window(total).subspan(kChunkHeaderSize);
        if (options_.verify_checksums && crc32c(stored) != h.payload_crc) {
            if (!damaged(type_name, "payload checksum mismatch")) return false;
            continue;
        }
        if (options_.skim && (h.type == static_cast<uint16_t>(ChunkType::Events) ||
                              h.type == static_cast<uint16_t>(ChunkType::EventColumns) ||
                              h.type == static_cast<uint16_t>(ChunkType::Pagemap))) {
            ++chunks_;
            consume(total);
            continue;
        }
        if (!is_known_chunk_type(h.type)) {
            if (h.type & kChunkTypeCritical) {
                stop(EndKind::Corrupt, type_name,
                     fmt::format("the chunk at byte {} is of {}, which this pagetrace does not "
                                 "know and cannot skip: use a newer pagetrace",
                                 at, type_name));
                return false;
            }
            ++skipped_types_[h.type];
            ++chunks_;
            consume(total);
            continue;
        }
        std::span<const std::byte> payload = stored;
        if (h.flags & kChunkFlagZstd) {
            if (auto err = decompressor_.decompress(stored, h.raw_size, raw_)) {
                if (!damaged(type_name, *err)) return false;
                continue;
            }
            payload = raw_;
        }
        const bool columns = h.type == static_cast<uint16_t>(ChunkType::EventColumns);
        if (columns) {
            if (auto err = from_event_columns(payload, rows_)) {
                if (!damaged(type_name, *err)) return false;
                continue;
            }
            payload = rows_;
            h.type = static_cast<uint16_t>(ChunkType::Events);
            h.raw_size = static_cast<uint32_t>(rows_.size());
        }
        uint64_t records = 0;
        if (auto err = check_payload(h, payload, records)) {
            if (!damaged(type_name, *err)) return false;
            continue;
        }
        if (h.type == static_cast<uint16_t>(ChunkType::Footer)) {
            Footer f;
            decode_footer(payload, f);
            if (damage_.empty() && !options_.skim &&
                (f.records != records_ || f.chunks != chunks_)) {
                const std::string what = fmt::format(
                    "the footer counts {} records in {} chunks, but the file holds {} records in "
                    "{} chunks: chunks are missing",
                    f.records, f.chunks, records_, chunks_);
                if (!options_.skip_damaged) {
                    stop(EndKind::Corrupt, type_name,
                         fmt::format("footer at byte {}: {}", at, what));
                    return false;
                }
                damage_.push_back({at, 0, type_name, what});
            }
            footer_ = std::move(f);
        }
        records_ += records;
        ++chunks_;
        consume(total);
        out.offset = at;
        out.header = h;
        out.payload = payload;
        out.columns = columns;
        return true;
    }
    return false;
}

std::optional<std::string> RecordingReader::check_payload(const ChunkHeader& h,
                                                          std::span<const std::byte> payload,
                                                          uint64_t& records_out) {
    switch (static_cast<ChunkType>(h.type)) {
    case ChunkType::Events: {
        EventRecords records(payload);
        std::span<const std::byte> rec;
        uint64_t n = 0;
        while (records.next(rec)) ++n;
        if (!records.error().empty()) return records.error();
        records_out = n;
        return std::nullopt;
    }
    case ChunkType::Process: {
        ProcessSnapshot s;
        return decode_process(payload, s);
    }
    case ChunkType::Pagemap: {
        PagemapPart part;
        return decode_pagemap(payload, part);
    }
    case ChunkType::Loss: {
        LossRecord l;
        return decode_loss(payload, l);
    }
    case ChunkType::PagemapNotes: {
        PagemapNotes n;
        return decode_pagemap_notes(payload, n);
    }
    case ChunkType::Footer: {
        Footer f;
        return decode_footer(payload, f);
    }
    case ChunkType::Images: {
        ProcessImages images;
        return decode_images(payload, images);
    }
    case ChunkType::Symbols: {
        CapturedSymbols symbols;
        return decode_symbols(payload, symbols);
    }
    case ChunkType::EventColumns: break;  // rebuilt and handed on as Events before this
    }
    return std::nullopt;
}

}  // namespace pagetrace::recording
