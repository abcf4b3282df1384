#include "support/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
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

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, const SpawnOptions& options) {
    std::vector<char*> cargv;
    std::vector<std::string> copy = argv;
    for (auto& a : copy) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int out = open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0) _exit(120);
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        const int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, STDIN_FILENO);
        // Tests run pagetrace in its own process group so a signal sent to it
        // by a test is not also delivered to the test runner.
        setpgid(0, 0);
        if (options.uid) {
            const gid_t gid = static_cast<gid_t>(*options.uid);
            if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(*options.uid) != 0) {
                _exit(121);
            }
        }
        execv(cargv[0], cargv.data());
        _exit(127);
    }
}

Subprocess::~Subprocess() {
    if (pid_ > 0 && !reaped_) {
        kill(pid_, SIGKILL);
        int status;
        waitpid(pid_, &status, 0);
    }
}

void Subprocess::send_signal(int signum) const {
    if (pid_ > 0 && !reaped_) kill(pid_, signum);
}

std::optional<int> Subprocess::wait(double timeout_s) {
    const double deadline = now_s() + timeout_s;
    while (true) {
        int status = 0;
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            return shell_status(status);
        }
        if (r < 0 && errno != EINTR) return std::nullopt;
        if (now_s() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool wait_for_text(const std::string& path, const std::string& needle, double timeout_s) {
    const double deadline = now_s() + timeout_s;
    while (now_s() < deadline) {
        if (read_file(path).find(needle) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TempDir::TempDir() {
    char templ[] = "/tmp/pagetrace-test-XXXXXX";
    if (!mkdtemp(templ)) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
    // Workloads run as other users in some tests and write their reports here.
    chmod(path_.c_str(), 0777);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace pagetrace::test
