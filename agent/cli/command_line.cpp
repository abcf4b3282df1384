#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <ostream>
#include <stdexcept>

#include "cli/options.h"
#include "decode/event.h"
#include "util/error.h"

#ifndef PAGETRACE_VERSION
#define PAGETRACE_VERSION "unknown"
#endif

namespace pagetrace {

uint64_t parse_size(const std::string& text) {
    size_t pos = 0;
    unsigned long long value = 0;
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
        throw std::invalid_argument("not a size: '" + text + "' (examples: 4096, 64M, 1G)");
    }
    try {
        value = std::stoull(text, &pos, 10);
    } catch (const std::exception&) {
        throw std::invalid_argument("not a size: '" + text + "' (examples: 4096, 64M, 1G)");
    }
    std::string unit = text.substr(pos);
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int shift = 0;
    if (unit.empty() || unit == "b") {
        shift = 0;
    } else if (unit == "k" || unit == "kb" || unit == "kib") {
        shift = 10;
    } else if (unit == "m" || unit == "mb" || unit == "mib") {
        shift = 20;
    } else if (unit == "g" || unit == "gb" || unit == "gib") {
        shift = 30;
    } else {
        throw std::invalid_argument("unknown size unit in '" + text + "' (use K, M or G)");
    }
    if (shift && value > (~0ull >> shift)) throw std::invalid_argument("size too large: " + text);
    return static_cast<uint64_t>(value) << shift;
}

uint64_t parse_duration_ns(const std::string& text) {
    size_t pos = 0;
    double value = 0;
    try {
        value = std::stod(text, &pos);
    } catch (const std::exception&) {
        throw std::invalid_argument("not a duration: '" + text + "' (examples: 500ms, 2s, 1m)");
    }
    const std::string unit = text.substr(pos);
    double scale = 1e6;  // milliseconds by default
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1e3;
    else if (unit == "ms" || unit.empty()) scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m" || unit == "min") scale = 60e9;
    else throw std::invalid_argument("unknown duration unit in '" + text + "' (ms, s or m)");
    if (value < 0 || value * scale > 1e18) throw std::invalid_argument("bad duration: " + text);
    return static_cast<uint64_t>(value * scale);
}

uint64_t parse_address(const std::string& text) {
    std::string digits = text;
    int base = 10;
    if (digits.rfind("0x", 0) == 0 || digits.rfind("0X", 0) == 0) {
        digits = digits.substr(2);
        base = 16;
    } else if (digits.find_first_of("abcdefABCDEF") != std::string::npos) {
        base = 16;
    }
    size_t pos = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(digits, &pos, base);
    } catch (const std::exception&) {
        throw std::invalid_argument("not an address: '" + text + "' (e.g. 0x7f3c5e1d4000)");
    }
    if (pos != digits.size() || digits.empty()) {
        throw std::invalid_argument("not an address: '" + text + "' (e.g. 0x7f3c5e1d4000)");
    }
    return value;
}

namespace {

constexpr const char* kTraceFooter = R"(
Examples:
  pagetrace trace -- ./my-program --its-args      start a program and trace it
  pagetrace trace -p 1234                         attach to a running process
  pagetrace trace -p 1234,5678 --format json      several processes, as JSON Lines
  pagetrace trace --user nobody -- ./workload     run the command as another user
  pagetrace trace -o trace.txt -- make -j2        write the events to a file
  pagetrace trace --comm postgres --events migrate,tlb_flush
                                                  every postgres process: migrations, flushes
  pagetrace trace --cgroup /sys/fs/cgroup/system.slice/nginx.service

Events (choose with --events; all by default):
  fault          page fault on a user address: ip, read/write/exec, user or kernel
                 mode, outcome (minor/major/unaccounted) and latency
  mmap munmap mremap brk mprotect madvise
                 the VMA syscalls, with their results or errno
  tlb_flush      TLB flushes of the process's address space, with the range when
                 known (e.g. the munmap that caused it)
  migrate        a page moved to another frame (compaction, NUMA balancing, ...),
                 old and new PFN, attributed to the page's owner even though
                 another task did it
  migrate_batch  totals of each migrate_pages() call that moved pages of ours
  fork exec exit the traced processes' lifecycle
  lost           events dropped because the ring buffer was full (raise --ring-size)
`pagetrace features` shows which of these this kernel can give.

With -- COMMAND, tracing starts at the command's execve (nothing of it is
missed), follows its children, ends when the whole process tree has exited, and
pagetrace exits with the command's exit status. With -p it ends when those
processes have exited; with --comm or --cgroup it runs until Ctrl-C.
Ctrl-C stops tracing cleanly.
Needs root (CAP_BPF + CAP_PERFMON) and a kernel with BTF.)";

