// The report's heat cells: counts per (process, column, address granule) in a
// flat hash table of fixed capacity (open addressing, linear probing), so that
// counting a fault costs one probe into a plain array. It never grows: the
// collector coarsens its granules and rebuilds it before it fills.
//
// Keys that differ only in their low kRunBits bits (neighbouring granules of
// one column) hash to neighbouring slots: faults sweep addresses, so a run of
// new cells, and a rebuild that merges neighbours, walk the array in order
// instead of missing the cache once per cell. The keys are an array of their
// own (probing reads eight to a cache line) and the counts another, zeroed when
// a key is put in, so that emptying the table only rewrites the keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "report/report_data.h"

namespace pagetrace {

struct HeatCell {
    uint32_t counts[kHeatLayerCount] = {};
};

class CellTable {
public:
    // Room for `max_cells` cells (twice as many slots).
    explicit CellTable(size_t max_cells)
        : max_cells_(max_cells),
          keys_(capacity_for(max_cells), kEmpty),
          cells_(keys_.size()),
          mask_(keys_.size() - 1) {}

    bool full() const { return size_ >= max_cells_; }
    void clear() {
        if (size_ == 0) return;
        for (uint64_t& key : keys_) key = kEmpty;
        size_ = 0;
    }
    void swap(CellTable& other) noexcept {
        std::swap(max_cells_, other.max_cells_);
        std::swap(size_, other.size_);
        keys_.swap(other.keys_);
        cells_.swap(other.cells_);
        std::swap(mask_, other.mask_);
    }
    size_t size() const { return size_; }

    // The cell of `key` (any value but kEmpty), made empty if new. References
    // stay valid until the table is destroyed; the caller checks full() first.
    HeatCell& at(uint64_t key) {
        size_t i = home(key);
        while (true) {
            const uint64_t here = keys_[i];
            if (here == key) return cells_[i];
            if (here == kEmpty) {
                keys_[i] = key;
                ++size_;
                cells_[i] = HeatCell{};
                return cells_[i];
            }
            i = (i + 1) & mask_;
        }
    }

    template <typename F>
    void for_each(F&& f) const {
        for (size_t i = 0; i < keys_.size(); ++i) {
            if (keys_[i] != kEmpty) f(keys_[i], cells_[i]);
        }
    }

    // for_each(), emptying the table as it goes (a rebuild reads every cell once).
    template <typename F>
    void drain(F&& f) {
        for (size_t i = 0; i < keys_.size(); ++i) {
            if (keys_[i] == kEmpty) continue;
            f(keys_[i], static_cast<const HeatCell&>(cells_[i]));
            keys_[i] = kEmpty;
        }
        size_ = 0;
    }

    static constexpr uint64_t kEmpty = ~uint64_t{0};

private:
    static size_t capacity_for(size_t cells) {
        size_t n = 16;
        while (n < 2 * cells) n *= 2;
        return n;
    }
    static constexpr unsigned kRunBits = 3;
    static uint64_t hash(uint64_t key) {
        key ^= key >> 33;
        key *= 0xff51afd7ed558ccdULL;
        key ^= key >> 33;
        return key;
    }
    size_t home(uint64_t key) const {
        const uint64_t run_mask = (uint64_t{1} << kRunBits) - 1;
        return static_cast<size_t>((hash(key >> kRunBits) << kRunBits) | (key & run_mask)) & mask_;
    }

    size_t max_cells_;
    size_t size_ = 0;
    std::vector<uint64_t> keys_;  // kEmpty: a free slot
    std::vector<HeatCell> cells_;  // the counts of keys_[i], if it holds a key
    size_t mask_;
};

}  // namespace pagetrace
