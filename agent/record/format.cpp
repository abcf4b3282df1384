#include "record/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "record/crc32c.h"

namespace pagetrace::recording {

namespace {

// Variable fields (of the header and of process payloads): u32 tag, u32
// length, then the bytes.
void put_field(Bytes& out, uint32_t tag, std::span<const std::byte> value) {
    put<uint32_t>(out, tag);
    put<uint32_t>(out, static_cast<uint32_t>(value.size()));
    out.insert(out.end(), value.begin(), value.end());
}

void put_text_field(Bytes& out, uint32_t tag, std::string_view text) {
    put_field(out, tag, as_byte_span(text));
}

// Calls visit(tag, value) for each field; returns the problem if the fields
// are malformed.
template <typename Visit>
std::optional<std::string> read_fields(ByteReader& in, Visit visit) {
    while (!in.at_end()) {
        uint32_t tag = 0;
        uint32_t len = 0;
        std::span<const std::byte> value;
        if (!in.get(tag) || !in.get(len)) {
            return fmt::format("field header cut short at offset {}", in.position());
        }
        if (!in.get_span(len, value)) {
            return fmt::format("field {} declares {} bytes, only {} remain", tag, len,
                               in.remaining());
        }
        if (auto err = visit(tag, value)) return err;
    }
    return std::nullopt;
}

std::string to_string(std::span<const std::byte> value) {
    return std::string(reinterpret_cast<const char*>(value.data()), value.size());
}

}  // namespace

// --- helpers -----------------------------------------------------------------

std::string join_nul(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        out += p;
        out += '\0';
    }
    return out;
}

std::vector<std::string> split_nul(std::string_view text) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\0', start);
        if (end == std::string_view::npos) end = text.size();
        parts.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

// --- header ---------------------------------------------------------------------

Bytes encode_header(const RecordingHeader& h) {
    Bytes out;
    put_bytes(out, kMagic.data(), kMagic.size());
    put<uint16_t>(out, h.version_major);
    put<uint16_t>(out, h.version_minor);
    put<uint32_t>(out, 0);  // header length, set below
    put<uint32_t>(out, h.abi_version);
    put<uint32_t>(out, h.page_size);
    put<uint64_t>(out, h.start_ns);
    put<int64_t>(out, h.clock_offset_ns);
    put<uint32_t>(out, 0);  // flags
    put<uint32_t>(out, 0);  // reserved

    put_text_field(out, static_cast<uint32_t>(HeaderTag::KernelRelease), h.kernel_release);
    put_text_field(out, static_cast<uint32_t>(HeaderTag::HostName), h.host_name);
    put_text_field(out, static_cast<uint32_t>(HeaderTag::Machine), h.machine);
    put_text_field(out, static_cast<uint32_t>(HeaderTag::AgentVersion), h.agent_version);
    put_text_field(out, static_cast<uint32_t>(HeaderTag::AgentArgv), join_nul(h.agent_argv));
    if (!h.command.empty()) {
        put_text_field(out, static_cast<uint32_t>(HeaderTag::Command), join_nul(h.command));
    }
    if (!h.pids.empty()) {
        Bytes pids;
        for (uint32_t pid : h.pids) put<uint32_t>(pids, pid);
        put_field(out, static_cast<uint32_t>(HeaderTag::Pids), pids);
    }
    put_text_field(out, static_cast<uint32_t>(HeaderTag::Options), h.options);

    put_at<uint32_t>(out, 12, static_cast<uint32_t>(out.size() + 4));
    put<uint32_t>(out, crc32c(out));
    return out;
}

