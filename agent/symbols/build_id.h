// The GNU build-id of an ELF file: the NT_GNU_BUILD_ID note the linker writes
// (`ld --build-id`), which names the exact build of a binary. Found through the
// program headers (PT_NOTE segments) and, for files whose notes are not in a
// segment (some debug files), through the section headers (SHT_NOTE). 32- and
// 64-bit little-endian ELF. Nothing in the file is trusted: every offset and
// size is checked against the file before it is followed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

namespace pagetrace {

struct BuildIdResult {
    std::string build_id;  // raw bytes; empty when the file has none
    std::string problem;   // why it could not be read ("" if it was, or there is none)
};

// Reads `n` bytes at `offset` into `dst`; false if the file has fewer.
using ReadAt = std::function<bool(uint64_t offset, void* dst, size_t n)>;

// The build-id of the ELF file that `read` reads, of `file_size` bytes.
BuildIdResult parse_build_id(const ReadAt& read, uint64_t file_size);

// The same over bytes in memory (tests, fuzzing).
BuildIdResult parse_build_id(std::span<const std::byte> file);

// The build-id of an open file (pread; the offset of fd is not changed).
BuildIdResult read_build_id(int fd);

// The build-id of the file at `path`; problem names the path when it cannot be opened.
BuildIdResult read_build_id(const std::string& path);

}  // namespace pagetrace
