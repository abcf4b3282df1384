#include "symbols/build_id.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "symbols/code_facts.h"
#include "util/unique_fd.h"

namespace pagetrace {

namespace {

constexpr uint64_t kMaxNoteBytes = 1u << 20;  // notes are small; refuse absurd sizes
constexpr size_t kMaxHeaders = 4096;          // program or section headers looked at

// The header fields both ELF classes share, widened.
struct Headers {
    bool is64 = true;
    uint64_t phoff = 0, shoff = 0;
    uint16_t phentsize = 0, phnum = 0, shentsize = 0, shnum = 0;
};

struct Region {
    uint64_t offset = 0;
    uint64_t size = 0;
    uint64_t align = 4;
};

template <typename T>
bool read_struct(const ReadAt& read, uint64_t file_size, uint64_t offset, T& out) {
    if (offset > file_size || file_size - offset < sizeof(T)) return false;
    return read(offset, &out, sizeof(T));
}

// Walks the notes of one region; the build-id if one of them is it.
std::optional<std::string> build_id_in(const ReadAt& read, uint64_t file_size, const Region& r) {
    if (r.size < 12 || r.size > kMaxNoteBytes || r.offset > file_size ||
        file_size - r.offset < r.size) {
        return std::nullopt;
    }
    std::vector<unsigned char> notes(r.size);
    if (!read(r.offset, notes.data(), notes.size())) return std::nullopt;
    // Notes are 4-byte aligned (8 when the segment says so, as in gold's and
    // lld's 8-aligned .note.gnu.property).
    const uint64_t align = r.align == 8 ? 8 : 4;
    auto up = [align](uint64_t v) { return (v + align - 1) & ~(align - 1); };
    uint64_t pos = 0;
    while (notes.size() - pos >= 12) {
        uint32_t namesz = 0, descsz = 0, type = 0;
        std::memcpy(&namesz, &notes[pos], 4);
        std::memcpy(&descsz, &notes[pos + 4], 4);
        std::memcpy(&type, &notes[pos + 8], 4);
        const uint64_t name_at = pos + 12;
        const uint64_t desc_at = name_at + up(namesz);
        const uint64_t next = desc_at + up(descsz);
        if (desc_at > notes.size() || descsz > notes.size() - desc_at) return std::nullopt;
        if (type == NT_GNU_BUILD_ID && namesz == 4 &&
            std::memcmp(&notes[name_at], "GNU", 4) == 0 && descsz > 0) {
            return std::string(reinterpret_cast<const char*>(&notes[desc_at]), descsz);
        }
        if (next <= pos || next > notes.size()) break;
        pos = next;
    }
    return std::nullopt;
}

bool read_headers(const ReadAt& read, uint64_t file_size, Headers& h, std::string& problem) {
    unsigned char ident[EI_NIDENT];
    if (!read_struct(read, file_size, 0, ident) || std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
        problem = "not an ELF file";
        return false;
    }
    if (ident[EI_DATA] != ELFDATA2LSB) {
        problem = "not a little-endian ELF file";
        return false;
    }
    if (ident[EI_CLASS] == ELFCLASS64) {
        Elf64_Ehdr e;
        if (!read_struct(read, file_size, 0, e)) {
            problem = "ELF header cut short";
            return false;
        }
        h = {true, e.e_phoff, e.e_shoff, e.e_phentsize, e.e_phnum, e.e_shentsize, e.e_shnum};
        if (h.phnum && h.phentsize < sizeof(Elf64_Phdr)) h.phnum = 0;
        if (h.shnum && h.shentsize < sizeof(Elf64_Shdr)) h.shnum = 0;
    } else if (ident[EI_CLASS] == ELFCLASS32) {
        Elf32_Ehdr e;
        if (!read_struct(read, file_size, 0, e)) {
            problem = "ELF header cut short";
            return false;
        }
        h = {false, e.e_phoff, e.e_shoff, e.e_phentsize, e.e_phnum, e.e_shentsize, e.e_shnum};
        if (h.phnum && h.phentsize < sizeof(Elf32_Phdr)) h.phnum = 0;
        if (h.shnum && h.shentsize < sizeof(Elf32_Shdr)) h.shnum = 0;
    } else {
        problem = "unknown ELF class";
        return false;
    }
    return true;
}

std::optional<Region> note_segment(const ReadAt& read, uint64_t size, const Headers& h, size_t i) {
    const uint64_t at = h.phoff + static_cast<uint64_t>(i) * h.phentsize;
    if (h.is64) {
        Elf64_Phdr p;
        if (!read_struct(read, size, at, p) || p.p_type != PT_NOTE) return std::nullopt;
        return Region{p.p_offset, p.p_filesz, p.p_align};
    }
    Elf32_Phdr p;
    if (!read_struct(read, size, at, p) || p.p_type != PT_NOTE) return std::nullopt;
    return Region{p.p_offset, p.p_filesz, p.p_align};
}

std::optional<Region> note_section(const ReadAt& read, uint64_t size, const Headers& h, size_t i) {
    const uint64_t at = h.shoff + static_cast<uint64_t>(i) * h.shentsize;
    if (h.is64) {
        Elf64_Shdr s;
        if (!read_struct(read, size, at, s) || s.sh_type != SHT_NOTE) return std::nullopt;
        return Region{s.sh_offset, s.sh_size, s.sh_addralign};
    }
    Elf32_Shdr s;
    if (!read_struct(read, size, at, s) || s.sh_type != SHT_NOTE) return std::nullopt;
    return Region{s.sh_offset, s.sh_size, s.sh_addralign};
}

}  // namespace

BuildIdResult parse_build_id(const ReadAt& read, uint64_t file_size) {
    BuildIdResult out;
    Headers h;
    if (!read_headers(read, file_size, h, out.problem)) return out;
    for (size_t i = 0; i < h.phnum && i < kMaxHeaders; ++i) {
        if (auto r = note_segment(read, file_size, h, i)) {
            if (auto id = build_id_in(read, file_size, *r)) {
                out.build_id = std::move(*id);
                return out;
            }
        }
    }
    for (size_t i = 0; i < h.shnum && i < kMaxHeaders; ++i) {
        if (auto r = note_section(read, file_size, h, i)) {
            if (auto id = build_id_in(read, file_size, *r)) {
                out.build_id = std::move(*id);
                return out;
            }
        }
    }
    return out;
}

BuildIdResult parse_build_id(std::span<const std::byte> file) {
    return parse_build_id(
        [file](uint64_t offset, void* dst, size_t n) {
            if (offset > file.size() || file.size() - offset < n) return false;
            std::memcpy(dst, file.data() + offset, n);
            return true;
        },
        file.size());
}

BuildIdResult read_build_id(int fd) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return {"", std::strerror(errno)};
    if (!S_ISREG(st.st_mode)) return {"", "not a regular file"};
    return parse_build_id(
        [fd](uint64_t offset, void* dst, size_t n) {
            size_t done = 0;
            while (done < n) {
                const ssize_t got = ::pread(fd, static_cast<char*>(dst) + done, n - done,
                                            static_cast<off_t>(offset + done));
                if (got < 0 && errno == EINTR) continue;
                if (got <= 0) return false;
                done += static_cast<size_t>(got);
            }
            return true;
        },
        static_cast<uint64_t>(st.st_size));
}

BuildIdResult read_build_id(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return {"", path + ": " + std::strerror(errno)};
    BuildIdResult r = read_build_id(fd.get());
    if (!r.problem.empty()) r.problem = path + ": " + r.problem;
    return r;
}

std::string build_id_hex(std::string_view build_id) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(build_id.size() * 2);
    for (const char c : build_id) {
        const auto b = static_cast<unsigned char>(c);
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

}  // namespace pagetrace
