#include "proc/maps.h"

#include <charconv>
#include <fstream>

namespace pagetrace {

namespace {

// Reads the next space-separated field of `line` from `pos`.
std::string_view next_field(std::string_view line, size_t& pos) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    const size_t start = pos;
    while (pos < line.size() && line[pos] != ' ') ++pos;
    return line.substr(start, pos - start);
}

bool parse_hex(std::string_view text, uint64_t& out) {
    if (text.empty()) return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
    return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

std::optional<Mapping> parse_maps_line(std::string_view line) {
    Mapping m;
    size_t pos = 0;
    const std::string_view range = next_field(line, pos);
    const size_t dash = range.find('-');
    if (dash == std::string_view::npos || !parse_hex(range.substr(0, dash), m.start) ||
        !parse_hex(range.substr(dash + 1), m.end) || m.end < m.start) {
        return std::nullopt;
    }
    m.perms = next_field(line, pos);
    if (m.perms.size() != 4 || !parse_hex(next_field(line, pos), m.offset)) return std::nullopt;
    m.dev = next_field(line, pos);
    // "major:minor", both hex.
    const size_t colon = m.dev.find(':');
    uint64_t major = 0, minor = 0;
    if (colon == std::string::npos || !parse_hex(std::string_view(m.dev).substr(0, colon), major) ||
        !parse_hex(std::string_view(m.dev).substr(colon + 1), minor)) {
        return std::nullopt;
    }
    const std::string_view inode = next_field(line, pos);
    auto [p, ec] = std::from_chars(inode.data(), inode.data() + inode.size(), m.inode);
    if (ec != std::errc() || inode.empty() || p != inode.data() + inode.size()) {
        return std::nullopt;
    }
    while (pos < line.size() && line[pos] == ' ') ++pos;
    m.path = line.substr(pos);
    return m;
}

std::vector<Mapping> read_maps(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    std::vector<Mapping> out;
    std::string line;
    while (std::getline(in, line)) {
        if (auto m = parse_maps_line(line)) out.push_back(std::move(*m));
    }
    return out;
}

}  // namespace pagetrace
