// The timeline against a page-by-page reference model: random mmap (fixed),
// munmap, mremap moves, madvise and faults over a small address space, and
// after every step the builder's totals must equal the model's.
#include <gtest/gtest.h>

#include <array>
#include <random>

#include "timeline_story.h"

using namespace pagetrace;
using namespace pagetrace::story;

namespace {

constexpr uint64_t kBase = 0x7f0000000000;
constexpr size_t kPages = 64;

struct ModelPage {
    bool mapped = false;
    bool record = false;  // the builder keeps a record of it
    bool touched = false;
    bool resident = false;
};

struct Model {
    std::array<ModelPage, kPages> pages{};
    uint64_t touched = 0;
    uint64_t resident_peak = 0;

    uint64_t count(bool ModelPage::*field) const {
        uint64_t n = 0;
        for (const ModelPage& p : pages) n += p.*field;
        return n;
    }
    void drop(size_t p) {
        pages[p].record = pages[p].touched = pages[p].resident = false;
    }
};

}  // namespace

TEST(TimelineModel, RandomStreamsAgreeWithAPageModel) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        std::mt19937 rng(seed);
        const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
        Story s(HistoryFilter::range(100, kBase, kBase + kPages * kPage));
        Model m;
        for (int step = 0; step < 400; ++step) {
            const size_t first = pick(kPages);
            const size_t len = 1 + pick(std::min<size_t>(8, kPages - first));
            const uint64_t addr = kBase + first * kPage;
            switch (pick(6)) {
            case 0:  // mmap with MAP_FIXED
                s.mmap(addr, len * kPage, kPrivateAnon | kMapFixed);
                for (size_t p = first; p < first + len; ++p) {
                    m.drop(p);
                    m.pages[p].mapped = true;
                }
                break;
            case 1:
                s.munmap(addr, len * kPage);
                for (size_t p = first; p < first + len; ++p) {
                    m.drop(p);
                    m.pages[p].mapped = false;
                }
                break;
            case 2: {  // mremap move to a range that does not overlap
                const size_t dest = pick(kPages - len + 1);
                if (dest < first + len && first < dest + len) break;
                s.mremap(addr, len * kPage, kBase + dest * kPage, len * kPage,
                         kMremapMaymove | kMremapFixed);
                std::array<ModelPage, kPages> before = m.pages;
                for (size_t i = 0; i < len; ++i) {
                    m.pages[dest + i] = before[first + i];
                    m.pages[first + i] = ModelPage{};
                }
                break;
            }
            case 3:
                s.madvise(addr, len * kPage, kMadvDontneed);
                for (size_t p = first; p < first + len; ++p) m.pages[p].resident = false;
                break;
            default: {  // faults
                ModelPage& p = m.pages[first];
                s.fault(addr);
                p.record = true;
                if (!p.touched) {
                    p.touched = true;
                    ++m.touched;
                }
                p.resident = true;
                m.resident_peak = std::max(m.resident_peak, m.count(&ModelPage::resident));
                break;
            }
            }
            const ProcessSummary sum = s.summary();
            ASSERT_EQ(sum.mapped_bytes_final, m.count(&ModelPage::mapped) * kPage) << seed << "/" << step;
            ASSERT_EQ(sum.resident_pages_final, m.count(&ModelPage::resident)) << seed << "/" << step;
            ASSERT_EQ(sum.pages_touched, m.touched) << seed << "/" << step;
            ASSERT_EQ(sum.resident_pages_peak, m.resident_peak) << seed << "/" << step;
            ASSERT_EQ(s.timeline.stats().tracked_pages, m.count(&ModelPage::record)) << seed << "/" << step;
        }
        // Every page's history is in time order and never says a page is
        // unmapped twice in a row.
        for (const PageHistory& h : s.timeline.page_histories()) {
            for (size_t i = 1; i < h.events.size(); ++i) {
                ASSERT_LE(h.events[i - 1].ts_ns, h.events[i].ts_ns);
                ASSERT_FALSE(h.events[i - 1].kind() == PageEventKind::Unmapped &&
                             h.events[i].kind() == PageEventKind::Unmapped);
            }
        }
        s.exit();
        EXPECT_EQ(s.timeline.stats().tracked_pages, 0u);
        EXPECT_EQ(s.summary().resident_pages_final, 0u);
    }
}
