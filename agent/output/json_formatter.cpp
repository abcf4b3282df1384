#include <fmt/format.h>

#include <iterator>

#include "output/formatter.h"
#include "output/names.h"
#include "util/error.h"

namespace pagetrace {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if there is none.
size_t utf8_sequence_length(std::string_view s, size_t i) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    size_t len = 0;
    uint32_t min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    uint32_t cp = c & (0x3f >> (len - 1));
    for (size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

class JsonFormatter final : public EventFormatter {
public:
    std::string preamble() const override { return {}; }

    void append(const Event& e, std::string& out) const override {
        auto it = std::back_inserter(out);
        fmt::format_to(it, R"({{"type":"{}","ts_ns":{},"pid":{},"tid":{},"comm":)",
                       event_type_name(e.type), e.ts_ns, e.pid, e.tid);
        append_json_string(out, e.comm);
        fmt::format_to(it, R"(,"cpu":{})", e.cpu);
        std::visit([&](const auto& d) { fields(d, out); }, e.data);
        out += "}\n";
    }

private:
    static void hex_field(std::string& out, const char* key, uint64_t value) {
        fmt::format_to(std::back_inserter(out), R"(,"{}":"{:#x}")", key, value);
    }
    static void error_field(std::string& out, int32_t err) {
        if (err) fmt::format_to(std::back_inserter(out), R"(,"error":"{}")", errno_name(err));
    }

    static void fields(const FaultData& d, std::string& out) {
        hex_field(out, "addr", d.addr);
        hex_field(out, "ip", d.ip);
        auto it = std::back_inserter(out);
        // Fields a source on this kernel could not give are left out, never guessed.
        if (d.access != Access::Unknown) {
            fmt::format_to(it, R"(,"access":"{}")", access_name(d.access));
        }
        fmt::format_to(it, R"(,"mode":"{}")", d.mode == FaultMode::User ? "user" : "kernel");
        if (d.outcome != FaultOutcome::Unknown) {
            fmt::format_to(it, R"(,"outcome":"{}")", outcome_name(d.outcome));
        }
        if (d.outcome == FaultOutcome::Minor || d.outcome == FaultOutcome::Major) {
            fmt::format_to(it, R"(,"latency_ns":{})", d.latency_ns);
        }
    }
    static void fields(const MmapData& d, std::string& out) {
        hex_field(out, "addr", d.addr);
        auto it = std::back_inserter(out);
        fmt::format_to(it, R"(,"len":{},"prot":"{}","flags":"{}","fd":{},"pgoff":{})", d.len,
                       prot_string(d.prot), mmap_flags_string(d.flags), d.fd, d.pgoff);
        error_field(out, d.err);
    }
    static void fields(const MunmapData& d, std::string& out) {
        hex_field(out, "addr", d.addr);
        fmt::format_to(std::back_inserter(out), R"(,"len":{})", d.len);
        error_field(out, d.err);
    }
    static void fields(const ForkData& d, std::string& out) {
        fmt::format_to(std::back_inserter(out), R"(,"child_pid":{},"child_start_ns":{})",
                       d.child_pid, d.child_start_ns);
    }
    static void fields(const ExecData& d, std::string& out) {
        out += R"(,"filename":)";
        append_json_string(out, d.filename);
    }
    static void fields(const ExitData& d, std::string& out) {
        const uint32_t sig = d.status & 0x7f;
        auto it = std::back_inserter(out);
        if (sig == 0) {
            fmt::format_to(it, R"(,"code":{})", (d.status >> 8) & 0xff);
        } else {
            fmt::format_to(it, R"(,"code":{},"signal":"{}")", 128 + sig,
                           signal_name(static_cast<int>(sig)));
        }
        fmt::format_to(it, R"(,"start_ns":{})", d.start_ns);
    }
    static void fields(const MremapData& d, std::string& out) {
        hex_field(out, "old_addr", d.old_addr);
        fmt::format_to(std::back_inserter(out), R"(,"old_len":{})", d.old_len);
        hex_field(out, "new_addr", d.new_addr);
        fmt::format_to(std::back_inserter(out), R"(,"new_len":{},"flags":"{}")", d.new_len,
                       mremap_flags_string(d.flags));
        error_field(out, d.err);
    }
    static void fields(const BrkData& d, std::string& out) {
        hex_field(out, "addr", d.addr);
        hex_field(out, "ret", d.ret);
    }
    static void fields(const MprotectData& d, std::string& out) {
        hex_field(out, "addr", d.addr);
        fmt::format_to(std::back_inserter(out), R"(,"len":{},"prot":"{}")", d.len,
                       prot_string(d.prot));
        error_field(out, d.err);
    }
    static void fields(const MadviseData& d, std::string& out) {
        hex_field(out, "addr", d.addr);
        fmt::format_to(std::back_inserter(out), R"(,"len":{},"advice":"{}")", d.len,
                       madvise_advice_name(d.advice));
        error_field(out, d.err);
    }
    static void fields(const TlbFlushData& d, std::string& out) {
        auto it = std::back_inserter(out);
        fmt::format_to(it, R"(,"reason":"{}")", tlb_reason_name(d.reason));
        if (d.pages == PT_TLB_FLUSH_ALL) {
            out += R"(,"pages":"all")";
        } else {
            fmt::format_to(it, R"(,"pages":{})", d.pages);
        }
        if (d.start || d.end) {
            hex_field(out, "start", d.start);
            hex_field(out, "end", d.end);
        }
    }
    static void fields(const MigrateData& d, std::string& out) {
        hex_field(out, "addr", d.addr);
        fmt::format_to(std::back_inserter(out),
                       R"(,"old_pfn":{},"new_pfn":{},"order":{},"reason":"{}","mode":"{}","by_pid":{},"by_comm":)",
                       d.old_pfn, d.new_pfn, d.order, migrate_reason_name(d.reason),
                       migrate_mode_name(d.mode), d.by_pid);
        append_json_string(out, d.by_comm);
    }
    static void fields(const MigrateBatchData& d, std::string& out) {
        fmt::format_to(std::back_inserter(out),
                       R"(,"succeeded":{},"failed":{},"thp_succeeded":{},"thp_failed":{},"reason":"{}","mode":"{}","traced_pages":{},"by_pid":{},"by_comm":)",
                       d.succeeded, d.failed, d.thp_succeeded, d.thp_failed,
                       migrate_reason_name(d.reason), migrate_mode_name(d.mode), d.traced_pages,
                       d.by_pid);
        append_json_string(out, d.by_comm);
    }
    static void fields(const LostData& d, std::string& out) {
        fmt::format_to(std::back_inserter(out), R"(,"count":{})", d.count);
    }
};

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c == '\n') {
            out += "\\n";
            ++i;
        } else if (c == '\t') {
            out += "\\t";
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else if (size_t len = utf8_sequence_length(text, i)) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            ++i;
        }
    }
    out += '"';
}

std::unique_ptr<EventFormatter> make_json_formatter() { return std::make_unique<JsonFormatter>(); }

std::unique_ptr<EventFormatter> make_text_formatter(uint64_t start_ns);

std::unique_ptr<EventFormatter> make_formatter(OutputFormat format, uint64_t start_ns) {
    if (format == OutputFormat::Json) return make_json_formatter();
    return make_text_formatter(start_ns);
}

}  // namespace pagetrace