HeaderResult decode_header(std::span<const std::byte> bytes, RecordingHeader& out,
                           bool verify_checksum) {
    auto result = [](HeaderStatus status, std::string message, size_t needed = 0) {
        return HeaderResult{status, std::move(message), needed};
    };
    const size_t magic_have = std::min(bytes.size(), kMagic.size());
    if (std::memcmp(bytes.data(), kMagic.data(), magic_have) != 0) {
        return result(HeaderStatus::NotRecording,
                      "not a pagetrace recording (no pagetrace signature at byte 0)");
    }
    if (bytes.size() < 16) {
        return result(HeaderStatus::Truncated,
                      fmt::format("the file header is cut short: {} bytes present", bytes.size()));
    }
    ByteReader in(bytes);
    in.skip(kMagic.size());
    RecordingHeader h;
    uint32_t header_len = 0;
    in.get(h.version_major);
    in.get(h.version_minor);
    in.get(header_len);
    if (h.version_major > kFormatMajor) {
        return result(HeaderStatus::NewerMajor,
                      fmt::format("recording format {}.{} is newer than this pagetrace reads "
                                  "({}.x); use a newer pagetrace",
                                  h.version_major, h.version_minor, kFormatMajor));
    }
    if (h.version_major == 0) {
        return result(HeaderStatus::Corrupt,
                      "file header at byte 8: format version 0 does not exist");
    }
    if (header_len < kFixedHeaderSize + 4 || header_len > kMaxHeaderSize) {
        return result(HeaderStatus::Corrupt,
                      fmt::format("file header at byte 12: header length {} is outside {}..{}",
                                  header_len, kFixedHeaderSize + 4, kMaxHeaderSize));
    }
    if (bytes.size() < header_len) {
        return result(HeaderStatus::Truncated,
                      fmt::format("the file header is cut short: {} of its {} bytes present",
                                  bytes.size(), header_len),
                      header_len);
    }
    uint32_t stored_crc = 0;
    std::memcpy(&stored_crc, bytes.data() + header_len - 4, 4);
    const uint32_t actual_crc = crc32c(bytes.first(header_len - 4));
    if (verify_checksum && stored_crc != actual_crc) {
        return result(HeaderStatus::Corrupt,
                      fmt::format("file header (bytes 0..{}): checksum mismatch (stored {:#010x}, "
                                  "computed {:#010x})",
                                  header_len, stored_crc, actual_crc));
    }

    ByteReader fixed(bytes.first(header_len - 4));
    fixed.skip(16);
    uint32_t flags = 0;
    uint32_t reserved = 0;
    fixed.get(h.abi_version);
    fixed.get(h.page_size);
    fixed.get(h.start_ns);
    fixed.get(h.clock_offset_ns);
    fixed.get(flags);
    fixed.get(reserved);
    h.header_size = header_len;
    auto err = read_fields(fixed, [&](uint32_t tag, std::span<const std::byte> value)
                                      -> std::optional<std::string> {
        switch (static_cast<HeaderTag>(tag)) {
        case HeaderTag::KernelRelease: h.kernel_release = to_string(value); break;
        case HeaderTag::HostName: h.host_name = to_string(value); break;
        case HeaderTag::Machine: h.machine = to_string(value); break;
        case HeaderTag::AgentVersion: h.agent_version = to_string(value); break;
        case HeaderTag::AgentArgv: h.agent_argv = split_nul(to_string(value)); break;
        case HeaderTag::Command: h.command = split_nul(to_string(value)); break;
        case HeaderTag::Options: h.options = to_string(value); break;
        case HeaderTag::Pids: {
            if (value.size() % 4) return fmt::format("pid list of {} bytes", value.size());
            h.pids.resize(value.size() / 4);
            if (!value.empty()) std::memcpy(h.pids.data(), value.data(), value.size());
            break;
        }
        default: ++h.unknown_fields; break;
        }
        return std::nullopt;
    });
    if (err) return result(HeaderStatus::Corrupt, "file header: " + *err);
    out = std::move(h);
    return {};
}

// --- chunks -----------------------------------------------------------------------

std::string chunk_type_name(uint16_t type) {
    switch (static_cast<ChunkType>(type)) {
    case ChunkType::Events: return "events";
    case ChunkType::Process: return "process";
    case ChunkType::Pagemap: return "pagemap";
    case ChunkType::Loss: return "loss";
    case ChunkType::Footer: return "footer";
    case ChunkType::PagemapNotes: return "pagemap_notes";
    case ChunkType::Images: return "images";
    case ChunkType::Symbols: return "symbols";
    case ChunkType::EventColumns: return "event_columns";
    }
    return fmt::format("type {:#06x}", type);
}

bool is_known_chunk_type(uint16_t type) {
    return (type >= static_cast<uint16_t>(ChunkType::Events) &&
            type <= static_cast<uint16_t>(ChunkType::Symbols)) ||
           type == static_cast<uint16_t>(ChunkType::EventColumns);
}

