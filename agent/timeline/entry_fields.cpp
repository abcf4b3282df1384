#include "timeline/entry_fields.h"

#include "output/names.h"

namespace pagetrace {

std::string timeline_duration_text(uint64_t ns) {
    if (ns < 1000) return fmt::format("{} ns", ns);
    if (ns < 999'950) return fmt::format("{:.1f} us", static_cast<double>(ns) / 1e3);
    if (ns < 999'995'000) return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
    return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

}  // namespace pagetrace

auto fmt::formatter<pagetrace::TaskName>::format(pagetrace::TaskName name,
                                                 format_context& ctx) const -> decltype(ctx.out()) {
    if (name.comm.empty()) return fmt::formatter<std::string_view>::format("-", ctx);
    return fmt::formatter<std::string_view>::format(pagetrace::printable(name.comm), ctx);
}
