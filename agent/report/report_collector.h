// What the HTML report shows, gathered from the event stream in one pass and
// pre-binned to a fixed budget however long the stream: a sink of the pipeline
// that feeds the timeline itself (add it instead of a TimelineSink) and bins
// what it sees into
//
//   time        kColumns columns from the recording's start; a column starts
//               100 us wide and doubles (neighbours merged) whenever the stream
//               outgrows the columns, so every array below has kColumns
//               entries of one width
//   addresses   cells of (process, column, granule of 2^shift pages) holding
//               faults, first touches, migrations, discards, collapses and
//               flushes; the granule doubles whenever there are more than
//               kMaxCells cells; the address ranges every mapping covered,
//               for the heatmap's bands
//   per column  resident pages and mapped bytes, in total and per mapping
//               (sampled from the timeline when a process's column changes,
//               walking its mappings if an event other than a fault came
//               since the last walk; a fault adds its page to its mapping),
//               fault latencies (minor and major) and mmap-to-first-touch
//               times in log-scale bins, faults by instruction pointer
//
// ReportData (report_data.h) is what it hands the page writer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/event_sink.h"
#include "report/cell_table.h"
#include "report/report_data.h"
#include "timeline/mapping_set.h"
#include "timeline/timeline_builder.h"

namespace pagetrace {

class ReportCollector : public EventSink {
public:
    ReportCollector(TimelineBuilder& timeline, kernel::PageGeometry geometry, uint64_t start_ns);
    ~ReportCollector() override;

    SinkInterest interest() const override { return {.snapshots = true, .processes = true}; }
    void on_event(const Event& event, std::span<const std::byte> raw) override;
    void on_snapshot(const PagemapSnapshot& snapshot) override;
    void on_process(const ProcessSnapshot& process) override;
    void on_end() override;

    // The binned data, once the stream has ended; `labeler` names fault sites.
    ReportData data(const FaultSiteLabeler& labeler) const;

    uint64_t column_ns() const { return column_ns_; }

private:
    using Cell = HeatCell;
    struct Process;

    Process& process(uint32_t pid, std::string_view comm);
    Process* find(uint32_t pid);
    size_t column(uint64_t ts);
    void coarsen_time();
    void coarsen_addresses();
    Cell& cell(Process& proc, size_t col, uint64_t addr);
    void mark_range(Process& proc, size_t col, uint64_t start, uint64_t end, HeatLayer layer);
    void add_range(Process& proc, uint64_t start, uint64_t end);
    void name_range(Process& proc, uint64_t start, uint64_t end, std::string name);
    void sample(Process& proc, size_t col);
    void walk_mappings(Process& proc, uint64_t resident_pages);
    // Counts in its series the page a fault of the process made resident
    // (`now`: the process after it); false if the mappings must be walked again.
    bool follow_fault(Process& proc, const FaultData& d, const std::optional<ProcessNow>& now);
    void on_fault(Process& proc, const Event& event, const FaultData& d, size_t col,
                  const std::optional<ProcessNow>& now);

    TimelineBuilder& timeline_;
    kernel::PageGeometry geometry_;
    uint64_t start_ns_;
    uint64_t column_ns_ = 100'000;
    unsigned granule_shift_ = 0;  // pages per granule: 2^shift
    std::vector<std::unique_ptr<Process>> processes_;
    std::unordered_map<uint32_t, Process*> by_pid_;
    Process* last_ = nullptr;
    // (process index, column, granule) -> counts
    CellTable cells_{kMaxCells};
    CellTable spare_cells_{kMaxCells};  // what coarsening rebuilds into (then swapped)
    uint64_t cached_key_ = ~uint64_t{0};
    Cell* cached_cell_ = nullptr;
    uint64_t last_ts_ = 0;
    uint64_t events_ = 0;
    uint64_t changes_ = 0;  // events and snapshots but faults: any may change any process's pages
};

}  // namespace pagetrace