void encode_chunk_header(const ChunkHeader& h, std::span<std::byte, kChunkHeaderSize> out) {
    std::byte* p = out.data();
    std::memcpy(p, kChunkMarker.data(), 4);
    std::memcpy(p + 4, &h.type, 2);
    std::memcpy(p + 6, &h.flags, 2);
    std::memcpy(p + 8, &h.stored_size, 4);
    std::memcpy(p + 12, &h.raw_size, 4);
    std::memcpy(p + 16, &h.payload_crc, 4);
    const uint32_t header_crc = crc32c(out.first(20));
    std::memcpy(p + 20, &header_crc, 4);
}

std::optional<std::string> decode_chunk_header(std::span<const std::byte, kChunkHeaderSize> bytes,
                                               ChunkHeader& out, bool verify_checksum) {
    const std::byte* p = bytes.data();
    if (std::memcmp(p, kChunkMarker.data(), 4) != 0) return "no chunk marker";
    ChunkHeader h;
    uint32_t stored_crc = 0;
    std::memcpy(&h.type, p + 4, 2);
    std::memcpy(&h.flags, p + 6, 2);
    std::memcpy(&h.stored_size, p + 8, 4);
    std::memcpy(&h.raw_size, p + 12, 4);
    std::memcpy(&h.payload_crc, p + 16, 4);
    std::memcpy(&stored_crc, p + 20, 4);
    if (verify_checksum && crc32c(bytes.first(20)) != stored_crc) {
        return "chunk header checksum mismatch";
    }
    if (h.stored_size > kMaxChunkPayload || h.raw_size > kMaxChunkPayload) {
        return fmt::format("chunk declares {} stored / {} decompressed bytes, over the {} MiB limit",
                           h.stored_size, h.raw_size, kMaxChunkPayload >> 20);
    }
    if (h.flags & ~kChunkFlagZstd) {
        return fmt::format("unknown chunk flags {:#06x} (written by a newer pagetrace?)", h.flags);
    }
    if (!(h.flags & kChunkFlagZstd) && h.raw_size != h.stored_size) {
        return fmt::format("uncompressed chunk declares {} stored but {} raw bytes", h.stored_size,
                           h.raw_size);
    }
    out = h;
    return std::nullopt;
}

// --- process ----------------------------------------------------------------------

namespace {
enum class ProcessTag : uint32_t { Comm = 1, Exe = 2, Cmdline = 3, Maps = 4, Problems = 5 };
}

Bytes encode_process(const ProcessSnapshot& s) {
    Bytes out;
    put<uint32_t>(out, s.pid);
    put<uint32_t>(out, static_cast<uint32_t>(s.reason));
    put<uint64_t>(out, s.ts_ns);
    put_text_field(out, static_cast<uint32_t>(ProcessTag::Comm), s.comm);
    put_text_field(out, static_cast<uint32_t>(ProcessTag::Exe), s.exe);
    put_text_field(out, static_cast<uint32_t>(ProcessTag::Cmdline), s.cmdline);
    put_text_field(out, static_cast<uint32_t>(ProcessTag::Maps), s.maps);
    if (!s.problems.empty()) {
        put_text_field(out, static_cast<uint32_t>(ProcessTag::Problems), s.problems);
    }
    return out;
}

std::optional<std::string> decode_process(std::span<const std::byte> payload, ProcessSnapshot& out) {
    ByteReader in(payload);
    ProcessSnapshot s;
    uint32_t reason = 0;
    if (!in.get(s.pid) || !in.get(reason) || !in.get(s.ts_ns)) {
        return "process payload shorter than its 16-byte header";
    }
    s.reason = static_cast<SnapshotReason>(reason);
    auto err = read_fields(in, [&](uint32_t tag, std::span<const std::byte> value)
                                   -> std::optional<std::string> {
        switch (static_cast<ProcessTag>(tag)) {
        case ProcessTag::Comm: s.comm = to_string(value); break;
        case ProcessTag::Exe: s.exe = to_string(value); break;
        case ProcessTag::Cmdline: s.cmdline = to_string(value); break;
        case ProcessTag::Maps: s.maps = to_string(value); break;
        case ProcessTag::Problems: s.problems = to_string(value); break;
        default: break;  // a field of a newer minor version
        }
        return std::nullopt;
    });
    if (err) return "process payload: " + *err;
    out = std::move(s);
    return std::nullopt;
}

// --- images and symbols ----------------------------------------------------------

