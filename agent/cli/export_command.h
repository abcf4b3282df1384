#pragma once

#include "cli/options.h"

namespace pagetrace {

// `pagetrace export FILE --format perfetto -o OUT.pftrace`: the recording as
// a Perfetto trace. Exit status as replay's: 0 complete, 3 partial, 1 damaged.
int run_export_command(const ExportOptions& options);

}  // namespace pagetrace
