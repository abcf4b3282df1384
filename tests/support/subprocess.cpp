#include "support/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace pagetrace::test {

namespace {

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int shell_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char* const* argv, const SpawnOptions& options) {
    if (!options.terminal) {
        const int out = open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0) _exit(120);
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        const int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, STDIN_FILENO);
        // Its own process group, so that a signal a test sends to it is not
        // also delivered to the test runner. (On a terminal it leads a
        // session of its own already.)
        setpgid(0, 0);
    }
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(122);
    if (options.uid) {
        const gid_t gid = static_cast<gid_t>(*options.uid);
        if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(*options.uid) != 0) {
            _exit(121);
        }
    }
    execv(argv[0], argv);
    _exit(127);
}

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, const SpawnOptions& options) {
    std::vector<std::string> copy = argv;
    std::vector<char*> cargv;
    for (auto& a : copy) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    pid_ = options.terminal ? forkpty(&terminal_fd_, nullptr, nullptr, nullptr) : fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) exec_child(cargv.data(), options);
}

Subprocess::~Subprocess() {
    if (pid_ > 0 && !reaped_) {
        kill(pid_, SIGKILL);
        int status;
        waitpid(pid_, &status, 0);
    }
    if (terminal_fd_ >= 0) close(terminal_fd_);
}

void Subprocess::send_signal(int signum) const {
    if (pid_ > 0 && !reaped_) kill(pid_, signum);
}

std::optional<int> Subprocess::wait(double timeout_s) {
    if (reaped_) return shell_status(wait_status_);
    const double deadline = now_s() + timeout_s;
    while (true) {
        int status = 0;
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            wait_status_ = status;
            return shell_status(status);
        }
        if (r < 0 && errno != EINTR) return std::nullopt;
        if (now_s() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

RunResult run_program(const std::vector<std::string>& argv, const RunOptions& options) {
    TempDir dir;
    SpawnOptions spawn;
    spawn.stdout_path = dir.file("stdout");
    spawn.stderr_path = dir.file("stderr");
    spawn.cwd = options.cwd;
    spawn.uid = options.uid;
    RunResult result;
    {
        Subprocess program(argv, spawn);
        const std::optional<int> status = program.wait(options.timeout_s);
        result.timed_out = !status;
        result.status = status.value_or(-1);
    }  // killed here if it is still running
    result.out = read_file(spawn.stdout_path);
    result.err = read_file(spawn.stderr_path);
    return result;
}

RunResult run_pagetrace(const std::vector<std::string>& args, const RunOptions& options) {
    std::vector<std::string> argv = {PAGETRACE_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, options);
}

bool wait_for_text(const std::string& path, const std::string& needle, double timeout_s) {
    const double deadline = now_s() + timeout_s;
    while (now_s() < deadline) {
        if (read_file(path).find(needle) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

int wait_status_of_child(const std::function<void()>& body) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) != pid) {
        if (errno != EINTR) throw std::runtime_error("waitpid failed");
    }
    return status;
}

pid_t reaped_pid() {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) _exit(0);
    int status = 0;
    while (waitpid(pid, &status, 0) != pid) {
        if (errno != EINTR) throw std::runtime_error("waitpid failed");
    }
    return pid;
}

}  // namespace pagetrace::test
