#include "cli/trace_command.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>

#include "cli/run_summary.h"
#include "cli/stop_signals.h"
#include "cli/symbol_setup.h"
#include "cli/target_setup.h"
#include "output/event_printer.h"
#include "pipeline/pipeline.h"
#include "timeline/timeline_builder.h"
#include "timeline/timeline_render.h"
#include "timeline/timeline_sink.h"
#include "trace/live_source.h"

namespace pagetrace {

int run_trace_command(const TraceOptions& options) {
    LiveSource source(make_live_trace_options(options), install_stop_signal_handlers());
    auto symbols = make_live_symbolizer(options.symbols);
    EventPrinter printer(options.format, source.start_ns(), options.output_path, symbols.get());
    std::optional<TimelineBuilder> timeline;
    std::optional<TimelineSink> timeline_sink;

    Pipeline pipeline(source);
    if (symbols) pipeline.add(*symbols);  // first: the sinks after it look ips up
    pipeline.add(printer);
    if (options.timeline) {
        timeline.emplace(HistoryFilter::none(), source.page_geometry());
        timeline->track_fault_sites(symbols.get(), options.symbols.sites);
        timeline_sink.emplace(*timeline);
        pipeline.add(*timeline_sink);
    }
    try {
        pipeline.run();
    } catch (const OutputClosed&) {
        spdlog::debug("output closed by its reader; stopping");
        return 0;
    }

    const PipelineStats& stats = pipeline.stats();
    log_run_summary(stats, monotonic_ns() - source.start_ns());
    if (timeline) {
        std::fputs(
            format_summaries(timeline->summaries(), OutputFormat::Text, source.start_ns()).c_str(),
            stderr);
    }
    return source.result().exit_status;
}

}  // namespace pagetrace
