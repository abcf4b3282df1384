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
    MappedAround,  // a file fault on a neighbour mapped it too (fault-around)
    SwappedOut,  // reclaim wrote it to swap and took its frame
    SwappedIn,   // the fault that brought it back from swap (or the swap cache)
    Evicted,     // its file page was dropped from the page cache
    Refault,     // the fault that read an evicted file page back
    Merged,      // KSM merged it into a shared frame
    Collapsed,   // khugepaged or MADV_COLLAPSE put it in a huge page
    Split,       // the huge page it was part of was split into small pages
};
inline constexpr size_t kPageEventKinds = static_cast<size_t>(PageEventKind::Split) + 1;

// "mapped", "first_touch", "touch", "pfn", "migrated", "tlb_flush", "discarded",
// "not_present", "moved", "unmapped", "gap", "mapped_around", "swapped_out",
// "swapped_in", "evicted", "refault", "merged", "collapsed", "split"
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

// Why a page a snapshot found present had no fault of its own, when the
// timeline knows (pfn entries; otherwise no_fault_seen).
enum class PresentCause : uint8_t {
    None,
    Populated,  // MAP_POPULATE or MADV_POPULATE_READ/WRITE: the kernel faulted it in
    Exec,       // execve set it up: the new stack (arguments, environment, auxv)
    Fork,       // inherited at fork (copied page tables of a private file mapping)
};
const char* present_cause_name(PresentCause cause);  // "populated", "exec", "fork"

struct MappedInfo {
    static constexpr PageEventKind kKind = PageEventKind::Mapped;
    static constexpr const char* kName = "mapped";
    MapCause cause = MapCause::Mmap;
    uint32_t prot = 0;
    uint32_t flags = 0;  // MAP_* (0 for brk, snapshot)
    void write(EntryFields& out) const;
};

// What a fault did besides mapping a page: nothing more (a touch), or bring
// back what the kernel had taken.
enum class TouchCause : uint8_t {
    Fault,
    SwapIn,   // the page was in swap: a major fault, or a minor one from the swap cache
    Refault,  // its file page had been evicted from the page cache
};

