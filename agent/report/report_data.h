// The binned data of an HTML report: what ReportCollector made of a stream,
// in the budget the page is drawn from (kColumns time columns, at most
// kMaxRows address rows and kMaxBands bands per process, kTopSites fault
// sites). report_page.h turns it, with the timeline's summaries, into the page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "report/fault_sites.h"

namespace pagetrace {

inline constexpr size_t kColumns = 512;
inline constexpr size_t kMaxRows = 256;
inline constexpr size_t kMaxBands = 48;
inline constexpr size_t kMaxCells = size_t{1} << 17;
inline constexpr size_t kTopSites = 40;
inline constexpr size_t kMaxSeries = 8;  // mappings charted on their own; the rest are "other"

// Log-scale bins of durations, two per power of two, with edges at 2^k and
// 1.5 * 2^k ns: bin 2j holds [2^(6+j), 1.5 * 2^(6+j)), bin 2j+1 holds
// [1.5 * 2^(6+j), 2^(7+j)); bin 0 also takes anything under 64 ns, the last
// (from ~3.2 min) anything longer.
inline constexpr size_t kDurationBins = 64;
inline constexpr unsigned kDurationBinsFromLog2 = 6;

enum class HeatLayer : uint8_t { Faults, FirstTouches, Migrations, Discards, Collapses, Flushes };
inline constexpr size_t kHeatLayerCount = 6;
inline constexpr const char* kHeatLayerNames[kHeatLayerCount] = {
    "faults", "first_touches", "migrations", "discards", "collapses", "tlb_flushes"};

size_t duration_bin(uint64_t ns);

struct ReportBand {
    uint64_t start = 0;  // [start, end): one band per mapping (or merged neighbours)
    uint64_t end = 0;
    std::string label;
    size_t first_row = 0;
    size_t rows = 0;
};

// A mapping (or "other") over time: a value per column, -1 where nothing was
// sampled (the value before it goes on).
struct ReportSeries {
    std::string label;
    std::vector<int64_t> resident_pages;
    std::vector<int64_t> mapped_bytes;
};

struct ReportSite {
    uint64_t ip = 0;
    std::string label;
    bool kernel = false;
    uint64_t total = 0;
    std::vector<uint32_t> per_column;  // kColumns
};

struct ReportProcess {
    uint32_t pid = 0;
    std::string comm;
    std::vector<ReportBand> bands;
    size_t rows = 0;
    // Per layer, the non-zero cells as (row * kColumns + column, count), by index.
    std::vector<std::pair<uint32_t, uint32_t>> heat[kHeatLayerCount];
    uint64_t heat_totals[kHeatLayerCount] = {};
    uint64_t faults_outside_bands = 0;
    std::vector<int64_t> resident_pages;  // kColumns, -1: not sampled
    std::vector<int64_t> mapped_bytes;
    std::vector<ReportSeries> series;
    // [column][bin], flattened: kColumns * kDurationBins
    std::vector<uint32_t> minor_latency;
    std::vector<uint32_t> major_latency;
    std::vector<uint32_t> first_touch_delay;
    std::vector<ReportSite> sites;  // the top kTopSites by faults
    uint64_t other_site_faults = 0;  // faults of the sites left out
    std::vector<uint32_t> other_sites_per_column;
};

struct ReportData {
    uint64_t start_ns = 0;
    uint64_t column_ns = 0;  // width of a column
    size_t columns = kColumns;
    unsigned granule_pages = 1;  // pages per address cell before rows were made
    uint64_t page_size = 4096;
    uint64_t events = 0;
    uint64_t last_ts_ns = 0;
    std::vector<ReportProcess> processes;
};

}  // namespace pagetrace
