#include "symbols/address_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>

#include "util/unique_fd.h"

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
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return {};
    // In blocks, growing as it goes: /proc files have no size to ask for.
    std::string text;
    char block[65536];
    while (text.size() < cap) {
        const ssize_t n = ::read(fd.get(), block, std::min(sizeof(block), cap - text.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(block, static_cast<size_t>(n));
    }
    return text;
}

void AddressTable::add(uint64_t start, uint64_t size, std::string_view name) {
    entries_.push_back({start, size, static_cast<uint32_t>(names_.size()),
                        static_cast<uint32_t>(name.size())});
    names_ += name;
    sealed_ = false;
}

void AddressTable::seal() {
    const auto by_start = [](const Entry& a, const Entry& b) { return a.start < b.start; };
    // kallsyms comes sorted: checking is much cheaper than sorting.
    if (!std::is_sorted(entries_.begin(), entries_.end(), by_start)) {
        std::stable_sort(entries_.begin(), entries_.end(), by_start);
    }
    sealed_ = true;
}

const AddressTable& kallsyms_table(const std::string& path) {
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<AddressTable>> tables;
    std::lock_guard lock(mutex);
    auto& table = tables[path];
    if (!table) {
        table = std::make_unique<AddressTable>(
            AddressTable::from_kallsyms(read_small_file(path, 64u << 20)));
    }
    return *table;
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
    return Hit{&e, offset, name_of(e)};
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
    return KernelFunction{e.start, size, std::string(name_of(e))};
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
        t.add(start, size, name);
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
        if (module.empty()) {
            t.add(addr, 0, name);
        } else {
            t.add(addr, 0, std::string(name) + ' ' + std::string(module));
        }
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
