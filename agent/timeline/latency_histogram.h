// A log-linear histogram of durations with bounded memory: exact below 128 ns,
// then 64 buckets per power of two, so every percentile it reports is within
// 1/64 (1.6%) above the true value, and never above the largest value added.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pagetrace {

class LatencyHistogram {
public:
    void add(uint64_t ns);

    uint64_t count() const { return count_; }
    uint64_t max() const { return max_; }
    // The smallest value v such that at least p percent (0 < p <= 100) of the
    // values are <= v, rounded up to its bucket's top and capped at max(); 0 if
    // empty.
    uint64_t percentile(double p) const;

    static constexpr unsigned kSubBits = 6;  // 64 buckets per power of two
    static size_t bucket_of(uint64_t ns);
    static uint64_t bucket_low(size_t bucket);
    static uint64_t bucket_high(size_t bucket);

private:
    std::vector<uint64_t> counts_;  // grown to the highest bucket used
    uint64_t count_ = 0;
    uint64_t max_ = 0;
};

}  // namespace pagetrace
