// The compact per-page state of one process: a 16-byte record for every page
// the timeline knows about (touched, seen present by a snapshot, or migrated),
// kept in chunks of 64 consecutive pages so that dense regions cost little more
// than the records themselves (17.5 bytes of heap per page, measured by
// tests/unit/timeline_scale_test.cpp) and ranges (munmap, mremap, madvise) are
// walked in address order. Pages leave the table when they are unmapped: its size follows
// the process's known pages, not the length of the recording.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace pagetrace {

struct PageRecord {
    // Frame numbers have at most 52 bits (4 PiB of 4 KiB pages); flags are above.
    static constexpr uint64_t kPfnMask = (uint64_t{1} << 52) - 1;
    // Flags, in the bits above the frame number.
    // Reclaim wrote it to swap (swap_out); its next fault is a swap-in.
    static constexpr uint64_t kSwappedOut = uint64_t{1} << 52;
    // Dropped from the page cache (evict); its next fault is a refault.
    static constexpr uint64_t kEvicted = uint64_t{1} << 53;
    // Part of a range khugepaged or MADV_COLLAPSE replaced with a huge page,
    // waiting for a snapshot to say its new frame.
    static constexpr uint64_t kCollapsing = uint64_t{1} << 54;
    static constexpr uint64_t kPfnKnown = uint64_t{1} << 55;
    static constexpr uint64_t kResident = uint64_t{1} << 56;    // believed present now
    static constexpr uint64_t kTouched = uint64_t{1} << 57;     // faulted since mapped
    static constexpr uint64_t kPfnStale = uint64_t{1} << 58;    // a fault/discard since the frame was seen
    static constexpr uint64_t kDiscarded = uint64_t{1} << 59;   // madvise dropped it
    static constexpr uint64_t kSeenPresent = uint64_t{1} << 60; // a snapshot or migration saw it present
    // Put in without a fault of its own, waiting for a snapshot to confirm it:
    // by fault-around, or by MAP_POPULATE / MADV_POPULATE_*. first_touch_ns is
    // then when.
    static constexpr uint64_t kArrivedAround = uint64_t{1} << 61;
    static constexpr uint64_t kArrivedPopulated = uint64_t{1} << 62;
    // Its frame is shared (with the parent or child since a fork, or the zero
    // page): its next write fault copies it into a frame of its own.
    static constexpr uint64_t kShared = uint64_t{1} << 63;

    // With kTouched: the first touch. Before it, with kSeenPresent: when a
    // snapshot first saw the page present.
    uint64_t first_touch_ns = 0;
    uint64_t bits = 0;            // frame number | flags

    bool has(uint64_t flag) const { return (bits & flag) != 0; }
    void set(uint64_t flag) { bits |= flag; }
    void clear(uint64_t flag) { bits &= ~flag; }
    uint64_t pfn() const { return bits & kPfnMask; }
    void set_pfn(uint64_t pfn) { bits = (bits & ~kPfnMask) | (pfn & kPfnMask) | kPfnKnown; }
};
static_assert(sizeof(PageRecord) == 16);

// Memory use of page tables, shared by all tables of a builder.
struct PageTableUsage {
    uint64_t pages = 0;
    uint64_t bytes = 0;
};

class PageTable {
public:
    explicit PageTable(PageTableUsage* usage) : usage_(usage) {}
    ~PageTable();
    PageTable(const PageTable&) = delete;
    PageTable& operator=(const PageTable&) = delete;

    // The record of virtual page number vpn (address >> page shift), if any.
    PageRecord* find(uint64_t vpn);
    const PageRecord* find(uint64_t vpn) const { return const_cast<PageTable*>(this)->find(vpn); }

    // The record of vpn, created empty if needed (*inserted tells).
    PageRecord& get(uint64_t vpn, bool* inserted = nullptr);

    // Calls f(vpn, PageRecord&) for each record with first <= vpn < end, in order.
    template <typename F>
    void for_each(uint64_t first, uint64_t end, F&& f);

    // How many records in [first, end) have any of `flags`.
    uint64_t count_with(uint64_t first, uint64_t end, uint64_t flags) const;

    // Calls f(vpn, const PageRecord&) for each record in [first, end), then removes them.
    template <typename F>
    void erase_range(uint64_t first, uint64_t end, F&& f);

    // Removes the records in [first, end) and returns them, in order.
    std::vector<std::pair<uint64_t, PageRecord>> extract_range(uint64_t first, uint64_t end);

