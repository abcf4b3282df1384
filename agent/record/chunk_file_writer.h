// Writes the header and the chunks of a recording to its file, synchronously.
// Each chunk (header and payload together) goes out in one write(), so a
// recorder killed at any moment leaves every chunk before it complete; a chunk
// cut short is recognised by its length and checksum. When a write fails
// (disk full, I/O error) the file is cut back to the end of the last complete
// chunk and an Error says so: the file stays consistent.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "record/bytes.h"
#include "record/compression.h"
#include "record/format.h"
#include "util/unique_fd.h"

namespace pagetrace::recording {

class ChunkFileWriter {
public:
    // compression_level: zstd level for payloads worth compressing; 0 stores
    // every payload raw.
    ChunkFileWriter(UniqueFd fd, std::string name, int compression_level);

    void write_header(const RecordingHeader& header);
    // Compresses `payload` when that makes it smaller, then writes the chunk.
    void write_chunk(ChunkType type, std::span<const std::byte> payload);
    // Any type number, stored raw: for tests of how readers treat types they
    // do not know.
    void write_raw_chunk(uint16_t type, std::span<const std::byte> payload);
    // fsync(): called once, when the recording is complete.
    void sync();
    void close();

    uint64_t size() const { return size_; }      // bytes of complete chunks
    uint64_t chunks() const { return chunks_; }  // chunks written (header excluded)
    const std::string& name() const { return name_; }

private:
    void write_frame(uint16_t type, uint16_t flags, std::span<const std::byte> stored,
                     size_t raw_size);
    void write_all(std::span<const std::byte> bytes);

    UniqueFd fd_;
    std::string name_;
    Compressor compressor_;
    bool compress_;
    Bytes frame_;
    Bytes packed_;
    Bytes columns_;  // an events payload by columns, before compression
    uint64_t size_ = 0;
    uint64_t chunks_ = 0;
};

}  // namespace pagetrace::recording
