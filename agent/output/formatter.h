// Turning events into text lines or JSON Lines. The same formatter serves live
// tracing and replay, so the output is identical byte for byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "decode/event.h"

namespace pagetrace {

enum class OutputFormat { Text, Json };

class EventFormatter {
public:
    virtual ~EventFormatter() = default;
    // Lines printed before the first event ("" for none).
    virtual std::string preamble() const = 0;
    // Appends one event as one line, newline included.
    virtual void append(const Event& event, std::string& out) const = 0;
};

class Symbolizer;

// start_ns: the CLOCK_MONOTONIC time tracing started; text output prints event
// times relative to it. With `symbols`, fault lines also say where their ip
// is: text appends the label after the ip ("ip=0x401136 alpha_touch+0x16"),
// JSON adds "sym", "dso", "src" (and "inlined") when known.
std::unique_ptr<EventFormatter> make_formatter(OutputFormat format, uint64_t start_ns,
                                               Symbolizer* symbols = nullptr);

// Appends `text` as a JSON string literal (quotes included). Bytes that are not
// valid UTF-8 are written as \u00XX escapes so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

}  // namespace pagetrace
