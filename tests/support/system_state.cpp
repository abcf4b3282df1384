#include "support/system_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace pagetrace::test {

namespace {

constexpr const char* kPrefix = "pagetrace-test-";
constexpr const char* kKsmDir = "/sys/kernel/mm/ksm/";
constexpr const char* kKsmLock = "/run/pagetrace-test-ksm.lock";
constexpr const char* kKsmSaved = "/run/pagetrace-test-ksm.saved";

std::runtime_error failure(const std::string& what, int err) {
    return std::runtime_error(what + ": " + std::strerror(err));
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    std::string text = out.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

// Writes value to a sysfs/cgroupfs file; the errno on failure (0: written).
int write_text(const std::string& path, const std::string& value) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const ssize_t n = ::write(fd, value.data(), value.size());
    const int err = n == static_cast<ssize_t>(value.size()) ? 0 : (n < 0 ? errno : EIO);
    ::close(fd);
    return err;
}

// "pagetrace-test-<what>-<pid>-<n>": a name of this process's.
std::string own_name(const std::string& what) {
    static std::atomic<int> counter{0};
    return std::string(kPrefix) + what + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(counter++);
}

// Whether `name` is one of ours (pagetrace-test-<what>-<pid>-...) of a
// process that no longer runs.
bool left_by_a_dead_run(const std::string& name, const std::string& what) {
    const std::string head = std::string(kPrefix) + what + "-";
    if (name.rfind(head, 0) != 0) return false;
    const pid_t pid = static_cast<pid_t>(std::strtol(name.c_str() + head.size(), nullptr, 10));
    return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> entries_of(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (const dirent* e = ::readdir(d)) out.emplace_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

// The swap header of a file of `pages` pages (the kernel's union swap_header,
// version 1): what mkswap writes, without relying on it being installed.
std::vector<char> swap_header(uint64_t pages, size_t page) {
    std::vector<char> header(page, 0);
    const uint32_t version = 1;
    const auto last_page = static_cast<uint32_t>(pages - 1);
    std::memcpy(header.data() + 1024, &version, sizeof(version));
    std::memcpy(header.data() + 1028, &last_page, sizeof(last_page));
    std::memcpy(header.data() + page - 10, "SWAPSPACE2", 10);
    return header;
}

}  // namespace

// ---------------------------------------------------------------- swap

SwapFile::SwapFile(uint64_t mib, const std::string& dir) {
    // Swap files of earlier test processes that died with them on.
    std::istringstream swaps(read_text("/proc/swaps"));
    std::string line;
    std::getline(swaps, line);  // the header
    while (std::getline(swaps, line)) {
        const std::string path = line.substr(0, line.find_first_of(" \t"));
        if (left_by_a_dead_run(base_name(path), "swap")) {
            ::swapoff(path.c_str());
            ::unlink(path.c_str());
        }
    }
    for (const std::string& name : entries_of(dir)) {
        if (left_by_a_dead_run(name, "swap")) ::unlink((dir + "/" + name).c_str());
    }

    path_ = dir + "/" + own_name("swap");
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t bytes = mib << 20;
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw failure("creating the swap file " + path_, errno);
    int err = 0;
    if (::posix_fallocate(fd, 0, static_cast<off_t>(bytes)) != 0) {
        // Without fallocate: zeros, written out (swap files may have no holes).
        std::vector<char> zeros(1 << 20, 0);
        for (uint64_t done = 0; done < bytes && !err; done += zeros.size()) {
            if (::write(fd, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size())) {
                err = errno ? errno : EIO;
            }
        }
    }
    const std::vector<char> header = swap_header(bytes / page, page);
    if (!err && ::pwrite(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) {
        err = errno;
    }
    if (!err && ::fsync(fd) != 0) err = errno;
    ::close(fd);
    if (err) {
        ::unlink(path_.c_str());
        throw failure("writing the swap file " + path_, err);
    }
    if (::swapon(path_.c_str(), 0) != 0) {
        err = errno;
        ::unlink(path_.c_str());
        throw failure("swapon " + path_ + " (swap files need a disk file system such as ext4; "
                      "the kernel needs CONFIG_SWAP)",
                      err);
    }
    on_ = true;
}

SwapFile::~SwapFile() {
    if (on_) ::swapoff(path_.c_str());  // pages in it come back to memory first
    ::unlink(path_.c_str());
}

// ---------------------------------------------------------------- KSM

KsmSettings::KsmSettings() {
    if (::access((std::string(kKsmDir) + "run").c_str(), W_OK) != 0) {
        throw failure(std::string("KSM cannot be controlled here (") + kKsmDir +
                          "run; the kernel needs CONFIG_KSM)",
                      errno);
    }
    // The lock file goes away with its last holder (the destructor unlinks
    // it, still locked): a lock won on a file already unlinked is retried on
    // the one now at the path.
    while (true) {
        lock_fd_ = ::open(kKsmLock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock_fd_ < 0) throw failure(std::string("opening ") + kKsmLock, errno);
        if (::flock(lock_fd_, LOCK_EX) != 0) {
            const int err = errno;
            ::close(lock_fd_);
            throw failure(std::string("locking ") + kKsmLock, err);
        }
        struct stat held{}, now{};
        if (::fstat(lock_fd_, &held) == 0 && ::stat(kKsmLock, &now) == 0 &&
            held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
            break;
        }
        ::close(lock_fd_);
    }
    // Saved values on disk with the lock free: their test process died
    // before it could put them back.
    saved_file_ = kKsmSaved;
    std::istringstream left(read_text(saved_file_));
    std::string knob, value;
    while (left >> knob >> value) saved_[knob] = value;
    restore();
}

void KsmSettings::set(const std::string& knob, const std::string& value) {
    const std::string path = std::string(kKsmDir) + knob;
    if (!saved_.count(knob)) {
        saved_[knob] = read_text(path);
        std::ofstream out(saved_file_, std::ios::trunc);
        for (const auto& [k, v] : saved_) out << k << ' ' << v << '\n';
    }
    if (const int err = write_text(path, value)) throw failure("writing " + value + " to " + path, err);
}

// The saved values back, `run` last (it starts or stops ksmd with the others in place).
void KsmSettings::restore() {
    for (const auto& [knob, value] : saved_) {
        if (knob != "run") write_text(std::string(kKsmDir) + knob, value);
    }
    if (auto run = saved_.find("run"); run != saved_.end()) {
        write_text(std::string(kKsmDir) + "run", run->second);
    }
    saved_.clear();
    ::unlink(saved_file_.c_str());
}

KsmSettings::~KsmSettings() {
    restore();
    if (lock_fd_ >= 0) {
        ::unlink(kKsmLock);  // while locked: nothing of this test stays behind
        ::close(lock_fd_);   // and with it the lock
    }
}

// ---------------------------------------------------------------- memory cgroup

namespace {

// The cgroup2 mount point, or "".
std::string cgroup2_mount() {
    std::istringstream mounts(read_text("/proc/mounts"));
    std::string device, dir, type, rest;
    while (mounts >> device >> dir >> type && std::getline(mounts, rest)) {
        if (type == "cgroup2") return dir;
    }
    return "";
}

bool has_word(const std::string& text, const std::string& word) {
    std::istringstream in(text);
    std::string w;
    while (in >> w) {
        if (w == word) return true;
    }
    return false;
}

void remove_left_cgroups(const std::string& base) {
    for (const std::string& name : entries_of(base)) {
        if (left_by_a_dead_run(name, "memcg")) ::rmdir((base + "/" + name).c_str());
    }
}

}  // namespace

MemoryCgroup::MemoryCgroup(uint64_t limit_bytes) {
    const std::string v1 = "/sys/fs/cgroup/memory";
    std::string base;
    std::string limit_file;
    if (::access((v1 + "/memory.limit_in_bytes").c_str(), F_OK) == 0) {
        base = v1;
        limit_file = "memory.limit_in_bytes";
    } else {
        base = cgroup2_mount();
        if (base.empty() || !has_word(read_text(base + "/cgroup.controllers"), "memory")) {
            throw std::runtime_error(
                "no memory cgroup controller: neither cgroup v1's " + v1 +
                " nor a cgroup2 hierarchy with the memory controller is mounted");
        }
        v2_ = true;
        limit_file = "memory.max";
        const std::string control = base + "/cgroup.subtree_control";
        if (!has_word(read_text(control), "memory")) {
            if (const int err = write_text(control, "+memory")) {
                throw failure("enabling the memory controller in " + control, err);
            }
            enabled_in_ = control;
        }
    }
    remove_left_cgroups(base);
    path_ = base + "/" + own_name("memcg");
    if (::mkdir(path_.c_str(), 0755) != 0) throw failure("creating the cgroup " + path_, errno);
    if (const int err = write_text(path_ + "/" + limit_file, std::to_string(limit_bytes))) {
        ::rmdir(path_.c_str());
        throw failure("setting " + path_ + "/" + limit_file, err);
    }
}

MemoryCgroup::~MemoryCgroup() {
    // A cgroup whose last process just exited may be busy for a moment.
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!enabled_in_.empty()) write_text(enabled_in_, "-memory");
}

}  // namespace pagetrace::test
