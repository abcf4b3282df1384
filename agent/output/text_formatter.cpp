#include <fmt/format.h>

#include "output/formatter.h"
#include "output/line_writer.h"
#include "output/names.h"
#include "output/task_text_cache.h"
#include "symbols/symbolizer.h"
#include "util/error.h"

namespace pagetrace {

namespace {

// "0x7f00...-0x7f00... 16 KiB"
void put_range(LineWriter& w, uint64_t addr, uint64_t len) {
    w.put(Hex{addr}, '-', Hex{addr + len}, ' ', human_size(len));
}

// "850 ns", "12.3 us", "4.56 ms"
void put_duration(LineWriter& w, uint64_t ns) {
    if (ns < 1000) {
        w.put(ns, " ns");
        return;
    }
    // Pick the unit after rounding: 999,960 ns is "1.00 ms", not "1000.0 us".
    if (ns < 999'950) {
        w.put(Fixed<1>{static_cast<double>(ns) / 1e3}, " us");
    } else {
        w.put(Fixed<2>{static_cast<double>(ns) / 1e6}, " ms");
    }
}

// Whether every byte of `text` is printable ASCII: such text is shown as it
// is, one column a byte.
bool is_printable_ascii(std::string_view text) {
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f) return false;
    }
    return true;
}

// The COMM column: the printable name ("-" for none), left-aligned in 16
// columns as fmt's "{:<16}". Names with other bytes go through fmt itself,
// which counts the columns of UTF-8 text its own way.
void put_comm_column(LineWriter& w, const std::string& comm) {
    if (comm.empty()) {
        w.put(AlignLeft{"-", 16});
    } else if (is_printable_ascii(comm)) {
        w.put(AlignLeft{comm, 16});
    } else {
        w.put(fmt::format("{:<16}", printable(comm)));
    }
}

// "worker/1234"
void put_task(LineWriter& w, const std::string& comm, uint32_t pid) {
    if (comm.empty()) {
        w.put('-', '/', pid);
    } else if (is_printable_ascii(comm)) {
        w.put(comm, '/', pid);
    } else {
        w.put(printable(comm), '/', pid);
    }
}

void put_error(LineWriter& w, int32_t err) {
    if (err) w.put(" -> ", errno_name(err));
}

class TextFormatter final : public EventFormatter {
public:
    TextFormatter(uint64_t start_ns, Symbolizer* symbols) : start_ns_(start_ns), symbols_(symbols) {}

    std::string preamble() const override {
        return fmt::format("{:>12} {:<16} {:>7} {:>7} {:<6} {}\n", "TIME(s)", "COMM", "PID",
                           "TID", "EVENT", "DETAILS");
    }

    void append(const Event& e, std::string& out) const override {
        const double seconds =
            (static_cast<double>(e.ts_ns) - static_cast<double>(start_ns_)) / 1e9;
        LineWriter w(out);
        w.put(Fixed<6>{seconds, 12}, ' ');
        w.put(task_.text(e, task_columns), AlignLeft{event_type_name(e.type), 6}, ' ');
        std::visit([&](const auto& d) { details(d, e, w); }, e.data);
        w.put('\n');
    }

private:
    // "worker            1234    1235 "
    static void task_columns(LineWriter& w, const Event& e) {
        put_comm_column(w, e.comm);
        w.put(' ', AlignRight{e.pid, 7}, ' ', AlignRight{e.tid, 7}, ' ');
    }

