#pragma once

#include "cli/options.h"

namespace pagetrace {

// `pagetrace timeline FILE`: per-process summaries, or page histories.
int run_timeline_command(const TimelineOptions& options);

}  // namespace pagetrace
