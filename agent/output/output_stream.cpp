#include "output/output_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace pagetrace {

OutputStream::OutputStream() : fd_(STDOUT_FILENO), name_("standard output") {
    buffer_.reserve(kFlushThreshold * 2);
}

OutputStream::OutputStream(const std::string& path) : name_(path) {
    if (path.empty()) {
        fd_ = STDOUT_FILENO;
        name_ = "standard output";
        buffer_.reserve(kFlushThreshold * 2);
        return;
    }
    owned_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!owned_.valid()) throw Error(errno_message("cannot create output file " + path, errno));
    fd_ = owned_.get();
    buffer_.reserve(kFlushThreshold * 2);
}

OutputStream::~OutputStream() {
    try {
        flush();
    } catch (...) {
        // Destructors must not throw; callers that care call flush() first.
    }
}

void OutputStream::flush() {
    size_t done = 0;
    while (done < buffer_.size()) {
        const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            buffer_.clear();
            if (err == EPIPE) throw OutputClosed();
            throw Error(errno_message("writing events to " + name_, err));
        }
        done += static_cast<size_t>(n);
    }
    buffer_.clear();
}

}  // namespace pagetrace
