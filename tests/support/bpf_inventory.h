// What BPF programs and links are loaded in the kernel right now, to check that
// pagetrace leaves nothing behind.
#pragma once

#include <string>
#include <vector>

namespace pagetrace::test {

struct LoadedProgram {
    unsigned id;
    std::string name;
};

// Loaded BPF programs that are pagetrace's (the pt_* programs), any instance.
std::vector<LoadedProgram> loaded_pagetrace_programs();

// Number of BPF links whose program is one of pagetrace's.
size_t pagetrace_links();

}  // namespace pagetrace::test
