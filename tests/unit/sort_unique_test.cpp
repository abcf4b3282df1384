// sort_unique against std::sort + std::unique: small and large vectors, keys
// spread over every bit, keys close together, repeats, all equal.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "util/sort_unique.h"

using namespace pagetrace;

namespace {

std::vector<uint64_t> reference(std::vector<uint64_t> keys) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

}  // namespace

TEST(SortUnique, MatchesSortAndUniqueAtEverySizeAndSpread) {
    std::mt19937_64 rng(42);
    for (size_t n : {0, 1, 2, 100, 4095, 4096, 5000, 100000}) {
        for (uint64_t spread : {uint64_t{1}, uint64_t{1000}, uint64_t{1} << 35, ~uint64_t{0}}) {
            SCOPED_TRACE(testing::Message() << "n " << n << " spread " << spread);
            std::vector<uint64_t> keys(n);
            const uint64_t base = spread == ~uint64_t{0} ? 0 : 0x7f0000000ull;
            for (auto& k : keys) k = base + (spread == ~uint64_t{0} ? rng() : rng() % spread);
            std::vector<uint64_t> got = keys;
            sort_unique(got);
            EXPECT_EQ(got, reference(keys));
        }
    }
}

TEST(SortUnique, InterleavedAscendingRunsWithRepeats) {
    // What the frame tracker sorts: the pages of four threads, each walking
    // its own region, interleaved, some faulted twice.
    std::vector<uint64_t> keys;
    for (uint64_t i = 0; i < 20000; ++i) {
        for (uint64_t t = 0; t < 4; ++t) keys.push_back((t << 30) + i);
        if (i % 7 == 0) keys.push_back(i);
    }
    std::vector<uint64_t> got = keys;
    sort_unique(got);
    EXPECT_EQ(got, reference(keys));
    EXPECT_EQ(got.size(), 80000u);
}