constexpr const char* kRecordFooter = R"(
Examples:
  pagetrace record -o run.ptr -- ./my-program     record a program from its first instruction
  pagetrace record -o run.ptr -p 1234             record a running process until it exits
  pagetrace replay run.ptr                        then print it, on any machine, without root

Takes the same target options as trace. The file is created new (mode 0600);
an existing file is refused unless --force. Events are stored raw, in chunks
compressed with zstd and written at least once a second, so a recorder that is
killed leaves a file readable up to its last second. Ctrl-C, SIGTERM and
SIGHUP stop recording cleanly and finalize the file. On a terminal, stderr
shows a live status line. The file format is described in docs/format.md.)";

constexpr const char* kReplayFooter = R"(
Examples:
  pagetrace replay run.ptr                        all events, as text
  pagetrace replay run.ptr --format json | jq .   as JSON Lines, the schema of trace
  pagetrace replay run.ptr --pid 1234 --events fault,mmap

Prints exactly what `trace` printed live for the same events. Exit status: 0
for a complete recording; 3 when it is readable but partial (not finalized,
cut short, or damaged chunks skipped with --force), with a warning saying
where it stops; 1 when it is damaged (the error names the byte offset and the
chunk) or not a recording.)";

constexpr const char* kExportFooter = R"(
Examples:
  pagetrace export run.ptr --format perfetto -o run.pftrace
  pagetrace export run.ptr --format perfetto -o run.pftrace --interval 10ms --long-fault 50us

Writes a native Perfetto trace (protobuf). Open it at https://ui.perfetto.dev
("Open trace file"), or with trace_processor. In it, per process:
  counters   resident and mapped bytes (the timeline's counts), and per interval
             minor faults, major faults, first touches, pages discarded, pages
             migrated, TLB flushes
  mappings   one slice per mmap'd region, from its mmap to the munmap that
             removed the last of it (overlapping regions in separate lanes)
  instants   migrate, migrate_batch, tlb_flush (with a range), madvise, exec,
             fork (with a flow arrow to the child), exit
and per thread that faulted, a slice for each stall: every major fault and each
minor fault at least --long-fault long. Lost events are marked on a track of
their own. Times are the recording's CLOCK_MONOTONIC, tied to the wall clock.
The file is written as it is made, in bounded memory. Exit status as replay's:
0 complete, 3 partial (with a warning), 1 damaged or not a recording.)";

constexpr const char* kReportFooter = R"(
Examples:
  pagetrace report run.ptr -o run.html           then open run.html in any browser
  pagetrace report run.ptr -o run.html --pid 1234

Writes one self-contained HTML page (scripts and data inline, no network):
per process an address x time heatmap (one band per mapping, gaps between
them collapsed; colour by faults, first touches, migrations, discards or TLB
flushes; markers for migrations and discards), resident and mapped bytes
over time stacked by mapping, the fault latency histogram (minor vs major),
the time from mmap to first touch, the top fault sites by instruction
pointer, and the timeline's summary. Drag across any chart to select a time
range: every chart follows. Data is pre-binned to a fixed budget (the page says
which), so the file stays a few MiB for any recording. Exit status as
replay's: 0 complete, 3 partial (with a warning), 1 damaged or not a
recording.)";

// The target and selector options `trace` and `record` share, and the raw
// values that are validated after parsing.
struct TargetOptionValues {
    std::string ring_size = "16M";
    std::string events;
    std::string snapshot_interval;
    bool no_follow = false;
    bool no_fault_outcome = false;
};

