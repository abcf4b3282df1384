// The timeline at scale: the heap it takes per tracked page stays small (the
// compact table, no histories), and a stream of millions of events goes
// through in one pass. The heap is measured, not estimated: glibc's own count
// of bytes in use (mallinfo2: chunk headers included) before and after.
// No timing assertions: the numbers are printed for the record.
#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <optional>

#include "timeline_story.h"

using namespace pagetrace;
using namespace pagetrace::story;

#if defined(__SANITIZE_ADDRESS__)
#define PAGETRACE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PAGETRACE_TEST_ASAN 1
#endif
#endif

namespace {

constexpr uint64_t kBase = 0x7f0000000000;

// Heap bytes in use as glibc counts them: the arenas' allocated chunks and the
// chunks it mmapped. Under AddressSanitizer allocations bypass glibc's heap, so
// there is nothing to measure (nullopt).
std::optional<uint64_t> heap_in_use() {
#ifdef PAGETRACE_TEST_ASAN
    return std::nullopt;
#else
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#endif
}

// Heap bytes per page taken since `before`, if the heap can be measured.
std::optional<double> heap_per_page(std::optional<uint64_t> before, uint64_t pages) {
    const std::optional<uint64_t> now = heap_in_use();
    if (!before || !now) return std::nullopt;
    return static_cast<double>(*now - *before) / static_cast<double>(pages);
}

constexpr const char* kNotMeasured =
    "heap per page not measured: under AddressSanitizer, mallinfo2() does not see the heap";

// One reusable fault event: building a million Events should not be what the
// test measures.
struct FaultFeed {
    TimelineBuilder& timeline;
    Event event;

