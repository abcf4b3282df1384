#pragma once

#include "cli/options.h"

namespace pagetrace {

// `pagetrace record`: traces like `trace` and writes the raw events to a
// recording file. Returns the exit status (the command's, with -- COMMAND).
int run_record_command(const RecordOptions& options);

}  // namespace pagetrace
