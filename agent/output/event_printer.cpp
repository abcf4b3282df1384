#include "output/event_printer.h"

namespace pagetrace {

EventPrinter::EventPrinter(OutputFormat format, uint64_t start_ns, const std::string& path,
                           Symbolizer* symbols)
    : formatter_(make_formatter(format, start_ns, symbols)), out_(path) {
    out_.write(formatter_->preamble());
    out_.flush();
}

void EventPrinter::on_event(const Event& event, std::span<const std::byte>) {
    formatter_->append(event, out_.buffer());
    out_.maybe_flush();
    ++printed_;
}

}  // namespace pagetrace
