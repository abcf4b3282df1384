// Sorting a large vector of 64-bit keys (page numbers, frame numbers) and
// dropping repeats: an LSD radix sort over the bits the keys actually differ
// in, in 11-bit digits (a 16 KiB count table per pass), for vectors where
// std::sort's n log n comparisons are the cost; small ones go to std::sort.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pagetrace {

inline void sort_unique(std::vector<uint64_t>& keys) {
    constexpr size_t kRadixFrom = 4096;  // below this std::sort is as fast
    constexpr unsigned kDigitBits = 11;
    constexpr size_t kBuckets = size_t{1} << kDigitBits;
    if (keys.size() < kRadixFrom) {
        std::sort(keys.begin(), keys.end());
    } else {
        const auto [lo, hi] = std::minmax_element(keys.begin(), keys.end());
        const uint64_t base = *lo;
        const uint64_t span = *hi - base;
        unsigned bits = 0;
        while (bits < 64 && (span >> bits) != 0) ++bits;
        std::vector<uint64_t> spare(keys.size());
        std::array<size_t, kBuckets> count{};
        for (unsigned shift = 0; shift < bits; shift += kDigitBits) {
            count.fill(0);
            for (uint64_t k : keys) ++count[((k - base) >> shift) & (kBuckets - 1)];
            size_t at = 0;
            for (size_t& c : count) {
                const size_t n = c;
                c = at;
                at += n;
            }
            for (uint64_t k : keys) spare[count[((k - base) >> shift) & (kBuckets - 1)]++] = k;
            keys.swap(spare);
        }
    }
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
}

}  // namespace pagetrace
