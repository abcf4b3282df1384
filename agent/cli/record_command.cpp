#include "cli/record_command.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "cli/run_summary.h"
#include "cli/stop_signals.h"
#include "cli/symbol_setup.h"
#include "cli/target_setup.h"
#include "output/names.h"
#include "pipeline/pipeline.h"
#include "record/output_file.h"
#include "record/record_writer.h"
#include "record/recording_header.h"
#include "symbols/symbol_capture.h"
#include "timeline/timeline_builder.h"
#include "timeline/timeline_render.h"
#include "timeline/timeline_sink.h"
#include "trace/live_source.h"
#include "util/error.h"

namespace pagetrace {

using namespace recording;

namespace {

// zstd level for chunks: level 1 is fast enough to keep up with a fault storm
// on one core and already shrinks fault records about sevenfold.
constexpr int kCompressionLevel = 1;

RecordingSetup recording_setup(const RecordOptions& options) {
    RecordingSetup s;
    s.argv = options.argv;
    s.command = options.command;
    for (pid_t pid : options.pids) s.pids.push_back(static_cast<uint32_t>(pid));
    s.follow_children = options.follow_children;
    s.ring_bytes = options.ring_bytes;
    s.user = options.user;
    s.match_comm = options.match_comm;
    s.cgroup_path = options.cgroup_path;
    s.event_mask = options.event_mask;
    s.fault_outcome = options.fault_outcome;
    s.latency_every = options.latency_every;
    return s;
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
    LiveSource source(std::move(live), install_stop_signal_handlers());

    ChunkFileWriter chunks(file.take_fd(), options.output_path, kCompressionLevel);
    chunks.write_header(make_recording_header(recording_setup(options), source.start_ns()));
    file.publish();

    StatusLine status(source.start_ns());
    RecordWriterOptions writer_options;
    if (status.enabled()) {
        writer_options.progress = [&status](const RecordingProgress& p) { status.show(p); };
    }
    // A failed write must end the recording even if no further event comes:
    // the same clean stop as Ctrl-C, which is not passed on to the command.
    writer_options.on_failure = [main = ::pthread_self()] { ::pthread_kill(main, SIGINT); };
    RecordWriter writer(std::move(chunks), std::move(writer_options));
    // The same summary `trace --timeline` prints, built while recording.
    TimelineBuilder timeline(HistoryFilter::none(), source.page_geometry());
    // Its fault sites, located from this machine's files as they run.
    auto symbols = make_live_symbolizer(SymbolOptions{});
    timeline.track_fault_sites(symbols.get());
    TimelineSink timeline_sink(timeline);
    // What replay will need that exists only here and now: kernel functions
    // and JIT maps.
    SymbolCapture capture([&writer](const CapturedSymbols& s) { writer.add_symbols(s); });

    Pipeline pipeline(source);
    pipeline.add(writer);
    pipeline.add(capture);
    pipeline.add(*symbols);
    pipeline.add(timeline_sink);
    try {
        pipeline.run();
    } catch (...) {
        status.clear();
        throw;  // the writer's destructor keeps what was recorded, unfinalized
    }

    const LiveTraceResult& result = source.result();
    Footer footer;
    footer.end_ns = monotonic_ns();
    footer.end_reason = result.stopped_by_signal ? EndReason::Signal : EndReason::TargetsEnded;
    footer.signal = static_cast<uint32_t>(result.stop_signal);
    footer.exit_status = result.exit_status;
    RecordingTotals totals;
    try {
        totals = writer.finish(footer);
    } catch (...) {
        status.clear();
        throw;
    }
    status.clear();

    log_run_summary(pipeline.stats(), footer.end_ns - source.start_ns());
    const EventTally& events = totals.events;
    const double records = events.records ? static_cast<double>(events.records) : 1.0;
    spdlog::info("wrote {}: {} in {} chunks, {:.1f} bytes/event ({:.1f} raw)", options.output_path,
                 human_size(totals.file_bytes), totals.chunks,
                 static_cast<double>(totals.file_bytes) / records,
                 static_cast<double>(events.event_bytes) / records);
    if (totals.malformed) {
        spdlog::warn("{} records from the ring buffer could not be decoded and were not stored",
                     totals.malformed);
    }
    std::fputs(format_summaries(timeline.summaries(), OutputFormat::Text, source.start_ns()).c_str(),
               stderr);
    return result.exit_status;
}

}  // namespace pagetrace
