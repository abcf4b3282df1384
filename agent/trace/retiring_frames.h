// Frames no traced page holds any more, waiting to be deleted from the
// kernel's frame index. A frame is deleted only after a delay, and not at all
// if a traced page claims it meanwhile: the kernel may already have moved
// another traced page into that frame, and the migrate event saying so can
// still be on its way.
//
// Compact, because a process that exits drops all its frames at once (a
// million for 4 GiB): membership is a sparse bitmap over the PFN space (one
// bit per frame, in 32 Ki-frame chunks that exist only while one of their
// frames is retiring), and the frames wait in batches of plain PFNs, one
// batch per ~100 ms of drops: ~8 bytes per retiring frame in all.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

namespace pagetrace {

class RetiringFrames {
public:
    // delay_ns: how long a dropped frame waits; batch_ns: drops this close
    // together share a batch (so a frame waits between delay_ns and
    // delay_ns + batch_ns).
    explicit RetiringFrames(uint64_t delay_ns, uint64_t batch_ns = 100'000'000)
        : delay_ns_(delay_ns), batch_ns_(batch_ns) {}

    // Queues `pfn` for deletion after the delay; nothing if already queued. A
    // frame claimed and dropped again while its first batch is still queued
    // leaves with that first batch.
    void drop(uint64_t pfn, uint64_t now_ns) {
        if (!set_bit(pfn)) return;
        // A batch is due batch_ns after its first frame would be.
        const uint64_t due = now_ns + delay_ns_;
        if (batches_.empty() || due > batches_.back().due_ns) {
            batches_.push_back(Batch{due + batch_ns_, {}});
        }
        batches_.back().pfns.push_back(pfn);
    }

    // A traced page holds `pfn` again: it is not deleted.
    void claim(uint64_t pfn) { clear_bit(pfn); }

    // Whether `pfn` waits for deletion.
    bool contains(uint64_t pfn) const {
        auto it = chunks_.find(pfn >> kChunkShift);
        return it != chunks_.end() && it->second->test(pfn & kChunkMask);
    }

    // Appends the frames due at now_ns that nothing claimed, and forgets them.
    void take_due(uint64_t now_ns, std::vector<uint64_t>& out) {
        while (!batches_.empty() && batches_.front().due_ns <= now_ns) {
            for (uint64_t pfn : batches_.front().pfns) {
                if (clear_bit(pfn)) out.push_back(pfn);
            }
            batches_.pop_front();
        }
    }

    // Whether any batch is queued (its frames may all have been claimed).
    bool queued() const { return !batches_.empty(); }
    // Frames waiting: queued and not claimed.
    uint64_t size() const { return count_; }

    void clear() {
        batches_.clear();
        chunks_.clear();
        count_ = 0;
    }

private:
    static constexpr unsigned kChunkShift = 15;  // 32 Ki frames, 4 KiB of bits
    static constexpr uint64_t kChunkMask = (1ull << kChunkShift) - 1;

    struct Chunk {
        std::array<uint64_t, (1u << kChunkShift) / 64> words{};
        uint32_t count = 0;
        bool test(uint64_t bit) const { return (words[bit / 64] >> (bit % 64)) & 1; }
    };
    struct Batch {
        uint64_t due_ns;
        std::vector<uint64_t> pfns;
    };

    // Sets the bit of pfn; false if it was set already.
    bool set_bit(uint64_t pfn) {
        auto& chunk = chunks_[pfn >> kChunkShift];
        if (!chunk) chunk = std::make_unique<Chunk>();
        uint64_t& word = chunk->words[(pfn & kChunkMask) / 64];
        const uint64_t mask = 1ull << (pfn % 64);
        if (word & mask) return false;
        word |= mask;
        ++chunk->count;
        ++count_;
        return true;
    }

    // Clears the bit of pfn; false if it was not set. Frees emptied chunks.
    bool clear_bit(uint64_t pfn) {
        auto it = chunks_.find(pfn >> kChunkShift);
        if (it == chunks_.end()) return false;
        uint64_t& word = it->second->words[(pfn & kChunkMask) / 64];
        const uint64_t mask = 1ull << (pfn % 64);
        if (!(word & mask)) return false;
        word &= ~mask;
        --count_;
        if (--it->second->count == 0) chunks_.erase(it);
        return true;
    }

    uint64_t delay_ns_;
    uint64_t batch_ns_;
    std::deque<Batch> batches_;
    std::unordered_map<uint64_t, std::unique_ptr<Chunk>> chunks_;
    uint64_t count_ = 0;
};

}  // namespace pagetrace