void add_target_options(CLI::App* sub, TargetOptions& target, TargetOptionValues& values) {
    sub->add_flag("--no-follow", values.no_follow,
                  "Do not trace children the traced processes create (followed by default)");
    auto* user_opt = sub->add_option("--user", target.user,
                                     "Run COMMAND as this user (name or uid) instead of root");
    auto* pid_opt = sub->add_option("-p,--pid", target.pids,
                                    "Attach to running process(es): PID[,PID...]")
                        ->delimiter(',')
                        ->check(CLI::PositiveNumber);
    auto* comm_opt = sub->add_option(
        "--comm", target.match_comm,
        "Trace processes named NAME: those running now and any that exec with that name");
    auto* cgroup_opt = sub->add_option(
        "--cgroup", target.cgroup_path,
        "Trace processes in this cgroup v2 directory: those in it now and any that exec in it");
    sub->add_option("--events", values.events,
                    "Only these event types, filtered in the kernel: TYPE[,TYPE...] (default: "
                    "all; e.g. fault,mmap,munmap,migrate)");
    sub->add_flag("--no-fault-outcome", values.no_fault_outcome,
                  "Faults without outcome and latency_ns, each emitted at its entry");
    sub->add_option("--latency-every", target.latency_every,
                    "latency_ns for one fault in N (1: every fault; 0: none). The outcome (minor, "
                    "major, unaccounted) of every fault comes from the thread's own fault "
                    "counters; latency needs a software perf event at each fault's end, "
                    "opened on the traced threads only (processes --comm/--cgroup select at "
                    "exec are timed from when pagetrace sees the exec)")
        ->capture_default_str()
        ->check(CLI::Range(0u, 1u << 30));
    sub->add_option("--ring-size", values.ring_size,
                    "Size of the kernel ring buffer (power of two, e.g. 16M, 256M)")
        ->capture_default_str();
    sub->add_option("--snapshot-interval", values.snapshot_interval,
                    "Also snapshot every traced process's pagemap this often (e.g. 500ms, 5s); "
                    "snapshots feed recordings and the timeline");
    sub->add_option("--max-frames", target.max_frames,
                    "Frames the kernel-side index holds to attribute migrations and reclaim "
                    "to their owner: the frames several processes may map (file pages, shared "
                    "anonymous ones); pages only one process maps are found through the "
                    "kernel's reverse map and need no entry")
        ->capture_default_str()
        ->check(CLI::Range(1024u, 1u << 26));
    sub->add_option("--btf", target.btf_path, "Kernel BTF to use instead of /sys/kernel/btf/vmlinux")
        ->check(CLI::ExistingFile);
    auto* cmd_opt = sub->add_option("command", target.command,
                                    "-- COMMAND [ARGS...]: start COMMAND and trace it");
    pid_opt->excludes(cmd_opt);
    user_opt->excludes(pid_opt);
    comm_opt->excludes(cmd_opt);
    cgroup_opt->excludes(cmd_opt);
    user_opt->excludes(comm_opt);
    user_opt->excludes(cgroup_opt);
}

// Checks what CLI11 cannot; throws CLI::ValidationError.
void finish_target_options(TargetOptions& target, const TargetOptionValues& values) {
    target.follow_children = !values.no_follow;
    target.fault_outcome = !values.no_fault_outcome;
    if (target.pids.empty() && target.command.empty() && target.match_comm.empty() &&
        target.cgroup_path.empty()) {
        throw CLI::ValidationError("nothing to trace",
                                   "give -p PID, --comm NAME, --cgroup PATH or -- COMMAND [ARGS...]");
    }
    if (target.match_comm.size() >= PT_COMM_LEN) {
        throw CLI::ValidationError("--comm", "process names have at most " +
                                                 std::to_string(PT_COMM_LEN - 1) +
                                                 " characters (the kernel's comm)");
    }
    if (!values.snapshot_interval.empty()) {
        try {
            target.snapshot_interval_ns = parse_duration_ns(values.snapshot_interval);
        } catch (const std::invalid_argument& e) {
            throw CLI::ValidationError("--snapshot-interval", e.what());
        }
        if (target.snapshot_interval_ns < 10'000'000) {
            throw CLI::ValidationError("--snapshot-interval", "at least 10ms");
        }
    }
    if (!values.events.empty()) {
        try {
            for (uint16_t type : parse_event_types(values.events)) {
                target.event_mask |= PT_EVENT_BIT(type);
            }
        } catch (const std::invalid_argument& e) {
            throw CLI::ValidationError("--events", e.what());
        }
    }
    try {
        target.ring_bytes = parse_size(values.ring_size);
    } catch (const std::invalid_argument& e) {
        throw CLI::ValidationError("--ring-size", e.what());
    }
    const uint64_t ring = target.ring_bytes;
    if (ring < 4096 || (ring & (ring - 1)) != 0 || ring > (1ull << 31)) {
        throw CLI::ValidationError(
            "--ring-size", "must be a power of two between 4K and 2G, got " + values.ring_size);
    }
}

