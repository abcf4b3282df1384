#include "cli/preflight.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "util/error.h"

namespace pagetrace {

namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

bool has_effective_cap(const __user_cap_data_struct (&data)[2], int cap) {
    return (data[cap / 32].effective >> (cap % 32)) & 1u;
}

}  // namespace

void require_bpf_privileges() {
    if (::geteuid() == 0) return;
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) == 0) {
        if (has_effective_cap(data, kCapSysAdmin) ||
            (has_effective_cap(data, kCapBpf) && has_effective_cap(data, kCapPerfmon))) {
            return;
        }
    }
    throw Error(
        "tracing needs root to load BPF programs (or the capabilities CAP_BPF and "
        "CAP_PERFMON); run it with sudo. Replaying a recording needs no privileges.");
}

void require_btf(const std::string& btf_path) {
    const std::string path = btf_path.empty() ? "/sys/kernel/btf/vmlinux" : btf_path;
    if (::access(path.c_str(), R_OK) == 0) return;
    if (btf_path.empty()) {
        throw Error(
            "this kernel exposes no BTF type information (/sys/kernel/btf/vmlinux is "
            "missing): pagetrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or the "
            "kernel's BTF in a file given with --btf FILE");
    }
    throw Error(errno_message("cannot read BTF file " + path, errno));
}

}  // namespace pagetrace
