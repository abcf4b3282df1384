#include "proc/snapshot_reader.h"

#include "kernel/mm.h"
#include "proc/frame_flags.h"
#include "proc/huge_pages.h"

#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fcntl.h>
#include <vector>

#include "util/error.h"
#include "util/unique_fd.h"

namespace pagetrace {

namespace {

// The PAGEMAP_SCAN interface (include/uapi/linux/fs.h, Linux 6.7), defined
// here because older distribution headers lack it.
struct PmPageRegion {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};

struct PmScanArg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};
static_assert(sizeof(PmScanArg) == 96);

constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr uint64_t kPageIsPresent = 1u << 3;
constexpr uint64_t kPageIsSwapped = 1u << 4;
// The system's pages: snapshots are of this machine's processes.
unsigned page_shift() { return kernel::PageGeometry::of_system().shift(); }
constexpr size_t kRegionsPerScan = 512;

std::string pagemap_path(pid_t pid) { return "/proc/" + std::to_string(pid) + "/pagemap"; }

UniqueFd open_pagemap(pid_t pid) {
    UniqueFd fd(::open(pagemap_path(pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        const int err = errno;
        if (err == ENOENT || err == ESRCH) {
            throw Error("process " + std::to_string(pid) + " is gone");
        }
        throw Error(errno_message("cannot open " + pagemap_path(pid), err));
    }
    return fd;
}

// Reads [first, first + count) entries; returns how many were read.
size_t read_entries(int fd, uint64_t first, size_t count, std::vector<PagemapEntry>& out) {
    out.resize(count);
    size_t done = 0;
    while (done < count) {
        const size_t want = std::min<size_t>(count - done, 4096);
        const ssize_t n = ::pread(fd, out.data() + done, want * sizeof(uint64_t),
                                  static_cast<off_t>((first + done) * sizeof(uint64_t)));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n) / sizeof(uint64_t);
        if (static_cast<size_t>(n) < want * sizeof(uint64_t)) break;
    }
    out.resize(done);
    return done;
}

// Reads entries [first, first + count) in windows of bounded size and appends
// the present or swapped pages. A mapping may be terabytes of reserved address
// space (JVMs, Go, sanitizers): memory stays one window. Returns the entries read.
size_t read_nonempty(int fd, uint64_t first, uint64_t count, std::vector<PagemapEntry>& window,
                     std::vector<SnapshotPage>& pages);

// Appends the present or swapped pages among `entries` (starting at page `first`).
void keep_nonempty(uint64_t first, const std::vector<PagemapEntry>& entries,
                   std::vector<SnapshotPage>& pages) {
    for (size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].present() || entries[i].swapped()) {
            pages.push_back(SnapshotPage{(first + i) << page_shift(), entries[i]});
        }
    }
}

constexpr size_t kWindowEntries = 64 * 1024;  // 512 KiB of entries per window

size_t read_nonempty(int fd, uint64_t first, uint64_t count, std::vector<PagemapEntry>& window,
                     std::vector<SnapshotPage>& pages) {
    uint64_t done = 0;
    while (done < count) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(count - done, kWindowEntries));
        const size_t got = read_entries(fd, first + done, want, window);
        keep_nonempty(first + done, window, pages);
        done += got;
        if (got < want) break;
    }
    return static_cast<size_t>(done);
}

// PAGEMAP_SCAN over [start, end): the runs of present or swapped pages.
// Returns false if the scan failed (process gone, or the ioctl is refused).
bool scan_runs(int fd, uint64_t start, uint64_t end, std::vector<PmPageRegion>& runs,
               SnapshotStats& stats) {
    std::vector<PmPageRegion> vec(kRegionsPerScan);
    uint64_t at = start;
    while (at < end) {
        PmScanArg arg{};
        arg.size = sizeof(arg);
        arg.start = at;
        arg.end = end;
        arg.vec = reinterpret_cast<uint64_t>(vec.data());
        arg.vec_len = vec.size();
        arg.category_anyof_mask = kPageIsPresent | kPageIsSwapped;
        arg.return_mask = kPageIsPresent | kPageIsSwapped;
        const int n = ::ioctl(fd, kPagemapScan, &arg);
        ++stats.scan_calls;
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        runs.insert(runs.end(), vec.begin(), vec.begin() + n);
        if (arg.walk_end <= at) break;  // no progress: stop rather than spin
        at = arg.walk_end;
    }
    return true;
}

bool has_cap_sys_admin() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) return false;
    return (data[0].effective >> 21) & 1u;  // CAP_SYS_ADMIN
}

}  // namespace

