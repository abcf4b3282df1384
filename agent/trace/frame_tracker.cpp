#include "trace/frame_tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "bpf/tracer.h"
#include "proc/maps.h"
#include "proc/snapshot_reader.h"
#include "util/error.h"

namespace pagetrace {

namespace {

constexpr uint64_t kPageShift = 12;
constexpr uint64_t kPageSize = 1ull << kPageShift;

// madvise advice values after which the range's pages no longer hold their frames.
bool advice_drops_pages(int32_t advice) {
    switch (advice) {
    case 4:   // MADV_DONTNEED
    case 8:   // MADV_FREE
    case 9:   // MADV_REMOVE
    case 21:  // MADV_PAGEOUT
    case 24:  // MADV_DONTNEED_LOCKED
        return true;
    }
    return false;
}

template <typename Record>
bool read_record(std::span<const std::byte> bytes, Record& rec) {
    if (bytes.size() < sizeof(Record)) return false;
    std::memcpy(&rec, bytes.data(), sizeof(Record));
    return true;
}

}  // namespace

FrameTracker::FrameTracker(Tracer& tracer, uint64_t (*now_ns)(), bool index_in_bpf,
                           SnapshotHandler on_targeted)
    : tracer_(tracer),
      now_ns_(now_ns),
      index_in_bpf_(index_in_bpf),
      on_targeted_(std::move(on_targeted)) {}

FrameTracker::~FrameTracker() = default;

void FrameTracker::observe(std::span<const std::byte> record) {
    pt_event_header hdr;
    if (record.size() < sizeof(hdr)) return;
    std::memcpy(&hdr, record.data(), sizeof(hdr));
    const auto pid = static_cast<pid_t>(hdr.tgid);
    switch (hdr.type) {
    case PT_EV_FAULT: {
        pt_fault_event e;
        if (!read_record(record, e)) break;
        // Batches of ~10 ms share one arrival time.
        const uint64_t now = now_ns_();
        if (pending_.empty() || now - pending_.back().arrived_ns > 10'000'000) {
            pending_.push_back(PendingBatch{now, {}});
        }
        pending_.back().pages[pid].push_back(e.addr >> kPageShift);
        break;
    }
    case PT_EV_MUNMAP: {
        pt_munmap_event e;
        if (read_record(record, e) && !e.err) forget_range(pid, e.addr, e.len);
        break;
    }
    case PT_EV_MADVISE: {
        pt_madvise_event e;
        if (read_record(record, e) && !e.err && advice_drops_pages(e.advice)) {
            forget_range(pid, e.addr, e.len);
        }
        break;
    }
    case PT_EV_MREMAP: {
        pt_mremap_event e;
        if (read_record(record, e) && !e.err) {
            move_range(pid, e.old_addr, e.old_len, e.new_addr, e.new_len);
        }
        break;
    }
    case PT_EV_MMAP: {
        // MAP_FIXED over existing pages replaces them.
        pt_mmap_event e;
        if (read_record(record, e) && !e.err && (e.flags & 0x10)) forget_range(pid, e.addr, e.len);
        break;
    }
    case PT_EV_EXEC:
    case PT_EV_EXIT:
        forget_process(pid);
        break;
    case PT_EV_MIGRATE: {
        // The BPF side already moved pt_frames; follow it here.
        pt_migrate_event e;
        if (!read_record(record, e)) break;
        auto it = index_.find(pid);
        if (it != index_.end() && e.new_pfn) it->second.set(e.addr >> kPageShift, e.new_pfn);
        claim_frame(e.new_pfn);
        break;
    }
    default:
        break;
    }
}

PagemapReader* FrameTracker::reader_for(pid_t pid) {
    auto it = readers_.find(pid);
    if (it != readers_.end()) return it->second.get();
    try {
        auto reader = std::make_unique<PagemapReader>(pid);
        return readers_.emplace(pid, std::move(reader)).first->second.get();
    } catch (const Error& e) {
        spdlog::debug("frame index: {}", e.what());
        return nullptr;
    }
}

void FrameTracker::index_entries(pid_t pid, uint64_t first_page,
                                 std::span<const PagemapEntry> entries,
                                 bool only_present_changes) {
    PageIndex& pages = index_[pid];
    for (size_t i = 0; i < entries.size(); ++i) {
        const uint64_t page = first_page + i;
        const uint64_t pfn = entries[i].pfn();
        if (!pfn) {
            if (!only_present_changes) ++stats_.not_present;
            continue;
        }
        const uint64_t old = pages.set(page, pfn);
        if (old == pfn) continue;
        if (old) drop_frame(old);
        add_pfns_.push_back(pfn);
        add_owners_.push_back(pt_frame_owner{static_cast<uint32_t>(pid), 0, page << kPageShift});
    }
}

void FrameTracker::resolve_pending(uint64_t now_ns, bool everything) {
    // At most every 100 ms: fewer, larger targeted snapshots.
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
        PagemapReader* reader = reader_for(pid);
        if (!reader) continue;
        std::sort(pages.begin(), pages.end());
        pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
        stats_.lookups += pages.size();
        PagemapSnapshot snap;
        snap.pid = static_cast<uint32_t>(pid);
        snap.ts_ns = now_ns;
        snap.kind = SnapshotKind::Targeted;
        snap.pfns_visible = pagemap_pfns_visible();
        // Contiguous runs of pages are read with one pread each.
        for (size_t i = 0; i < pages.size();) {
            size_t j = i + 1;
            while (j < pages.size() && pages[j] == pages[j - 1] + 1) ++j;
            entries.resize(j - i);
            const size_t got = reader->read(pages[i], entries.size(), entries.data());
            if (got < entries.size()) snap.partial = true;
            index_entries(pid, pages[i], std::span(entries.data(), got), false);
            for (size_t k = 0; k < got; ++k) {
                if (entries[k].present() || entries[k].swapped()) {
                    snap.pages.push_back(SnapshotPage{(pages[i] + k) << kPageShift, entries[k]});
                }
            }
            i = j;
        }
        resolved += pages.size();
        snap.ts_ns = now_ns_();  // the read has finished
        if (on_targeted_ && !snap.pages.empty()) on_targeted_(snap);
    }
    flush_bpf_updates();
    if (resolved) {
        spdlog::debug("frame index: looked up {} faulted pages; {} pages indexed", resolved,
                      stats().pages_indexed);
    }
}

