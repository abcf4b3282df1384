#include "timeline/timeline_builder.h"

#include <algorithm>

#include "timeline/latency_histogram.h"
#include "timeline/mapping_set.h"

namespace pagetrace {

namespace {

constexpr uint64_t kPageShift = 12;
constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
constexpr uint64_t kPageMask = kPageSize - 1;
// One past the highest page address: the whole address space.
constexpr uint64_t kAddressEnd = ~kPageMask;

// mmap(2), mremap(2) and madvise(2) constants (x86-64 uapi).
constexpr uint32_t kMapShared = 0x01;
constexpr uint32_t kMapPrivate = 0x02;
constexpr uint32_t kMapFixed = 0x10;
constexpr uint32_t kMapAnonymous = 0x20;
constexpr uint32_t kMremapDontunmap = 4;
constexpr int32_t kMadvDontneed = 4;
constexpr int32_t kMadvFree = 8;
constexpr int32_t kMadvRemove = 9;
constexpr int32_t kMadvPageout = 21;
constexpr int32_t kMadvDontneedLocked = 24;
// Migrations larger than this order are not believed (a PUD THP is order 18).
constexpr uint32_t kMaxMigrateOrder = 18;

uint64_t page_down(uint64_t addr) { return addr & ~kPageMask; }
uint64_t page_up(uint64_t addr) {
    return addr > kAddressEnd ? kAddressEnd : (addr + kPageMask) & ~kPageMask;
}
uint64_t vpn_of(uint64_t addr) { return addr >> kPageShift; }

// The end of [addr, addr + len) rounded up to a page, without wrapping.
uint64_t range_end(uint64_t addr, uint64_t len) {
    const uint64_t end = addr + len < addr ? kAddressEnd : addr + len;
    return page_up(end);
}

bool discards_pages(int32_t advice) {
    return advice == kMadvDontneed || advice == kMadvFree || advice == kMadvRemove ||
           advice == kMadvPageout || advice == kMadvDontneedLocked;
}

uint32_t prot_from_perms(const std::string& perms) {
    uint32_t prot = 0;
    if (perms.size() > 0 && perms[0] == 'r') prot |= 1;
    if (perms.size() > 1 && perms[1] == 'w') prot |= 2;
    if (perms.size() > 2 && perms[2] == 'x') prot |= 4;
    return prot;
}

uint32_t flags_from_mapping(const Mapping& m) {
    uint32_t flags = (m.perms.size() > 3 && m.perms[3] == 's') ? kMapShared : kMapPrivate;
    if (m.path.empty()) flags |= kMapAnonymous;
    return flags;
}

// The mapped-bytes series: every change until it holds kMax points, then
// every second one of those, and from then on every second change, and so on,
// so that it stays evenly spread over the changes. The latest change is always
// reported.
class MappedSeries {
public:
    void add(MappedPoint point) {
        latest_ = point;
        if (changes_++ % stride_ == 0) {
            points_.push_back(point);
            if (points_.size() >= kMax) {
                size_t kept = 0;
                for (size_t i = 0; i < points_.size(); i += 2) points_[kept++] = points_[i];
                points_.resize(kept);
                stride_ *= 2;
            }
        }
    }
    std::vector<MappedPoint> points() const {
        std::vector<MappedPoint> out = points_;
        if (changes_ && (out.empty() || out.back().ts_ns != latest_.ts_ns ||
                         out.back().bytes != latest_.bytes)) {
            out.push_back(latest_);
        }
        return out;
    }

private:
    static constexpr size_t kMax = ProcessSummary::kMaxMappedPoints;
    std::vector<MappedPoint> points_;
    MappedPoint latest_;
    uint64_t changes_ = 0;
    uint64_t stride_ = 1;
};

}  // namespace

struct TimelineBuilder::Process {
    explicit Process(PageTableUsage* usage) : pages(usage) {}

    size_t index = 0;
    uint32_t pid = 0;
    std::optional<uint64_t> start_ns;
    std::optional<uint32_t> parent_pid;
    std::string comm;
    std::string exec_filename;
    uint64_t first_ts = 0;
    uint64_t last_ts = 0;
    bool ended = false;
    uint64_t end_ts = 0;
    std::optional<uint64_t> exit_ts;
    std::optional<uint32_t> exit_status;
    bool pid_reused = false;

    MappingSet mappings;
    PageTable pages;
    bool brk_known = false;
    uint64_t brk_start = 0;
    uint64_t brk_end = 0;  // page-aligned end of the heap

