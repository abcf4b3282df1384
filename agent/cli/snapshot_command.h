#pragma once

#include "cli/options.h"

namespace pagetrace {

// `pagetrace snapshot -p PID`: a one-off dump of a process's pages.
int run_snapshot_command(const SnapshotOptions& options);

}  // namespace pagetrace
