// Frames waiting for deletion from the kernel's frame index: the same
// decisions as a plain set with a queue of due times, on random operations.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "trace/retiring_frames.h"

namespace pagetrace {
namespace {

TEST(RetiringFrames, DeletesUnclaimedFramesOnceTheirDelayHasPassed) {
    RetiringFrames r(1000, 100);
    r.drop(5, 0);
    r.drop(7, 50);
    r.drop(5, 60);  // already waiting: keeps its first due time
    r.claim(7);
    std::vector<uint64_t> due;
    r.take_due(1099, due);  // the batch waits for its last possible member
    EXPECT_TRUE(due.empty());
    EXPECT_TRUE(r.contains(5));
    EXPECT_FALSE(r.contains(7));
    r.take_due(1100, due);
    EXPECT_EQ(due, std::vector<uint64_t>{5});
    EXPECT_EQ(r.size(), 0u);
    EXPECT_FALSE(r.queued());
}

TEST(RetiringFrames, FramesFarApartInThePfnSpaceAndInTime) {
    RetiringFrames r(10, 1);
    const uint64_t far = (1ull << 40) + 3;
    r.drop(far, 0);
    r.drop(1, 5);
    std::vector<uint64_t> due;
    r.take_due(11, due);
    EXPECT_EQ(due, std::vector<uint64_t>{far});
    r.take_due(16, due);
    EXPECT_EQ(due, (std::vector<uint64_t>{far, 1}));
}

// Reference: a map of the frames waiting to the time each was dropped.
TEST(RetiringFrames, BehavesLikeASetOfDropTimes) {
    std::mt19937_64 rng(11);
    constexpr uint64_t kDelay = 1000, kBatch = 100;
    RetiringFrames r(kDelay, kBatch);
    std::map<uint64_t, uint64_t> waiting;  // pfn -> drop time
    uint64_t now = 0;
    for (int op = 0; op < 200000; ++op) {
        now += rng() % 7;
        const uint64_t pfn = (rng() % 3 == 0) ? rng() % 100000 : 0x100000 + rng() % 500;
        switch (rng() % 5) {
        case 0:
        case 1:
            r.drop(pfn, now);
            waiting.emplace(pfn, now);
            break;
        case 2:
            r.claim(pfn);
            waiting.erase(pfn);
            break;
        case 3: {
            std::vector<uint64_t> got;
            r.take_due(now, got);
            std::set<uint64_t> got_set(got.begin(), got.end());
            ASSERT_EQ(got_set.size(), got.size()) << "a frame came out twice";
            for (uint64_t g : got) {
                ASSERT_TRUE(waiting.count(g)) << "claimed or never dropped: " << g;
                waiting.erase(g);
            }
            // Whatever was dropped delay + batch ago or earlier has left.
            for (const auto& [p, dropped] : waiting) {
                ASSERT_GT(dropped + kDelay + kBatch, now) << "due but still waiting: " << p;
            }
            break;
        }
        default:
            ASSERT_EQ(r.contains(pfn), waiting.count(pfn) == 1);
        }
        ASSERT_EQ(r.size(), waiting.size());
    }
}

TEST(RetiringFrames, NoFrameLeavesBeforeItsDelay) {
    RetiringFrames r(1000, 100);
    for (uint64_t t = 0; t < 5000; t += 10) r.drop(t + 1, t);
    for (uint64_t now = 0; now < 7000; now += 3) {
        std::vector<uint64_t> got;
        r.take_due(now, got);
        for (uint64_t pfn : got) {
            const uint64_t dropped = pfn - 1;
            ASSERT_GE(now, dropped + 1000);
            ASSERT_LE(now, dropped + 1000 + 100 + 3);
        }
    }
    EXPECT_EQ(r.size(), 0u);
}

}  // namespace
}  // namespace pagetrace