    void clear();
    uint64_t size() const { return pages_; }
    uint64_t memory_bytes() const { return bytes_; }

private:
    static constexpr unsigned kChunkShift = 6;
    static constexpr uint64_t kChunkPages = uint64_t{1} << kChunkShift;
    // A node of std::map (its tree links and colour) plus the malloc header,
    // as libstdc++ and glibc lay them out on x86-64: the estimate of
    // memory_bytes() (TimelineStats, the -v line), which rounds up a little.
    static constexpr uint64_t kNodeOverhead = 32 + 16;
    static constexpr uint64_t kAllocOverhead = 16;

    struct Chunk {
        uint64_t mask = 0;               // bit i: page (key << 6) + i has a record
        std::vector<PageRecord> records;  // one per set bit, in bit order

        size_t index_of(unsigned bit) const {
            return static_cast<size_t>(__builtin_popcountll(mask & ((uint64_t{1} << bit) - 1)));
        }
    };
    using Chunks = std::map<uint64_t, Chunk>;

    static uint64_t chunk_bytes(const Chunk& chunk);
    // The bits of chunk `key` whose pages lie in [first, end).
    static uint64_t range_mask(uint64_t key, uint64_t first, uint64_t end) {
        const uint64_t base = key << kChunkShift;
        const uint64_t lo = first > base ? first - base : 0;
        const uint64_t hi = end - base >= kChunkPages ? kChunkPages : end - base;
        if (lo >= hi) return 0;
        const uint64_t upto_hi = hi == kChunkPages ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
        return upto_hi & ~((uint64_t{1} << lo) - 1);
    }
    void account(int64_t pages, int64_t bytes);
    Chunks::iterator erase_chunk(Chunks::iterator it);

    Chunks chunks_;
    uint64_t pages_ = 0;
    uint64_t bytes_ = 0;
    PageTableUsage* usage_;
    // The chunks of the last lookups: faults come in runs on neighbouring
    // pages, one run per faulting thread, interleaved.
    static constexpr size_t kCached = 4;
    struct Cached {
        uint64_t key = ~uint64_t{0};
        Chunk* chunk = nullptr;
    };
    Chunk* cached(uint64_t key) const {
        for (const Cached& c : cache_) {
            if (c.key == key) return c.chunk;
        }
        return nullptr;
    }
    void remember(uint64_t key, Chunk* chunk) {
        cache_[next_cached_] = {key, chunk};
        next_cached_ = (next_cached_ + 1) % kCached;
    }
    void forget_cached() {
        for (Cached& c : cache_) c = Cached{};
    }
    Cached cache_[kCached];
    size_t next_cached_ = 0;
};

template <typename F>
void PageTable::for_each(uint64_t first, uint64_t end, F&& f) {
    if (first >= end) return;
    for (auto it = chunks_.lower_bound(first >> kChunkShift);
         it != chunks_.end() && (it->first << kChunkShift) < end; ++it) {
        Chunk& chunk = it->second;
        uint64_t mask = chunk.mask;
        size_t index = 0;
        while (mask) {
            const unsigned bit = static_cast<unsigned>(__builtin_ctzll(mask));
            mask &= mask - 1;
            const uint64_t vpn = (it->first << kChunkShift) + bit;
            if (vpn >= first && vpn < end) f(vpn, chunk.records[index]);
            ++index;
        }
    }
}

template <typename F>
void PageTable::erase_range(uint64_t first, uint64_t end, F&& f) {
    if (first >= end) return;
    auto it = chunks_.lower_bound(first >> kChunkShift);
    while (it != chunks_.end() && (it->first << kChunkShift) < end) {
        Chunk& chunk = it->second;
        const uint64_t in_range = range_mask(it->first, first, end) & chunk.mask;
        if (in_range == 0) {
            ++it;
            continue;
        }
        const uint64_t before = chunk_bytes(chunk);
        const uint64_t kept_mask = chunk.mask & ~in_range;
        std::vector<PageRecord> kept;
        kept.reserve(static_cast<size_t>(__builtin_popcountll(kept_mask)));
        uint64_t mask = chunk.mask;
        size_t index = 0;
        while (mask) {
            const unsigned bit = static_cast<unsigned>(__builtin_ctzll(mask));
            mask &= mask - 1;
            if (in_range & (uint64_t{1} << bit)) {
                f((it->first << kChunkShift) + bit, static_cast<const PageRecord&>(chunk.records[index]));
            } else {
                kept.push_back(chunk.records[index]);
            }
            ++index;
        }
        const auto erased = static_cast<int64_t>(__builtin_popcountll(in_range));
        if (kept_mask == 0) {
            account(-erased, 0);
            it = erase_chunk(it);
            continue;
        }
        chunk.records = std::move(kept);
        chunk.mask = kept_mask;
        account(-erased, static_cast<int64_t>(chunk_bytes(chunk)) - static_cast<int64_t>(before));
        ++it;
    }
}

}  // namespace pagetrace