// A fault: swapped_in or refault by its cause, else first_touch when
// `first`, touch otherwise.
struct TouchInfo {
    static constexpr PageEventKind kKind = PageEventKind::Touch;
    static constexpr const char* kName = "touch";
    static constexpr PageEventKind kFirstKind = PageEventKind::FirstTouch;
    static constexpr const char* kFirstName = "first_touch";
    static constexpr PageEventKind kSwapInKind = PageEventKind::SwappedIn;
    static constexpr const char* kSwapInName = "swapped_in";
    static constexpr PageEventKind kRefaultKind = PageEventKind::Refault;
    static constexpr const char* kRefaultName = "refault";
    bool first = false;  // first_touch rather than touch
    TouchCause cause = TouchCause::Fault;
    // swapped_in: since its swap-out; refault: since its eviction.
    std::optional<uint64_t> away_ns;
    Access access = Access::Unknown;
    FaultMode mode = FaultMode::User;
    FaultOutcome outcome = FaultOutcome::Unknown;
    uint64_t latency_ns = 0;  // for minor and major outcomes
    uint64_t ip = 0;
    const CodeLocation* where = nullptr;  // the code at ip, when fault sites are tracked
    // first_touch only: time since the mapping was created, when that is known
    std::optional<uint64_t> since_mapped_ns;
    // A write on a page shared since fork (or with the zero page): the fault
    // gave this page a copy of its own, in a new frame.
    bool cow = false;
    // The frame the fault put in, once a snapshot said (huge pages: each
    // subpage its own, head + i), and the order of the page it mapped (9: a
    // 2 MiB transparent huge page).
    std::optional<uint64_t> pfn;
    std::optional<uint32_t> order;
    // For the other subpages of a huge page: the address of the fault that
    // mapped it (access, ip and latency are that fault's).
    std::optional<uint64_t> fault_addr;
    PageEventKind kind() const {
        if (cause == TouchCause::SwapIn) return kSwapInKind;
        if (cause == TouchCause::Refault) return kRefaultKind;
        return first ? kFirstKind : kKind;
    }
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
    // Present, but no fault was seen for it and no cause below explains it
    // (its fault was lost, or the kernel put it in by a way pagetrace does not
    // see: mlock, a huge page of khugepaged, ...).
    bool no_fault_seen = false;
    // Present with no fault of its own, for a reason the timeline knows.
    PresentCause cause = PresentCause::None;
    // The frame is the shared zero page: read faults on anonymous memory map
    // it until the first write gives the page a frame of its own.
    bool zero_page = false;
    // Not seen by a snapshot: the frame the parent's page had at fork (source "fork").
    bool inherited = false;
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

// A file fault on a neighbour mapped this page too (fault-around), and a
// snapshot confirmed it present; the entry's time is the fault-around's.
struct MappedAroundInfo {
    static constexpr PageEventKind kKind = PageEventKind::MappedAround;
    static constexpr const char* kName = "mapped_around";
    uint64_t fault_addr = 0;  // the fault that caused it (0: not known)
    std::optional<uint64_t> pfn;
    SnapshotKind source = SnapshotKind::Targeted;  // the snapshot that confirmed it
    void write(EntryFields& out) const;
};

// Reclaim wrote the page to swap (kswapd, direct or memcg reclaim,
// MADV_PAGEOUT) and freed its frame; the swap slot once a snapshot saw it.
struct SwappedOutInfo {
    static constexpr PageEventKind kKind = PageEventKind::SwappedOut;
    static constexpr const char* kName = "swapped_out";
    uint64_t pfn = 0;  // the frame it left
    uint32_t order = 0;
    uint32_t by_pid = 0;
    std::string by_comm;
    std::optional<uint32_t> swap_type;  // the swap area (its index in /proc/swaps)
    std::optional<uint64_t> swap_offset;
    void write(EntryFields& out) const;
};

// Its file page was dropped from the page cache (reclaim, truncation, ...).
struct EvictedInfo {
    static constexpr PageEventKind kKind = PageEventKind::Evicted;
    static constexpr const char* kName = "evicted";
    uint64_t pfn = 0;
    uint64_t ino = 0;
    uint32_t dev = 0;  // kernel dev_t encoding
    uint32_t order = 0;
    uint32_t by_pid = 0;
    std::string by_comm;
    void write(EntryFields& out) const;
};

// KSM merged the page into a frame shared with pages of equal content; the
// next write copies it out again (a copy-on-write touch).
struct MergedInfo {
    static constexpr PageEventKind kKind = PageEventKind::Merged;
    static constexpr const char* kName = "merged";
    std::optional<uint64_t> old_pfn;  // nullopt: neither the event nor the timeline knew it
    uint64_t new_pfn = 0;  // the KSM frame (== old_pfn: the page became the KSM page)
    uint32_t by_pid = 0;
    std::string by_comm;
    void write(EntryFields& out) const;
};

// khugepaged or MADV_COLLAPSE copied the small pages of an aligned range into
// one huge page: this page is subpage new_pfn - head of it.
struct CollapsedInfo {
    static constexpr PageEventKind kKind = PageEventKind::Collapsed;
    static constexpr const char* kName = "collapsed";
    std::optional<uint64_t> old_pfn;  // nullopt: the page had no frame (filled with zeros)
    std::optional<uint64_t> new_pfn;  // from the snapshot after it; nullopt until then
    uint32_t order = 0;
    uint64_t huge_addr = 0;  // the huge page's first address
    uint32_t by_pid = 0;
    std::string by_comm;
    void write(EntryFields& out) const;
};

// What split a huge page.
enum class SplitCause : uint8_t { Munmap, Mprotect, Mremap, Madvise };
const char* split_cause_name(SplitCause cause);  // "munmap", "mprotect", "mremap", "madvise"

// Part of the huge page was unmapped, protected differently, moved or
// discarded: the kernel maps the rest with small pages (same frames).
struct SplitInfo {
    static constexpr PageEventKind kKind = PageEventKind::Split;
    static constexpr const char* kName = "split";
    uint64_t huge_addr = 0;
    SplitCause cause = SplitCause::Munmap;
    void write(EntryFields& out) const;
};

using PageEventData = std::variant<MappedInfo, TouchInfo, PfnInfo, MigratedInfo, TlbFlushInfo,
                                   DiscardedInfo, NotPresentInfo, MovedInfo, UnmappedInfo, GapInfo,
                                   MappedAroundInfo, SwappedOutInfo, EvictedInfo, MergedInfo,
                                   CollapsedInfo, SplitInfo>;

// The frame an entry says the page has from then on, if it says one.
std::optional<uint64_t> frame_after(const PageEventData& data);

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
