// Rendering of the timeline: per-process summaries and page histories, as
// aligned text for people or JSON Lines for programs. The JSON schema is in
// agent/timeline/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "output/formatter.h"
#include "timeline/entry_fields.h"  // timeline_duration_text()
#include "timeline/timeline_builder.h"

namespace pagetrace {

// Text times are printed in seconds since base_ns (the start of tracing, as
// the event formatter does); JSON carries raw ts_ns and ignores it.
std::string format_summaries(const std::vector<ProcessSummary>& summaries, OutputFormat format,
                             uint64_t base_ns);
std::string format_page_histories(const std::vector<PageHistory>& histories, OutputFormat format,
                                  uint64_t base_ns);

// One summary or one history: a JSON object and a newline, or a text block.
void append_summary_json(std::string& out, const ProcessSummary& summary);
void append_summary_text(std::string& out, const ProcessSummary& summary, uint64_t base_ns);
void append_history_json(std::string& out, const PageHistory& history);
void append_history_text(std::string& out, const PageHistory& history, uint64_t base_ns);

// "timeline: 3 processes, 16384 pages tracked at peak, 17.2 bytes/page, ..."
std::string format_timeline_stats(const TimelineStats& stats);

}  // namespace pagetrace
