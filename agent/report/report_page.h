// The HTML report as one self-contained page: the template (report.html in
// this folder, embedded in the binary at build time: its CSS and the script
// that draws every chart on canvases) with the data inlined as JSON. Nothing
// is fetched when it opens.
#pragma once

#include <string>
#include <vector>

#include "report/report_data.h"
#include "timeline/process_summary.h"

namespace pagetrace {

// What the page says about the recording itself.
struct ReportSource {
    std::string file;
    std::string host;
    std::string kernel;
    std::string command;
    int64_t wall_start_ns = 0;  // 0: unknown
    bool partial = false;
    uint64_t lost_events = 0;
};

// The page's data, as the JSON the template's script reads (tests read it too).
std::string report_json(const ReportData& data, const std::vector<ProcessSummary>& summaries,
                        const ReportSource& source);

// The whole page.
std::string report_page(const ReportData& data, const std::vector<ProcessSummary>& summaries,
                        const ReportSource& source);

}  // namespace pagetrace