    MappedSeries series;
    bool mapped_noted = false;
    uint64_t mapped_last = 0;
    uint64_t mapped_peak = 0;
    uint64_t pages_touched = 0;
    uint64_t resident = 0;
    uint64_t resident_peak = 0;
    FaultCounts faults;
    LatencyHistogram first_touch_latency;
    uint64_t untouched_removed = 0;  // pages
    uint64_t discarded_pages = 0;
    uint64_t migrations = 0;
    uint64_t migrated_pages = 0;
    std::map<uint32_t, uint64_t> migrations_by_reason;
    uint64_t migrate_batches = 0;
    uint64_t migrate_batch_failed = 0;
    uint64_t tlb_flushes = 0;
    std::map<uint32_t, uint64_t> tlb_flushes_by_reason;
    uint64_t present_before_tracing = 0;
    uint64_t present_without_fault = 0;
    uint64_t unexplained_frame_changes = 0;
    uint64_t not_present = 0;
    uint64_t mapping_conflicts = 0;
};

HistoryFilter HistoryFilter::range(std::optional<uint32_t> pid, uint64_t start, uint64_t end) {
    HistoryFilter f;
    f.pid = pid;
    f.start = page_down(start);
    f.end = page_up(std::max(start, end));
    return f;
}

HistoryFilter HistoryFilter::page(std::optional<uint32_t> pid, uint64_t addr) {
    return range(pid, addr, page_down(addr) + kPageSize);
}

TimelineBuilder::TimelineBuilder(HistoryFilter filter) : filter_(filter) {
    filter_.start = page_down(filter_.start);
    filter_.end = page_up(filter_.end);
}

TimelineBuilder::~TimelineBuilder() = default;

template <typename F>
void TimelineBuilder::for_filter_pages(const Process& proc, uint64_t start, uint64_t end, F&& f) {
    if (!filter_.enabled() || (filter_.pid && *filter_.pid != proc.pid)) return;
    const uint64_t lo = vpn_of(std::max(start, filter_.start));
    const uint64_t hi = vpn_of(std::min(end, filter_.end));
    uint64_t vpn = lo;
    for (; vpn < hi && history_count_ < filter_.max_pages; ++vpn) f(vpn);
    if (vpn >= hi) return;
    // Out of room: only pages that already have a history go on.
    uint64_t existing = 0;
    const HistoryKey last{proc.index, hi};
    std::vector<uint64_t> vpns;
    for (auto it = histories_.lower_bound({proc.index, vpn}); it != histories_.end() && it->first < last;
         ++it) {
        vpns.push_back(it->first.vpn);
    }
    for (uint64_t v : vpns) {
        f(v);
        ++existing;
    }
    histories_dropped_ += (hi - vpn) - existing;
}

// ---------------------------------------------------------------- processes

TimelineBuilder::Process& TimelineBuilder::new_process(uint32_t pid, uint64_t ts_ns,
                                                       std::optional<uint64_t> start_ns) {
    auto proc = std::make_unique<Process>(&usage_);
    proc->index = processes_.size();
    proc->pid = pid;
    proc->start_ns = start_ns;
    proc->first_ts = ts_ns;
    proc->last_ts = ts_ns;
    Process& ref = *proc;
    processes_.push_back(std::move(proc));
    live_[pid] = &ref;
    latest_[pid] = ref.index;
    return ref;
}

void TimelineBuilder::touch_process(Process& proc, const Event& event) {
    proc.last_ts = std::max(proc.last_ts, event.ts_ns);
    // The main thread's name is the process's; others only until it shows up.
    if (!event.comm.empty() && (event.tid == event.pid || proc.comm.empty())) {
        proc.comm = event.comm;
    }
}

TimelineBuilder::Process& TimelineBuilder::process_for(const Event& event) {
    auto it = live_.find(event.pid);
    Process& proc = it != live_.end() ? *it->second : new_process(event.pid, event.ts_ns, std::nullopt);
    touch_process(proc, event);
    return proc;
}

// Migrations and TLB flushes are attributed to their owner by the agent, and
// may trail its exit: they never start a new instance of a pid that exited.
TimelineBuilder::Process* TimelineBuilder::attributed_process(const Event& event) {
    auto it = live_.find(event.pid);
    if (it == live_.end() && latest_.count(event.pid)) {
        ++orphan_events_;
        return nullptr;
    }
    return &process_for(event);
}

void TimelineBuilder::end_process(Process& proc, uint64_t ts_ns, bool pid_reused) {
    unmap_range(proc, 0, kAddressEnd, ts_ns, UnmapCause::Exit);
    note_mapped(proc, ts_ns);
    proc.mappings.clear();
    proc.pages.clear();
    proc.ended = true;
    proc.end_ts = ts_ns;
    proc.pid_reused = pid_reused;
    auto it = live_.find(proc.pid);
    if (it != live_.end() && it->second == &proc) live_.erase(it);
}

// ---------------------------------------------------------------- events

void TimelineBuilder::add(const Event& event) {
    ++events_;
    const uint64_t ts = event.ts_ns;
    if (const auto* d = std::get_if<LostData>(&event.data)) {
        gaps_.push_back({ts, d->count, event.cpu});
    } else if (const auto* d = std::get_if<ExitData>(&event.data)) {
        on_exit(event, *d);
    } else if (const auto* d = std::get_if<TlbFlushData>(&event.data)) {
        if (Process* proc = attributed_process(event)) on_tlb_flush(*proc, ts, *d);
    } else if (const auto* d = std::get_if<MigrateData>(&event.data)) {
        if (Process* proc = attributed_process(event)) on_migrate(*proc, ts, *d);
    } else if (const auto* d = std::get_if<MigrateBatchData>(&event.data)) {
        if (Process* proc = attributed_process(event)) {
            ++proc->migrate_batches;
            proc->migrate_batch_failed += d->failed;
        }
    } else {
        Process& proc = process_for(event);
        if (const auto* f = std::get_if<FaultData>(&event.data)) {
            on_fault(proc, event, *f);
        } else if (const auto* m = std::get_if<MmapData>(&event.data)) {
            on_mmap(proc, ts, *m);
        } else if (const auto* u = std::get_if<MunmapData>(&event.data)) {
            on_munmap(proc, ts, *u);
        } else if (const auto* r = std::get_if<MremapData>(&event.data)) {
            on_mremap(proc, ts, *r);
        } else if (const auto* b = std::get_if<BrkData>(&event.data)) {
            on_brk(proc, ts, *b);
        } else if (const auto* a = std::get_if<MadviseData>(&event.data)) {
            on_madvise(proc, ts, *a);
        } else if (const auto* k = std::get_if<ForkData>(&event.data)) {
            on_fork(proc, event, *k);
        } else if (const auto* x = std::get_if<ExecData>(&event.data)) {
            on_exec(proc, ts, *x);
        }
        // mprotect changes no page's history.
    }
    note_peaks();
}

void TimelineBuilder::on_fault(Process& proc, const Event& event, const FaultData& d) {
    ++proc.faults.total;
    switch (d.outcome) {
    case FaultOutcome::Minor: ++proc.faults.minor; break;
    case FaultOutcome::Major: ++proc.faults.major; break;
    case FaultOutcome::Unaccounted: ++proc.faults.unaccounted; break;
    case FaultOutcome::Unknown: ++proc.faults.unknown; break;
    }
    const uint64_t vpn = vpn_of(d.addr);
    TouchInfo touch;
    touch.access = d.access;
    touch.mode = d.mode;
    touch.outcome = d.outcome;
    touch.latency_ns = d.latency_ns;
    touch.ip = d.ip;
    // A fault that never completed changed nothing: the retry is the touch.
    if (d.outcome == FaultOutcome::Unaccounted) {
        record(proc, vpn, event.ts_ns, touch, true);
        return;
    }
    PageRecord& rec = proc.pages.get(vpn);
    // A snapshot may have seen the page before this fault reached the stream
    // although the fault came first (faults are drained from the kernel in
    // batches): by the timestamps, it is still the first touch.
    const bool seen_only_later = rec.has(PageRecord::kSeenPresent) &&
                                 !rec.has(PageRecord::kTouched) &&
                                 event.ts_ns <= rec.first_touch_ns;
    touch.first = !rec.has(PageRecord::kTouched) &&
                  (!rec.has(PageRecord::kSeenPresent) || seen_only_later);
    if (seen_only_later && proc.present_without_fault > 0) --proc.present_without_fault;
    if (!rec.has(PageRecord::kTouched)) {
        rec.set(PageRecord::kTouched);
        rec.first_touch_ns = event.ts_ns;
        ++proc.pages_touched;
    }
    if (touch.first) {
        const MappingPiece* piece = proc.mappings.find(d.addr);
        if (piece && piece->from_event() && event.ts_ns >= piece->mapped_ns) {
            touch.since_mapped_ns = event.ts_ns - piece->mapped_ns;
            proc.first_touch_latency.add(*touch.since_mapped_ns);
        }
    }
    if (!rec.has(PageRecord::kResident)) set_resident(proc, rec);
    rec.clear(PageRecord::kDiscarded);
    rec.set(PageRecord::kPfnStale);  // a fault may put in a new frame (zero page -> COW, ...)
    record(proc, vpn, event.ts_ns, touch, true);
}

void TimelineBuilder::on_mmap(Process& proc, uint64_t ts, const MmapData& d) {
    if (d.err != 0 || d.len == 0) return;
    MappingPiece piece;
    piece.start = page_down(d.addr);
    piece.end = range_end(d.addr, d.len);
    piece.mapped_ns = ts;
    piece.prot = d.prot;
    piece.flags = d.flags;
    piece.cause = MapCause::Mmap;
    // Only MAP_FIXED may land on a mapping; otherwise ours was stale. (A piece
    // only a snapshot told us of may just be this mmap, read before its event.)
    bool stale = false;
    for (const MappingPiece& old : proc.mappings.overlapping(piece.start, piece.end)) {
        stale = stale || old.cause != MapCause::Snapshot;
    }
    if (stale && !(d.flags & kMapFixed)) ++proc.mapping_conflicts;
    unmap_range(proc, piece.start, piece.end, ts, UnmapCause::Replaced);
    map_range(proc, piece, ts);
    note_mapped(proc, ts);
}

void TimelineBuilder::on_munmap(Process& proc, uint64_t ts, const MunmapData& d) {
    if (d.err != 0 || d.len == 0) return;
    unmap_range(proc, page_down(d.addr), range_end(d.addr, d.len), ts, UnmapCause::Munmap);
    note_mapped(proc, ts);
}

void TimelineBuilder::on_mremap(Process& proc, uint64_t ts, const MremapData& d) {
    if (d.err != 0) return;
    const uint64_t old_addr = page_down(d.old_addr);
    const uint64_t old_len = range_end(d.old_addr, d.old_len) - old_addr;
    const uint64_t new_addr = page_down(d.new_addr);
    const uint64_t new_len = range_end(d.new_addr, d.new_len) - new_addr;
    if (new_len == 0) return;

    MappingPiece like;  // what grown parts inherit
    if (const MappingPiece* src = proc.mappings.find(old_addr)) like = *src;
    like.mapped_ns = ts;
    like.cause = MapCause::Mremap;

    if (old_len == 0) {  // a second mapping of the same shared pages
        like.start = new_addr;
        like.end = new_addr + new_len;
        unmap_range(proc, like.start, like.end, ts, UnmapCause::Replaced);
        map_range(proc, like, ts);
        note_mapped(proc, ts);
        return;
    }
    if (new_addr == old_addr) {  // resized in place
        if (new_len < old_len) {
            unmap_range(proc, old_addr + new_len, old_addr + old_len, ts, UnmapCause::Mremap);
        } else if (new_len > old_len) {
            like.start = old_addr + old_len;
            like.end = old_addr + new_len;
            unmap_range(proc, like.start, like.end, ts, UnmapCause::Replaced);
            map_range(proc, like, ts);
        }
        note_mapped(proc, ts);
        return;
    }

    // Moved: the pages of the first min(old_len, new_len) bytes, their
    // mapping pieces and their histories go to the new address.
    const uint64_t keep = std::min(old_len, new_len);
    const bool dontunmap = (d.flags & kMremapDontunmap) != 0;
    const uint64_t old_vpn = vpn_of(old_addr);
    const uint64_t new_vpn = vpn_of(new_addr);
    const auto moved_vpn = [&](uint64_t vpn) { return vpn - old_vpn + new_vpn; };

    std::vector<MappingPiece> pieces = proc.mappings.overlapping(old_addr, old_addr + keep);
    auto records = proc.pages.extract_range(old_vpn, old_vpn + vpn_of(keep));
    std::vector<Histories::node_type> moved;
    if (filter_.enabled()) {
        auto it = histories_.lower_bound({proc.index, old_vpn});
        while (it != histories_.end() && it->first < HistoryKey{proc.index, old_vpn + vpn_of(keep)}) {
            moved.push_back(histories_.extract(it++));
        }
    }
    if (!dontunmap) proc.mappings.remove(old_addr, old_addr + keep);
    if (old_len > keep) unmap_range(proc, old_addr + keep, old_addr + old_len, ts, UnmapCause::Mremap);
    unmap_range(proc, new_addr, new_addr + new_len, ts, UnmapCause::Replaced);

    for (MappingPiece piece : pieces) {
        piece.start = piece.start - old_addr + new_addr;
        piece.end = piece.end - old_addr + new_addr;
        proc.mappings.insert(piece);
    }
    for (const auto& [vpn, rec] : records) proc.pages.get(moved_vpn(vpn)) = rec;
    for (auto& node : moved) {
        const uint64_t from = node.key().vpn;
        node.key().vpn = moved_vpn(from);
        History& h = node.mapped();
        h.events.push_back({ts, MovedInfo{from << kPageShift, node.key().vpn << kPageShift}});
        h.alive = true;
        auto existing = histories_.find(node.key());
        if (existing != histories_.end()) {  // an earlier page's history at this address
            retired_.emplace_back(existing->first, std::move(existing->second));
            histories_.erase(existing);
        }
        histories_.insert(std::move(node));
    }
    // Pages that moved into the filter start their history here.
    for_filter_pages(proc, new_addr, new_addr + keep, [&](uint64_t vpn) {
        if (History* h = history(proc, vpn, false); h && h->alive) return;
        const uint64_t from = (vpn - new_vpn + old_vpn) << kPageShift;
        if (proc.pages.find(vpn)) {
            record(proc, vpn, ts, MovedInfo{from, vpn << kPageShift}, true);
        } else {
            record(proc, vpn, ts, MappedInfo{MapCause::Mremap, like.prot, like.flags}, true);
        }
    });
    if (new_len > old_len) {
        like.start = new_addr + old_len;
        like.end = new_addr + new_len;
        map_range(proc, like, ts);
    }
    if (dontunmap) {  // the old range stays mapped, empty
        for_filter_pages(proc, old_addr, old_addr + keep, [&](uint64_t vpn) {
            record(proc, vpn, ts, MappedInfo{MapCause::Mremap, like.prot, like.flags}, true);
        });
    }
    note_mapped(proc, ts);
}

void TimelineBuilder::on_brk(Process& proc, uint64_t ts, const BrkData& d) {
    const uint64_t end = page_up(d.ret);
    if (!proc.brk_known) {  // the first break we see: the heap's size so far is unknown
        proc.brk_known = true;
        proc.brk_start = end;
        proc.brk_end = end;
        return;
    }
    if (end > proc.brk_end) {
        MappingPiece piece;
        piece.start = proc.brk_end;
        piece.end = end;
        piece.mapped_ns = ts;
        piece.prot = 0x3;
        piece.flags = kMapPrivate | kMapAnonymous;
        piece.cause = MapCause::Brk;
        unmap_range(proc, piece.start, piece.end, ts, UnmapCause::Replaced);
        map_range(proc, piece, ts);
    } else if (end < proc.brk_end) {
        unmap_range(proc, end, proc.brk_end, ts, UnmapCause::Brk);
    }
    proc.brk_end = end;
    note_mapped(proc, ts);
}

void TimelineBuilder::on_madvise(Process& proc, uint64_t ts, const MadviseData& d) {
    if (d.err != 0 || !discards_pages(d.advice) || d.len == 0) return;
    const uint64_t first = vpn_of(page_down(d.addr));
    const uint64_t end = vpn_of(range_end(d.addr, d.len));
    proc.pages.for_each(first, end, [&](uint64_t vpn, PageRecord& rec) {
        if (!rec.has(PageRecord::kResident)) return;
        clear_resident(proc, rec);
        rec.set(PageRecord::kDiscarded | PageRecord::kPfnStale);
        ++proc.discarded_pages;
        record(proc, vpn, ts, DiscardedInfo{d.advice}, true);
    });
}

void TimelineBuilder::on_tlb_flush(Process& proc, uint64_t ts, const TlbFlushData& d) {
    ++proc.tlb_flushes;
    ++proc.tlb_flushes_by_reason[d.reason];
    // Only ranged flushes go into histories: full flushes (every context
    // switch) would drown them. They are counted in the summary.
    if (!filter_.enabled() || d.end <= d.start) return;
    const HistoryKey last{proc.index, vpn_of(page_up(d.end))};
    for (auto it = histories_.lower_bound({proc.index, vpn_of(d.start)});
         it != histories_.end() && it->first < last; ++it) {
        if (!it->second.alive) continue;
        it->second.events.push_back({ts, TlbFlushInfo{d.pages, d.start, d.end, d.reason}});
    }
}

void TimelineBuilder::on_migrate(Process& proc, uint64_t ts, const MigrateData& d) {
    ++proc.migrations;
    ++proc.migrations_by_reason[d.reason];
    const uint64_t pages = uint64_t{1} << std::min(d.order, kMaxMigrateOrder);
    proc.migrated_pages += pages;
    const uint64_t first = vpn_of(d.addr);
    for (uint64_t i = 0; i < pages; ++i) {
        PageRecord& rec = proc.pages.get(first + i);
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
            ++proc.unexplained_frame_changes;
        }
        if (!rec.has(PageRecord::kResident)) set_resident(proc, rec);  // it had a frame
        rec.set(PageRecord::kSeenPresent);
        rec.clear(PageRecord::kPfnStale | PageRecord::kDiscarded);
        rec.set_pfn(info.new_pfn);
        record(proc, first + i, ts, std::move(info), true);
    }
}

