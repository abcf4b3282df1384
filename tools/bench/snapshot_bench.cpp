// snapshot_bench: how fast pagetrace snapshots a process's pages.
// Maps GIB GiB of anonymous memory in a child process, touches a fraction of
// its pages, then times full snapshots with plain pagemap reads and with
// PAGEMAP_SCAN-guided reads, interleaved, and prints a markdown table of GiB
// of mapped address space per second (median of RUNS).
//
//   snapshot_bench [--gib N] [--touch-percent P] [--runs R]
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "proc/snapshot_reader.h"
#include "util/error.h"

namespace {

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    double gib = 4;
    int touch_percent = 10;
    int runs = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--gib" && i + 1 < argc) gib = std::atof(argv[++i]);
        else if (a == "--touch-percent" && i + 1 < argc) touch_percent = std::atoi(argv[++i]);
        else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: snapshot_bench [--gib N] [--touch-percent P] [--runs R]\n");
            return 2;
        }
    }
    const size_t page = 4096;
    const size_t len = static_cast<size_t>(gib * (1ull << 30)) / page * page;
    int ready[2];
    if (pipe(ready) != 0) return 1;
    const pid_t child = fork();
    if (child == 0) {
        char* p = static_cast<char*>(
            mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0));
        if (p == MAP_FAILED) _exit(1);
        madvise(p, len, MADV_NOHUGEPAGE);
        // Touch the first page of every 1/P-th stretch of 64 pages: scattered runs.
        const size_t pages = len / page;
        for (size_t i = 0; i < pages; i += 64) {
            if ((i / 64) % 100 < static_cast<size_t>(touch_percent)) {
                for (size_t k = 0; k < 64 && i + k < pages; ++k) p[(i + k) * page] = 1;
            }
        }
        char byte = 1;
        if (write(ready[1], &byte, 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    char byte;
    if (read(ready[0], &byte, 1) != 1) {
        std::fprintf(stderr, "snapshot_bench: the child could not map %.1f GiB\n", gib);
        return 1;
    }

    std::vector<double> plain_s, scan_s;
    size_t plain_pages = 0, scan_pages = 0;
    for (int r = 0; r < runs; ++r) {
        for (auto method : {pagetrace::ScanMethod::PlainRead, pagetrace::ScanMethod::PagemapScan}) {
            if (method == pagetrace::ScanMethod::PagemapScan && !pagetrace::pagemap_scan_supported())
                continue;
            const double t0 = now_s();
            const auto snap = pagetrace::take_snapshot(child, pagetrace::SnapshotKind::Periodic, 0,
                                                       method);
            const double t = now_s() - t0;
            if (method == pagetrace::ScanMethod::PlainRead) {
                plain_s.push_back(t);
                plain_pages = snap.pages.size();
            } else {
                scan_s.push_back(t);
                scan_pages = snap.pages.size();
            }
        }
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);

    std::printf("snapshot of %.1f GiB mapped, %d%% of pages touched; median of %d runs\n\n", gib,
                touch_percent, runs);
    std::printf("| method | median s | GiB mapped / s | pages found |\n|---|---:|---:|---:|\n");
    std::printf("| pread every entry | %.4f | %.1f | %zu |\n", median(plain_s), gib / median(plain_s),
                plain_pages);
    if (!scan_s.empty()) {
        std::printf("| PAGEMAP_SCAN + pread of runs | %.4f | %.1f | %zu |\n", median(scan_s),
                    gib / median(scan_s), scan_pages);
    } else {
        std::printf("| PAGEMAP_SCAN + pread of runs | - | - | unsupported kernel |\n");
    }
    return 0;
}