namespace {

enum class ImagesTag : uint32_t { Mapping = 1, Problems = 2 };
enum class SymbolsTag : uint32_t { KernelFunction = 1, KernelProblem = 2, JitMap = 3 };

// Defined with the pagemap payload, which uses them too.
void put_string32(Bytes& out, std::string_view text);
bool get_string32(ByteReader& in, std::string& out);

}  // namespace

Bytes encode_images(const ProcessImages& s) {
    Bytes out;
    put<uint32_t>(out, s.pid);
    put<uint32_t>(out, static_cast<uint32_t>(s.reason));
    put<uint64_t>(out, s.ts_ns);
    for (const ImageMapping& m : s.mappings) {
        Bytes value;
        put<uint64_t>(value, m.start);
        put<uint64_t>(value, m.end);
        put<uint64_t>(value, m.file_offset);
        put_string32(value, m.build_id);
        put_string32(value, m.path);
        put_field(out, static_cast<uint32_t>(ImagesTag::Mapping), value);
    }
    if (!s.problems.empty()) {
        put_text_field(out, static_cast<uint32_t>(ImagesTag::Problems), s.problems);
    }
    return out;
}

std::optional<std::string> decode_images(std::span<const std::byte> payload, ProcessImages& out) {
    ByteReader in(payload);
    ProcessImages s;
    uint32_t reason = 0;
    if (!in.get(s.pid) || !in.get(reason) || !in.get(s.ts_ns)) {
        return "images payload shorter than its 16-byte header";
    }
    s.reason = static_cast<ImagesReason>(reason);
    auto err = read_fields(in, [&](uint32_t tag, std::span<const std::byte> value)
                                   -> std::optional<std::string> {
        switch (static_cast<ImagesTag>(tag)) {
        case ImagesTag::Mapping: {
            ByteReader v(value);
            ImageMapping m;
            if (!v.get(m.start) || !v.get(m.end) || !v.get(m.file_offset) ||
                !get_string32(v, m.build_id) || !get_string32(v, m.path)) {
                return std::string("a mapping field is cut short");
            }
            if (m.end < m.start) return fmt::format("a mapping ends ({:#x}) before it starts ({:#x})",
                                                    m.end, m.start);
            s.mappings.push_back(std::move(m));
            break;
        }
        case ImagesTag::Problems: s.problems = to_string(value); break;
        default: break;  // a field of a newer minor version
        }
        return std::nullopt;
    });
    if (err) return "images payload: " + *err;
    out = std::move(s);
    return std::nullopt;
}

Bytes encode_symbols(const CapturedSymbols& s) {
    Bytes out;
    for (const KernelFunction& f : s.kernel) {
        Bytes value;
        put<uint64_t>(value, f.start);
        put<uint64_t>(value, f.size);
        put_bytes(value, f.name);
        put_field(out, static_cast<uint32_t>(SymbolsTag::KernelFunction), value);
    }
    if (!s.kernel_problem.empty()) {
        put_text_field(out, static_cast<uint32_t>(SymbolsTag::KernelProblem), s.kernel_problem);
    }
    for (const JitMap& j : s.jit) {
        Bytes value;
        put<uint32_t>(value, j.pid);
        put<uint32_t>(value, 0);
        put<uint64_t>(value, j.ts_ns);
        put_bytes(value, j.text);
        put_field(out, static_cast<uint32_t>(SymbolsTag::JitMap), value);
    }
    return out;
}

std::optional<std::string> decode_symbols(std::span<const std::byte> payload, CapturedSymbols& out) {
    ByteReader in(payload);
    CapturedSymbols s;
    auto err = read_fields(in, [&](uint32_t tag, std::span<const std::byte> value)
                                   -> std::optional<std::string> {
        ByteReader v(value);
        switch (static_cast<SymbolsTag>(tag)) {
        case SymbolsTag::KernelFunction: {
            KernelFunction f;
            if (!v.get(f.start) || !v.get(f.size) || !v.get_string(v.remaining(), f.name)) {
                return std::string("a kernel function field is cut short");
            }
            s.kernel.push_back(std::move(f));
            break;
        }
        case SymbolsTag::KernelProblem: s.kernel_problem = to_string(value); break;
        case SymbolsTag::JitMap: {
            JitMap j;
            uint32_t reserved = 0;
            if (!v.get(j.pid) || !v.get(reserved) || !v.get(j.ts_ns) ||
                !v.get_string(v.remaining(), j.text)) {
                return std::string("a JIT map field is cut short");
            }
            s.jit.push_back(std::move(j));
            break;
        }
        default: break;  // a field of a newer minor version
        }
        return std::nullopt;
    });
    if (err) return "symbols payload: " + *err;
    for (auto& f : s.kernel) out.kernel.push_back(std::move(f));
    if (!s.kernel_problem.empty()) out.kernel_problem = std::move(s.kernel_problem);
    for (auto& j : s.jit) out.jit.push_back(std::move(j));
    return std::nullopt;
}

