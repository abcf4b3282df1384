// The handlers of what the kernel takes from a process or changes behind its
// back: reclaim writing pages to swap and evicting file pages, KSM merging
// pages into shared frames, khugepaged and MADV_COLLAPSE replacing small
// pages with a huge page (and huge pages split again), and the time threads
// stall in reclaim and compaction. The pages taken come back with a fault
// (timeline_builder.cpp: swapped_in, refault); collapsed ones get their new
// frames from the snapshot after the collapse (timeline_snapshots.cpp).
#include "timeline/timeline_builder.h"

#include <algorithm>
#include <bit>

#include "proc/huge_pages.h"

namespace pagetrace {

// The record of a page the event names, if the timeline knows the page and
// the frame the event names can be its frame now. The agent finds the owner
// of a frame in its frame index, which trails the page tables a little: an
// entry for a frame the page has left (a fault or a discard since) is stale,
// and the event is not the page's.
PageRecord* TimelineBuilder::page_of_frame(TracedProcess& proc, uint64_t addr, uint64_t pfn) {
    if (!proc.space.mappings().find(addr)) return nullptr;
    PageRecord* rec = proc.space.pages().find(geometry_.vpn(addr));
    if (!rec) return nullptr;
    const bool frame_fresh = rec->has(PageRecord::kPfnKnown) && !rec->has(PageRecord::kPfnStale);
    if (pfn && frame_fresh && rec->pfn() != pfn) return nullptr;
    return rec;
}

// A snapshot may find a page gone (swapped, or not present) before the event
// of the reclaim that took it reaches the stream (events are drained in
// batches): the event explains it after all.
void TimelineBuilder::explain_gone(TracedProcess& proc, uint64_t vpn) {
    if (proc.gone_unannounced.erase(vpn) && proc.summary.not_present > 0) {
        --proc.summary.not_present;
    }
}

// The pages of a folio reclaim took (swapped out or evicted, by `flag`): each
// leaves residency, remembers when it went, and gets `entry` in its history
// (made for each page: entry(i) for subpage i).
template <typename MakeEntry>
void TimelineBuilder::take_pages(const Event& event, uint64_t addr, uint64_t pfn, uint32_t order,
                                 uint64_t flag, uint64_t ProcessSummary::*counter,
                                 MakeEntry&& entry) {
    TracedProcess* owner = processes_.owner_of(event);
    if (!owner) return;
    TracedProcess& proc = *owner;
    const uint64_t count = uint64_t{1} << std::min<uint32_t>(order, 18);
    const uint64_t first = geometry_.vpn(addr);
    for (uint64_t i = 0; i < count; ++i) {
        PageRecord* rec = page_of_frame(proc, geometry_.addr(first + i), pfn ? pfn + i : 0);
        if (!rec) {
            ++stale_frame_events_;
            continue;
        }
        ++(proc.summary.*counter);
        explain_gone(proc, first + i);
        proc.clear_resident(*rec);
        rec->clear(PageRecord::kSwappedOut | PageRecord::kEvicted | PageRecord::kShared);
        rec->set(flag | PageRecord::kPfnStale);
        proc.space.note_away(first + i, event.ts_ns);
        histories_.record(proc, first + i, event.ts_ns, entry(i));
    }
}

void TimelineBuilder::on(const Event& event, const SwapOutData& d) {
    take_pages(event, d.addr, d.pfn, d.order, PageRecord::kSwappedOut,
               &ProcessSummary::swapped_out_pages, [&](uint64_t i) {
                   return SwappedOutInfo{d.pfn ? d.pfn + i : 0, d.order, d.by_pid, d.by_comm, {}, {}};
               });
}

void TimelineBuilder::on(const Event& event, const EvictData& d) {
    take_pages(event, d.addr, d.pfn, d.order, PageRecord::kEvicted, &ProcessSummary::evicted_pages,
               [&](uint64_t i) {
                   return EvictedInfo{d.pfn ? d.pfn + i : 0, d.ino, d.dev, d.order, d.by_pid,
                                      d.by_comm};
               });
}

void TimelineBuilder::on(const Event& event, const KsmMergeData& d) {
    TracedProcess* owner = processes_.owner_of(event);
    if (!owner) return;
    TracedProcess& proc = *owner;
    const uint64_t vpn = geometry_.vpn(d.addr);
    PageRecord* rec = proc.space.mappings().find(d.addr) ? &proc.space.pages().get(vpn) : nullptr;
    if (!rec) {
        ++stale_frame_events_;
        return;
    }
    MergedInfo info;
    info.new_pfn = d.new_pfn;
    info.by_pid = d.by_pid;
    info.by_comm = d.by_comm;
    // Merged into an existing KSM page, the kernel's event names only that
    // frame: the page's own is the one the timeline knows.
    if (d.old_pfn) {
        info.old_pfn = d.old_pfn;
    } else if (rec->has(PageRecord::kPfnKnown) && !rec->has(PageRecord::kPfnStale)) {
        info.old_pfn = rec->pfn();
    }
    ++proc.summary.ksm_merged_pages;
    if (!rec->has(PageRecord::kResident)) proc.set_resident(*rec);
    rec->set(PageRecord::kSeenPresent | PageRecord::kShared);
    rec->clear(PageRecord::kPfnStale | PageRecord::kDiscarded);
    rec->set_pfn(d.new_pfn);
    histories_.record(proc, vpn, event.ts_ns, std::move(info));
}

void TimelineBuilder::on(const Event& event, const CollapseData& d) {
    TracedProcess* owner = processes_.owner_of(event);
    if (!owner) return;
    TracedProcess& proc = *owner;
    ++proc.summary.collapses;
    proc.summary.collapsed_pages += d.pages;
    if (!d.pages) return;
    if (!d.addr) {
        // Which range is not known: the next snapshot that finds a huge page
        // in place of small pages of known frames places it.
        proc.unplaced_collapses.push_back({event.ts_ns, d.by_pid, d.by_comm});
        return;
    }
    begin_collapse(proc, d.addr, d.pages, event.ts_ns, d.by_pid, d.by_comm);
    if (d.new_pfn) {
        finish_collapse(proc, HugePage{d.addr, d.new_pfn,
                                       static_cast<uint32_t>(std::countr_zero(uint64_t{d.pages})),
                                       false});
    }
}

// Each subpage of the range gets its collapsed entry (from the frame it had,
// if the timeline knew it), waiting for the frame of the huge page.
void TimelineBuilder::begin_collapse(TracedProcess& proc, uint64_t addr, uint64_t count,
                                     uint64_t ts, uint32_t by_pid, const std::string& by_comm) {
    const uint64_t first = geometry_.vpn(addr);
    const uint32_t order = static_cast<uint32_t>(std::countr_zero(count));
    PageTable& pages = proc.space.pages();
    for (uint64_t vpn = first; vpn < first + count; ++vpn) {
        if (!proc.space.mappings().find(geometry_.addr(vpn))) continue;
        PageRecord& rec = pages.get(vpn);
        CollapsedInfo info;
        if (rec.has(PageRecord::kResident) && rec.has(PageRecord::kPfnKnown) &&
            !rec.has(PageRecord::kPfnStale)) {
            info.old_pfn = rec.pfn();
        }
        info.order = order;
        info.huge_addr = addr;
        info.by_pid = by_pid;
        info.by_comm = by_comm;
        rec.set(PageRecord::kCollapsing | PageRecord::kPfnStale);
        rec.clear(PageRecord::kArrivedAround | PageRecord::kArrivedPopulated);
        histories_.record(proc, vpn, ts, std::move(info));
    }
    // The new huge page is counted when a snapshot finds it.
    proc.huge_pages.erase(first);
}

void TimelineBuilder::on(const Event& event, const ReclaimStallData& d) {
    TracedProcess& proc = processes_.of(event);
    StallTotals& t = proc.summary.stalls_by_kind[d.kind];
    ++t.count;
    t.total_ns += d.duration_ns;
    t.max_ns = std::max(t.max_ns, d.duration_ns);
    t.reclaimed_pages += d.reclaimed;
}

// A snapshot found the huge page a collapse made: each subpage waiting for its
// new frame gets it (head + i). Returns whether the block was collapsing.
bool TimelineBuilder::finish_collapse(TracedProcess& proc, const HugePage& huge) {
    const uint64_t count = uint64_t{1} << std::min<uint32_t>(huge.order, 18);
    const uint64_t first = geometry_.vpn(huge.vaddr);
    PageTable& pages = proc.space.pages();
    if (pages.count_with(first, first + count, PageRecord::kCollapsing) == 0) {
        // A collapse whose range was not known, if small pages of known
        // frames were here: this huge page is its.
        if (proc.unplaced_collapses.empty()) return false;
        bool small_pages_here = false;
        pages.for_each(first, first + count, [&](uint64_t vpn, PageRecord& rec) {
            if (rec.has(PageRecord::kResident) && rec.has(PageRecord::kPfnKnown) &&
                !rec.has(PageRecord::kPfnStale) && rec.pfn() != huge.pfn + (vpn - first)) {
                small_pages_here = true;
            }
        });
        if (!small_pages_here) return false;
        const TracedProcess::UnplacedCollapse c = proc.unplaced_collapses.front();
        proc.unplaced_collapses.pop_front();
        begin_collapse(proc, huge.vaddr, count, c.ts_ns, c.by_pid, c.by_comm);
    }
    for (uint64_t i = 0; i < count; ++i) {
        PageRecord& rec = pages.get(first + i);
        const uint64_t pfn = huge.pfn + i;
        if (rec.has(PageRecord::kCollapsing)) {
            histories_.amend_last<CollapsedInfo>(proc, first + i,
                                                 [&](CollapsedInfo& info) { info.new_pfn = pfn; });
        }
        if (!rec.has(PageRecord::kResident)) proc.set_resident(rec);
        rec.clear(PageRecord::kCollapsing | PageRecord::kPfnStale | PageRecord::kDiscarded |
                  PageRecord::kArrivedAround | PageRecord::kArrivedPopulated);
        rec.set(PageRecord::kSeenPresent);
        rec.set_pfn(pfn);
    }
    return true;
}

// A huge page only partly covered by [start, end) is split: the kernel maps
// the rest of it with small pages, in the same frames.
void TimelineBuilder::note_splits(TracedProcess& proc, uint64_t start, uint64_t end, uint64_t ts,
                                  SplitCause cause) {
    if (proc.huge_pages.empty() || start >= end) return;
    const uint64_t count = uint64_t{1} << pmd_order(geometry_);
    const uint64_t block = geometry_.size() * count;
    for (const uint64_t edge : {start, end}) {
        if (edge % block == 0) continue;
        const uint64_t head = edge - edge % block;
        const uint64_t first = geometry_.vpn(head);
        if (proc.huge_pages.erase(first) == 0) continue;
        ++proc.summary.huge_page_splits;
        for (uint64_t vpn = first; vpn < first + count; ++vpn) {
            if (histories_.alive(proc, vpn)) histories_.record(proc, vpn, ts, SplitInfo{head, cause});
        }
    }
}

}  // namespace pagetrace
