#include "record/chunk_file_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "record/crc32c.h"
#include "record/event_columns.h"
#include "util/error.h"

namespace pagetrace::recording {

ChunkFileWriter::ChunkFileWriter(UniqueFd fd, std::string name, int compression_level)
    : fd_(std::move(fd)),
      name_(std::move(name)),
      compressor_(compression_level > 0 ? compression_level : 1),
      compress_(compression_level > 0) {}

void ChunkFileWriter::write_header(const RecordingHeader& header) {
    const Bytes bytes = encode_header(header);
    write_all(bytes);
}

void ChunkFileWriter::write_chunk(ChunkType type, std::span<const std::byte> payload) {
    if (payload.size() > kMaxChunkPayload) {
        throw Error(fmt::format("internal error: a {} chunk of {} bytes exceeds the format's limit",
                                chunk_type_name(static_cast<uint16_t>(type)), payload.size()));
    }
    // Events go by columns when that form applies: it compresses faster and
    // smaller (record/event_columns.h).
    if (compress_ && type == ChunkType::Events && to_event_columns(payload, columns_) &&
        columns_.size() <= kMaxChunkPayload && compressor_.compress_if_smaller(columns_, packed_)) {
        write_frame(static_cast<uint16_t>(ChunkType::EventColumns), kChunkFlagZstd, packed_,
                    columns_.size());
        return;
    }
    if (compress_ && compressor_.compress_if_smaller(payload, packed_)) {
        write_frame(static_cast<uint16_t>(type), kChunkFlagZstd, packed_, payload.size());
    } else {
        write_frame(static_cast<uint16_t>(type), 0, payload, payload.size());
    }
}

void ChunkFileWriter::write_raw_chunk(uint16_t type, std::span<const std::byte> payload) {
    write_frame(type, 0, payload, payload.size());
}

void ChunkFileWriter::write_frame(uint16_t type, uint16_t flags, std::span<const std::byte> stored,
                                  size_t raw_size) {
    ChunkHeader h;
    h.type = type;
    h.flags = flags;
    h.stored_size = static_cast<uint32_t>(stored.size());
    h.raw_size = static_cast<uint32_t>(raw_size);
    h.payload_crc = crc32c(stored);
    frame_.resize(kChunkHeaderSize + stored.size());
    encode_chunk_header(h, std::span<std::byte, kChunkHeaderSize>(frame_.data(), kChunkHeaderSize));
    if (!stored.empty()) std::memcpy(frame_.data() + kChunkHeaderSize, stored.data(), stored.size());
    write_all(frame_);
    ++chunks_;
}

void ChunkFileWriter::write_all(std::span<const std::byte> bytes) {
    if (!fd_.valid()) throw Error("internal error: writing " + name_ + " after it was closed");
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd_.get(), bytes.data() + done, bytes.size() - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        const int err = n < 0 ? errno : EIO;
        // Cut off the partial chunk so the file ends with a complete one.
        std::string cut;
        if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
            cut = fmt::format(" (could not cut off the partial chunk: {}; readers stop there)",
                              std::strerror(errno));
        }
        throw Error(fmt::format("writing {}: {}; the recording stopped and is complete up to "
                                "byte {}{}",
                                name_, std::strerror(err), size_, cut));
    }
    size_ += bytes.size();
}

void ChunkFileWriter::sync() {
    if (fd_.valid() && ::fsync(fd_.get()) != 0 && errno != EINVAL && errno != EROFS) {
        throw Error(errno_message("writing " + name_ + " to disk (fsync)", errno));
    }
}

void ChunkFileWriter::close() {
    if (!fd_.valid()) return;
    if (::close(fd_.release()) != 0 && errno != EINTR) {
        throw Error(errno_message("closing " + name_, errno));
    }
}

}  // namespace pagetrace::recording
