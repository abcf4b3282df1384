// The handlers of process lifecycles: fork (a new instance with a copy of the
// parent's address space), exec (the address space goes, the instance stays)
// and exit (the instance ends). Which instance each one means is the
// ProcessRegistry's to say.
#include "timeline/timeline_builder.h"

namespace pagetrace {

namespace {

std::optional<uint64_t> start_time(uint64_t start_ns) {
    return start_ns ? std::optional<uint64_t>(start_ns) : std::nullopt;
}

}  // namespace

void TimelineBuilder::end_process(TracedProcess& proc, uint64_t ts, bool pid_reused) {
    unmap_range(proc, 0, geometry_.address_end(), ts, UnmapCause::Exit);
    proc.note_mapped(ts);
    proc.space.clear();
    processes_.end(proc, ts, pid_reused);
}

void TimelineBuilder::on(const Event& event, const ForkData& d) {
    TracedProcess& parent = processes_.of(event);
    const uint64_t ts = event.ts_ns;
    const std::optional<uint64_t> start = start_time(d.child_start_ns);
    TracedProcess* child = processes_.forked_child(d.child_pid, start);
    if (!child) {
        // A running instance of that pid is another process: its exit was lost.
        if (TracedProcess* stale = processes_.live(d.child_pid)) end_process(*stale, ts, true);
        child = &processes_.start(d.child_pid, ts, start);
    }
    child->summary.parent_pid = parent.pid();
    // Traced since its fork (its exec may have raced ahead of this event).
    child->summary.faults.kernel_before_tracing = 0;
    if (child->summary.comm.empty()) child->summary.comm = parent.summary.comm;
    // The child starts with a copy of the parent's address space.
    for (const MappingPiece& piece : child->space.inherit(parent.space, ts)) {
        record_mapped(*child, piece, ts);
        inherit_pages(parent, *child, piece, ts);
    }
    child->note_mapped(ts);
}

// Private anonymous memory: the child's page tables are copies of the
// parent's, with the same frames, write-protected in both until a write
// copies the page (copy-on-write). Other mappings are not copied by the
// kernel page by page (file pages fault in again), so they start empty.
void TimelineBuilder::inherit_pages(TracedProcess& parent, TracedProcess& child,
                                    const MappingPiece& piece, uint64_t ts) {
    if (!(piece.flags & kernel::kMapAnonymous) ||
        (piece.flags & kernel::kMapTypeMask) != kernel::kMapPrivate) {
        return;
    }
    constexpr uint64_t kInherited = PageRecord::kPfnMask | PageRecord::kPfnKnown;
    PageTable& pages = child.space.pages();
    parent.space.pages().for_each(
        geometry_.vpn(piece.start), geometry_.vpn(piece.end), [&](uint64_t vpn, PageRecord& from) {
            if (!from.has(PageRecord::kResident)) return;
            PageRecord& rec = pages.get(vpn);
            rec.bits = (from.bits & kInherited) | PageRecord::kSeenPresent | PageRecord::kShared;
            rec.first_touch_ns = ts;
            child.set_resident(rec);
            from.set(PageRecord::kShared);
            if (rec.has(PageRecord::kPfnKnown)) {
                PfnInfo info;
                info.pfn = rec.pfn();
                info.inherited = true;
                histories_.record(child, vpn, ts, std::move(info));
            }
        });
}

void TimelineBuilder::on(const Event& event, const ExecData& d) {
    const bool first_event = processes_.live(event.pid) == nullptr;
    TracedProcess& proc = processes_.of(event);
    // Traced from this exec on: what the kernel counted so far came before.
    if (first_event && d.min_flt && d.maj_flt) {
        proc.summary.faults.kernel_before_tracing = *d.min_flt + *d.maj_flt;
    }
    unmap_range(proc, 0, geometry_.address_end(), event.ts_ns, UnmapCause::Exec);
    proc.space.heap.known = false;
    proc.summary.exec_filename = d.filename;
    proc.sites.restart();
    proc.note_mapped(event.ts_ns);
}

void TimelineBuilder::on(const Event& event, const ExitData& d) {
    const std::optional<uint64_t> start = start_time(d.start_ns);
    TracedProcess* proc = processes_.exiting(event.pid, start);
    if (!proc) {
        // A running instance of that pid started at another time: its exit was lost.
        if (TracedProcess* stale = processes_.live(event.pid)) {
            end_process(*stale, event.ts_ns, true);
        }
        proc = &processes_.start(event.pid, event.ts_ns, start);
    }
    ProcessRegistry::note(*proc, event);
    ProcessSummary& s = proc->summary;
    if (!s.start_ns) s.start_ns = start;
    s.exit_ts_ns = event.ts_ns;
    s.exit_status = d.status;
    s.faults.kernel_minor = d.min_flt;
    s.faults.kernel_major = d.maj_flt;
    end_process(*proc, event.ts_ns, false);
}

}  // namespace pagetrace
