#include "cli/report_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cli/recording_status.h"
#include "output/output_stream.h"
#include "pipeline/pipeline.h"
#include "record/record_reader.h"
#include "record/recording_source.h"
#include "report/fault_sites.h"
#include "report/report_collector.h"
#include "report/report_page.h"
#include "timeline/timeline_builder.h"

namespace pagetrace {

using namespace recording;

int run_report_command(const ReportOptions& options) {
    RecordingReader reader(open_file_source(options.input_path), options.input_path,
                           ReaderOptions{.skip_damaged = options.force});
    require_decodable_events(reader);
    RecordingSource source(reader);
    const RecordingHeader& header = reader.header();
    const kernel::PageGeometry pages = source.page_geometry();

    TimelineBuilder timeline(HistoryFilter::none(), pages);
    ReportCollector collector(timeline, pages, header.start_ns);
    EventFilter filter;
    for (pid_t pid : options.pids) filter.pids.push_back(static_cast<uint32_t>(pid));
    Pipeline pipeline(source, std::move(filter));
    pipeline.add(collector);
    const PipelineStats& stats = pipeline.run();
    pipeline.log_undecodable();

    std::vector<ProcessSummary> summaries = timeline.summaries();
    if (!options.pids.empty()) {
        std::erase_if(summaries, [&](const ProcessSummary& s) {
            return std::find(options.pids.begin(), options.pids.end(), static_cast<pid_t>(s.pid)) ==
                   options.pids.end();
        });
    }
    ReportData data = collector.data(HexFaultSiteLabeler{});
    std::erase_if(data.processes, [&](const ReportProcess& p) {
        return !options.pids.empty() && std::find(options.pids.begin(), options.pids.end(),
                                                  static_cast<pid_t>(p.pid)) == options.pids.end();
    });

    ReportSource about;
    about.file = options.input_path;
    about.host = header.host_name;
    about.kernel = header.kernel_release;
    for (const std::string& arg : header.command) about.command += (about.command.empty() ? "" : " ") + arg;
    if (about.command.empty()) {
        for (uint32_t pid : header.pids) about.command += fmt::format("{}-p {}", about.command.empty() ? "" : " ", pid);
    }
    about.wall_start_ns = header.clock_offset_ns ? header.wall_ns(header.start_ns) : 0;
    about.partial = reader.end_kind() != EndKind::Complete || !reader.damage().empty();
    about.lost_events = stats.events.lost;

    const std::string page = report_page(data, summaries, about);
    OutputStream out(options.output_path);
    out.write(page);
    out.flush();
    spdlog::debug("report: {} processes, columns of {} ns, address cells of {} page(s), {} bytes",
                  data.processes.size(), data.column_ns, data.granule_pages, page.size());
    return report_recording_end(reader, fmt::format("{} events in the report {}",
                                                    stats.events.records, options.output_path));
}

}  // namespace pagetrace
