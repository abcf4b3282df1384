#include "cli/run_summary.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "decode/event.h"
#include "pagetrace/events.h"

namespace pagetrace {

std::string describe_run(uint64_t events, size_t processes, double seconds,
                         std::span<const uint64_t> per_type, uint64_t lost) {
    std::string types;
    for (size_t t = 1; t < per_type.size(); ++t) {
        if (t == PT_EV_LOST || per_type[t] == 0) continue;
        if (!types.empty()) types += ", ";
        types += fmt::format("{} {}", per_type[t], event_type_name(static_cast<EventType>(t)));
    }
    return fmt::format("{} events from {} process{} in {:.2f} s{}{}; {} lost", events, processes,
                       processes == 1 ? "" : "es", seconds, types.empty() ? "" : " (",
                       types.empty() ? "" : types + ")", lost);
}

void log_run_summary(const PipelineStats& stats, uint64_t elapsed_ns) {
    const EventTally& events = stats.events;
    const uint64_t lost = events.lost;
    const std::string line = describe_run(events.delivered(), events.pids.size(),
                                          static_cast<double>(elapsed_ns) / 1e9, events.per_type,
                                          lost);
    for (const auto& [problem, count] : stats.undecodable) {
        spdlog::warn("{} record(s) from the ring buffer could not be decoded: {}", count, problem);
    }
    if (lost) {
        spdlog::warn("{} (the ring buffer was full; raise --ring-size)", line);
    } else {
        spdlog::info("{}", line);
    }
}

}  // namespace pagetrace
