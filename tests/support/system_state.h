// Settings of the machine that integration tests change, each owned by one
// object that undoes it in its destructor, whatever the test's outcome:
// a swap file of its own, the KSM knobs, a memory cgroup of its own. Each
// touches only what it created or saved, names what it creates after the
// test process (pagetrace-test-<pid>-...), and on construction first undoes
// what an earlier test process that died without cleaning up left behind.
// Constructors throw std::runtime_error with what failed and how to fix it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace pagetrace::test {

// A swap file, on for the object's life (swapoff and removed after).
class SwapFile {
public:
    // Made in `dir` (swap files need a disk file system: ext4, xfs, ...).
    SwapFile(uint64_t mib, const std::string& dir = "/var/tmp");
    ~SwapFile();
    SwapFile(const SwapFile&) = delete;
    SwapFile& operator=(const SwapFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
    bool on_ = false;
};

// /sys/kernel/mm/ksm/*: the values written through set() go back to what
// they were. One test process at a time holds them (a lock file), so two test
// runs never see each other's settings.
class KsmSettings {
public:
    KsmSettings();
    ~KsmSettings();
    KsmSettings(const KsmSettings&) = delete;
    KsmSettings& operator=(const KsmSettings&) = delete;
    void set(const std::string& knob, const std::string& value);

private:
    void restore();
    int lock_fd_ = -1;
    std::map<std::string, std::string> saved_;  // knob -> value before
    std::string saved_file_;  // the saved values on disk, for a run that dies
};

// A memory cgroup of its own with a memory limit: cgroup v1's memory
// controller (memory.limit_in_bytes) where it is mounted, else cgroup v2
// (memory.max). Removed when the object goes (its processes must be gone).
class MemoryCgroup {
public:
    explicit MemoryCgroup(uint64_t limit_bytes);
    ~MemoryCgroup();
    MemoryCgroup(const MemoryCgroup&) = delete;
    MemoryCgroup& operator=(const MemoryCgroup&) = delete;
    // Writing a pid here moves that process in.
    std::string procs_file() const { return path_ + "/cgroup.procs"; }
    const std::string& path() const { return path_; }
    bool v2() const { return v2_; }

private:
    std::string path_;
    bool v2_ = false;
    std::string enabled_in_;  // v2: the subtree_control file "+memory" was written to
};

}  // namespace pagetrace::test
