#pragma once

#include "cli/options.h"

namespace pagetrace {

// `pagetrace report FILE -o OUT.html`: one self-contained HTML page of the
// recording. Exit status as replay's: 0 complete, 3 partial, 1 damaged.
int run_report_command(const ReportOptions& options);

}  // namespace pagetrace
