// The frame index's page -> frame map: every operation against a plain
// std::map doing the same, on random operations.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "trace/page_frame_map.h"

namespace pagetrace {
namespace {

TEST(PageFrameMap, BehavesLikeAMap) {
    std::mt19937_64 rng(7);
    PageFrameMap m;
    std::map<uint64_t, uint64_t> ref;
    for (int op = 0; op < 20000; ++op) {
        const uint64_t page = 0x7f0000000ull + rng() % 600;
        switch (rng() % 4) {
        case 0:
        case 1: {
            const uint64_t pfn = 1 + rng() % 1000;
            const uint64_t before = ref.count(page) ? ref[page] : 0;
            EXPECT_EQ(m.set(page, pfn), before);
            ref[page] = pfn;
            break;
        }
        case 2: {
            const uint64_t first = page, last = page + rng() % 100;
            std::map<uint64_t, uint64_t> removed;
            m.erase_range(first, last, [&](uint64_t p, uint64_t f) { removed[p] = f; });
            std::map<uint64_t, uint64_t> expected(ref.lower_bound(first), ref.lower_bound(last));
            ref.erase(ref.lower_bound(first), ref.lower_bound(last));
            EXPECT_EQ(removed, expected);
            break;
        }
        default:
            EXPECT_EQ(m.get(page), ref.count(page) ? ref[page] : 0);
        }
        ASSERT_EQ(m.size(), ref.size());
    }
    std::map<uint64_t, uint64_t> all;
    m.for_each([&](uint64_t p, uint64_t f) { all[p] = f; });
    EXPECT_EQ(all, ref);
}

TEST(PageFrameMap, DensePagesCostAboutNineBytesEach) {
    PageFrameMap m;
    for (uint64_t p = 0; p < (1u << 20); ++p) m.set(0x7f0000000ull + p, p + 1);
    EXPECT_EQ(m.size(), 1u << 20);
    EXPECT_LT(static_cast<double>(m.memory_bytes()) / m.size(), 12.0);
}

}  // namespace
}  // namespace pagetrace
