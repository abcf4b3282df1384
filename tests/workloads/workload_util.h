// workload_util.h: what the bundled workloads have in common, as static inline
// functions. A workload defines WORKLOAD_NAME (its name, the prefix of every
// message it prints) before including this header.
//
//   wl_die, wl_append, wl_report   fatal errors and the append-only report
//                                  file of touch_pages and vma_ops
//   wl_read_pagemap                the process's own pagemap entries
//   bench_*                        the command line, threads, timing and
//                                  result line of the benchmark generators
//                                  (fault_storm, mmap_churn)
#ifndef PAGETRACE_WORKLOAD_UTIL_H
#define PAGETRACE_WORKLOAD_UTIL_H

#ifndef WORKLOAD_NAME
#error "define WORKLOAD_NAME before including workload_util.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// ---------------------------------------------------------------- reports

// "NAME: WHAT: strerror(errno)" on stderr, then exit status 100.
static inline void wl_die(const char *what) {
    fprintf(stderr, WORKLOAD_NAME ": %s: %s\n", what, strerror(errno));
    exit(100);
}

// Appends len bytes to the report file at `path` in one write(2), so lines
// written by several processes never interleave. Dies on failure.
static inline void wl_append(const char *path, const char *text, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) wl_die("open report");
    if (write(fd, text, len) != (ssize_t)len) wl_die("write report");
    close(fd);
}

// Appends one printf-formatted line (of less than 256 bytes) to the report
// file at `path`, or writes it to stderr if `path` is NULL.
__attribute__((format(printf, 2, 3)))
static inline void wl_report(const char *path, const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!path) {
        fputs(line, stderr);
        return;
    }
    wl_append(path, line, (size_t)n);
}

// The process's own /proc/self/pagemap entries of [addr, addr + pages * page)
// into out (the kernel's truth tests compare pagetrace with). Dies on failure.
static inline void wl_read_pagemap(const char *addr, size_t pages, size_t page, uint64_t *out) {
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) wl_die("open pagemap");
    const off_t off = (off_t)((uintptr_t)addr / page * sizeof(uint64_t));
    if (pread(fd, out, pages * sizeof(uint64_t), off) != (ssize_t)(pages * sizeof(uint64_t))) {
        wl_die("read pagemap");
    }
    close(fd);
}

// ---------------------------------------------------------------- benchmark generators

#define BENCH_MAX_THREADS 1024u

// The command line every benchmark generator takes:
//   [--SIZE N] [--iterations K] [--threads T] [--report FILE]
// where --SIZE is the generator's own measure of one round (fault_storm:
// --mib, mmap_churn: --pages).
struct bench_config {
    unsigned long size;  // the --SIZE value
    unsigned long iterations;
    unsigned long threads;
    const char *report;  // NULL: no report file
};

static inline int bench_parse_count(const char *name, const char *text, unsigned long max,
                                    unsigned long *out) {
    char *end = NULL;
    errno = 0;
    if (text[0] < '0' || text[0] > '9') goto bad;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value == 0 || value > max) goto bad;
    *out = value;
    return 0;
bad:
    fprintf(stderr, WORKLOAD_NAME ": %s wants a whole number from 1 to %lu, got '%s'\n", name, max,
            text);
    return -1;
}

// Accepts "--opt VALUE" and "--opt=VALUE". Returns 0 when done, 1 for --help,
// -1 on bad input (said on stderr).
static inline int bench_parse_options(int argc, char **argv, const char *size_option,
                                      unsigned long size_max, struct bench_config *config) {
    const char *const names[] = {size_option, "--iterations", "--threads", "--report"};
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return 1;
        const char *value = NULL;
        int which = -1;
        for (int n = 0; n < 4; ++n) {
            size_t len = strlen(names[n]);
            if (strncmp(arg, names[n], len) != 0) continue;
            if (arg[len] == '=') {
                value = arg + len + 1;
            } else if (arg[len] == '\0') {
                if (i + 1 >= argc) {
                    fprintf(stderr, WORKLOAD_NAME ": %s needs a value\n", names[n]);
                    return -1;
                }
                value = argv[++i];
            } else {
                continue;
            }
            which = n;
            break;
        }
        switch (which) {
        case 0:
            if (bench_parse_count(size_option, value, size_max, &config->size)) return -1;
            break;
        case 1:
            if (bench_parse_count("--iterations", value, ULONG_MAX, &config->iterations)) return -1;
            break;
        case 2:
            if (bench_parse_count("--threads", value, BENCH_MAX_THREADS, &config->threads)) return -1;
            break;
        case 3:
            if (value[0] == '\0') {
                fprintf(stderr, WORKLOAD_NAME ": --report needs a file name\n");
                return -1;
            }
            config->report = value;
            break;
        default:
            fprintf(stderr, WORKLOAD_NAME ": unknown argument '%s'\n", arg);
            return -1;
        }
    }
    return 0;
}

