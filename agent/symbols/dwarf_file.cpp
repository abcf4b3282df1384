#include "symbols/dwarf_file.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fmt/format.h>
#include <gelf.h>

#include <cstdlib>

#include "symbols/demangle.h"

namespace pagetrace {

namespace {

// libdwfl's own search for separate debug files: next to the file, in its
// .debug directory and under /usr/lib/debug (by build-id and by path), and
// debuginfod when the user has it configured.
char* g_debuginfo_path = nullptr;

const Dwfl_Callbacks kCallbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &g_debuginfo_path,
};

std::string base_name(const char* path) {
    std::string_view p(path);
    const size_t slash = p.rfind('/');
    return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

// The name of a DIE, following DW_AT_abstract_origin / DW_AT_specification.
std::string die_name(Dwarf_Die* die) {
    Dwarf_Attribute attr;
    if (const char* name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr))) {
        return name;
    }
    if (const char* linkage =
            dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr))) {
        return demangle(linkage);
    }
    return "?";
}

}  // namespace

struct DwarfFile::Handle {
    Dwfl* dwfl = nullptr;
    Dwfl_Module* module = nullptr;
    ~Handle() {
        if (dwfl) dwfl_end(dwfl);
    }
};

DwarfFile::~DwarfFile() = default;

std::unique_ptr<DwarfFile> DwarfFile::open(const std::string& path, std::string& problem) {
    std::unique_ptr<DwarfFile> file(new DwarfFile());
    file->handle_ = std::make_unique<Handle>();
    Handle& h = *file->handle_;
    h.dwfl = dwfl_begin(&kCallbacks);
    if (!h.dwfl) {
        problem = fmt::format("libdwfl: {}", dwfl_errmsg(-1));
        return nullptr;
    }
    dwfl_report_begin(h.dwfl);
    // Reported at its link-time addresses (base 0): offsets map to them
    // through the program headers.
    h.module = dwfl_report_elf(h.dwfl, base_name(path.c_str()).c_str(), path.c_str(), -1, 0, false);
    dwfl_report_end(h.dwfl, nullptr, nullptr);
    if (!h.module) {
        problem = fmt::format("{}: {}", path, dwfl_errmsg(-1));
        return nullptr;
    }
    GElf_Addr bias = 0;
    Elf* elf = dwfl_module_getelf(h.module, &bias);
    if (!elf) {
        problem = fmt::format("{}: {}", path, dwfl_errmsg(-1));
        return nullptr;
    }
    file->bias_ = bias;
    size_t phnum = 0;
    if (elf_getphdrnum(elf, &phnum) == 0) {
        for (size_t i = 0; i < phnum; ++i) {
            GElf_Phdr mem;
            const GElf_Phdr* ph = gelf_getphdr(elf, static_cast<int>(i), &mem);
            if (ph && ph->p_type == PT_LOAD) {
                file->loads_.push_back({ph->p_offset, ph->p_filesz, ph->p_vaddr});
            }
        }
    }
    Dwarf_Addr dwbias = 0;
    file->has_dwarf_ = dwfl_module_getdwarf(h.module, &dwbias) != nullptr;
    return file;
}

CodeLocation DwarfFile::locate(uint64_t file_offset) const {
    CodeLocation out;
    uint64_t vaddr = 0;
    bool mapped = false;
    for (const Segment& s : loads_) {
        if (file_offset >= s.offset && file_offset - s.offset < s.filesz) {
            vaddr = s.vaddr + (file_offset - s.offset);
            mapped = true;
            break;
        }
    }
    if (!mapped) return out;
    const GElf_Addr addr = vaddr + bias_;
    Dwfl_Module* mod = handle_->module;

    GElf_Off offset = 0;
    GElf_Sym sym;
    if (const char* name = dwfl_module_addrinfo(mod, addr, &offset, &sym, nullptr, nullptr, nullptr)) {
        out.sym = fmt::format("{}+{:#x}", demangle(name), offset);
    }
    if (!has_dwarf_) return out;
    if (Dwfl_Line* line = dwfl_module_getsrc(mod, addr)) {
        int lineno = 0;
        if (const char* src = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
            out.src = fmt::format("{}:{}", base_name(src), lineno);
        }
    }
    Dwarf_Addr cu_bias = 0;
    if (Dwarf_Die* cu = dwfl_module_addrdie(mod, addr, &cu_bias)) {
        Dwarf_Die* scopes = nullptr;
        const int n = dwarf_getscopes(cu, addr - cu_bias, &scopes);
        for (int i = 0; i < n; ++i) {
            if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine) {
                out.inlined.push_back(die_name(&scopes[i]));
            }
        }
        std::free(scopes);
    }
    return out;
}

}  // namespace pagetrace
