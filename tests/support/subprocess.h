// Running programs from tests: stdout/stderr go to files, with timeouts and
// signals, optionally as another user.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace pagetrace::test {

struct SpawnOptions {
    std::string stdout_path = "/dev/null";
    std::string stderr_path = "/dev/null";
    std::optional<uid_t> uid;  // setgid/setuid to this id (and its gid) before exec
};

class Subprocess {
public:
    Subprocess(const std::vector<std::string>& argv, const SpawnOptions& options);
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;
    ~Subprocess();  // kills and reaps the process if still running

    pid_t pid() const { return pid_; }
    void send_signal(int signum) const;
    // Waits up to timeout_s; returns the shell-style exit status, or nullopt on timeout.
    std::optional<int> wait(double timeout_s);

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
};

std::string read_file(const std::string& path);

// Polls until `path` contains `needle` or the timeout passes.
bool wait_for_text(const std::string& path, const std::string& needle, double timeout_s);

// A fresh directory under /tmp, removed with its files on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

}  // namespace pagetrace::test
