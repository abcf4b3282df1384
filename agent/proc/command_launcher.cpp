#include "proc/command_launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <sstream>

#include "util/error.h"

namespace pagetrace {

RunAsUser lookup_user(const std::string& name_or_id) {
    errno = 0;
    struct passwd* pw = getpwnam(name_or_id.c_str());
    if (!pw && !name_or_id.empty() &&
        name_or_id.find_first_not_of("0123456789") == std::string::npos) {
        pw = getpwuid(static_cast<uid_t>(std::stoul(name_or_id)));
    }
    if (!pw) throw Error("no such user: " + name_or_id, kExitUsage);
    RunAsUser user{pw->pw_name, pw->pw_uid, pw->pw_gid, {}, pw->pw_dir ? pw->pw_dir : "/"};
    int count = 32;
    user.groups.resize(static_cast<size_t>(count));
    while (getgrouplist(user.name.c_str(), user.gid, user.groups.data(), &count) < 0) {
        user.groups.resize(static_cast<size_t>(count));
    }
    user.groups.resize(static_cast<size_t>(count));
    return user;
}

namespace {

bool is_executable_file(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string resolve_command(const std::string& program) {
    if (program.empty()) throw Error("empty command name", kExitUsage);
    if (program.find('/') != std::string::npos) {
        struct stat st;
        if (::stat(program.c_str(), &st) != 0) {
            throw Error(program + ": command not found (" + std::strerror(errno) + ")",
                        kExitCommandNotFound);
        }
        if (!is_executable_file(program)) {
            throw Error(program + ": cannot execute (not an executable file)",
                        kExitCommandNotExecutable);
        }
        return program;
    }
    const char* path_env = std::getenv("PATH");
    std::istringstream dirs(path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        if (is_executable_file(candidate)) return candidate;
    }
    throw Error(program + ": command not found", kExitCommandNotFound);
}

int shell_exit_status(int wait_status) {
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return kExitFailure;
}

namespace {

extern "C" char** environ;

// The command's environment: ours, with HOME/USER/LOGNAME of --user.
std::vector<std::string> command_environment(const std::optional<RunAsUser>& user) {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        const std::string entry = *e;
        if (user && (entry.rfind("HOME=", 0) == 0 || entry.rfind("USER=", 0) == 0 ||
                     entry.rfind("LOGNAME=", 0) == 0)) {
            continue;
        }
        env.push_back(entry);
    }
    if (user) {
        env.push_back("HOME=" + user->home);
        env.push_back("USER=" + user->name);
        env.push_back("LOGNAME=" + user->name);
    }
    return env;
}

// Runs in the forked child: only async-signal-safe calls until execve.
// Everything it needs was prepared by the parent.
[[noreturn]] void child_main(int release_fd, int error_fd, const char* path, char* const* argv,
                             char* const* envp, const RunAsUser* user) {
    char byte = 0;
    ssize_t n;
    do {
        n = ::read(release_fd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(kExitFailure);  // the agent went away before releasing us

    // Undo what the agent changed for itself: exec keeps ignored signals ignored.
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    int err = 0;
    if (user && (::setgroups(user->groups.size(), user->groups.data()) != 0 ||
                 ::setgid(user->gid) != 0 || ::setuid(user->uid) != 0)) {
        err = errno;
    }
    if (err == 0) {
        ::execve(path, argv, envp);
        err = errno;
    }
    const int code = (err == ENOENT) ? kExitCommandNotFound : kExitCommandNotExecutable;
    // Tell the agent why; it reports it.
    [[maybe_unused]] ssize_t w = ::write(error_fd, &err, sizeof(err));
    _exit(code);
}

}  // namespace

LaunchedCommand::LaunchedCommand(std::vector<std::string> argv, std::optional<RunAsUser> user)
    : argv_(std::move(argv)) {
    int release_pipe[2];
    int error_pipe[2];
    if (::pipe2(release_pipe, O_CLOEXEC) != 0) throw Error(errno_message("pipe", errno));
    UniqueFd release_read(release_pipe[0]);
    release_fd_.reset(release_pipe[1]);
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) throw Error(errno_message("pipe", errno));
    error_fd_.reset(error_pipe[0]);
    UniqueFd error_write(error_pipe[1]);

    std::string path = resolve_command(argv_[0]);
    std::vector<char*> cargv;
    for (auto& arg : argv_) cargv.push_back(arg.data());
    cargv.push_back(nullptr);
    std::vector<std::string> env = command_environment(user);
    std::vector<char*> cenv;
    for (auto& entry : env) cenv.push_back(entry.data());
    cenv.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ < 0) throw Error(errno_message("fork", errno));
    if (pid_ == 0) {
        child_main(release_read.get(), error_write.get(), path.c_str(), cargv.data(), cenv.data(),
                   user ? &*user : nullptr);
    }
}

LaunchedCommand::~LaunchedCommand() {
    // A child never released exits as soon as its pipe closes: reap it.
    if (pid_ > 0 && release_fd_.valid() && !exit_status_) {
        release_fd_.reset();
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

void LaunchedCommand::release() {
    const char byte = 1;
    if (::write(release_fd_.get(), &byte, 1) != 1) {
        throw Error(errno_message("starting " + argv_[0], errno));
    }
    release_fd_.reset();
    int err = 0;
    ssize_t n;
    do {
        n = ::read(error_fd_.get(), &err, sizeof(err));
    } while (n < 0 && errno == EINTR);
    error_fd_.reset();
    if (n == static_cast<ssize_t>(sizeof(err))) {
        wait_exit();
        const int code = (err == ENOENT) ? kExitCommandNotFound : kExitCommandNotExecutable;
        throw Error(errno_message("cannot run " + argv_[0], err), code);
    }
}

std::optional<int> LaunchedCommand::poll_exit() {
    if (exit_status_ || pid_ <= 0) return exit_status_;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) exit_status_ = shell_exit_status(status);
    return exit_status_;
}

int LaunchedCommand::wait_exit() {
    while (!exit_status_) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, 0);
        if (r == pid_) {
            exit_status_ = shell_exit_status(status);
        } else if (r < 0 && errno != EINTR) {
            throw Error(errno_message("waiting for " + argv_[0], errno));
        }
    }
    return *exit_status_;
}

void LaunchedCommand::signal(int signum) {
    if (pid_ > 0 && !exit_status_) ::kill(pid_, signum);
}

}  // namespace pagetrace