OutputFormat format_from(const std::string& name) {
    return name == "json" ? OutputFormat::Json : OutputFormat::Text;
}

}  // namespace

std::vector<uint16_t> parse_event_types(const std::string& text) {
    std::vector<uint16_t> types;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        const std::string name = text.substr(start, end - start);
        const std::optional<EventType> found = event_type_from_name(name);
        if (!found) {
            std::string known;
            for (uint16_t t = 1; t <= PT_EV_TYPE_MAX; ++t) {
                if (!known.empty()) known += ",";
                known += event_type_name(static_cast<EventType>(t));
            }
            throw std::invalid_argument("unknown event type '" + name + "' (known: " + known + ")");
        }
        const auto type = static_cast<uint16_t>(*found);
        if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
        start = end + 1;
    }
    return types;
}

int parse_command_line(int argc, const char* const* argv, CommandLine& out,
                       std::ostream& out_stream, std::ostream& err_stream) {
    CLI::App app{"pagetrace: what the Linux memory manager does to a process, page by page.\n"
                 "Streams page faults and memory mappings of the processes you choose,\n"
                 "recorded in the kernel with eBPF.",
                 "pagetrace"};
    app.footer(
        "\nExamples:\n"
        "  sudo pagetrace trace -- ./my-program     trace a program from its first instruction\n"
        "  sudo pagetrace trace -p 1234             attach to a running process\n"
        "  sudo pagetrace record -o run.ptr -- ./my-program    record to a file\n"
        "  pagetrace replay run.ptr --format json   print a recording, anywhere, without root\n"
        "  pagetrace info run.ptr                   what a recording holds\n"
        "  pagetrace export run.ptr --format perfetto -o run.pftrace   for ui.perfetto.dev\n"
        "  pagetrace report run.ptr -o run.html     one HTML page: heatmap and charts\n"
        "  pagetrace trace --help                   all options of trace\n");
    app.set_version_flag("--version", std::string("pagetrace ") + PAGETRACE_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    app.add_flag("-v,--verbose", out.verbosity,
                 "More diagnostics on stderr (-vv: also libbpf's debug messages)");

    // Symbolization options: --no-symbols everywhere symbols are shown,
    // --symfs where a recording's binaries are looked for, --sites for summaries.
    const auto add_symbol_options = [](CLI::App* sub, SymbolOptions& o, bool recording,
                                       bool summaries) {
        sub->add_flag("--no-symbols", [&o](int64_t) { o.symbols = false; },
                      "Instruction pointers only: no function, file or line for them");
        if (recording) {
            sub->add_option("--symfs", o.symfs,
                            "Look for the recorded binaries under DIR first (DIR/PATH, then "
                            "DIR/NAME); only files with the recorded build-id are used")
                ->check(CLI::ExistingDirectory);
        }
        if (summaries) {
            sub->add_option("--sites", o.sites, "Fault sites listed per process in summaries")
                ->check(CLI::NonNegativeNumber)
                ->capture_default_str();
        }
    };

    // trace
    auto* trace = app.add_subcommand("trace", "Trace processes live and stream their events");
    trace->footer(kTraceFooter);
    std::string trace_format = "text";
    trace->add_option("--format", trace_format,
                      "Output format: text (aligned lines) or json (JSON Lines)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    trace->add_option("-o,--output", out.trace.output_path,
                      "Write events to FILE instead of standard output");
    trace->add_flag("--timeline", out.trace.timeline,
                    "At the end, print each process's page timeline summary to stderr");
    add_symbol_options(trace, out.trace.symbols, false, true);
    TargetOptionValues trace_values;
    add_target_options(trace, out.trace, trace_values);

    // record
    auto* record = app.add_subcommand(
        "record", "Record processes' events to a file, to replay and analyse later, anywhere");
    record->footer(kRecordFooter);
    record->add_option("-o,--output", out.record.output_path, "The recording file to create")
        ->required();
    record->add_flag("--force", out.record.force,
                     "Replace FILE if it exists (atomically; a symlink is replaced, not followed)");
    TargetOptionValues record_values;
    add_target_options(record, out.record, record_values);

    // replay
    auto* replay = app.add_subcommand(
        "replay", "Print the events of a recording, as `trace` prints them live (no root needed)");
    replay->footer(kReplayFooter);
    replay->add_option("file", out.replay.input_path, "The recording")->required();
    std::string replay_format = "text";
    replay->add_option("--format", replay_format,
                       "Output format: text (aligned lines) or json (JSON Lines)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    replay->add_option("--pid", out.replay.pids,
                       "Only events of these processes: PID[,PID...] (lost events are kept)")
        ->delimiter(',')
        ->check(CLI::PositiveNumber);
    std::string replay_events;
    auto* events_opt = replay->add_option(
        "--events", replay_events, "Only these event types: TYPE[,TYPE...] (e.g. fault,mmap)");
    replay->add_option("-o,--output", out.replay.output_path,
                       "Write events to FILE instead of standard output");
    replay->add_flag("--force", out.replay.force,
                     "Skip damaged chunks and go on with the next sound one");
    add_symbol_options(replay, out.replay.symbols, true, false);

    // timeline
    auto* timeline = app.add_subcommand(
        "timeline", "What happened to each page of each process in a recording: summaries, or "
                    "page histories with --addr/--range (no root needed)");
    timeline->footer(R"(
Examples:
  pagetrace timeline run.ptr                          per-process summary
  pagetrace timeline run.ptr --pid 1234 --format json
  pagetrace timeline run.ptr --addr 0x7f3c5e1d4000    one page: mapped, touched, frames, moves
  pagetrace timeline run.ptr --range 0x7f3c5e1d4000-0x7f3c5e1e4000

The JSON schema is in agent/timeline/README.md.)");
    timeline->add_option("file", out.timeline.input_path, "The recording")->required();
    std::string timeline_format = "text";
    timeline->add_option("--format", timeline_format, "text or json (JSON Lines)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    timeline->add_option("--pid", out.timeline.pids, "Only these processes: PID[,PID...]")
        ->delimiter(',')
        ->check(CLI::PositiveNumber);
    std::string timeline_addr, timeline_range;
    auto* addr_opt = timeline->add_option("--addr", timeline_addr, "History of the page at ADDR");
    auto* range_opt = timeline->add_option("--range", timeline_range,
                                           "Histories of the pages in START-END (END exclusive)");
    addr_opt->excludes(range_opt);
    timeline->add_flag("--force", out.timeline.force,
                       "Skip damaged chunks and go on with the next sound one");
    add_symbol_options(timeline, out.timeline.symbols, true, true);

    // export
    auto* export_cmd = app.add_subcommand(
        "export", "Convert a recording to a Perfetto trace, to look at in ui.perfetto.dev");
    export_cmd->footer(kExportFooter);
    export_cmd->add_option("file", out.export_trace.input_path, "The recording")->required();
    std::string export_format = "perfetto";
    export_cmd->add_option("--format", export_format, "Output format: perfetto (protobuf)")
        ->check(CLI::IsMember({"perfetto"}))
        ->capture_default_str();
    export_cmd->add_option("-o,--output", out.export_trace.output_path,
                           "The trace file to write (e.g. run.pftrace)")
        ->required();
    std::string export_interval = "1ms";
    export_cmd->add_option("--interval", export_interval,
                           "Interval of the per-interval counters (faults, first touches, ...)")
        ->capture_default_str();
    std::string export_long_fault = "100us";
    export_cmd->add_option("--long-fault", export_long_fault,
                           "Minor faults at least this long become slices on their thread")
        ->capture_default_str();
    export_cmd->add_flag("--force", out.export_trace.force,
                         "Skip damaged chunks and go on with the next sound one");

    // report
    auto* report = app.add_subcommand(
        "report", "Write a recording as one self-contained HTML page: heatmap, charts, summary");
    report->footer(kReportFooter);
    report->add_option("file", out.report.input_path, "The recording")->required();
    report->add_option("-o,--output", out.report.output_path, "The HTML file to write")
        ->required();
    report->add_option("--pid", out.report.pids, "Only these processes: PID[,PID...]")
        ->delimiter(',')
        ->check(CLI::PositiveNumber);
    report->add_flag("--force", out.report.force,
                     "Skip damaged chunks and go on with the next sound one");

    // snapshot
    auto* snapshot = app.add_subcommand(
        "snapshot", "A one-off dump of a process's pages from /proc/PID/pagemap");
    snapshot->add_option("-p,--pid", out.snapshot.pid, "The process")
        ->required()
        ->check(CLI::PositiveNumber);
    std::string snapshot_format = "text";
    snapshot->add_option("--format", snapshot_format, "text or json (JSON Lines)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    snapshot->add_flag("--pages", out.snapshot.pages,
                       "Every present or swapped page with its frame, not only per mapping");

    // features
    auto* features = app.add_subcommand(
        "features", "Show which kernel hooks this machine offers and where each event comes from");
    features->add_option("--btf", out.features.btf_path,
                         "Kernel BTF to use instead of /sys/kernel/btf/vmlinux")
        ->check(CLI::ExistingFile);

    // info
    auto* info = app.add_subcommand("info", "Describe a recording: where, when, what it holds");
    info->add_option("file", out.info.input_path, "The recording")->required();
    info->add_flag("--force", out.info.force, "Skip damaged chunks and go on with the next sound one");
    info->add_option("--symfs", out.info.symfs,
                     "Look for the recorded binaries under DIR first (DIR/PATH, then DIR/NAME)")
        ->check(CLI::ExistingDirectory);

    try {
        app.parse(argc, argv);
        if (trace->parsed()) {
            out.subcommand = Subcommand::Trace;
            out.trace.format = format_from(trace_format);
            finish_target_options(out.trace, trace_values);
        } else if (record->parsed()) {
            out.subcommand = Subcommand::Record;
            finish_target_options(out.record, record_values);
            out.record.argv.assign(argv, argv + argc);
        } else if (replay->parsed()) {
            out.subcommand = Subcommand::Replay;
            out.replay.format = format_from(replay_format);
            if (events_opt->count()) {
                try {
                    out.replay.event_types = parse_event_types(replay_events);
                } catch (const std::invalid_argument& e) {
                    throw CLI::ValidationError("--events", e.what());
                }
            }
        } else if (info->parsed()) {
            out.subcommand = Subcommand::Info;
        } else if (features->parsed()) {
            out.subcommand = Subcommand::Features;
        } else if (timeline->parsed()) {
            out.subcommand = Subcommand::Timeline;
            out.timeline.format = format_from(timeline_format);
            try {
                if (!timeline_addr.empty()) {
                    out.timeline.histories = true;
                    out.timeline.range_start = parse_address(timeline_addr) & ~0xfffull;
                    out.timeline.range_end = out.timeline.range_start + 4096;
                } else if (!timeline_range.empty()) {
                    const auto dash = timeline_range.find('-');
                    if (dash == std::string::npos) {
                        throw std::invalid_argument("give START-END, e.g. 0x7f0000-0x7f8000");
                    }
                    out.timeline.histories = true;
                    out.timeline.range_start = parse_address(timeline_range.substr(0, dash));
                    out.timeline.range_end = parse_address(timeline_range.substr(dash + 1));
                    if (out.timeline.range_end <= out.timeline.range_start) {
                        throw std::invalid_argument("END must be above START");
                    }
                }
            } catch (const std::invalid_argument& e) {
                throw CLI::ValidationError(timeline_addr.empty() ? "--range" : "--addr", e.what());
            }
        } else if (export_cmd->parsed()) {
            out.subcommand = Subcommand::Export;
            try {
                out.export_trace.interval_ns = parse_duration_ns(export_interval);
            } catch (const std::invalid_argument& e) {
                throw CLI::ValidationError("--interval", e.what());
            }
            if (out.export_trace.interval_ns < 1000) {
                throw CLI::ValidationError("--interval", "at least 1us");
            }
            try {
                out.export_trace.long_fault_ns = parse_duration_ns(export_long_fault);
            } catch (const std::invalid_argument& e) {
                throw CLI::ValidationError("--long-fault", e.what());
            }
        } else if (report->parsed()) {
            out.subcommand = Subcommand::Report;
        } else if (snapshot->parsed()) {
            out.subcommand = Subcommand::Snapshot;
            out.snapshot.format = format_from(snapshot_format);
        }
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, out_stream, err_stream);
        return code == 0 ? 0 : kExitUsage;
    }
    return -1;
}

}  // namespace pagetrace
