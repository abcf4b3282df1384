#include "support/bpf_inventory.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>
#include <set>

namespace pagetrace::test {

namespace {

// Program names of bpf/*.bpf.c (the kernel keeps the first 15 characters).
const std::set<std::string> kProgramNames = {
    "pt_fault_user", "pt_fault_kernel", "pt_sys_enter", "pt_sys_exit",
    "pt_fork",       "pt_exec",         "pt_exit",
};

std::set<__u32> pagetrace_program_ids(std::vector<LoadedProgram>* programs) {
    std::set<__u32> ids;
    __u32 id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        const int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && kProgramNames.count(info.name)) {
            ids.insert(id);
            if (programs) programs->push_back({id, info.name});
        }
        close(fd);
    }
    return ids;
}

}  // namespace

std::vector<LoadedProgram> loaded_pagetrace_programs() {
    std::vector<LoadedProgram> programs;
    pagetrace_program_ids(&programs);
    return programs;
}

size_t pagetrace_links() {
    const std::set<__u32> progs = pagetrace_program_ids(nullptr);
    size_t count = 0;
    __u32 id = 0;
    while (bpf_link_get_next_id(id, &id) == 0) {
        const int fd = bpf_link_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_link_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && progs.count(info.prog_id)) ++count;
        close(fd);
    }
    return count;
}

}  // namespace pagetrace::test
