#include "cli/export_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/recording_status.h"
#include "export/perfetto_export.h"
#include "export/perfetto_trace.h"
#include "output/output_stream.h"
#include "pipeline/pipeline.h"
#include "record/record_reader.h"
#include "record/recording_source.h"
#include "timeline/timeline_builder.h"

namespace pagetrace {

using namespace recording;

int run_export_command(const ExportOptions& options) {
    RecordingReader reader(open_file_source(options.input_path), options.input_path,
                           ReaderOptions{.skip_damaged = options.force});
    require_decodable_events(reader);
    RecordingSource source(reader);

    OutputStream out(options.output_path);
    const RecordingHeader& header = reader.header();
    perfetto::PerfettoTrace trace(out, header.start_ns, header.clock_offset_ns);
    const kernel::PageGeometry pages = source.page_geometry();
    TimelineBuilder timeline(HistoryFilter::none(), pages);
    PerfettoExportSink sink(trace, timeline, pages,
                            PerfettoExportOptions{.interval_ns = options.interval_ns,
                                                  .long_fault_ns = options.long_fault_ns,
                                                  .start_ns = header.start_ns});
    Pipeline pipeline(source);
    pipeline.add(sink);
    const PipelineStats& stats = pipeline.run();
    pipeline.log_undecodable();
    trace.finish();

    const PerfettoExportStats& made = sink.stats();
    const perfetto::PerfettoTraceStats& written = trace.stats();
    spdlog::debug("{} processes, {} threads, {} mapping slices, {} fault slices, {} instants, "
                  "{} counter points; {} tracks, {} packets",
                  made.processes, made.threads, made.mapping_slices, made.fault_slices,
                  made.instants, made.counter_points, written.tracks, written.packets);
    if (written.late_events) {
        spdlog::warn("{} event(s) came more than 1 s out of time order and were moved up to the "
                     "trace's reorder window",
                     written.late_events);
    }
    return report_recording_end(
        reader, fmt::format("{} events exported to {} ({} bytes)", stats.events.records,
                            options.output_path, written.bytes));
}

}  // namespace pagetrace
