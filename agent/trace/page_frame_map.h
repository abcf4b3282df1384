// A compact map from virtual page number to the frame (PFN) backing it, for
// the frame index of one process. Pages live in chunks of 16 consecutive
// pages (136 bytes each), so memory is ~9 bytes per page when the pages are
// dense, as touched memory usually is. PFN 0 means "no entry".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace pagetrace {

class PageFrameMap {
public:
    // Sets the frame of `page` (pfn != 0); returns the previous one, or 0.
    uint64_t set(uint64_t page, uint64_t pfn) {
        Chunk& c = chunks_[page >> kShift];
        uint64_t& slot = c.pfn[page & kMask];
        const uint64_t old = slot;
        if (!old) {
            ++c.count;
            ++size_;
        }
        slot = pfn;
        return old;
    }

    // The frame of `page`, or 0.
    uint64_t get(uint64_t page) const {
        auto it = chunks_.find(page >> kShift);
        return it == chunks_.end() ? 0 : it->second.pfn[page & kMask];
    }

    size_t size() const { return size_; }
    size_t memory_bytes() const { return chunks_.size() * (sizeof(Chunk) + 32); }

    // Calls f(page, pfn) for every entry.
    template <typename F>
    void for_each(F&& f) const {
        for (const auto& [id, c] : chunks_) {
            for (uint64_t i = 0; i <= kMask; ++i) {
                if (c.pfn[i]) f((id << kShift) | i, c.pfn[i]);
            }
        }
    }

    // Removes the entries of pages in [first, last), calling f(page, pfn) for each.
    template <typename F>
    void erase_range(uint64_t first, uint64_t last, F&& f) {
        if (first >= last) return;
        const uint64_t first_chunk = first >> kShift;
        const uint64_t last_chunk = (last - 1) >> kShift;
        const auto clear_in = [&](uint64_t id, Chunk& c) {
            for (uint64_t i = 0; i <= kMask && c.count; ++i) {
                const uint64_t page = (id << kShift) | i;
                if (!c.pfn[i] || page < first || page >= last) continue;
                f(page, c.pfn[i]);
                c.pfn[i] = 0;
                --c.count;
                --size_;
            }
        };
        if (last_chunk - first_chunk < chunks_.size()) {
            for (uint64_t id = first_chunk; id <= last_chunk; ++id) {
                auto it = chunks_.find(id);
                if (it == chunks_.end()) continue;
                clear_in(id, it->second);
                if (!it->second.count) chunks_.erase(it);
            }
        } else {
            for (auto it = chunks_.begin(); it != chunks_.end();) {
                if (it->first >= first_chunk && it->first <= last_chunk) clear_in(it->first, it->second);
                it = it->second.count ? std::next(it) : chunks_.erase(it);
            }
        }
    }

private:
    static constexpr unsigned kShift = 4;
    static constexpr uint64_t kMask = (1u << kShift) - 1;
    struct Chunk {
        std::array<uint64_t, 1u << kShift> pfn{};
        uint32_t count = 0;
    };
    std::unordered_map<uint64_t, Chunk> chunks_;
    size_t size_ = 0;
};

}  // namespace pagetrace
