#include "output/snapshot_format.h"

#include <fmt/format.h>

#include <iterator>

#include "kernel/mm.h"
#include "kernel/page_flags.h"
#include "output/names.h"

namespace pagetrace {

namespace {

struct MappingCounts {
    uint64_t present = 0;
    uint64_t swapped = 0;
    uint64_t migrating = 0;
    uint64_t file_or_shared = 0;
    uint64_t exclusive = 0;
    uint64_t soft_dirty = 0;
};

std::string backing(const Mapping& m) {
    if (!m.path.empty()) return m.path;
    return "anonymous";
}

// Page flags as a compact word list: "present exclusive soft-dirty".
std::string page_flags(const PagemapEntry& e) {
    std::string out;
    const auto add = [&](bool on, const char* name) {
        if (!on) return;
        if (!out.empty()) out += ' ';
        out += name;
    };
    add(e.present(), "present");
    add(e.special_swap_entry(), "migrating");
    add(e.swapped() && !e.special_swap_entry(), "swapped");
    add(e.file_or_shared_anon(), "file/shared");
    add(e.exclusive(), "exclusive");
    add(e.soft_dirty(), "soft-dirty");
    add(e.uffd_write_protected(), "uffd-wp");
    add(e.guard_region(), "guard");
    return out;
}

}  // namespace

std::string kernel_page_flags_string(uint64_t flags) {
    using namespace kernel;
    static constexpr std::pair<uint64_t, const char*> kNames[] = {
        {kKpfThp, "thp"},         {kKpfHuge, "hugetlb"},     {kKpfKsm, "ksm"},
        {kKpfZeroPage, "zero"},   {kKpfAnon, "anon"},        {kKpfSwapcache, "swapcache"},
        {kKpfSwapbacked, "swapbacked"}, {kKpfLru, "lru"},    {kKpfActive, "active"},
        {kKpfReferenced, "referenced"}, {kKpfDirty, "dirty"}, {kKpfWriteback, "writeback"},
        {kKpfUnevictable, "unevictable"}, {kKpfLocked, "locked"}, {kKpfIdle, "idle"},
        {kKpfCompoundHead, "head"}, {kKpfCompoundTail, "tail"}, {kKpfHwpoison, "hwpoison"},
    };
    std::string out;
    for (const auto& [bit, name] : kNames) {
        if (!(flags & bit)) continue;
        if (!out.empty()) out += ' ';
        out += name;
    }
    return out;
}

std::string format_snapshot(const PagemapSnapshot& snap, OutputFormat format, bool pages,
                            const std::vector<FrameFacts>& frames) {
    std::string out;
    auto it = std::back_inserter(out);
    const bool json = format == OutputFormat::Json;
    if (!json) {
        fmt::format_to(it, "pid {}: {} mappings, {} pages present or swapped{}{}\n", snap.pid,
                       snap.mappings.size(), snap.pages.size(),
                       snap.pfns_visible ? "" : " (frames hidden: needs CAP_SYS_ADMIN)",
                       snap.partial ? " (cut short: the process exited or exec'd)" : "");
        if (!snap.huge_pages.empty()) {
            uint64_t bytes = 0;
            for (const HugePage& h : snap.huge_pages) {
                bytes += (uint64_t{1} << h.order) * kernel::PageGeometry::of_system().size();
            }
            fmt::format_to(it, "{} huge pages mapped whole ({})\n", snap.huge_pages.size(),
                           human_size(bytes));
        }
        fmt::format_to(it, "{:<33} {:<4} {:>10} {:>9} {:>8} {:>9} {}\n", "RANGE", "PERM", "SIZE",
                       "PRESENT", "SWAPPED", "MIGRATING", "BACKING");
    }
    size_t p = 0;
    for (const Mapping& m : snap.mappings) {
        MappingCounts c;
        const size_t first = p;
        while (p < snap.pages.size() && snap.pages[p].vaddr < m.start) ++p;
        const size_t begin = p;
        while (p < snap.pages.size() && snap.pages[p].vaddr < m.end) {
            const PagemapEntry& e = snap.pages[p].entry;
            c.present += e.present();
            c.migrating += e.special_swap_entry();
            c.swapped += e.swapped() && !e.special_swap_entry();
            c.file_or_shared += e.file_or_shared_anon();
            c.exclusive += e.exclusive();
            c.soft_dirty += e.soft_dirty();
            ++p;
        }
        (void)first;
        if (json) {
            fmt::format_to(it,
                           R"({{"type":"mapping","pid":{},"start":"{:#x}","end":"{:#x}","perms":"{}","offset":{},"backing":)",
                           snap.pid, m.start, m.end, m.perms, m.offset);
            append_json_string(out, backing(m));
            fmt::format_to(it,
                           R"(,"present":{},"swapped":{},"migrating":{},"file_or_shared":{},"exclusive":{},"soft_dirty":{}}})"
                           "\n",
                           c.present, c.swapped, c.migrating, c.file_or_shared, c.exclusive,
                           c.soft_dirty);
        } else {
            fmt::format_to(it, "{:<33} {:<4} {:>10} {:>9} {:>8} {:>9} {}\n",
                           fmt::format("{}-{}", hex(m.start), hex(m.end)), m.perms,
                           human_size(m.end - m.start), c.present, c.swapped, c.migrating,
                           backing(m));
        }
        if (!pages) continue;
        for (size_t k = begin; k < p; ++k) {
            const SnapshotPage& pg = snap.pages[k];
            const uint64_t pfn = pg.entry.pfn();
            const FrameFacts facts = k < frames.size() ? frames[k] : FrameFacts{};
            if (json) {
                fmt::format_to(it, R"({{"type":"page","pid":{},"addr":"{:#x}","pfn":{},"flags":")",
                               snap.pid, pg.vaddr,
                               (pfn && snap.pfns_visible) ? std::to_string(pfn) : "null");
                out += page_flags(pg.entry);
                if (facts.known) {
                    fmt::format_to(it, R"(","kernel_flags":"{}","mapcount":{}}})" "\n",
                                   kernel_page_flags_string(facts.flags), facts.mapcount);
                } else {
                    out += R"(","kernel_flags":null,"mapcount":null})" "\n";
                }
            } else {
                fmt::format_to(it, "  {} pfn={} {}", hex(pg.vaddr),
                               (pfn && snap.pfns_visible) ? hex(pfn) : "?", page_flags(pg.entry));
                if (facts.known) {
                    fmt::format_to(it, " [{}{}mapcount={}]", kernel_page_flags_string(facts.flags),
                                   facts.flags ? " " : "", facts.mapcount);
                }
                out += '\n';
            }
        }
    }
    return out;
}

}  // namespace pagetrace
