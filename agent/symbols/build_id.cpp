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

// The header fields of one ELF class; tables with entries too small to hold
// their headers are ignored.
template <typename Ehdr, typename Phdr, typename Shdr>
bool read_class_headers(const ReadAt& read, uint64_t file_size, Headers& h) {
    Ehdr e;
    if (!read_struct(read, file_size, 0, e)) return false;
    h = {sizeof(Ehdr) == sizeof(Elf64_Ehdr), e.e_phoff, e.e_shoff, e.e_phentsize, e.e_phnum,
         e.e_shentsize, e.e_shnum};
    if (h.phnum && h.phentsize < sizeof(Phdr)) h.phnum = 0;
    if (h.shnum && h.shentsize < sizeof(Shdr)) h.shnum = 0;
    return true;
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
        if (!read_class_headers<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr>(read, file_size, h)) {
            problem = "ELF header cut short";
            return false;
        }
    } else if (ident[EI_CLASS] == ELFCLASS32) {
        if (!read_class_headers<Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr>(read, file_size, h)) {
            problem = "ELF header cut short";
            return false;
        }
    } else {
        problem = "unknown ELF class";
        return false;
    }
    return true;
}

// The note region described by entry `i` of a header table (program or
// section headers) of type Entry, if it is one: `region` picks it out.
template <typename Entry, typename Pick>
std::optional<Region> note_entry(const ReadAt& read, uint64_t size, uint64_t table, uint16_t entsize,
                                 size_t i, Pick region) {
    Entry e;
    if (!read_struct(read, size, table + static_cast<uint64_t>(i) * entsize, e)) return std::nullopt;
    return region(e);
}

template <typename Phdr>
std::optional<Region> segment_note(const Phdr& p) {
    if (p.p_type != PT_NOTE) return std::nullopt;
    return Region{p.p_offset, p.p_filesz, p.p_align};
}

template <typename Shdr>
std::optional<Region> section_note(const Shdr& s) {
    if (s.sh_type != SHT_NOTE) return std::nullopt;
    return Region{s.sh_offset, s.sh_size, s.sh_addralign};
}

std::optional<Region> note_segment(const ReadAt& read, uint64_t size, const Headers& h, size_t i) {
    return h.is64 ? note_entry<Elf64_Phdr>(read, size, h.phoff, h.phentsize, i,
                                           segment_note<Elf64_Phdr>)
                  : note_entry<Elf32_Phdr>(read, size, h.phoff, h.phentsize, i,
                                           segment_note<Elf32_Phdr>);
}

std::optional<Region> note_section(const ReadAt& read, uint64_t size, const Headers& h, size_t i) {
    return h.is64 ? note_entry<Elf64_Shdr>(read, size, h.shoff, h.shentsize, i,
                                           section_note<Elf64_Shdr>)
                  : note_entry<Elf32_Shdr>(read, size, h.shoff, h.shentsize, i,
                                           section_note<Elf32_Shdr>);
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
