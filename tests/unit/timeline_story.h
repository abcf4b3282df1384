// Synthetic event streams for timeline tests, written like stories (after
// falco's add_event_advance_ts): each call adds one event for the current
// process at the current time, then moves the clock on by `step`. Every event
// goes the way of a real one: encoded as a raw record of the event ABI, through
// a MemorySource and the pipeline (one decode), into the timeline's sink.
//
//   Story s(HistoryFilter::page(100, kA));
//   s.mmap(kA, 4 * kPage);
//   s.fault(kA);
//   s.munmap(kA, 4 * kPage);
//   EXPECT_EQ(s.whats(kA), "mapped first_touch unmapped");
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "decode/event.h"
#include "pagetrace/events.h"
#include "pipeline/memory_source.h"
#include "pipeline/pipeline.h"
#include "proc/snapshot.h"
#include "timeline/timeline_builder.h"
#include "timeline/timeline_sink.h"

namespace pagetrace::story {

inline constexpr uint64_t kPage = 4096;
inline constexpr uint32_t kProtRw = 0x3;
inline constexpr uint32_t kPrivateAnon = 0x22;  // MAP_PRIVATE | MAP_ANONYMOUS
inline constexpr uint32_t kMapFixed = 0x10;
inline constexpr uint32_t kMremapMaymove = 1;
inline constexpr uint32_t kMremapFixed = 2;
inline constexpr uint32_t kMremapDontunmap = 4;
inline constexpr int32_t kMadvDontneed = 4;
inline constexpr int32_t kMadvFree = 8;

class Story {
public:
    explicit Story(HistoryFilter filter = HistoryFilter::none(), kernel::PageGeometry geometry = {})
        : timeline(filter, geometry), source_(0, geometry), pipeline_(source_) {
        pipeline_.add(sink_);
    }

    TimelineBuilder timeline;
    uint64_t now = 1'000'000'000;  // ns
    uint64_t step = 1'000;
    uint32_t pid = 100;
    std::string comm = "story";

    // Moves the clock.
    Story& at(uint64_t ts) {
        now = ts;
        return *this;
    }
    Story& wait(uint64_t ns) {
        now += ns;
        return *this;
    }

    void mmap(uint64_t addr, uint64_t len, uint32_t flags = kPrivateAnon, uint32_t prot = kProtRw,
              int32_t err = 0) {
        MmapData d;
        d.addr = addr;
        d.len = len;
        d.flags = flags;
        d.prot = prot;
        d.err = err;
        add(EventType::Mmap, d);
    }
    void munmap(uint64_t addr, uint64_t len) { add(EventType::Munmap, MunmapData{addr, len, 0}); }
    void mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len,
                uint32_t flags = kMremapMaymove) {
        add(EventType::Mremap, MremapData{old_addr, old_len, new_addr, new_len, flags, 0});
    }
    void brk(uint64_t ret, uint64_t requested = 0) { add(EventType::Brk, BrkData{requested, ret}); }
    void madvise(uint64_t addr, uint64_t len, int32_t advice = kMadvDontneed) {
        add(EventType::Madvise, MadviseData{addr, len, advice, 0});
    }
    void fault(uint64_t addr, Access access = Access::Write,
               FaultOutcome outcome = FaultOutcome::Minor, uint64_t latency_ns = 500) {
        FaultData d;
        d.addr = addr;
        d.ip = 0x401000;
        d.access = access;
        d.outcome = outcome;
        d.latency_ns = latency_ns;
        add(EventType::Fault, d);
    }
    void tlb_flush(uint64_t start, uint64_t end, uint32_t reason = PT_TLB_REMOTE_SHOOTDOWN,
                   uint64_t pages = 1) {
        add(EventType::TlbFlush, TlbFlushData{pages, start, end, reason}, /*tid=*/0);
    }
    void migrate(uint64_t addr, uint64_t old_pfn, uint64_t new_pfn,
                 uint32_t reason = PT_MR_COMPACTION, uint32_t order = 0) {
        MigrateData d;
        d.addr = addr;
        d.old_pfn = old_pfn;
        d.new_pfn = new_pfn;
        d.order = order;
        d.reason = reason;
        d.mode = PT_MIGRATE_ASYNC;
        d.by_pid = 45;
        d.by_comm = "kcompactd0";
        add(EventType::Migrate, d, /*tid=*/0);
    }
    void fork(uint32_t child_pid, uint64_t child_start_ns) {
        add(EventType::Fork, ForkData{child_pid, child_start_ns});
    }
    void exec(const std::string& filename) { add(EventType::Exec, ExecData{filename}); }
    // An exec with the kernel's fault counters at that moment (event ABI 3).
    void add_exec(const std::string& filename, uint64_t min_flt, uint64_t maj_flt) {
        add(EventType::Exec, ExecData{filename, min_flt, maj_flt});
    }
    void exit(uint32_t status = 0, uint64_t start_ns = 0) {
        add(EventType::Exit, ExitData{status, start_ns});
    }
    // An exit with the kernel's fault counters (event ABI 3).
    void exit_counted(uint64_t min_flt, uint64_t maj_flt, uint32_t status = 0,
                      uint64_t start_ns = 0) {
        add(EventType::Exit, ExitData{status, start_ns, min_flt, maj_flt});
    }
    void fault_around(uint64_t addr, uint64_t len, uint64_t fault_addr) {
        add(EventType::FaultAround, FaultAroundData{addr, len, fault_addr, 1234, 8u << 20});
    }
    void lost(uint64_t count, uint32_t cpu = 0) {
        Event e;
        e.type = EventType::Lost;
        e.ts_ns = now;
        e.cpu = cpu;
        e.data = LostData{count};
        feed(e);
        now += step;
    }

