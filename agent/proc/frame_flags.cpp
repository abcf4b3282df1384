#include "proc/frame_flags.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proc/pagemap.h"
#include "util/error.h"

namespace pagetrace {

namespace {

size_t read_words(const UniqueFd& fd, uint64_t first, size_t count, uint64_t* out) {
    if (!fd.valid()) return 0;
    size_t done = 0;
    while (done < count) {
        const ssize_t n = ::pread(fd.get(), out + done, (count - done) * sizeof(uint64_t),
                                  static_cast<off_t>((first + done) * sizeof(uint64_t)));
        if (n <= 0) break;
        done += static_cast<size_t>(n) / sizeof(uint64_t);
    }
    return done;
}

}  // namespace

FrameFlags::FrameFlags()
    : flags_(::open("/proc/kpageflags", O_RDONLY | O_CLOEXEC)),
      counts_(::open("/proc/kpagecount", O_RDONLY | O_CLOEXEC)) {}

size_t FrameFlags::read_flags(uint64_t first_pfn, size_t count, uint64_t* out) const {
    return read_words(flags_, first_pfn, count, out);
}

size_t FrameFlags::read_counts(uint64_t first_pfn, size_t count, uint64_t* out) const {
    return read_words(counts_, first_pfn, count, out);
}

uint64_t zero_page_frame() {
    static const uint64_t pfn = [] {
        const long page = ::sysconf(_SC_PAGESIZE);
        void* mem = ::mmap(nullptr, static_cast<size_t>(page), PROT_READ,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) return uint64_t{0};
        // A read of an untouched private anonymous page maps the zero page.
        const volatile char c = *static_cast<volatile const char*>(mem);
        (void)c;
        uint64_t found = 0;
        try {
            PagemapReader self(::getpid());
            PagemapEntry e;
            if (self.read(reinterpret_cast<uint64_t>(mem) / static_cast<uint64_t>(page), 1, &e) == 1) {
                found = e.pfn();
            }
        } catch (const Error&) {
        }
        ::munmap(mem, static_cast<size_t>(page));
        return found;
    }();
    return pfn;
}

}  // namespace pagetrace
