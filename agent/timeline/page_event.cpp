#include "timeline/page_event.h"

#include "output/names.h"
#include "symbols/symbolizer.h"
#include "timeline/entry_fields.h"

namespace pagetrace {

namespace {

// Every kind's name, from the *Info structs that declare them.
template <typename... Infos>
constexpr std::array<const char*, kPageEventKinds> kind_names(const std::variant<Infos...>*) {
    std::array<const char*, kPageEventKinds> names{};
    ((names[static_cast<size_t>(Infos::kKind)] = Infos::kName), ...);
    names[static_cast<size_t>(TouchInfo::kFirstKind)] = TouchInfo::kFirstName;
    names[static_cast<size_t>(TouchInfo::kSwapInKind)] = TouchInfo::kSwapInName;
    names[static_cast<size_t>(TouchInfo::kRefaultKind)] = TouchInfo::kRefaultName;
    return names;
}

constexpr std::array<const char*, kPageEventKinds> kKindNames =
    kind_names(static_cast<const PageEventData*>(nullptr));

constexpr bool every_kind_named() {
    for (const char* name : kKindNames) {
        if (name == nullptr) return false;
    }
    return true;
}
static_assert(every_kind_named(), "a PageEventKind has no *Info struct in PageEventData");

}  // namespace

const char* page_event_kind_name(PageEventKind kind) {
    const auto index = static_cast<size_t>(kind);
    return index < kKindNames.size() ? kKindNames[index] : "unknown";
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

const char* present_cause_name(PresentCause cause) {
    switch (cause) {
    case PresentCause::None: return "none";
    case PresentCause::Populated: return "populated";
    case PresentCause::Exec: return "exec";
    case PresentCause::Fork: return "fork";
    }
    return "unknown";
}

const char* split_cause_name(SplitCause cause) {
    switch (cause) {
    case SplitCause::Munmap: return "munmap";
    case SplitCause::Mprotect: return "mprotect";
    case SplitCause::Mremap: return "mremap";
    case SplitCause::Madvise: return "madvise";
    }
    return "unknown";
}

std::optional<uint64_t> frame_after(const PageEventData& data) {
    if (const auto* p = std::get_if<PfnInfo>(&data)) return p->pfn;
    if (const auto* m = std::get_if<MigratedInfo>(&data)) return m->new_pfn;
    if (const auto* t = std::get_if<TouchInfo>(&data)) return t->pfn;
    if (const auto* a = std::get_if<MappedAroundInfo>(&data)) return a->pfn;
    if (const auto* k = std::get_if<MergedInfo>(&data)) return k->new_pfn;
    if (const auto* c = std::get_if<CollapsedInfo>(&data)) return c->new_pfn;
    return std::nullopt;
}

// ---------------------------------------------------------------- the fields of each kind

// mmap rw- private|anonymous            (text)
// "cause":"mmap","prot":"rw-","flags":"private|anonymous"
void MappedInfo::write(EntryFields& out) const {
    if (cause == MapCause::Snapshot) {
        out.json("cause", map_cause_name(cause));
    } else {
        out.field("cause", map_cause_name(cause));
    }
    out.field("prot", prot_string(prot));
    if (cause == MapCause::Snapshot) out.text("(found in maps)");
    out.field("flags", mmap_flags_string(flags));
}

// write user minor 500 ns ip=0x401000, 1.0 us after mapping
void TouchInfo::write(EntryFields& out) const {
    if (access != Access::Unknown) out.field("access", access_name(access));
    out.field("mode", mode == FaultMode::User ? "user" : "kernel");
    if (outcome == FaultOutcome::Minor || outcome == FaultOutcome::Major) {
        out.field("outcome", outcome_name(outcome));
        if (latency_ns) out.field("latency_ns", latency_ns, "{}", Duration{latency_ns});
    } else if (outcome == FaultOutcome::Unaccounted) {
        out.field("outcome", outcome_name(outcome), "{} (not completed)", outcome_name(outcome));
    }
    out.field("ip", Hex{ip}, "ip={:#x}", ip);
    if (where) {
        if (!where->sym.empty()) out.json("sym", where->sym);
        if (!where->dso.empty()) out.json("dso", where->dso);
        if (!where->src.empty()) out.json("src", where->src);
        out.text("{}", where->label);
        if (!where->src.empty()) out.text("({})", where->src);
    }
    if (since_mapped_ns) {
        out.json("since_mapped_ns", *since_mapped_ns);
        out.attach(", {} after mapping", Duration{*since_mapped_ns});
    }
    if (away_ns) {
        out.json("away_ns", *away_ns);
        out.attach(", {} after it was {}", Duration{*away_ns},
                   cause == TouchCause::SwapIn ? "swapped out" : "evicted");
    }
    if (cow) out.field("cow", true, "copy-on-write");
    if (pfn) out.field("pfn", *pfn, "frame {:#x}", *pfn);
    if (order) out.field("order", *order, "order {}", *order);
    if (fault_addr) out.field("fault_addr", Hex{*fault_addr}, "(huge page faulted at {:#x})", *fault_addr);
}

// by the fault at 0x7f0000003000 0x1234 [targeted snapshot]
void MappedAroundInfo::write(EntryFields& out) const {
    if (fault_addr) out.field("fault_addr", Hex{fault_addr}, "by the fault at {:#x}", fault_addr);
    if (pfn) out.field("pfn", *pfn, "frame {:#x}", *pfn);
    out.field("source", snapshot_kind_name(source), "[{} snapshot]", snapshot_kind_name(source));
}

// 0x11 (was 0x10) [periodic snapshot] UNEXPLAINED: no migration seen
void PfnInfo::write(EntryFields& out) const {
    if (pfn) {
        out.field("pfn", pfn, "{:#x}", *pfn);
    } else {
        out.field("pfn", pfn, "present (frame not visible)");
    }
    if (old_pfn) out.field("old_pfn", *old_pfn, "(was {:#x})", *old_pfn);
    if (zero_page) out.field("zero_page", true, "the zero page");
    if (inherited) {
        out.field("source", "fork", "[inherited at fork]");
    } else {
        out.field("source", snapshot_kind_name(source), "[{} snapshot]", snapshot_kind_name(source));
    }
    if (unexplained) out.json("unexplained", true);
    if (before_tracing) out.field("before_tracing", true, "present before tracing");
    if (no_fault_seen) out.field("no_fault_seen", true, "present with no fault seen");
    if (cause != PresentCause::None) {
        out.field("cause", present_cause_name(cause), "present without a fault: {}",
                  present_cause_name(cause));
    }
    if (unexplained) out.text("UNEXPLAINED: no migration seen");
}

// 0x1234 -> 0x5678 order=9 compaction async by kcompactd0/45
void MigratedInfo::write(EntryFields& out) const {
    out.json("old_pfn", old_pfn);
    out.field("new_pfn", new_pfn, "{:#x} -> {:#x}", old_pfn, new_pfn);
    out.json("order", order);
    if (order) out.text("order={}", order);
    out.field("reason", migrate_reason_name(reason));
    out.field("mode", migrate_mode_name(mode));
    out.json("by_pid", by_pid);
    out.field("by_comm", by_comm, "by {}/{}", TaskName{by_comm}, by_pid);
    if (unexplained) {
        out.json("unexplained", true);
        if (expected_old_pfn) {
            out.field("expected_old_pfn", *expected_old_pfn, "UNEXPLAINED: last seen in {:#x}",
                      *expected_old_pfn);
        } else {
            out.text("UNEXPLAINED: last seen in ?");
        }
    }
}

// remote_shootdown 1 pages 0x7f0000000000-0x7f0000001000
void TlbFlushInfo::write(EntryFields& out) const {
    out.field("reason", tlb_reason_name(reason));
    if (pages == PT_TLB_FLUSH_ALL) {
        out.field("pages", "all");
    } else {
        out.field("pages", pages, "{} pages", pages);
    }
    out.json("start", Hex{start});
    out.field("end", Hex{end}, "{:#x}-{:#x}", start, end);
}

// madvise dontneed
void DiscardedInfo::write(EntryFields& out) const {
    const std::string name = madvise_advice_name(advice);
    out.field("advice", name, "madvise {}", name);
}

// swapped out [final snapshot]
void NotPresentInfo::write(EntryFields& out) const {
    out.field("swapped", swapped, "{}", swapped ? "swapped out" : "gone (reclaimed?)");
    out.field("source", snapshot_kind_name(source), "[{} snapshot]", snapshot_kind_name(source));
}

// 0x7f0000000000 -> 0x7f0000100000
void MovedInfo::write(EntryFields& out) const {
    out.json("from", Hex{from});
    out.field("to", Hex{to}, "{:#x} -> {:#x}", from, to);
}

// 0x1234 order=0 by kswapd0/45 to swap 0:0x1c0
void SwappedOutInfo::write(EntryFields& out) const {
    out.field("pfn", pfn, "{:#x}", pfn);
    out.json("order", order);
    if (order) out.text("order={}", order);
    out.json("by_pid", by_pid);
    out.field("by_comm", by_comm, "by {}/{}", TaskName{by_comm}, by_pid);
    if (swap_type && swap_offset) {
        out.json("swap_type", *swap_type);
        out.field("swap_offset", *swap_offset, "to swap {}:{:#x}", *swap_type, *swap_offset);
    }
}

// 0x1234 inode 5678 on 8:1 by kswapd0/45
void EvictedInfo::write(EntryFields& out) const {
    out.field("pfn", pfn, "{:#x}", pfn);
    out.json("ino", ino);
    const std::string device = kernel_dev_string(dev);
    out.field("dev", device, "inode {} on {}", ino, device);
    out.json("order", order);
    if (order) out.text("order={}", order);
    out.json("by_pid", by_pid);
    out.field("by_comm", by_comm, "by {}/{}", TaskName{by_comm}, by_pid);
}

// 0x1234 -> 0x5678 (shared, KSM) by ksmd/40
void MergedInfo::write(EntryFields& out) const {
    out.json("old_pfn", old_pfn);
    if (old_pfn) {
        out.field("new_pfn", new_pfn, "{:#x} -> {:#x} (shared, KSM)", *old_pfn, new_pfn);
    } else {
        out.field("new_pfn", new_pfn, "? -> {:#x} (shared, KSM)", new_pfn);
    }
    out.json("by_pid", by_pid);
    out.field("by_comm", by_comm, "by {}/{}", TaskName{by_comm}, by_pid);
}

// 0x1234 -> 0x40005 order=9 in the huge page at 0x7f0000000000 by khugepaged/50
void CollapsedInfo::write(EntryFields& out) const {
    out.json("old_pfn", old_pfn);
    out.json("new_pfn", new_pfn);
    const std::string from = old_pfn ? fmt::format("{:#x}", *old_pfn) : "(none)";
    const std::string to = new_pfn ? fmt::format("{:#x}", *new_pfn) : "?";
    out.text("{} -> {}", from, to);
    out.field("order", order, "order={}", order);
    out.field("huge_addr", Hex{huge_addr}, "in the huge page at {:#x}", huge_addr);
    out.json("by_pid", by_pid);
    out.field("by_comm", by_comm, "by {}/{}", TaskName{by_comm}, by_pid);
}

// the huge page at 0x7f0000000000, by munmap
void SplitInfo::write(EntryFields& out) const {
    out.field("huge_addr", Hex{huge_addr}, "the huge page at {:#x}", huge_addr);
    out.field("cause", split_cause_name(cause), "by {}", split_cause_name(cause));
}

// munmap
void UnmappedInfo::write(EntryFields& out) const { out.field("cause", unmap_cause_name(cause)); }

// 12 events lost on cpu 3: this history may be incomplete
void GapInfo::write(EntryFields& out) const {
    out.json("lost", lost);
    out.field("cpu", cpu, "{} events lost on cpu {}: this history may be incomplete", lost, cpu);
}

}  // namespace pagetrace
