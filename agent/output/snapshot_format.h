// `pagetrace snapshot` output: per mapping its range, permissions, backing and
// page counts; per page (with --pages) its frame and flags.
#pragma once

#include <string>

#include "output/formatter.h"
#include "proc/snapshot.h"

namespace pagetrace {

std::string format_snapshot(const PagemapSnapshot& snapshot, OutputFormat format, bool pages);

}  // namespace pagetrace
