#include "timeline/mapping_set.h"

#include <algorithm>

namespace pagetrace {

namespace {

// The first piece that may overlap [start, ...): the one before start's
// position if it reaches past start.
std::map<uint64_t, MappingPiece>::const_iterator first_overlap(
    const std::map<uint64_t, MappingPiece>& by_start, uint64_t start) {
    auto it = by_start.upper_bound(start);
    if (it != by_start.begin()) {
        auto prev = std::prev(it);
        if (prev->second.end > start) return prev;
    }
    return it;
}

}  // namespace

std::vector<MappingPiece> MappingSet::remove(uint64_t start, uint64_t end) {
    std::vector<MappingPiece> removed;
    if (start >= end) return removed;
    auto it = by_start_.upper_bound(start);
    if (it != by_start_.begin()) {
        auto prev = std::prev(it);
        if (prev->second.end > start) it = prev;
    }
    while (it != by_start_.end() && it->second.start < end) {
        MappingPiece piece = it->second;
        it = by_start_.erase(it);
        total_bytes_ -= piece.bytes();
        if (piece.start < start) {  // keep the part before the range
            MappingPiece head = piece;
            head.end = start;
            by_start_.emplace(head.start, head);
            total_bytes_ += head.bytes();
        }
        if (piece.end > end) {  // keep the part after it
            MappingPiece tail = piece;
            tail.start = end;
            it = by_start_.emplace(tail.start, tail).first;
            total_bytes_ += tail.bytes();
            ++it;
        }
        MappingPiece cut = piece;
        cut.start = std::max(piece.start, start);
        cut.end = std::min(piece.end, end);
        removed.push_back(cut);
    }
    return removed;
}

void MappingSet::insert(const MappingPiece& piece) {
    if (piece.start >= piece.end) return;
    by_start_[piece.start] = piece;
    total_bytes_ += piece.bytes();
}

const MappingPiece* MappingSet::find(uint64_t addr) const {
    auto it = by_start_.upper_bound(addr);
    if (it == by_start_.begin()) return nullptr;
    --it;
    return addr < it->second.end ? &it->second : nullptr;
}

std::vector<MappingPiece> MappingSet::overlapping(uint64_t start, uint64_t end) const {
    std::vector<MappingPiece> out;
    for (auto it = first_overlap(by_start_, start); it != by_start_.end() && it->first < end; ++it) {
        MappingPiece piece = it->second;
        piece.start = std::max(piece.start, start);
        piece.end = std::min(piece.end, end);
        out.push_back(piece);
    }
    return out;
}

std::vector<std::pair<uint64_t, uint64_t>> MappingSet::holes(uint64_t start, uint64_t end) const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    uint64_t cursor = start;
    for (const MappingPiece& piece : overlapping(start, end)) {
        if (piece.start > cursor) out.emplace_back(cursor, piece.start);
        cursor = piece.end;
    }
    if (cursor < end) out.emplace_back(cursor, end);
    return out;
}

void MappingSet::clear() {
    by_start_.clear();
    total_bytes_ = 0;
}

}  // namespace pagetrace
