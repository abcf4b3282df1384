// Running programs from tests, unit and integration alike: a program with its
// arguments, in a directory, optionally as another user, stdout and stderr
// captured, a timeout, and the exit status as a shell reports it (128 + N for
// a program killed by signal N).
//
//   RunResult r = run_pagetrace({"info", "x.ptr"});      // to completion
//   Subprocess p(argv, options);                         // while it runs:
//   p.send_signal(SIGTERM); p.wait(10);                  // signal it, wait
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/files.h"

namespace pagetrace::test {

struct SpawnOptions {
    std::string stdout_path = "/dev/null";  // files stdout and stderr go to
    std::string stderr_path = "/dev/null";
    std::string cwd;            // where the program starts; "" for the test's own directory
    std::optional<uid_t> uid;   // setgid/setuid to this id (and its gid) before exec
    bool terminal = false;      // stdin, stdout and stderr on a new pseudo-terminal instead
                                // of the files (read it through terminal_fd())
};

// A program started with argv (argv[0] is a path, not searched in PATH), in
// its own process group, stdin from /dev/null.
class Subprocess {
public:
    Subprocess(const std::vector<std::string>& argv, const SpawnOptions& options);
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;
    ~Subprocess();  // kills and reaps the program if still running

    pid_t pid() const { return pid_; }
    void send_signal(int signum) const;
    // Waits up to timeout_s; the shell-style exit status, or nullopt on timeout.
    std::optional<int> wait(double timeout_s);
    // The wait(2) status behind wait()'s answer (WIFEXITED and so on), once it gave one.
    int wait_status() const { return wait_status_; }
    // The terminal's controlling side, with SpawnOptions::terminal (else -1).
    int terminal_fd() const { return terminal_fd_; }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int wait_status_ = 0;
    int terminal_fd_ = -1;
};

struct RunOptions {
    std::string cwd = {};                // "" for the test's own directory
    std::optional<uid_t> uid = {};       // as with SpawnOptions
    double timeout_s = 60;               // then the program is killed
};

struct RunResult {
    int status = -1;  // shell-style exit status; -1 if the program was killed at the timeout
    bool timed_out = false;
    std::string out;  // all it wrote to stdout
    std::string err;  // and to stderr
};

// Runs argv to completion (or to the timeout).
RunResult run_program(const std::vector<std::string>& argv, const RunOptions& options = {});

// Runs the pagetrace binary of this build (PAGETRACE_BIN) with `args`.
RunResult run_pagetrace(const std::vector<std::string>& args, const RunOptions& options = {});

// Polls until `path` contains `needle` or the timeout passes.
bool wait_for_text(const std::string& path, const std::string& needle, double timeout_s);

// Runs `body` in a forked child of the test, which then exits with status 0;
// the child's wait(2) status. For code that must run in a process of its own
// (resource limits, exit statuses), not for programs: those go through
// Subprocess or run_program.
int wait_status_of_child(const std::function<void()>& body);

// The pid of a process that has exited and been reaped: a process that is gone.
pid_t reaped_pid();

}  // namespace pagetrace::test
