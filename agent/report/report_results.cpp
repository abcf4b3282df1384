// The second half of ReportCollector: the bins of each process as the page
// draws them (report_data.h): heat cells placed in address bands, levels
// carried over the columns, the largest mappings and the top fault sites.
#include <algorithm>

#include "output/names.h"
#include "report/report_collector.h"
#include "report/report_process.h"

namespace pagetrace {

using namespace report_detail;

namespace {

// Levels carried forward over the columns the process was alive in; -1 outside.
void fill_forward(std::vector<int64_t>& v, size_t first, size_t last) {
    int64_t current = 0;
    for (size_t c = 0; c < v.size(); ++c) {
        if (first == kNone || c < first || c > last) {
            v[c] = -1;
            continue;
        }
        if (v[c] >= 0) current = v[c];
        v[c] = current;
    }
}

std::vector<ReportBand> make_bands(const std::map<uint64_t, uint64_t>& ranges,
                                   const std::map<uint64_t, std::pair<uint64_t, std::string>>& names,
                                   uint64_t page_size) {
    std::vector<std::pair<uint64_t, uint64_t>> merged(ranges.begin(), ranges.end());
    if (merged.size() > kMaxBands) {
        // Join the neighbours with the smallest gaps between them.
        std::vector<uint64_t> gaps;
        for (size_t i = 1; i < merged.size(); ++i) gaps.push_back(merged[i].first - merged[i - 1].second);
        std::nth_element(gaps.begin(), gaps.begin() + static_cast<ptrdiff_t>(merged.size() - kMaxBands),
                         gaps.end());
        const uint64_t limit = gaps[merged.size() - kMaxBands];
        std::vector<std::pair<uint64_t, uint64_t>> joined;
        for (const auto& r : merged) {
            if (!joined.empty() && r.first - joined.back().second < limit) {
                joined.back().second = r.second;
            } else {
                joined.push_back(r);
            }
        }
        merged = std::move(joined);
    }
    std::vector<ReportBand> bands;
    uint64_t total_pages = 0;
    for (const auto& [start, end] : merged) total_pages += (end - start) / page_size;
    for (const auto& [start, end] : merged) {
        ReportBand band{start, end, {}, 0, 0};
        // The names of what lies in it, largest first.
        std::vector<std::pair<uint64_t, std::string>> inside;
        for (auto it = names.lower_bound(start); it != names.end() && it->first < end; ++it) {
            inside.push_back({it->second.first - it->first, display_name(it->second.second)});
        }
        std::stable_sort(inside.begin(), inside.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        std::string label;
        for (const auto& [bytes, name] : inside) {
            if (label.find(name) != std::string::npos) continue;
            if (!label.empty()) label += ", ";
            label += name;
            if (label.size() > 40) break;
        }
        band.label = (label.empty() ? std::string("anonymous") : label) + " · " +
                     human_size(end - start);
        bands.push_back(std::move(band));
    }
    // Rows: a few each (so that every band can be seen and hovered), the rest
    // shared by size; never more rows than pages.
    constexpr size_t kMinRows = 3;
    const size_t base_total = kMinRows * bands.size();
    const size_t shared = kMaxRows > base_total ? kMaxRows - base_total : 0;
    size_t row = 0;
    for (ReportBand& b : bands) {
        const uint64_t pages = std::max<uint64_t>(1, (b.end - b.start) / page_size);
        const size_t extra = total_pages ? static_cast<size_t>(static_cast<double>(shared) *
                                                               static_cast<double>(pages) /
                                                               static_cast<double>(total_pages))
                                         : 0;
        b.first_row = row;
        b.rows = static_cast<size_t>(std::min<uint64_t>(pages, kMinRows + extra));
        row += b.rows;
    }
    return bands;
}

}  // namespace

ReportData ReportCollector::data(const FaultSiteLabeler& labeler) const {
    ReportData out;
    out.start_ns = start_ns_;
    out.column_ns = column_ns_;
    out.granule_pages = 1u << granule_shift_;
    out.page_size = geometry_.size();
    out.events = events_;
    out.last_ts_ns = last_ts_;
    const uint64_t granule_mask = (uint64_t{1} << kGranuleBits) - 1;

    for (const auto& proc_ptr : processes_) {
        const Process& proc = *proc_ptr;
        ReportProcess p;
        p.pid = proc.pid;
        p.comm = proc.comm;
        p.bands = make_bands(proc.ranges, proc.names, geometry_.size());
        for (const ReportBand& b : p.bands) p.rows = std::max(p.rows, b.first_row + b.rows);

        // Heat cells to (row, column).
        std::vector<uint32_t> grid(p.rows * kColumns * kHeatLayerCount, 0);
        const unsigned shift = geometry_.shift() + granule_shift_;
        cells_.for_each([&](uint64_t key, const Cell& c) {
            if ((key >> (kGranuleBits + kColumnBits)) != proc.index) return;
            const size_t col = (key >> kGranuleBits) & (kColumns - 1);
            const uint64_t addr = (key & granule_mask) << shift;
            const uint64_t addr_end = addr + (uint64_t{1} << shift);
            auto band = std::upper_bound(p.bands.begin(), p.bands.end(), addr,
                                         [](uint64_t a, const ReportBand& b) { return a < b.end; });
            if (band == p.bands.end() || band->start >= addr_end) {
                p.faults_outside_bands += c.counts[0];
                return;
            }
            const uint64_t at = std::max(addr, band->start);
            const size_t row = band->first_row +
                               static_cast<size_t>(static_cast<unsigned __int128>(at - band->start) *
                                                   band->rows / (band->end - band->start));
            for (size_t l = 0; l < kHeatLayerCount; ++l) {
                grid[(row * kColumns + col) * kHeatLayerCount + l] += c.counts[l];
            }
        });
        for (size_t i = 0; i < p.rows * kColumns; ++i) {
            for (size_t l = 0; l < kHeatLayerCount; ++l) {
                if (const uint32_t n = grid[i * kHeatLayerCount + l]) {
                    p.heat[l].push_back({static_cast<uint32_t>(i), n});
                    p.heat_totals[l] += n;
                }
            }
        }

        const size_t first = proc.first_col;
        const size_t last = proc.last_col;
        p.resident_pages = proc.resident;
        p.mapped_bytes = proc.mapped;
        fill_forward(p.resident_pages, first, last);
        fill_forward(p.mapped_bytes, first, last);
        // The mappings that held the most, and "other".
        std::vector<ReportSeries> series;
        for (size_t s = 0; s < proc.series_labels.size(); ++s) {
            ReportSeries rs{proc.series_labels[s], proc.series_resident[s], proc.series_mapped[s]};
            fill_forward(rs.resident_pages, first, last);
            fill_forward(rs.mapped_bytes, first, last);
            series.push_back(std::move(rs));
        }
        const auto peak = [&](const ReportSeries& s) {
            int64_t r = 0, m = 0;
            for (size_t c = 0; c < kColumns; ++c) {
                r = std::max(r, s.resident_pages[c]);
                m = std::max(m, s.mapped_bytes[c]);
            }
            return std::pair(r * static_cast<int64_t>(geometry_.size()), m);
        };
        std::stable_sort(series.begin(), series.end(),
                         [&](const auto& a, const auto& b) { return peak(a) > peak(b); });
        if (series.size() > kMaxSeries) {
            ReportSeries other{"other", std::vector<int64_t>(kColumns, -1),
                               std::vector<int64_t>(kColumns, -1)};
            for (size_t s = kMaxSeries - 1; s < series.size(); ++s) {
                for (size_t c = 0; c < kColumns; ++c) {
                    if (series[s].resident_pages[c] < 0) continue;
                    other.resident_pages[c] = std::max<int64_t>(other.resident_pages[c], 0) +
                                              series[s].resident_pages[c];
                    other.mapped_bytes[c] = std::max<int64_t>(other.mapped_bytes[c], 0) +
                                            series[s].mapped_bytes[c];
                }
            }
            series.resize(kMaxSeries - 1);
            series.push_back(std::move(other));
        }
        p.series = std::move(series);

        p.minor_latency = proc.minor;
        p.major_latency = proc.major;
        p.first_touch_delay = proc.first_delay;

        // The sites with the most faults.
        std::vector<size_t> order(proc.sites.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return proc.sites[a].total > proc.sites[b].total;
        });
        std::vector<int64_t> rank(proc.sites.size() + 1, -1);
        for (size_t r = 0; r < order.size() && r < kTopSites; ++r) {
            rank[order[r]] = static_cast<int64_t>(r);
            const auto& s = proc.sites[order[r]];
            p.sites.push_back({s.ip, labeler.label(proc.pid, s.ip, s.kernel), s.kernel, s.total,
                               std::vector<uint32_t>(kColumns, 0)});
        }
        p.other_sites_per_column.assign(kColumns, 0);
        for (const auto& [key, n] : proc.site_counts) {
            const size_t site = static_cast<size_t>(key >> kColumnBits);
            const size_t col = key & (kColumns - 1);
            if (site < proc.sites.size() && rank[site] >= 0) {
                p.sites[static_cast<size_t>(rank[site])].per_column[col] += n;
            } else {
                p.other_sites_per_column[col] += n;
                p.other_site_faults += n;
            }
        }
        out.processes.push_back(std::move(p));
    }
    return out;
}

}  // namespace pagetrace
