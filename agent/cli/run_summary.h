// The line `trace` and `record` print on stderr when they end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "pipeline/pipeline.h"

namespace pagetrace {

// "N events from P process(es) in S s (C1 type1, C2 type2, ...); L lost".
// per_type is indexed by event type; `lost` records and types without
// events are left out of the list in parentheses (left out whole if empty).
std::string describe_run(uint64_t events, size_t processes, double seconds,
                         std::span<const uint64_t> per_type, uint64_t lost);

// Logs describe_run's line for what a pipeline passed on in `elapsed_ns`
// (events the kernel delivered; `lost` records are counted as lost events):
// as a warning that suggests a larger ring buffer when events were lost, else
// as info. Records that could not be decoded get a warning each kind.
void log_run_summary(const PipelineStats& stats, uint64_t elapsed_ns);

}  // namespace pagetrace
