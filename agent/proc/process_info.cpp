#include "proc/process_info.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace pagetrace {

namespace {

std::string proc_path(pid_t pid, const char* leaf) {
    return "/proc/" + std::to_string(pid) + "/" + leaf;
}

}  // namespace

std::optional<pid_t> thread_group_of(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    std::ifstream status(proc_path(pid, "status"));
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Tgid:", 0) == 0) {
            try {
                return static_cast<pid_t>(std::stol(line.substr(5)));
            } catch (...) {
                return std::nullopt;
            }
        }
    }
    return std::nullopt;
}

bool process_running(pid_t pid) {
    std::ifstream stat(proc_path(pid, "stat"));
    std::string text;
    if (!std::getline(stat, text)) return false;
    // The state follows the comm, which is in parentheses and may hold spaces.
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size()) return false;
    const char state = text[close + 2];
    return state != 'Z' && state != 'X' && state != 'x';
}

std::vector<pid_t> numbered_entries(const std::string& path) {
    std::vector<pid_t> out;
    DIR* dir = ::opendir(path.c_str());
    if (!dir) return out;
    while (const dirent* entry = ::readdir(dir)) {
        char* end = nullptr;
        const long n = std::strtol(entry->d_name, &end, 10);
        if (!*end && n > 0) out.push_back(static_cast<pid_t>(n));
    }
    ::closedir(dir);
    return out;
}

std::vector<pid_t> thread_ids(pid_t tgid) { return numbered_entries(proc_path(tgid, "task")); }

bool is_kernel_thread(pid_t pid) {
    constexpr unsigned long kPfKthread = 0x00200000;  // include/linux/sched.h
    std::ifstream stat(proc_path(pid, "stat"));
    std::string text;
    if (!std::getline(stat, text)) return false;
    const auto close = text.rfind(')');
    if (close == std::string::npos) return false;
    // After the comm: state, ppid, pgrp, session, tty_nr, tpgid, flags.
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    for (int i = 0; i < 6 && fields >> field; ++i) {
    }
    unsigned long flags = 0;
    return (fields >> flags) && (flags & kPfKthread) != 0;
}

std::string process_comm(pid_t pid) {
    std::ifstream comm(proc_path(pid, "comm"));
    std::string name;
    std::getline(comm, name);
    return name;
}

}  // namespace pagetrace
