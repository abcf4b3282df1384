// The command line of record, replay and info: record takes exactly trace's
// target options; replay's filters; and the real binary's behaviour on
// recordings (no root needed).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include "cli/options.h"
#include "cli_support.h"
#include "decode/event.h"
#include "record/format.h"
#include "record_support.h"

using namespace pagetrace;
using namespace pagetrace::recording::test;

using pagetrace::test::parse;
using pagetrace::test::Parsed;

TEST(RecordCommandLine, TakesTheSameTargetOptionsAsTrace) {
    const std::vector<const char*> target = {"--no-follow", "--ring-size", "16M", "--btf",
                                             "/bin/sh",     "--user",      "nobody", "--",
                                             "ls",          "-l"};
    std::vector<const char*> trace_args = {"trace"};
    trace_args.insert(trace_args.end(), target.begin(), target.end());
    std::vector<const char*> record_args = {"record", "-o", "/tmp/x.ptr"};
    record_args.insert(record_args.end(), target.begin(), target.end());
    const Parsed t = parse(trace_args);
    const Parsed r = parse(record_args);
    ASSERT_EQ(t.status, -1) << t.err;
    ASSERT_EQ(r.status, -1) << r.err;
    EXPECT_EQ(r.cli.subcommand, Subcommand::Record);
    const TargetOptions& a = t.cli.trace;
    const TargetOptions& b = r.cli.record;
    EXPECT_EQ(a.follow_children, b.follow_children);
    EXPECT_FALSE(b.follow_children);
    EXPECT_EQ(a.ring_bytes, b.ring_bytes);
    EXPECT_EQ(b.ring_bytes, 16ull << 20);
    EXPECT_EQ(a.btf_path, b.btf_path);
    EXPECT_EQ(a.user, b.user);
    EXPECT_EQ(a.command, b.command);
    EXPECT_EQ(b.command, (std::vector<std::string>{"ls", "-l"}));
    EXPECT_EQ(r.cli.record.output_path, "/tmp/x.ptr");
    EXPECT_FALSE(r.cli.record.force);
    // The whole command line goes into the recording's header.
    EXPECT_EQ(r.cli.record.argv.size(), record_args.size() + 1);
    EXPECT_EQ(r.cli.record.argv.front(), "pagetrace");
    EXPECT_EQ(r.cli.record.argv.back(), "-l");
}

TEST(RecordCommandLine, PidsForceAndErrors) {
    const Parsed p = parse({"record", "-o", "f", "--force", "-p", "12,34"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.record.pids, (std::vector<pid_t>{12, 34}));
    EXPECT_TRUE(p.cli.record.force);

    EXPECT_EQ(parse({"record", "-p", "1"}).status, kExitUsage);  // no -o
    const Parsed nothing = parse({"record", "-o", "f"});
    EXPECT_EQ(nothing.status, kExitUsage);
    EXPECT_NE(nothing.err.find("nothing to trace"), std::string::npos) << nothing.err;
    EXPECT_EQ(parse({"record", "-o", "f", "-p", "1", "--", "ls"}).status, kExitUsage);
    EXPECT_EQ(parse({"record", "-o", "f", "--ring-size", "3M", "-p", "1"}).status, kExitUsage);
    EXPECT_EQ(parse({"record", "-o", "f", "--user", "nobody", "-p", "1"}).status, kExitUsage);
}

TEST(ReplayCommandLine, FileFormatFiltersAndForce) {
    const Parsed p = parse({"replay", "run.ptr", "--format", "json", "--pid", "5,6", "--events",
                            "fault,mmap,fault", "--force", "-o", "out.json"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.subcommand, Subcommand::Replay);
    EXPECT_EQ(p.cli.replay.input_path, "run.ptr");
    EXPECT_EQ(p.cli.replay.format, OutputFormat::Json);
    EXPECT_EQ(p.cli.replay.pids, (std::vector<pid_t>{5, 6}));
    EXPECT_EQ(p.cli.replay.event_types, (std::vector<uint16_t>{PT_EV_FAULT, PT_EV_MMAP}));
    EXPECT_TRUE(p.cli.replay.force);
    EXPECT_EQ(p.cli.replay.output_path, "out.json");

    const Parsed defaults = parse({"replay", "run.ptr"});
    ASSERT_EQ(defaults.status, -1) << defaults.err;
    EXPECT_EQ(defaults.cli.replay.format, OutputFormat::Text);
    EXPECT_TRUE(defaults.cli.replay.event_types.empty());
    EXPECT_TRUE(defaults.cli.replay.pids.empty());
    EXPECT_FALSE(defaults.cli.replay.force);

    EXPECT_EQ(parse({"replay"}).status, kExitUsage);
    EXPECT_EQ(parse({"replay", "f", "--format", "xml"}).status, kExitUsage);
    EXPECT_EQ(parse({"replay", "f", "--pid", "0"}).status, kExitUsage);
    const Parsed bad = parse({"replay", "f", "--events", "fault,pagefault"});
    EXPECT_EQ(bad.status, kExitUsage);
    EXPECT_NE(bad.err.find("pagefault"), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("mmap"), std::string::npos) << "should list the known types: " << bad.err;
}

TEST(ReplayCommandLine, EveryEventTypeNameParses) {
    for (uint16_t t = 1; t <= PT_EV_TYPE_MAX; ++t) {
        const std::string name(event_type_name(static_cast<EventType>(t)));
        EXPECT_EQ(parse_event_types(name), std::vector<uint16_t>{t}) << name;
    }
    EXPECT_THROW(parse_event_types(""), std::invalid_argument);
    EXPECT_THROW(parse_event_types("fault,"), std::invalid_argument);
}

TEST(InfoCommandLine, FileAndForce) {
    const Parsed p = parse({"info", "run.ptr", "--force"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.subcommand, Subcommand::Info);
    EXPECT_EQ(p.cli.info.input_path, "run.ptr");
    EXPECT_TRUE(p.cli.info.force);
    EXPECT_EQ(parse({"info"}).status, kExitUsage);
}

TEST(RecordCommandLine, HelpTextsHaveExamples) {
    for (const char* sub : {"record", "replay"}) {
        const Parsed p = parse({sub, "--help"});
        EXPECT_EQ(p.status, 0);
        EXPECT_NE(p.out.find("Examples"), std::string::npos) << sub << ": " << p.out;
    }
    const Parsed top = parse({"--help"});
    for (const char* word : {"record", "replay", "info"}) {
        EXPECT_NE(top.out.find(word), std::string::npos) << top.out;
    }
}
