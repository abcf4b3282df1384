// The checked-in recordings under tests/fixtures, read by the real binary:
// replay and info must print exactly the expected outputs (the format stays
// readable across changes), and recordings cut short or damaged give the exit
// status and the warning users rely on. No root needed.
#include <gtest/gtest.h>
#include <zstd.h>

#include <fstream>
#include <sstream>

#include "record/format.h"
#include "record_support.h"
#include "support/subprocess.h"

using namespace pagetrace;
using namespace pagetrace::recording;
using namespace pagetrace::recording::test;

using pagetrace::test::RunResult;

namespace {

const std::string kFixtures = PAGETRACE_FIXTURE_DIR;

// Runs pagetrace with `args` in directory `cwd`, capturing stdout and stderr.
RunResult run_pagetrace(const std::vector<std::string>& args, const std::string& cwd = kFixtures) {
    return pagetrace::test::run_pagetrace(args, {.cwd = cwd});
}

// `info` output without its "binaries" block (the line and the indented
// lines under it).
std::string without_binaries(const std::string& text) {
    std::string out;
    bool in_block = false;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        end = end == std::string::npos ? text.size() : end + 1;
        const std::string line = text.substr(start, end - start);
        start = end;
        if (line.rfind("binaries ", 0) == 0) {
            in_block = true;
            continue;
        }
        if (in_block && line.rfind("  ", 0) == 0) continue;
        in_block = false;
        out += line;
    }
    return out;
}

// Replays a fixture as JSON without symbols (the binaries a recording names
// are this machine's or not, and the expected output must not depend on
// that) and compares it with its expected output, byte for byte.
void expect_replay_json(const std::string& fixture, const std::string& expected) {
    RunResult json = run_pagetrace({"replay", fixture, "--format", "json", "--no-symbols"});
    ASSERT_EQ(json.status, 0) << json.err;
    EXPECT_EQ(json.err, "");
    EXPECT_EQ(json.out, read_file(kFixtures + "/" + expected))
        << "replay of " << fixture << " changed; if the event ABI changed on purpose, run "
           "tests/fixtures/regenerate.sh";
}

}  // namespace

TEST(RecordGolden, ReplayPrintsTheExpectedJsonAndText) {
    expect_replay_json("touch_pages.ptr", "touch_pages.replay.json");
    RunResult text = run_pagetrace({"replay", "touch_pages.ptr", "--no-symbols"});
    ASSERT_EQ(text.status, 0) << text.err;
    EXPECT_EQ(text.out, read_file(kFixtures + "/touch_pages.replay.txt"));
}

