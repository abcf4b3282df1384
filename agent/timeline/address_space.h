// The address space of one process instance as the timeline models it: its
// mappings (MappingSet), the compact records of its pages (PageTable), its heap
// (brk) and the series of its mapped bytes. Its operations are the ones events
// ask for (map, unmap, the move of an mremap, the copy of a fork) and keep the
// mappings and the page records consistent with each other; what they mean
// for page histories and summaries is the builder's to say.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "kernel/mm.h"
#include "timeline/mapping_set.h"
#include "timeline/page_table.h"
#include "timeline/process_summary.h"

namespace pagetrace {

// Mapped bytes after each change: every change until it holds
// ProcessSummary::kMaxMappedPoints points, then every second one of those, and
// from then on every second change, and so on, so that it stays evenly spread
// over the changes. The latest change is always reported.
class MappedSeries {
public:
    // Notes the total at ts if it differs from the last one noted (the first
    // always counts); true if it did.
    bool note(uint64_t ts_ns, uint64_t bytes);
    std::vector<MappedPoint> points() const;

private:
    static constexpr size_t kMax = ProcessSummary::kMaxMappedPoints;
    std::vector<MappedPoint> points_;
    MappedPoint latest_;
    uint64_t changes_ = 0;
    uint64_t stride_ = 1;
};

// The heap between the first break seen (or [heap] from a snapshot) and the
// current one, page-aligned.
struct Heap {
    bool known = false;
    uint64_t start = 0;
    uint64_t end = 0;
};

class AddressSpace {
public:
    AddressSpace(PageTableUsage* usage, kernel::PageGeometry geometry)
        : pages_(usage), geometry_(geometry) {}

    kernel::PageGeometry geometry() const { return geometry_; }
    const MappingSet& mappings() const { return mappings_; }
    PageTable& pages() { return pages_; }
    const PageTable& pages() const { return pages_; }
    uint64_t mapped_bytes() const { return mappings_.total_bytes(); }

    Heap heap;

    // Adds a mapping piece; its range must be free (unmap() it first).
    void map(const MappingPiece& piece) { mappings_.insert(piece); }
    // Removes the mappings and the page records of [start, end); returns how
    // many of those records were resident.
    uint64_t unmap(uint64_t start, uint64_t end);

    // The move of an mremap: the mapping pieces and page records of
    // [from, from + len), taken out by take() and put at `to` by put(). With
    // keep_mapping (MREMAP_DONTUNMAP) the old range stays mapped, empty.
    struct Move {
        uint64_t from = 0;
        uint64_t to = 0;
        std::vector<MappingPiece> pieces;
        std::vector<std::pair<uint64_t, PageRecord>> records;  // (vpn, record)
        std::vector<std::pair<uint64_t, uint64_t>> away;       // (vpn, since)
    };
    Move take(uint64_t from, uint64_t len, uint64_t to, bool keep_mapping);
    void put(const Move& move);

    // A fork: the parts of the parent's mappings this space does not cover,
    // mapped as inherited at ts (returned, in address order), and its heap.
    std::vector<MappingPiece> inherit(const AddressSpace& parent, uint64_t ts_ns);

    // Pages of mappings made by events (mmap, mremap, brk) never touched or
    // seen present: of those unmapped so far and of those mapped now.
    uint64_t untouched_pages() const;

    // Pages the kernel took away (swapped out, evicted) and since when: set
    // when it happens, taken back by the fault that returns the page (the
    // time, if it was away), dropped with the page when it is unmapped.
    void note_away(uint64_t vpn, uint64_t ts_ns) { away_[vpn] = ts_ns; }
    std::optional<uint64_t> take_away(uint64_t vpn);

    // Notes the mapped total at ts in the series; true if it changed.
    bool note_mapped(uint64_t ts_ns) { return series_.note(ts_ns, mappings_.total_bytes()); }
    std::vector<MappedPoint> mapped_series() const { return series_.points(); }

    void clear();

private:
    uint64_t untouched_pages(const MappingPiece& piece) const;

    MappingSet mappings_;
    PageTable pages_;
    kernel::PageGeometry geometry_;
    MappedSeries series_;
    std::map<uint64_t, uint64_t> away_;  // vpn -> since
    uint64_t untouched_unmapped_ = 0;  // pages
};

}  // namespace pagetrace
