#include "trace/frame_tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "proc/huge_pages.h"
#include "util/sort_unique.h"

namespace pagetrace {

namespace {

// Faults arriving within this window share one batch (and one arrival time).
constexpr uint64_t kBatchWindowNs = 10'000'000;

}  // namespace

FrameTracker::FrameTracker(FrameIndex* index, PagemapPages& pagemaps, kernel::PageGeometry pages,
                           uint64_t (*now_ns)(), TargetedHandler on_targeted)
    : index_(index),
      pagemaps_(pagemaps),
      pages_(pages),
      now_ns_(now_ns),
      arrival_ns_(now_ns),
      on_targeted_(std::move(on_targeted)) {}

FrameTracker::~FrameTracker() = default;

void FrameTracker::on_event(const Event& event, std::span<const std::byte>) {
    const auto pid = static_cast<pid_t>(event.pid);
    if (const auto* d = std::get_if<FaultData>(&event.data)) {
        look_up(pid, pages_.vpn(d->addr), 1);
    } else if (const auto* d = std::get_if<FaultAroundData>(&event.data)) {
        // The pages it mapped (if they were cached): looked up like faulted ones.
        look_up(pid, pages_.vpn(d->addr), pages_.pages_in(d->addr, d->len));
    } else if (const auto* d = std::get_if<MunmapData>(&event.data)) {
        if (!d->err) forget_range(pid, d->addr, d->len);
    } else if (const auto* d = std::get_if<MadviseData>(&event.data)) {
        if (d->err) return;
        if (kernel::madvise_discards(d->advice)) forget_range(pid, d->addr, d->len);
        if (d->advice == kernel::kMadvPopulateRead || d->advice == kernel::kMadvPopulateWrite) {
            look_up(pid, pages_.vpn(d->addr), pages_.pages_in(d->addr, d->len));
        }
    } else if (const auto* d = std::get_if<MremapData>(&event.data)) {
        if (!d->err) move_range(pid, d->old_addr, d->old_len, d->new_addr, d->new_len);
    } else if (const auto* d = std::get_if<MmapData>(&event.data)) {
        if (d->err) return;
        // MAP_FIXED over existing pages replaces them.
        if (d->flags & kernel::kMapFixed) forget_range(pid, d->addr, d->len);
        // MAP_POPULATE faulted every page in without an exception.
        if (d->flags & kernel::kMapPopulate) {
            look_up(pid, pages_.vpn(d->addr), pages_.pages_in(d->addr, d->len));
        }
    } else if (std::holds_alternative<ExecData>(event.data) ||
               std::holds_alternative<ExitData>(event.data)) {
        forget_process(pid);
    } else if (const auto* d = std::get_if<SwapOutData>(&event.data)) {
        // The frame is free again; a lookup tells the swap slot (or the new
        // frame, if the page came back meanwhile).
        forget_frame(pid, d->addr, d->pfn);
        look_up(pid, pages_.vpn(d->addr), 1);
    } else if (const auto* d = std::get_if<EvictData>(&event.data)) {
        forget_frame(pid, d->addr, d->pfn);
    } else if (const auto* d = std::get_if<KsmMergeData>(&event.data)) {
        // The page left its frame for the shared KSM one, whose index entry
        // (if any) stays its first owner's.
        auto it = frames_.find(pid);
        const uint64_t old = it != frames_.end() ? it->second.get(pages_.vpn(d->addr)) : 0;
        if (old && old != d->new_pfn) forget_frame(pid, d->addr, old);
    } else if (const auto* d = std::get_if<CollapseData>(&event.data)) {
        // New frames for the whole range: looked up like faulted pages.
        if (d->addr && d->pages) look_up(pid, pages_.vpn(d->addr), d->pages);
    } else if (const auto* d = std::get_if<MigrateData>(&event.data)) {
        // The kernel side already moved its entry; follow it here.
        auto it = frames_.find(pid);
        if (it != frames_.end() && d->new_pfn) it->second.set(pages_.vpn(d->addr), d->new_pfn);
        retiring_.claim(d->new_pfn);
    }
}

void FrameTracker::look_up(pid_t pid, uint64_t first_page, uint64_t count) {
    // Batches of kBatchWindowNs share one arrival time.
    const uint64_t now = arrival_ns_();
    if (pending_.empty() || now - pending_.back().arrived_ns > kBatchWindowNs) {
        pending_.push_back(PendingBatch{now, {}});
    }
    auto& pages = pending_.back().pages[pid];
    count = std::min<uint64_t>(count, kMaxLookupPages);
    for (uint64_t i = 0; i < count; ++i) pages.push_back(first_page + i);
}

void FrameTracker::index_one(pid_t pid, uint64_t page, const PagemapEntry& entry) {
    const uint64_t pfn = entry.pfn();
    const uint64_t old = frames_[pid].set(page, pfn);
    if (old == pfn) return;
    if (old) drop_frame(old);
    // A page only this process maps: the kernel side finds it by its reverse map.
    if (index_ && index_->finds_private_pages() && entry.exclusive() &&
        !entry.file_or_shared_anon()) {
        ++stats_.left_to_rmap;
        return;
    }
    add_pfns_.push_back(pfn);
    add_owners_.push_back(pt_frame_owner{static_cast<uint32_t>(pid), 0, pages_.addr(page)});
}

void FrameTracker::index_pages(pid_t pid, uint64_t first_page,
                               std::span<const PagemapEntry> entries) {
    for (size_t i = 0; i < entries.size(); ++i) {
        if (!entries[i].pfn()) {
            ++stats_.not_present;
            continue;
        }
        index_one(pid, first_page + i, entries[i]);
    }
}

void FrameTracker::resolve_pending(uint64_t now_ns, bool everything) {
    // At most every kResolveIntervalNs: fewer, larger targeted snapshots.
    if (!everything && now_ns - last_resolve_ns_ < kResolveIntervalNs) return;
    last_resolve_ns_ = now_ns;
    std::map<pid_t, std::vector<uint64_t>> due;
    while (!pending_.empty() &&
           (everything || now_ns - pending_.front().arrived_ns >= kSettleNs)) {
        for (auto& [pid, pages] : pending_.front().pages) {
            auto& into = due[pid];
            into.insert(into.end(), pages.begin(), pages.end());
        }
        pending_.pop_front();
    }
    std::vector<PagemapEntry> entries;
    size_t resolved = 0;
    for (auto& [pid, pages] : due) {
        sort_unique(pages);
        stats_.lookups += pages.size();
        PagemapSnapshot snap;
        snap.pid = static_cast<uint32_t>(pid);
        snap.ts_ns = now_ns;
        snap.kind = SnapshotKind::Targeted;
        snap.pfns_visible = pagemaps_.pfns_visible();
        snap.pages.reserve(pages.size());  // one allocation, not one per doubling
        // Contiguous runs of pages are read with one pread each.
        for (size_t i = 0; i < pages.size();) {
            size_t j = i + 1;
            while (j < pages.size() && pages[j] == pages[j - 1] + 1) ++j;
            entries.resize(j - i);
            const size_t got = pagemaps_.read(pid, pages[i], entries.size(), entries.data());
            if (got < entries.size()) snap.partial = true;
            index_pages(pid, pages[i], std::span(entries.data(), got));
            for (size_t k = 0; k < got; ++k) {
                if (entries[k].present() || entries[k].swapped()) {
                    snap.pages.push_back(SnapshotPage{pages_.addr(pages[i] + k), entries[k]});
                }
            }
            i = j;
        }
        resolved += pages.size();
        if (snap.pfns_visible) {
            snap.zero_pfn = pagemaps_.zero_pfn();
            add_huge_pages(pid, snap);
        }
        snap.ts_ns = now_ns_();  // the read has finished
        if (on_targeted_ && !snap.pages.empty()) on_targeted_(std::move(snap));
    }
    flush_index_updates();
    if (resolved) {
        spdlog::debug("frame index: looked up {} faulted pages; {} pages indexed ({} private "
                      "ones found by reverse map so far)",
                      resolved, stats().pages_indexed, stats_.left_to_rmap);
    }
}

void FrameTracker::add_huge_pages(pid_t pid, PagemapSnapshot& snap) {
    const uint32_t order = pmd_order(pages_);
    const uint64_t block = uint64_t{1} << order;
    // One frame of each block that has a present page: is it part of a huge page?
    std::vector<SnapshotPage> whole;
    std::vector<PagemapEntry> entries;
    uint64_t last_block = ~uint64_t{0};
    for (const SnapshotPage& page : snap.pages) {
        const uint64_t b = pages_.vpn(page.vaddr) >> order;
        const uint64_t pfn = page.entry.pfn();
        if (b == last_block || !pfn) continue;
        last_block = b;
        uint64_t flags = 0;
        if (pagemaps_.read_frame_flags(pfn, 1, &flags) != 1 || !is_huge_frame(flags)) continue;
        entries.resize(block);
        const size_t got = pagemaps_.read(pid, b << order, block, entries.data());
        index_pages(pid, b << order, std::span(entries.data(), got));
        for (size_t k = 0; k < got; ++k) {
            if (entries[k].present()) whole.push_back({pages_.addr((b << order) + k), entries[k]});
        }
    }
    if (whole.empty()) return;
    // The blocks read whole replace what was looked up of them.
    std::vector<SnapshotPage> merged;
    merged.reserve(snap.pages.size() + whole.size());
    std::merge(whole.begin(), whole.end(), snap.pages.begin(), snap.pages.end(),
               std::back_inserter(merged),
               [](const SnapshotPage& a, const SnapshotPage& b) { return a.vaddr < b.vaddr; });
    merged.erase(std::unique(merged.begin(), merged.end(),
                             [](const SnapshotPage& a, const SnapshotPage& b) {
                                 return a.vaddr == b.vaddr;
                             }),
                 merged.end());
    snap.pages = std::move(merged);
    snap.huge_pages = find_huge_pages(snap.pages, pages_, [&](uint64_t pfn, size_t n, uint64_t* out) {
        return pagemaps_.read_frame_flags(pfn, n, out);
    });
}

void FrameTracker::on_snapshot(const PagemapSnapshot& snap) {
    if (snap.kind == SnapshotKind::Targeted) return;  // made here, already indexed
    const auto pid = static_cast<pid_t>(snap.pid);
    for (const SnapshotPage& p : snap.pages) {
        if (p.entry.pfn()) index_one(pid, pages_.vpn(p.vaddr), p.entry);
    }
    flush_index_updates();
}

void FrameTracker::drop_frame(uint64_t pfn) { retiring_.drop(pfn, now_ns_()); }

void FrameTracker::forget_range(pid_t pid, uint64_t start, uint64_t len) {
    auto it = frames_.find(pid);
    if (it == frames_.end()) return;
    it->second.erase_range(pages_.vpn(start), pages_.vpn(start + len + pages_.mask()),
                           [&](uint64_t, uint64_t pfn) { drop_frame(pfn); });
    // Faults still queued for the range need no scrubbing: when they are
    // looked up, pagemap says the page is gone. (Scrubbing here made a
    // workload that discards pages one madvise at a time quadratic.)
    flush_index_updates();
}

void FrameTracker::forget_frame(pid_t pid, uint64_t addr, uint64_t pfn) {
    auto it = frames_.find(pid);
    if (it == frames_.end() || it->second.get(pages_.vpn(addr)) != pfn) return;
    forget_range(pid, pages_.down(addr), pages_.size());
}

void FrameTracker::move_range(pid_t pid, uint64_t old_addr, uint64_t old_len, uint64_t new_addr,
                              uint64_t new_len) {
    auto it = frames_.find(pid);
    if (it == frames_.end() || old_addr == new_addr) {
        // Shrinking in place drops the tail.
        if (new_len < old_len) forget_range(pid, old_addr + new_len, old_len - new_len);
        return;
    }
    PageFrameMap& frames = it->second;
    const uint64_t first = pages_.vpn(old_addr);
    const uint64_t last = pages_.vpn(old_addr + old_len + pages_.mask());
    const uint64_t keep = pages_.vpn(new_len + pages_.mask());
    std::vector<std::pair<uint64_t, uint64_t>> moved;
    frames.erase_range(first, last, [&](uint64_t page, uint64_t pfn) {
        if (page - first < keep) {
            moved.emplace_back(page - first + pages_.vpn(new_addr), pfn);
        } else {
            drop_frame(pfn);
        }
    });
    for (const auto& [page, pfn] : moved) {
        frames.set(page, pfn);
        add_pfns_.push_back(pfn);
        add_owners_.push_back(pt_frame_owner{static_cast<uint32_t>(pid), 0, pages_.addr(page)});
    }
    flush_index_updates();
}

void FrameTracker::forget_process(pid_t pid) {
    auto it = frames_.find(pid);
    if (it != frames_.end()) {
        it->second.for_each([&](uint64_t, uint64_t pfn) { drop_frame(pfn); });
        frames_.erase(it);
    }
    pagemaps_.forget(pid);  // an exec'd process needs a fresh pagemap
    for (auto& batch : pending_) batch.pages.erase(pid);
    flush_index_updates();
}

void FrameTracker::flush_index_updates() {
    if (!index_) {
        retiring_.clear();
        add_pfns_.clear();
        add_owners_.clear();
        return;
    }
    for (uint64_t pfn : add_pfns_) retiring_.claim(pfn);
    if (retiring_.queued()) {
        std::vector<uint64_t> due;
        retiring_.take_due(now_ns_(), due);
        if (!due.empty()) index_->remove(due);
    }
    if (!add_pfns_.empty()) {
        const size_t stored = index_->store(add_pfns_, add_owners_);
        if (stored < add_pfns_.size()) {
            if (stats_.index_full == 0) {
                spdlog::warn("the frame index is full ({} frames): migrations of further pages "
                             "cannot be attributed (raise --max-frames)",
                             index_->capacity());
            }
            stats_.index_full += add_pfns_.size() - stored;
        }
        add_pfns_.clear();
        add_owners_.clear();
    }
}

FrameTrackerStats FrameTracker::stats() const {
    FrameTrackerStats s = stats_;
    s.pages_indexed = 0;
    for (const auto& [pid, frames] : frames_) s.pages_indexed += frames.size();
    return s;
}

}  // namespace pagetrace
