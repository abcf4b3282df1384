// reclaim: memory the kernel takes or changes behind the program's back, with
// the truth read from its own /proc/self/pagemap at each step so tests can
// check pagetrace's account of it. Every mode first reports "pid PID" and
// "region ADDR LEN"; each pagemap reading is one line per page of the region,
// "STEP ADDR ENTRY" with the raw 64-bit pagemap entry in hex (bit 63 present,
// bit 62 swapped, PFN in bits 0-54 or swap type 0-4 and offset 5-54).
//
//   reclaim pageout --report FILE [--pages N]
//       writes N pages (default 4096) with distinct contents ("touched"),
//       MADV_PAGEOUTs them ("paged_out"), reads every page again ("back")
//   reclaim pressure --report FILE [--mib N] [--passes P]
//       writes N MiB (default 128) page by page, P times (default 2), then
//       reads its pagemap ("final"); meant to run in a memory cgroup whose
//       limit is below N MiB, so that reclaim swaps its pages out
//   reclaim ksm --report FILE [--pages N] [--wait-ms MS]
//       writes N pages (default 256) of equal contents ("before"), marks them
//       MADV_MERGEABLE, then waits up to MS ms (default 20000) for KSM to
//       give them one frame, reading its pagemap every 50 ms, and reports the
//       last reading ("after"); "merged K" says how many share the frame
//   reclaim collapse --report FILE
//       writes the 512 small pages of a 2 MiB-aligned range (MADV_NOHUGEPAGE
//       while it does), reads them ("before"), waits --settle-ms (default
//       600), MADV_COLLAPSEs the range and reads them again ("after")
// Each mode then holds its memory --hold-ms (default 800) before it exits.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define WORKLOAD_NAME "reclaim"
#include "workload_util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

static const char *report_path;
static long hold_ms = 800;
static long settle_ms = 600;
static size_t page;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static FILE *append_report(void) {
    FILE *f = fopen(report_path, "a");
    if (!f) wl_die("open report");
    return f;
}

static void report_region(const char *buf, size_t len) {
    FILE *f = append_report();
    fprintf(f, "pid %d\nregion %p %zu\n", (int)getpid(), (const void *)buf, len);
    fclose(f);
}

// One line per page: "STEP ADDR ENTRY".
static void report_pagemap(const char *step, const char *buf, size_t pages) {
    uint64_t *entries = calloc(pages, sizeof(*entries));
    if (!entries) wl_die("calloc");
    wl_read_pagemap(buf, pages, page, entries);
    FILE *f = append_report();
    for (size_t i = 0; i < pages; ++i) {
        fprintf(f, "%s %p %llx\n", step, (const void *)(buf + i * page),
                (unsigned long long)entries[i]);
    }
    fclose(f);
    free(entries);
}

static char *map_anon(size_t len) {
    char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) wl_die("mmap");
    return buf;
}

static int run_pageout(size_t pages) {
    const size_t len = pages * page;
    char *buf = map_anon(len);
    // Small pages: MADV_PAGEOUT of a huge page would split it first.
    if (madvise(buf, len, MADV_NOHUGEPAGE) != 0) wl_die("madvise(MADV_NOHUGEPAGE)");
    report_region(buf, len);
    // Distinct contents, so no page is a zero page or a KSM candidate.
    for (size_t i = 0; i < pages; ++i) memcpy(buf + i * page, &i, sizeof(i));
    report_pagemap("touched", buf, pages);
    // Let the tracer look the frames up: reclaim names pages by frame.
    sleep_ms(settle_ms);
    if (madvise(buf, len, MADV_PAGEOUT) != 0) wl_die("madvise(MADV_PAGEOUT)");
    report_pagemap("paged_out", buf, pages);
    volatile uint64_t sum = 0;
    for (size_t i = 0; i < pages; ++i) sum += *(volatile uint64_t *)(buf + i * page);
    (void)sum;
    report_pagemap("back", buf, pages);
    sleep_ms(hold_ms);
    munmap(buf, len);
    return 0;
}

