#include "trace/frame_tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

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
      on_targeted_(std::move(on_targeted)) {}

FrameTracker::~FrameTracker() = default;

void FrameTracker::on_event(const Event& event, std::span<const std::byte>) {
    const auto pid = static_cast<pid_t>(event.pid);
    if (const auto* d = std::get_if<FaultData>(&event.data)) {
        const uint64_t now = now_ns_();
        if (pending_.empty() || now - pending_.back().arrived_ns > kBatchWindowNs) {
            pending_.push_back(PendingBatch{now, {}});
        }
        pending_.back().pages[pid].push_back(pages_.vpn(d->addr));
    } else if (const auto* d = std::get_if<MunmapData>(&event.data)) {
        if (!d->err) forget_range(pid, d->addr, d->len);
    } else if (const auto* d = std::get_if<MadviseData>(&event.data)) {
        if (!d->err && kernel::madvise_discards(d->advice)) forget_range(pid, d->addr, d->len);
    } else if (const auto* d = std::get_if<MremapData>(&event.data)) {
        if (!d->err) move_range(pid, d->old_addr, d->old_len, d->new_addr, d->new_len);
    } else if (const auto* d = std::get_if<MmapData>(&event.data)) {
        // MAP_FIXED over existing pages replaces them.
        if (!d->err && (d->flags & kernel::kMapFixed)) forget_range(pid, d->addr, d->len);
    } else if (std::holds_alternative<ExecData>(event.data) ||
               std::holds_alternative<ExitData>(event.data)) {
        forget_process(pid);
    } else if (const auto* d = std::get_if<MigrateData>(&event.data)) {
        // The kernel side already moved its entry; follow it here.
        auto it = frames_.find(pid);
        if (it != frames_.end() && d->new_pfn) it->second.set(pages_.vpn(d->addr), d->new_pfn);
        retiring_.claim(d->new_pfn);
    }
}

void FrameTracker::index_one(pid_t pid, uint64_t page, uint64_t pfn) {
    const uint64_t old = frames_[pid].set(page, pfn);
    if (old == pfn) return;
    if (old) drop_frame(old);
    add_pfns_.push_back(pfn);
    add_owners_.push_back(pt_frame_owner{static_cast<uint32_t>(pid), 0, pages_.addr(page)});
}

void FrameTracker::index_pages(pid_t pid, uint64_t first_page,
                               std::span<const PagemapEntry> entries) {
    for (size_t i = 0; i < entries.size(); ++i) {
        const uint64_t pfn = entries[i].pfn();
        if (!pfn) {
            ++stats_.not_present;
            continue;
        }
        index_one(pid, first_page + i, pfn);
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
        std::sort(pages.begin(), pages.end());
        pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
        stats_.lookups += pages.size();
        PagemapSnapshot snap;
        snap.pid = static_cast<uint32_t>(pid);
        snap.ts_ns = now_ns;
        snap.kind = SnapshotKind::Targeted;
        snap.pfns_visible = pagemaps_.pfns_visible();
        // Contiguous runs of pages are read with one pread each.
        for (size_t i = 0; i < pages.size();) {
            size_t j = i + 1;
            while (j < pages.size() && pages[j] == pages[j - 1] + 1) ++j;
            entries.resize(j - i);
            const size_t got = pagemaps_.read(pid, pages[i], entries.size(), entries.data());
            if (got < entries.size()) snap.partial = true;
            index_pages(pid, pages[i], std::span(entries.data(), got));
            if (on_targeted_) {
                for (size_t k = 0; k < got; ++k) {
                    if (entries[k].present() || entries[k].swapped()) {
                        snap.pages.push_back(SnapshotPage{pages_.addr(pages[i] + k), entries[k]});
                    }
                }
            }
            i = j;
        }
        resolved += pages.size();
        snap.ts_ns = now_ns_();  // the read has finished
        if (on_targeted_ && !snap.pages.empty()) on_targeted_(std::move(snap));
    }
    flush_index_updates();
    if (resolved) {
        spdlog::debug("frame index: looked up {} faulted pages; {} pages indexed", resolved,
                      stats().pages_indexed);
    }
}

void FrameTracker::on_snapshot(const PagemapSnapshot& snap) {
    if (snap.kind == SnapshotKind::Targeted) return;  // made here, already indexed
    const auto pid = static_cast<pid_t>(snap.pid);
    for (const SnapshotPage& p : snap.pages) {
        if (const uint64_t pfn = p.entry.pfn()) index_one(pid, pages_.vpn(p.vaddr), pfn);
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
