#include "record/event_columns.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace pagetrace::recording {
namespace {

constexpr size_t kFixedFields = 12;     // stride, main_count, other_count
constexpr size_t kMinRecord = 4;        // u16 type, u16 size
constexpr size_t kMinMainRecords = 64;  // fewer: not worth a second layout
constexpr size_t kRowBlock = 128;       // rows per transposition block (L1-sized)

uint16_t record_size(const std::byte* p) {
    uint16_t size = 0;
    std::memcpy(&size, p + 2, sizeof(size));
    return size;
}

uint32_t u32_at(std::span<const std::byte> bytes, size_t offset) {
    uint32_t v = 0;
    std::memcpy(&v, bytes.data() + offset, sizeof(v));
    return v;
}

// The record size holding most of the payload's bytes, or 0 if the payload is
// not a sequence of whole records.
std::pair<size_t, size_t> dominant_size(std::span<const std::byte> records) {
    std::vector<std::pair<uint16_t, size_t>> counts;  // few distinct sizes
    size_t at = 0;
    while (at < records.size()) {
        if (records.size() - at < kMinRecord) return {0, 0};
        const uint16_t size = record_size(records.data() + at);
        if (size < kMinRecord || size > records.size() - at) return {0, 0};
        auto it = std::find_if(counts.begin(), counts.end(),
                               [size](const auto& c) { return c.first == size; });
        if (it == counts.end()) {
            counts.emplace_back(size, 1);
        } else {
            ++it->second;
        }
        at += size;
    }
    size_t best = 0, best_count = 0;
    for (const auto& [size, count] : counts) {
        if (size * count > best * best_count) {
            best = size;
            best_count = count;
        }
    }
    return {best, best_count};
}

// Rows [0, n) of a row-major matrix starting at `rows` into rows [at, at + n)
// of the column-major one at `columns` (row_count rows), a block of rows at a
// time so that the rows read stay in cache while their columns are written.
void transpose_rows(const std::byte* rows, size_t n, size_t stride, std::byte* columns,
                    size_t row_count, size_t at) {
    for (size_t b = 0; b < n; b += kRowBlock) {
        const size_t m = std::min(kRowBlock, n - b);
        for (size_t c = 0; c < stride; ++c) {
            std::byte* dst = columns + c * row_count + at + b;
            const std::byte* src = rows + b * stride + c;
            for (size_t r = 0; r < m; ++r) dst[r] = src[r * stride];
        }
    }
}

}  // namespace

bool to_event_columns(std::span<const std::byte> records, Bytes& out) {
    const auto [stride, main_count] = dominant_size(records);
    if (stride == 0 || main_count < kMinMainRecords) return false;
    // Columns pay when most bytes are in them; a chunk of mixed sizes would
    // only gain a position table.
    if (stride * main_count * 4 < records.size() * 3) return false;
    const size_t total_records = [&] {
        size_t n = 0;
        for (size_t at = 0; at < records.size(); at += record_size(records.data() + at)) ++n;
        return n;
    }();
    const size_t other_count = total_records - main_count;
    const size_t other_bytes = records.size() - stride * main_count;
    out.resize(kFixedFields + 4 * other_count + records.size());
    std::byte* p = out.data();
    const uint32_t fixed[3] = {static_cast<uint32_t>(stride), static_cast<uint32_t>(main_count),
                               static_cast<uint32_t>(other_count)};
    std::memcpy(p, fixed, sizeof(fixed));
    std::byte* positions = p + kFixedFields;
    std::byte* others = positions + 4 * other_count;
    std::byte* columns = others + other_bytes;

    // One pass: other records go to their stream, each run of main records
    // is transposed into the columns straight from the payload.
    size_t at = 0, rows_done = 0;
    uint32_t index = 0;
    while (at < records.size()) {
        const std::byte* rec = records.data() + at;
        const uint16_t size = record_size(rec);
        if (size == stride) {
            size_t run = 1;
            while (at + (run + 1) * stride <= records.size() &&
                   record_size(rec + run * stride) == stride) {
                ++run;
            }
            transpose_rows(rec, run, stride, columns, main_count, rows_done);
            rows_done += run;
            at += run * stride;
            index += static_cast<uint32_t>(run);
            continue;
        }
        std::memcpy(positions, &index, 4);
        positions += 4;
        std::memcpy(others, rec, size);
        others += size;
        at += size;
        ++index;
    }
    return true;
}

