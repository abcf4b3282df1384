#include "report/report_collector.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "kernel/mm.h"
#include "output/names.h"
#include "proc/maps.h"

namespace pagetrace {

namespace {

constexpr size_t kNone = ~size_t{0};
constexpr size_t kMaxSeriesTracked = 32;  // per process; more go to "other"
constexpr size_t kMaxSitesTracked = 4096;  // distinct ips per process; more go to "other"
constexpr unsigned kGranuleBits = 36;
constexpr unsigned kColumnBits = 9;
static_assert((size_t{1} << kColumnBits) == kColumns);

uint64_t cell_key(size_t process, size_t col, uint64_t granule) {
    return (uint64_t{process} << (kGranuleBits + kColumnBits)) | (uint64_t{col} << kGranuleBits) |
           (granule & ((uint64_t{1} << kGranuleBits) - 1));
}

// The name a mapping is charted by: a file's base name, "[heap]", "[stack]".
std::string display_name(std::string_view path) {
    if (path.empty() || path.front() == '[') return std::string(path);
    const size_t slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Levels: a column whose sample is missing keeps the one before it.
void merge_level_pairs(std::vector<int64_t>& v) {
    for (size_t c = 0; c < kColumns / 2; ++c) {
        v[c] = v[2 * c + 1] >= 0 ? v[2 * c + 1] : v[2 * c];
    }
    std::fill(v.begin() + kColumns / 2, v.end(), -1);
}

void merge_count_pairs(std::vector<uint32_t>& v, size_t per_column) {
    if (v.empty()) return;
    for (size_t c = 0; c < kColumns / 2; ++c) {
        for (size_t b = 0; b < per_column; ++b) {
            v[c * per_column + b] = v[2 * c * per_column + b] + v[(2 * c + 1) * per_column + b];
        }
    }
    std::fill(v.begin() + kColumns / 2 * per_column, v.end(), 0);
}

}  // namespace

size_t duration_bin(uint64_t ns) {
    if (ns < (uint64_t{1} << kDurationBinsFromLog2)) return 0;
    const unsigned log2 = 63u - static_cast<unsigned>(__builtin_clzll(ns));
    const bool upper = ns >= (uint64_t{1} << log2) + (uint64_t{1} << (log2 - 1));
    const size_t bin = 2 * (log2 - kDurationBinsFromLog2) + (upper ? 1 : 0);
    return std::min(bin, kDurationBins - 1);
}

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
    size_t last_col = kNone;
    size_t first_col = kNone;
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
        if (series_labels.size() >= kMaxSeriesTracked && label != "other") return series("other");
        series_labels.push_back(label);
        series_resident.emplace_back(kColumns, -1);
        series_mapped.emplace_back(kColumns, -1);
        series_resident_now.push_back(0);
        series_mapped_now.push_back(0);
        return series_index[label] = series_labels.size() - 1;
    }
};

ReportCollector::ReportCollector(TimelineBuilder& timeline, kernel::PageGeometry geometry,
                                 uint64_t start_ns)
    : timeline_(timeline), geometry_(geometry), start_ns_(start_ns) {}

ReportCollector::~ReportCollector() = default;

ReportCollector::Process* ReportCollector::find(uint32_t pid) {
    if (last_ && last_->pid == pid) return last_;
    auto it = by_pid_.find(pid);
    return it != by_pid_.end() ? it->second : nullptr;
}

ReportCollector::Process& ReportCollector::process(uint32_t pid, std::string_view comm) {
    Process* proc = find(pid);
    if (!proc || proc->ended) {
        auto made = std::make_unique<Process>();
        made->index = processes_.size();
        made->pid = pid;
        made->comm = std::string(comm);
        made->resident.assign(kColumns, -1);
        made->mapped.assign(kColumns, -1);
        proc = made.get();
        processes_.push_back(std::move(made));
        by_pid_[pid] = proc;
    }
    if (proc->comm.empty() && !comm.empty()) proc->comm = std::string(comm);
    last_ = proc;
    return *proc;
}

// ---------------------------------------------------------------- binning

size_t ReportCollector::column(uint64_t ts) {
    if (ts <= start_ns_) return 0;
    while ((ts - start_ns_) / column_ns_ >= kColumns) coarsen_time();
    return static_cast<size_t>((ts - start_ns_) / column_ns_);
}

