// Events chunks stored by columns (format 1.3, chunk type EventColumns).
//
// Most of an events chunk is records of one size (faults, during a storm),
// and most of their bytes change little from one record to the next: the
// same pid, tid, comm, ip, an address one page further, a time a few hundred
// nanoseconds later. Stored record after record, each record still costs
// zstd a few bytes of matches; stored column by column (byte 0 of every such
// record, then byte 1, ...) the columns are long runs and near-runs, and the
// same level compresses faster and about 40% smaller.
//
// The columnar payload, little-endian:
//   u32 stride        the record size that is stored by columns
//   u32 main_count    records of that size
//   u32 other_count   records of any other size
//   u32 positions[other_count]  where each of those is in the chunk's record
//                     order (0-based, strictly increasing)
//   the other records, concatenated, in order
//   stride columns of main_count bytes: byte c of every main record, in order
// Records keep their order: reading merges the two streams by `positions`.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "record/bytes.h"

namespace pagetrace::recording {

// Writes the columnar form of a payload of whole records (walked as
// decode/framing.h's EventRecords does) into `out`. Returns false,
// leaving `out` unspecified, when the columns would not pay: too few records
// of one size, or a payload that is not a sequence of whole records.
bool to_event_columns(std::span<const std::byte> records, Bytes& out);

// Rebuilds the records from their columnar form into `out` (replacing its
// contents). Returns the problem if the columnar payload is inconsistent.
std::optional<std::string> from_event_columns(std::span<const std::byte> columns, Bytes& out);

}  // namespace pagetrace::recording
