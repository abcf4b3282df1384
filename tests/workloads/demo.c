// demo: a small program with a recognisable memory life, for the quick start.
// It maps a 256 MiB buffer and writes every page, write-protects and unprotects
// part of it (TLB flushes), discards and re-touches part of it, maps a file,
// starts a child that touches its own pages, asks the kernel to compact memory
// (as root) so some of its pages move to other frames, then unmaps everything.
// It reads its own /proc/self/pagemap before and after the compaction and says
// which page moved, so pagetrace's account can be checked against it.
//
//   demo [--fragmenter PID]   PID: a process holding fragmented memory (see
//                             tools/demo.sh) to end just before compacting
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUFFER_PAGES 65536
#define BUFFER_HINT ((void *)0x7e0000000000ULL)

static void touch(char *p, size_t len, size_t step) {
    for (size_t off = 0; off < len; off += step) ((volatile char *)p)[off] = 1;
}

// The frames of the buffer's pages, from our own pagemap (0 if unknown).
static void read_frames(char *buf, size_t page, uint64_t *frames) {
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    memset(frames, 0, BUFFER_PAGES * sizeof(*frames));
    if (fd < 0) return;
    static uint64_t entries[BUFFER_PAGES];
    off_t off = (off_t)((uintptr_t)buf / page * sizeof(uint64_t));
    if (pread(fd, entries, sizeof(entries), off) == (ssize_t)sizeof(entries)) {
        for (int i = 0; i < BUFFER_PAGES; i++) {
            frames[i] = (entries[i] >> 63) & 1 ? entries[i] & ((1ULL << 55) - 1) : 0;
        }
    }
    close(fd);
}

static int compact_memory(void) {
    int fd = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int ok = write(fd, "1\n", 2) == 2;
    close(fd);
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    pid_t fragmenter = 0;
    if (argc == 3 && !strcmp(argv[1], "--fragmenter")) fragmenter = (pid_t)atoi(argv[2]);
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t buf_len = BUFFER_PAGES * page;

    char *buf = mmap(BUFFER_HINT, buf_len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (buf == MAP_FAILED) {
        buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (buf == MAP_FAILED) return 1;
    madvise(buf, buf_len, MADV_NOHUGEPAGE);  // one fault, one frame per 4 KiB page
    printf("demo: pid %d, buffer of %d pages at %p\n", getpid(), BUFFER_PAGES, (void *)buf);
    fflush(stdout);
    touch(buf, buf_len, page);

    // Write-protect and unprotect the first 16 pages: TLB flushes of that range.
    mprotect(buf, 16 * page, PROT_READ);
    mprotect(buf, 16 * page, PROT_READ | PROT_WRITE);
    // Give back 8 pages and touch them again: new frames, new first touches.
    madvise(buf + 16 * page, 8 * page, MADV_DONTNEED);
    touch(buf + 16 * page, 8 * page, page);

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

    // Let pagetrace learn the buffer's frames, then compact memory (needs root).
    usleep(600 * 1000);
    if (fragmenter > 0) {
        kill(fragmenter, SIGUSR2);
        for (int i = 0; i < 500 && kill(fragmenter, 0) == 0; i++) usleep(10 * 1000);
    }
    static uint64_t before[BUFFER_PAGES], after[BUFFER_PAGES];  // static: 512 KiB each
    read_frames(buf, page, before);
    int moved = 0, first = -1;
    for (int attempt = 0; attempt < 3 && moved == 0; attempt++) {
        if (compact_memory() != 0) {
            printf("demo: cannot compact memory (%s): run as root to see pages move\n",
                   strerror(errno));
            break;
        }
        read_frames(buf, page, after);
        for (int i = 0; i < BUFFER_PAGES; i++) {
            if (before[i] && after[i] && before[i] != after[i]) {
                if (first < 0) first = i;
                moved++;
            }
        }
    }
    if (moved) {
        printf("demo: compaction moved %d of the buffer's pages; page %p moved from frame %#llx "
               "to %#llx\n",
               moved, (void *)(buf + (size_t)first * page), (unsigned long long)before[first],
               (unsigned long long)after[first]);
    } else {
        printf("demo: compaction moved none of the buffer's pages this time\n");
    }

    munmap(buf, buf_len);
    printf("demo: done\n");
    return 0;
}
