#include "timeline/fault_sites.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <tuple>

#include "output/formatter.h"

namespace pagetrace {

FaultSite& FaultSites::at(uint64_t ip, bool kernel, bool& is_new) {
    // Kernel and user addresses never collide on x86-64: the ip is the key.
    auto [it, inserted] = index_.try_emplace(ip, sites_.size());
    is_new = inserted;
    if (inserted) sites_.push_back({ip, kernel, {}});
    return sites_[it->second];
}

std::vector<FaultSite> FaultSites::top(size_t n, Symbolizer* symbols) const {
    // Merged by location (the same file and offset resolve to the same
    // CodeLocation); sites without one stay per ip.
    std::vector<FaultSite> merged;
    std::map<const CodeLocation*, size_t> by_where;
    for (FaultSite s : sites_) {
        if (!s.where && symbols) s.where = symbols->resolve(s.key);
        if (s.where) {
            auto [it, inserted] = by_where.try_emplace(s.where, merged.size());
            if (!inserted) {
                FaultSite& m = merged[it->second];
                m.faults += s.faults;
                m.first_touches += s.first_touches;
                m.major += s.major;
                m.latency_ns_total += s.latency_ns_total;
                m.latency_samples += s.latency_samples;
                m.ip = std::min(m.ip, s.ip);
                continue;
            }
        }
        merged.push_back(s);
    }
    const auto order = [](const FaultSite& a, const FaultSite& b) {
        return std::make_tuple(b.faults, b.first_touches, a.ip) <
               std::make_tuple(a.faults, a.first_touches, b.ip);
    };
    const size_t keep = std::min(n, merged.size());
    std::partial_sort(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(keep),
                      merged.end(), order);
    merged.resize(keep);
    return merged;
}

std::string fault_site_label(const FaultSite& site) {
    if (!site.where) return fmt::format("ip={:#x}{}", site.ip, site.kernel ? " (kernel)" : "");
    std::string out = site.where->label;
    if (!site.where->dso.empty() && !site.where->sym.empty()) out += " (" + site.where->dso + ")";
    if (!site.where->src.empty()) out += " " + site.where->src;
    return out;
}

void append_fault_site_json(std::string& out, const FaultSite& site) {
    auto it = std::back_inserter(out);
    fmt::format_to(it, R"({{"ip":"{:#x}","mode":"{}")", site.ip, site.kernel ? "kernel" : "user");
    const auto text = [&](const char* key, const std::string* value) {
        fmt::format_to(it, R"(,"{}":)", key);
        if (value && !value->empty()) {
            append_json_string(out, *value);
        } else {
            out += "null";
        }
    };
    text("sym", site.where ? &site.where->sym : nullptr);
    text("dso", site.where ? &site.where->dso : nullptr);
    text("src", site.where ? &site.where->src : nullptr);
    fmt::format_to(it,
                   R"(,"faults":{},"first_touches":{},"major":{},"latency_ns_total":{},)"
                   R"("latency_samples":{}}})",
                   site.faults, site.first_touches, site.major, site.latency_ns_total,
                   site.latency_samples);
}

}  // namespace pagetrace
