// rusage_run: runs a command and reports what the kernel counted for it and
// everything it waited for: the oracle of fault accounting tests.
//
//   rusage_run --report FILE -- COMMAND [ARGS...]
//
// Appends "rusage PID MINFLT MAJFLT STATUS" to FILE: the command's pid, the
// minor and major faults of wait4(2)'s rusage (the command and its waited-for
// descendants) and its shell-style exit status; exits with that status.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKLOAD_NAME "rusage_run"
#include "workload_util.h"

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[1], "--report") || strcmp(argv[3], "--")) {
        fprintf(stderr, "usage: rusage_run --report FILE -- COMMAND [ARGS...]\n");
        return 2;
    }
    const char *report = argv[2];
    pid_t child = fork();
    if (child < 0) wl_die("fork");
    if (child == 0) {
        execvp(argv[4], argv + 4);
        wl_die("exec");
    }
    int status = 0;
    struct rusage ru;
    if (wait4(child, &status, 0, &ru) != child) wl_die("wait4");
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    wl_report(report, "rusage %d %ld %ld %d\n", (int)child, ru.ru_minflt, ru.ru_majflt, code);
    return code;
}
