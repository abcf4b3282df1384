#include "cli/trace_command.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <memory>
#include <optional>
#include <unordered_set>

#include "cli/run_summary.h"
#include "cli/target_setup.h"
#include "cli/stop_signals.h"
#include "decode/decoder.h"
#include "output/output_stream.h"
#include "proc/command_launcher.h"
#include "timeline/timeline_builder.h"
#include "timeline/timeline_render.h"
#include "trace/live_trace.h"
#include "util/error.h"

namespace pagetrace {

namespace {

// Counts per event type and the processes seen, for the summary on stderr.
struct TraceSummary {
    std::array<uint64_t, PT_EV_TYPE_MAX + 1> per_type{};
    uint64_t malformed = 0;
    std::unordered_set<uint32_t> pids;
};

}  // namespace

int run_trace_command(const TraceOptions& options) {
    LiveTraceOptions live = make_live_trace_options(options);

    std::unique_ptr<OutputStream> out = options.output_path.empty()
                                            ? std::make_unique<OutputStream>()
                                            : std::make_unique<OutputStream>(options.output_path);
    TraceSummary summary;
    std::unique_ptr<EventFormatter> formatter;
    Event event;

    std::optional<TimelineBuilder> timeline;
    if (options.timeline) timeline.emplace();
    LiveTrace::SnapshotHandler on_snapshot;
    if (timeline) on_snapshot = [&](const PagemapSnapshot& snap) { timeline->add_snapshot(snap); };
    LiveTrace trace(std::move(live), [&](std::span<const std::byte> record) {
        if (auto err = decode_event(record, event)) {
            ++summary.malformed;
            spdlog::warn("skipping a malformed event record: {}", err->message);
            return;
        }
        ++summary.per_type[static_cast<uint16_t>(event.type)];
        if (event.pid) summary.pids.insert(event.pid);
        if (timeline) timeline->add(event);
        formatter->append(event, out->buffer());
        out->maybe_flush();
    }, on_snapshot);
    formatter = make_formatter(options.format, trace.start_ns());
    out->write(formatter->preamble());
    out->flush();

    const auto* stop = install_stop_signal_handlers();
    LiveTraceResult result;
    try {
        result = trace.run(stop);
        out->flush();
    } catch (const OutputClosed&) {
        spdlog::debug("output closed by its reader; stopping");
        return 0;
    }

    const double seconds = static_cast<double>(monotonic_ns() - trace.start_ns()) / 1e9;
    log_run_summary(result.records, summary.pids.size(), seconds, summary.per_type, result.lost);
    if (summary.malformed) spdlog::warn("{} malformed records skipped", summary.malformed);
    if (timeline) {
        std::fputs(
            format_summaries(timeline->summaries(), OutputFormat::Text, trace.start_ns()).c_str(),
            stderr);
    }
    return result.exit_status;
}

}  // namespace pagetrace
