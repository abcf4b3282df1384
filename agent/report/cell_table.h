// The report's heat cells: counts per (process, column, address granule) in a
// flat hash table of fixed capacity (open addressing, linear probing), so that
// counting a fault costs one probe into a plain array. It never grows: the
// collector coarsens its granules and rebuilds it before it fills.
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
        : max_cells_(max_cells), slots_(capacity_for(max_cells)), mask_(slots_.size() - 1) {}

    bool full() const { return size_ >= max_cells_; }
    void clear() {
        if (size_ == 0) return;
        for (Slot& slot : slots_) slot = Slot{};
        size_ = 0;
    }
    void swap(CellTable& other) noexcept {
        std::swap(max_cells_, other.max_cells_);
        std::swap(size_, other.size_);
        slots_.swap(other.slots_);
        std::swap(mask_, other.mask_);
    }
    size_t size() const { return size_; }

    // The cell of `key` (any value but kEmpty), made empty if new. References
    // stay valid until the table is destroyed; the caller checks full() first.
    HeatCell& at(uint64_t key) {
        size_t i = hash(key) & mask_;
        while (true) {
            Slot& slot = slots_[i];
            if (slot.key == key) return slot.cell;
            if (slot.key == kEmpty) {
                slot.key = key;
                ++size_;
                return slot.cell;
            }
            i = (i + 1) & mask_;
        }
    }

    template <typename F>
    void for_each(F&& f) const {
        for (const Slot& slot : slots_) {
            if (slot.key != kEmpty) f(slot.key, slot.cell);
        }
    }

    static constexpr uint64_t kEmpty = ~uint64_t{0};

private:
    struct Slot {
        uint64_t key = kEmpty;
        HeatCell cell;
    };
    static size_t capacity_for(size_t cells) {
        size_t n = 16;
        while (n < 2 * cells) n *= 2;
        return n;
    }
    static uint64_t hash(uint64_t key) {
        key ^= key >> 33;
        key *= 0xff51afd7ed558ccdULL;
        key ^= key >> 33;
        return key;
    }

    size_t max_cells_;
    size_t size_ = 0;
    std::vector<Slot> slots_;
    size_t mask_;
};

}  // namespace pagetrace
