// What ReportCollector keeps per traced process, shared by its two halves:
// report_collector.cpp bins the stream into it, report_results.cpp turns it
// into ReportData. Private to agent/report/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "report/report_collector.h"

namespace pagetrace::report_detail {

constexpr size_t kNone = ~size_t{0};
constexpr size_t kMaxSeriesTracked = 32;  // per process; more go to "other"
constexpr size_t kMaxSitesTracked = 4096;  // distinct ips per process; more go to "other"
constexpr unsigned kGranuleBits = 36;
constexpr unsigned kColumnBits = 9;
static_assert((size_t{1} << kColumnBits) == kColumns);

inline uint64_t cell_key(size_t process, size_t col, uint64_t granule) {
    return (uint64_t{process} << (kGranuleBits + kColumnBits)) | (uint64_t{col} << kGranuleBits) |
           (granule & ((uint64_t{1} << kGranuleBits) - 1));
}

// The name a mapping is charted by: a file's base name, "[heap]", "[stack]".
inline std::string display_name(std::string_view path) {
    if (path.empty() || path.front() == '[') return std::string(path);
    const size_t slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace pagetrace::report_detail

namespace pagetrace {

struct ReportCollector::Process {
    struct Site {
        uint64_t ip = 0;
        bool kernel = false;
        uint64_t total = 0;
    };

    size_t index = 0;
    uint32_t pid = 0;
    std::string comm;
    bool ended = false;
    size_t last_col = report_detail::kNone;
    size_t first_col = report_detail::kNone;
    uint64_t pages_touched = 0;

    std::map<uint64_t, uint64_t> ranges;  // start -> end: every range mapped or touched
    uint64_t cached_range_start = 0, cached_range_end = 0;
    std::map<uint64_t, std::pair<uint64_t, std::string>> names;  // start -> (end, name)
    MappingSet mapped_at;  // when each range was mapped (mmap to first touch)
    // The piece of mapped_at the last first touch fell in (faults come in runs).
    uint64_t piece_start = 0, piece_end = 0, piece_mapped_ns = 0;
    void mapped_at_changed() { piece_start = piece_end = 0; }
    std::optional<uint64_t> heap_start, heap_end;

    std::vector<int64_t> resident, mapped;
    // The series' resident pages and mapped bytes as the last walk over the
    // mappings found them, with the faults of the process since then added
    // (follow_fault); stale once any other event of the process (or a
    // snapshot, or new names) came after it, and walked again at the next
    // sample. Faults are followed only while no other event came (changes_):
    // what that changed, in this process or another, only a walk sees.
    std::vector<int64_t> series_resident_now, series_mapped_now;
    bool stale = true;
    bool followed = false;  // faults of the process since the walk
    uint64_t changes_at_walk = 0;
    uint64_t resident_followed = 0;  // the process's resident pages then
    // The pages of each mapping the walk went over, in address order, and the
    // series each is counted in.
    struct WalkedPiece {
        uint64_t first_vpn = 0;
        uint64_t end_vpn = 0;
        size_t series = 0;
    };
    std::vector<WalkedPiece> walked;
    size_t walked_hint = 0;  // the piece of the last followed fault
    std::vector<std::string> series_labels;
    std::unordered_map<std::string, size_t> series_index;
    std::vector<std::vector<int64_t>> series_resident, series_mapped;

    std::vector<uint32_t> minor, major, first_delay;  // [col][bin]
    std::unordered_map<uint64_t, uint32_t> site_of;   // (ip << 1 | kernel) -> index
    std::vector<Site> sites;
    std::unordered_map<uint64_t, uint32_t> site_counts;  // (site << kColumnBits | col) -> faults
    uint64_t last_site_key = ~uint64_t{0};
    uint32_t last_site = 0;
    uint64_t last_count_key = ~uint64_t{0};
    uint32_t* last_count = nullptr;

    void grow_histograms() {
        if (!minor.empty()) return;
        minor.assign(kColumns * kDurationBins, 0);
        major.assign(kColumns * kDurationBins, 0);
        first_delay.assign(kColumns * kDurationBins, 0);
    }
    size_t series(const std::string& label) {
        auto it = series_index.find(label);
        if (it != series_index.end()) return it->second;
        if (series_labels.size() >= report_detail::kMaxSeriesTracked && label != "other") return series("other");
        series_labels.push_back(label);
        series_resident.emplace_back(kColumns, -1);
        series_mapped.emplace_back(kColumns, -1);
        series_resident_now.push_back(0);
        series_mapped_now.push_back(0);
        return series_index[label] = series_labels.size() - 1;
    }
};

}  // namespace pagetrace
