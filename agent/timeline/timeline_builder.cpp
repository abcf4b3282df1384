// The facade: the dispatch of events to their handlers, the handlers of the
// events about pages (faults, madvise, TLB flushes, migrations) and the results.
// The handlers of mapping changes are in timeline_mappings.cpp, of process
// lifecycles in timeline_processes.cpp, snapshots in timeline_snapshots.cpp.
#include "timeline/timeline_builder.h"

#include <algorithm>

#include "symbols/symbolizer.h"

namespace pagetrace {

namespace {

// Migrations larger than this order are not believed (a PUD THP is order 18).
constexpr uint32_t kMaxMigrateOrder = 18;

}  // namespace

TimelineBuilder::TimelineBuilder(HistoryFilter filter, kernel::PageGeometry geometry)
    : geometry_(geometry), processes_(&usage_, geometry), histories_(filter, geometry) {}

TimelineBuilder::~TimelineBuilder() = default;

void TimelineBuilder::add(const Event& event) {
    ++events_;
    std::visit([&](const auto& data) { on(event, data); }, event.data);
    note_peaks();
}

void TimelineBuilder::note_peaks() {
    if (usage_.pages > peak_pages_) {
        peak_pages_ = usage_.pages;
        peak_bytes_ = usage_.bytes;
    }
}

// ---------------------------------------------------------------- page events

void TimelineBuilder::track_fault_sites(Symbolizer* symbols, size_t top) {
    track_sites_ = true;
    symbols_ = symbols;
    sites_top_ = top;
}

FaultSite* TimelineBuilder::note_fault_site(TracedProcess& proc, const Event& event,
                                            const FaultData& d) {
    if (!track_sites_) return nullptr;
    const bool kernel = d.mode == FaultMode::Kernel;
    bool is_new = false;
    FaultSite& site = proc.sites.at(d.ip, kernel, is_new);
    // Only the key now: files are read when the summary is made.
    if (is_new && symbols_) site.key = symbols_->key(event.pid, d.ip, kernel);
    ++site.faults;
    if (d.outcome == FaultOutcome::Major) ++site.major;
    if (d.latency_ns && (d.outcome == FaultOutcome::Minor || d.outcome == FaultOutcome::Major)) {
        site.latency_ns_total += d.latency_ns;
        ++site.latency_samples;
    }
    return &site;
}

void TimelineBuilder::on(const Event& event, const FaultData& d) {
    TracedProcess& proc = processes_.of(event);
    ProcessSummary& s = proc.summary;
    FaultSite* site = note_fault_site(proc, event, d);
    ++s.faults.total;
    switch (d.outcome) {
    case FaultOutcome::Minor: ++s.faults.minor; break;
    case FaultOutcome::Major: ++s.faults.major; break;
    case FaultOutcome::Unaccounted: ++s.faults.unaccounted; break;
    case FaultOutcome::Unknown: ++s.faults.unknown; break;
    }
    const uint64_t vpn = geometry_.vpn(d.addr);
    TouchInfo touch;
    touch.access = d.access;
    touch.mode = d.mode;
    touch.outcome = d.outcome;
    touch.latency_ns = d.latency_ns;
    touch.ip = d.ip;
    // Histories (timeline --addr/--range) name the code of each touch.
    if (site && symbols_ && histories_.enabled()) {
        if (!site->where) site->where = symbols_->resolve(site->key);
        touch.where = site->where;
    }
    // A fault that never completed changed nothing: the retry is the touch.
    if (d.outcome == FaultOutcome::Unaccounted) {
        histories_.record(proc, vpn, event.ts_ns, std::move(touch));
        return;
    }
    PageRecord& rec = proc.space.pages().get(vpn);
    // A snapshot may have seen the page before this fault reached the stream
    // although the fault came first (faults are drained from the kernel in
    // batches): by the timestamps, it is still the first touch.
    const bool seen_only_later = rec.has(PageRecord::kSeenPresent) &&
                                 !rec.has(PageRecord::kTouched) &&
                                 event.ts_ns <= rec.first_touch_ns;
    touch.first = !rec.has(PageRecord::kTouched) &&
                  (!rec.has(PageRecord::kSeenPresent) || seen_only_later);
    if (seen_only_later && s.present_without_fault > 0) --s.present_without_fault;
    if (!rec.has(PageRecord::kTouched)) {
        rec.set(PageRecord::kTouched);
        rec.first_touch_ns = event.ts_ns;
        ++s.pages_touched;
    }
    if (touch.first && site) ++site->first_touches;
    if (touch.first) {
        const MappingPiece* piece = proc.space.mappings().find(d.addr);
        if (piece && piece->from_event() && event.ts_ns >= piece->mapped_ns) {
            touch.since_mapped_ns = event.ts_ns - piece->mapped_ns;
            proc.first_touch_latency.add(*touch.since_mapped_ns);
        }
    }
    // The page the kernel had taken comes back.
    if (rec.has(PageRecord::kSwappedOut | PageRecord::kEvicted)) {
        const bool swapped = rec.has(PageRecord::kSwappedOut);
        touch.cause = swapped ? TouchCause::SwapIn : TouchCause::Refault;
        if (const auto since = proc.space.take_away(vpn); since && event.ts_ns >= *since) {
            touch.away_ns = event.ts_ns - *since;
            if (swapped) proc.swapped_time.add(*touch.away_ns);
        }
        ++(swapped ? s.swapped_in_pages : s.refaults);
        rec.clear(PageRecord::kSwappedOut | PageRecord::kEvicted);
    }
    if (!rec.has(PageRecord::kResident)) proc.set_resident(rec);
    // A write on a frame shared since fork, or on the zero page: copy-on-write.
    if (d.access == Access::Write && rec.has(PageRecord::kShared)) {
        touch.cow = true;
        ++s.cow_faults;
        rec.clear(PageRecord::kShared);
    }
    rec.clear(PageRecord::kDiscarded | PageRecord::kArrivedAround | PageRecord::kArrivedPopulated);
    rec.set(PageRecord::kPfnStale);  // a fault may put in a new frame (zero page -> COW, ...)
    histories_.record(proc, vpn, event.ts_ns, std::move(touch));
}

void TimelineBuilder::on(const Event& event, const FaultAroundData& d) {
    TracedProcess& proc = processes_.of(event);
    ++proc.summary.fault_arounds;
    if (d.len == 0) return;
    proc.fault_arounds.push_back({d.addr, d.addr + d.len, event.ts_ns, d.fault_addr});
    if (proc.fault_arounds.size() > TracedProcess::kRecentFaultArounds) {
        proc.fault_arounds.pop_front();
    }
    expect_arrivals(proc, geometry_.down(d.addr), geometry_.range_end(d.addr, d.len), event.ts_ns,
                    true, d.fault_addr);
}

void TimelineBuilder::expect_arrivals(TracedProcess& proc, uint64_t start, uint64_t end,
                                      uint64_t ts, bool around, uint64_t fault_addr) {
    const uint64_t flag = around ? PageRecord::kArrivedAround : PageRecord::kArrivedPopulated;
    const uint64_t fault_vpn = fault_addr ? geometry_.vpn(fault_addr) : ~uint64_t{0};
    PageTable& pages = proc.space.pages();
    for (uint64_t vpn = geometry_.vpn(start); vpn < geometry_.vpn(end); ++vpn) {
        if (vpn == fault_vpn) continue;  // that one has its fault
        PageRecord& rec = pages.get(vpn);
        // Pages already in (touched, or seen present) were left alone.
        if (rec.has(PageRecord::kResident)) continue;
        rec.set(flag);
        rec.first_touch_ns = ts;
        if (around) histories_.hold(proc, vpn, ts, MappedAroundInfo{fault_addr, {}, {}});
    }
}

void TimelineBuilder::on(const Event& event, const MadviseData& d) {
    TracedProcess& proc = processes_.of(event);
    if (d.err != 0 || d.len == 0) return;
    if (d.advice == kernel::kMadvPopulateRead || d.advice == kernel::kMadvPopulateWrite) {
        expect_arrivals(proc, geometry_.down(d.addr), geometry_.range_end(d.addr, d.len),
                        event.ts_ns, false);
        return;
    }
    if (!kernel::madvise_discards(d.advice)) return;
    note_splits(proc, geometry_.down(d.addr), geometry_.range_end(d.addr, d.len), event.ts_ns,
                SplitCause::Madvise);
    const uint64_t first = geometry_.vpn(geometry_.down(d.addr));
    const uint64_t end = geometry_.vpn(geometry_.range_end(d.addr, d.len));
    proc.space.pages().for_each(first, end, [&](uint64_t vpn, PageRecord& rec) {
        if (!rec.has(PageRecord::kResident)) return;
        proc.clear_resident(rec);
        rec.set(PageRecord::kDiscarded | PageRecord::kPfnStale);
        ++proc.summary.discarded_pages;
        histories_.record(proc, vpn, event.ts_ns, DiscardedInfo{d.advice});
    });
}

void TimelineBuilder::on(const Event& event, const TlbFlushData& d) {
    TracedProcess* proc = processes_.owner_of(event);
    if (!proc) return;
    ++proc->summary.tlb_flushes;
    ++proc->summary.tlb_flushes_by_reason[d.reason];
    // Only ranged flushes go into histories: full flushes (every context
    // switch) would drown them. They are counted in the summary.
    if (!histories_.enabled() || d.end <= d.start) return;
    uint64_t first = geometry_.vpn(d.start);
    uint64_t end = geometry_.vpn(geometry_.up(d.end));
    // Fewer pages than the range of the call it came in: the kernel flushed
    // the span of the pages it unmapped (munmap, madvise), which is the span
    // of the resident ones when its length says so; otherwise which pages
    // is not known (reclaim flushes page by page during MADV_PAGEOUT).
    if (d.pages != PT_TLB_FLUSH_ALL && d.pages < end - first) {
        std::optional<uint64_t> lo;
        uint64_t hi = 0;
        proc->space.pages().for_each(first, end, [&](uint64_t vpn, PageRecord& rec) {
            if (!rec.has(PageRecord::kResident)) return;
            if (!lo) lo = vpn;
            hi = vpn + 1;
        });
        if (!lo || hi - *lo != d.pages) return;
        first = *lo;
        end = hi;
    }
    histories_.flushed(*proc, first, end, event.ts_ns,
                       TlbFlushInfo{d.pages, d.start, d.end, d.reason});
}

void TimelineBuilder::on(const Event& event, const MigrateData& d) {
    TracedProcess* owner = processes_.owner_of(event);
    if (!owner) return;
    TracedProcess& proc = *owner;
    ProcessSummary& s = proc.summary;
    ++s.migrations;
    ++s.migrations_by_reason[d.reason];
    const uint64_t pages = uint64_t{1} << std::min(d.order, kMaxMigrateOrder);
    s.migrated_pages += pages;
    const uint64_t first = geometry_.vpn(d.addr);
    for (uint64_t i = 0; i < pages; ++i) {
        PageRecord& rec = proc.space.pages().get(first + i);
        MigratedInfo info;
        info.old_pfn = d.old_pfn + i;
        info.new_pfn = d.new_pfn + i;
        info.order = d.order;
        info.reason = d.reason;
        info.mode = d.mode;
        info.by_pid = d.by_pid;
        info.by_comm = d.by_comm;
        if (rec.has(PageRecord::kPfnKnown) && !rec.has(PageRecord::kPfnStale) &&
            rec.pfn() != info.old_pfn) {
            info.unexplained = true;
            info.expected_old_pfn = rec.pfn();
            ++s.unexplained_frame_changes;
        }
        if (!rec.has(PageRecord::kResident)) proc.set_resident(rec);  // it had a frame
        rec.set(PageRecord::kSeenPresent);
        rec.clear(PageRecord::kPfnStale | PageRecord::kDiscarded);
        rec.set_pfn(info.new_pfn);
        histories_.record(proc, first + i, event.ts_ns, std::move(info));
    }
}

void TimelineBuilder::on(const Event& event, const MigrateBatchData& d) {
    if (TracedProcess* proc = processes_.owner_of(event)) {
        ++proc->summary.migrate_batches;
        proc->summary.migrate_batch_failed += d.failed;
    }
}

void TimelineBuilder::on(const Event& event, const MprotectData& d) {
    TracedProcess& proc = processes_.of(event);
    if (d.err != 0 || d.len == 0) return;
    // A protection that ends inside a huge page splits it; frames stay.
    const uint64_t start = geometry_.down(d.addr);
    const uint64_t end = geometry_.range_end(d.addr, d.len);
    const MappingPiece* piece = proc.space.mappings().find(start);
    if (piece && piece->prot == d.prot && piece->end >= end) return;  // nothing changes
    note_splits(proc, start, end, event.ts_ns, SplitCause::Mprotect);
}

void TimelineBuilder::on(const Event& event, const LostData& d) {
    gaps_.push_back({event.ts_ns, d.count, event.cpu});
}

// ---------------------------------------------------------------- results

std::vector<ProcessSummary> TimelineBuilder::summaries() const {
    std::vector<ProcessSummary> out;
    out.reserve(processes_.all().size());
    for (const auto& p : processes_.all()) {
        ProcessSummary& s = out.emplace_back(p->summary);
        // What is derived from the state rather than counted as events arrive.
        s.mapped_bytes = p->space.mapped_series();
        s.mapped_bytes_final = p->space.mapped_bytes();
        const LatencyHistogram& latency = p->first_touch_latency;
        s.first_touch_after_mmap_ns = {latency.count(), latency.percentile(50),
                                       latency.percentile(90), latency.percentile(99),
                                       latency.max()};
        s.untouched_bytes = p->space.untouched_pages() * geometry_.size();
        const LatencyHistogram& swapped = p->swapped_time;
        s.time_swapped_ns = {swapped.count(), swapped.percentile(50), swapped.percentile(90),
                             swapped.percentile(99), swapped.max()};
        if (track_sites_) s.fault_sites = p->sites.top(sites_top_, symbols_);
        FaultCounts& f = s.faults;
        if (f.kernel_minor && f.kernel_major && f.kernel_before_tracing) {
            const uint64_t kernel = *f.kernel_minor + *f.kernel_major;
            const uint64_t seen = f.minor + f.major + f.unknown + *f.kernel_before_tracing;
            f.without_exception = kernel > seen ? kernel - seen : 0;
        }
        const uint64_t life_start =
            s.start_ns ? std::min(*s.start_ns, s.first_ts_ns) : s.first_ts_ns;
        const uint64_t life_end = p->ended ? p->end_ts : ~uint64_t{0};
        for (const TimelineGap& gap : gaps_) {
            if (gap.ts_ns >= life_start && gap.ts_ns <= life_end) {
                ++s.gaps;
                s.lost_events += gap.lost;
            }
        }
    }
    return out;
}

std::vector<PageHistory> TimelineBuilder::page_histories() const {
    return histories_.read(processes_, gaps_);
}

std::optional<PageState> TimelineBuilder::page_state(uint32_t pid, uint64_t addr) const {
    const TracedProcess* proc = processes_.latest(pid);
    if (!proc) return std::nullopt;
    const PageRecord* rec = proc->space.pages().find(geometry_.vpn(addr));
    if (!rec) return std::nullopt;
    PageState state;
    state.addr = geometry_.down(addr);
    if (rec->has(PageRecord::kPfnKnown)) state.pfn = rec->pfn();
    if (rec->has(PageRecord::kTouched)) state.first_touch_ns = rec->first_touch_ns;
    state.resident = rec->has(PageRecord::kResident);
    state.discarded = rec->has(PageRecord::kDiscarded);
    return state;
}

std::optional<ProcessNow> TimelineBuilder::process_now(uint32_t pid) const {
    const TracedProcess* proc = processes_.live(pid);
    if (!proc) return std::nullopt;
    const ProcessSummary& s = proc->summary;
    return ProcessNow{.resident_pages = s.resident_pages_final,
                      .resident_pages_peak = s.resident_pages_peak,
                      .mapped_bytes = proc->space.mapped_bytes(),
                      .pages_touched = s.pages_touched,
                      .discarded_pages = s.discarded_pages,
                      .migrated_pages = s.migrated_pages,
                      .tlb_flushes = s.tlb_flushes,
                      .swapped_out_pages = s.swapped_out_pages,
                      .swapped_in_pages = s.swapped_in_pages,
                      .evicted_pages = s.evicted_pages,
                      .faults = s.faults};
}

std::vector<MappingNow> TimelineBuilder::mappings_now(uint32_t pid) const {
    std::vector<MappingNow> out;
    const TracedProcess* proc = processes_.live(pid);
    if (!proc) return out;
    out.reserve(proc->space.mappings().pieces().size());
    for (const auto& [start, piece] : proc->space.mappings().pieces()) {
        out.push_back({piece, proc->space.pages().count_with(geometry_.vpn(piece.start),
                                                             geometry_.vpn(piece.end),
                                                             PageRecord::kResident)});
    }
    return out;
}

TimelineStats TimelineBuilder::stats() const {
    TimelineStats s;
    s.events = events_;
    s.snapshots = snapshots_;
    s.processes = processes_.all().size();
    s.orphan_events = processes_.orphan_events();
    s.stale_frame_events = stale_frame_events_;
    s.tracked_pages = usage_.pages;
    s.page_bytes = usage_.bytes;
    s.tracked_pages_peak = peak_pages_;
    s.page_bytes_at_peak = peak_bytes_;
    s.bytes_per_page =
        peak_pages_ ? static_cast<double>(peak_bytes_) / static_cast<double>(peak_pages_) : 0;
    s.history_pages = histories_.pages();
    s.history_events = histories_.entries();
    s.history_bytes = histories_.memory_bytes();
    s.histories_dropped = histories_.dropped();
    s.gaps = gaps_.size();
    for (const TimelineGap& gap : gaps_) s.lost_events += gap.lost;
    return s;
}

}  // namespace pagetrace
