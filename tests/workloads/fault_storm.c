// fault_storm: a page-fault generator for benchmarks.
//
// Every thread repeats, --iterations times: map a fresh anonymous private
// region of --mib MiB, ask for small pages (MADV_NOHUGEPAGE), write one byte
// into each 4 KiB page, unmap it. So each iteration costs every thread exactly
// mib*256 first-touch write faults, one mmap and one munmap. With --read it
// reads one byte of each page instead: a read fault that maps the shared zero
// page, with no page to allocate or clear, several times cheaper (the rate the
// capture benchmark needs to find where the tracer, not the workload, stops).
//
// At the end one line goes to stderr (and to --report FILE if given):
//   fault_storm: pages_touched=P mmaps=M munmaps=U seconds=S threads=T
// where seconds is the CLOCK_MONOTONIC wall time from just before the threads
// start their first mapping to just after the last one finishes.
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define WORKLOAD_NAME "fault_storm"
#include "workload_util.h"

#define TOUCH_STRIDE 4096u
#define PAGES_PER_MIB (1024u * 1024u / TOUCH_STRIDE)
#define MAX_MIB (1u << 20)      // 1 TiB per thread is more than plenty

struct worker {
    struct bench_thread base;  // config->size: MiB per iteration
    uint64_t pages_touched;
    uint64_t mmaps;
    uint64_t munmaps;
};

static void usage(FILE* out, const char* argv0) {
    fprintf(out,
            "usage: %s [--mib N] [--iterations K] [--threads T] [--read] [--report FILE]\n"
            "  --mib N         MiB mapped and touched per thread per iteration (default 256)\n"
            "  --iterations K  map/touch/unmap rounds per thread (default 8)\n"
            "  --threads T     threads, each with its own region (default 1)\n"
            "  --read          read each page instead of writing it (zero-page faults)\n"
            "  --report FILE   also write the result line to FILE\n",
            argv0);
}

static int read_pages;  // --read

static void* run_worker(void* arg) {
    struct worker* w = arg;
    const size_t bytes = (size_t)w->base.config->size * 1024u * 1024u;

    pthread_barrier_wait(w->base.start);
    for (unsigned long it = 0; it < w->base.config->iterations; ++it) {
        char* region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) {
            bench_fail(&w->base, "mmap");
            break;
        }
        ++w->mmaps;
        // Without this, a THP-enabled kernel could back the region with 2 MiB
        // pages and fault 512 times less often.
        if (madvise(region, bytes, MADV_NOHUGEPAGE) != 0) {
            bench_fail(&w->base, "madvise");
            munmap(region, bytes);
            ++w->munmaps;
            break;
        }
        volatile char* bytes_out = region;
        if (read_pages) {
            char sum = 0;
            for (size_t offset = 0; offset < bytes; offset += TOUCH_STRIDE) sum += bytes_out[offset];
            if (sum != 0) bench_fail(&w->base, "reading zeros");
        } else {
            for (size_t offset = 0; offset < bytes; offset += TOUCH_STRIDE) bytes_out[offset] = 1;
        }
        w->pages_touched += bytes / TOUCH_STRIDE;
        if (munmap(region, bytes) != 0) {
            bench_fail(&w->base, "munmap");
            break;
        }
        ++w->munmaps;
    }
    return NULL;
}

int main(int argc, char** argv) {
    struct bench_config config = {.size = 256, .iterations = 8, .threads = 1, .report = NULL};
    // --read is this workload's own option: taken out before the common ones.
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--read") == 0) {
            read_pages = 1;
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    int exit_now = bench_parse_args(argc, argv, "--mib", MAX_MIB, usage, &config);
    if (exit_now >= 0) return exit_now;

    struct worker* workers = bench_alloc_workers(&config, sizeof *workers);
    double seconds;
    int status = bench_run_workers(&config, workers, sizeof *workers, run_worker, &seconds);
    uint64_t pages = 0, mmaps = 0, munmaps = 0;
    for (unsigned long t = 0; t < config.threads; ++t) {
        pages += workers[t].pages_touched;
        mmaps += workers[t].mmaps;
        munmaps += workers[t].munmaps;
    }
    free(workers);

    char line[256];
    snprintf(line, sizeof line,
             "fault_storm: pages_touched=%" PRIu64 " mmaps=%" PRIu64 " munmaps=%" PRIu64
             " seconds=%.6f threads=%lu\n",
             pages, mmaps, munmaps, seconds, config.threads);
    if (bench_write_result(line, config.report) != 0) return 1;
    return status;
}