void TimelineBuilder::on_fork(Process& parent, const Event& event, const ForkData& d) {
    const std::optional<uint64_t> start =
        d.child_start_ns ? std::optional<uint64_t>(d.child_start_ns) : std::nullopt;
    Process* child = nullptr;
    if (auto it = live_.find(d.child_pid); it != live_.end()) {
        Process& known = *it->second;
        if (start && known.start_ns == start) {
            child = &known;
        } else if (start && !known.start_ns && known.first_ts >= *start) {
            // Its first events raced ahead of the fork: it is this child.
            known.start_ns = start;
            child = &known;
        } else {
            end_process(known, event.ts_ns, true);  // its exit was lost; the pid was reused
        }
    }
    if (!child) child = &new_process(d.child_pid, event.ts_ns, start);
    child->parent_pid = parent.pid;
    if (child->comm.empty()) child->comm = parent.comm;
    // The child starts with a copy of the parent's address space.
    for (const auto& [begin, piece] : parent.mappings.pieces()) {
        for (const auto& [lo, hi] : child->mappings.holes(piece.start, piece.end)) {
            MappingPiece inherited = piece;
            inherited.start = lo;
            inherited.end = hi;
            inherited.mapped_ns = event.ts_ns;
            inherited.cause = MapCause::Fork;
            map_range(*child, inherited, event.ts_ns);
        }
    }
    if (parent.brk_known && !child->brk_known) {
        child->brk_known = true;
        child->brk_start = parent.brk_start;
        child->brk_end = parent.brk_end;
    }
    note_mapped(*child, event.ts_ns);
}

