// arrivals: memory that arrives other than by one fault per page, with the
// truth read from the process's own /proc/self/pagemap (and /proc/kpageflags)
// so tests can check pagetrace's account of it.
//
//   arrivals thp --report FILE [--mib N] [--hold-ms MS]
//       maps N MiB (default 64) aligned to 2 MiB with MADV_HUGEPAGE, writes
//       one byte per 4 KiB page, reports every page of the region:
//       "page ADDR PFN KPAGEFLAGS" (PFN 0: not present)
//   arrivals around --file PATH --report FILE [--stride-kib K] [--hold-ms MS]
//       maps PATH read-only, reads one byte every K KiB (default 64) and
//       reports the pages its own pagemap shows present: "present ADDR PFN"
//   arrivals cow --report FILE [--pages N] [--hold-ms MS]
//       writes N pages (default 512), reports them ("parent ADDR PFN"), forks;
//       the child writes the first half and reads the second, then reports
//       its view ("child ADDR PFN"); the parent reports again after the
//       child ended ("parent_after ADDR PFN")
// Every mode first reports "pid PID" and "region ADDR LEN", and holds its
// memory for MS milliseconds (default 800) before unmapping it, so a tracer
// has the time to look its frames up.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKLOAD_NAME "arrivals"
#include "workload_util.h"

static const char *report_path;
static long hold_ms = 800;

static void hold(void) {
    struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t pfn_of(uint64_t entry) {
    return (entry >> 63) & 1 ? entry & ((1ULL << 55) - 1) : 0;
}

static uint64_t kpageflags_of(int fd, uint64_t pfn) {
    uint64_t flags = 0;
    if (fd >= 0 && pfn && pread(fd, &flags, sizeof(flags), (off_t)(pfn * sizeof(flags))) != sizeof(flags)) {
        flags = 0;
    }
    return flags;
}

// The whole report of a mode, written at once (FILE buffers it).
static FILE *open_report(void) {
    FILE *f = fopen(report_path, "a");
    if (!f) wl_die("open report");
    fprintf(f, "pid %d\n", (int)getpid());
    return f;
}

static int run_thp(unsigned long mib) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t huge = 2u << 20;
    const size_t len = mib << 20;
    char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) wl_die("mmap");
    char *buf = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (madvise(buf, len, MADV_HUGEPAGE) != 0) wl_die("madvise(MADV_HUGEPAGE)");
    for (size_t off = 0; off < len; off += page) ((volatile char *)buf)[off] = 1;

    const size_t pages = len / page;
    uint64_t *entries = calloc(pages, sizeof(*entries));
    if (!entries) wl_die("calloc");
    wl_read_pagemap(buf, pages, page, entries);
    int flags_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
    FILE *f = open_report();
    fprintf(f, "region %p %zu\n", (void *)buf, len);
    for (size_t i = 0; i < pages; ++i) {
        const uint64_t pfn = pfn_of(entries[i]);
        fprintf(f, "page %p %llu %llu\n", (void *)(buf + i * page), (unsigned long long)pfn,
                (unsigned long long)kpageflags_of(flags_fd, pfn));
    }
    fclose(f);
    if (flags_fd >= 0) close(flags_fd);
    hold();
    munmap(raw, len + huge);
    free(entries);
    return 0;
}

static int run_around(const char *path, unsigned long stride_kib) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) wl_die("open --file");
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) wl_die("stat --file");
    const size_t len = (size_t)st.st_size;
    char *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) wl_die("mmap --file");
    close(fd);
    volatile char sum = 0;
    for (size_t off = 0; off < len; off += stride_kib * 1024) sum += map[off];
    (void)sum;

    const size_t pages = (len + page - 1) / page;
    uint64_t *entries = calloc(pages, sizeof(*entries));
    if (!entries) wl_die("calloc");
    wl_read_pagemap(map, pages, page, entries);
    FILE *f = open_report();
    fprintf(f, "region %p %zu\n", (void *)map, len);
    for (size_t i = 0; i < pages; ++i) {
        if ((entries[i] >> 63) & 1) {
            fprintf(f, "present %p %llu\n", (void *)(map + i * page),
                    (unsigned long long)pfn_of(entries[i]));
        }
    }
    fclose(f);
    hold();
    munmap(map, len);
    free(entries);
    return 0;
}

static void report_frames(const char *who, const char *buf, size_t pages, size_t page) {
    uint64_t *entries = calloc(pages, sizeof(*entries));
    if (!entries) wl_die("calloc");
    wl_read_pagemap(buf, pages, page, entries);
    FILE *f = fopen(report_path, "a");
    if (!f) wl_die("open report");
    for (size_t i = 0; i < pages; ++i) {
        fprintf(f, "%s %p %llu\n", who, (const void *)(buf + i * page),
                (unsigned long long)pfn_of(entries[i]));
    }
    fclose(f);
    free(entries);
}

static int run_cow(unsigned long pages) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t len = pages * page;
    char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) wl_die("mmap");
    if (madvise(buf, len, MADV_NOHUGEPAGE) != 0) wl_die("madvise(MADV_NOHUGEPAGE)");
    for (size_t off = 0; off < len; off += page) ((volatile char *)buf)[off] = 1;
    FILE *f = open_report();
    fprintf(f, "region %p %zu\n", (void *)buf, len);
    fclose(f);
    report_frames("parent", buf, pages, page);
    // Let the tracer look the parent's frames up before the fork shares them.
    hold();
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) wl_die("fork");
    if (child == 0) {
        for (size_t i = 0; i < pages / 2; ++i) ((volatile char *)buf)[i * page] = 2;
        volatile char sum = 0;
        for (size_t i = pages / 2; i < pages; ++i) sum += buf[i * page];
        (void)sum;
        wl_report(report_path, "child_pid %d\n", (int)getpid());
        report_frames("child", buf, pages, page);
        hold();
        _exit(0);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child) wl_die("waitpid");
    report_frames("parent_after", buf, pages, page);
    hold();
    munmap(buf, len);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2) goto usage;
    const char *mode = argv[1];
    const char *file = NULL;
    unsigned long mib = 64, stride = 64, pages = 512;
    for (int i = 2; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (!strcmp(a, "--report")) report_path = v;
        else if (!strcmp(a, "--mib")) mib = strtoul(v, NULL, 0);
        else if (!strcmp(a, "--file")) file = v;
        else if (!strcmp(a, "--stride-kib")) stride = strtoul(v, NULL, 0);
        else if (!strcmp(a, "--pages")) pages = strtoul(v, NULL, 0);
        else if (!strcmp(a, "--hold-ms")) hold_ms = strtol(v, NULL, 0);
        else goto usage;
        ++i;
    }
    if (!report_path || !mib || !stride || !pages) goto usage;
    if (!strcmp(mode, "thp")) return run_thp(mib);
    if (!strcmp(mode, "around") && file) return run_around(file, stride);
    if (!strcmp(mode, "cow")) return run_cow(pages);
usage:
    fprintf(stderr, "usage: arrivals thp|around|cow --report FILE [--mib N] [--file PATH] "
                    "[--stride-kib K] [--pages N] [--hold-ms MS]\n");
    return 2;
}
