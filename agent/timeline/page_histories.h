// The full histories of the pages a HistoryFilter selects, keyed by process
// instance and page: entries are appended in stream order, a history is
// "alive" while its page is mapped, a page that mremap moves takes its history
// along (one already at the destination is retired, not lost), and gaps (lost
// events, one global list) are merged in when the histories are read.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernel/mm.h"
#include "timeline/page_event.h"
#include "timeline/process_registry.h"

namespace pagetrace {

// Which pages get a full history. Summaries are always made for every process.
struct HistoryFilter {
    std::optional<uint32_t> pid;  // every instance of this pid; nullopt: every process
    uint64_t start = 0;           // [start, end), addresses; start == end: no histories
    uint64_t end = 0;
    // Histories beyond this many pages are not kept (TimelineStats::histories_dropped).
    uint64_t max_pages = uint64_t{1} << 20;

    static HistoryFilter none() { return {}; }
    // The pages overlapping [start, end) (rounded out to whole pages).
    static HistoryFilter range(std::optional<uint32_t> pid, uint64_t start, uint64_t end,
                               kernel::PageGeometry geometry = {});
    // The page holding addr.
    static HistoryFilter page(std::optional<uint32_t> pid, uint64_t addr,
                              kernel::PageGeometry geometry = {});

    bool enabled() const { return start < end; }
};

// Events were lost (a `lost` event): a gap in every history alive then.
struct TimelineGap {
    uint64_t ts_ns = 0;
    uint64_t lost = 0;
    uint32_t cpu = 0;
};

// The history of one page of one process instance.
struct PageHistory {
    uint32_t pid = 0;
    std::optional<uint64_t> start_ns;
    std::string comm;
    uint64_t addr = 0;             // page address (the latest, after mremap moves)
    std::optional<uint64_t> pfn;   // last known frame
    std::vector<PageEvent> events;  // in time order, gaps merged in
};

class PageHistories {
public:
    // The filter's range is rounded out to whole pages of `geometry`.
    PageHistories(HistoryFilter filter, kernel::PageGeometry geometry);

    const HistoryFilter& filter() const { return filter_; }
    bool enabled() const { return filter_.enabled(); }

    // Appends an entry to the history of page vpn of proc, starting the
    // history if the filter selects the page and there is room.
    template <typename Info>
    void record(const TracedProcess& proc, uint64_t vpn, uint64_t ts_ns, Info&& info) {
        if (!filter_.enabled()) return;
        if (History* h = history_to_record(proc, vpn)) {
            h->add(ts_ns, PageEventData(std::forward<Info>(info)));
        }
    }
    // Changes the last entry of type Info in the history of page vpn, if any.
    template <typename Info, typename F>
    void amend_last(const TracedProcess& proc, uint64_t vpn, F&& f) {
        auto it = histories_.find(Key{proc.index, vpn});
        if (it == histories_.end()) return;
        auto& events = it->second.events;
        for (auto e = events.rbegin(); e != events.rend(); ++e) {
            if (auto* info = std::get_if<Info>(&e->data)) {
                f(*info);
                if constexpr (std::is_same_v<Info, TouchInfo>) {
                    if (info->pfn) it->second.last_pfn = info->pfn;
                }
                return;
            }
        }
    }
    // The last entry of type Info in the history of page vpn, if any.
    template <typename Info>
    const Info* last(const TracedProcess& proc, uint64_t vpn) const {
        auto it = histories_.find(Key{proc.index, vpn});
        if (it == histories_.end()) return nullptr;
        for (auto e = it->second.events.rbegin(); e != it->second.events.rend(); ++e) {
            if (const auto* info = std::get_if<Info>(&e->data)) return info;
        }
        return nullptr;
    }

    // An entry that becomes part of the history only if a later observation
    // confirms it (a page fault-around may have mapped): held per page, then
    // confirm()ed with its last details, or dropped with the page.
    template <typename Info>
    void hold(const TracedProcess& proc, uint64_t vpn, uint64_t ts_ns, Info&& info) {
        if (!filter_.enabled() || !selects(proc, vpn)) return;
        held_[Key{proc.index, vpn}] = {ts_ns, PageEventData(std::forward<Info>(info))};
    }
    template <typename Info, typename F>
    void confirm(const TracedProcess& proc, uint64_t vpn, F&& complete) {
        auto it = held_.find(Key{proc.index, vpn});
        if (it == held_.end()) return;
        PageEvent event = std::move(it->second);
        held_.erase(it);
        if (auto* info = std::get_if<Info>(&event.data)) complete(*info);
        if (History* h = history_to_record(proc, vpn)) h->add(event.ts_ns, std::move(event.data));
    }
    void drop_held(const TracedProcess& proc, uint64_t first, uint64_t end);

