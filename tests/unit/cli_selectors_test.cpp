// The options issue 3 added to `trace` and `record`: event types, selectors
// by name and cgroup, the frame index size, and `features`.
#include <gtest/gtest.h>

#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli_support.h"
#include "util/error.h"

namespace pagetrace {
namespace {

using test::parse;
using test::Parsed;

TEST(Selectors, EventsBecomeAKernelMask) {
    const Parsed p = parse({"trace", "--events", "fault,migrate,tlb_flush", "-p", "1"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.trace.event_mask,
              PT_EVENT_BIT(PT_EV_FAULT) | PT_EVENT_BIT(PT_EV_MIGRATE) | PT_EVENT_BIT(PT_EV_TLB_FLUSH));
    // No --events: 0 means all.
    EXPECT_EQ(parse({"trace", "-p", "1"}).cli.trace.event_mask, 0u);
}

TEST(Selectors, RecordTakesTheSameOptions) {
    const Parsed p = parse({"record", "-o", "x.ptr", "--events", "mmap,munmap", "--comm", "postgres",
                            "--max-frames", "65536"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.record.event_mask, PT_EVENT_BIT(PT_EV_MMAP) | PT_EVENT_BIT(PT_EV_MUNMAP));
    EXPECT_EQ(p.cli.record.match_comm, "postgres");
    EXPECT_EQ(p.cli.record.max_frames, 65536u);
}

TEST(Selectors, UnknownEventTypeIsAUsageErrorListingTheKnownOnes) {
    const Parsed p = parse({"trace", "--events", "fault,pagefault", "-p", "1"});
    EXPECT_EQ(p.status, kExitUsage);
    EXPECT_NE(p.err.find("pagefault"), std::string::npos) << p.err;
    EXPECT_NE(p.err.find("migrate_batch"), std::string::npos) << p.err;
}

TEST(Selectors, CommOrCgroupAloneIsSomethingToTrace) {
    EXPECT_EQ(parse({"trace", "--comm", "nginx"}).status, -1);
    const Parsed p = parse({"trace", "--cgroup", "/sys/fs/cgroup/x"});
    EXPECT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.trace.cgroup_path, "/sys/fs/cgroup/x");
    // Both with -p is fine: the union is traced.
    EXPECT_EQ(parse({"trace", "--comm", "nginx", "-p", "1"}).status, -1);
}

TEST(Selectors, SelectorsDoNotMixWithACommand) {
    EXPECT_EQ(parse({"trace", "--comm", "nginx", "--", "/bin/true"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "--cgroup", "/x", "--", "/bin/true"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "--user", "nobody", "--comm", "x"}).status, kExitUsage);
}

TEST(Selectors, CommLongerThanTheKernelKeepsIsRefused) {
    const Parsed p = parse({"trace", "--comm", "a-name-of-sixteen"});
    EXPECT_EQ(p.status, kExitUsage);
    EXPECT_NE(p.err.find("15 characters"), std::string::npos) << p.err;
}

TEST(Selectors, MaxFramesHasBounds) {
    EXPECT_EQ(parse({"trace", "--max-frames", "10", "-p", "1"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "--max-frames", "4096", "-p", "1"}).cli.trace.max_frames, 4096u);
}

TEST(Selectors, FeaturesIsASubcommand) {
    const Parsed p = parse({"features"});
    EXPECT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.subcommand, Subcommand::Features);
}

}  // namespace
}  // namespace pagetrace
