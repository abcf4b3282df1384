#include "record/event_columns.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "decode/framing.h"

namespace pagetrace::recording {
namespace {

constexpr size_t kFixedFields = 12;     // stride, main_count, other_count
constexpr size_t kMinMainRecords = 64;  // fewer: not worth a second layout
constexpr size_t kRowBlock = 128;       // rows per transposition block (L1-sized)

// Copies a rows × cols matrix of bytes from one layout to another: element
// (r, c) is at src[r * src_row + c * src_col] and goes to dst[r * dst_row +
// c * dst_col]. Callers pass at most kRowBlock rows, so that the side read
// with a stride stays in cache while the other is written in order.
void copy_matrix(const std::byte* src, size_t src_row, size_t src_col, std::byte* dst,
                 size_t dst_row, size_t dst_col, size_t rows, size_t cols) {
    for (size_t c = 0; c < cols; ++c) {
        std::byte* to = dst + c * dst_col;
        const std::byte* from = src + c * src_col;
        for (size_t r = 0; r < rows; ++r) to[r * dst_row] = from[r * src_row];
    }
}

struct SizeCensus {
    size_t stride = 0;      // the record size holding most of the bytes
    size_t main_count = 0;  // records of that size
    size_t records = 0;     // records in all
};

// How the payload's records are sized; nullopt if it is not a sequence of
// whole records.
std::optional<SizeCensus> census(std::span<const std::byte> payload) {
    std::vector<std::pair<size_t, size_t>> counts;  // (size, records): few distinct sizes
    SizeCensus out;
    EventRecords walk(payload);
    std::span<const std::byte> rec;
    while (walk.next(rec)) {
        auto it = std::find_if(counts.begin(), counts.end(),
                               [&](const auto& c) { return c.first == rec.size(); });
        if (it == counts.end()) {
            counts.emplace_back(rec.size(), 1);
        } else {
            ++it->second;
        }
        ++out.records;
    }
    if (!walk.error().empty()) return std::nullopt;
    for (const auto& [size, count] : counts) {
        if (size * count > out.stride * out.main_count) {
            out.stride = size;
            out.main_count = count;
        }
    }
    return out;
}

}  // namespace

bool to_event_columns(std::span<const std::byte> records, Bytes& out) {
    const std::optional<SizeCensus> sizes = census(records);
    if (!sizes || sizes->main_count < kMinMainRecords) return false;
    const size_t stride = sizes->stride, main_count = sizes->main_count;
    // Columns pay when most bytes are in them; a chunk of mixed sizes would
    // only gain a position table.
    if (stride * main_count * 4 < records.size() * 3) return false;
    const size_t other_count = sizes->records - main_count;
    out.resize(kFixedFields + 4 * other_count + records.size());
    const uint32_t fixed[3] = {static_cast<uint32_t>(stride), static_cast<uint32_t>(main_count),
                               static_cast<uint32_t>(other_count)};
    std::memcpy(out.data(), fixed, sizeof(fixed));
    std::byte* positions = out.data() + kFixedFields;
    std::byte* others = positions + 4 * other_count;
    std::byte* columns = out.data() + out.size() - stride * main_count;

    // Other records go to their stream; each run of main records is
    // transposed into the columns straight from the payload.
    const std::byte* run = nullptr;
    size_t run_rows = 0, rows_done = 0;
    auto end_run = [&] {
        for (size_t b = 0; b < run_rows; b += kRowBlock) {
            copy_matrix(run + b * stride, stride, 1, columns + rows_done + b, 1, main_count,
                        std::min(kRowBlock, run_rows - b), stride);
        }
        rows_done += run_rows;
        run_rows = 0;
    };
    uint32_t index = 0;
    EventRecords walk(records);
    std::span<const std::byte> rec;
    for (; walk.next(rec); ++index) {
        if (rec.size() == stride) {
            if (run_rows++ == 0) run = rec.data();
            continue;
        }
        end_run();
        std::memcpy(positions, &index, 4);
        positions += 4;
        std::memcpy(others, rec.data(), rec.size());
        others += rec.size();
    }
    end_run();
    return true;
}

std::optional<std::string> from_event_columns(std::span<const std::byte> columns, Bytes& out) {
    ByteReader in(columns);
    uint32_t stride = 0, main_count = 0, other_count = 0;
    if (!in.get(stride) || !in.get(main_count) || !in.get(other_count)) {
        return fmt::format("columnar events payload of {} bytes is shorter than its header",
                           columns.size());
    }
    if (stride < sizeof(pt_event_header) || stride > UINT16_MAX) {
        return fmt::format("columnar events payload has a record size of {}", stride);
    }
    std::span<const std::byte> position_bytes, cols;
    if (uint64_t{4} * other_count + uint64_t{stride} * main_count > in.remaining() ||
        !in.get_span(4 * size_t{other_count}, position_bytes)) {
        return fmt::format("columnar events payload of {} bytes cannot hold {} records of {} "
                           "bytes and {} others",
                           columns.size(), main_count, stride, other_count);
    }
    std::span<const std::byte> other_bytes;
    in.get_span(in.remaining() - size_t{stride} * main_count, other_bytes);
    in.get_span(size_t{stride} * main_count, cols);
    out.resize(other_bytes.size() + cols.size());
    std::byte* dst = out.data();

    // Every record in the columns must have the columns' size: its size field
    // is two of the columns, checked once.
    const size_t size_at = offsetof(pt_event_header, size);
    for (size_t r = 0; r < main_count; ++r) {
        const auto lo = static_cast<uint16_t>(cols[size_at * main_count + r]);
        const auto hi = static_cast<uint16_t>(cols[(size_at + 1) * main_count + r]);
        if (static_cast<uint32_t>(lo | hi << 8) != stride) {
            return fmt::format("columnar events payload: record {} of the columns does not have "
                               "their size ({} bytes)",
                               r, stride);
        }
    }
    // The main records up to each other record's position, then that record.
    size_t row = 0;
    auto main_rows = [&](size_t n) {
        for (size_t b = 0; b < n; b += kRowBlock) {
            copy_matrix(cols.data() + row + b, 1, main_count, dst + b * stride, stride, 1,
                        std::min(kRowBlock, n - b), stride);
        }
        dst += n * stride;
        row += n;
    };
    ByteReader positions(position_bytes);
    EventRecords others(other_bytes);
    uint64_t next = 0;  // the record index the rows have reached
    for (uint32_t k = 0; k < other_count; ++k) {
        uint32_t p = 0;
        positions.get(p);
        if (p < next || p - next > main_count - row) {
            return fmt::format("columnar events payload: position {} out of order", k);
        }
        main_rows(p - next);
        std::span<const std::byte> rec;
        if (!others.next(rec) || rec.size() == stride) {
            return fmt::format("columnar events payload: other record {} is cut short or has "
                               "the size of the columns",
                               k);
        }
        std::memcpy(dst, rec.data(), rec.size());
        dst += rec.size();
        next = p + 1;
    }
    main_rows(main_count - row);
    std::span<const std::byte> extra;
    if (others.next(extra) || !others.error().empty() || dst != out.data() + out.size()) {
        return "columnar events payload: its streams do not add up to its record counts";
    }
    return std::nullopt;
}

}  // namespace pagetrace::recording
