// Checks made before loading BPF, each failing with one line that says what is
// missing and how to fix it.
#pragma once

#include <string>

namespace pagetrace {

// Root, or CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN) in the effective set.
void require_bpf_privileges();

// The kernel's BTF (or the file given with --btf) is there to be read.
void require_btf(const std::string& btf_path);

}  // namespace pagetrace
