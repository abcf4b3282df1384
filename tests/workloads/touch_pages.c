// touch_pages: maps a region of N pages, touches each page exactly once, unmaps
// it and reports what it did, so tests can compare a trace with the truth.
//
//   touch_pages --pages N [--report FILE] [--fork-pages M] [--kernel-read]
//               [--wait-signal] [--loop] [--exit-code C]
//
// Report lines (appended to FILE, one write each):
//   pid PID
//   region PID ADDR LEN MODE      MODE: user (stores) or kernel (read(2) into it)
//   child PID                     the pid of the forked child (--fork-pages)
// --wait-signal: report "ready PID" and wait for SIGUSR1 before mapping.
// --loop: repeat map/touch/unmap until SIGTERM/SIGINT.
// --hold: after touching, report the frame of every page from its own pagemap
//   ("pfn before ADDR PFN"), report "held PID", wait for SIGUSR2, report the
//   frames again ("pfn after ADDR PFN"), then unmap: the truth about what moved.
// --window: around the touching, read the kernel's own fault counters
//   (getrusage) and CLOCK_MONOTONIC; report "window T0 T1 FAULTS" and wait for
//   SIGUSR2 before going on (so nothing else happens until the test says so).
// --free-every-other: after touching, give every other page back to the kernel
//   (MADV_DONTNEED): physical memory is left fragmented for whoever allocates next.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKLOAD_NAME "touch_pages"
#include "workload_util.h"

static const char *report_path;
static volatile sig_atomic_t got_go;
static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_release;

static void on_go(int sig) { (void)sig; got_go = 1; }
static void on_stop(int sig) { (void)sig; got_stop = 1; }
static void on_release(int sig) { (void)sig; got_release = 1; }

static void die(const char *what) { wl_die(what); }

#define report(...) wl_report(report_path, __VA_ARGS__)

// Catches `sig` with `handler` and blocks it (the mask before goes to *old),
// so that a sigsuspend(old) cannot miss it.
static void catch_blocked(int sig, void (*handler)(int), sigset_t *old) {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, sig);
    signal(sig, handler);
    sigprocmask(SIG_BLOCK, &block, old);
}

// Reports the frame backing each page of the region, read from /proc/self/pagemap.
static void report_frames(const char *when, char *region, size_t pages) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open pagemap");
    unsigned long long *entries = malloc(pages * sizeof(*entries));
    if (!entries) die("malloc");
    off_t offset = (off_t)((uintptr_t)region / page * sizeof(*entries));
    if (pread(fd, entries, pages * sizeof(*entries), offset) != (ssize_t)(pages * sizeof(*entries)))
        die("pread pagemap");
    close(fd);
    // One write per batch of lines keeps the report readable while it grows.
    char *text = malloc(pages * 64 + 1);
    if (!text) die("malloc");
    size_t used = 0;
    for (size_t i = 0; i < pages; i++) {
        unsigned long long e = entries[i];
        unsigned long long pfn = (e >> 63) & 1 ? e & ((1ULL << 55) - 1) : 0;
        used += (size_t)sprintf(text + used, "pfn %s %p %llu\n", when, (void *)(region + i * page), pfn);
    }
    if (report_path) {
        wl_append(report_path, text, used);
    } else if (write(2, text, used) != (ssize_t)used) {
        die("write report");
    }
    free(text);
    free(entries);
}

// Maps `pages` pages and faults each in exactly once; returns the region.
static char *touch_region(size_t pages, int kernel_read, size_t *len_out) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t len = pages * page;
    char *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) die("mmap");
    // One fault per 4 KiB page: no transparent huge pages for this region.
    if (madvise(region, len, MADV_NOHUGEPAGE) != 0) die("madvise");
    if (kernel_read) {
        // The kernel writes the pages inside read(): faults taken in kernel mode.
        int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("open /dev/zero");
        size_t done = 0;
        while (done < len) {
            ssize_t n = read(fd, region + done, len - done);
            if (n <= 0) die("read /dev/zero");
            done += (size_t)n;
        }
        close(fd);
    } else {
        for (size_t i = 0; i < pages; i++) ((volatile char *)region)[i * page] = (char)i;
    }
    report("region %d %p %zu %s\n", getpid(), (void *)region, len, kernel_read ? "kernel" : "user");
    *len_out = len;
    return region;
}

