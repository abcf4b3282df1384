#include "timeline/address_space.h"

namespace pagetrace {

bool MappedSeries::note(uint64_t ts_ns, uint64_t bytes) {
    if (changes_ && bytes == latest_.bytes) return false;
    latest_ = {ts_ns, bytes};
    if (changes_++ % stride_ == 0) {
        points_.push_back(latest_);
        if (points_.size() >= kMax) {
            size_t kept = 0;
            for (size_t i = 0; i < points_.size(); i += 2) points_[kept++] = points_[i];
            points_.resize(kept);
            stride_ *= 2;
        }
    }
    return true;
}

std::vector<MappedPoint> MappedSeries::points() const {
    std::vector<MappedPoint> out = points_;
    if (changes_ && (out.empty() || out.back().ts_ns != latest_.ts_ns ||
                     out.back().bytes != latest_.bytes)) {
        out.push_back(latest_);
    }
    return out;
}

uint64_t AddressSpace::unmap(uint64_t start, uint64_t end) {
    for (const MappingPiece& piece : mappings_.remove(start, end)) {
        if (piece.from_event()) untouched_unmapped_ += untouched_pages(piece);
    }
    if (!away_.empty()) {
        away_.erase(away_.lower_bound(geometry_.vpn(start)), away_.lower_bound(geometry_.vpn(end)));
    }
    uint64_t resident = 0;
    pages_.erase_range(geometry_.vpn(start), geometry_.vpn(end),
                       [&](uint64_t, const PageRecord& rec) {
                           if (rec.has(PageRecord::kResident)) ++resident;
                       });
    return resident;
}

AddressSpace::Move AddressSpace::take(uint64_t from, uint64_t len, uint64_t to, bool keep_mapping) {
    Move move;
    move.from = from;
    move.to = to;
    move.pieces = mappings_.overlapping(from, from + len);
    const uint64_t first = geometry_.vpn(from);
    move.records = pages_.extract_range(first, first + geometry_.vpn(len));
    const auto away_end = away_.lower_bound(first + geometry_.vpn(len));
    for (auto it = away_.lower_bound(first); it != away_end;) {
        move.away.emplace_back(*it);
        it = away_.erase(it);
    }
    if (!keep_mapping) mappings_.remove(from, from + len);
    return move;
}

void AddressSpace::put(const Move& move) {
    for (MappingPiece piece : move.pieces) {
        piece.start = piece.start - move.from + move.to;
        piece.end = piece.end - move.from + move.to;
        mappings_.insert(piece);
    }
    const uint64_t from_vpn = geometry_.vpn(move.from);
    const uint64_t to_vpn = geometry_.vpn(move.to);
    for (const auto& [vpn, rec] : move.records) pages_.get(vpn - from_vpn + to_vpn) = rec;
    for (const auto& [vpn, since] : move.away) away_[vpn - from_vpn + to_vpn] = since;
}

std::optional<uint64_t> AddressSpace::take_away(uint64_t vpn) {
    auto it = away_.find(vpn);
    if (it == away_.end()) return std::nullopt;
    const uint64_t since = it->second;
    away_.erase(it);
    return since;
}

std::vector<MappingPiece> AddressSpace::inherit(const AddressSpace& parent, uint64_t ts_ns) {
    std::vector<MappingPiece> added;
    for (const auto& [begin, piece] : parent.mappings_.pieces()) {
        for (const auto& [lo, hi] : mappings_.holes(piece.start, piece.end)) {
            MappingPiece inherited = piece;
            inherited.start = lo;
            inherited.end = hi;
            inherited.mapped_ns = ts_ns;
            inherited.cause = MapCause::Fork;
            mappings_.insert(inherited);
            added.push_back(inherited);
        }
    }
    if (parent.heap.known && !heap.known) heap = parent.heap;
    return added;
}

uint64_t AddressSpace::untouched_pages(const MappingPiece& piece) const {
    const uint64_t first = geometry_.vpn(piece.start);
    const uint64_t end = geometry_.vpn(piece.end);
    const uint64_t used =
        pages_.count_with(first, end, PageRecord::kTouched | PageRecord::kSeenPresent);
    return end - first > used ? end - first - used : 0;
}

uint64_t AddressSpace::untouched_pages() const {
    uint64_t pages = untouched_unmapped_;
    for (const auto& [begin, piece] : mappings_.pieces()) {
        if (piece.from_event()) pages += untouched_pages(piece);
    }
    return pages;
}

void AddressSpace::clear() {
    mappings_.clear();
    pages_.clear();
    away_.clear();
}

}  // namespace pagetrace
