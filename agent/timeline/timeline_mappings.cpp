// The handlers of the events that change mappings (mmap, munmap, mremap, brk)
// and the two changes every one of them is made of: a range mapped, a range
// unmapped, each with what it means for page histories and the summary.
#include "timeline/timeline_builder.h"

#include <algorithm>

namespace pagetrace {

void TimelineBuilder::map_range(TracedProcess& proc, const MappingPiece& piece, uint64_t ts) {
    proc.space.map(piece);
    record_mapped(proc, piece, ts);
}

void TimelineBuilder::record_mapped(TracedProcess& proc, const MappingPiece& piece, uint64_t ts) {
    histories_.for_selected(proc, piece.start, piece.end, [&](uint64_t vpn) {
        histories_.record(proc, vpn, ts, MappedInfo{piece.cause, piece.prot, piece.flags});
    });
}

void TimelineBuilder::unmap_range(TracedProcess& proc, uint64_t start, uint64_t end, uint64_t ts,
                                  UnmapCause cause) {
    if (start >= end) return;
    proc.summary.resident_pages_final -= proc.space.unmap(start, end);
    histories_.unmapped(proc, geometry_.vpn(start), geometry_.vpn(end), ts, cause);
    histories_.drop_held(proc, geometry_.vpn(start), geometry_.vpn(end));
    std::erase_if(proc.fault_arounds, [&](const TracedProcess::FaultAround& f) {
        return f.start < end && f.end > start;
    });
    std::erase_if(proc.huge_pages, [&](uint64_t vpn) {
        return vpn >= geometry_.vpn(start) && vpn < geometry_.vpn(end);
    });
}

void TimelineBuilder::on(const Event& event, const MmapData& d) {
    TracedProcess& proc = processes_.of(event);
    if (d.err != 0 || d.len == 0) return;
    const uint64_t ts = event.ts_ns;
    MappingPiece piece;
    piece.start = geometry_.down(d.addr);
    piece.end = geometry_.range_end(d.addr, d.len);
    piece.mapped_ns = ts;
    piece.prot = d.prot;
    piece.flags = d.flags;
    piece.cause = MapCause::Mmap;
    // Only MAP_FIXED may land on a mapping; otherwise ours was stale. (A piece
    // only a snapshot told us of may just be this mmap, read before its event.)
    bool stale = false;
    for (const MappingPiece& old : proc.space.mappings().overlapping(piece.start, piece.end)) {
        stale = stale || old.cause != MapCause::Snapshot;
    }
    if (stale && !(d.flags & kernel::kMapFixed)) ++proc.summary.mapping_conflicts;
    unmap_range(proc, piece.start, piece.end, ts, UnmapCause::Replaced);
    map_range(proc, piece, ts);
    // MAP_POPULATE: the kernel faults every page in before mmap returns.
    if (d.flags & kernel::kMapPopulate) expect_arrivals(proc, piece.start, piece.end, ts, false);
    proc.note_mapped(ts);
}

void TimelineBuilder::on(const Event& event, const MunmapData& d) {
    TracedProcess& proc = processes_.of(event);
    if (d.err != 0 || d.len == 0) return;
    unmap_range(proc, geometry_.down(d.addr), geometry_.range_end(d.addr, d.len), event.ts_ns,
                UnmapCause::Munmap);
    proc.note_mapped(event.ts_ns);
}

void TimelineBuilder::on(const Event& event, const MremapData& d) {
    TracedProcess& proc = processes_.of(event);
    if (d.err != 0) return;
    const uint64_t ts = event.ts_ns;
    const kernel::PageGeometry& g = geometry_;
    const uint64_t old_addr = g.down(d.old_addr);
    const uint64_t old_len = g.range_end(d.old_addr, d.old_len) - old_addr;
    const uint64_t new_addr = g.down(d.new_addr);
    const uint64_t new_len = g.range_end(d.new_addr, d.new_len) - new_addr;
    if (new_len == 0) return;

    MappingPiece like;  // what grown parts inherit
    if (const MappingPiece* src = proc.space.mappings().find(old_addr)) like = *src;
    like.mapped_ns = ts;
    like.cause = MapCause::Mremap;

    if (old_len == 0) {  // a second mapping of the same shared pages
        like.start = new_addr;
        like.end = new_addr + new_len;
        unmap_range(proc, like.start, like.end, ts, UnmapCause::Replaced);
        map_range(proc, like, ts);
        proc.note_mapped(ts);
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
        proc.note_mapped(ts);
        return;
    }

    // Moved: the pages of the first min(old_len, new_len) bytes, their
    // mapping pieces and their histories go to the new address.
    const uint64_t keep = std::min(old_len, new_len);
    const bool dontunmap = (d.flags & kernel::kMremapDontunmap) != 0;
    const uint64_t old_vpn = g.vpn(old_addr);
    const uint64_t new_vpn = g.vpn(new_addr);
    AddressSpace::Move pages = proc.space.take(old_addr, keep, new_addr, dontunmap);
    PageHistories::Move histories = histories_.take(proc, old_vpn, old_vpn + g.vpn(keep));
    if (old_len > keep) {
        unmap_range(proc, old_addr + keep, old_addr + old_len, ts, UnmapCause::Mremap);
    }
    unmap_range(proc, new_addr, new_addr + new_len, ts, UnmapCause::Replaced);
    proc.space.put(pages);
    histories_.put(std::move(histories), new_vpn, ts);
    // Pages that moved into the filter start their history here.
    histories_.for_selected(proc, new_addr, new_addr + keep, [&](uint64_t vpn) {
        if (histories_.alive(proc, vpn)) return;
        if (proc.space.pages().find(vpn)) {
            const uint64_t from = g.addr(vpn - new_vpn + old_vpn);
            histories_.record(proc, vpn, ts, MovedInfo{from, g.addr(vpn)});
        } else {
            histories_.record(proc, vpn, ts, MappedInfo{MapCause::Mremap, like.prot, like.flags});
        }
    });
    if (new_len > old_len) {
        like.start = new_addr + old_len;
        like.end = new_addr + new_len;
        map_range(proc, like, ts);
    }
    if (dontunmap) {  // the old range stays mapped, empty
        histories_.for_selected(proc, old_addr, old_addr + keep, [&](uint64_t vpn) {
            histories_.record(proc, vpn, ts, MappedInfo{MapCause::Mremap, like.prot, like.flags});
        });
    }
    proc.note_mapped(ts);
}

void TimelineBuilder::on(const Event& event, const BrkData& d) {
    TracedProcess& proc = processes_.of(event);
    const uint64_t ts = event.ts_ns;
    const uint64_t end = geometry_.up(d.ret);
    Heap& heap = proc.space.heap;
    if (!heap.known) {  // the first break we see: the heap's size so far is unknown
        heap = {true, end, end};
        return;
    }
    if (end > heap.end) {
        MappingPiece piece;
        piece.start = heap.end;
        piece.end = end;
        piece.mapped_ns = ts;
        piece.prot = kernel::kProtRead | kernel::kProtWrite;
        piece.flags = kernel::kMapPrivate | kernel::kMapAnonymous;
        piece.cause = MapCause::Brk;
        unmap_range(proc, piece.start, piece.end, ts, UnmapCause::Replaced);
        map_range(proc, piece, ts);
    } else if (end < heap.end) {
        unmap_range(proc, end, heap.end, ts, UnmapCause::Brk);
    }
    heap.end = end;
    proc.note_mapped(ts);
}

}  // namespace pagetrace
