// fault_sites: faults from known code, for the symbolization tests. Built with
// -g -O1 (debug info, and code that still looks like its source).
//
//   fault_sites [--alpha N] [--beta M] [--read-pages K] [--jit-pages J] [--report FILE]
//
// alpha_touch() first-touches N fresh pages and beta_touch() M (one store per
// page, on the lines marked TOUCH-ALPHA and TOUCH-BETA); read(2) copies K
// pages into fresh pages (kernel-mode faults); a "JIT" function written into
// anonymous executable memory and named in /tmp/perf-PID.map touches J pages.
//
// Report lines (appended to FILE, or stderr):
//   pid PID
//   alpha ADDR_OF_alpha_touch    beta ADDR_OF_beta_touch   (runtime addresses)
//   region NAME ADDR LEN         the pages each part touched
//   jit ADDR SIZE                the JIT code and its perf-map line
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WORKLOAD_NAME "fault_sites"
#include "workload_util.h"

#ifdef FAULT_SITES_REBUILT
// A different build of the same program: another build-id.
const char fault_sites_build[] = "rebuilt";
#else
const char fault_sites_build[] = "original";
#endif

static const char *report_path;
#define report(...) wl_report(report_path, __VA_ARGS__)

static size_t page_size;

__attribute__((noinline)) void alpha_touch(char *p, size_t pages) {
    for (size_t i = 0; i < pages; i++) {
        p[i * page_size] = 1; /* TOUCH-ALPHA */
    }
}

__attribute__((noinline)) void beta_touch(char *p, size_t pages) {
    for (size_t i = 0; i < pages; i++) {
        p[i * page_size] = 2; /* TOUCH-BETA */
    }
}

static char *fresh(const char *name, size_t pages) {
    char *p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) wl_die("mmap");
    report("region %s %p %zu\n", name, (void *)p, pages * page_size);
    return p;
}

// read(2) into fresh pages: the kernel takes the faults, copying.
static void kernel_read(size_t pages) {
    int fd = memfd_create("fault_sites", MFD_CLOEXEC);
    if (fd < 0) wl_die("memfd_create");
    char *src = malloc(page_size);
    if (!src) wl_die("malloc");
    memset(src, 7, page_size);
    for (size_t i = 0; i < pages; i++) {
        if (write(fd, src, page_size) != (ssize_t)page_size) wl_die("write memfd");
    }
    free(src);
    if (lseek(fd, 0, SEEK_SET) != 0) wl_die("lseek");
    char *dst = fresh("read", pages);
    size_t done = 0;
    while (done < pages * page_size) {
        ssize_t n = read(fd, dst + done, pages * page_size - done);
        if (n <= 0) wl_die("read memfd");
        done += (size_t)n;
    }
    close(fd);
}

// A JIT's way: code in anonymous memory, named in /tmp/perf-PID.map before it runs.
static void jit_touch(size_t pages) {
    static const unsigned char code[] = {0xc6, 0x07, 0x01, 0xc3};  // movb $1,(%rdi); ret
    unsigned char *text = mmap(NULL, page_size, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (text == MAP_FAILED) wl_die("mmap jit");
    memcpy(text, code, sizeof(code));
    char path[64], line[128];
    snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
    int n = snprintf(line, sizeof(line), "%lx %zx jit_touch_page\n", (unsigned long)(uintptr_t)text,
                     sizeof(code));
    wl_append(path, line, (size_t)n);
    report("jit %p %zu\n", (void *)text, sizeof(code));
    void (*fn)(char *) = (void (*)(char *))(uintptr_t)text;
    char *p = fresh("jit", pages);
    for (size_t i = 0; i < pages; i++) fn(p + i * page_size);
}

int main(int argc, char **argv) {
    size_t alpha = 3000, beta = 1000, read_pages = 0, jit_pages = 0;
    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!next) {
            fprintf(stderr, "usage: fault_sites [--alpha N] [--beta M] [--read-pages K] "
                            "[--jit-pages J] [--report FILE]\n");
            return 2;
        }
        if (!strcmp(argv[i], "--alpha")) alpha = strtoul(next, NULL, 0);
        else if (!strcmp(argv[i], "--beta")) beta = strtoul(next, NULL, 0);
        else if (!strcmp(argv[i], "--read-pages")) read_pages = strtoul(next, NULL, 0);
        else if (!strcmp(argv[i], "--jit-pages")) jit_pages = strtoul(next, NULL, 0);
        else if (!strcmp(argv[i], "--report")) report_path = next;
        else {
            fprintf(stderr, "fault_sites: unknown option %s\n", argv[i]);
            return 2;
        }
        i++;
    }
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    report("pid %d\n", (int)getpid());
    report("alpha %p\nbeta %p\n", (void *)(uintptr_t)alpha_touch, (void *)(uintptr_t)beta_touch);
    if (alpha) alpha_touch(fresh("alpha", alpha), alpha);
    if (beta) beta_touch(fresh("beta", beta), beta);
    if (read_pages) kernel_read(read_pages);
    if (jit_pages) jit_touch(jit_pages);
    fprintf(stderr, "fault_sites (%s build): done\n", fault_sites_build);
    return 0;
}
