// demo: a small program with a recognisable memory life, for the quick start.
// It maps a 64 KiB buffer and writes it, maps a file and reads it, grows a heap
// block, starts a child that touches its own pages, and unmaps everything.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void touch(char *p, size_t len, size_t step) {
    for (size_t off = 0; off < len; off += step) ((volatile char *)p)[off] = 1;
}

int main(void) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t buf_len = 16 * page;

    printf("demo: pid %d, mapping %zu KiB anonymous memory\n", getpid(), buf_len / 1024);
    fflush(stdout);
    char *buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) return 1;
    touch(buf, buf_len, page);

    // A read-only file mapping: read faults on page-cache pages.
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char *file = mmap(NULL, 4 * page, PROT_READ, MAP_PRIVATE, fd, 0);
        if (file != MAP_FAILED) {
            volatile char sum = 0;
            for (size_t off = 0; off < 4 * page; off += page) sum += file[off];
            munmap(file, 4 * page);
        }
        close(fd);
    }

    // A large malloc is served by mmap.
    char *big = malloc(1 << 20);
    if (big) {
        touch(big, 1 << 20, page * 16);
        free(big);
    }

    // A failing mmap shows how errors appear.
    void *bad = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    (void)bad;

    pid_t child = fork();
    if (child == 0) {
        char *mine = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mine != MAP_FAILED) {
            touch(mine, 4 * page, page);
            munmap(mine, 4 * page);
        }
        _exit(0);
    }
    if (child > 0) waitpid(child, NULL, 0);

    munmap(buf, buf_len);
    printf("demo: done\n");
    return 0;
}