void ReportCollector::coarsen_time() {
    column_ns_ *= 2;
    CellTable& merged = spare_cells_;
    merged.clear();
    const uint64_t granule_mask = (uint64_t{1} << kGranuleBits) - 1;
    cells_.drain([&](uint64_t key, const Cell& c) {
        const uint64_t proc = key >> (kGranuleBits + kColumnBits);
        const uint64_t col = (key >> kGranuleBits) & (kColumns - 1);
        Cell& into = merged.at(cell_key(proc, col / 2, key & granule_mask));
        for (size_t l = 0; l < kHeatLayerCount; ++l) into.counts[l] += c.counts[l];
    });
    cells_.swap(merged);
    cached_cell_ = nullptr;
    cached_key_ = ~uint64_t{0};
    for (auto& proc : processes_) {
        merge_level_pairs(proc->resident);
        merge_level_pairs(proc->mapped);
        for (auto& v : proc->series_resident) merge_level_pairs(v);
        for (auto& v : proc->series_mapped) merge_level_pairs(v);
        merge_count_pairs(proc->minor, kDurationBins);
        merge_count_pairs(proc->major, kDurationBins);
        merge_count_pairs(proc->first_delay, kDurationBins);
        std::unordered_map<uint64_t, uint32_t> sites;
        for (const auto& [key, n] : proc->site_counts) {
            const uint64_t col = key & (kColumns - 1);
            sites[((key >> kColumnBits) << kColumnBits) | (col / 2)] += n;
        }
        proc->site_counts = std::move(sites);
        proc->last_count_key = ~uint64_t{0};
        proc->last_count = nullptr;
        if (proc->last_col != kNone) proc->last_col /= 2;
        if (proc->first_col != kNone) proc->first_col /= 2;
    }
}

void ReportCollector::coarsen_addresses() {
    ++granule_shift_;
    CellTable& merged = spare_cells_;
    merged.clear();
    const uint64_t granule_mask = (uint64_t{1} << kGranuleBits) - 1;
    cells_.drain([&](uint64_t key, const Cell& c) {
        Cell& into = merged.at((key & ~granule_mask) | ((key & granule_mask) >> 1));
        for (size_t l = 0; l < kHeatLayerCount; ++l) into.counts[l] += c.counts[l];
    });
    cells_.swap(merged);
    cached_cell_ = nullptr;
    cached_key_ = ~uint64_t{0};
}

ReportCollector::Cell& ReportCollector::cell(Process& proc, size_t col, uint64_t addr) {
    const uint64_t key = cell_key(proc.index, col, geometry_.vpn(addr) >> granule_shift_);
    if (key == cached_key_) return *cached_cell_;
    if (cells_.full()) {
        coarsen_addresses();
        return cell(proc, col, addr);
    }
    cached_key_ = key;
    cached_cell_ = &cells_.at(key);
    return *cached_cell_;
}

void ReportCollector::mark_range(Process& proc, size_t col, uint64_t start, uint64_t end,
                                 HeatLayer layer) {
    const uint64_t granule_bytes = geometry_.size() << granule_shift_;
    start = start & ~(granule_bytes - 1);
    // A huge range marks at most 4096 cells, spread over it.
    const uint64_t cells = std::max<uint64_t>(1, (end - start + granule_bytes - 1) / granule_bytes);
    const uint64_t step = granule_bytes * std::max<uint64_t>(1, cells / 4096);
    for (uint64_t addr = start; addr < end && addr >= start; addr += step) {
        ++cell(proc, col, addr).counts[static_cast<size_t>(layer)];
    }
}

void ReportCollector::add_range(Process& proc, uint64_t start, uint64_t end) {
    if (start >= end) return;
    if (start >= proc.cached_range_start && end <= proc.cached_range_end) return;
    auto it = proc.ranges.upper_bound(start);
    if (it != proc.ranges.begin() && std::prev(it)->second >= start) --it;
    while (it != proc.ranges.end() && it->first <= end) {
        start = std::min(start, it->first);
        end = std::max(end, it->second);
        it = proc.ranges.erase(it);
    }
    proc.ranges[start] = end;
    proc.cached_range_start = start;
    proc.cached_range_end = end;
}

void ReportCollector::name_range(Process& proc, uint64_t start, uint64_t end, std::string name) {
    if (start >= end || name.empty()) return;
    proc.names[start] = {end, std::move(name)};
    proc.stale = true;  // the series' labels may change
}