void TimelineBuilder::on_exec(Process& proc, uint64_t ts, const ExecData& d) {
    unmap_range(proc, 0, kAddressEnd, ts, UnmapCause::Exec);
    proc.brk_known = false;
    proc.exec_filename = d.filename;
    note_mapped(proc, ts);
}

void TimelineBuilder::on_exit(const Event& event, const ExitData& d) {
    const std::optional<uint64_t> start =
        d.start_ns ? std::optional<uint64_t>(d.start_ns) : std::nullopt;
    Process* proc = nullptr;
    if (auto it = live_.find(event.pid); it != live_.end()) proc = it->second;
    if (proc && proc->start_ns && start && proc->start_ns != start) {
        end_process(*proc, event.ts_ns, true);
        proc = nullptr;
    }
    if (!proc) proc = &new_process(event.pid, event.ts_ns, start);
    touch_process(*proc, event);
    if (!proc->start_ns) proc->start_ns = start;
    proc->exit_ts = event.ts_ns;
    proc->exit_status = d.status;
    end_process(*proc, event.ts_ns, false);
}

// ---------------------------------------------------------------- snapshots

void TimelineBuilder::add_snapshot(const PagemapSnapshot& snap) {
    ++snapshots_;
    Process* proc = nullptr;
    if (auto it = live_.find(snap.pid); it != live_.end()) proc = it->second;
    if (!proc) {
        if (snap.pages.empty() && snap.mappings.empty()) return;
        proc = &new_process(snap.pid, snap.ts_ns, std::nullopt);
    }
    proc->last_ts = std::max(proc->last_ts, snap.ts_ns);
    const bool full = snap.kind != SnapshotKind::Targeted;
    const bool complete = full && !snap.partial && !snap.mappings.empty();
    if (complete) reconcile_mappings(*proc, snap);

    for (const SnapshotPage& page : snap.pages) {
        const uint64_t vpn = vpn_of(page.vaddr);
        if (page.entry.present()) {
            const uint64_t pfn = page.entry.pfn();
            observe_present(*proc, snap, vpn, pfn, snap.pfns_visible && pfn != 0);
        } else if (page.entry.swapped() && !page.entry.special_swap_entry()) {
            PageRecord* rec = proc->pages.find(vpn);
            if (rec && rec->has(PageRecord::kResident)) {
                observe_gone(*proc, snap.ts_ns, vpn, *rec, true, snap.kind);
            }
        }
        // A special swap entry is a page under migration: its migrate event tells.
    }

    if (complete) {  // pages we believed resident that the snapshot does not have
        size_t j = 0;
        const auto& pages = snap.pages;
        proc->pages.for_each(0, vpn_of(kAddressEnd), [&](uint64_t vpn, PageRecord& rec) {
            if (!rec.has(PageRecord::kResident)) return;
            while (j < pages.size() && vpn_of(pages[j].vaddr) < vpn) ++j;
            if (j < pages.size() && vpn_of(pages[j].vaddr) == vpn) return;
            observe_gone(*proc, snap.ts_ns, vpn, rec, false, snap.kind);
        });
    }
    note_mapped(*proc, snap.ts_ns);
    note_peaks();
}

