// Facts about processes read from /proc.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace pagetrace {

// The thread-group id (process id) of `pid`, which may name any thread;
// nullopt if no such task exists.
std::optional<pid_t> thread_group_of(pid_t pid);

// True while `pid` exists and has not exited (zombies count as exited).
bool process_running(pid_t pid);

// True if `pid` is a kernel thread (PF_KTHREAD): it has no user address space.
bool is_kernel_thread(pid_t pid);

// The entries of a /proc directory named by positive numbers (/proc: the
// processes, /proc/PID/task: its threads, /proc/self/fd: open files); empty
// if it cannot be read.
std::vector<pid_t> numbered_entries(const std::string& dir);

// The threads of process `tgid` now (empty if it is gone).
std::vector<pid_t> thread_ids(pid_t tgid);

// The process name (comm), or "" if it is gone.
std::string process_comm(pid_t pid);

}  // namespace pagetrace