void ReportCollector::walk_mappings(Process& proc, uint64_t resident_pages) {
    std::fill(proc.series_resident_now.begin(), proc.series_resident_now.end(), 0);
    std::fill(proc.series_mapped_now.begin(), proc.series_mapped_now.end(), 0);
    proc.stale = false;
    proc.followed = false;
    proc.changes_at_walk = changes_;
    proc.resident_followed = resident_pages;
    proc.walked.clear();
    proc.walked_hint = 0;
    for (const MappingNow& m : timeline_.mappings_now(proc.pid)) {
        std::string label;
        auto named = proc.names.upper_bound(m.piece.start);
        if (named != proc.names.begin() && std::prev(named)->second.first > m.piece.start) {
            label = display_name(std::prev(named)->second.second);
        } else if (m.piece.cause == MapCause::Brk) {
            label = "[heap]";
        } else {
            label = fmt::format("{} {} {}",
                                (m.piece.flags & kernel::kMapAnonymous) ? "anon" : "file",
                                prot_string(m.piece.prot), hex(m.piece.start));
        }
        const size_t s = proc.series(label);
        proc.series_resident_now[s] += static_cast<int64_t>(m.resident_pages);
        proc.series_mapped_now[s] += static_cast<int64_t>(m.piece.bytes());
        proc.walked.push_back({geometry_.vpn(m.piece.start), geometry_.vpn(m.piece.end), s});
    }
}

bool ReportCollector::follow_fault(Process& proc, const FaultData& d,
                                   const std::optional<ProcessNow>& now) {
    if (proc.stale || proc.ended || !now || proc.changes_at_walk != changes_) return false;
    // The timeline's fault makes its own page resident, if it was not, and
    // changes no other page's residency.
    if (now->resident_pages == proc.resident_followed) {
        proc.followed = true;
        return true;
    }
    if (now->resident_pages != proc.resident_followed + 1) return false;
    proc.resident_followed = now->resident_pages;
    proc.followed = true;
    const uint64_t vpn = geometry_.vpn(d.addr);
    const auto inside = [&](size_t i) {
        return i < proc.walked.size() && proc.walked[i].first_vpn <= vpn && vpn < proc.walked[i].end_vpn;
    };
    if (!inside(proc.walked_hint)) {
        const auto it = std::upper_bound(
            proc.walked.begin(), proc.walked.end(), vpn,
            [](uint64_t v, const Process::WalkedPiece& p) { return v < p.first_vpn; });
        if (it == proc.walked.begin()) return true;  // in no mapping: in no series
        proc.walked_hint = static_cast<size_t>(it - proc.walked.begin()) - 1;
        if (!inside(proc.walked_hint)) return true;
    }
    ++proc.series_resident_now[proc.walked[proc.walked_hint].series];
    return true;
}

void ReportCollector::sample(Process& proc, size_t col) {
    const std::optional<ProcessNow> now = timeline_.process_now(proc.pid);
    proc.resident[col] = now ? static_cast<int64_t>(now->resident_pages) : 0;
    proc.mapped[col] = now ? static_cast<int64_t>(now->mapped_bytes) : 0;
    if (!now) {
        std::fill(proc.series_resident_now.begin(), proc.series_resident_now.end(), 0);
        std::fill(proc.series_mapped_now.begin(), proc.series_mapped_now.end(), 0);
        proc.stale = true;
    } else if (proc.stale || (proc.followed && proc.changes_at_walk != changes_)) {
        walk_mappings(proc, now->resident_pages);
    }
    for (size_t s = 0; s < proc.series_labels.size(); ++s) {
        proc.series_resident[s][col] = proc.series_resident_now[s];
        proc.series_mapped[s][col] = proc.series_mapped_now[s];
    }
}

// ---------------------------------------------------------------- events

