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

std::string kernel_dev_string(uint32_t dev) {
    return std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff);
}

std::string_view access_name(Access access) {
    switch (access) {
    case Access::Read: return "read";
    case Access::Write: return "write";
    case Access::Exec: return "exec";
    case Access::Unknown: return "unknown";
    }
    return "unknown";
}

std::string_view outcome_name(FaultOutcome outcome) {
    switch (outcome) {
    case FaultOutcome::Minor: return "minor";
    case FaultOutcome::Major: return "major";
    case FaultOutcome::Unaccounted: return "unaccounted";
    case FaultOutcome::Unknown: return "";
    }
    return "";
}

std::string madvise_advice_name(int32_t advice) {
    // include/uapi/asm-generic/mman-common.h
    static constexpr std::pair<int32_t, const char*> kAdvice[] = {
        {0, "normal"},          {1, "random"},          {2, "sequential"},
        {3, "willneed"},        {4, "dontneed"},        {8, "free"},
        {9, "remove"},          {10, "dontfork"},       {11, "dofork"},
        {12, "mergeable"},      {13, "unmergeable"},    {14, "hugepage"},
        {15, "nohugepage"},     {16, "dontdump"},       {17, "dodump"},
        {18, "wipeonfork"},     {19, "keeponfork"},     {20, "cold"},
        {21, "pageout"},        {22, "populate_read"},  {23, "populate_write"},
        {24, "dontneed_locked"}, {25, "collapse"},      {100, "hwpoison"},
        {101, "soft_offline"},  {102, "guard_install"}, {103, "guard_remove"},
    };
    for (const auto& [value, name] : kAdvice) {
        if (value == advice) return name;
    }
    return std::to_string(advice);
}

std::string mremap_flags_string(uint32_t flags) {
    std::string out;
    uint32_t rest = flags;
    static constexpr std::pair<uint32_t, const char*> kFlags[] = {
        {1, "maymove"}, {2, "fixed"}, {4, "dontunmap"}};
    for (const auto& [value, name] : kFlags) {
        if (flags & value) {
            append_name(out, name);
            rest &= ~value;
        }
    }
    if (rest) append_name(out, hex(rest));
    return out.empty() ? "0" : out;
}

const char* tlb_reason_name(uint32_t reason) {
    switch (reason) {
    case PT_TLB_TASK_SWITCH: return "task_switch";
    case PT_TLB_REMOTE_SHOOTDOWN: return "remote_shootdown";
    case PT_TLB_LOCAL_SHOOTDOWN: return "local_shootdown";
    case PT_TLB_LOCAL_MM_SHOOTDOWN: return "local_mm_shootdown";
    case PT_TLB_REMOTE_SEND_IPI: return "remote_send_ipi";
    case PT_TLB_REMOTE_WRONG_CPU: return "remote_wrong_cpu";
    }
    return "unknown";
}

const char* migrate_reason_name(uint32_t reason) {
    switch (reason) {
    case PT_MR_COMPACTION: return "compaction";
    case PT_MR_MEMORY_FAILURE: return "memory_failure";
    case PT_MR_MEMORY_HOTPLUG: return "memory_hotplug";
    case PT_MR_SYSCALL: return "syscall";
    case PT_MR_MEMPOLICY_MBIND: return "mempolicy_mbind";
    case PT_MR_NUMA_MISPLACED: return "numa_misplaced";
    case PT_MR_CONTIG_RANGE: return "contig_range";
    case PT_MR_LONGTERM_PIN: return "longterm_pin";
    case PT_MR_DEMOTION: return "demotion";
    case PT_MR_DAMON: return "damon";
    }
    return "unknown";
}

const char* migrate_mode_name(uint32_t mode) {
    switch (mode) {
    case PT_MIGRATE_ASYNC: return "async";
    case PT_MIGRATE_SYNC_LIGHT: return "sync_light";
    case PT_MIGRATE_SYNC: return "sync";
    case PT_MIGRATE_SYNC_NO_COPY: return "sync_no_copy";
    }
    return "unknown";
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out;
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
