// The summary of one process instance: who it was and what the memory manager
// did to it, over the whole stream (or up to now, live). The timeline keeps one
// per instance and its handlers update it as events arrive;
// TimelineBuilder::summaries() returns it as it is, with the few values that
// are derived from the state (the mapped-bytes series, the mmap-to-touch
// percentiles, untouched bytes, gaps) filled in once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "timeline/fault_sites.h"

namespace pagetrace {

struct MappedPoint {
    uint64_t ts_ns = 0;
    uint64_t bytes = 0;  // mapped bytes from ts_ns on
};

struct LatencySummary {
    uint64_t count = 0;
    uint64_t p50 = 0;
    uint64_t p90 = 0;
    uint64_t p99 = 0;
    uint64_t max = 0;
};

struct FaultCounts {
    // Fault events, by outcome.
    uint64_t total = 0;
    uint64_t minor = 0;
    uint64_t major = 0;
    uint64_t unaccounted = 0;
    uint64_t unknown = 0;
    // The kernel's own count for the whole process (its exit event; unknown
    // for a process that did not exit while traced, or in recordings of event
    // ABI 2).
    std::optional<uint64_t> kernel_minor;
    std::optional<uint64_t> kernel_major;
    // Of those, the ones before tracing began: for a process traced from its
    // exec (the command pagetrace started, --comm, --cgroup), what it did
    // before it; 0 for one traced since its fork; unknown for one attached to
    // (-p), whose faults without an exception are then unknown too.
    std::optional<uint64_t> kernel_before_tracing;
    // Accounted faults that raised no exception, so no fault event
    // (get_user_pages: execve's argument copy, /proc/PID/mem, ptrace,
    // process_vm_*, O_DIRECT, MAP_POPULATE, mlock, MADV_POPULATE_*, io_uring):
    // kernel_minor + kernel_major - kernel_before_tracing - minor - major -
    // unknown. With outcomes on, minor + major + without_exception +
    // kernel_before_tracing == kernel_minor + kernel_major. Derived.
    std::optional<uint64_t> without_exception;
};

// The time threads of a process spent stalled, of one kind (PT_STALL_*).
struct StallTotals {
    uint64_t count = 0;
    uint64_t total_ns = 0;
    uint64_t max_ns = 0;
    uint64_t reclaimed_pages = 0;  // direct and memcg reclaim
};

struct ProcessSummary {
    uint32_t pid = 0;
    std::optional<uint64_t> start_ns;  // known from its fork or exit event
    std::optional<uint32_t> parent_pid;
    std::string comm;
    std::string exec_filename;  // the last execve seen ("" if none)
    uint64_t first_ts_ns = 0;   // first event or snapshot
    uint64_t last_ts_ns = 0;
    std::optional<uint64_t> exit_ts_ns;
    std::optional<uint32_t> exit_status;  // wait(2)-style
    // It ended without an exit event: a new process with its pid appeared.
    bool pid_reused = false;

    // Mapped bytes each time the total changed, downsampled to at most
    // kMaxMappedPoints points (the first and the latest change always kept).
    std::vector<MappedPoint> mapped_bytes;  // derived
    uint64_t mapped_bytes_peak = 0;
    uint64_t mapped_bytes_final = 0;  // derived

    uint64_t pages_touched = 0;  // first touches (a page touched in two mappings counts twice)
    uint64_t resident_pages_peak = 0;
    uint64_t resident_pages_final = 0;  // resident now
    FaultCounts faults;
    // mmap (or mremap/brk growth) to first fault; derived from a histogram
    LatencySummary first_touch_after_mmap_ns;
    // Pages of mappings created by mmap/mremap/brk while traced that were
    // never touched before they were unmapped (or by now), in bytes; derived.
    uint64_t untouched_bytes = 0;
    uint64_t discarded_pages = 0;
    uint64_t cow_faults = 0;     // write faults that copied a page shared since fork (or the zero page)

    // Pages that arrived without a fault of their own, by cause (each counted
    // once, when a snapshot saw it present).
    uint64_t fault_arounds = 0;        // fault_around events
    uint64_t mapped_around = 0;        // pages fault-around mapped
    uint64_t populated_pages = 0;      // pages MAP_POPULATE / MADV_POPULATE_* put in
    uint64_t exec_pages = 0;           // pages execve set up (the new stack, arguments)
    uint64_t inherited_pages = 0;      // pages inherited at fork (found present in the child)
    uint64_t zero_page_pages = 0;      // pages seen mapping the shared zero page
    // Transparent huge pages (PMD-mapped) that backed the process's memory:
    // how many, and their bytes.
    uint64_t huge_pages = 0;
    uint64_t huge_page_bytes = 0;

    // Huge pages khugepaged or MADV_COLLAPSE made of small pages (collapse
    // events), the small pages they replaced, and huge pages seen split.
    uint64_t collapses = 0;
    uint64_t collapsed_pages = 0;
    uint64_t huge_page_splits = 0;

    // What reclaim and KSM took or changed, and what it cost.
    uint64_t swapped_out_pages = 0;  // swap_out events
    uint64_t swapped_in_pages = 0;   // faults on swapped-out pages
    // Swap-out to swap-in of the pages that came back; derived from a histogram.
    LatencySummary time_swapped_ns;
    uint64_t evicted_pages = 0;  // evict events
    uint64_t refaults = 0;       // faults on evicted pages
    uint64_t ksm_merged_pages = 0;
    std::map<uint32_t, StallTotals> stalls_by_kind;  // PT_STALL_* -> totals

    uint64_t migrations = 0;      // migrate events
    uint64_t migrated_pages = 0;  // pages they moved (a 2 MiB THP is 512)
    std::map<uint32_t, uint64_t> migrations_by_reason;  // PT_MR_* -> events
    uint64_t migrate_batches = 0;
    uint64_t migrate_batch_failed = 0;  // pages the batches failed to move
    uint64_t tlb_flushes = 0;
    std::map<uint32_t, uint64_t> tlb_flushes_by_reason;  // PT_TLB_* -> events

    uint64_t gaps = 0;         // lost-event reports during its lifetime; derived
    uint64_t lost_events = 0;  // events those reports counted (all processes'); derived

    // Conflicts between snapshots and events, resolved and counted here.
    uint64_t present_before_tracing = 0;  // pages the attach snapshot found
    uint64_t present_without_fault = 0;   // pages a later snapshot found with no fault seen
    uint64_t unexplained_frame_changes = 0;  // frame changed with no migration seen
    uint64_t not_present = 0;             // believed resident, a full snapshot disagreed
    uint64_t mapping_conflicts = 0;       // ranges the maps and the events disagree on

    // The top sites by faults (fault_sites.h); nullopt when the builder does
    // not track them (recordings made before build-ids were recorded). Derived.
    std::optional<std::vector<FaultSite>> fault_sites;

    static constexpr size_t kMaxMappedPoints = 200;
};

}  // namespace pagetrace
