// The writer a page-history entry says its fields to (the *Info structs'
// write(), page_event.h). One writer makes one form: the JSON members of the
// entry (`,"key":value` each) or the rest of its text line (words joined by
// one space). An entry says each field once, with both forms:
//
//   out.field("reason", migrate_reason_name(reason));  // "reason":"compaction" | compaction
//   out.field("pages", pages, "{} pages", pages);      // "pages":3 | 3 pages
//   out.json("old_pfn", old_pfn);                      // JSON only
//   out.text("UNEXPLAINED: no migration seen");        // text only
//
// Text is formatted only by a text writer and JSON only by a JSON writer, so
// neither form pays for the other.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "output/formatter.h"

namespace pagetrace {

// "850 ns", "12.3 us", "4.56 ms", "1.23 s"
std::string timeline_duration_text(uint64_t ns);

// A JSON value written as a hex string ("0x7f0000001000").
struct Hex {
    uint64_t value = 0;
};

// Text arguments formatted only when text is written.
struct Duration {
    uint64_t ns = 0;  // as timeline_duration_text()
};
struct TaskName {
    std::string_view comm;  // printable(), "-" when empty
};

class EntryFields {
public:
    EntryFields(std::string& out, OutputFormat format)
        : out_(out), json_(format == OutputFormat::Json) {}

    // A field in both forms; the text is the value itself.
    template <typename V>
    void field(const char* key, const V& value) {
        field(key, value, "{}", value);
    }
    // A field in both forms, its text formatted from args.
    template <typename V, typename... Args>
    void field(const char* key, const V& value, fmt::format_string<Args...> text_format,
               Args&&... args) {
        json(key, value);
        text(text_format, std::forward<Args>(args)...);
    }

    // A JSON member only: numbers (integers), true/false (bool), hex strings
    // (Hex), a number or null (std::optional), strings (anything else).
    template <typename V>
    void json(const char* key, const V& value) {
        if (!json_) return;
        out_ += ",\"";
        out_ += key;
        out_ += "\":";
        if constexpr (std::is_same_v<V, bool>) {
            out_ += value ? "true" : "false";
        } else if constexpr (std::is_integral_v<V>) {
            append_number(value);
        } else if constexpr (std::is_same_v<V, Hex>) {
            fmt::format_to(std::back_inserter(out_), R"("{:#x}")", value.value);
        } else if constexpr (std::is_same_v<V, std::optional<uint64_t>>) {
            if (value) {
                append_number(*value);
            } else {
                out_ += "null";
            }
        } else {
            append_json_string(out_, std::string_view(value));
        }
    }

    // Words of the text line only.
    template <typename... Args>
    void text(fmt::format_string<Args...> text_format, Args&&... args) {
        if (json_) return;
        if (!first_word_) out_ += ' ';
        first_word_ = false;
        fmt::format_to(std::back_inserter(out_), text_format, std::forward<Args>(args)...);
    }
    // Text that goes on the last word, with no space before it.
    template <typename... Args>
    void attach(fmt::format_string<Args...> text_format, Args&&... args) {
        if (json_) return;
        first_word_ = false;
        fmt::format_to(std::back_inserter(out_), text_format, std::forward<Args>(args)...);
    }

private:
    template <typename N>
    void append_number(N value) {
        const fmt::format_int digits(value);
        out_.append(digits.data(), digits.size());
    }

    std::string& out_;
    bool json_;
    bool first_word_ = true;
};

}  // namespace pagetrace

template <>
struct fmt::formatter<pagetrace::Duration> : fmt::formatter<std::string_view> {
    auto format(pagetrace::Duration d, format_context& ctx) const {
        const std::string text = pagetrace::timeline_duration_text(d.ns);
        return fmt::formatter<std::string_view>::format(text, ctx);
    }
};

template <>
struct fmt::formatter<pagetrace::TaskName> : fmt::formatter<std::string_view> {
    auto format(pagetrace::TaskName name, format_context& ctx) const -> decltype(ctx.out());
};