    // Calls f(vpn) for the pages of [start, end) (addresses) the filter
    // selects, while there is room for new histories; past that, only for
    // those that have one (the others are counted as dropped).
    template <typename F>
    void for_selected(const TracedProcess& proc, uint64_t start, uint64_t end, F&& f);
    // Whether page vpn of proc has a history, and its page is mapped.
    bool alive(const TracedProcess& proc, uint64_t vpn) const;

    // An `unmapped` entry in every alive history of pages [first, end) (vpns).
    void unmapped(const TracedProcess& proc, uint64_t first, uint64_t end, uint64_t ts_ns,
                  UnmapCause cause);
    // A `tlb_flush` entry in every alive history of pages [first, end).
    void flushed(const TracedProcess& proc, uint64_t first, uint64_t end, uint64_t ts_ns,
                 const TlbFlushInfo& flush);

    // The histories of pages [first, end) of proc, taken out for an mremap
    // move, and put back with a `moved` entry at the pages from `to` on.
    struct Move;
    Move take(const TracedProcess& proc, uint64_t first, uint64_t end);
    void put(Move&& move, uint64_t to, uint64_t ts_ns);

    // The kept histories, by process instance then address, gaps merged in.
    std::vector<PageHistory> read(const ProcessRegistry& processes,
                                  const std::vector<TimelineGap>& gaps) const;

    uint64_t pages() const;   // histories kept
    uint64_t entries() const;
    uint64_t memory_bytes() const;  // an estimate
    uint64_t dropped() const { return dropped_; }

private:
    struct History {
        std::vector<PageEvent> events;
        std::optional<uint64_t> last_pfn;
        bool alive = false;  // mapped (or present) now, as far as we know

        void add(uint64_t ts_ns, PageEventData data);
    };
    struct Key {
        size_t process = 0;  // TracedProcess::index
        uint64_t vpn = 0;
        auto operator<=>(const Key&) const = default;
    };
    using Map = std::map<Key, History>;

    bool selects(const TracedProcess& proc, uint64_t vpn) const;
    History* history_to_record(const TracedProcess& proc, uint64_t vpn);
    template <typename F>
    void for_each_alive(const TracedProcess& proc, uint64_t first, uint64_t end, F&& f);

    HistoryFilter filter_;
    kernel::PageGeometry geometry_;
    Map histories_;
    std::vector<std::pair<Key, History>> retired_;  // overwritten by a moved page
    std::map<Key, PageEvent> held_;  // entries waiting for confirmation
    uint64_t started_ = 0;  // histories started, retired ones included
    uint64_t dropped_ = 0;
};

struct PageHistories::Move {
    size_t process = 0;
    uint64_t first = 0;
    std::vector<Map::node_type> nodes;
};

template <typename F>
void PageHistories::for_selected(const TracedProcess& proc, uint64_t start, uint64_t end, F&& f) {
    if (!filter_.enabled() || (filter_.pid && *filter_.pid != proc.pid())) return;
    const uint64_t lo = geometry_.vpn(std::max(start, filter_.start));
    const uint64_t hi = geometry_.vpn(std::min(end, filter_.end));
    uint64_t vpn = lo;
    for (; vpn < hi && started_ < filter_.max_pages; ++vpn) f(vpn);
    if (vpn >= hi) return;
    // Out of room: only pages that already have a history go on.
    const Key last{proc.index, hi};
    std::vector<uint64_t> vpns;
    for (auto it = histories_.lower_bound({proc.index, vpn}); it != histories_.end(); ++it) {
        if (!(it->first < last)) break;
        vpns.push_back(it->first.vpn);
    }
    for (uint64_t v : vpns) f(v);
    dropped_ += (hi - vpn) - vpns.size();
}

}  // namespace pagetrace