    void details(const FaultData& d, const Event& e, LineWriter& w) const {
        w.put(Hex{d.addr});
        if (d.access != Access::Unknown) w.put(' ', access_name(d.access));
        w.put(d.mode == FaultMode::User ? " user" : " kernel", " ip=", Hex{d.ip});
        if (symbols_) {
            if (const CodeLocation* where = symbols_->locate(e.pid, d.ip, d.mode == FaultMode::Kernel)) {
                w.put(' ', where->label);
            }
        }
        if (d.outcome == FaultOutcome::Minor || d.outcome == FaultOutcome::Major) {
            w.put(' ', outcome_name(d.outcome));
            if (d.latency_ns) {
                w.put(' ');
                put_duration(w, d.latency_ns);
            }
        } else if (d.outcome == FaultOutcome::Unaccounted) {
            w.put(" unaccounted");
        }
    }
    static void details(const MmapData& d, const Event&, LineWriter& w) {
        if (d.err) {
            w.put("hint=", Hex{d.addr}, " len=", human_size(d.len), ' ', prot_string(d.prot), ' ',
                  mmap_flags_string(d.flags), " fd=", d.fd, " pgoff=", d.pgoff);
            put_error(w, d.err);
            return;
        }
        put_range(w, d.addr, d.len);
        w.put(' ', prot_string(d.prot), ' ', mmap_flags_string(d.flags));
        if (d.fd >= 0) w.put(" fd=", d.fd, " pgoff=", d.pgoff);
    }
    static void details(const MunmapData& d, const Event&, LineWriter& w) {
        put_range(w, d.addr, d.len);
        put_error(w, d.err);
    }
    static void details(const ForkData& d, const Event&, LineWriter& w) {
        w.put("child=", d.child_pid);
    }
    static void details(const ExecData& d, const Event&, LineWriter& w) {
        w.put(printable(d.filename));
        if (d.min_flt && d.maj_flt) w.put(" faults=", *d.min_flt, " minor ", *d.maj_flt, " major");
    }
    static void details(const ExitData& d, const Event&, LineWriter& w) {
        const uint32_t sig = d.status & 0x7f;
        if (sig == 0) {
            w.put("code=", (d.status >> 8) & 0xff);
        } else {
            w.put("killed by ", signal_name(static_cast<int>(sig)),
                  (d.status & 0x80) ? " (core dumped)" : "");
        }
        if (d.min_flt && d.maj_flt) w.put(" faults=", *d.min_flt, " minor ", *d.maj_flt, " major");
    }
    static void details(const SwapOutData& d, const Event&, LineWriter& w) {
        w.put(Hex{d.addr}, " pfn ", Hex{d.pfn});
        if (d.order) w.put(" order=", d.order);
        w.put(" by ");
        put_task(w, d.by_comm, d.by_pid);
    }
    static void details(const EvictData& d, const Event&, LineWriter& w) {
        w.put(Hex{d.addr}, " pfn ", Hex{d.pfn}, " ino=", d.ino, " dev=", kernel_dev_string(d.dev));
        if (d.order) w.put(" order=", d.order);
        w.put(" by ");
        put_task(w, d.by_comm, d.by_pid);
    }
    static void details(const KsmMergeData& d, const Event&, LineWriter& w) {
        w.put(Hex{d.addr}, " pfn ");
        if (d.old_pfn) {
            w.put(Hex{d.old_pfn});
        } else {
            w.put('?');
        }
        w.put(" -> ", Hex{d.new_pfn}, " by ");
        put_task(w, d.by_comm, d.by_pid);
    }
    static void details(const CollapseData& d, const Event&, LineWriter& w) {
        if (d.addr) {
            put_range(w, d.addr, uint64_t{d.pages} * 4096);
        } else {
            w.put("range unknown, ", d.pages, " pages");
        }
        if (d.new_pfn) w.put(" pfn ", Hex{d.new_pfn});
        w.put(" by ");
        put_task(w, d.by_comm, d.by_pid);
    }
    static void details(const ReclaimStallData& d, const Event&, LineWriter& w) {
        w.put(stall_kind_name(d.kind), ' ');
        put_duration(w, d.duration_ns);
        if (d.kind != PT_STALL_COMPACTION) w.put(", ", d.reclaimed, " pages reclaimed");
    }
    static void details(const FaultAroundData& d, const Event&, LineWriter& w) {
        put_range(w, d.addr, d.len);
        w.put(" ino=", d.ino, " dev=", kernel_dev_string(d.dev));
        if (d.fault_addr) w.put(" fault=", Hex{d.fault_addr});
    }
    static void details(const MremapData& d, const Event&, LineWriter& w) {
        put_range(w, d.old_addr, d.old_len);
        w.put(" -> ");
        if (d.err) {
            w.put(human_size(d.new_len), ' ', mremap_flags_string(d.flags));
            put_error(w, d.err);
            return;
        }
        put_range(w, d.new_addr, d.new_len);
        w.put(' ', mremap_flags_string(d.flags));
    }
    static void details(const BrkData& d, const Event&, LineWriter& w) {
        if (d.addr == 0) {
            w.put("query -> ", Hex{d.ret});
        } else {
            w.put(Hex{d.addr}, " -> ", Hex{d.ret}, d.ret == d.addr ? "" : " (refused)");
        }
    }
    static void details(const MprotectData& d, const Event&, LineWriter& w) {
        put_range(w, d.addr, d.len);
        w.put(' ', prot_string(d.prot));
        put_error(w, d.err);
    }
    static void details(const MadviseData& d, const Event&, LineWriter& w) {
        put_range(w, d.addr, d.len);
        w.put(' ', madvise_advice_name(d.advice));
        put_error(w, d.err);
    }
    static void details(const TlbFlushData& d, const Event&, LineWriter& w) {
        w.put(tlb_reason_name(d.reason), ' ');
        if (d.pages == PT_TLB_FLUSH_ALL) {
            w.put("all");
        } else {
            w.put(d.pages, d.pages == 1 ? " page" : " pages");
        }
        if (d.start || d.end) w.put(' ', Hex{d.start}, '-', Hex{d.end});
    }
    static void details(const MigrateData& d, const Event&, LineWriter& w) {
        w.put(Hex{d.addr}, " pfn ", Hex{d.old_pfn}, " -> ", Hex{d.new_pfn});
        if (d.order) w.put(" order=", d.order);
        w.put(' ', migrate_reason_name(d.reason), ' ', migrate_mode_name(d.mode), " by ");
        put_task(w, d.by_comm, d.by_pid);
    }
    static void details(const MigrateBatchData& d, const Event&, LineWriter& w) {
        w.put(migrate_reason_name(d.reason), ' ', migrate_mode_name(d.mode), ": ", d.succeeded,
              " moved, ", d.failed, " failed (thp ", d.thp_succeeded, '/', d.thp_failed, "), ",
              d.traced_pages, " traced, by ");
        put_task(w, d.by_comm, d.by_pid);
    }
    static void details(const LostData& d, const Event& e, LineWriter& w) {
        w.put(d.count, " events lost on cpu ", e.cpu, " (ring buffer full)");
    }

    uint64_t start_ns_;
    Symbolizer* symbols_;
    // Only a cache: the output never depends on what it holds.
    mutable TaskTextCache task_;
};

}  // namespace

std::unique_ptr<EventFormatter> make_text_formatter(uint64_t start_ns, Symbolizer* symbols) {
    return std::make_unique<TextFormatter>(start_ns, symbols);
}

}  // namespace pagetrace
