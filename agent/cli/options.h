// What the command line asked for, parsed and validated.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "bpf/hooks.h"
#include "output/formatter.h"

namespace pagetrace {

// What to trace and how to set up the kernel side: shared by `trace` and
// `record`, which take the same target and selector options.
struct TargetOptions {
    bool follow_children = true;
    bool fault_outcome = true;         // --no-fault-outcome: faults emitted at entry, no outcome
    uint32_t latency_every = kDefaultLatencyEvery;  // --latency-every: 1 in N faults has latency_ns
    std::string user;                  // --user: run the command as this user
    std::vector<pid_t> pids;           // -p
    std::vector<std::string> command;  // -- CMD ARGS
    std::string match_comm;            // --comm: processes with this name, now and later
    std::string cgroup_path;           // --cgroup: processes in this cgroup v2, now and later
    uint64_t event_mask = 0;           // --events: PT_EVENT_BIT of each type (0: all)
    uint64_t ring_bytes = 16ull << 20;
    uint32_t max_frames = 1u << 20;    // --max-frames: frame index for migration attribution
    uint64_t snapshot_interval_ns = 0; // --snapshot-interval: periodic pagemap snapshots
    std::string btf_path;
};

// How instruction pointers are turned into code locations.
struct SymbolOptions {
    bool symbols = true;             // --no-symbols: ips only
    std::vector<std::string> symfs;  // --symfs DIR: where a recording's binaries are looked for first
    size_t sites = 20;               // --sites N: fault sites listed per process in summaries
};

struct TraceOptions : TargetOptions {
    OutputFormat format = OutputFormat::Text;
    std::string output_path;  // -o: instead of stdout
    bool timeline = false;    // --timeline: the per-process summary at the end
    SymbolOptions symbols;
};

struct RecordOptions : TargetOptions {
    std::string output_path;  // -o FILE (required)
    bool force = false;       // replace an existing file or symlink
    std::vector<std::string> argv;  // pagetrace's own command line, for the header
};

struct ReplayOptions {
    std::string input_path;
    OutputFormat format = OutputFormat::Text;
    std::vector<pid_t> pids;             // --pid: only these processes
    std::vector<uint16_t> event_types;   // --events: only these types (empty: all)
    std::string output_path;             // -o: instead of stdout
    bool force = false;                  // skip damaged chunks
    SymbolOptions symbols;
};

struct TimelineOptions {
    std::string input_path;
    OutputFormat format = OutputFormat::Text;
    std::vector<pid_t> pids;  // --pid: only these processes
    // --addr / --range: page histories of [range_start, range_end) instead of
    // the summaries.
    bool histories = false;
    uint64_t range_start = 0;
    uint64_t range_end = 0;
    bool force = false;
    SymbolOptions symbols;
};

struct ExportOptions {
    std::string input_path;
    std::string output_path;                 // -o (required)
    uint64_t interval_ns = 1'000'000;        // --interval: of the per-interval counters
    uint64_t long_fault_ns = 100'000;        // --long-fault: minor faults at least this long
    bool force = false;                      // skip damaged chunks
};

struct ReportOptions {
    std::string input_path;
    std::string output_path;  // -o (required)
    std::vector<pid_t> pids;  // --pid: only these processes
    bool force = false;       // skip damaged chunks
};

struct SnapshotOptions {
    pid_t pid = 0;
    OutputFormat format = OutputFormat::Text;
    bool pages = false;  // --pages: every page, not just per mapping
};

struct FeaturesOptions {
    std::string btf_path;
};

struct InfoOptions {
    std::string input_path;
    bool force = false;  // skip damaged chunks
    std::vector<std::string> symfs;  // --symfs DIR: where the recorded binaries are looked for
};

enum class Subcommand {
    None,
    Trace,
    Record,
    Replay,
    Info,
    Features,
    Timeline,
    Snapshot,
    Export,
    Report
};

struct CommandLine {
    Subcommand subcommand = Subcommand::None;
    int verbosity = 0;
    TraceOptions trace;
    RecordOptions record;
    ReplayOptions replay;
    InfoOptions info;
    FeaturesOptions features;
    TimelineOptions timeline;
    SnapshotOptions snapshot;
    ExportOptions export_trace;
    ReportOptions report;
};

// "500ms", "2s", "1m", "250" (milliseconds) -> nanoseconds. Throws std::invalid_argument.
uint64_t parse_duration_ns(const std::string& text);

// "0x7f00...", "7f00..." (hex) or decimal -> an address. Throws std::invalid_argument.
uint64_t parse_address(const std::string& text);

// Parses argv. Returns -1 when the program should go on with `out`, or the exit
// status to return right away (after --help, --version or a usage error, which
// have been printed to `out_stream`/`err_stream`).
int parse_command_line(int argc, const char* const* argv, CommandLine& out,
                       std::ostream& out_stream, std::ostream& err_stream);

// "64M", "16MiB", "1g", "4096" -> bytes. Throws std::invalid_argument.
uint64_t parse_size(const std::string& text);

// "fault,mmap" -> their type numbers. Throws std::invalid_argument naming an
// unknown type and listing the known ones.
std::vector<uint16_t> parse_event_types(const std::string& text);

}  // namespace pagetrace
