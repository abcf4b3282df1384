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
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define WORKLOAD_NAME "mmap_churn"
#include "workload_util.h"

#define PAGE 4096u
#define MAX_PAGES (1u << 20)

struct worker {
    struct bench_thread base;  // config->size: pages per round
    uint64_t pages_touched, mmaps, munmaps, mprotects, madvises, mremaps;
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

#define FAIL(call)                      \
    do {                                \
        bench_fail(&w->base, call);     \
        return NULL;                    \
    } while (0)

static void *run_worker(void *arg) {
    struct worker *w = arg;
    const size_t bytes = (size_t)w->base.config->size * PAGE;

    pthread_barrier_wait(w->base.start);
    for (unsigned long it = 0; it < w->base.config->iterations; ++it) {
        char *region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) FAIL("mmap");
        ++w->mmaps;
        if (madvise(region, bytes, MADV_NOHUGEPAGE) != 0) FAIL("madvise");
        ++w->madvises;
        volatile char *out = region;
        for (size_t offset = 0; offset < bytes; offset += PAGE) out[offset] = 1;
        w->pages_touched += w->base.config->size;
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

int main(int argc, char **argv) {
    struct bench_config config = {.size = 16, .iterations = 20000, .threads = 1, .report = NULL};
    int exit_now = bench_parse_args(argc, argv, "--pages", MAX_PAGES, usage, &config);
    if (exit_now >= 0) return exit_now;

    struct worker *workers = bench_alloc_workers(&config, sizeof *workers);
    double seconds;
    int status = bench_run_workers(&config, workers, sizeof *workers, run_worker, &seconds);
    uint64_t pages = 0, mmaps = 0, munmaps = 0, mprotects = 0, madvises = 0, mremaps = 0;
    for (unsigned long t = 0; t < config.threads; ++t) {
        pages += workers[t].pages_touched;
        mmaps += workers[t].mmaps;
        munmaps += workers[t].munmaps;
        mprotects += workers[t].mprotects;
        madvises += workers[t].madvises;
        mremaps += workers[t].mremaps;
    }
    free(workers);

    char line[320];
    snprintf(line, sizeof line,
             "mmap_churn: pages_touched=%" PRIu64 " mmaps=%" PRIu64 " munmaps=%" PRIu64
             " mprotects=%" PRIu64 " madvises=%" PRIu64 " mremaps=%" PRIu64 " syscalls=%" PRIu64
             " seconds=%.6f threads=%lu\n",
             pages, mmaps, munmaps, mprotects, madvises, mremaps,
             mmaps + munmaps + mprotects + madvises + mremaps, seconds, config.threads);
    if (bench_write_result(line, config.report) != 0) return 1;
    return status;
}
