#include "timeline/timeline_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iterator>

#include "output/names.h"
#include "timeline/entry_fields.h"
#include "util/error.h"

namespace pagetrace {

namespace {

constexpr size_t kSparklineColumns = 48;

std::string seconds_text(uint64_t ts_ns, uint64_t base_ns) {
    return fmt::format("{:.6f}", (static_cast<double>(ts_ns) - static_cast<double>(base_ns)) / 1e9);
}

// exit status -> (code, signal name or "")
std::pair<uint32_t, std::string> exit_code(uint32_t status) {
    const uint32_t sig = status & 0x7f;
    if (sig == 0) return {(status >> 8) & 0xff, ""};
    return {128 + sig, signal_name(static_cast<int>(sig))};
}

void json_u64(std::string& out, const char* key, uint64_t value) {
    fmt::format_to(std::back_inserter(out), R"(,"{}":{})", key, value);
}

void json_hex(std::string& out, const char* key, uint64_t value) {
    fmt::format_to(std::back_inserter(out), R"(,"{}":"{:#x}")", key, value);
}

template <typename T>
void json_optional(std::string& out, const char* key, const std::optional<T>& value) {
    if (value) {
        fmt::format_to(std::back_inserter(out), R"(,"{}":{})", key, *value);
    } else {
        fmt::format_to(std::back_inserter(out), R"(,"{}":null)", key);
    }
}

// {"compaction":3,"syscall":1}
void json_by_reason(std::string& out, const std::map<uint32_t, uint64_t>& counts,
                    const char* (*name)(uint32_t)) {
    // Names sorted, and reasons that share a name ("unknown") summed.
    std::map<std::string, uint64_t> named;
    for (const auto& [reason, count] : counts) named[name(reason)] += count;
    out += '{';
    bool first = true;
    for (const auto& [key, count] : named) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, key);
        fmt::format_to(std::back_inserter(out), ":{}", count);
    }
    out += '}';
}

std::string text_by_reason(const std::map<uint32_t, uint64_t>& counts, const char* (*name)(uint32_t)) {
    std::map<std::string, uint64_t> named;
    for (const auto& [reason, count] : counts) named[name(reason)] += count;
    std::string out;
    for (const auto& [key, count] : named) {
        if (!out.empty()) out += ", ";
        out += fmt::format("{} {}", key, count);
    }
    return out;
}

// Mapped bytes over the process's life as one line of block characters: each
// column is the highest total in its slice of time.
std::string sparkline(const std::vector<MappedPoint>& points, uint64_t end_ns, uint64_t peak) {
    static constexpr std::array<const char*, 8> kLevels{"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    if (points.empty() || peak == 0) return {};
    const uint64_t begin = points.front().ts_ns;
    end_ns = std::max(end_ns, points.back().ts_ns);
    const double span = static_cast<double>(end_ns - begin) + 1.0;
    std::array<uint64_t, kSparklineColumns> column{};
    std::array<bool, kSparklineColumns> seen{};
    for (size_t i = 0; i < points.size(); ++i) {
        const uint64_t from = points[i].ts_ns;
        const uint64_t to = i + 1 < points.size() ? points[i + 1].ts_ns : end_ns;
        auto first = static_cast<size_t>(static_cast<double>(from - begin) / span * kSparklineColumns);
        auto last = static_cast<size_t>(static_cast<double>(to - begin) / span * kSparklineColumns);
        first = std::min(first, kSparklineColumns - 1);
        last = std::min(std::max(last, first), kSparklineColumns - 1);
        // The value holds over [from, to): the column holding `to` gets it only if `to` is past its start.
        for (size_t c = first; c <= last; ++c) {
            column[c] = std::max(column[c], points[i].bytes);
            seen[c] = true;
        }
    }
    std::string out;
    uint64_t carry = 0;
    for (size_t c = 0; c < kSparklineColumns; ++c) {
        if (seen[c]) carry = column[c];
        const uint64_t value = seen[c] ? column[c] : carry;
        if (value == 0) {
            out += ' ';
            continue;
        }
        const auto level = static_cast<size_t>((value * (kLevels.size() - 1) + peak - 1) / peak);
        out += kLevels[std::min(level, kLevels.size() - 1)];
    }
    return out;
}

// One history entry: a JSON object, or the rest of a text line after its
// time and name. Its fields are the entry's own to say (page_event.h).
void append_entry_fields(std::string& out, const PageEvent& e, OutputFormat format) {
    EntryFields fields(out, format);
    std::visit([&](const auto& info) { info.write(fields); }, e.data);
}

}  // namespace

void append_summary_json(std::string& out, const ProcessSummary& s) {
    auto it = std::back_inserter(out);
    fmt::format_to(it, R"({{"type":"process","pid":{})", s.pid);
    json_optional(out, "start_ns", s.start_ns);
    json_optional(out, "parent_pid", s.parent_pid);
    out += R"(,"comm":)";
    append_json_string(out, s.comm);
    out += R"(,"exec":)";
    append_json_string(out, s.exec_filename);
    json_u64(out, "first_ts_ns", s.first_ts_ns);
    json_u64(out, "last_ts_ns", s.last_ts_ns);
    out += R"(,"exit":)";
    if (s.exit_ts_ns && s.exit_status) {
        const auto [code, signal] = exit_code(*s.exit_status);
        fmt::format_to(it, R"({{"ts_ns":{},"code":{})", *s.exit_ts_ns, code);
        if (!signal.empty()) fmt::format_to(it, R"(,"signal":"{}")", signal);
        out += '}';
    } else {
        out += "null";
    }
    fmt::format_to(it, R"(,"pid_reused":{})", s.pid_reused ? "true" : "false");

    fmt::format_to(it, R"(,"mapped_bytes":{{"peak":{},"final":{},"series":[)", s.mapped_bytes_peak,
                   s.mapped_bytes_final);
    for (size_t i = 0; i < s.mapped_bytes.size(); ++i) {
        fmt::format_to(it, "{}[{},{}]", i ? "," : "", s.mapped_bytes[i].ts_ns, s.mapped_bytes[i].bytes);
    }
    out += "]}";
    json_u64(out, "pages_touched", s.pages_touched);
    fmt::format_to(it, R"(,"resident_pages":{{"peak":{},"final":{}}})", s.resident_pages_peak,
                   s.resident_pages_final);
    fmt::format_to(it, R"(,"faults":{{"total":{},"minor":{},"major":{},"unaccounted":{},"unknown":{})",
                   s.faults.total, s.faults.minor, s.faults.major, s.faults.unaccounted,
                   s.faults.unknown);
    json_optional(out, "kernel_minor", s.faults.kernel_minor);
    json_optional(out, "kernel_major", s.faults.kernel_major);
    json_optional(out, "kernel_before_tracing", s.faults.kernel_before_tracing);
    json_optional(out, "without_exception", s.faults.without_exception);
    json_u64(out, "cow", s.cow_faults);
    out += '}';
    fmt::format_to(it,
                   R"(,"huge_pages":{{"count":{},"bytes":{},"collapses":{},"collapsed_pages":{},)"
                   R"("splits":{}}})",
                   s.huge_pages, s.huge_page_bytes, s.collapses, s.collapsed_pages,
                   s.huge_page_splits);
    const LatencySummary& swapped = s.time_swapped_ns;
    fmt::format_to(it,
                   R"(,"swap":{{"out_pages":{},"in_pages":{},"time_swapped_ns":{{"count":{},)"
                   R"("p50":{},"p90":{},"p99":{},"max":{}}}}})",
                   s.swapped_out_pages, s.swapped_in_pages, swapped.count, swapped.p50,
                   swapped.p90, swapped.p99, swapped.max);
    fmt::format_to(it, R"(,"evictions":{{"pages":{},"refaults":{}}})", s.evicted_pages, s.refaults);
    json_u64(out, "ksm_merged_pages", s.ksm_merged_pages);
    out += R"(,"stalls":{)";
    for (uint32_t kind = PT_STALL_DIRECT; kind <= PT_STALL_COMPACTION; ++kind) {
        const auto found = s.stalls_by_kind.find(kind);
        const StallTotals t = found != s.stalls_by_kind.end() ? found->second : StallTotals{};
        fmt::format_to(it, R"({}"{}":{{"count":{},"total_ns":{},"max_ns":{},"reclaimed_pages":{}}})",
                       kind == PT_STALL_DIRECT ? "" : ",", stall_kind_name(kind), t.count,
                       t.total_ns, t.max_ns, t.reclaimed_pages);
    }
    out += '}';
    const LatencySummary& l = s.first_touch_after_mmap_ns;
    fmt::format_to(it, R"(,"first_touch_after_mmap_ns":{{"count":{},"p50":{},"p90":{},"p99":{},"max":{}}})",
                   l.count, l.p50, l.p90, l.p99, l.max);
    json_u64(out, "untouched_bytes", s.untouched_bytes);
    json_u64(out, "discarded_pages", s.discarded_pages);
    fmt::format_to(it, R"(,"migrations":{{"total":{},"pages":{},"by_reason":)", s.migrations,
                   s.migrated_pages);
    json_by_reason(out, s.migrations_by_reason, migrate_reason_name);
    fmt::format_to(it, R"(,"batches":{},"batch_failed_pages":{}}})", s.migrate_batches,
                   s.migrate_batch_failed);
    fmt::format_to(it, R"(,"tlb_flushes":{{"total":{},"by_reason":)", s.tlb_flushes);
    json_by_reason(out, s.tlb_flushes_by_reason, tlb_reason_name);
    out += '}';
    fmt::format_to(it, R"(,"gaps":{{"count":{},"lost_events":{}}})", s.gaps, s.lost_events);
    fmt::format_to(it, R"(,"arrivals":{{"mapped_around":{},"fault_around_events":{},"populated":{},)"
                       R"("exec":{},"inherited":{},"zero_page":{}}})",
                   s.mapped_around, s.fault_arounds, s.populated_pages, s.exec_pages,
                   s.inherited_pages, s.zero_page_pages);
    fmt::format_to(it, R"(,"snapshots":{{"present_before_tracing":{},"present_without_fault":{}}})",
                   s.present_before_tracing, s.present_without_fault);
    fmt::format_to(it, R"(,"unexplained":{{"frame_changes":{},"not_present":{},"mappings":{}}})",
                   s.unexplained_frame_changes, s.not_present, s.mapping_conflicts);
    if (s.fault_sites) {
        out += R"(,"fault_sites":[)";
        for (size_t i = 0; i < s.fault_sites->size(); ++i) {
            if (i) out += ',';
            append_fault_site_json(out, (*s.fault_sites)[i]);
        }
        out += ']';
    }
    out += "}\n";
}

void append_summary_text(std::string& out, const ProcessSummary& s, uint64_t base_ns) {
    auto it = std::back_inserter(out);
    fmt::format_to(it, "process {} {}", s.pid, s.comm.empty() ? "-" : printable(s.comm));
    if (s.start_ns) fmt::format_to(it, "  started {}s", seconds_text(*s.start_ns, base_ns));
    if (s.parent_pid) fmt::format_to(it, "  parent {}", *s.parent_pid);
    if (s.exit_ts_ns && s.exit_status) {
        const auto [code, signal] = exit_code(*s.exit_status);
        fmt::format_to(it, "  exited {}s {}", seconds_text(*s.exit_ts_ns, base_ns),
                       signal.empty() ? fmt::format("code={}", code) : "killed by " + signal);
    } else if (s.pid_reused) {
        out += "  ended unseen (pid reused)";
    }
    out += '\n';
    const auto row = [&](const char* label, const std::string& text) {
        fmt::format_to(it, "  {:<13} {}\n", label, text);
    };
    if (!s.exec_filename.empty()) row("exec", printable(s.exec_filename));
    row("seen", fmt::format("{}s - {}s", seconds_text(s.first_ts_ns, base_ns),
                            seconds_text(s.last_ts_ns, base_ns)));
    row("mapped", fmt::format("peak {}, final {}, never touched {}", human_size(s.mapped_bytes_peak),
                              human_size(s.mapped_bytes_final), human_size(s.untouched_bytes)));
    if (s.mapped_bytes.size() > 1) {
        const uint64_t end = s.exit_ts_ns ? *s.exit_ts_ns : s.last_ts_ns;
        row("", fmt::format("|{}| {}s - {}s", sparkline(s.mapped_bytes, end, s.mapped_bytes_peak),
                            seconds_text(s.mapped_bytes.front().ts_ns, base_ns),
                            seconds_text(std::max(end, s.mapped_bytes.back().ts_ns), base_ns)));
    }
    row("pages", fmt::format("touched {}, resident peak {}, final {}, discarded {}", s.pages_touched,
                             s.resident_pages_peak, s.resident_pages_final, s.discarded_pages));
    std::string faults = fmt::format("{}: minor {}, major {}, unaccounted {}, unknown {}",
                                     s.faults.total, s.faults.minor, s.faults.major,
                                     s.faults.unaccounted, s.faults.unknown);
    if (s.cow_faults) faults += fmt::format("; copy-on-write {}", s.cow_faults);
    row("faults", faults);
    if (s.faults.kernel_minor && s.faults.kernel_major) {
        std::string kernel = fmt::format("the kernel counted {} ({} minor, {} major)",
                                         *s.faults.kernel_minor + *s.faults.kernel_major,
                                         *s.faults.kernel_minor, *s.faults.kernel_major);
        if (s.faults.kernel_before_tracing && *s.faults.kernel_before_tracing) {
            kernel += fmt::format(", {} before tracing", *s.faults.kernel_before_tracing);
        }
        if (s.faults.without_exception) {
            kernel += fmt::format(": {} without an exception (get_user_pages: execve, "
                                  "/proc/PID/mem, MAP_POPULATE, mlock, ...)",
                                  *s.faults.without_exception);
        } else {
            kernel += " since before tracing began";
        }
        row("", kernel);
    }
    if (s.huge_pages || s.collapses || s.huge_page_splits) {
        std::string huge = fmt::format("{} ({})", s.huge_pages, human_size(s.huge_page_bytes));
        if (s.collapses) {
            huge += fmt::format("; {} collapsed from {} small pages", s.collapses, s.collapsed_pages);
        }
        if (s.huge_page_splits) huge += fmt::format("; {} split", s.huge_page_splits);
        row("huge pages", huge);
    }
    if (s.swapped_out_pages || s.swapped_in_pages) {
        std::string swap = fmt::format("{} pages out, {} back in", s.swapped_out_pages,
                                       s.swapped_in_pages);
        const LatencySummary& t = s.time_swapped_ns;
        if (t.count) {
            swap += fmt::format("; time in swap p50 {}, max {}", timeline_duration_text(t.p50),
                                timeline_duration_text(t.max));
        }
        row("swap", swap);
    }
    if (s.evicted_pages || s.refaults) {
        row("evicted", fmt::format("{} file pages, {} refaults", s.evicted_pages, s.refaults));
    }
    if (s.ksm_merged_pages) row("ksm", fmt::format("{} pages merged", s.ksm_merged_pages));
    if (!s.stalls_by_kind.empty()) {
        std::string stalls;
        for (const auto& [kind, t] : s.stalls_by_kind) {
            if (!stalls.empty()) stalls += "; ";
            stalls += fmt::format("{} {}: {} total, max {}", stall_kind_name(kind), t.count,
                                  timeline_duration_text(t.total_ns), timeline_duration_text(t.max_ns));
            if (kind != PT_STALL_COMPACTION) stalls += fmt::format(", {} pages reclaimed", t.reclaimed_pages);
        }
        row("stalls", stalls);
    }
    if (s.mapped_around || s.fault_arounds || s.populated_pages || s.exec_pages ||
        s.inherited_pages || s.zero_page_pages) {
        row("no own fault", fmt::format("mapped around {} (by {} fault-arounds), populated {}, "
                                        "by exec {}, inherited at fork {}, zero page {}",
                                        s.mapped_around, s.fault_arounds, s.populated_pages,
                                        s.exec_pages, s.inherited_pages, s.zero_page_pages));
    }
    const LatencySummary& l = s.first_touch_after_mmap_ns;
    if (l.count) {
        row("mmap->touch", fmt::format("{} pages: p50 {}, p90 {}, p99 {}, max {}", l.count,
                                       timeline_duration_text(l.p50), timeline_duration_text(l.p90),
                                       timeline_duration_text(l.p99), timeline_duration_text(l.max)));
    } else {
        row("mmap->touch", "no page touched after a traced mmap");
    }
    std::string migrations = fmt::format("{} ({} pages)", s.migrations, s.migrated_pages);
    if (!s.migrations_by_reason.empty()) {
        migrations += ": " + text_by_reason(s.migrations_by_reason, migrate_reason_name);
    }
    if (s.migrate_batches) {
        migrations += fmt::format("; {} batches, {} pages failed", s.migrate_batches, s.migrate_batch_failed);
    }
    row("migrations", migrations);
    std::string flushes = fmt::format("{}", s.tlb_flushes);
    if (!s.tlb_flushes_by_reason.empty()) {
        flushes += ": " + text_by_reason(s.tlb_flushes_by_reason, tlb_reason_name);
    }
    row("tlb flushes", flushes);
    row("gaps", s.gaps ? fmt::format("{} ({} events lost: counts may be incomplete)", s.gaps, s.lost_events)
                       : std::string("none"));
    if (s.present_before_tracing || s.present_without_fault) {
        row("snapshots", fmt::format("present before tracing {}, present with no fault seen {}",
                                     s.present_before_tracing, s.present_without_fault));
    }
    if (s.unexplained_frame_changes || s.not_present || s.mapping_conflicts) {
        row("unexplained", fmt::format("frame changes {}, gone without an event {}, mapping conflicts {}",
                                       s.unexplained_frame_changes, s.not_present, s.mapping_conflicts));
    }
    if (s.fault_sites && !s.fault_sites->empty()) {
        fmt::format_to(it, "  top fault sites  {:>9} {:>9} {:>7} {:>10}  site\n", "faults", "first",
                       "major", "latency");
        for (const FaultSite& site : *s.fault_sites) {
            fmt::format_to(it, "                   {:>9} {:>9} {:>7} {:>10}  {}\n", site.faults,
                           site.first_touches, site.major,
                           timeline_duration_text(site.latency_ns_total), fault_site_label(site));
        }
    }
}

void append_history_json(std::string& out, const PageHistory& h) {
    auto it = std::back_inserter(out);
    fmt::format_to(it, R"({{"type":"page","pid":{})", h.pid);
    json_optional(out, "start_ns", h.start_ns);
    out += R"(,"comm":)";
    append_json_string(out, h.comm);
    json_hex(out, "addr", h.addr);
    json_optional(out, "pfn", h.pfn);
    out += R"(,"events":[)";
    for (size_t i = 0; i < h.events.size(); ++i) {
        const PageEvent& e = h.events[i];
        fmt::format_to(it, R"({}{{"ts_ns":{},"what":"{}")", i ? "," : "", e.ts_ns, e.name());
        append_entry_fields(out, e, OutputFormat::Json);
        out += '}';
    }
    out += "]}\n";
}

void append_history_text(std::string& out, const PageHistory& h, uint64_t base_ns) {
    auto it = std::back_inserter(out);
    fmt::format_to(it, "page {} of process {} {}  frame {}\n", hex(h.addr), h.pid,
                   h.comm.empty() ? "-" : printable(h.comm), h.pfn ? fmt::format("{:#x}", *h.pfn) : "unknown");
    for (const PageEvent& e : h.events) {
        fmt::format_to(it, "  {:>12}  {:<11}  ", seconds_text(e.ts_ns, base_ns), e.name());
        append_entry_fields(out, e, OutputFormat::Text);
        out += '\n';
    }
}

std::string format_summaries(const std::vector<ProcessSummary>& summaries, OutputFormat format,
                             uint64_t base_ns) {
    std::string out;
    for (size_t i = 0; i < summaries.size(); ++i) {
        if (format == OutputFormat::Json) {
            append_summary_json(out, summaries[i]);
        } else {
            if (i) out += '\n';
            append_summary_text(out, summaries[i], base_ns);
        }
    }
    return out;
}

std::string format_page_histories(const std::vector<PageHistory>& histories, OutputFormat format,
                                  uint64_t base_ns) {
    std::string out;
    for (size_t i = 0; i < histories.size(); ++i) {
        if (format == OutputFormat::Json) {
            append_history_json(out, histories[i]);
        } else {
            if (i) out += '\n';
            append_history_text(out, histories[i], base_ns);
        }
    }
    return out;
}

std::string format_timeline_stats(const TimelineStats& s) {
    std::string out = fmt::format(
        "timeline: {} events, {} snapshots, {} processes; {} pages tracked at peak, {:.1f} bytes/page",
        s.events, s.snapshots, s.processes, s.tracked_pages_peak, s.bytes_per_page);
    if (s.history_pages) {
        out += fmt::format("; {} page histories, {} entries, {}", s.history_pages, s.history_events,
                           human_size(s.history_bytes));
    }
    if (s.histories_dropped) out += fmt::format(", {} not kept (limit reached)", s.histories_dropped);
    if (s.gaps) out += fmt::format("; {} gaps, {} events lost", s.gaps, s.lost_events);
    if (s.orphan_events) out += fmt::format("; {} events for exited processes ignored", s.orphan_events);
    if (s.stale_frame_events) {
        out += fmt::format("; {} reclaim/KSM events for frames their page had left ignored",
                           s.stale_frame_events);
    }
    return out;
}

}  // namespace pagetrace
