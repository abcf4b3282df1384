// The sink that prints events: text lines or JSON Lines, to standard output or
// a file, the same way live and on replay. Output is buffered and written in
// large blocks; when a live trace goes quiet, what is buffered is written at
// once, so a terminal or a pipe sees events while they happen.
#pragma once

#include <memory>
#include <string>

#include "output/formatter.h"
#include "output/output_stream.h"
#include "pipeline/event_sink.h"

namespace pagetrace {

class EventPrinter : public EventSink {
public:
    // Writes the formatter's preamble at once. An empty path is standard
    // output. Throws Error if the file cannot be created.
    // With `symbols`, fault lines say where their ip is (see make_formatter).
    EventPrinter(OutputFormat format, uint64_t start_ns, const std::string& path = "",
                 Symbolizer* symbols = nullptr);

    void on_event(const Event& event, std::span<const std::byte> raw) override;
    void on_idle() override { out_.flush(); }
    void on_end() override { out_.flush(); }

    uint64_t printed() const { return printed_; }

private:
    std::unique_ptr<EventFormatter> formatter_;
    OutputStream out_;
    uint64_t printed_ = 0;
};

}  // namespace pagetrace