void FrameTracker::seed(const PagemapSnapshot& snap) {
    const auto pid = static_cast<pid_t>(snap.pid);
    PageIndex& pages = index_[pid];
    for (const SnapshotPage& p : snap.pages) {
        const uint64_t pfn = p.entry.pfn();
        if (!pfn) continue;
        const uint64_t old = pages.set(p.vaddr >> kPageShift, pfn);
        if (old == pfn) continue;
        if (old) drop_frame(old);
        add_pfns_.push_back(pfn);
        add_owners_.push_back(pt_frame_owner{snap.pid, 0, p.vaddr});
    }
    flush_bpf_updates();
}

void FrameTracker::drop_frame(uint64_t pfn) {
    retiring_.drop(pfn, now_ns_());
}

void FrameTracker::forget_range(pid_t pid, uint64_t start, uint64_t len) {
    auto it = index_.find(pid);
    if (it == index_.end()) return;
    const uint64_t first = start >> kPageShift;
    const uint64_t last = (start + len + kPageSize - 1) >> kPageShift;
    it->second.erase_range(first, last, [&](uint64_t, uint64_t pfn) { drop_frame(pfn); });
    // Faults still queued for the range need no scrubbing: when they are
    // looked up, pagemap says the page is gone. (Scrubbing here made a
    // workload that discards pages one madvise at a time quadratic.)
    flush_bpf_updates();
}

void FrameTracker::move_range(pid_t pid, uint64_t old_addr, uint64_t old_len, uint64_t new_addr,
                              uint64_t new_len) {
    auto it = index_.find(pid);
    if (it == index_.end() || old_addr == new_addr) {
        // Shrinking in place drops the tail.
        if (new_len < old_len) forget_range(pid, old_addr + new_len, old_len - new_len);
        return;
    }
    PageIndex& pages = it->second;
    const uint64_t first = old_addr >> kPageShift;
    const uint64_t last = (old_addr + old_len + kPageSize - 1) >> kPageShift;
    const uint64_t keep = (new_len + kPageSize - 1) >> kPageShift;
    std::vector<std::pair<uint64_t, uint64_t>> moved;
    pages.erase_range(first, last, [&](uint64_t page, uint64_t pfn) {
        if (page - first < keep) {
            moved.emplace_back(page - first + (new_addr >> kPageShift), pfn);
        } else {
            drop_frame(pfn);
        }
    });
    for (const auto& [page, pfn] : moved) {
        pages.set(page, pfn);
        add_pfns_.push_back(pfn);
        add_owners_.push_back(pt_frame_owner{static_cast<uint32_t>(pid), 0, page << kPageShift});
    }
    flush_bpf_updates();
}

void FrameTracker::forget_process(pid_t pid) {
    auto it = index_.find(pid);
    if (it != index_.end()) {
        it->second.for_each([&](uint64_t, uint64_t pfn) { drop_frame(pfn); });
        index_.erase(it);
    }
    readers_.erase(pid);  // an exec'd process needs a fresh pagemap
    for (auto& batch : pending_) batch.pages.erase(pid);
    flush_bpf_updates();
}

void FrameTracker::flush_bpf_updates() {
    if (!index_in_bpf_) {
        retiring_.clear();
        add_pfns_.clear();
        add_owners_.clear();
        return;
    }
    for (uint64_t pfn : add_pfns_) claim_frame(pfn);
    if (retiring_.queued()) {
        std::vector<uint64_t> due;
        retiring_.take_due(now_ns_(), due);
        if (!due.empty()) tracer_.unindex_frames(due);
    }
    if (!add_pfns_.empty()) {
        const size_t stored = tracer_.index_frames(add_pfns_, add_owners_);
        if (stored < add_pfns_.size()) {
            if (stats_.index_full == 0) {
                spdlog::warn("the frame index is full ({} frames): migrations of further pages "
                             "cannot be attributed (raise --max-frames)",
                             tracer_.max_frames());
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
    for (const auto& [pid, pages] : index_) s.pages_indexed += pages.size();
    return s;
}

}  // namespace pagetrace