    // A snapshot of the current process; pages are (address, pfn), pfn 0 for
    // present with an invisible frame.
    void snapshot(SnapshotKind kind, const std::vector<std::pair<uint64_t, uint64_t>>& pages,
                  const std::vector<std::pair<uint64_t, uint64_t>>& mappings = {},
                  bool pfns_visible = true) {
        snapshot_with(kind, pages, mappings, pfns_visible, [](PagemapSnapshot&) {});
    }
    // The same, changed by `edit` before it goes (huge pages, the zero page, paths).
    template <typename Edit>
    void snapshot_with(SnapshotKind kind, const std::vector<std::pair<uint64_t, uint64_t>>& pages,
                       const std::vector<std::pair<uint64_t, uint64_t>>& mappings,
                       bool pfns_visible, Edit&& edit) {
        PagemapSnapshot snap;
        snap.pid = pid;
        snap.ts_ns = now;
        snap.kind = kind;
        snap.pfns_visible = pfns_visible;
        for (const auto& [start, end] : mappings) {
            Mapping m;
            m.start = start;
            m.end = end;
            m.perms = "rw-p";
            snap.mappings.push_back(m);
        }
        for (const auto& [addr, pfn] : pages) {
            SnapshotPage page;
            page.vaddr = addr;
            page.entry.raw = (uint64_t{1} << 63) | pfn;
            snap.pages.push_back(page);
        }
        edit(snap);
        source_.add_snapshot(std::move(snap));
        pipeline_.step();
        now += step;
    }

    // The kept history of the page at addr (of the latest instance of pid that has one).
    std::optional<PageHistory> history(uint64_t addr, std::optional<uint32_t> of_pid = {}) const {
        std::optional<PageHistory> found;
        for (PageHistory& h : timeline.page_histories()) {
            if (h.addr == addr && h.pid == of_pid.value_or(pid)) found = std::move(h);
        }
        return found;
    }
    // Its entries' names, space-separated ("" if there is no history).
    std::string whats(uint64_t addr, std::optional<uint32_t> of_pid = {}) const {
        std::string out;
        if (auto h = history(addr, of_pid)) {
            for (const PageEvent& e : h->events) {
                if (!out.empty()) out += ' ';
                out += page_event_kind_name(e.kind());
            }
        }
        return out;
    }
    // The summary of the n-th instance (0-based) of pid, or the last one.
    ProcessSummary summary(std::optional<size_t> instance = {}, std::optional<uint32_t> of_pid = {}) const {
        std::vector<ProcessSummary> mine;
        for (ProcessSummary& s : timeline.summaries()) {
            if (s.pid == of_pid.value_or(pid)) mine.push_back(std::move(s));
        }
        if (mine.empty()) return {};
        return instance ? mine.at(*instance) : mine.back();
    }

private:
    template <typename Data>
    void add(EventType type, Data data, std::optional<uint32_t> tid = {}) {
        Event e;
        e.type = type;
        e.ts_ns = now;
        e.pid = pid;
        e.tid = tid.value_or(pid);
        e.comm = comm;
        e.data = std::move(data);
        feed(e);
        now += step;
    }
    // Through encoding, the memory source, the decoder and the sink.
    void feed(const Event& e) {
        source_.add_event(e);
        pipeline_.step();
        EXPECT_EQ(pipeline_.stats().undecodable_records(), 0u) << "a story event did not decode";
    }

    MemorySource source_;
    TimelineSink sink_{timeline};
    Pipeline pipeline_;
};

}  // namespace pagetrace::story