void TimelineBuilder::reconcile_mappings(Process& proc, const PagemapSnapshot& snap) {
    std::vector<std::pair<uint64_t, uint64_t>> cover;
    for (const Mapping& m : snap.mappings) {
        if (m.end > m.start) cover.emplace_back(page_down(m.start), page_up(m.end));
    }
    std::sort(cover.begin(), cover.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (const auto& c : cover) {
        if (!merged.empty() && c.first <= merged.back().second) {
            merged.back().second = std::max(merged.back().second, c.second);
        } else {
            merged.push_back(c);
        }
    }
    // Our mappings the snapshot does not have: an unmap we did not see.
    std::vector<std::pair<uint64_t, uint64_t>> stale;
    for (const auto& [begin, piece] : proc.mappings.pieces()) {
        uint64_t cursor = piece.start;
        auto c = std::upper_bound(merged.begin(), merged.end(), piece.start,
                                  [](uint64_t addr, const auto& iv) { return addr < iv.second; });
        for (; c != merged.end() && c->first < piece.end; ++c) {
            if (c->first > cursor) stale.emplace_back(cursor, c->first);
            cursor = std::max(cursor, c->second);
        }
        if (cursor < piece.end) stale.emplace_back(cursor, piece.end);
    }
    for (const auto& [lo, hi] : stale) {
        ++proc.mapping_conflicts;
        unmap_range(proc, lo, hi, snap.ts_ns, UnmapCause::Snapshot);
    }
    // Mappings we did not know: made before tracing, or by the kernel (stack growth).
    for (const Mapping& m : snap.mappings) {
        if (m.end <= m.start) continue;
        for (const auto& [lo, hi] : proc.mappings.holes(page_down(m.start), page_up(m.end))) {
            MappingPiece piece;
            piece.start = lo;
            piece.end = hi;
            piece.mapped_ns = snap.ts_ns;
            piece.prot = prot_from_perms(m.perms);
            piece.flags = flags_from_mapping(m);
            piece.cause = MapCause::Snapshot;
            map_range(proc, piece, snap.ts_ns);
        }
        if (m.path == "[heap]" && !proc.brk_known) {
            proc.brk_known = true;
            proc.brk_start = page_down(m.start);
            proc.brk_end = page_up(m.end);
        }
    }
}

void TimelineBuilder::observe_present(Process& proc, const PagemapSnapshot& snap, uint64_t vpn,
                                      uint64_t pfn, bool pfn_known) {
    PageRecord& rec = proc.pages.get(vpn);
    PfnInfo info;
    info.source = snap.kind;
    if (pfn_known) info.pfn = pfn;
    bool note = false;
    if (!rec.has(PageRecord::kResident)) {
        if (snap.kind == SnapshotKind::Attach && !rec.has(PageRecord::kTouched) &&
            !rec.has(PageRecord::kSeenPresent)) {
            info.before_tracing = true;
            ++proc.present_before_tracing;
        } else {
            info.no_fault_seen = true;
            ++proc.present_without_fault;
        }
        set_resident(proc, rec);
        rec.clear(PageRecord::kDiscarded);
        note = true;
    }
    if (!rec.has(PageRecord::kSeenPresent) && !rec.has(PageRecord::kTouched)) {
        rec.first_touch_ns = snap.ts_ns;  // until a fault: when a snapshot first saw it
    }
    rec.set(PageRecord::kSeenPresent);
    if (pfn_known) {
        if (!rec.has(PageRecord::kPfnKnown)) {
            note = true;
        } else if (rec.pfn() != pfn) {
            info.old_pfn = rec.pfn();
            if (!rec.has(PageRecord::kPfnStale)) {
                info.unexplained = true;
                ++proc.unexplained_frame_changes;
            }
            note = true;
        }
        rec.set_pfn(pfn);
        rec.clear(PageRecord::kPfnStale);
    }
    if (note) record(proc, vpn, snap.ts_ns, info, true);
}

void TimelineBuilder::observe_gone(Process& proc, uint64_t ts, uint64_t vpn, PageRecord& rec,
                                   bool swapped, SnapshotKind source) {
    clear_resident(proc, rec);
    rec.set(PageRecord::kPfnStale);
    ++proc.not_present;
    record(proc, vpn, ts, NotPresentInfo{swapped, source}, true);
}

// ---------------------------------------------------------------- mappings and pages

void TimelineBuilder::map_range(Process& proc, const MappingPiece& piece, uint64_t ts) {
    proc.mappings.insert(piece);
    for_filter_pages(proc, piece.start, piece.end, [&](uint64_t vpn) {
        record(proc, vpn, ts, MappedInfo{piece.cause, piece.prot, piece.flags}, true);
    });
}

void TimelineBuilder::unmap_range(Process& proc, uint64_t start, uint64_t end, uint64_t ts,
                                  UnmapCause cause) {
    if (start >= end) return;
    for (const MappingPiece& piece : proc.mappings.remove(start, end)) {
        if (piece.from_event()) proc.untouched_removed += untouched_pages(proc, piece);
    }
    proc.pages.erase_range(vpn_of(start), vpn_of(end), [&](uint64_t, const PageRecord& rec) {
        if (rec.has(PageRecord::kResident)) --proc.resident;
    });
    if (!filter_.enabled()) return;
    const HistoryKey last{proc.index, vpn_of(end)};
    for (auto it = histories_.lower_bound({proc.index, vpn_of(start)});
         it != histories_.end() && it->first < last; ++it) {
        if (!it->second.alive) continue;
        it->second.events.push_back({ts, UnmappedInfo{cause}});
        it->second.alive = false;
    }
}

uint64_t TimelineBuilder::untouched_pages(const Process& proc, const MappingPiece& piece) const {
    const uint64_t pages = vpn_of(piece.end) - vpn_of(piece.start);
    const uint64_t used = proc.pages.count_with(vpn_of(piece.start), vpn_of(piece.end),
                                                PageRecord::kTouched | PageRecord::kSeenPresent);
    return pages > used ? pages - used : 0;
}

void TimelineBuilder::note_mapped(Process& proc, uint64_t ts) {
    const uint64_t total = proc.mappings.total_bytes();
    if (proc.mapped_noted && total == proc.mapped_last) return;
    proc.mapped_noted = true;
    proc.mapped_last = total;
    proc.mapped_peak = std::max(proc.mapped_peak, total);
    proc.series.add({ts, total});
}

void TimelineBuilder::set_resident(Process& proc, PageRecord& rec) {
    rec.set(PageRecord::kResident);
    ++proc.resident;
    proc.resident_peak = std::max(proc.resident_peak, proc.resident);
}

void TimelineBuilder::clear_resident(Process& proc, PageRecord& rec) {
    if (!rec.has(PageRecord::kResident)) return;
    rec.clear(PageRecord::kResident);
    --proc.resident;
}

void TimelineBuilder::note_peaks() {
    if (usage_.pages > peak_pages_) {
        peak_pages_ = usage_.pages;
        peak_bytes_ = usage_.bytes;
    }
}

// ---------------------------------------------------------------- histories

bool TimelineBuilder::wants_history(const Process& proc, uint64_t vpn) const {
    if (!filter_.enabled()) return false;
    if (filter_.pid && *filter_.pid != proc.pid) return false;
    const uint64_t addr = vpn << kPageShift;
    return addr >= filter_.start && addr < filter_.end;
}

TimelineBuilder::History* TimelineBuilder::history(const Process& proc, uint64_t vpn, bool create) {
    if (!filter_.enabled()) return nullptr;
    const HistoryKey key{proc.index, vpn};
    if (auto it = histories_.find(key); it != histories_.end()) return &it->second;
    if (!create || !wants_history(proc, vpn)) return nullptr;
    if (history_count_ >= filter_.max_pages) {
        ++histories_dropped_;
        return nullptr;
    }
    ++history_count_;
    return &histories_[key];
}

void TimelineBuilder::record(const Process& proc, uint64_t vpn, uint64_t ts, PageEventData data,
                             bool create) {
    History* h = history(proc, vpn, create);
    if (!h) return;
    if (const auto* p = std::get_if<PfnInfo>(&data); p && p->pfn) h->last_pfn = p->pfn;
    if (const auto* m = std::get_if<MigratedInfo>(&data)) h->last_pfn = m->new_pfn;
    h->alive = !std::holds_alternative<UnmappedInfo>(data);
    h->events.push_back({ts, std::move(data)});
}

// ---------------------------------------------------------------- results

std::vector<ProcessSummary> TimelineBuilder::summaries() const {
    std::vector<ProcessSummary> out;
    out.reserve(processes_.size());
    for (const auto& p : processes_) {
        ProcessSummary s;
        s.pid = p->pid;
        s.start_ns = p->start_ns;
        s.parent_pid = p->parent_pid;
        s.comm = p->comm;
        s.exec_filename = p->exec_filename;
        s.first_ts_ns = p->first_ts;
        s.last_ts_ns = p->last_ts;
        s.exit_ts_ns = p->exit_ts;
        s.exit_status = p->exit_status;
        s.pid_reused = p->pid_reused;
        s.mapped_bytes = p->series.points();
        s.mapped_bytes_peak = p->mapped_peak;
        s.mapped_bytes_final = p->mappings.total_bytes();
        s.pages_touched = p->pages_touched;
        s.resident_pages_peak = p->resident_peak;
        s.resident_pages_final = p->resident;
        s.faults = p->faults;
        s.first_touch_after_mmap_ns = {p->first_touch_latency.count(),
                                       p->first_touch_latency.percentile(50),
                                       p->first_touch_latency.percentile(90),
                                       p->first_touch_latency.percentile(99),
                                       p->first_touch_latency.max()};
        uint64_t untouched = p->untouched_removed;
        for (const auto& [begin, piece] : p->mappings.pieces()) {
            if (piece.from_event()) untouched += untouched_pages(*p, piece);
        }
        s.untouched_bytes = untouched * kPageSize;
        s.discarded_pages = p->discarded_pages;
        s.migrations = p->migrations;
        s.migrated_pages = p->migrated_pages;
        s.migrations_by_reason = p->migrations_by_reason;
        s.migrate_batches = p->migrate_batches;
        s.migrate_batch_failed = p->migrate_batch_failed;
        s.tlb_flushes = p->tlb_flushes;
        s.tlb_flushes_by_reason = p->tlb_flushes_by_reason;
        const uint64_t life_start = p->start_ns ? std::min(*p->start_ns, p->first_ts) : p->first_ts;
        const uint64_t life_end = p->ended ? p->end_ts : ~uint64_t{0};
        for (const TimelineGap& gap : gaps_) {
            if (gap.ts_ns >= life_start && gap.ts_ns <= life_end) {
                ++s.gaps;
                s.lost_events += gap.lost;
            }
        }
        s.present_before_tracing = p->present_before_tracing;
        s.present_without_fault = p->present_without_fault;
        s.unexplained_frame_changes = p->unexplained_frame_changes;
        s.not_present = p->not_present;
        s.mapping_conflicts = p->mapping_conflicts;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<PageHistory> TimelineBuilder::page_histories() const {
    std::vector<TimelineGap> gaps = gaps_;
    std::stable_sort(gaps.begin(), gaps.end(),
                     [](const TimelineGap& a, const TimelineGap& b) { return a.ts_ns < b.ts_ns; });
    struct Item {
        HistoryKey key;
        const History* history;
    };
    std::vector<Item> items;
    items.reserve(histories_.size() + retired_.size());
    for (const auto& [key, h] : retired_) items.push_back({key, &h});
    for (const auto& [key, h] : histories_) items.push_back({key, &h});
    const auto first_ts = [](const History* h) { return h->events.empty() ? 0 : h->events.front().ts_ns; };
    std::stable_sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
        if (a.key != b.key) return a.key < b.key;
        return first_ts(a.history) < first_ts(b.history);
    });

    std::vector<PageHistory> out;
    out.reserve(items.size());
    for (const Item& item : items) {
        const History& h = *item.history;
        if (h.events.empty()) continue;
        const Process& proc = *processes_[item.key.process];
        PageHistory ph;
        ph.pid = proc.pid;
        ph.start_ns = proc.start_ns;
        ph.comm = proc.comm;
        ph.addr = item.key.vpn << kPageShift;
        ph.pfn = h.last_pfn;
        ph.events.reserve(h.events.size());
        // A gap shows while the page is alive: from its first entry on, but
        // not between an unmap and whatever comes next.
        auto g = std::lower_bound(gaps.begin(), gaps.end(), h.events.front().ts_ns,
                                  [](const TimelineGap& gap, uint64_t ts) { return gap.ts_ns < ts; });
        bool alive = false;
        const auto emit_gaps_before = [&](uint64_t ts, bool inclusive) {
            for (; g != gaps.end() && (g->ts_ns < ts || (inclusive && g->ts_ns == ts)); ++g) {
                if (alive) ph.events.push_back({g->ts_ns, GapInfo{g->lost, g->cpu}});
            }
        };
        for (const PageEvent& e : h.events) {
            emit_gaps_before(e.ts_ns, false);
            ph.events.push_back(e);
            alive = !std::holds_alternative<UnmappedInfo>(e.data);
        }
        if (alive) {
            const uint64_t end = proc.ended ? proc.end_ts : ~uint64_t{0};
            emit_gaps_before(end, true);
        }
        out.push_back(std::move(ph));
    }
    return out;
}

std::optional<PageState> TimelineBuilder::page_state(uint32_t pid, uint64_t addr) const {
    auto it = latest_.find(pid);
    if (it == latest_.end()) return std::nullopt;
    const PageRecord* rec = processes_[it->second]->pages.find(vpn_of(addr));
    if (!rec) return std::nullopt;
    PageState state;
    state.addr = page_down(addr);
    if (rec->has(PageRecord::kPfnKnown)) state.pfn = rec->pfn();
    if (rec->has(PageRecord::kTouched)) state.first_touch_ns = rec->first_touch_ns;
    state.resident = rec->has(PageRecord::kResident);
    state.discarded = rec->has(PageRecord::kDiscarded);
    return state;
}

TimelineStats TimelineBuilder::stats() const {
    TimelineStats s;
    s.events = events_;
    s.snapshots = snapshots_;
    s.processes = processes_.size();
    s.orphan_events = orphan_events_;
    s.tracked_pages = usage_.pages;
    s.page_bytes = usage_.bytes;
    s.tracked_pages_peak = peak_pages_;
    s.page_bytes_at_peak = peak_bytes_;
    s.bytes_per_page = peak_pages_ ? static_cast<double>(peak_bytes_) / static_cast<double>(peak_pages_) : 0;
    // A std::map node: tree links and colour, malloc header, key and value.
    constexpr uint64_t kNode = 32 + 16 + sizeof(HistoryKey) + sizeof(History);
    const auto add_history = [&](const History& h) {
        ++s.history_pages;
        s.history_events += h.events.size();
        s.history_bytes += kNode + h.events.capacity() * sizeof(PageEvent);
    };
    for (const auto& [key, h] : histories_) add_history(h);
    for (const auto& [key, h] : retired_) add_history(h);
    s.histories_dropped = histories_dropped_;
    s.gaps = gaps_.size();
    for (const TimelineGap& gap : gaps_) s.lost_events += gap.lost;
    return s;
}

}  // namespace pagetrace
