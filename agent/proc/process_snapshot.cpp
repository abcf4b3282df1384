#include "proc/process_snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "util/unique_fd.h"

namespace pagetrace {

namespace {

// Caps that keep a process chunk well inside the format's 16 MiB limit.
constexpr size_t kMaxMapsBytes = 8u << 20;
constexpr size_t kMaxCmdlineBytes = 4u << 20;

// Reads a /proc file whole (up to `cap` bytes); on failure returns false with
// the reason appended to `problems`.
bool read_proc_file(const std::string& path, size_t cap, std::string& out, std::string& problems) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        problems += path + ": " + std::strerror(errno) + "\n";
        return false;
    }
    out.clear();
    char buf[16384];
    while (out.size() < cap) {
        const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) continue;
            problems += path + ": " + std::strerror(errno) + "\n";
            return false;
        }
        if (n == 0) return true;
        out.append(buf, std::min(static_cast<size_t>(n), cap - out.size()));
    }
    problems += path + ": truncated to " + std::to_string(cap) + " bytes\n";
    return true;
}

}  // namespace

ProcessSnapshot read_process_snapshot(uint32_t pid, SnapshotReason reason, uint64_t ts_ns) {
    ProcessSnapshot s;
    s.pid = pid;
    s.reason = reason;
    s.ts_ns = ts_ns;
    const std::string dir = "/proc/" + std::to_string(pid) + "/";
    if (read_proc_file(dir + "comm", 64, s.comm, s.problems) && !s.comm.empty() &&
        s.comm.back() == '\n') {
        s.comm.pop_back();
    }
    char exe[4096];
    const ssize_t n = ::readlink((dir + "exe").c_str(), exe, sizeof(exe));
    if (n >= 0) {
        s.exe.assign(exe, static_cast<size_t>(n));
    } else {
        s.problems += dir + "exe: " + std::strerror(errno) + "\n";
    }
    read_proc_file(dir + "cmdline", kMaxCmdlineBytes, s.cmdline, s.problems);
    read_proc_file(dir + "maps", kMaxMapsBytes, s.maps, s.problems);
    return s;
}

}  // namespace pagetrace
