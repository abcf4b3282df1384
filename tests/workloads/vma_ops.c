// vma_ops: a fixed sequence of VMA operations whose addresses it reports, so
// tests can check each event against what the program did:
//   1. mmap N pages, touch each                         "region ADDR LEN"
//   2. mprotect it read-only, then read-write again      "mprotect ADDR LEN"
//   3. madvise(MADV_DONTNEED), touch each page again     "dontneed ADDR LEN"
//   4. mremap it to a new place (MREMAP_FIXED)           "mremap OLD NEW LEN"
//   5. grow the heap with brk by 1 MiB                    "brk OLD NEW"
//   6. munmap it                                          "munmap ADDR LEN"
//   7. with --exec PATH ARGS...: execv(PATH, ARGS)       "exec PATH"
//
//   vma_ops --pages N --report FILE [--exec PATH ARGS...]
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WORKLOAD_NAME "vma_ops"
#include "workload_util.h"

static const char *report_path;

static void die(const char *what) { wl_die(what); }

#define report(...) wl_report(report_path, __VA_ARGS__)

static void touch(char *p, size_t pages, size_t page) {
    for (size_t i = 0; i < pages; i++) ((volatile char *)p)[i * page] = 1;
}

int main(int argc, char **argv) {
    size_t pages = 0;
    char **exec_argv = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pages") && i + 1 < argc) pages = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--report") && i + 1 < argc) report_path = argv[++i];
        else if (!strcmp(argv[i], "--exec") && i + 1 < argc) { exec_argv = &argv[i + 1]; break; }
        else {
            fprintf(stderr, "usage: vma_ops --pages N --report FILE [--exec PATH ARGS...]\n");
            return 2;
        }
    }
    if (!pages || !report_path) {
        fprintf(stderr, "vma_ops: --pages N and --report FILE are required\n");
        return 2;
    }
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t len = pages * page;

    char *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) die("mmap");
    if (madvise(region, len, MADV_NOHUGEPAGE)) die("madvise nohugepage");
    touch(region, pages, page);
    report("region %p %zu\n", (void *)region, len);

    if (mprotect(region, len, PROT_READ)) die("mprotect ro");
    if (mprotect(region, len, PROT_READ | PROT_WRITE)) die("mprotect rw");
    report("mprotect %p %zu\n", (void *)region, len);

    if (madvise(region, len, MADV_DONTNEED)) die("madvise dontneed");
    touch(region, pages, page);
    report("dontneed %p %zu\n", (void *)region, len);

    // A reserved place to move to, so the move is certain.
    char *target = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (target == MAP_FAILED) die("mmap target");
    char *moved = mremap(region, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    if (moved == MAP_FAILED) die("mremap");
    report("mremap %p %p %zu\n", (void *)region, (void *)moved, len);

    char *old_brk = (char *)syscall(SYS_brk, 0);
    char *new_brk = (char *)syscall(SYS_brk, old_brk + (1 << 20));
    if (new_brk != old_brk + (1 << 20)) die("brk");
    report("brk %p %p\n", (void *)old_brk, (void *)new_brk);

    if (munmap(moved, len)) die("munmap");
    report("munmap %p %zu\n", (void *)moved, len);

    if (exec_argv) {
        report("exec %s\n", exec_argv[0]);
        execv(exec_argv[0], exec_argv);
        die("execv");
    }
    return 0;
}
