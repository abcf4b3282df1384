// A buffered writer to a file descriptor (stdout or a file) that reports every
// failure: a closed pipe ends tracing quietly, anything else (disk full, I/O
// error) is an error naming the destination.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"
#include "util/unique_fd.h"

namespace pagetrace {

// Thrown when the reader of our output went away (EPIPE), e.g. `| head`.
class OutputClosed : public Error {
public:
    OutputClosed() : Error("output closed by its reader", 0) {}
};

class OutputStream {
public:
    // Writes to standard output.
    OutputStream();
    // Creates or truncates `path`; standard output if it is empty.
    explicit OutputStream(const std::string& path);
    OutputStream(const OutputStream&) = delete;
    OutputStream& operator=(const OutputStream&) = delete;
    ~OutputStream();

    // The buffer callers append to; flushed by maybe_flush()/flush().
    std::string& buffer() { return buffer_; }
    void write(std::string_view text) { buffer_.append(text); }
    // Flushes if the buffer has grown past its threshold.
    void maybe_flush() {
        if (buffer_.size() >= kFlushThreshold) flush();
    }
    void flush();
    const std::string& name() const { return name_; }

private:
    static constexpr size_t kFlushThreshold = 256 * 1024;

    UniqueFd owned_;
    int fd_;
    std::string name_;
    std::string buffer_;
};

}  // namespace pagetrace
