// One ELF file's code locations through elfutils' libdwfl: the symbol table
// for function + offset, DWARF (in the file, or found by libdwfl through
// .gnu_debuglink, /usr/lib/debug/.build-id/ and debuginfod when
// DEBUGINFOD_URLS is set) for file:line and inlined frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "symbols/symbolizer.h"

namespace pagetrace {

class DwarfFile {
public:
    // Opens `path`; nullptr with `problem` set if libdwfl cannot read it.
    static std::unique_ptr<DwarfFile> open(const std::string& path, std::string& problem);
    ~DwarfFile();
    DwarfFile(const DwarfFile&) = delete;
    DwarfFile& operator=(const DwarfFile&) = delete;

    // The location of the code at `file_offset` in the file (an ip of a
    // mapping is at offset ip - start + the mapping's file offset). dso is
    // left to the caller; label and json are not filled in.
    CodeLocation locate(uint64_t file_offset) const;
    bool has_dwarf() const { return has_dwarf_; }

private:
    struct Segment {
        uint64_t offset, filesz, vaddr;
    };
    DwarfFile() = default;
    struct Handle;
    std::unique_ptr<Handle> handle_;
    std::vector<Segment> loads_;
    uint64_t bias_ = 0;
    bool has_dwarf_ = false;
};

}  // namespace pagetrace