// A format-1.3 recording whose faults are stored by columns reads back to
// exactly what was recorded (replay of the recording made at the time).
TEST(RecordGolden, EventsStoredByColumnsReplayAsRecorded) {
    RunResult info = run_pagetrace({"info", "columns.ptr"});
    ASSERT_EQ(info.status, 0) << info.err;
    EXPECT_NE(info.out.find("pagetrace recording 1.3"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("1 events by columns"), std::string::npos) << info.out;
    expect_replay_json("columns.ptr", "columns.replay.json");
}

TEST(RecordGolden, InfoPrintsTheExpectedSummary) {
    RunResult info = run_pagetrace({"info", "touch_pages.ptr"});
    ASSERT_EQ(info.status, 0) << info.err;
    // Whether the recorded binaries are found depends on the machine: that
    // block is left out on both sides (regenerate.sh writes it so).
    EXPECT_EQ(without_binaries(info.out), read_file(kFixtures + "/touch_pages.info.txt"));
    EXPECT_NE(info.out.find("finalized"), std::string::npos);
}

TEST(RecordGolden, FiltersSelectFromTheGoldenOutput) {
    const std::string all = read_file(kFixtures + "/touch_pages.replay.json");
    RunResult faults = run_pagetrace(
        {"replay", "touch_pages.ptr", "--format", "json", "--events", "fault", "--no-symbols"});
    ASSERT_EQ(faults.status, 0) << faults.err;
    std::string expected;
    size_t start = 0;
    while (start < all.size()) {
        const size_t end = all.find('\n', start) + 1;
        const std::string line = all.substr(start, end - start);
        if (line.find("\"type\":\"fault\"") != std::string::npos) expected += line;
        start = end;
    }
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(faults.out, expected);
}

TEST(RecordGolden, AKilledRecordingIsReadUpToItsLastChunkWithAWarning) {
    const uint64_t size = read_bytes(kFixtures + "/killed.ptr").size();
    RunResult info = run_pagetrace({"info", "killed.ptr"});
    EXPECT_EQ(info.status, kExitPartial) << info.err;
    EXPECT_NE(info.out.find("NOT FINALIZED"), std::string::npos) << info.out;
    RunResult replay = run_pagetrace({"replay", "killed.ptr", "--format", "json"});
    EXPECT_EQ(replay.status, kExitPartial) << replay.err;
    EXPECT_NE(replay.err.find("not finalized"), std::string::npos) << replay.err;
    EXPECT_NE(replay.err.find("byte " + std::to_string(size)), std::string::npos) << replay.err;
    EXPECT_GT(std::count(replay.out.begin(), replay.out.end(), '\n'), 1000);
}

TEST(RecordGolden, ARecordingCutInsideAChunkGivesWhatCameBefore) {
    RunResult full = run_pagetrace({"replay", "killed.ptr", "--format", "json"});
    RunResult cut = run_pagetrace({"replay", "cut_in_chunk.ptr", "--format", "json"});
    EXPECT_EQ(cut.status, kExitPartial) << cut.err;
    EXPECT_NE(cut.err.find("cut short"), std::string::npos) << cut.err;
    EXPECT_EQ(full.out.compare(0, cut.out.size(), cut.out), 0);
}

TEST(RecordGolden, ADamagedRecordingIsAnErrorNamingTheOffsetAndForceGoesOn) {
    TempDir dir;
    Bytes bad = read_bytes(kFixtures + "/touch_pages.ptr");
    RecordingReader reader(memory_source(bad), "x");
    Chunk first;
    ASSERT_TRUE(reader.next(first));
    bad[first.offset + kChunkHeaderSize + 1] ^= std::byte{0xff};
    write_bytes(dir.file("bad.ptr"), bad);

    RunResult replay = run_pagetrace({"replay", dir.file("bad.ptr")});
    EXPECT_EQ(replay.status, kExitFailure) << replay.err;
    EXPECT_NE(replay.err.find("byte " + std::to_string(first.offset)), std::string::npos)
        << replay.err;
    EXPECT_NE(replay.err.find("--force"), std::string::npos) << replay.err;
    RunResult forced = run_pagetrace({"replay", dir.file("bad.ptr"), "--force"});
    EXPECT_EQ(forced.status, kExitPartial) << forced.err;
    EXPECT_NE(forced.err.find("skipped"), std::string::npos) << forced.err;
    RunResult info = run_pagetrace({"info", dir.file("bad.ptr")});
    EXPECT_EQ(info.status, kExitFailure) << info.err;
    EXPECT_NE(info.out.find("DAMAGED at byte " + std::to_string(first.offset)), std::string::npos)
        << info.out;
}

TEST(RecordGolden, ClearErrorsForFilesThatAreNotRecordings) {
    RunResult missing = run_pagetrace({"replay", "/no/such/file.ptr"});
    EXPECT_EQ(missing.status, kExitFailure);
    EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
    EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;
    RunResult text = run_pagetrace({"info", "touch_pages.replay.txt"});
    EXPECT_EQ(text.status, kExitFailure);
    EXPECT_NE(text.err.find("not a pagetrace recording"), std::string::npos) << text.err;
    RunResult dir = run_pagetrace({"replay", "."});
    EXPECT_EQ(dir.status, kExitFailure);
    EXPECT_NE(dir.err.find("directory"), std::string::npos) << dir.err;
}

namespace {

// Runs every case of a manifest in tests/fixtures/abi2 and compares standard
// output and exit status with the expected files; returns the cases run.
size_t run_manifest(const std::string& manifest_name) {
    const std::string dir = kFixtures + "/abi2";
    std::ifstream manifest(dir + "/" + manifest_name);
    EXPECT_TRUE(manifest) << "missing " << dir << "/" << manifest_name;
    std::string line;
    size_t cases = 0;
    while (std::getline(manifest, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        std::string name, word;
        std::vector<std::string> args;
        words >> name;
        while (words >> word) args.push_back(word);
        SCOPED_TRACE(name + ": pagetrace " + line.substr(line.find_first_not_of(' ', name.size())));
        const Bytes packed = read_bytes(dir + "/expected/" + name + ".out.zst");
        const unsigned long long raw = ZSTD_getFrameContentSize(packed.data(), packed.size());
        if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN) {
            ADD_FAILURE() << "expected/" << name << ".out.zst is not a zstd frame with its size";
            continue;
        }
        std::string expected(raw, '\0');
        EXPECT_EQ(ZSTD_decompress(expected.data(), expected.size(), packed.data(), packed.size()),
                  raw);
        const int status = std::stoi(read_file(dir + "/expected/" + name + ".status"));

        const RunResult run = run_pagetrace(args, dir);
        EXPECT_EQ(run.status, status) << run.err;
        if (run.out != expected) {
            // The first line that differs, rather than two outputs of thousands of lines.
            size_t at = 0, line_no = 1;
            while (at < run.out.size() && at < expected.size() && run.out[at] == expected[at]) {
                if (run.out[at] == '\n') ++line_no;
                ++at;
            }
            const auto line_of = [&](const std::string& text) {
                const size_t begin = text.rfind('\n', at == 0 ? 0 : at - 1);
                const size_t from = begin == std::string::npos || at == 0 ? 0 : begin + 1;
                return text.substr(from, text.find('\n', from) - from);
            };
            ADD_FAILURE() << "output differs at line " << line_no << "\n  expected: "
                          << line_of(expected) << "\n  printed:  " << line_of(run.out);
        }
        ++cases;
    }
    return cases;
}

}  // namespace

// Recordings made by the release before the pipeline rework (event ABI 2,
// format 1.0): replay and info print exactly what that release printed for
// them (tests/fixtures/abi2/MANIFEST lists the cases and how they were made).
TEST(RecordGolden, RecordingsOfEarlierReleasesReplayAsThoseReleasesPrintedThem) {
    EXPECT_GE(run_manifest("MANIFEST"), 12u);
}

// Their timelines, as the current model builds them (TIMELINE: regenerated on
// purpose when the model learns more, so a change here is never an accident).
TEST(RecordGolden, RecordingsOfEarlierReleasesBuildTheExpectedTimelines) {
    EXPECT_GE(run_manifest("TIMELINE"), 17u);
}
