// Events chunks by columns: the records come back exactly, in their order,
// whatever the mix of sizes; a damaged columnar payload is an error, never a
// crash or a record of the wrong size.
#include "record/event_columns.h"

#include <gtest/gtest.h>

#include <random>

#include "decode/framing.h"
#include "record_support.h"

using namespace pagetrace;
using namespace pagetrace::recording;
using namespace pagetrace::recording::test;

namespace {

Bytes concat(const std::vector<Bytes>& recs) {
    Bytes out;
    for (const auto& r : recs) out.insert(out.end(), r.begin(), r.end());
    return out;
}

// A fault storm with other records mixed in: first, last, in runs, alone.
std::vector<Bytes> storm(size_t faults, uint64_t seed, int other_every) {
    std::mt19937_64 rng(seed);
    std::vector<Bytes> recs;
    const uint16_t others[] = {PT_EV_MMAP, PT_EV_MUNMAP, PT_EV_TLB_FLUSH, PT_EV_MADVISE};
    recs.push_back(make_record(PT_EV_MMAP, 1, 10));
    for (size_t i = 0; i < faults; ++i) {
        const uint32_t tid = 10 + static_cast<uint32_t>(rng() % 4);
        recs.push_back(make_record(PT_EV_FAULT, 1000 + 700 * i + rng() % 300, 10, tid, tid % 2,
                                   "storm", 0x7f0000000000 + 4096 * i));
        if (other_every && rng() % other_every == 0) {
            const int n = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < n; ++k) {
                recs.push_back(make_record(others[rng() % 4], 1000 + 700 * i, 10, tid));
            }
        }
    }
    recs.push_back(make_record(PT_EV_EXIT, 1000 + 700 * faults, 10));
    return recs;
}

TEST(EventColumns, RecordsComeBackExactlyInTheirOrder) {
    for (const int other_every : {0, 50, 5}) {
        SCOPED_TRACE(other_every);
        const std::vector<Bytes> recs = storm(3000, 7 + other_every, other_every);
        const Bytes payload = concat(recs);
        Bytes columns, rows;
        ASSERT_TRUE(to_event_columns(payload, columns));
        ASSERT_EQ(from_event_columns(columns, rows), std::nullopt);
        EXPECT_EQ(rows, payload);
    }
}

TEST(EventColumns, ColumnsHoldByteCOfEveryRecordOfTheCommonSize) {
    const std::vector<Bytes> recs = storm(100, 3, 0);
    const Bytes payload = concat(recs);
    Bytes columns;
    ASSERT_TRUE(to_event_columns(payload, columns));
    const size_t stride = recs[1].size();
    uint32_t fixed[3];
    std::memcpy(fixed, columns.data(), sizeof(fixed));
    EXPECT_EQ(fixed[0], stride);
    EXPECT_EQ(fixed[1], 100u);
    EXPECT_EQ(fixed[2], 2u);  // the mmap first, the exit last
    const size_t cols_at = columns.size() - stride * 100;
    for (size_t c = 0; c < stride; ++c) {
        for (size_t r = 0; r < 100; ++r) {
            ASSERT_EQ(columns[cols_at + c * 100 + r], recs[1 + r][c]) << c << " " << r;
        }
    }
}

TEST(EventColumns, NotUsedWhereTheyWouldNotPay) {
    Bytes out;
    // Few records of the common size.
    EXPECT_FALSE(to_event_columns(concat(storm(20, 1, 0)), out));
    // Mostly other sizes.
    std::vector<Bytes> mixed;
    for (int i = 0; i < 400; ++i) {
        mixed.push_back(make_record(i % 2 ? PT_EV_MMAP : PT_EV_MUNMAP, i, 10));
        if (i % 3 == 0) mixed.push_back(make_record(PT_EV_TLB_FLUSH, i, 10));
    }
    if (mixed[0].size() != mixed[1].size()) EXPECT_FALSE(to_event_columns(concat(mixed), out));
    // Not a sequence of whole records.
    Bytes cut = concat(storm(200, 1, 0));
    cut.resize(cut.size() - 5);
    EXPECT_FALSE(to_event_columns(cut, out));
    EXPECT_FALSE(to_event_columns({}, out));
}

TEST(EventColumns, DamageIsAnErrorOrWholeRecords) {
    const Bytes payload = concat(storm(300, 11, 7));
    Bytes columns, rows;
    ASSERT_TRUE(to_event_columns(payload, columns));
    // Cut short anywhere.
    for (size_t n = 0; n < columns.size(); n += 13) {
        const std::span<const std::byte> part(columns.data(), n);
        EXPECT_NE(from_event_columns(part, rows), std::nullopt) << "cut at " << n;
    }
    // Any byte of the tables changed, and a sample of the others: either an
    // error, or records that walk cleanly.
    std::mt19937_64 rng(5);
    for (size_t i = 0; i < columns.size(); i += (i < 256 ? 1 : 1 + rng() % 97)) {
        Bytes bad = columns;
        bad[i] ^= std::byte{static_cast<unsigned char>(1 + rng() % 255)};
        if (from_event_columns(bad, rows)) continue;
        EventRecords walk(rows);
        std::span<const std::byte> rec;
        while (walk.next(rec)) {
        }
        EXPECT_EQ(walk.error(), "") << "byte " << i;
    }
    // Positions out of order.
    Bytes swapped = columns;
    uint32_t p0, p1;
    std::memcpy(&p0, swapped.data() + 12, 4);
    std::memcpy(&p1, swapped.data() + 16, 4);
    std::memcpy(swapped.data() + 12, &p1, 4);
    std::memcpy(swapped.data() + 16, &p0, 4);
    EXPECT_NE(from_event_columns(swapped, rows), std::nullopt);
}

}  // namespace
