#include "cli/record_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "cli/run_summary.h"
#include "cli/target_setup.h"
#include "cli/stop_signals.h"
#include "decode/decoder.h"
#include "decode/event.h"
#include "output/names.h"
#include "proc/process_info.h"
#include "record/output_file.h"
#include "record/process_snapshot.h"
#include "record/record_writer.h"
#include "timeline/timeline_builder.h"
#include "timeline/timeline_render.h"
#include "trace/live_trace.h"
#include "util/error.h"

#ifndef PAGETRACE_VERSION
#define PAGETRACE_VERSION "unknown"
#endif

namespace pagetrace {

using namespace recording;

namespace {

// zstd level for chunks: level 1 is fast enough to keep up with a fault storm
// on one core and already shrinks fault records about sevenfold.
constexpr int kCompressionLevel = 1;

int64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// CLOCK_REALTIME - CLOCK_MONOTONIC, read three times to place the monotonic
// reading between two realtime ones.
int64_t wall_clock_offset_ns() {
    const int64_t before = clock_ns(CLOCK_REALTIME);
    const int64_t mono = clock_ns(CLOCK_MONOTONIC);
    const int64_t after = clock_ns(CLOCK_REALTIME);
    return before + (after - before) / 2 - mono;
}

RecordingHeader make_header(const RecordOptions& options, uint64_t start_ns) {
    RecordingHeader h;
    h.page_size = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
    h.start_ns = start_ns;
    h.clock_offset_ns = wall_clock_offset_ns();
    struct utsname u{};
    if (::uname(&u) == 0) {
        h.kernel_release = u.release;
        h.host_name = u.nodename;
        h.machine = u.machine;
    }
    h.agent_version = std::string("pagetrace ") + PAGETRACE_VERSION;
    h.agent_argv = options.argv;
    h.command = options.command;
    for (pid_t pid : options.pids) h.pids.push_back(static_cast<uint32_t>(pid));
    h.options = fmt::format("follow_children={}\nring_size={}\n", options.follow_children ? 1 : 0,
                            options.ring_bytes);
    if (!options.user.empty()) h.options += "user=" + options.user + "\n";
    if (!options.match_comm.empty()) h.options += "comm=" + options.match_comm + "\n";
    if (!options.cgroup_path.empty()) h.options += "cgroup=" + options.cgroup_path + "\n";
    if (options.event_mask) {
        std::string names;
        for (uint16_t t = 1; t <= PT_EV_TYPE_MAX; ++t) {
            if (!(options.event_mask & PT_EVENT_BIT(t))) continue;
            if (!names.empty()) names += ",";
            names += event_type_name(static_cast<EventType>(t));
        }
        h.options += "events=" + names + "\n";
    }
    if (!options.fault_outcome) h.options += "fault_outcome=0\n";
    return h;
}

// The one-line live status on a terminal: redrawn in place with \r.
class StatusLine {
public:
    explicit StatusLine(uint64_t start_ns) : enabled_(::isatty(STDERR_FILENO) == 1), start_ns_(start_ns) {}
    bool enabled() const { return enabled_; }

    void show(const RecordingProgress& p) {
        const double seconds = static_cast<double>(monotonic_ns() - start_ns_) / 1e9;
        const std::string line =
            fmt::format("\r\033[Krecording {:.1f} s: {} events, {} written, {} lost", seconds,
                        p.records, human_size(p.file_bytes), p.lost);
        write_all(line);
        shown_ = true;
    }
    void clear() {
        if (shown_) write_all("\r\033[K");
        shown_ = false;
    }

private:
    static void write_all(const std::string& text) {
        size_t done = 0;
        while (done < text.size()) {
            const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
            if (n <= 0) return;  // a status line is not worth an error
            done += static_cast<size_t>(n);
        }
    }

    bool enabled_;
    uint64_t start_ns_;
    bool shown_ = false;
};

}  // namespace

int run_record_command(const RecordOptions& options) {
    LiveTraceOptions live = make_live_trace_options(options);

    // Created before loading BPF so a bad path fails fast; removed again if
    // tracing cannot start.
    OutputFile file(options.output_path, options.force);
    const auto* stop = install_stop_signal_handlers();

    std::optional<RecordWriter> writer;
    // The same summary `trace --timeline` prints, built while recording.
    TimelineBuilder timeline;
    Event event;
    LiveTrace trace(
        std::move(live),
        [&](std::span<const std::byte> record) {
        writer->add_record(record);
        if (!decode_event(record, event)) timeline.add(event);
        // The exec'd program's map and command line, read as soon as we learn of it.
        if (auto h = peek_header(record); h && h->type == PT_EV_EXEC) {
            writer->add_process(read_process_snapshot(h->tgid, SnapshotReason::Exec, monotonic_ns()));
        }
        },
        [&](const PagemapSnapshot& snapshot) {
            writer->add_pagemap(snapshot);
            timeline.add_snapshot(snapshot);
        });

    ChunkFileWriter chunks(file.take_fd(), options.output_path, kCompressionLevel);
    chunks.write_header(make_header(options, trace.start_ns()));
    file.publish();

    StatusLine status(trace.start_ns());
    RecordWriterOptions writer_options;
    if (status.enabled()) {
        writer_options.progress = [&status](const RecordingProgress& p) { status.show(p); };
    }
    // A failed write must end the recording even if no further event comes:
    // the same clean stop as Ctrl-C, which is not passed on to the command.
    writer_options.on_failure = [main = ::pthread_self()] { ::pthread_kill(main, SIGINT); };
    writer.emplace(std::move(chunks), std::move(writer_options));

    for (pid_t pid : options.pids) {
        const pid_t tgid = thread_group_of(pid).value_or(pid);
        writer->add_process(read_process_snapshot(static_cast<uint32_t>(tgid),
                                                  SnapshotReason::Attach, monotonic_ns()));
    }

    LiveTraceResult result;
    try {
        result = trace.run(stop);
    } catch (...) {
        status.clear();
        throw;  // the writer's destructor keeps what was recorded, unfinalized
    }

    Footer footer;
    footer.end_ns = monotonic_ns();
    footer.end_reason = result.stopped_by_signal ? EndReason::Signal : EndReason::TargetsEnded;
    footer.signal = static_cast<uint32_t>(result.stop_signal);
    footer.exit_status = result.exit_status;
    RecordingTotals totals;
    try {
        totals = writer->finish(footer);
    } catch (...) {
        status.clear();
        throw;
    }
    status.clear();

    const double seconds = static_cast<double>(footer.end_ns - trace.start_ns()) / 1e9;
    const EventTally& events = totals.events;
    log_run_summary(events.records, events.pids.size(), seconds, events.per_type, events.lost);
    const double records = events.records ? static_cast<double>(events.records) : 1.0;
    spdlog::info("wrote {}: {} in {} chunks, {:.1f} bytes/event ({:.1f} raw)", options.output_path,
                 human_size(totals.file_bytes), totals.chunks,
                 static_cast<double>(totals.file_bytes) / records,
                 static_cast<double>(events.event_bytes) / records);
    if (totals.malformed) {
        spdlog::warn("{} malformed records from the ring buffer were not stored", totals.malformed);
    }
    std::fputs(format_summaries(timeline.summaries(), OutputFormat::Text, trace.start_ns()).c_str(),
               stderr);
    return result.exit_status;
}

}  // namespace pagetrace
