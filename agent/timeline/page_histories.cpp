#include "timeline/page_histories.h"

#include <algorithm>

namespace pagetrace {

HistoryFilter HistoryFilter::range(std::optional<uint32_t> pid, uint64_t start, uint64_t end,
                                   kernel::PageGeometry geometry) {
    HistoryFilter f;
    f.pid = pid;
    f.start = geometry.down(start);
    f.end = geometry.up(std::max(start, end));
    return f;
}

HistoryFilter HistoryFilter::page(std::optional<uint32_t> pid, uint64_t addr,
                                  kernel::PageGeometry geometry) {
    return range(pid, addr, geometry.down(addr) + geometry.size(), geometry);
}

PageHistories::PageHistories(HistoryFilter filter, kernel::PageGeometry geometry)
    : filter_(filter), geometry_(geometry) {
    filter_.start = geometry_.down(filter_.start);
    filter_.end = geometry_.up(filter_.end);
}

void PageHistories::History::add(uint64_t ts_ns, PageEventData data) {
    if (!events.empty() && ts_ns < events.back().ts_ns) {
        // An entry confirmed late (fault-around): in its place in time, after
        // entries of the same time. It says nothing about the page now.
        auto at = std::upper_bound(events.begin(), events.end(), ts_ns,
                                   [](uint64_t ts, const PageEvent& e) { return ts < e.ts_ns; });
        events.insert(at, {ts_ns, std::move(data)});
        return;
    }
    if (const auto* p = std::get_if<PfnInfo>(&data); p && p->pfn) last_pfn = p->pfn;
    if (const auto* m = std::get_if<MigratedInfo>(&data)) last_pfn = m->new_pfn;
    if (const auto* t = std::get_if<TouchInfo>(&data); t && t->pfn) last_pfn = t->pfn;
    if (const auto* a = std::get_if<MappedAroundInfo>(&data); a && a->pfn) last_pfn = a->pfn;
    alive = !std::holds_alternative<UnmappedInfo>(data);
    events.push_back({ts_ns, std::move(data)});
}

void PageHistories::drop_held(const TracedProcess& proc, uint64_t first, uint64_t end) {
    if (held_.empty()) return;
    held_.erase(held_.lower_bound(Key{proc.index, first}), held_.lower_bound(Key{proc.index, end}));
}

bool PageHistories::selects(const TracedProcess& proc, uint64_t vpn) const {
    if (filter_.pid && *filter_.pid != proc.pid()) return false;
    const uint64_t addr = geometry_.addr(vpn);
    return addr >= filter_.start && addr < filter_.end;
}

PageHistories::History* PageHistories::history_to_record(const TracedProcess& proc, uint64_t vpn) {
    const Key key{proc.index, vpn};
    if (auto it = histories_.find(key); it != histories_.end()) return &it->second;
    if (!selects(proc, vpn)) return nullptr;
    if (started_ >= filter_.max_pages) {
        ++dropped_;
        return nullptr;
    }
    ++started_;
    return &histories_[key];
}

bool PageHistories::alive(const TracedProcess& proc, uint64_t vpn) const {
    auto it = histories_.find({proc.index, vpn});
    return it != histories_.end() && it->second.alive;
}

template <typename F>
void PageHistories::for_each_alive(const TracedProcess& proc, uint64_t first, uint64_t end, F&& f) {
    const Key last{proc.index, end};
    for (auto it = histories_.lower_bound({proc.index, first}); it != histories_.end(); ++it) {
        if (!(it->first < last)) break;
        if (it->second.alive) f(it->second);
    }
}

void PageHistories::unmapped(const TracedProcess& proc, uint64_t first, uint64_t end,
                             uint64_t ts_ns, UnmapCause cause) {
    if (!filter_.enabled()) return;
    for_each_alive(proc, first, end, [&](History& h) {
        h.events.push_back({ts_ns, UnmappedInfo{cause}});
        h.alive = false;
    });
}

void PageHistories::flushed(const TracedProcess& proc, uint64_t first, uint64_t end, uint64_t ts_ns,
                            const TlbFlushInfo& flush) {
    if (!filter_.enabled()) return;
    for_each_alive(proc, first, end, [&](History& h) { h.events.push_back({ts_ns, flush}); });
}

PageHistories::Move PageHistories::take(const TracedProcess& proc, uint64_t first, uint64_t end) {
    Move move;
    move.process = proc.index;
    move.first = first;
    if (!filter_.enabled()) return move;
    auto it = histories_.lower_bound({proc.index, first});
    while (it != histories_.end() && it->first < Key{proc.index, end}) {
        move.nodes.push_back(histories_.extract(it++));
    }
    return move;
}

void PageHistories::put(Move&& move, uint64_t to, uint64_t ts_ns) {
    for (auto& node : move.nodes) {
        const uint64_t from = node.key().vpn;
        node.key().vpn = from - move.first + to;
        History& h = node.mapped();
        const MovedInfo moved{geometry_.addr(from), geometry_.addr(node.key().vpn)};
        h.events.push_back({ts_ns, moved});
        h.alive = true;
        auto existing = histories_.find(node.key());
        if (existing != histories_.end()) {  // an earlier page's history at this address
            retired_.emplace_back(existing->first, std::move(existing->second));
            histories_.erase(existing);
        }
        histories_.insert(std::move(node));
    }
}

std::vector<PageHistory> PageHistories::read(const ProcessRegistry& processes,
                                             const std::vector<TimelineGap>& all_gaps) const {
    std::vector<TimelineGap> gaps = all_gaps;
    std::stable_sort(gaps.begin(), gaps.end(),
                     [](const TimelineGap& a, const TimelineGap& b) { return a.ts_ns < b.ts_ns; });
    struct Item {
        Key key;
        const History* history;
    };
    std::vector<Item> items;
    items.reserve(histories_.size() + retired_.size());
    for (const auto& [key, h] : retired_) items.push_back({key, &h});
    for (const auto& [key, h] : histories_) items.push_back({key, &h});
    const auto first_ts = [](const History* h) {
        return h->events.empty() ? 0 : h->events.front().ts_ns;
    };
    std::stable_sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
        if (a.key != b.key) return a.key < b.key;
        return first_ts(a.history) < first_ts(b.history);
    });

    std::vector<PageHistory> out;
    out.reserve(items.size());
    for (const Item& item : items) {
        const History& h = *item.history;
        if (h.events.empty()) continue;
        const TracedProcess& proc = processes.at(item.key.process);
        PageHistory ph;
        ph.pid = proc.pid();
        ph.start_ns = proc.summary.start_ns;
        ph.comm = proc.summary.comm;
        ph.addr = geometry_.addr(item.key.vpn);
        ph.pfn = h.last_pfn;
        ph.events.reserve(h.events.size());
        // A gap shows while the page is alive: from its first entry on, but
        // not between an unmap and whatever comes next.
        const auto before = [](const TimelineGap& gap, uint64_t ts) { return gap.ts_ns < ts; };
        auto g = std::lower_bound(gaps.begin(), gaps.end(), h.events.front().ts_ns, before);
        bool alive = false;
        const auto emit_gaps_before = [&](uint64_t ts, bool inclusive) {
            for (; g != gaps.end() && (g->ts_ns < ts || (inclusive && g->ts_ns == ts)); ++g) {
                if (alive) ph.events.push_back({g->ts_ns, GapInfo{g->lost, g->cpu}});
            }
        };
        for (const PageEvent& e : h.events) {
            emit_gaps_before(e.ts_ns, false);
            ph.events.push_back(e);
            alive = !std::holds_alternative<UnmappedInfo>(e.data);
        }
        if (alive) emit_gaps_before(proc.ended ? proc.end_ts : ~uint64_t{0}, true);
        out.push_back(std::move(ph));
    }
    return out;
}

uint64_t PageHistories::pages() const { return histories_.size() + retired_.size(); }

uint64_t PageHistories::entries() const {
    uint64_t n = 0;
    for (const auto& [key, h] : histories_) n += h.events.size();
    for (const auto& [key, h] : retired_) n += h.events.size();
    return n;
}

uint64_t PageHistories::memory_bytes() const {
    // A std::map node: tree links and colour, malloc header, key and value.
    constexpr uint64_t kNode = 32 + 16 + sizeof(Key) + sizeof(History);
    const auto bytes = [](const History& h) {
        return kNode + h.events.capacity() * sizeof(PageEvent);
    };
    uint64_t total = 0;
    for (const auto& [key, h] : histories_) total += bytes(h);
    for (const auto& [key, h] : retired_) total += bytes(h);
    return total;
}

}  // namespace pagetrace
