#include "report/report_page.h"

#include <fmt/format.h>

#include <iterator>
#include <string_view>

#include "output/names.h"
#include "util/error.h"

namespace pagetrace {

// report.html, embedded at build time (cmake/EmbedText.cmake).
extern const char* const kReportTemplate;

namespace {

constexpr std::string_view kDataMarker = "/*@PAGETRACE_REPORT_DATA@*/null";

// A JSON string that is also safe inside <script>: no "</script>", no "<!--".
void put_string(std::string& out, std::string_view s) {
    out += '"';
    for (const unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '<': out += "\\u003c"; break;
        case '>': out += "\\u003e"; break;
        case '&': out += "\\u0026"; break;
        default:
            if (c < 0x20) {
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

template <typename T>
void put_array(std::string& out, const std::vector<T>& values) {
    out += '[';
    for (size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        fmt::format_to(std::back_inserter(out), "{}", values[i]);
    }
    out += ']';
}

// The non-zero entries of a flattened [column][per_column] array, each as its
// column, (its bin, when per_column > 1,) and its count, all in one flat list.
void put_nonzero(std::string& out, const std::vector<uint32_t>& v, size_t per_column) {
    out += '[';
    bool first = true;
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i]) continue;
        if (!first) out += ',';
        first = false;
        if (per_column > 1) {
            fmt::format_to(std::back_inserter(out), "{},{},{}", i / per_column, i % per_column, v[i]);
        } else {
            fmt::format_to(std::back_inserter(out), "{},{}", i, v[i]);
        }
    }
    out += ']';
}

void put_summary(std::string& out, const ProcessSummary& s, uint64_t page_size) {
    const auto it = std::back_inserter(out);
    fmt::format_to(it, R"({{"pid":{},"comm":)", s.pid);
    put_string(out, s.comm);
    out += R"(,"exec":)";
    put_string(out, s.exec_filename);
    fmt::format_to(it,
                   R"(,"first_ts_ns":{},"last_ts_ns":{},"faults":{{"total":{},"minor":{},"major":{},)"
                   R"("unaccounted":{},"unknown":{}}},"pages_touched":{},"resident_peak_bytes":{},)"
                   R"("resident_final_bytes":{},"mapped_peak_bytes":{},"mapped_final_bytes":{},)"
                   R"("untouched_bytes":{},"discarded_pages":{},"migrations":{},"migrated_pages":{},)"
                   R"("tlb_flushes":{},"gaps":{},"lost_events":{},"first_touch_after_mmap_ns":)"
                   R"({{"count":{},"p50":{},"p90":{},"p99":{},"max":{}}})",
                   s.first_ts_ns, s.last_ts_ns, s.faults.total, s.faults.minor, s.faults.major,
                   s.faults.unaccounted, s.faults.unknown, s.pages_touched,
                   s.resident_pages_peak * page_size, s.resident_pages_final * page_size,
                   s.mapped_bytes_peak, s.mapped_bytes_final, s.untouched_bytes, s.discarded_pages,
                   s.migrations, s.migrated_pages, s.tlb_flushes, s.gaps, s.lost_events,
                   s.first_touch_after_mmap_ns.count, s.first_touch_after_mmap_ns.p50,
                   s.first_touch_after_mmap_ns.p90, s.first_touch_after_mmap_ns.p99,
                   s.first_touch_after_mmap_ns.max);
    if (s.exit_status) {
        const uint32_t sig = *s.exit_status & 0x7f;
        fmt::format_to(it, R"(,"exit":{{"code":{})", sig ? 128 + sig : (*s.exit_status >> 8) & 0xff);
        if (sig) {
            out += R"(,"signal":)";
            put_string(out, signal_name(static_cast<int>(sig)));
        }
        out += '}';
    }
    out += '}';
}

void put_process(std::string& out, const ReportProcess& p) {
    const auto it = std::back_inserter(out);
    fmt::format_to(it, R"({{"pid":{},"comm":)", p.pid);
    put_string(out, p.comm);
    fmt::format_to(it, R"(,"rows":{},"bands":[)", p.rows);
    for (size_t i = 0; i < p.bands.size(); ++i) {
        const ReportBand& b = p.bands[i];
        if (i) out += ',';
        fmt::format_to(it, R"({{"start":"{:#x}","end":"{:#x}","bytes":{},"row":{},"rows":{},"label":)",
                       b.start, b.end, b.end - b.start, b.first_row, b.rows);
        put_string(out, b.label);
        out += '}';
    }
    out += R"(],"heat":{)";
    for (size_t l = 0; l < kHeatLayerCount; ++l) {
        if (l) out += ',';
        fmt::format_to(it, R"("{}":[)", kHeatLayerNames[l]);
        // (index delta, count) pairs: indices ascend, deltas keep the numbers short.
        uint32_t prev = 0;
        for (size_t i = 0; i < p.heat[l].size(); ++i) {
            if (i) out += ',';
            fmt::format_to(it, "{},{}", p.heat[l][i].first - prev, p.heat[l][i].second);
            prev = p.heat[l][i].first;
        }
        out += ']';
    }
    out += R"(},"heat_totals":{)";
    for (size_t l = 0; l < kHeatLayerCount; ++l) {
        if (l) out += ',';
        fmt::format_to(it, R"("{}":{})", kHeatLayerNames[l], p.heat_totals[l]);
    }
    fmt::format_to(it, R"(}},"faults_outside_bands":{},"resident_pages":)", p.faults_outside_bands);
    put_array(out, p.resident_pages);
    out += R"(,"mapped_bytes":)";
    put_array(out, p.mapped_bytes);
    out += R"(,"series":[)";
    for (size_t i = 0; i < p.series.size(); ++i) {
        if (i) out += ',';
        out += R"({"label":)";
        put_string(out, p.series[i].label);
        out += R"(,"resident_pages":)";
        put_array(out, p.series[i].resident_pages);
        out += R"(,"mapped_bytes":)";
        put_array(out, p.series[i].mapped_bytes);
        out += '}';
    }
    out += R"(],"minor_latency":)";
    put_nonzero(out, p.minor_latency, kDurationBins);
    out += R"(,"major_latency":)";
    put_nonzero(out, p.major_latency, kDurationBins);
    out += R"(,"first_touch_delay":)";
    put_nonzero(out, p.first_touch_delay, kDurationBins);
    out += R"(,"sites":[)";
    for (size_t i = 0; i < p.sites.size(); ++i) {
        if (i) out += ',';
        fmt::format_to(it, R"({{"ip":"{:#x}","kernel":{},"total":{},"label":)", p.sites[i].ip,
                       p.sites[i].kernel, p.sites[i].total);
        put_string(out, p.sites[i].label);
        out += R"(,"columns":)";
        put_nonzero(out, p.sites[i].per_column, 1);
        out += '}';
    }
    fmt::format_to(it, R"(],"other_site_faults":{},"other_sites_columns":)", p.other_site_faults);
    put_nonzero(out, p.other_sites_per_column, 1);
    out += '}';
}

}  // namespace

std::string report_json(const ReportData& data, const std::vector<ProcessSummary>& summaries,
                        const ReportSource& source) {
    std::string out;
    out.reserve(1 << 20);
    const auto it = std::back_inserter(out);
    out += R"({"source":{"file":)";
    put_string(out, source.file);
    out += R"(,"host":)";
    put_string(out, source.host);
    out += R"(,"kernel":)";
    put_string(out, source.kernel);
    out += R"(,"command":)";
    put_string(out, source.command);
    fmt::format_to(it, R"(,"wall_start_ns":{},"partial":{},"lost_events":{}}})", source.wall_start_ns,
                   source.partial, source.lost_events);
    fmt::format_to(it,
                   R"(,"start_ns":{},"last_ts_ns":{},"column_ns":{},"columns":{},"granule_pages":{},)"
                   R"("page_size":{},"events":{},"duration_bins_from_log2":{},"duration_bins":{},)"
                   R"("budget":{{"columns":{},"max_rows":{},"max_bands":{},"max_cells":{},"top_sites":{},)"
                   R"("max_series":{}}},"heat_layers":[)",
                   data.start_ns, data.last_ts_ns, data.column_ns, data.columns, data.granule_pages,
                   data.page_size, data.events, kDurationBinsFromLog2, kDurationBins, kColumns, kMaxRows,
                   kMaxBands, kMaxCells, kTopSites, kMaxSeries);
    for (size_t l = 0; l < kHeatLayerCount; ++l) {
        if (l) out += ',';
        fmt::format_to(it, R"("{}")", kHeatLayerNames[l]);
    }
    out += R"(],"summaries":[)";
    for (size_t i = 0; i < summaries.size(); ++i) {
        if (i) out += ',';
        put_summary(out, summaries[i], data.page_size);
    }
    out += R"(],"processes":[)";
    for (size_t i = 0; i < data.processes.size(); ++i) {
        if (i) out += ',';
        put_process(out, data.processes[i]);
    }
    out += "]}";
    return out;
}

std::string report_page(const ReportData& data, const std::vector<ProcessSummary>& summaries,
                        const ReportSource& source) {
    std::string page = kReportTemplate;
    const size_t at = page.find(kDataMarker);
    if (at == std::string::npos) throw Error("the report template has no data marker");
    page.replace(at, kDataMarker.size(), report_json(data, summaries, source));
    return page;
}

}  // namespace pagetrace