static void unmap_region(char *region, size_t len) {
    if (munmap(region, len) != 0) die("munmap");
}

int main(int argc, char **argv) {
    size_t pages = 0, fork_pages = 0;
    int kernel_read = 0, wait_signal = 0, loop = 0, exit_code = 0, hold = 0, free_odd = 0;
    int window = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--pages") && v) pages = strtoull(v, NULL, 0), i++;
        else if (!strcmp(a, "--report") && v) report_path = v, i++;
        else if (!strcmp(a, "--fork-pages") && v) fork_pages = strtoull(v, NULL, 0), i++;
        else if (!strcmp(a, "--exit-code") && v) exit_code = atoi(v), i++;
        else if (!strcmp(a, "--kernel-read")) kernel_read = 1;
        else if (!strcmp(a, "--wait-signal")) wait_signal = 1;
        else if (!strcmp(a, "--loop")) loop = 1;
        else if (!strcmp(a, "--hold")) hold = 1;
        else if (!strcmp(a, "--free-every-other")) free_odd = 1;
        else if (!strcmp(a, "--window")) window = 1;
        else {
            fprintf(stderr, "usage: touch_pages --pages N [--report FILE] [--fork-pages M] "
                            "[--kernel-read] [--wait-signal] [--loop] [--hold] [--window] [--free-every-other] [--exit-code C]\n");
            return 2;
        }
    }
    if (!pages) {
        fprintf(stderr, "touch_pages: --pages N is required\n");
        return 2;
    }

    report("pid %d\n", getpid());
    if (wait_signal) {
        sigset_t old;
        catch_blocked(SIGUSR1, on_go, &old);
        report("ready %d\n", getpid());
        while (!got_go) sigsuspend(&old);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    if (loop) {
        signal(SIGTERM, on_stop);
        signal(SIGINT, on_stop);
        while (!got_stop) {
            size_t len;
            char *region = touch_region(pages, kernel_read, &len);
            unmap_region(region, len);
            usleep(1000);
        }
        return exit_code;
    }

    size_t len;
    struct rusage ru0, ru1;
    struct timespec t0, t1;
    sigset_t unblocked;
    if (window) {
        // Block SIGUSR2 now so its arrival cannot be missed; set up before t0
        // so the window holds nothing but the touching.
        catch_blocked(SIGUSR2, on_release, &unblocked);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        getrusage(RUSAGE_SELF, &ru0);
    }
    char *region = touch_region(pages, kernel_read, &len);
    if (window) {
        getrusage(RUSAGE_SELF, &ru1);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long faults = (ru1.ru_minflt - ru0.ru_minflt) + (ru1.ru_majflt - ru0.ru_majflt);
        report("window %lld %lld %ld\n", (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec,
               (long long)t1.tv_sec * 1000000000LL + t1.tv_nsec, faults);
        while (!got_release) sigsuspend(&unblocked);
        sigprocmask(SIG_SETMASK, &unblocked, NULL);
    }
    if (free_odd) {
        const size_t page = (size_t)sysconf(_SC_PAGESIZE);
        for (size_t i = 1; i < pages; i += 2) {
            if (madvise(region + i * page, page, MADV_DONTNEED) != 0) die("madvise dontneed");
        }
    }
    if (hold) {
        sigset_t old;
        catch_blocked(SIGUSR2, on_release, &old);
        report_frames("before", region, pages);
        report("held %d\n", getpid());
        while (!got_release) sigsuspend(&old);
        sigprocmask(SIG_SETMASK, &old, NULL);
        report_frames("after", region, pages);
    }
    if (fork_pages) {
        // The parent's region stays mapped meanwhile, so the child's is elsewhere.
        pid_t child = fork();
        if (child < 0) die("fork");
        if (child == 0) {
            size_t child_len;
            char *mine = touch_region(fork_pages, kernel_read, &child_len);
            unmap_region(mine, child_len);
            _exit(0);
        }
        report("child %d\n", child);
        int status;
        if (waitpid(child, &status, 0) != child) die("waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 101;
    }
    unmap_region(region, len);
    return exit_code;
}
