// mmap_churn: a VMA-syscall generator for benchmarks.
//
// Every thread repeats, --iterations times, on a fresh small region of
// --pages 4 KiB pages:
//   mmap (anonymous, private, read-write)   1 mmap
//   madvise(MADV_NOHUGEPAGE)                1 madvise
//   write one byte into each page           --pages first-touch faults
//   mprotect read-only, then read-write     2 mprotect (the first flushes the TLB)
//   mremap to twice the size (may move)     1 mremap
//   munmap                                  1 munmap
// So the address space keeps changing while few pages are touched: the
// syscall side of a tracer is what this loads.
//
// At the end one line goes to stderr (and to --report FILE if given):
//   mmap_churn: pages_touched=P mmaps=M munmaps=U mprotects=R madvises=A mremaps=X
//               syscalls=S seconds=T threads=N
// (one line), where syscalls = M + U + R + A + X and seconds is the
// CLOCK_MONOTONIC wall time from just before the threads start to just after
// the last one finishes.
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096u
#define MAX_PAGES (1u << 20)
#define MAX_THREADS 1024u

struct config {
    unsigned long pages;
    unsigned long iterations;
    unsigned long threads;
    const char *report;
};

struct worker {
    pthread_t thread;
    const struct config *config;
    pthread_barrier_t *start;
    uint64_t pages_touched, mmaps, munmaps, mprotects, madvises, mremaps;
    int error;          // errno of the first failure, 0 if none
    const char *failed; // which call failed
};

static void usage(FILE *out, const char *argv0) {
    fprintf(out,
            "usage: %s [--pages N] [--iterations K] [--threads T] [--report FILE]\n"
            "  --pages N       pages mapped and touched per round (default 16)\n"
            "  --iterations K  rounds per thread (default 20000)\n"
            "  --threads T     threads, each with its own regions (default 1)\n"
            "  --report FILE   also write the result line to FILE\n",
            argv0);
}

static int parse_count(const char *name, const char *text, unsigned long max,
                       unsigned long *out) {
    char *end = NULL;
    errno = 0;
    if (text[0] < '0' || text[0] > '9') goto bad;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value == 0 || value > max) goto bad;
    *out = value;
    return 0;
bad:
    fprintf(stderr, "mmap_churn: %s wants a whole number from 1 to %lu, got '%s'\n", name, max,
            text);
    return -1;
}

// Accepts "--opt VALUE" and "--opt=VALUE". Returns 0 when done, 1 for --help,
// -1 on bad input.
static int parse_args(int argc, char **argv, struct config *config) {
    static const char *const names[] = {"--pages", "--iterations", "--threads", "--report"};
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
                    fprintf(stderr, "mmap_churn: %s needs a value\n", names[n]);
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
            if (parse_count("--pages", value, MAX_PAGES, &config->pages)) return -1;
            break;
        case 1:
            if (parse_count("--iterations", value, ULONG_MAX, &config->iterations)) return -1;
            break;
        case 2:
            if (parse_count("--threads", value, MAX_THREADS, &config->threads)) return -1;
            break;
        case 3:
            if (value[0] == '\0') {
                fprintf(stderr, "mmap_churn: --report needs a file name\n");
                return -1;
            }
            config->report = value;
            break;
        default:
            fprintf(stderr, "mmap_churn: unknown argument '%s'\n", arg);
            return -1;
        }
    }
    return 0;
}

#define FAIL(call)              \
    do {                        \
        w->error = errno;       \
        w->failed = call;       \
        return NULL;            \
    } while (0)

static void *run_worker(void *arg) {
    struct worker *w = arg;
    const size_t bytes = (size_t)w->config->pages * PAGE;

    pthread_barrier_wait(w->start);
    for (unsigned long it = 0; it < w->config->iterations; ++it) {
        char *region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) FAIL("mmap");
        ++w->mmaps;
        if (madvise(region, bytes, MADV_NOHUGEPAGE) != 0) FAIL("madvise");
        ++w->madvises;
        volatile char *out = region;
        for (size_t offset = 0; offset < bytes; offset += PAGE) out[offset] = 1;
        w->pages_touched += w->config->pages;
        if (mprotect(region, bytes, PROT_READ) != 0) FAIL("mprotect");
        if (mprotect(region, bytes, PROT_READ | PROT_WRITE) != 0) FAIL("mprotect");
        w->mprotects += 2;
        char *moved = mremap(region, bytes, 2 * bytes, MREMAP_MAYMOVE);
        if (moved == MAP_FAILED) FAIL("mremap");
        ++w->mremaps;
        if (munmap(moved, 2 * bytes) != 0) FAIL("munmap");
        ++w->munmaps;
    }
    return NULL;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    struct config config = {.pages = 16, .iterations = 20000, .threads = 1, .report = NULL};
    int parsed = parse_args(argc, argv, &config);
    if (parsed == 1) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (parsed < 0) {
        usage(stderr, argv[0]);
        return 2;
    }

    struct worker *workers = calloc(config.threads, sizeof *workers);
    if (!workers) {
        fprintf(stderr, "mmap_churn: out of memory\n");
        return 1;
    }
    // The main thread joins the barrier too, so the clock starts when every
    // worker exists and none has mapped anything yet.
    pthread_barrier_t start;
    int rc = pthread_barrier_init(&start, NULL, (unsigned)config.threads + 1);
    if (rc != 0) {
        fprintf(stderr, "mmap_churn: pthread_barrier_init: %s\n", strerror(rc));
        return 1;
    }
    for (unsigned long t = 0; t < config.threads; ++t) {
        workers[t].config = &config;
        workers[t].start = &start;
        rc = pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]);
        if (rc != 0) {
            fprintf(stderr, "mmap_churn: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    pthread_barrier_wait(&start);
    const double began = now_seconds();

    uint64_t pages = 0, mmaps = 0, munmaps = 0, mprotects = 0, madvises = 0, mremaps = 0;
    int status = 0;
    for (unsigned long t = 0; t < config.threads; ++t) {
        pthread_join(workers[t].thread, NULL);
        pages += workers[t].pages_touched;
        mmaps += workers[t].mmaps;
        munmaps += workers[t].munmaps;
        mprotects += workers[t].mprotects;
        madvises += workers[t].madvises;
        mremaps += workers[t].mremaps;
        if (workers[t].error) {
            fprintf(stderr, "mmap_churn: thread %lu: %s: %s\n", t, workers[t].failed,
                    strerror(workers[t].error));
            status = 1;
        }
    }
    const double seconds = now_seconds() - began;
    pthread_barrier_destroy(&start);
    free(workers);

    char line[320];
    snprintf(line, sizeof line,
             "mmap_churn: pages_touched=%" PRIu64 " mmaps=%" PRIu64 " munmaps=%" PRIu64
             " mprotects=%" PRIu64 " madvises=%" PRIu64 " mremaps=%" PRIu64 " syscalls=%" PRIu64
             " seconds=%.6f threads=%lu\n",
             pages, mmaps, munmaps, mprotects, madvises, mremaps,
             mmaps + munmaps + mprotects + madvises + mremaps, seconds, config.threads);
    fputs(line, stderr);
    if (config.report) {
        FILE *report = fopen(config.report, "w");
        if (!report || fputs(line, report) == EOF || fclose(report) != 0) {
            fprintf(stderr, "mmap_churn: cannot write %s: %s\n", config.report, strerror(errno));
            return 1;
        }
    }
    return status;
}
