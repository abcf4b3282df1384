#include "report/report_collector.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "kernel/mm.h"
#include "output/names.h"
#include "proc/maps.h"
#include "report/report_process.h"

namespace pagetrace {

using namespace report_detail;

namespace {

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

}  // namespace pagetrace
