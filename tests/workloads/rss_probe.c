// rss_probe CMD [ARGS...]: runs CMD with its output sent to /dev/null and
// prints "maxrss_kib=N status=S": the peak resident memory of CMD alone.
// (A test process that forks CMD itself would see its own, larger, memory in
// CMD's ru_maxrss: exec keeps the high-water mark of the image it replaces.
// This probe is small, so its child's figure is CMD's own.)
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: rss_probe CMD [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) != pid) return 1;
    printf("maxrss_kib=%ld status=%d\n", usage.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
