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

void log_run_summary(uint64_t events, size_t processes, double seconds,
                     std::span<const uint64_t> per_type, uint64_t lost) {
    const std::string line = describe_run(events, processes, seconds, per_type, lost);
    if (lost) {
        spdlog::warn("{} (the ring buffer was full; raise --ring-size)", line);
    } else {
        spdlog::info("{}", line);
    }
}

}  // namespace pagetrace
