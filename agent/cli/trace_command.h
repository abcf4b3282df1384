#pragma once

#include "cli/options.h"

namespace pagetrace {

// `pagetrace trace`: returns the exit status (the command's, with -- COMMAND).
int run_trace_command(const TraceOptions& options);

}  // namespace pagetrace
