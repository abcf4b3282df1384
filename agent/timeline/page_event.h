// One entry of a page's history: what happened to one virtual page of one
// process, and when. The timeline builder appends them in stream order; gaps
// (lost events) are kept in one global list and merged in when a history is
// read (TimelineBuilder::page_histories()).
//
// Every kind of entry is declared once, by its *Info struct: the kind it is
// (kKind), its name in text and JSON (kName, the "what"), its fields, and
// write(), which says each field once to an EntryFields writer that makes
// either the JSON members or the words of the text line. Adding a kind:
//   1. a PageEventKind value,
//   2. its *Info struct below (kKind, kName, fields, write()) and its
//      alternative in PageEventData; write() is defined in page_event.cpp,
//   3. the builder's handler that records it (histories_.record(...)),
//   4. a test (tests/unit/timeline_story_test.cpp, timeline_render_test.cpp).
// Names, kind() and both renderings follow from the struct.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "decode/event.h"
#include "proc/snapshot.h"

namespace pagetrace {

struct CodeLocation;

class EntryFields;

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
inline constexpr size_t kPageEventKinds = static_cast<size_t>(PageEventKind::Gap) + 1;

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
    static constexpr PageEventKind kKind = PageEventKind::Mapped;
    static constexpr const char* kName = "mapped";
    MapCause cause = MapCause::Mmap;
    uint32_t prot = 0;
    uint32_t flags = 0;  // MAP_* (0 for brk, snapshot)
    void write(EntryFields& out) const;
};

// A fault: first_touch when `first`, touch otherwise.
struct TouchInfo {
    static constexpr PageEventKind kKind = PageEventKind::Touch;
    static constexpr const char* kName = "touch";
    static constexpr PageEventKind kFirstKind = PageEventKind::FirstTouch;
    static constexpr const char* kFirstName = "first_touch";
    bool first = false;  // first_touch rather than touch
    Access access = Access::Unknown;
    FaultMode mode = FaultMode::User;
    FaultOutcome outcome = FaultOutcome::Unknown;
    uint64_t latency_ns = 0;  // for minor and major outcomes
    uint64_t ip = 0;
    const CodeLocation* where = nullptr;  // the code at ip, when fault sites are tracked
    // first_touch only: time since the mapping was created, when that is known
    std::optional<uint64_t> since_mapped_ns;
    PageEventKind kind() const { return first ? kFirstKind : kKind; }
    void write(EntryFields& out) const;
};

struct PfnInfo {
    static constexpr PageEventKind kKind = PageEventKind::Pfn;
    static constexpr const char* kName = "pfn";
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
    void write(EntryFields& out) const;
};

struct MigratedInfo {
    static constexpr PageEventKind kKind = PageEventKind::Migrated;
    static constexpr const char* kName = "migrated";
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
    void write(EntryFields& out) const;
};

struct TlbFlushInfo {
    static constexpr PageEventKind kKind = PageEventKind::TlbFlush;
    static constexpr const char* kName = "tlb_flush";
    uint64_t pages = 0;  // PT_TLB_FLUSH_ALL for a full flush
    uint64_t start = 0;
    uint64_t end = 0;
    uint32_t reason = 0;  // PT_TLB_*
    void write(EntryFields& out) const;
};

struct DiscardedInfo {
    static constexpr PageEventKind kKind = PageEventKind::Discarded;
    static constexpr const char* kName = "discarded";
    int32_t advice = 0;  // MADV_*
    void write(EntryFields& out) const;
};

struct NotPresentInfo {
    static constexpr PageEventKind kKind = PageEventKind::NotPresent;
    static constexpr const char* kName = "not_present";
    bool swapped = false;  // the snapshot found a swap entry
    SnapshotKind source = SnapshotKind::Periodic;
    void write(EntryFields& out) const;
};

struct MovedInfo {
    static constexpr PageEventKind kKind = PageEventKind::Moved;
    static constexpr const char* kName = "moved";
    uint64_t from = 0;  // page addresses
    uint64_t to = 0;
    void write(EntryFields& out) const;
};

struct UnmappedInfo {
    static constexpr PageEventKind kKind = PageEventKind::Unmapped;
    static constexpr const char* kName = "unmapped";
    UnmapCause cause = UnmapCause::Munmap;
    void write(EntryFields& out) const;
};

struct GapInfo {
    static constexpr PageEventKind kKind = PageEventKind::Gap;
    static constexpr const char* kName = "gap";
    uint64_t lost = 0;  // events lost
    uint32_t cpu = 0;   // on this CPU
    void write(EntryFields& out) const;
};

using PageEventData = std::variant<MappedInfo, TouchInfo, PfnInfo, MigratedInfo, TlbFlushInfo,
                                   DiscardedInfo, NotPresentInfo, MovedInfo, UnmappedInfo, GapInfo>;

// The kind of an entry: its Info's kKind, or what its kind() chooses.
template <typename Info>
constexpr PageEventKind kind_of(const Info& info) {
    if constexpr (requires { info.kind(); }) {
        return info.kind();
    } else {
        return Info::kKind;
    }
}

struct PageEvent {
    uint64_t ts_ns = 0;
    PageEventData data;

    PageEventKind kind() const {
        return std::visit([](const auto& info) { return kind_of(info); }, data);
    }
    const char* name() const { return page_event_kind_name(kind()); }
    template <typename T>
    const T& as() const { return std::get<T>(data); }
};

}  // namespace pagetrace