static int run_pressure(unsigned long mib, unsigned long passes) {
    const size_t len = (size_t)mib << 20;
    const size_t pages = len / page;
    char *buf = map_anon(len);
    if (madvise(buf, len, MADV_NOHUGEPAGE) != 0) wl_die("madvise(MADV_NOHUGEPAGE)");
    report_region(buf, len);
    for (unsigned long pass = 0; pass < passes; ++pass) {
        for (size_t i = 0; i < pages; ++i) {
            const uint64_t v = i * 2654435761u + pass;
            memcpy(buf + i * page, &v, sizeof(v));
        }
    }
    report_pagemap("final", buf, pages);
    sleep_ms(hold_ms);
    munmap(buf, len);
    return 0;
}

static int run_ksm(size_t pages, long wait_ms) {
    const size_t len = pages * page;
    char *buf = map_anon(len);
    if (madvise(buf, len, MADV_NOHUGEPAGE) != 0) wl_die("madvise(MADV_NOHUGEPAGE)");
    report_region(buf, len);
    for (size_t i = 0; i < pages; ++i) memset(buf + i * page, 0x5a, page);
    report_pagemap("before", buf, pages);
    sleep_ms(settle_ms);
    if (madvise(buf, len, MADV_MERGEABLE) != 0) wl_die("madvise(MADV_MERGEABLE)");
    uint64_t *entries = calloc(pages, sizeof(*entries));
    if (!entries) wl_die("calloc");
    size_t merged = 0;
    for (long waited = 0; waited <= wait_ms; waited += 50) {
        wl_read_pagemap(buf, pages, page, entries);
        // Pages whose frame is the first page's.
        merged = 0;
        for (size_t i = 0; i < pages; ++i) merged += entries[i] == entries[0];
        if (merged == pages) break;
        sleep_ms(50);
    }
    free(entries);
    report_pagemap("after", buf, pages);
    wl_report(report_path, "merged %zu\n", merged);
    sleep_ms(hold_ms);
    munmap(buf, len);
    return 0;
}

static int run_collapse(void) {
    const size_t huge = 2u << 20;
    const size_t pages = huge / page;
    char *raw = map_anon(2 * huge);
    char *buf = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (madvise(buf, huge, MADV_NOHUGEPAGE) != 0) wl_die("madvise(MADV_NOHUGEPAGE)");
    report_region(buf, huge);
    for (size_t i = 0; i < pages; ++i) memcpy(buf + i * page, &i, sizeof(i));
    report_pagemap("before", buf, pages);
    sleep_ms(settle_ms);
    // MADV_COLLAPSE ignores the NOHUGEPAGE advice only on some kernels: lift it.
    if (madvise(buf, huge, MADV_HUGEPAGE) != 0) wl_die("madvise(MADV_HUGEPAGE)");
    if (madvise(buf, huge, MADV_COLLAPSE) != 0) wl_die("madvise(MADV_COLLAPSE)");
    report_pagemap("after", buf, pages);
    sleep_ms(hold_ms);
    munmap(raw, 2 * huge);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) goto usage;
    page = (size_t)sysconf(_SC_PAGESIZE);
    const char *mode = argv[1];
    unsigned long pages = 0, mib = 128, passes = 2;
    long wait_ms = 20000;
    for (int i = 2; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (!strcmp(a, "--report")) report_path = v;
        else if (!strcmp(a, "--pages")) pages = strtoul(v, NULL, 0);
        else if (!strcmp(a, "--mib")) mib = strtoul(v, NULL, 0);
        else if (!strcmp(a, "--passes")) passes = strtoul(v, NULL, 0);
        else if (!strcmp(a, "--wait-ms")) wait_ms = strtol(v, NULL, 0);
        else if (!strcmp(a, "--settle-ms")) settle_ms = strtol(v, NULL, 0);
        else if (!strcmp(a, "--hold-ms")) hold_ms = strtol(v, NULL, 0);
        else goto usage;
        ++i;
    }
    if (!report_path) goto usage;
    if (!strcmp(mode, "pageout")) return run_pageout(pages ? pages : 4096);
    if (!strcmp(mode, "pressure")) return run_pressure(mib, passes);
    if (!strcmp(mode, "ksm")) return run_ksm(pages ? pages : 256, wait_ms);
    if (!strcmp(mode, "collapse")) return run_collapse();
usage:
    fprintf(stderr,
            "usage: reclaim pageout|pressure|ksm|collapse --report FILE [--pages N] [--mib N]\n"
            "       [--passes P] [--wait-ms MS] [--settle-ms MS] [--hold-ms MS]\n");
    return 2;
}
