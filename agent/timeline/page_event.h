// One entry of a page's history: what happened to one virtual page of one
// process, and when. The timeline builder appends them in stream order; gaps
// (lost events) are kept in one global list and merged in when a history is
// read (TimelineBuilder::page_histories()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "decode/event.h"
#include "proc/snapshot.h"

namespace pagetrace {

enum class PageEventKind : uint8_t {
    Mapped,      // the page became part of a mapping
    FirstTouch,  // the first fault on it since it was mapped
    Touch,       // any later fault (after a discard, COW, an unaccounted fault, ...)
    Pfn,         // a snapshot saw the frame backing it
    Migrated,    // the kernel moved it to another frame
    TlbFlush,    // a ranged TLB flush covered it
    Discarded,   // madvise dropped its contents (dontneed, free, remove, pageout)
    NotPresent,  // a full snapshot found it gone (reclaimed or swapped out)
    Moved,       // mremap moved it; the history goes on at the new address
    Unmapped,    // it left the address space
    Gap,         // events were lost while the page was alive: the history may miss some
};

// "mapped", "first_touch", "touch", "pfn", "migrated", "tlb_flush", "discarded",
// "not_present", "moved", "unmapped", "gap"
const char* page_event_kind_name(PageEventKind kind);

// How a mapping came to be.
enum class MapCause : uint8_t {
    Mmap,
    Mremap,    // grown or moved by mremap
    Brk,       // the heap grew
    Fork,      // inherited from the parent
    Snapshot,  // found in /proc/PID/maps: mapped before tracing, or by events we missed
};
const char* map_cause_name(MapCause cause);  // "mmap", "mremap", "brk", "fork", "snapshot"

// Why a page left the address space.
enum class UnmapCause : uint8_t {
    Munmap,
    Mremap,    // cut off by a shrinking mremap
    Replaced,  // a new mapping (MAP_FIXED, MREMAP_FIXED) took its place
    Brk,       // the heap shrank
    Exec,      // the process exec'd: the old address space is gone
    Exit,      // the process exited
    Snapshot,  // a full snapshot no longer has the mapping, and no event said why
};
const char* unmap_cause_name(UnmapCause cause);  // "munmap", "mremap", "replaced", ...

// "attach", "exec", "periodic", "final", "targeted"
const char* snapshot_kind_name(SnapshotKind kind);

struct MappedInfo {
    MapCause cause = MapCause::Mmap;
    uint32_t prot = 0;
    uint32_t flags = 0;  // MAP_* (0 for brk, snapshot)
};

struct TouchInfo {
    bool first = false;  // first_touch rather than touch
    Access access = Access::Unknown;
    FaultMode mode = FaultMode::User;
    FaultOutcome outcome = FaultOutcome::Unknown;
    uint64_t latency_ns = 0;  // for minor and major outcomes
    uint64_t ip = 0;
    // first_touch only: time since the mapping was created, when that is known
    std::optional<uint64_t> since_mapped_ns;
};

struct PfnInfo {
    std::optional<uint64_t> pfn;  // nullopt: present, but frames were not visible
    // The previous known frame, when this observation changes it.
    std::optional<uint64_t> old_pfn;
    SnapshotKind source = SnapshotKind::Periodic;
    // The frame changed although no migration, fault or discard explains it.
    bool unexplained = false;
    // The page was present before tracing began (seen by the attach snapshot).
    bool before_tracing = false;
    // Present, but no fault was seen for it: populated by the kernel (exec,
    // MAP_POPULATE, fault-around, THP), or its fault was lost.
    bool no_fault_seen = false;
};

struct MigratedInfo {
    uint64_t old_pfn = 0;
    uint64_t new_pfn = 0;
    uint32_t order = 0;
    uint32_t reason = 0;  // PT_MR_*
    uint32_t mode = 0;    // PT_MIGRATE_*
    uint32_t by_pid = 0;
    std::string by_comm;
    // old_pfn is not the frame last seen backing the page.
    bool unexplained = false;
    std::optional<uint64_t> expected_old_pfn;  // with unexplained: the frame we knew
};

struct TlbFlushInfo {
    uint64_t pages = 0;  // PT_TLB_FLUSH_ALL for a full flush
    uint64_t start = 0;
    uint64_t end = 0;
    uint32_t reason = 0;  // PT_TLB_*
};

struct DiscardedInfo {
    int32_t advice = 0;  // MADV_*
};

struct NotPresentInfo {
    bool swapped = false;  // the snapshot found a swap entry
    SnapshotKind source = SnapshotKind::Periodic;
};

struct MovedInfo {
    uint64_t from = 0;  // page addresses
    uint64_t to = 0;
};

struct UnmappedInfo {
    UnmapCause cause = UnmapCause::Munmap;
};

struct GapInfo {
    uint64_t lost = 0;  // events lost
    uint32_t cpu = 0;   // on this CPU
};

using PageEventData = std::variant<MappedInfo, TouchInfo, PfnInfo, MigratedInfo, TlbFlushInfo,
                                   DiscardedInfo, NotPresentInfo, MovedInfo, UnmappedInfo, GapInfo>;

struct PageEvent {
    uint64_t ts_ns = 0;
    PageEventData data;

    PageEventKind kind() const;
    template <typename T>
    const T& as() const { return std::get<T>(data); }
};

}  // namespace pagetrace
