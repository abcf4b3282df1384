// Creating the recording file safely. It is created new, mode 0600, with
// O_CREAT|O_EXCL|O_NOFOLLOW: an existing file or a symlink at the path is
// refused. With `replace` (record --force) it is created the same way under a
// temporary name in the same directory and renamed over the path once its
// header is written, which replaces an existing file or symlink atomically
// and never writes through a link.
#pragma once

#include <string>

#include "util/unique_fd.h"

namespace pagetrace::recording {

class OutputFile {
public:
    // Creates the file (or the temporary one). Throws Error naming the path.
    OutputFile(std::string path, bool replace);
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;
    // Removes what was created if publish() was never called.
    ~OutputFile();

    const std::string& path() const { return path_; }
    // Hands the descriptor over (to the chunk writer); the name stays managed here.
    UniqueFd take_fd() { return std::move(fd_); }

    // Makes the file visible under its path (renames the temporary file over
    // it with `replace`). After this the file is kept whatever happens.
    void publish();

private:
    std::string path_;
    std::string created_;  // the name actually created (temporary with `replace`)
    bool published_ = false;
    UniqueFd fd_;
};

}  // namespace pagetrace::recording
