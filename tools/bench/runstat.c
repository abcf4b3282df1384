// runstat: runs a command and reports what that one process cost, itself only.
//
//   runstat STATS_FILE CMD [ARGS...]
//
// CMD keeps this program's stdin, stdout and stderr. When it ends, one line
// goes to STATS_FILE ("-": stderr):
//   wall_s=W user_s=U sys_s=S hwm_kib=H status=X
// wall_s: fork to reap. user_s/sys_s: CPU time of CMD's process (all its
// threads), not of the children it waited for. hwm_kib: CMD's peak resident
// memory (VmHWM). status: shell style (128 + N when killed by signal N); it is
// also runstat's own exit status.
//
// Why not wait4's rusage: it adds the CPU time and takes the larger peak RSS
// of every child CMD waited for, and a tracer waits for the program it traces,
// which is usually the larger one. And exec keeps the high-water mark of the
// image it replaced. So runstat traces CMD with ptrace, options
// PTRACE_O_TRACEEXIT only (children and threads are not traced), and reads
// /proc/PID/stat and /proc/PID/status at the exit stop, when the process has
// finished but still has its memory.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile pid_t child_pid;

static void forward_signal(int sig) {
    if (child_pid > 0) kill(child_pid, sig);
}

struct sample {
    int valid;
    double user_s, sys_s;
    long hwm_kib;
};

static void read_proc(pid_t pid, struct sample *s) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    // Fields after the command name, which may hold spaces: from the last ')'.
    char *p = strrchr(buf, ')');
    if (!p) return;
    unsigned long utime = 0, stime = 0;
    // ) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return;
    const double tick = (double)sysconf(_SC_CLK_TCK);
    s->user_s = (double)utime / tick;
    s->sys_s = (double)stime / tick;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) s->hwm_kib = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    s->valid = 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: runstat STATS_FILE CMD [ARGS...]\n");
        return 2;
    }
    const char *stats_path = argv[1];
    const double start = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("runstat: fork");
        return 1;
    }
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) _exit(126);
        raise(SIGSTOP);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "runstat: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    // A stop request for runstat (Ctrl-C, timeout(1)'s SIGTERM) is passed on
    // to CMD, which ends as it would have alone; runstat still reports it.
    child_pid = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    struct sample s = {0};
    int status = 0, first = 1;
    for (;;) {
        if (waitpid(pid, &status, 0) < 0) {
            if (errno == EINTR) continue;
            perror("runstat: waitpid");
            return 1;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) break;
        if (!WIFSTOPPED(status)) continue;
        int deliver = 0;
        const int event = status >> 16;
        if (first && WSTOPSIG(status) == SIGSTOP) {
            first = 0;
            ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC));
        } else if (event == PTRACE_EVENT_EXIT) {
            read_proc(pid, &s);
        } else if (event == PTRACE_EVENT_EXEC) {
            // nothing: the new image starts
        } else if (event == 0) {
            deliver = WSTOPSIG(status);  // a signal for CMD: pass it on
        }
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)deliver);
    }
    const double wall = now_s() - start;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    FILE *out = strcmp(stats_path, "-") == 0 ? stderr : fopen(stats_path, "w");
    if (!out) {
        fprintf(stderr, "runstat: cannot write %s: %s\n", stats_path, strerror(errno));
        return 1;
    }
    if (s.valid) {
        fprintf(out, "wall_s=%.6f user_s=%.2f sys_s=%.2f hwm_kib=%ld status=%d\n", wall, s.user_s,
                s.sys_s, s.hwm_kib, code);
    } else {
        fprintf(out, "wall_s=%.6f user_s=- sys_s=- hwm_kib=- status=%d\n", wall, code);
    }
    if (out != stderr) fclose(out);
    return code;
}
