#include "timeline/page_event.h"

namespace pagetrace {

const char* page_event_kind_name(PageEventKind kind) {
    switch (kind) {
    case PageEventKind::Mapped: return "mapped";
    case PageEventKind::FirstTouch: return "first_touch";
    case PageEventKind::Touch: return "touch";
    case PageEventKind::Pfn: return "pfn";
    case PageEventKind::Migrated: return "migrated";
    case PageEventKind::TlbFlush: return "tlb_flush";
    case PageEventKind::Discarded: return "discarded";
    case PageEventKind::NotPresent: return "not_present";
    case PageEventKind::Moved: return "moved";
    case PageEventKind::Unmapped: return "unmapped";
    case PageEventKind::Gap: return "gap";
    }
    return "unknown";
}

const char* map_cause_name(MapCause cause) {
    switch (cause) {
    case MapCause::Mmap: return "mmap";
    case MapCause::Mremap: return "mremap";
    case MapCause::Brk: return "brk";
    case MapCause::Fork: return "fork";
    case MapCause::Snapshot: return "snapshot";
    }
    return "unknown";
}

const char* unmap_cause_name(UnmapCause cause) {
    switch (cause) {
    case UnmapCause::Munmap: return "munmap";
    case UnmapCause::Mremap: return "mremap";
    case UnmapCause::Replaced: return "replaced";
    case UnmapCause::Brk: return "brk";
    case UnmapCause::Exec: return "exec";
    case UnmapCause::Exit: return "exit";
    case UnmapCause::Snapshot: return "snapshot";
    }
    return "unknown";
}

const char* snapshot_kind_name(SnapshotKind kind) {
    switch (kind) {
    case SnapshotKind::Attach: return "attach";
    case SnapshotKind::Exec: return "exec";
    case SnapshotKind::Periodic: return "periodic";
    case SnapshotKind::Final: return "final";
    case SnapshotKind::Targeted: return "targeted";
    }
    return "unknown";
}

PageEventKind PageEvent::kind() const {
    struct Visitor {
        PageEventKind operator()(const MappedInfo&) const { return PageEventKind::Mapped; }
        PageEventKind operator()(const TouchInfo& t) const {
            return t.first ? PageEventKind::FirstTouch : PageEventKind::Touch;
        }
        PageEventKind operator()(const PfnInfo&) const { return PageEventKind::Pfn; }
        PageEventKind operator()(const MigratedInfo&) const { return PageEventKind::Migrated; }
        PageEventKind operator()(const TlbFlushInfo&) const { return PageEventKind::TlbFlush; }
        PageEventKind operator()(const DiscardedInfo&) const { return PageEventKind::Discarded; }
        PageEventKind operator()(const NotPresentInfo&) const { return PageEventKind::NotPresent; }
        PageEventKind operator()(const MovedInfo&) const { return PageEventKind::Moved; }
        PageEventKind operator()(const UnmappedInfo&) const { return PageEventKind::Unmapped; }
        PageEventKind operator()(const GapInfo&) const { return PageEventKind::Gap; }
    };
    return std::visit(Visitor{}, data);
}

}  // namespace pagetrace
