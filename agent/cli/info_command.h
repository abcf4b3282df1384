#pragma once

#include "cli/options.h"

namespace pagetrace {

// `pagetrace info FILE`: what a recording is and holds, on standard output.
// Exit status as for replay: 0 complete, 3 partial, 1 damaged.
int run_info_command(const InfoOptions& options);

}  // namespace pagetrace
