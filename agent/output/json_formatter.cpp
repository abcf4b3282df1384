#include <algorithm>
#include <array>

#include "output/formatter.h"
#include "output/line_writer.h"
#include "output/names.h"
#include "output/task_text_cache.h"
#include "symbols/symbolizer.h"
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

// Bytes that stand for themselves in a JSON string as this formatter writes
// them: printable ASCII except '"' and '\\'.
constexpr auto kPlainJsonBytes = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x7f; ++c) plain[c] = c != '"' && c != '\\';
    return plain;
}();

// Whether `text` can be written between quotes as it is (the common case for
// thread names and file names).
bool is_plain_json_text(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return kPlainJsonBytes[static_cast<unsigned char>(c)]; });
}

// "\u00XX" for a byte that cannot stand for itself.
void put_unicode_escape(LineWriter& w, unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    w.put("\\u00", kHex[c >> 4], kHex[c & 0xf]);
}

void put_json_string(LineWriter& w, std::string_view text) {
    if (is_plain_json_text(text)) {
        w.put('"', text, '"');
        return;
    }
    w.put('"');
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            w.put('\\', static_cast<char>(c));
            ++i;
        } else if (c == '\n') {
            w.put("\\n");
            ++i;
        } else if (c == '\t') {
            w.put("\\t");
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            put_unicode_escape(w, c);
            ++i;
        } else if (c < 0x80) {
            w.put(static_cast<char>(c));
            ++i;
        } else if (size_t len = utf8_sequence_length(text, i)) {
            w.put(text.substr(i, len));
            i += len;
        } else {
            put_unicode_escape(w, c);
            ++i;
        }
    }
    w.put('"');
}

void put_error(LineWriter& w, int32_t err) {
    if (err) w.put(R"(,"error":")", errno_name(err), '"');
}

class JsonFormatter final : public EventFormatter {
public:
    explicit JsonFormatter(Symbolizer* symbols) : symbols_(symbols) {}
    std::string preamble() const override { return {}; }

    void append(const Event& e, std::string& out) const override {
        // Looked up before the line is begun, so that the writer stays in registers.
        const CodeLocation* where = symbols_ && e.type == EventType::Fault ? location(e) : nullptr;
        LineWriter w(out);
        w.put(R"({"type":")", event_type_name(e.type), R"(","ts_ns":)", e.ts_ns);
        w.put(task_.text(e, task_fields), R"(,"cpu":)", e.cpu);
        std::visit([&](const auto& d) { fields(d, w); }, e.data);
        if (where) w.put(where->json);  // "sym", "dso", "src", "inlined" (those known)
        w.put("}\n");
    }

private:
    // ,"pid":1234,"tid":1235,"comm":"worker"
    static void task_fields(LineWriter& w, const Event& e) {
        w.put(R"(,"pid":)", e.pid, R"(,"tid":)", e.tid, R"(,"comm":)");
        put_json_string(w, e.comm);
    }

