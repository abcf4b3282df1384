// Turning the target options `trace` and `record` share into a live tracing
// setup, with every check that can fail made before any BPF work.
#pragma once

#include "cli/options.h"
#include "trace/live_source.h"

namespace pagetrace {

// Resolves the command (127/126 if it cannot run), the user, and checks
// privileges and BTF. Throws Error.
LiveTraceOptions make_live_trace_options(const TargetOptions& target);

}  // namespace pagetrace