std::optional<std::string> from_event_columns(std::span<const std::byte> columns, Bytes& out) {
    if (columns.size() < kFixedFields) {
        return fmt::format("columnar events payload of {} bytes is shorter than its header",
                           columns.size());
    }
    const uint64_t stride = u32_at(columns, 0);
    const uint64_t main_count = u32_at(columns, 4);
    const uint64_t other_count = u32_at(columns, 8);
    if (stride < kMinRecord || stride > UINT16_MAX) {
        return fmt::format("columnar events payload has a record size of {}", stride);
    }
    const uint64_t fixed = kFixedFields + 4 * other_count + stride * main_count;
    if (fixed > columns.size()) {
        return fmt::format("columnar events payload of {} bytes cannot hold {} records of {} "
                           "bytes and {} others",
                           columns.size(), main_count, stride, other_count);
    }
    const std::byte* positions = columns.data() + kFixedFields;
    const std::byte* others = positions + 4 * other_count;
    const std::byte* others_end = columns.data() + columns.size() - stride * main_count;
    const std::byte* cols = others_end;
    out.resize(columns.size() - kFixedFields - 4 * other_count);
    std::byte* dst = out.data();

    const uint64_t total = main_count + other_count;
    uint64_t next_other = other_count ? u32_at(columns, kFixedFields) : total;
    uint64_t others_seen = 0, row = 0;
    std::byte block[kRowBlock * 256];  // rows of one block, stride at most 256 here
    const bool blocked = stride <= 256;
    uint64_t block_first = 0, block_rows = 0;
    for (uint64_t i = 0; i < total; ++i) {
        if (i == next_other) {
            if (others_end - others < static_cast<ptrdiff_t>(kMinRecord)) {
                return "columnar events payload: an other record is cut short";
            }
            const uint16_t size = record_size(others);
            if (size < kMinRecord || size == stride || size > others_end - others) {
                return fmt::format("columnar events payload: other record {} has a bad size {}",
                                   others_seen, size);
            }
            std::memcpy(dst, others, size);
            dst += size;
            others += size;
            ++others_seen;
            if (others_seen < other_count) {
                const uint64_t p = u32_at(columns, kFixedFields + 4 * others_seen);
                if (p <= next_other || p >= total) {
                    return fmt::format("columnar events payload: position {} out of order",
                                       others_seen);
                }
                next_other = p;
            } else {
                next_other = total;
            }
            continue;
        }
        if (row >= main_count) return "columnar events payload: more records than it declares";
        if (blocked) {
            if (row >= block_first + block_rows) {
                block_first = row;
                block_rows = std::min<uint64_t>(kRowBlock, main_count - row);
                for (uint64_t c = 0; c < stride; ++c) {
                    const std::byte* src = cols + c * main_count + block_first;
                    for (uint64_t r = 0; r < block_rows; ++r) block[r * stride + c] = src[r];
                }
            }
            std::memcpy(dst, block + (row - block_first) * stride, stride);
        } else {
            for (uint64_t c = 0; c < stride; ++c) dst[c] = cols[c * main_count + row];
        }
        if (record_size(dst) != stride) {
            return fmt::format("columnar events payload: record {} does not have the size of "
                               "its column ({} bytes)",
                               i, stride);
        }
        dst += stride;
        ++row;
    }
    if (others != others_end || row != main_count) {
        return "columnar events payload: its streams do not add up to its record counts";
    }
    return std::nullopt;
}

}  // namespace pagetrace::recording
