#include "symbols/address_table.h"

#include <algorithm>
#include <charconv>
#include <fstream>

namespace pagetrace {

namespace {

std::string_view next_word(std::string_view& line) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) {
        line = {};
        return {};
    }
    line.remove_prefix(start);
    const size_t end = line.find_first_of(" \t");
    std::string_view word = line.substr(0, end);
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    return word;
}

bool parse_hex(std::string_view word, uint64_t& out) {
    if (word.starts_with("0x") || word.starts_with("0X")) word.remove_prefix(2);
    if (word.empty()) return false;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), out, 16);
    return ec == std::errc() && end == word.data() + word.size();
}

template <typename Visit>
void for_each_line(std::string_view text, Visit visit) {
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        visit(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
}

}  // namespace

std::string read_small_file(const std::string& path, size_t cap) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::string text(cap, '\0');
    in.read(text.data(), static_cast<std::streamsize>(cap));
    text.resize(static_cast<size_t>(in.gcount()));
    return text;
}

void AddressTable::add(uint64_t start, uint64_t size, std::string name) {
    entries_.push_back({start, size, std::move(name)});
    sealed_ = false;
}

void AddressTable::seal() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.start < b.start; });
    sealed_ = true;
}

std::optional<AddressTable::Hit> AddressTable::lookup(uint64_t addr) const {
    if (!sealed_ || entries_.empty()) return std::nullopt;
    auto it = std::upper_bound(entries_.begin(), entries_.end(), addr,
                               [](uint64_t a, const Entry& e) { return a < e.start; });
    if (it == entries_.begin()) return std::nullopt;
    const Entry& e = *std::prev(it);
    const uint64_t offset = addr - e.start;
    if (e.size) {
        if (offset >= e.size) return std::nullopt;
    } else if (it == entries_.end()) {
        return std::nullopt;  // past the last symbol of unknown size
    }
    return Hit{&e, offset};
}

std::optional<KernelFunction> AddressTable::function_at(uint64_t addr) const {
    const auto hit = lookup(addr);
    if (!hit) return std::nullopt;
    const Entry& e = *hit->entry;
    uint64_t size = e.size;
    if (!size) {
        const size_t i = static_cast<size_t>(hit->entry - entries_.data());
        // Aliases share an address: the extent runs to the next higher one.
        size_t j = i + 1;
        while (j < entries_.size() && entries_[j].start == e.start) ++j;
        size = j < entries_.size() ? entries_[j].start - e.start : 1;
    }
    return KernelFunction{e.start, size, e.name};
}

AddressTable AddressTable::from_perf_map(std::string_view text) {
    AddressTable t;
    for_each_line(text, [&](std::string_view line) {
        uint64_t start = 0, size = 0;
        if (!parse_hex(next_word(line), start) || !parse_hex(next_word(line), size) || size == 0) {
            return;
        }
        const size_t name_at = line.find_first_not_of(" \t");
        if (name_at == std::string_view::npos) return;
        std::string_view name = line.substr(name_at);
        while (!name.empty() && (name.back() == '\r' || name.back() == ' ')) name.remove_suffix(1);
        t.add(start, size, std::string(name));
    });
    t.seal();
    return t;
}

AddressTable AddressTable::from_kallsyms(std::string_view text) {
    AddressTable t;
    bool any_address = false;
    for_each_line(text, [&](std::string_view line) {
        uint64_t addr = 0;
        if (!parse_hex(next_word(line), addr)) return;
        const std::string_view type = next_word(line);
        const std::string_view name = next_word(line);
        if (addr) any_address = true;
        if (type.size() != 1 || name.empty()) return;
        const char c = type[0];
        if (c != 't' && c != 'T' && c != 'w' && c != 'W') return;
        std::string_view module = next_word(line);  // "[ext4]" for a module's symbols
        std::string full(name);
        if (!module.empty()) {
            full += ' ';
            full += module;
        }
        t.add(addr, 0, std::move(full));
    });
    if (!any_address) return {};
    t.seal();
    return t;
}

AddressTable AddressTable::from_functions(const std::vector<KernelFunction>& functions) {
    AddressTable t;
    for (const auto& f : functions) t.add(f.start, f.size ? f.size : 1, f.name);
    t.seal();
    return t;
}

}  // namespace pagetrace