// Parses the command line into `config` (which holds the defaults). Returns
// -1 to go on, or the status to exit with: 0 after --help (usage on stdout),
// 2 on bad input (usage on stderr).
static inline int bench_parse_args(int argc, char **argv, const char *size_option,
                                   unsigned long size_max, void (*usage)(FILE *, const char *),
                                   struct bench_config *config) {
    int parsed = bench_parse_options(argc, argv, size_option, size_max, config);
    if (parsed == 1) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (parsed < 0) {
        usage(stderr, argv[0]);
        return 2;
    }
    return -1;
}

static inline double bench_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// What every worker of a benchmark generator starts with. Its body waits on
// `start` before its first mapping and records its first failure in
// error/failed.
struct bench_thread {
    pthread_t thread;
    const struct bench_config *config;
    pthread_barrier_t *start;
    int error;           // errno of the first failure, 0 if none
    const char *failed;  // which call failed
};

// Records errno as the thread's failure in `call`.
static inline void bench_fail(struct bench_thread *t, const char *call) {
    t->error = errno;
    t->failed = call;
}

// config->threads zeroed workers of `size` bytes each (a struct beginning with
// a struct bench_thread). Exits with status 1 if there is no memory.
static inline void *bench_alloc_workers(const struct bench_config *config, size_t size) {
    void *workers = calloc(config->threads, size);
    if (!workers) {
        fprintf(stderr, WORKLOAD_NAME ": out of memory\n");
        exit(1);
    }
    return workers;
}

// Runs `body` in one thread per worker and waits for them all. The workers
// are config->threads elements of `size` bytes from bench_alloc_workers. The
// calling thread joins the start barrier too, so the clock starts when every
// worker exists and none has mapped anything yet; *seconds is the
// CLOCK_MONOTONIC wall time from then to just after the last one finishes.
// Each failed thread is said on stderr; returns 1 if one failed, else 0.
// Exits with status 1 if the threads cannot be started.
static inline int bench_run_workers(const struct bench_config *config, void *workers, size_t size,
                                    void *(*body)(void *), double *seconds) {
    pthread_barrier_t start;
    int rc = pthread_barrier_init(&start, NULL, (unsigned)config->threads + 1);
    if (rc != 0) {
        fprintf(stderr, WORKLOAD_NAME ": pthread_barrier_init: %s\n", strerror(rc));
        exit(1);
    }
    for (unsigned long t = 0; t < config->threads; ++t) {
        struct bench_thread *w = (struct bench_thread *)((char *)workers + t * size);
        w->config = config;
        w->start = &start;
        rc = pthread_create(&w->thread, NULL, body, w);
        if (rc != 0) {
            // The barrier would wait forever for the missing threads.
            fprintf(stderr, WORKLOAD_NAME ": pthread_create: %s\n", strerror(rc));
            exit(1);
        }
    }
    pthread_barrier_wait(&start);
    const double began = bench_now_seconds();

    int status = 0;
    for (unsigned long t = 0; t < config->threads; ++t) {
        struct bench_thread *w = (struct bench_thread *)((char *)workers + t * size);
        pthread_join(w->thread, NULL);
        if (w->error) {
            fprintf(stderr, WORKLOAD_NAME ": thread %lu: %s: %s\n", t, w->failed,
                    strerror(w->error));
            status = 1;
        }
    }
    *seconds = bench_now_seconds() - began;
    pthread_barrier_destroy(&start);
    return status;
}

// Writes the result line to stderr and, with --report, to that file. Returns
// 0, or 1 if the file could not be written (said on stderr).
static inline int bench_write_result(const char *line, const char *report) {
    fputs(line, stderr);
    if (report) {
        FILE *out = fopen(report, "w");
        if (!out || fputs(line, out) == EOF || fclose(out) != 0) {
            fprintf(stderr, WORKLOAD_NAME ": cannot write %s: %s\n", report, strerror(errno));
            return 1;
        }
    }
    return 0;
}

#endif  // PAGETRACE_WORKLOAD_UTIL_H
