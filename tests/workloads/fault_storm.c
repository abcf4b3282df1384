// fault_storm: a page-fault generator for benchmarks.
//
// Every thread repeats, --iterations times: map a fresh anonymous private
// region of --mib MiB, ask for small pages (MADV_NOHUGEPAGE), write one byte
// into each 4 KiB page, unmap it. So each iteration costs every thread exactly
// mib*256 first-touch write faults, one mmap and one munmap.
//
// At the end one line goes to stderr (and to --report FILE if given):
//   fault_storm: pages_touched=P mmaps=M munmaps=U seconds=S threads=T
// where seconds is the CLOCK_MONOTONIC wall time from just before the threads
// start their first mapping to just after the last one finishes.
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

#define TOUCH_STRIDE 4096u
#define PAGES_PER_MIB (1024u * 1024u / TOUCH_STRIDE)
#define MAX_MIB (1u << 20)      // 1 TiB per thread is more than plenty
#define MAX_THREADS 1024u

struct config {
    unsigned long mib;
    unsigned long iterations;
    unsigned long threads;
    const char* report;
};

struct worker {
    pthread_t thread;
    const struct config* config;
    pthread_barrier_t* start;
    uint64_t pages_touched;
    uint64_t mmaps;
    uint64_t munmaps;
    int error;          // errno of the first failure, 0 if none
    const char* failed; // which call failed
};

static void usage(FILE* out, const char* argv0) {
    fprintf(out,
            "usage: %s [--mib N] [--iterations K] [--threads T] [--report FILE]\n"
            "  --mib N         MiB mapped and touched per thread per iteration (default 256)\n"
            "  --iterations K  map/touch/unmap rounds per thread (default 8)\n"
            "  --threads T     threads, each with its own region (default 1)\n"
            "  --report FILE   also write the result line to FILE\n",
            argv0);
}

static int parse_count(const char* name, const char* text, unsigned long max, unsigned long* out) {
    char* end = NULL;
    errno = 0;
    if (text[0] < '0' || text[0] > '9') goto bad;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value == 0 || value > max) goto bad;
    *out = value;
    return 0;
bad:
    fprintf(stderr, "fault_storm: %s wants a whole number from 1 to %lu, got '%s'\n", name, max,
            text);
    return -1;
}

// Accepts "--opt VALUE" and "--opt=VALUE". Returns 0 when done, 1 for --help,
// -1 on bad input.
static int parse_args(int argc, char** argv, struct config* config) {
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return 1;

        static const char* const names[] = {"--mib", "--iterations", "--threads", "--report"};
        const char* value = NULL;
        int which = -1;
        for (int n = 0; n < 4; ++n) {
            size_t len = strlen(names[n]);
            if (strncmp(arg, names[n], len) != 0) continue;
            if (arg[len] == '=') {
                value = arg + len + 1;
            } else if (arg[len] == '\0') {
                if (i + 1 >= argc) {
                    fprintf(stderr, "fault_storm: %s needs a value\n", names[n]);
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
            if (parse_count("--mib", value, MAX_MIB, &config->mib)) return -1;
            break;
        case 1:
            if (parse_count("--iterations", value, ULONG_MAX, &config->iterations)) return -1;
            break;
        case 2:
            if (parse_count("--threads", value, MAX_THREADS, &config->threads)) return -1;
            break;
        case 3:
            if (value[0] == '\0') {
                fprintf(stderr, "fault_storm: --report needs a file name\n");
                return -1;
            }
            config->report = value;
            break;
        default:
            fprintf(stderr, "fault_storm: unknown argument '%s'\n", arg);
            return -1;
        }
    }
    return 0;
}

static void* run_worker(void* arg) {
    struct worker* w = arg;
    const size_t bytes = (size_t)w->config->mib * 1024u * 1024u;

    pthread_barrier_wait(w->start);
    for (unsigned long it = 0; it < w->config->iterations; ++it) {
        char* region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) {
            w->error = errno;
            w->failed = "mmap";
            break;
        }
        ++w->mmaps;
        // Without this, a THP-enabled kernel could back the region with 2 MiB
        // pages and fault 512 times less often.
        if (madvise(region, bytes, MADV_NOHUGEPAGE) != 0) {
            w->error = errno;
            w->failed = "madvise";
            munmap(region, bytes);
            ++w->munmaps;
            break;
        }
        volatile char* bytes_out = region;
        for (size_t offset = 0; offset < bytes; offset += TOUCH_STRIDE) bytes_out[offset] = 1;
        w->pages_touched += bytes / TOUCH_STRIDE;
        if (munmap(region, bytes) != 0) {
            w->error = errno;
            w->failed = "munmap";
            break;
        }
        ++w->munmaps;
    }
    return NULL;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    struct config config = {.mib = 256, .iterations = 8, .threads = 1, .report = NULL};
    int parsed = parse_args(argc, argv, &config);
    if (parsed == 1) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (parsed < 0) {
        usage(stderr, argv[0]);
        return 2;
    }

    struct worker* workers = calloc(config.threads, sizeof *workers);
    if (!workers) {
        fprintf(stderr, "fault_storm: out of memory\n");
        return 1;
    }
    // The main thread joins the barrier too, so the clock starts when every
    // worker exists and none has mapped anything yet.
    pthread_barrier_t start;
    int rc = pthread_barrier_init(&start, NULL, (unsigned)config.threads + 1);
    if (rc != 0) {
        fprintf(stderr, "fault_storm: pthread_barrier_init: %s\n", strerror(rc));
        return 1;
    }
    for (unsigned long t = 0; t < config.threads; ++t) {
        workers[t].config = &config;
        workers[t].start = &start;
        rc = pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]);
        if (rc != 0) {
            // The barrier would wait forever for the missing threads.
            fprintf(stderr, "fault_storm: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    pthread_barrier_wait(&start);
    const double began = now_seconds();

    uint64_t pages = 0, mmaps = 0, munmaps = 0;
    int status = 0;
    for (unsigned long t = 0; t < config.threads; ++t) {
        pthread_join(workers[t].thread, NULL);
        pages += workers[t].pages_touched;
        mmaps += workers[t].mmaps;
        munmaps += workers[t].munmaps;
        if (workers[t].error) {
            fprintf(stderr, "fault_storm: thread %lu: %s: %s\n", t, workers[t].failed,
                    strerror(workers[t].error));
            status = 1;
        }
    }
    const double seconds = now_seconds() - began;
    pthread_barrier_destroy(&start);
    free(workers);

    char line[256];
    snprintf(line, sizeof line,
             "fault_storm: pages_touched=%" PRIu64 " mmaps=%" PRIu64 " munmaps=%" PRIu64
             " seconds=%.6f threads=%lu\n",
             pages, mmaps, munmaps, seconds, config.threads);
    fputs(line, stderr);
    if (config.report) {
        FILE* report = fopen(config.report, "w");
        if (!report || fputs(line, report) == EOF || fclose(report) != 0) {
            fprintf(stderr, "fault_storm: cannot write %s: %s\n", config.report, strerror(errno));
            return 1;
        }
    }
    return status;
}