    static void fields(const FaultData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","ip":")", Hex{d.ip}, '"');
        // Fields a source on this kernel could not give are left out, never guessed.
        if (d.access != Access::Unknown) w.put(R"(,"access":")", access_name(d.access), '"');
        if (d.mode == FaultMode::User) {
            w.put(R"(,"mode":"user")");
        } else {
            w.put(R"(,"mode":"kernel")");
        }
        if (d.outcome != FaultOutcome::Unknown) {
            w.put(R"(,"outcome":")", outcome_name(d.outcome), '"');
        }
        if (d.latency_ns && (d.outcome == FaultOutcome::Minor || d.outcome == FaultOutcome::Major)) {
            w.put(R"(,"latency_ns":)", d.latency_ns);
        }
    }
    // Where a fault's ip is, if known.
    const CodeLocation* location(const Event& e) const {
        const auto& d = std::get<FaultData>(e.data);
        return symbols_->locate(e.pid, d.ip, d.mode == FaultMode::Kernel);
    }
    static void fields(const MmapData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","len":)", d.len, R"(,"prot":")",
              prot_string(d.prot), R"(","flags":")", mmap_flags_string(d.flags), R"(","fd":)",
              d.fd, R"(,"pgoff":)", d.pgoff);
        put_error(w, d.err);
    }
    static void fields(const MunmapData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","len":)", d.len);
        put_error(w, d.err);
    }
    static void fields(const ForkData& d, LineWriter& w) {
        w.put(R"(,"child_pid":)", d.child_pid, R"(,"child_start_ns":)", d.child_start_ns);
    }
    static void fields(const ExecData& d, LineWriter& w) {
        w.put(R"(,"filename":)");
        put_json_string(w, d.filename);
        if (d.min_flt && d.maj_flt) w.put(R"(,"min_flt":)", *d.min_flt, R"(,"maj_flt":)", *d.maj_flt);
    }
    static void fields(const ExitData& d, LineWriter& w) {
        const uint32_t sig = d.status & 0x7f;
        if (sig == 0) {
            w.put(R"(,"code":)", (d.status >> 8) & 0xff);
        } else {
            w.put(R"(,"code":)", 128 + sig, R"(,"signal":")", signal_name(static_cast<int>(sig)),
                  '"');
        }
        w.put(R"(,"start_ns":)", d.start_ns);
        if (d.min_flt && d.maj_flt) w.put(R"(,"min_flt":)", *d.min_flt, R"(,"maj_flt":)", *d.maj_flt);
    }
    static void fields(const SwapOutData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","pfn":)", d.pfn, R"(,"order":)", d.order,
              R"(,"by_pid":)", d.by_pid, R"(,"by_comm":)");
        put_json_string(w, d.by_comm);
    }
    static void fields(const EvictData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","pfn":)", d.pfn, R"(,"ino":)", d.ino,
              R"(,"dev":")", kernel_dev_string(d.dev), R"(","order":)", d.order,
              R"(,"by_pid":)", d.by_pid, R"(,"by_comm":)");
        put_json_string(w, d.by_comm);
    }
    static void fields(const KsmMergeData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, '"');
        if (d.old_pfn) w.put(R"(,"old_pfn":)", d.old_pfn);
        w.put(R"(,"new_pfn":)", d.new_pfn, R"(,"by_pid":)", d.by_pid, R"(,"by_comm":)");
        put_json_string(w, d.by_comm);
    }
    static void fields(const CollapseData& d, LineWriter& w) {
        if (d.addr) w.put(R"(,"addr":")", Hex{d.addr}, '"');
        if (d.new_pfn) w.put(R"(,"new_pfn":)", d.new_pfn);
        w.put(R"(,"pages":)", d.pages, R"(,"by_pid":)", d.by_pid, R"(,"by_comm":)");
        put_json_string(w, d.by_comm);
    }
    static void fields(const ReclaimStallData& d, LineWriter& w) {
        w.put(R"(,"kind":")", stall_kind_name(d.kind), R"(","duration_ns":)", d.duration_ns);
        if (d.kind != PT_STALL_COMPACTION) w.put(R"(,"reclaimed":)", d.reclaimed);
    }
    static void fields(const FaultAroundData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","len":)", d.len, R"(,"ino":)", d.ino,
              R"(,"dev":")", kernel_dev_string(d.dev), '"');
        if (d.fault_addr) w.put(R"(,"fault_addr":")", Hex{d.fault_addr}, '"');
    }
    static void fields(const MremapData& d, LineWriter& w) {
        w.put(R"(,"old_addr":")", Hex{d.old_addr}, R"(","old_len":)", d.old_len,
              R"(,"new_addr":")", Hex{d.new_addr}, R"(","new_len":)", d.new_len,
              R"(,"flags":")", mremap_flags_string(d.flags), '"');
        put_error(w, d.err);
    }
    static void fields(const BrkData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","ret":")", Hex{d.ret}, '"');
    }
    static void fields(const MprotectData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","len":)", d.len, R"(,"prot":")",
              prot_string(d.prot), '"');
        put_error(w, d.err);
    }
    static void fields(const MadviseData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","len":)", d.len, R"(,"advice":")",
              madvise_advice_name(d.advice), '"');
        put_error(w, d.err);
    }
    static void fields(const TlbFlushData& d, LineWriter& w) {
        w.put(R"(,"reason":")", tlb_reason_name(d.reason), '"');
        if (d.pages == PT_TLB_FLUSH_ALL) {
            w.put(R"(,"pages":"all")");
        } else {
            w.put(R"(,"pages":)", d.pages);
        }
        if (d.start || d.end) {
            w.put(R"(,"start":")", Hex{d.start}, R"(","end":")", Hex{d.end}, '"');
        }
    }
    static void fields(const MigrateData& d, LineWriter& w) {
        w.put(R"(,"addr":")", Hex{d.addr}, R"(","old_pfn":)", d.old_pfn, R"(,"new_pfn":)",
              d.new_pfn, R"(,"order":)", d.order, R"(,"reason":")",
              migrate_reason_name(d.reason), R"(","mode":")", migrate_mode_name(d.mode),
              R"(","by_pid":)", d.by_pid, R"(,"by_comm":)");
        put_json_string(w, d.by_comm);
    }
    static void fields(const MigrateBatchData& d, LineWriter& w) {
        w.put(R"(,"succeeded":)", d.succeeded, R"(,"failed":)", d.failed,
              R"(,"thp_succeeded":)", d.thp_succeeded, R"(,"thp_failed":)", d.thp_failed,
              R"(,"reason":")", migrate_reason_name(d.reason), R"(","mode":")",
              migrate_mode_name(d.mode), R"(","traced_pages":)", d.traced_pages,
              R"(,"by_pid":)", d.by_pid, R"(,"by_comm":)");
        put_json_string(w, d.by_comm);
    }
    static void fields(const LostData& d, LineWriter& w) { w.put(R"(,"count":)", d.count); }

    Symbolizer* symbols_;
    // Only a cache: the output never depends on what it holds.
    mutable TaskTextCache task_;
};

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    LineWriter w(out);
    put_json_string(w, text);
}

std::unique_ptr<EventFormatter> make_json_formatter(Symbolizer* symbols) {
    return std::make_unique<JsonFormatter>(symbols);
}

std::unique_ptr<EventFormatter> make_text_formatter(uint64_t start_ns, Symbolizer* symbols);

std::unique_ptr<EventFormatter> make_formatter(OutputFormat format, uint64_t start_ns,
                                               Symbolizer* symbols) {
    if (format == OutputFormat::Json) return make_json_formatter(symbols);
    return make_text_formatter(start_ns, symbols);
}

}  // namespace pagetrace