    explicit FaultFeed(TimelineBuilder& t) : timeline(t) {
        event.type = EventType::Fault;
        event.pid = 100;
        event.tid = 100;
        event.comm = "scale";
        FaultData d;
        d.access = Access::Write;
        d.outcome = FaultOutcome::Minor;
        d.latency_ns = 700;
        event.data = d;
    }
    void fault(uint64_t ts, uint64_t addr) {
        event.ts_ns = ts;
        std::get<FaultData>(event.data).addr = addr;
        timeline.add(event);
    }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST(TimelineScale, HeapPerPageStaysSmallForAMillionTouchedPages) {
    constexpr uint64_t kPages = 1'000'000;
    const std::optional<uint64_t> before = heap_in_use();
    TimelineBuilder timeline;
    {
        Event mmap;
        mmap.type = EventType::Mmap;
        mmap.ts_ns = 1;
        mmap.pid = 100;
        mmap.tid = 100;
        MmapData d;
        d.addr = kBase;
        d.len = kPages * kPage;
        d.prot = kProtRw;
        d.flags = kPrivateAnon;
        mmap.data = d;
        timeline.add(mmap);
    }
    const auto start = std::chrono::steady_clock::now();
    FaultFeed feed(timeline);
    for (uint64_t i = 0; i < kPages; ++i) feed.fault(10 + i, kBase + i * kPage);
    const double took = seconds_since(start);
    const std::optional<double> per_page = heap_per_page(before, kPages);

    const TimelineStats stats = timeline.stats();
    EXPECT_EQ(stats.tracked_pages, kPages);
    EXPECT_EQ(stats.tracked_pages_peak, kPages);
    const ProcessSummary sum = timeline.summaries().at(0);
    EXPECT_EQ(sum.pages_touched, kPages);
    EXPECT_EQ(sum.resident_pages_peak, kPages);
    EXPECT_EQ(sum.first_touch_after_mmap_ns.count, kPages);
    EXPECT_EQ(sum.untouched_bytes, 0u);
    // 17.5 bytes per page on glibc x86-64 (agent/timeline/README.md): the
    // 16-byte records, in chunks of 64 with their map node.
    if (per_page) {
        EXPECT_GE(*per_page, 16.0);
        EXPECT_LE(*per_page, 18.0);
        std::printf("[ dense    ] %llu pages: %.2f heap bytes/page (the -v estimate says %.1f), "
                    "%.3f s to add the faults\n",
                    static_cast<unsigned long long>(kPages), *per_page, stats.bytes_per_page, took);
    } else {
        std::printf("[ dense    ] %s; %.3f s to add the faults\n", kNotMeasured, took);
    }
}

TEST(TimelineScale, HeapPerPageIsBoundedForScatteredPages) {
    // The worst case of the chunked table: one page in every 64.
    constexpr uint64_t kPages = 100'000;
    const std::optional<uint64_t> before = heap_in_use();
    TimelineBuilder timeline;
    FaultFeed feed(timeline);
    for (uint64_t i = 0; i < kPages; ++i) feed.fault(10 + i, kBase + i * 64 * kPage);
    const std::optional<double> per_page = heap_per_page(before, kPages);
    EXPECT_EQ(timeline.stats().tracked_pages, kPages);
    // 112 bytes per page on glibc x86-64: a map node and a one-record vector each.
    if (per_page) {
        EXPECT_LE(*per_page, 128.0);
        std::printf("[ scattered] %llu pages, one per 64: %.1f heap bytes/page\n",
                    static_cast<unsigned long long>(kPages), *per_page);
    } else {
        std::printf("[ scattered] %s\n", kNotMeasured);
    }
}

TEST(TimelineScale, TwoMillionEventsInOneStreamingPass) {
    // A process that keeps mapping 256-page buffers, touching them, discarding
    // some, migrating some, and unmapping them; with a history filter on one
    // buffer address, as `timeline --addr` would run.
    TimelineBuilder timeline(HistoryFilter::range(100, kBase, kBase + 4 * kPage));
    Event e;
    e.pid = 100;
    e.tid = 100;
    e.comm = "stream";
    uint64_t ts = 1'000;
    uint64_t events = 0;
    const auto add = [&](EventType type, EventData data) {
        e.type = type;
        e.ts_ns = ts += 100;
        e.data = std::move(data);
        timeline.add(e);
        ++events;
    };
    constexpr uint64_t kBufferPages = 256;
    const auto start = std::chrono::steady_clock::now();
    uint64_t rounds = 0;
    while (events < 2'000'000) {
        const uint64_t base = kBase + (rounds % 8) * kBufferPages * kPage;
        MmapData m;
        m.addr = base;
        m.len = kBufferPages * kPage;
        m.prot = kProtRw;
        m.flags = kPrivateAnon;
        add(EventType::Mmap, m);
        for (uint64_t p = 0; p < kBufferPages; ++p) {
            FaultData f;
            f.addr = base + p * kPage;
            f.access = Access::Write;
            f.outcome = p % 50 == 0 ? FaultOutcome::Major : FaultOutcome::Minor;
            f.latency_ns = 600;
            add(EventType::Fault, f);
        }
        add(EventType::Madvise, MadviseData{base, 16 * kPage, kMadvDontneed, 0});
        for (uint64_t p = 0; p < 4; ++p) {
            MigrateData mig;
            mig.addr = base + (100 + p) * kPage;
            mig.old_pfn = 1000 + p;
            mig.new_pfn = 2000 + p;
            add(EventType::Migrate, mig);
        }
        if (rounds % 100 == 0) add(EventType::Lost, LostData{3});
        add(EventType::Munmap, MunmapData{base, kBufferPages * kPage, 0});
        ++rounds;
    }
    const double took = seconds_since(start);
    const TimelineStats stats = timeline.stats();
    const ProcessSummary sum = timeline.summaries().at(0);
    EXPECT_EQ(stats.events, events);
    EXPECT_EQ(sum.pages_touched, rounds * kBufferPages);
    EXPECT_EQ(sum.faults.total, rounds * kBufferPages);
    EXPECT_EQ(sum.discarded_pages, rounds * 16);
    EXPECT_EQ(sum.migrations, rounds * 4);
    EXPECT_EQ(sum.resident_pages_peak, kBufferPages);
    EXPECT_EQ(sum.mapped_bytes_final, 0u);
    EXPECT_LE(sum.mapped_bytes.size(), ProcessSummary::kMaxMappedPoints);
    // Everything was unmapped: no page record is left, however long the stream.
    EXPECT_EQ(stats.tracked_pages, 0u);
    EXPECT_EQ(stats.tracked_pages_peak, kBufferPages);
    EXPECT_EQ(stats.history_pages, 4u);
    std::printf("[ stream   ] %llu events, %llu rounds: %.3f s\n",
                static_cast<unsigned long long>(events), static_cast<unsigned long long>(rounds), took);
}
