// Where a process's faults come from: per faulting instruction, how many
// faults, first touches and major faults it took and their latency, with its
// code location (symbols/symbolizer.h): its key taken when the instruction is
// first seen, resolved when the summary is made. The summary lists the top
// sites by faults (`fault_sites`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "symbols/symbolizer.h"

namespace pagetrace {


struct FaultSite {
    uint64_t ip = 0;  // the first instruction seen at this site
    bool kernel = false;
    CodeKey key;                          // which code, resolved when needed
    const CodeLocation* where = nullptr;  // nullptr: unknown (or not resolved yet)
    uint64_t faults = 0;
    uint64_t first_touches = 0;
    uint64_t major = 0;
    uint64_t latency_ns_total = 0;  // of the minor and major faults whose latency was measured
    uint64_t latency_samples = 0;   // ... which were these many (all, with --latency-every 1)
};

class FaultSites {
public:
    static constexpr size_t kDefaultTop = 20;

    // The site of `ip`; `is_new` says it was not seen before (its `where` is
    // then for the caller to fill in).
    FaultSite& at(uint64_t ip, bool kernel, bool& is_new);
    // The address space was replaced (exec): the same ip is other code now.
    void restart() { index_.clear(); }

    // The `n` sites with the most faults, their keys resolved through
    // `symbols` (may be nullptr) and sites at the same code location merged;
    // ties by first touches, then by ip.
    std::vector<FaultSite> top(size_t n, Symbolizer* symbols) const;
    size_t size() const { return sites_.size(); }

private:
    std::vector<FaultSite> sites_;
    std::unordered_map<uint64_t, size_t> index_;  // ip -> sites_ (since the last exec)
};

// The text label of a site: "alpha_touch+0x16 (app) two_sites.c:14", or
// "ip=0x401136" when its location is unknown.
std::string fault_site_label(const FaultSite& site);

// The JSON object of a site: {"ip":..,"mode":..,"sym":..,"dso":..,"src":..,
// "faults":..,"first_touches":..,"major":..,"latency_ns_total":..}
void append_fault_site_json(std::string& out, const FaultSite& site);

}  // namespace pagetrace
