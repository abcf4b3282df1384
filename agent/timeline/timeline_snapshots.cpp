// Pagemap snapshots: what they say about the pages (present, with which
// frame, or gone) and, when complete, about the mappings, against what the
// events said. Conflicts are recorded and counted, not hidden.
#include "timeline/timeline_builder.h"

#include <algorithm>

#include "proc/huge_pages.h"

namespace pagetrace {

namespace {

uint32_t prot_from_perms(const std::string& perms) {
    uint32_t prot = 0;
    if (perms.size() > 0 && perms[0] == 'r') prot |= kernel::kProtRead;
    if (perms.size() > 1 && perms[1] == 'w') prot |= kernel::kProtWrite;
    if (perms.size() > 2 && perms[2] == 'x') prot |= kernel::kProtExec;
    return prot;
}

uint32_t flags_from_mapping(const Mapping& m) {
    const bool shared = m.perms.size() > 3 && m.perms[3] == 's';
    uint32_t flags = shared ? kernel::kMapShared : kernel::kMapPrivate;
    if (m.path.empty()) flags |= kernel::kMapAnonymous;
    return flags;
}

}  // namespace

void TimelineBuilder::add_snapshot(const PagemapSnapshot& snap) {
    ++snapshots_;
    TracedProcess* proc = processes_.live(snap.pid);
    if (!proc) {
        if (snap.pages.empty() && snap.mappings.empty()) return;
        proc = &processes_.start(snap.pid, snap.ts_ns, std::nullopt);
    }
    proc->summary.last_ts_ns = std::max(proc->summary.last_ts_ns, snap.ts_ns);
    const bool full = snap.kind != SnapshotKind::Targeted;
    const bool complete = full && !snap.partial && !snap.mappings.empty();
    if (complete) reconcile_mappings(*proc, snap);

    for (const HugePage& huge : snap.huge_pages) observe_huge_page(*proc, snap, huge);
    // After an exec, the new stack holds what execve copied there (arguments,
    // environment, auxv) without a fault of the new program.
    exec_stack_ = {0, 0};
    if (snap.kind == SnapshotKind::Exec) {
        for (const Mapping& m : snap.mappings) {
            if (m.path == "[stack]") exec_stack_ = {m.start, m.end};
        }
    }
    PageTable& pages = proc->space.pages();
    for (const SnapshotPage& page : snap.pages) {
        const uint64_t vpn = geometry_.vpn(page.vaddr);
        if (page.entry.present()) {
            const uint64_t pfn = page.entry.pfn();
            observe_present(*proc, snap, vpn, pfn, snap.pfns_visible && pfn != 0);
        } else if (page.entry.swapped() && !page.entry.special_swap_entry()) {
            PageRecord* rec = pages.find(vpn);
            if (rec && rec->has(PageRecord::kResident)) {
                observe_gone(*proc, snap.ts_ns, vpn, *rec, true, snap.kind);
            }
        }
        // A special swap entry is a page under migration: its migrate event tells.
    }

    if (complete) {  // pages we believed resident that the snapshot does not have
        size_t j = 0;
        const auto& seen = snap.pages;
        const uint64_t end = geometry_.vpn(geometry_.address_end());
        pages.for_each(0, end, [&](uint64_t vpn, PageRecord& rec) {
            if (!rec.has(PageRecord::kResident)) return;
            while (j < seen.size() && geometry_.vpn(seen[j].vaddr) < vpn) ++j;
            if (j < seen.size() && geometry_.vpn(seen[j].vaddr) == vpn) return;
            observe_gone(*proc, snap.ts_ns, vpn, rec, false, snap.kind);
        });
    }
    proc->note_mapped(snap.ts_ns);
    note_peaks();
}

void TimelineBuilder::reconcile_mappings(TracedProcess& proc, const PagemapSnapshot& snap) {
    std::vector<std::pair<uint64_t, uint64_t>> cover;
    for (const Mapping& m : snap.mappings) {
        if (m.end > m.start) cover.emplace_back(geometry_.down(m.start), geometry_.up(m.end));
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
    for (const auto& [begin, piece] : proc.space.mappings().pieces()) {
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
        ++proc.summary.mapping_conflicts;
        unmap_range(proc, lo, hi, snap.ts_ns, UnmapCause::Snapshot);
    }
    // Mappings we did not know: made before tracing, or by the kernel (stack growth).
    for (const Mapping& m : snap.mappings) {
        if (m.end <= m.start) continue;
        const uint64_t start = geometry_.down(m.start);
        const uint64_t end = geometry_.up(m.end);
        for (const auto& [lo, hi] : proc.space.mappings().holes(start, end)) {
            MappingPiece piece;
            piece.start = lo;
            piece.end = hi;
            piece.mapped_ns = snap.ts_ns;
            piece.prot = prot_from_perms(m.perms);
            piece.flags = flags_from_mapping(m);
            piece.cause = MapCause::Snapshot;
            map_range(proc, piece, snap.ts_ns);
        }
        if (m.path == "[heap]" && !proc.space.heap.known) proc.space.heap = {true, start, end};
    }
}

void TimelineBuilder::observe_present(TracedProcess& proc, const PagemapSnapshot& snap,
                                      uint64_t vpn, uint64_t pfn, bool pfn_known) {
    PageRecord& rec = proc.space.pages().get(vpn);
    ProcessSummary& s = proc.summary;
    PfnInfo info;
    info.source = snap.kind;
    if (pfn_known) info.pfn = pfn;
    bool note = false;
    if (!rec.has(PageRecord::kResident)) {
        const bool faulted = rec.has(PageRecord::kTouched);
        if (!faulted && !rec.has(PageRecord::kArrivedAround | PageRecord::kArrivedPopulated)) {
            if (const auto* around = folio_fault_around(proc, vpn, snap.ts_ns)) {
                // Mapped with a large folio a fault-around mapped whole.
                ++s.mapped_around;
                histories_.record(proc, vpn, around->ts_ns,
                                  MappedAroundInfo{around->fault_addr, info.pfn, snap.kind});
                proc.set_resident(rec);
                rec.set(PageRecord::kSeenPresent);
                if (pfn_known) rec.set_pfn(pfn);
                rec.clear(PageRecord::kPfnStale | PageRecord::kDiscarded);
                return;
            }
        }
        if (rec.has(PageRecord::kArrivedAround) && !faulted) {
            // Fault-around mapped it: the entry is the fault-around's, confirmed now.
            ++s.mapped_around;
            histories_.confirm<MappedAroundInfo>(proc, vpn, [&](MappedAroundInfo& around) {
                around.pfn = info.pfn;
                around.source = snap.kind;
            });
            rec.clear(PageRecord::kArrivedAround);
            proc.set_resident(rec);
            rec.set(PageRecord::kSeenPresent);
            if (pfn_known) rec.set_pfn(pfn);
            rec.clear(PageRecord::kPfnStale | PageRecord::kDiscarded);
            return;
        }
        if (snap.kind == SnapshotKind::Attach && !faulted && !rec.has(PageRecord::kSeenPresent)) {
            info.before_tracing = true;
            ++s.present_before_tracing;
        } else if (rec.has(PageRecord::kArrivedPopulated) && !faulted) {
            info.cause = PresentCause::Populated;
            ++s.populated_pages;
        } else if (!faulted && geometry_.addr(vpn) >= exec_stack_.first &&
                   geometry_.addr(vpn) < exec_stack_.second) {
            info.cause = PresentCause::Exec;
            ++s.exec_pages;
        } else if (const MappingPiece* piece = proc.space.mappings().find(geometry_.addr(vpn));
                   piece && piece->cause == MapCause::Fork && !faulted) {
            info.cause = PresentCause::Fork;
            ++s.inherited_pages;
        } else {
            info.no_fault_seen = true;
            ++s.present_without_fault;
        }
        rec.clear(PageRecord::kArrivedAround | PageRecord::kArrivedPopulated);
        proc.set_resident(rec);
        rec.clear(PageRecord::kDiscarded);
        note = true;
    }
    if (!rec.has(PageRecord::kSeenPresent) && !rec.has(PageRecord::kTouched)) {
        rec.first_touch_ns = snap.ts_ns;  // until a fault: when a snapshot first saw it
    }
    rec.set(PageRecord::kSeenPresent);
    if (pfn_known && snap.zero_pfn && pfn == snap.zero_pfn) {
        // The shared zero page: not a frame of its own; its first write copies it.
        info.zero_page = true;
        if (!rec.has(PageRecord::kShared) || rec.pfn() != pfn) ++s.zero_page_pages;
        rec.set(PageRecord::kShared);
    }
    if (pfn_known) {
        if (!rec.has(PageRecord::kPfnKnown)) {
            note = true;
        } else if (rec.pfn() != pfn) {
            info.old_pfn = rec.pfn();
            if (!rec.has(PageRecord::kPfnStale)) {
                info.unexplained = true;
                ++s.unexplained_frame_changes;
            }
            note = true;
        }
        rec.set_pfn(pfn);
        rec.clear(PageRecord::kPfnStale);
    }
    if (note) histories_.record(proc, vpn, snap.ts_ns, std::move(info));
}

// A huge page mapped over an aligned block: one fault on any of its subpages
// mapped all of them, each in its own frame (head + i). Every subpage gets the
// first touch of that fault, with the order and its frame.
void TimelineBuilder::observe_huge_page(TracedProcess& proc, const PagemapSnapshot& snap,
                                        const HugePage& huge) {
    const uint64_t count = uint64_t{1} << std::min<uint32_t>(huge.order, 18);
    const uint64_t first = geometry_.vpn(huge.vaddr);
    ProcessSummary& s = proc.summary;
    if (proc.huge_pages.insert(first).second) {
        ++s.huge_pages;
        s.huge_page_bytes += count * geometry_.size();
    }
    if (huge.zero || !snap.pfns_visible) return;  // read faults: the zero page, no frames
    PageTable& pages = proc.space.pages();
    // The fault that mapped it: the earliest touch in the block.
    std::optional<uint64_t> fault_vpn;
    uint64_t fault_ts = 0;
    pages.for_each(first, first + count, [&](uint64_t vpn, PageRecord& rec) {
        if (rec.has(PageRecord::kTouched) && (!fault_vpn || rec.first_touch_ns < fault_ts)) {
            fault_vpn = vpn;
            fault_ts = rec.first_touch_ns;
        }
    });
    if (!fault_vpn || fault_ts > snap.ts_ns) return;  // no fault of ours mapped it
    const TouchInfo* fault = histories_.last<TouchInfo>(proc, *fault_vpn);
    const MappingPiece* piece = proc.space.mappings().find(geometry_.addr(first));
    for (uint64_t i = 0; i < count; ++i) {
        const uint64_t vpn = first + i;
        const uint64_t pfn = huge.pfn + i;
        PageRecord& rec = pages.get(vpn);
        if (rec.has(PageRecord::kTouched)) {
            histories_.amend_last<TouchInfo>(proc, vpn, [&](TouchInfo& touch) {
                if (!touch.first) return;
                touch.order = huge.order;
                touch.pfn = pfn;
            });
        } else {
            TouchInfo touch;
            if (fault) touch = *fault;
            touch.first = true;
            touch.cow = false;
            touch.order = huge.order;
            touch.pfn = pfn;
            touch.fault_addr = geometry_.addr(*fault_vpn);
            touch.since_mapped_ns.reset();
            if (piece && piece->from_event() && fault_ts >= piece->mapped_ns) {
                touch.since_mapped_ns = fault_ts - piece->mapped_ns;
                proc.first_touch_latency.add(*touch.since_mapped_ns);
            }
            rec.set(PageRecord::kTouched);
            rec.first_touch_ns = fault_ts;
            ++s.pages_touched;
            histories_.record(proc, vpn, fault_ts, std::move(touch));
        }
        if (!rec.has(PageRecord::kResident)) proc.set_resident(rec);
        rec.clear(PageRecord::kArrivedAround | PageRecord::kArrivedPopulated |
                  PageRecord::kDiscarded | PageRecord::kPfnStale);
        rec.set(PageRecord::kSeenPresent);
        rec.set_pfn(pfn);
    }
}

// A fault-around of the same file mapping, in the same huge-page-sized block,
// before the snapshot: the page cache's folios are at most that large, and
// filemap_map_pages maps a large folio whole when it fits, beyond the range it
// reports.
const TracedProcess::FaultAround* TimelineBuilder::folio_fault_around(const TracedProcess& proc,
                                                                      uint64_t vpn,
                                                                      uint64_t before_ns) const {
    const uint64_t addr = geometry_.addr(vpn);
    const MappingPiece* piece = proc.space.mappings().find(addr);
    if (!piece || (piece->flags & kernel::kMapAnonymous) || proc.fault_arounds.empty()) {
        return nullptr;
    }
    const uint64_t block_bytes = geometry_.size() << pmd_order(geometry_);
    const uint64_t block = addr / block_bytes;
    for (auto it = proc.fault_arounds.rbegin(); it != proc.fault_arounds.rend(); ++it) {
        if (it->ts_ns > before_ns || it->start / block_bytes != block) continue;
        if (it->start >= piece->start && it->end <= piece->end) return &*it;
    }
    return nullptr;
}

void TimelineBuilder::observe_gone(TracedProcess& proc, uint64_t ts, uint64_t vpn, PageRecord& rec,
                                   bool swapped, SnapshotKind source) {
    proc.clear_resident(rec);
    rec.set(PageRecord::kPfnStale);
    ++proc.summary.not_present;
    histories_.record(proc, vpn, ts, NotPresentInfo{swapped, source});
}

}  // namespace pagetrace