void ReportCollector::on_fault(Process& proc, const Event& event, const FaultData& d, size_t col,
                               const std::optional<ProcessNow>& now) {
    const uint64_t page = geometry_.down(d.addr);
    add_range(proc, page, page + geometry_.size());
    Cell& c = cell(proc, col, d.addr);
    ++c.counts[static_cast<size_t>(HeatLayer::Faults)];
    proc.grow_histograms();
    // Latency histograms: of the faults whose latency was measured.
    if (d.latency_ns && d.outcome == FaultOutcome::Minor) {
        ++proc.minor[col * kDurationBins + duration_bin(d.latency_ns)];
    }
    if (d.latency_ns && d.outcome == FaultOutcome::Major) {
        ++proc.major[col * kDurationBins + duration_bin(d.latency_ns)];
    }
    if (now) {
        if (now->pages_touched > proc.pages_touched) {
            ++c.counts[static_cast<size_t>(HeatLayer::FirstTouches)];
            if (d.addr < proc.piece_start || d.addr >= proc.piece_end) {
                const MappingPiece* piece = proc.mapped_at.find(d.addr);
                proc.piece_start = piece ? piece->start : 0;
                proc.piece_end = piece ? piece->end : 0;
                proc.piece_mapped_ns = piece ? piece->mapped_ns : 0;
            }
            if (proc.piece_end && event.ts_ns >= proc.piece_mapped_ns) {
                ++proc.first_delay[col * kDurationBins +
                                   duration_bin(event.ts_ns - proc.piece_mapped_ns)];
            }
        }
        proc.pages_touched = now->pages_touched;
    }
    const bool kernel = d.mode == FaultMode::Kernel;
    const uint64_t site_key = (d.ip << 1) | (kernel ? 1 : 0);
    if (site_key != proc.last_site_key) {
        auto [it, inserted] =
            proc.site_of.try_emplace(site_key, static_cast<uint32_t>(proc.sites.size()));
        if (inserted) {
            if (proc.sites.size() < kMaxSitesTracked) {
                proc.sites.push_back({d.ip, kernel, 0});
            } else {
                it->second = kMaxSitesTracked;  // "other"
            }
        }
        proc.last_site_key = site_key;
        proc.last_site = it->second;
    }
    if (proc.last_site < proc.sites.size()) ++proc.sites[proc.last_site].total;
    const uint64_t count_key = (uint64_t{proc.last_site} << kColumnBits) | col;
    if (count_key != proc.last_count_key) {
        proc.last_count_key = count_key;
        proc.last_count = &proc.site_counts[count_key];
    }
    ++*proc.last_count;
}

