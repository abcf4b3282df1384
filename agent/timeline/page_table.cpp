#include "timeline/page_table.h"

namespace pagetrace {

PageTable::~PageTable() { clear(); }

uint64_t PageTable::chunk_bytes(const Chunk& chunk) {
    const uint64_t records = chunk.records.capacity() * sizeof(PageRecord);
    return kNodeOverhead + sizeof(uint64_t) + sizeof(Chunk) + (records ? records + kAllocOverhead : 0);
}

void PageTable::account(int64_t pages, int64_t bytes) {
    pages_ = static_cast<uint64_t>(static_cast<int64_t>(pages_) + pages);
    bytes_ = static_cast<uint64_t>(static_cast<int64_t>(bytes_) + bytes);
    if (usage_) {
        usage_->pages = static_cast<uint64_t>(static_cast<int64_t>(usage_->pages) + pages);
        usage_->bytes = static_cast<uint64_t>(static_cast<int64_t>(usage_->bytes) + bytes);
    }
}

PageTable::Chunks::iterator PageTable::erase_chunk(Chunks::iterator it) {
    account(0, -static_cast<int64_t>(chunk_bytes(it->second)));
    for (Cached& c : cache_) {
        if (c.chunk == &it->second) c = Cached{};
    }
    return chunks_.erase(it);
}

PageRecord* PageTable::find(uint64_t vpn) {
    const uint64_t key = vpn >> kChunkShift;
    Chunk* chunk = cached(key);
    if (!chunk) {
        auto it = chunks_.find(key);
        if (it == chunks_.end()) return nullptr;
        chunk = &it->second;
        remember(key, chunk);
    }
    const auto bit = static_cast<unsigned>(vpn & (kChunkPages - 1));
    if (!(chunk->mask & (uint64_t{1} << bit))) return nullptr;
    return &chunk->records[chunk->index_of(bit)];
}

PageRecord& PageTable::get(uint64_t vpn, bool* inserted) {
    const uint64_t key = vpn >> kChunkShift;
    Chunk* chunk = cached(key);
    if (!chunk) {
        auto [it, fresh] = chunks_.try_emplace(key);
        if (fresh) account(0, static_cast<int64_t>(chunk_bytes(it->second)));
        chunk = &it->second;
        remember(key, chunk);
    }
    const auto bit = static_cast<unsigned>(vpn & (kChunkPages - 1));
    const size_t index = chunk->index_of(bit);
    if (chunk->mask & (uint64_t{1} << bit)) {
        if (inserted) *inserted = false;
        return chunk->records[index];
    }
    const uint64_t before = chunk_bytes(*chunk);
    chunk->records.insert(chunk->records.begin() + static_cast<std::ptrdiff_t>(index), PageRecord{});
    chunk->mask |= uint64_t{1} << bit;
    account(1, static_cast<int64_t>(chunk_bytes(*chunk)) - static_cast<int64_t>(before));
    if (inserted) *inserted = true;
    return chunk->records[index];
}

std::vector<std::pair<uint64_t, PageRecord>> PageTable::extract_range(uint64_t first, uint64_t end) {
    std::vector<std::pair<uint64_t, PageRecord>> out;
    erase_range(first, end, [&](uint64_t vpn, const PageRecord& rec) { out.emplace_back(vpn, rec); });
    return out;
}

uint64_t PageTable::count_with(uint64_t first, uint64_t end, uint64_t flags) const {
    uint64_t count = 0;
    if (first >= end) return count;
    for (auto it = chunks_.lower_bound(first >> kChunkShift);
         it != chunks_.end() && (it->first << kChunkShift) < end; ++it) {
        const Chunk& chunk = it->second;
        const uint64_t in_range = range_mask(it->first, first, end) & chunk.mask;
        if (in_range == chunk.mask) {
            // All of the chunk's records: one plain loop (mappings_now walks
            // whole mappings).
            for (const PageRecord& rec : chunk.records) count += rec.has(flags) ? 1 : 0;
            continue;
        }
        uint64_t mask = chunk.mask;
        for (size_t index = 0; mask; ++index) {
            const uint64_t bit = mask & (~mask + 1);
            mask &= mask - 1;
            if ((in_range & bit) && chunk.records[index].has(flags)) ++count;
        }
    }
    return count;
}

void PageTable::clear() {
    account(-static_cast<int64_t>(pages_), -static_cast<int64_t>(bytes_));
    chunks_.clear();
    forget_cached();
}

}  // namespace pagetrace
