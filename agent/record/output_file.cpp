#include "record/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "util/error.h"

namespace pagetrace::recording {

namespace {

constexpr int kCreateFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

OutputFile::OutputFile(std::string path, bool replace) : path_(std::move(path)) {
    if (path_.empty() || path_.back() == '/') {
        throw Error("the recording file name '" + path_ + "' names a directory", kExitUsage);
    }
    if (!replace) {
        fd_.reset(::open(path_.c_str(), kCreateFlags, 0600));
        if (!fd_.valid()) {
            const int err = errno;
            if (err == EEXIST) {
                struct stat st{};
                const bool link = ::lstat(path_.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
                throw Error(path_ + (link ? " is a symbolic link" : " already exists") +
                            "; pagetrace will not overwrite it (use --force to replace it)");
            }
            throw Error(errno_message("cannot create the recording file " + path_, err));
        }
        created_ = path_;
        return;
    }
    // A name no one else can predict, in the same directory so that rename()
    // stays on one file system and is atomic.
    std::random_device rd;
    const std::string dir = directory_of(path_);
    for (int attempt = 0; attempt < 100 && !fd_.valid(); ++attempt) {
        const std::string candidate =
            dir + "/." + base_of(path_) + ".pagetrace-" + std::to_string(rd() % 1000000000u);
        fd_.reset(::open(candidate.c_str(), kCreateFlags, 0600));
        if (fd_.valid()) {
            created_ = candidate;
        } else if (errno != EEXIST) {
            throw Error(errno_message("cannot create a recording file in " + dir, errno));
        }
    }
    if (!fd_.valid()) throw Error("cannot find a free temporary name in " + dir);
}

OutputFile::~OutputFile() {
    if (!published_ && !created_.empty()) ::unlink(created_.c_str());
}

void OutputFile::publish() {
    if (published_) return;
    if (created_ != path_ && ::rename(created_.c_str(), path_.c_str()) != 0) {
        throw Error(errno_message("cannot replace " + path_, errno));
    }
    published_ = true;
}

}  // namespace pagetrace::recording
