// The mappings of one process as a set of disjoint page-aligned intervals, each
// remembering when and how it was mapped. Removing a range splits the intervals
// it cuts (a partial munmap); the set never merges neighbours, so a piece keeps
// the time of the call that created it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "timeline/page_event.h"

namespace pagetrace {

struct MappingPiece {
    uint64_t start = 0;  // page-aligned, [start, end)
    uint64_t end = 0;
    uint64_t mapped_ns = 0;  // when the creating call happened (snapshot time for snapshot pieces)
    uint32_t prot = 0;
    uint32_t flags = 0;
    MapCause cause = MapCause::Mmap;

    uint64_t bytes() const { return end - start; }
    // Made by an event we saw (mmap, mremap, brk): its time is when it was mapped.
    bool from_event() const {
        return cause == MapCause::Mmap || cause == MapCause::Mremap || cause == MapCause::Brk;
    }
};

class MappingSet {
public:
    // Removes [start, end) and returns the removed parts, clipped, in address order.
    std::vector<MappingPiece> remove(uint64_t start, uint64_t end);

    // Adds a piece. Its range must be free: remove() it first.
    void insert(const MappingPiece& piece);

    // The piece containing addr.
    const MappingPiece* find(uint64_t addr) const;

    // The parts of pieces overlapping [start, end), clipped, in address order.
    std::vector<MappingPiece> overlapping(uint64_t start, uint64_t end) const;

    // The parts of [start, end) no piece covers, in address order.
    std::vector<std::pair<uint64_t, uint64_t>> holes(uint64_t start, uint64_t end) const;

    const std::map<uint64_t, MappingPiece>& pieces() const { return by_start_; }
    uint64_t total_bytes() const { return total_bytes_; }
    bool empty() const { return by_start_.empty(); }
    void clear();

private:
    std::map<uint64_t, MappingPiece> by_start_;
    uint64_t total_bytes_ = 0;
};

}  // namespace pagetrace
