#pragma once

#include "cli/options.h"

namespace pagetrace {

// `pagetrace replay FILE`: prints the recorded events with the formatters of
// `trace`. Returns 0 for a complete recording, recording::kExitPartial (3)
// for a readable but partial one, 1 for a damaged one (without --force).
int run_replay_command(const ReplayOptions& options);

}  // namespace pagetrace
