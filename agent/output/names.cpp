#include "output/names.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <utility>

namespace pagetrace {

namespace {

// mmap(2) flag values on x86-64 (include/uapi/asm-generic/mman*.h, linux/mman.h).
constexpr uint32_t kMapTypeMask = 0x0f;
constexpr std::array<std::pair<uint32_t, const char*>, 4> kMapTypes{{
    {0x01, "shared"},
    {0x02, "private"},
    {0x03, "shared_validate"},
    {0x08, "droppable"},
}};
constexpr std::array<std::pair<uint32_t, const char*>, 15> kMapFlags{{
    {0x10, "fixed"},
    {0x20, "anonymous"},
    {0x40, "32bit"},
    {0x100, "growsdown"},
    {0x800, "denywrite"},
    {0x1000, "executable"},
    {0x2000, "locked"},
    {0x4000, "noreserve"},
    {0x8000, "populate"},
    {0x10000, "nonblock"},
    {0x20000, "stack"},
    {0x40000, "hugetlb"},
    {0x80000, "sync"},
    {0x100000, "fixed_noreplace"},
    {0x4000000, "uninitialized"},
}};
constexpr uint32_t kMapHugetlb = 0x40000;
constexpr int kMapHugeShift = 26;
constexpr uint32_t kMapHugeMask = 0x3f;

// The kernel's MAP_HUGE_* names: 21 -> "2MB", 30 -> "1GB", 16 -> "64KB".
std::string huge_page_size_name(uint32_t log2) {
    static constexpr std::array<const char*, 4> kUnits{"B", "KB", "MB", "GB"};
    size_t unit = std::min<size_t>(log2 / 10, kUnits.size() - 1);
    return std::to_string(uint64_t{1} << (log2 - 10 * unit)) + kUnits[unit];
}

void append_name(std::string& out, const std::string& name) {
    if (!out.empty()) out += '|';
    out += name;
}

}  // namespace

const char* access_name(Access access) {
    switch (access) {
    case Access::Read: return "read";
    case Access::Write: return "write";
    case Access::Exec: return "exec";
    }
    return "unknown";
}

std::string hex(uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
    return buf;
}

std::string prot_string(uint32_t prot) {
    std::string out;
    out += (prot & 0x1) ? 'r' : '-';
    out += (prot & 0x2) ? 'w' : '-';
    out += (prot & 0x4) ? 'x' : '-';
    uint32_t rest = prot & ~0x7u;
    if (rest & 0x8) out += "|sem";
    if (rest & 0x01000000) out += "|growsdown";
    if (rest & 0x02000000) out += "|growsup";
    rest &= ~(0x8u | 0x01000000u | 0x02000000u);
    if (rest) out += "|" + hex(rest);
    return out;
}

std::string mmap_flags_string(uint32_t flags) {
    std::string out;
    uint32_t rest = flags;
    const uint32_t type = flags & kMapTypeMask;
    bool type_named = false;
    for (const auto& [value, name] : kMapTypes) {
        if (type == value) {
            append_name(out, name);
            type_named = true;
        }
    }
    if (type_named) rest &= ~kMapTypeMask;

    uint32_t huge_log2 = 0;
    if (flags & kMapHugetlb) {
        huge_log2 = (flags >> kMapHugeShift) & kMapHugeMask;
        rest &= ~(kMapHugeMask << kMapHugeShift);
    }
    const uint32_t huge_size_bits = (flags & kMapHugetlb) ? kMapHugeMask << kMapHugeShift : 0;
    for (const auto& [value, name] : kMapFlags) {
        // With MAP_HUGETLB the bits from 26 up are a page size, not flags.
        if (!(flags & value) || (value & huge_size_bits)) continue;
        rest &= ~value;
        if (value == kMapHugetlb && huge_log2) {
            append_name(out, std::string(name) + "_" + huge_page_size_name(huge_log2));
        } else {
            append_name(out, name);
        }
    }
    if (rest) append_name(out, hex(rest));
    if (out.empty()) out = "0";
    return out;
}

std::string human_size(uint64_t bytes) {
    static constexpr std::array<const char*, 7> kUnits{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    size_t unit = 0;
    uint64_t whole = bytes;
    while (whole >= 1024 && unit + 1 < kUnits.size()) {
        whole /= 1024;
        ++unit;
    }
    const uint64_t scale = uint64_t{1} << (10 * unit);
    char buf[32];
    if (bytes % scale == 0) {
        std::snprintf(buf, sizeof(buf), "%" PRIu64 " %s", whole, kUnits[unit]);
    } else {
        std::snprintf(buf, sizeof(buf), "%.1f %s", static_cast<double>(bytes) / scale, kUnits[unit]);
    }
    return buf;
}

}  // namespace pagetrace