void ReportCollector::on_event(const Event& event, std::span<const std::byte>) {
    ++events_;
    last_ts_ = std::max(last_ts_, event.ts_ns);
    if (event.type == EventType::Lost) {
        ++changes_;
        timeline_.add(event);
        return;
    }
    const size_t col = column(event.ts_ns);
    const bool attributed = event.type == EventType::Migrate ||
                            event.type == EventType::MigrateBatch ||
                            event.type == EventType::TlbFlush;
    Process* found = attributed ? find(event.pid) : nullptr;
    Process& proc = found ? *found : process(event.pid, event.comm);
    // The levels at the end of the column the process leaves, before this event.
    if (proc.last_col != kNone && proc.last_col != col && !proc.ended) sample(proc, proc.last_col);
    // A fault changes one page: the series follow it without a new walk.
    const FaultData* fault = std::get_if<FaultData>(&event.data);
    if (!fault) ++changes_;
    timeline_.add(event);
    const std::optional<ProcessNow> now = fault ? timeline_.process_now(event.pid) : std::nullopt;
    if (!fault || !follow_fault(proc, *fault, now)) proc.stale = true;
    if (!proc.ended) {
        proc.last_col = col;
        if (proc.first_col == kNone) proc.first_col = col;
    }

    std::visit(
        [&](const auto& d) {
            using T = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<T, FaultData>) {
                on_fault(proc, event, d, col, now);
            } else if constexpr (std::is_same_v<T, MmapData>) {
                if (d.err != 0) return;
                const uint64_t start = geometry_.down(d.addr);
                const uint64_t end = geometry_.range_end(d.addr, d.len);
                add_range(proc, start, end);
                proc.mapped_at.remove(start, end);
                proc.mapped_at.insert({.start = start, .end = end, .mapped_ns = event.ts_ns});
                proc.mapped_at_changed();
            } else if constexpr (std::is_same_v<T, MunmapData>) {
                if (d.err == 0) {
                    proc.mapped_at.remove(geometry_.down(d.addr), geometry_.range_end(d.addr, d.len));
                    proc.mapped_at_changed();
                }
            } else if constexpr (std::is_same_v<T, MremapData>) {
                if (d.err != 0) return;
                const uint64_t start = geometry_.down(d.new_addr);
                const uint64_t end = geometry_.range_end(d.new_addr, d.new_len);
                add_range(proc, start, end);
                if (d.old_len != 0 && !(d.flags & kernel::kMremapDontunmap)) {
                    proc.mapped_at.remove(geometry_.down(d.old_addr),
                                          geometry_.range_end(d.old_addr, d.old_len));
                }
                proc.mapped_at.remove(start, end);
                proc.mapped_at.insert({.start = start, .end = end, .mapped_ns = event.ts_ns});
                proc.mapped_at_changed();
            } else if constexpr (std::is_same_v<T, BrkData>) {
                const uint64_t top = geometry_.up(d.ret);
                if (!proc.heap_start) proc.heap_start = proc.heap_end = top;
                if (top > *proc.heap_end) {
                    proc.mapped_at.remove(*proc.heap_end, top);
                    proc.mapped_at.insert(
                        {.start = *proc.heap_end, .end = top, .mapped_ns = event.ts_ns});
                }
                proc.heap_end = top;
                proc.mapped_at_changed();
                add_range(proc, *proc.heap_start, top);
                name_range(proc, *proc.heap_start, std::max(top, *proc.heap_start + 1), "[heap]");
            } else if constexpr (std::is_same_v<T, MadviseData>) {
                if (d.err != 0) return;
                const uint64_t start = geometry_.down(d.addr);
                const uint64_t end = geometry_.range_end(d.addr, d.len);
                if (kernel::madvise_discards(d.advice)) {
                    mark_range(proc, col, start, end, HeatLayer::Discards);
                } else if (d.advice == kernel::kMadvCollapse || d.advice == kernel::kMadvHugepage) {
                    mark_range(proc, col, start, end, HeatLayer::Collapses);
                }
            } else if constexpr (std::is_same_v<T, TlbFlushData>) {
                if (d.start < d.end) mark_range(proc, col, d.start, d.end, HeatLayer::Flushes);
            } else if constexpr (std::is_same_v<T, MigrateData>) {
                const uint64_t page = geometry_.down(d.addr);
                add_range(proc, page, page + geometry_.size());
                ++cell(proc, col, d.addr).counts[static_cast<size_t>(HeatLayer::Migrations)];
            } else if constexpr (std::is_same_v<T, ForkData>) {
                Process* child = find(d.child_pid);
                if (!child || child->ended) process(d.child_pid, event.comm);
                last_ = &proc;
            } else if constexpr (std::is_same_v<T, ExecData>) {
                proc.mapped_at.clear();
                proc.mapped_at_changed();
                proc.heap_start.reset();
                proc.heap_end.reset();
                const size_t slash = d.filename.rfind('/');
                proc.comm = event.comm.empty()
                                ? d.filename.substr(slash == std::string::npos ? 0 : slash + 1)
                                : event.comm;
            } else if constexpr (std::is_same_v<T, ExitData>) {
                if (!proc.ended) {
                    sample(proc, col);
                    proc.ended = true;
                    if (last_ == &proc) last_ = nullptr;
                }
            }
        },
        event.data);
}

void ReportCollector::on_snapshot(const PagemapSnapshot& snapshot) {
    last_ts_ = std::max(last_ts_, snapshot.ts_ns);
    Process* proc = find(snapshot.pid);
    const size_t col = column(snapshot.ts_ns);
    if (proc && !proc->ended && proc->last_col != kNone && proc->last_col != col) {
        sample(*proc, proc->last_col);
    }
    ++changes_;
    timeline_.add_snapshot(snapshot);
    if (!proc || proc->ended) return;
    proc->stale = true;
    proc->last_col = col;
    for (const Mapping& m : snapshot.mappings) {
        add_range(*proc, m.start, m.end);
        name_range(*proc, m.start, m.end, m.path);
    }
}

void ReportCollector::on_process(const ProcessSnapshot& facts) {
    // Facts read after an exit belong to the instance that exited.
    Process* found = find(facts.pid);
    Process& proc = found ? *found : process(facts.pid, facts.comm);
    std::string_view text = facts.maps;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (const auto m = parse_maps_line(line)) {
            add_range(proc, m->start, m->end);
            name_range(proc, m->start, m->end, m->path);
        }
    }
}

void ReportCollector::on_end() {
    for (auto& proc : processes_) {
        if (!proc->ended && proc->last_col != kNone) sample(*proc, proc->last_col);
    }
}

// ---------------------------------------------------------------- results

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
