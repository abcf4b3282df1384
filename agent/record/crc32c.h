// CRC32C (Castagnoli), the checksum of every chunk and of the file header.
// Uses the SSE4.2 crc32 instruction when the CPU has it, else a table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pagetrace::recording {

// CRC32C of `data`, continuing from `crc` (the CRC of the bytes before it; 0
// to start). crc32c("123456789") == 0xe3069283.
uint32_t crc32c(std::span<const std::byte> data, uint32_t crc = 0);

// The portable table-driven implementation, exposed so tests can check that
// both paths agree.
uint32_t crc32c_portable(std::span<const std::byte> data, uint32_t crc = 0);

}  // namespace pagetrace::recording