bool pagemap_scan_supported() {
    static const bool supported = [] {
        UniqueFd fd(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
        if (!fd.valid()) return false;
        PmPageRegion region{};
        PmScanArg arg{};
        arg.size = sizeof(arg);
        // An empty range: the kernel validates the arguments and returns 0.
        const uint64_t page = reinterpret_cast<uint64_t>(&region) & ~((1ull << page_shift()) - 1);
        arg.start = page;
        arg.end = page + (1ull << page_shift());
        arg.vec = reinterpret_cast<uint64_t>(&region);
        arg.vec_len = 1;
        arg.category_anyof_mask = kPageIsPresent;
        arg.return_mask = kPageIsPresent;
        return ::ioctl(fd.get(), kPagemapScan, &arg) >= 0;
    }();
    return supported;
}

bool pagemap_pfns_visible() { return ::geteuid() == 0 || has_cap_sys_admin(); }

PagemapSnapshot take_snapshot(pid_t pid, SnapshotKind kind, uint64_t ts_ns, ScanMethod method,
                              SnapshotStats* stats_out) {
    SnapshotStats stats;
    UniqueFd fd = open_pagemap(pid);
    PagemapSnapshot snap;
    snap.pid = static_cast<uint32_t>(pid);
    snap.ts_ns = ts_ns;
    snap.kind = kind;
    snap.pfns_visible = pagemap_pfns_visible();
    snap.mappings = read_maps(pid);
    if (snap.mappings.empty()) snap.partial = true;  // gone, or a kernel thread

    bool use_scan = method == ScanMethod::PagemapScan ||
                    (method == ScanMethod::Auto && pagemap_scan_supported());
    if (method == ScanMethod::PagemapScan && !pagemap_scan_supported()) {
        throw Error("this kernel has no PAGEMAP_SCAN ioctl (Linux 6.7+)");
    }

    std::vector<PagemapEntry> entries;
    std::vector<PmPageRegion> runs;
    for (const Mapping& m : snap.mappings) {
        if (m.path == "[vsyscall]" || m.end <= m.start) continue;
        stats.mapped_pages += (m.end - m.start) >> page_shift();
        if (use_scan) {
            runs.clear();
            if (!scan_runs(fd.get(), m.start, m.end, runs, stats)) {
                if (errno == ENOTTY || errno == EINVAL) {
                    use_scan = false;  // fall back for this and later mappings
                } else {
                    snap.partial = true;
                    break;
                }
            } else {
                for (const PmPageRegion& r : runs) {
                    const uint64_t first = r.start >> page_shift();
                    const uint64_t count = (r.end - r.start) >> page_shift();
                    const size_t got = read_nonempty(fd.get(), first, count, entries, snap.pages);
                    stats.entries_read += got;
                    if (got < count) snap.partial = true;
                }
                continue;
            }
        }
        const uint64_t first = m.start >> page_shift();
        const uint64_t count = (m.end - m.start) >> page_shift();
        const size_t got = read_nonempty(fd.get(), first, count, entries, snap.pages);
        stats.entries_read += got;
        if (got < count) {
            snap.partial = true;
            break;
        }
    }
    if (stats_out) *stats_out = stats;
    describe_frames(snap);
    return snap;
}

void describe_frames(PagemapSnapshot& snap) {
    if (!snap.pfns_visible) return;
    static const FrameFlags frames;
    snap.zero_pfn = zero_page_frame();
    snap.huge_pages = find_huge_pages(snap.pages, kernel::PageGeometry::of_system(),
                                      [](uint64_t pfn, size_t n, uint64_t* out) {
                                          return frames.read_flags(pfn, n, out);
                                      });
}

PagemapSnapshot take_page_snapshot(pid_t pid, std::span<const uint64_t> vpages, uint64_t ts_ns) {
    UniqueFd fd = open_pagemap(pid);
    PagemapSnapshot snap;
    snap.pid = static_cast<uint32_t>(pid);
    snap.ts_ns = ts_ns;
    snap.kind = SnapshotKind::Targeted;
    snap.pfns_visible = pagemap_pfns_visible();
    std::vector<PagemapEntry> entries;
    for (size_t i = 0; i < vpages.size();) {
        size_t j = i + 1;
        while (j < vpages.size() && vpages[j] == vpages[j - 1] + 1) ++j;
        const size_t got = read_nonempty(fd.get(), vpages[i], j - i, entries, snap.pages);
        if (got < j - i) snap.partial = true;
        i = j;
    }
    return snap;
}

}  // namespace pagetrace
