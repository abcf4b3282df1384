#include "timeline/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace pagetrace {

namespace {
constexpr uint64_t kExactBelow = uint64_t{1} << (LatencyHistogram::kSubBits + 1);  // 128
constexpr uint64_t kSubBuckets = uint64_t{1} << LatencyHistogram::kSubBits;         // 64
}  // namespace

size_t LatencyHistogram::bucket_of(uint64_t ns) {
    if (ns < kExactBelow) return static_cast<size_t>(ns);
    const unsigned exp = static_cast<unsigned>(std::bit_width(ns)) - 1;  // >= 7
    const unsigned shift = exp - kSubBits;
    const uint64_t sub = (ns >> shift) - kSubBuckets;  // 0..63
    return static_cast<size_t>(kExactBelow + (exp - kSubBits - 1) * kSubBuckets + sub);
}

uint64_t LatencyHistogram::bucket_low(size_t bucket) {
    if (bucket < kExactBelow) return bucket;
    const uint64_t k = bucket - kExactBelow;
    const unsigned exp = static_cast<unsigned>(k / kSubBuckets) + kSubBits + 1;
    const uint64_t sub = k % kSubBuckets;
    return (kSubBuckets + sub) << (exp - kSubBits);
}

uint64_t LatencyHistogram::bucket_high(size_t bucket) {
    if (bucket < kExactBelow) return bucket;
    const uint64_t k = bucket - kExactBelow;
    const unsigned exp = static_cast<unsigned>(k / kSubBuckets) + kSubBits + 1;
    return bucket_low(bucket) + ((uint64_t{1} << (exp - kSubBits)) - 1);
}

void LatencyHistogram::add(uint64_t ns) {
    const size_t bucket = bucket_of(ns);
    if (bucket >= counts_.size()) counts_.resize(bucket + 1, 0);
    ++counts_[bucket];
    ++count_;
    max_ = std::max(max_, ns);
}

uint64_t LatencyHistogram::percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); ++b) {
        seen += counts_[b];
        if (seen >= rank) return std::min(bucket_high(b), max_);
    }
    return max_;
}

}  // namespace pagetrace
