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
