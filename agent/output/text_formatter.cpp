#include <fmt/format.h>

#include <iterator>

#include "output/formatter.h"
#include "output/names.h"
#include "util/error.h"

namespace pagetrace {

namespace {

// "[0x7f00..., 0x7f00...) 16 KiB"
std::string range_text(uint64_t addr, uint64_t len) {
    return fmt::format("{}-{} {}", hex(addr), hex(addr + len), human_size(len));
}

// "850 ns", "12.3 us", "4.56 ms"
std::string duration_text(uint64_t ns) {
    if (ns < 1000) return fmt::format("{} ns", ns);
    // Pick the unit after rounding: 999,960 ns is "1.00 ms", not "1000.0 us".
    if (ns < 999'950) return fmt::format("{:.1f} us", static_cast<double>(ns) / 1e3);
    return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
}

std::string task_text(const std::string& comm, uint32_t pid) {
    return fmt::format("{}/{}", comm.empty() ? "-" : printable(comm), pid);
}

std::string exit_text(uint32_t status) {
    const uint32_t sig = status & 0x7f;
    if (sig == 0) return fmt::format("code={}", (status >> 8) & 0xff);
    return fmt::format("killed by {}{}", signal_name(static_cast<int>(sig)),
                       (status & 0x80) ? " (core dumped)" : "");
}

class TextFormatter final : public EventFormatter {
public:
    explicit TextFormatter(uint64_t start_ns) : start_ns_(start_ns) {}

    std::string preamble() const override {
        return fmt::format("{:>12} {:<16} {:>7} {:>7} {:<6} {}\n", "TIME(s)", "COMM", "PID",
                           "TID", "EVENT", "DETAILS");
    }

    void append(const Event& e, std::string& out) const override {
        const double seconds =
            (static_cast<double>(e.ts_ns) - static_cast<double>(start_ns_)) / 1e9;
        auto it = std::back_inserter(out);
        fmt::format_to(it, "{:>12.6f} {:<16} {:>7} {:>7} {:<6} ", seconds,
                       e.comm.empty() ? "-" : printable(e.comm), e.pid, e.tid, event_type_name(e.type));
        std::visit([&](const auto& d) { details(d, e, out); }, e.data);
        out += '\n';
    }

private:
    static void details(const FaultData& d, const Event&, std::string& out) {
        auto it = std::back_inserter(out);
        fmt::format_to(it, "{}", hex(d.addr));
        if (d.access != Access::Unknown) fmt::format_to(it, " {}", access_name(d.access));
        fmt::format_to(it, " {} ip={}", d.mode == FaultMode::User ? "user" : "kernel", hex(d.ip));
        if (d.outcome == FaultOutcome::Minor || d.outcome == FaultOutcome::Major) {
            fmt::format_to(it, " {} {}", outcome_name(d.outcome), duration_text(d.latency_ns));
        } else if (d.outcome == FaultOutcome::Unaccounted) {
            out += " unaccounted";
        }
    }
    static void details(const MmapData& d, const Event&, std::string& out) {
        auto it = std::back_inserter(out);
        if (d.err) {
            fmt::format_to(it, "hint={} len={} {} {} fd={} pgoff={} -> {}", hex(d.addr),
                           human_size(d.len), prot_string(d.prot), mmap_flags_string(d.flags),
                           d.fd, d.pgoff, errno_name(d.err));
            return;
        }
        fmt::format_to(it, "{} {} {}", range_text(d.addr, d.len), prot_string(d.prot),
                       mmap_flags_string(d.flags));
        if (d.fd >= 0) fmt::format_to(it, " fd={} pgoff={}", d.fd, d.pgoff);
    }
    static void details(const MunmapData& d, const Event&, std::string& out) {
        out += range_text(d.addr, d.len);
        if (d.err) out += " -> " + errno_name(d.err);
    }
    static void details(const ForkData& d, const Event&, std::string& out) {
        fmt::format_to(std::back_inserter(out), "child={}", d.child_pid);
    }
    static void details(const ExecData& d, const Event&, std::string& out) {
        out += printable(d.filename);
    }
    static void details(const ExitData& d, const Event&, std::string& out) {
        out += exit_text(d.status);
    }
    static void details(const MremapData& d, const Event&, std::string& out) {
        fmt::format_to(std::back_inserter(out), "{} -> ", range_text(d.old_addr, d.old_len));
        if (d.err) {
            fmt::format_to(std::back_inserter(out), "{} {} -> {}", human_size(d.new_len),
                           mremap_flags_string(d.flags), errno_name(d.err));
            return;
        }
        fmt::format_to(std::back_inserter(out), "{} {}", range_text(d.new_addr, d.new_len),
                       mremap_flags_string(d.flags));
    }
    static void details(const BrkData& d, const Event&, std::string& out) {
        if (d.addr == 0) {
            fmt::format_to(std::back_inserter(out), "query -> {}", hex(d.ret));
        } else {
            fmt::format_to(std::back_inserter(out), "{} -> {}{}", hex(d.addr), hex(d.ret),
                           d.ret == d.addr ? "" : " (refused)");
        }
    }
    static void details(const MprotectData& d, const Event&, std::string& out) {
        fmt::format_to(std::back_inserter(out), "{} {}", range_text(d.addr, d.len),
                       prot_string(d.prot));
        if (d.err) out += " -> " + errno_name(d.err);
    }
    static void details(const MadviseData& d, const Event&, std::string& out) {
        fmt::format_to(std::back_inserter(out), "{} {}", range_text(d.addr, d.len),
                       madvise_advice_name(d.advice));
        if (d.err) out += " -> " + errno_name(d.err);
    }
    static void details(const TlbFlushData& d, const Event&, std::string& out) {
        auto it = std::back_inserter(out);
        fmt::format_to(it, "{} ", tlb_reason_name(d.reason));
        if (d.pages == PT_TLB_FLUSH_ALL) {
            out += "all";
        } else {
            fmt::format_to(it, "{} page{}", d.pages, d.pages == 1 ? "" : "s");
        }
        if (d.start || d.end) fmt::format_to(it, " {}-{}", hex(d.start), hex(d.end));
    }
    static void details(const MigrateData& d, const Event&, std::string& out) {
        fmt::format_to(std::back_inserter(out), "{} pfn {:#x} -> {:#x}{} {} {} by {}",
                       hex(d.addr), d.old_pfn, d.new_pfn,
                       d.order ? fmt::format(" order={}", d.order) : "",
                       migrate_reason_name(d.reason), migrate_mode_name(d.mode),
                       task_text(d.by_comm, d.by_pid));
    }
    static void details(const MigrateBatchData& d, const Event&, std::string& out) {
        fmt::format_to(std::back_inserter(out),
                       "{} {}: {} moved, {} failed (thp {}/{}), {} traced, by {}",
                       migrate_reason_name(d.reason), migrate_mode_name(d.mode), d.succeeded,
                       d.failed, d.thp_succeeded, d.thp_failed, d.traced_pages,
                       task_text(d.by_comm, d.by_pid));
    }
    static void details(const LostData& d, const Event& e, std::string& out) {
        fmt::format_to(std::back_inserter(out), "{} events lost on cpu {} (ring buffer full)",
                       d.count, e.cpu);
    }

    uint64_t start_ns_;
};

}  // namespace

std::unique_ptr<EventFormatter> make_text_formatter(uint64_t start_ns) {
    return std::make_unique<TextFormatter>(start_ns);
}

}  // namespace pagetrace
