// The pagemap and pagemap notes payloads of the recording format
// (docs/format.md "Pagemap", "Pagemap notes"); the rest is in format.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "record/format.h"

namespace pagetrace::recording {

// --- pagemap ----------------------------------------------------------------------

namespace {

constexpr uint8_t kPagemapPfnsVisible = 1;
constexpr uint8_t kPagemapPartial = 2;
constexpr uint8_t kPagemapContinuation = 4;

// Encodes pages [first, last) of the snapshot as one payload.
Bytes encode_pagemap_part(const PagemapSnapshot& s, uint32_t page_size, size_t first, size_t last,
                          bool continuation) {
    Bytes out;
    put<uint32_t>(out, s.pid);
    put<uint32_t>(out, page_size);
    put<uint64_t>(out, s.ts_ns);
    put<uint8_t>(out, static_cast<uint8_t>(s.kind));
    put<uint8_t>(out, static_cast<uint8_t>((s.pfns_visible ? kPagemapPfnsVisible : 0) |
                                           (s.partial ? kPagemapPartial : 0) |
                                           (continuation ? kPagemapContinuation : 0)));
    put<uint16_t>(out, 0);
    const size_t mappings = continuation ? 0 : s.mappings.size();
    put<uint32_t>(out, static_cast<uint32_t>(mappings));
    const size_t runs_at = out.size();
    put<uint32_t>(out, 0);  // runs, set below
    put<uint32_t>(out, 0);
    for (size_t i = 0; i < mappings; ++i) {
        const Mapping& m = s.mappings[i];
        put<uint64_t>(out, m.start);
        put<uint64_t>(out, m.end);
        put<uint64_t>(out, m.offset);
        put<uint64_t>(out, m.inode);
        put_string32(out, m.perms);
        put_string32(out, m.dev);
        put_string32(out, m.path);
    }
    uint32_t runs = 0;
    size_t i = first;
    while (i < last) {
        size_t j = i + 1;
        while (j < last && s.pages[j].vaddr == s.pages[j - 1].vaddr + page_size) ++j;
        put<uint64_t>(out, s.pages[i].vaddr);
        put<uint64_t>(out, j - i);
        for (size_t k = i; k < j; ++k) put<uint64_t>(out, s.pages[k].entry.raw);
        ++runs;
        i = j;
    }
    put_at<uint32_t>(out, runs_at, runs);
    return out;
}

}  // namespace

std::vector<Bytes> encode_pagemap(const PagemapSnapshot& s, uint32_t page_size) {
    std::vector<Bytes> parts;
    size_t first = 0;
    do {
        const size_t last = std::min(s.pages.size(), first + kMaxPagemapPagesPerChunk);
        parts.push_back(encode_pagemap_part(s, page_size, first, last, first > 0));
        first = last;
    } while (first < s.pages.size());
    return parts;
}

std::optional<std::string> decode_pagemap(std::span<const std::byte> payload, PagemapPart& out) {
    ByteReader in(payload);
    PagemapPart part;
    PagemapSnapshot& s = part.snapshot;
    uint8_t kind = 0;
    uint8_t flags = 0;
    uint16_t reserved16 = 0;
    uint32_t mappings = 0;
    uint32_t runs = 0;
    uint32_t reserved32 = 0;
    if (!in.get(s.pid) || !in.get(part.page_size) || !in.get(s.ts_ns) || !in.get(kind) ||
        !in.get(flags) || !in.get(reserved16) || !in.get(mappings) || !in.get(runs) ||
        !in.get(reserved32)) {
        return "pagemap payload shorter than its 32-byte header";
    }
    const uint32_t ps = part.page_size;
    if (ps < 4096 || (ps & (ps - 1)) != 0) return fmt::format("pagemap page size {}", ps);
    s.kind = static_cast<SnapshotKind>(kind);
    s.pfns_visible = flags & kPagemapPfnsVisible;
    s.partial = flags & kPagemapPartial;
    part.continuation = flags & kPagemapContinuation;
    // Every mapping takes at least 44 bytes: no allocation beyond the payload.
    if (mappings > in.remaining() / 44) {
        return fmt::format("pagemap payload lists {} mappings in {} bytes", mappings,
                           in.remaining());
    }
    s.mappings.reserve(mappings);
    for (uint32_t i = 0; i < mappings; ++i) {
        Mapping m;
        if (!in.get(m.start) || !in.get(m.end) || !in.get(m.offset) || !in.get(m.inode) ||
            !get_string32(in, m.perms) || !get_string32(in, m.dev) || !get_string32(in, m.path)) {
            return fmt::format("pagemap mapping {} of {} cut short", i, mappings);
        }
        s.mappings.push_back(std::move(m));
    }
    uint64_t next_free = 0;  // pages must come in increasing address order
    for (uint32_t r = 0; r < runs; ++r) {
        uint64_t start = 0;
        uint64_t count = 0;
        if (!in.get(start) || !in.get(count)) {
            return fmt::format("pagemap run {} of {}: header cut short", r, runs);
        }
        if (count == 0 || count > in.remaining() / sizeof(uint64_t)) {
            return fmt::format("pagemap run {} declares {} pages, {} bytes remain", r, count,
                               in.remaining());
        }
        if (start % ps || start < next_free || start > UINT64_MAX - count * ps + 1) {
            return fmt::format("pagemap run {} at {:#x} is unaligned, out of order or too long", r,
                               start);
        }
        for (uint64_t k = 0; k < count; ++k) {
            SnapshotPage page;
            page.vaddr = start + k * ps;
            in.get(page.entry.raw);
            s.pages.push_back(page);
        }
        next_free = start + (count - 1) * ps + ps;  // may wrap to 0 at the very top
        if (next_free == 0) next_free = UINT64_MAX;
    }
    if (!in.at_end()) return fmt::format("{} bytes after the last pagemap run", in.remaining());
    out = std::move(part);
    return std::nullopt;
}

// --- pagemap notes --------------------------------------------------------------

namespace {

constexpr uint32_t kHugePageZero = 1;
constexpr size_t kHugePageBytes = 24;  // vaddr, pfn, order, flags

}  // namespace

std::optional<Bytes> encode_pagemap_notes(const PagemapSnapshot& s) {
    if (!s.zero_pfn && s.huge_pages.empty()) return std::nullopt;
    Bytes out;
    put<uint32_t>(out, s.pid);
    put<uint32_t>(out, 0);
    put<uint64_t>(out, s.ts_ns);
    put<uint64_t>(out, s.zero_pfn);
    put<uint32_t>(out, static_cast<uint32_t>(s.huge_pages.size()));
    put<uint32_t>(out, 0);
    for (const HugePage& h : s.huge_pages) {
        put<uint64_t>(out, h.vaddr);
        put<uint64_t>(out, h.pfn);
        put<uint32_t>(out, h.order);
        put<uint32_t>(out, h.zero ? kHugePageZero : 0);
    }
    return out;
}

std::optional<std::string> decode_pagemap_notes(std::span<const std::byte> payload,
                                                PagemapNotes& out) {
    ByteReader in(payload);
    PagemapNotes notes;
    uint32_t reserved = 0;
    uint32_t count = 0;
    uint32_t reserved2 = 0;
    if (!in.get(notes.pid) || !in.get(reserved) || !in.get(notes.ts_ns) ||
        !in.get(notes.zero_pfn) || !in.get(count) || !in.get(reserved2)) {
        return "pagemap notes payload shorter than its 32-byte header";
    }
    if (count != in.remaining() / kHugePageBytes || in.remaining() % kHugePageBytes) {
        return fmt::format("pagemap notes list {} huge pages in {} bytes", count, in.remaining());
    }
    notes.huge_pages.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        HugePage h;
        uint32_t flags = 0;
        in.get(h.vaddr);
        in.get(h.pfn);
        in.get(h.order);
        in.get(flags);
        if (h.order == 0 || h.order > 18) {
            return fmt::format("pagemap notes: huge page {} has order {}", i, h.order);
        }
        h.zero = flags & kHugePageZero;
        notes.huge_pages.push_back(h);
    }
    out = std::move(notes);
    return std::nullopt;
}

}  // namespace pagetrace::recording
