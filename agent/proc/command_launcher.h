// Starting the command to trace so that none of its events is missed: the
// child is forked, parks on a pipe until the agent has put its pid into the
// in-kernel filter (as "pending exec"), and only then calls execve(). The BPF
// side switches it to traced at that execve, so the trace starts exactly with
// the new program and carries nothing of the agent's own forked copy.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "util/unique_fd.h"

namespace pagetrace {

struct RunAsUser {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups, as initgroups(3) would set
    std::string home;
};

// Looks up a user by name or numeric id; throws Error if there is none.
RunAsUser lookup_user(const std::string& name_or_id);

// Finds `program` the way a shell does (a name with '/' is used as is, others
// are searched in $PATH). Throws Error with exit status 127 if it is not found,
// 126 if it exists but cannot be executed.
std::string resolve_command(const std::string& program);

class LaunchedCommand {
public:
    // Forks the child, which waits for release(). Throws Error on failure.
    LaunchedCommand(std::vector<std::string> argv, std::optional<RunAsUser> user);
    LaunchedCommand(const LaunchedCommand&) = delete;
    LaunchedCommand& operator=(const LaunchedCommand&) = delete;
    ~LaunchedCommand();

    pid_t pid() const { return pid_; }

    // Lets the child exec and waits until it has (or failed to: then throws an
    // Error carrying 126/127 and the reason).
    void release();

    // Reaps the child if it has ended; returns its shell-style exit status
    // (code, or 128+signal) once known.
    std::optional<int> poll_exit();
    // Blocks until the child ends; returns the shell-style exit status.
    int wait_exit();

    // Sends a signal to the child if it is still running.
    void signal(int signum);

private:
    std::vector<std::string> argv_;
    pid_t pid_ = -1;
    UniqueFd release_fd_;  // write end: one byte lets the child exec
    UniqueFd error_fd_;    // read end: the child's errno if exec failed
    std::optional<int> exit_status_;
};

// Converts a wait(2) status into the exit status a shell would report.
int shell_exit_status(int wait_status);

}  // namespace pagetrace
