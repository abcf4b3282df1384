#include "proc/pagemap.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "util/error.h"

namespace pagetrace {

namespace {
// 4096 entries (32 KiB) per pread: large enough to amortise the syscall.
constexpr size_t kEntriesPerRead = 4096;
}  // namespace

PagemapReader::PagemapReader(pid_t pid) : pid_(pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
    fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_.valid()) {
        const int err = errno;
        if (err == ENOENT || err == ESRCH) {
            throw Error("process " + std::to_string(pid) + " is gone (reading its pagemap)");
        }
        throw Error(errno_message("cannot open " + path, err));
    }
}

size_t PagemapReader::read(uint64_t first_page, size_t count, PagemapEntry* out) {
    size_t done = 0;
    while (done < count) {
        const size_t want = std::min(count - done, kEntriesPerRead);
        const off_t offset = static_cast<off_t>((first_page + done) * sizeof(uint64_t));
        const ssize_t n = ::pread(fd_.get(), out + done, want * sizeof(uint64_t), offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            // ESRCH: the process exited; anything else: the range is gone.
            break;
        }
        if (n == 0) break;
        done += static_cast<size_t>(n) / sizeof(uint64_t);
        if (static_cast<size_t>(n) < want * sizeof(uint64_t)) break;
    }
    return done;
}

}  // namespace pagetrace
