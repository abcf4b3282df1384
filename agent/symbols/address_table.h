// Named address ranges looked up by address: the kernel's functions (from
// /proc/kallsyms, or those a recording captured) and a JIT's perf map
// (/tmp/perf-PID.map: "START SIZE name" lines in hex).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "symbols/code_facts.h"

namespace pagetrace {

class AddressTable {
public:
    struct Entry {
        uint64_t start = 0;
        uint64_t size = 0;  // 0: up to the next entry
        uint32_t name_at = 0;  // its name in names_: small entries sort fast
        uint32_t name_len = 0;
    };
    struct Hit {
        const Entry* entry = nullptr;
        uint64_t offset = 0;
        std::string_view name;
    };

    void add(uint64_t start, uint64_t size, std::string_view name);
    // Sorts what was added; call before lookup() (add() after it needs another seal()).
    void seal();
    std::optional<Hit> lookup(uint64_t addr) const;
    // The entry at `addr` as a function with its extent (an entry of unknown
    // size runs to the next one).
    std::optional<KernelFunction> function_at(uint64_t addr) const;
    size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }

    // /tmp/perf-PID.map text; malformed lines are skipped.
    static AddressTable from_perf_map(std::string_view text);
    // /proc/kallsyms text: text symbols (t, T, w, W); sizes run to the next
    // symbol. Empty when every address reads as zero (kptr_restrict).
    static AddressTable from_kallsyms(std::string_view text);
    static AddressTable from_functions(const std::vector<KernelFunction>& functions);

private:
    std::string_view name_of(const Entry& e) const { return {names_.data() + e.name_at, e.name_len}; }

    std::vector<Entry> entries_;
    std::string names_;
    bool sealed_ = true;
};

// A symbol file read whole (up to `cap` bytes); "" if it cannot be read.
std::string read_small_file(const std::string& path, size_t cap);

// The table of a kallsyms file (/proc/kallsyms: about 35 ms to read, and as
// long again to parse), read once per process and path and shared by all
// who ask; empty if it shows no addresses.
const AddressTable& kallsyms_table(const std::string& path = "/proc/kallsyms");

}  // namespace pagetrace
