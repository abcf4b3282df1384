#include "cli/timeline_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "cli/recording_status.h"
#include "cli/symbol_setup.h"
#include "output/output_stream.h"
#include "pipeline/pipeline.h"
#include "record/record_reader.h"
#include "record/recording_source.h"
#include "timeline/timeline_builder.h"
#include "timeline/timeline_render.h"
#include "timeline/timeline_sink.h"
#include "util/error.h"

namespace pagetrace {

using namespace recording;

int run_timeline_command(const TimelineOptions& options) {
    RecordingReader reader(open_file_source(options.input_path), options.input_path,
                           ReaderOptions{.skip_damaged = options.force});
    require_decodable_events(reader);
    RecordingSource source(reader);

    std::optional<uint32_t> only_pid;
    if (options.pids.size() == 1) only_pid = static_cast<uint32_t>(options.pids[0]);
    const kernel::PageGeometry pages = source.page_geometry();
    TimelineBuilder timeline(options.histories ? HistoryFilter::range(only_pid, options.range_start,
                                                                      options.range_end, pages)
                                               : HistoryFilter::none(),
                             pages);
    // Fault sites only for recordings that name their binaries: older ones
    // print what the release that made them printed.
    auto symbols = make_recording_symbolizer(options.input_path, reader.header(), options.symbols,
                                             options.force);
    if (recording_has_images(reader.header())) {
        timeline.track_fault_sites(symbols.get(), options.symbols.sites);
    }
    TimelineSink sink(timeline);
    Pipeline pipeline(source);
    if (symbols) pipeline.add(*symbols);
    pipeline.add(sink);
    const PipelineStats& stats = pipeline.run();
    pipeline.log_undecodable();

    const auto wanted = [&](uint32_t pid) {
        return options.pids.empty() ||
               std::find(options.pids.begin(), options.pids.end(), static_cast<pid_t>(pid)) !=
                   options.pids.end();
    };
    OutputStream out;
    try {
        if (options.histories) {
            auto histories = timeline.page_histories();
            std::erase_if(histories, [&](const PageHistory& h) { return !wanted(h.pid); });
            if (histories.empty()) {
                spdlog::warn("no page of {} in {:#x}-{:#x} appears in the recording",
                             options.pids.empty() ? "any process" : "the selected processes",
                             options.range_start, options.range_end);
            }
            out.write(format_page_histories(histories, options.format, source.start_ns()));
        } else {
            auto summaries = timeline.summaries();
            std::erase_if(summaries, [&](const ProcessSummary& s) { return !wanted(s.pid); });
            out.write(format_summaries(summaries, options.format, source.start_ns()));
        }
        out.flush();
    } catch (const OutputClosed&) {
        return 0;
    }
    spdlog::debug("{}", format_timeline_stats(timeline.stats()));
    return report_recording_end(reader, fmt::format("{} events and {} snapshots read",
                                                    stats.events.records, stats.snapshots));
}

}  // namespace pagetrace