// --- pagemap ----------------------------------------------------------------------

namespace {

constexpr uint8_t kPagemapPfnsVisible = 1;
constexpr uint8_t kPagemapPartial = 2;
constexpr uint8_t kPagemapContinuation = 4;

void put_string32(Bytes& out, std::string_view text) {
    put<uint32_t>(out, static_cast<uint32_t>(text.size()));
    put_bytes(out, text);
}

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

bool get_string32(ByteReader& in, std::string& out) {
    uint32_t len = 0;
    return in.get(len) && in.get_string(len, out);
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

// --- loss -------------------------------------------------------------------------

Bytes encode_loss(const LossRecord& l) {
    Bytes out;
    put<uint64_t>(out, l.ts_ns);
    put<uint64_t>(out, l.count);
    put<uint32_t>(out, static_cast<uint32_t>(l.reason));
    put<uint32_t>(out, static_cast<uint32_t>(l.detail.size()));
    put_bytes(out, l.detail);
    return out;
}

std::optional<std::string> decode_loss(std::span<const std::byte> payload, LossRecord& out) {
    ByteReader in(payload);
    LossRecord l;
    uint32_t reason = 0;
    uint32_t len = 0;
    if (!in.get(l.ts_ns) || !in.get(l.count) || !in.get(reason) || !in.get(len)) {
        return "loss payload shorter than its 24-byte header";
    }
    l.reason = static_cast<LossReason>(reason);
    if (!in.get_string(len, l.detail) || !in.at_end()) {
        return fmt::format("loss payload detail of {} bytes does not fill the payload", len);
    }
    out = std::move(l);
    return std::nullopt;
}

// --- footer -----------------------------------------------------------------------

Bytes encode_footer(const Footer& f) {
    Bytes out;
    put<uint64_t>(out, f.end_ns);
    put<uint64_t>(out, f.records);
    put<uint64_t>(out, f.lost);
    put<uint64_t>(out, f.event_bytes);
    put<uint64_t>(out, f.chunks);
    put<uint32_t>(out, static_cast<uint32_t>(f.end_reason));
    put<uint32_t>(out, f.signal);
    put<int32_t>(out, f.exit_status);
    put<uint32_t>(out, static_cast<uint32_t>(f.per_type.size()));
    for (const auto& [type, count] : f.per_type) {
        put<uint16_t>(out, type);
        put<uint16_t>(out, 0);
        put<uint32_t>(out, 0);
        put<uint64_t>(out, count);
    }
    return out;
}

std::optional<std::string> decode_footer(std::span<const std::byte> payload, Footer& out) {
    ByteReader in(payload);
    Footer f;
    uint32_t reason = 0;
    uint32_t types = 0;
    in.get(f.end_ns);
    in.get(f.records);
    in.get(f.lost);
    in.get(f.event_bytes);
    in.get(f.chunks);
    in.get(reason);
    in.get(f.signal);
    in.get(f.exit_status);
    if (!in.get(types)) return "footer payload shorter than its 56-byte header";
    f.end_reason = static_cast<EndReason>(reason);
    if (types > in.remaining() / 16 || in.remaining() != size_t{types} * 16) {
        return fmt::format("footer lists {} event types but holds {} bytes for them", types,
                           in.remaining());
    }
    for (uint32_t i = 0; i < types; ++i) {
        uint16_t type = 0;
        uint16_t pad16 = 0;
        uint32_t pad32 = 0;
        uint64_t count = 0;
        in.get(type);
        in.get(pad16);
        in.get(pad32);
        in.get(count);
        f.per_type.emplace_back(type, count);
    }
    out = std::move(f);
    return std::nullopt;
}

}  // namespace pagetrace::recording
