// The end-of-run line `trace` and `record` print (tools/bench*.sh parse it).
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "cli/run_summary.h"
#include "pagetrace/events.h"

using namespace pagetrace;

TEST(RunSummary, CountsByTypeWithoutLostRecordsOrEmptyTypes) {
    std::array<uint64_t, PT_EV_TYPE_MAX + 1> per_type{};
    per_type[PT_EV_FAULT] = 3;
    per_type[PT_EV_MMAP] = 1;
    per_type[PT_EV_LOST] = 2;
    per_type[PT_EV_MIGRATE_BATCH] = 7;
    EXPECT_EQ(describe_run(13, 1, 1.5, per_type, 40),
              "13 events from 1 process in 1.50 s (3 fault, 1 mmap, 7 migrate_batch); 40 lost");
}

TEST(RunSummary, NoEvents) {
    const std::vector<uint64_t> none;
    EXPECT_EQ(describe_run(0, 0, 0.004, none, 0), "0 events from 0 processes in 0.00 s; 0 lost");
    const std::vector<uint64_t> zeros(PT_EV_TYPE_MAX + 1, 0);
    EXPECT_EQ(describe_run(0, 2, 12.5, zeros, 0), "0 events from 2 processes in 12.50 s; 0 lost");
}
