// Snapshots of the test's own process: both read methods must find exactly
// the pages it touched, with the frames its own pagemap shows.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "proc/pagemap.h"
#include "proc/snapshot_reader.h"
#include "support/subprocess.h"
#include "util/error.h"

namespace pagetrace {
namespace {

constexpr size_t kPage = 4096;

struct Region {
    char* base = nullptr;
    size_t pages = 0;
    Region(size_t n) : pages(n) {
        base = static_cast<char*>(
            mmap(nullptr, n * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        madvise(base, n * kPage, MADV_NOHUGEPAGE);
    }
    ~Region() { munmap(base, pages * kPage); }
    uint64_t addr(size_t i) const { return reinterpret_cast<uint64_t>(base) + i * kPage; }
};

std::vector<SnapshotPage> pages_in(const PagemapSnapshot& snap, const Region& r) {
    std::vector<SnapshotPage> out;
    for (const auto& p : snap.pages) {
        if (p.vaddr >= r.addr(0) && p.vaddr < r.addr(r.pages)) out.push_back(p);
    }
    return out;
}

TEST(SnapshotReader, FindsExactlyTheTouchedPagesWithEitherMethod) {
    Region r(1024);
    // Every third page touched: many separate runs.
    std::vector<uint64_t> touched;
    for (size_t i = 0; i < r.pages; i += 3) {
        r.base[i * kPage] = 1;
        touched.push_back(r.addr(i));
    }
    std::vector<ScanMethod> methods = {ScanMethod::PlainRead};
    if (pagemap_scan_supported()) methods.push_back(ScanMethod::PagemapScan);
    for (ScanMethod m : methods) {
        SnapshotStats stats;
        const PagemapSnapshot snap = take_snapshot(getpid(), SnapshotKind::Periodic, 1, m, &stats);
        EXPECT_FALSE(snap.partial);
        EXPECT_FALSE(snap.mappings.empty());
        const auto mine = pages_in(snap, r);
        ASSERT_EQ(mine.size(), touched.size()) << "method " << static_cast<int>(m);
        for (size_t k = 0; k < mine.size(); ++k) {
            EXPECT_EQ(mine[k].vaddr, touched[k]);
            EXPECT_TRUE(mine[k].entry.present());
        }
        EXPECT_TRUE(std::is_sorted(snap.pages.begin(), snap.pages.end(),
                                   [](const auto& a, const auto& b) { return a.vaddr < b.vaddr; }));
        if (m == ScanMethod::PagemapScan) {
            // Guided reads touch only the runs, far fewer than every mapped page.
            EXPECT_LT(stats.entries_read, stats.mapped_pages);
            EXPECT_GT(stats.scan_calls, 0u);
        }
    }
}

TEST(SnapshotReader, FramesMatchTheProcessOwnPagemap) {
    if (!pagemap_pfns_visible()) GTEST_SKIP() << "*** PFNs need CAP_SYS_ADMIN: skipped ***";
    Region r(64);
    for (size_t i = 0; i < r.pages; ++i) r.base[i * kPage] = 1;
    const PagemapSnapshot snap = take_snapshot(getpid(), SnapshotKind::Periodic, 1);
    PagemapReader direct(getpid());
    std::vector<PagemapEntry> truth(r.pages);
    ASSERT_EQ(direct.read(r.addr(0) / kPage, r.pages, truth.data()), r.pages);
    const auto mine = pages_in(snap, r);
    ASSERT_EQ(mine.size(), r.pages);
    for (size_t i = 0; i < r.pages; ++i) {
        EXPECT_NE(mine[i].entry.pfn(), 0u);
        EXPECT_EQ(mine[i].entry.pfn(), truth[i].pfn());
    }
}

TEST(SnapshotReader, TargetedSnapshotReadsOnlyTheAskedPages) {
    Region r(32);
    for (size_t i = 0; i < r.pages; ++i) r.base[i * kPage] = 1;
    std::vector<uint64_t> asked = {r.addr(1) / kPage, r.addr(2) / kPage, r.addr(7) / kPage};
    const PagemapSnapshot snap = take_page_snapshot(getpid(), asked, 5);
    EXPECT_EQ(snap.kind, SnapshotKind::Targeted);
    EXPECT_EQ(snap.ts_ns, 5u);
    ASSERT_EQ(snap.pages.size(), 3u);
    EXPECT_EQ(snap.pages[0].vaddr, r.addr(1));
    EXPECT_EQ(snap.pages[2].vaddr, r.addr(7));
}

TEST(SnapshotReader, AGoneProcessIsAClearError) {
    try {
        take_snapshot(test::reaped_pid(), SnapshotKind::Attach, 1);
        FAIL() << "no error for a reaped process";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("gone"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace pagetrace
