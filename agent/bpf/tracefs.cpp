#include "bpf/tracefs.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <spdlog/spdlog.h>

#include "util/error.h"

namespace pagetrace {

namespace {

constexpr const char* kTracefs = "/sys/kernel/tracing";

}  // namespace

bool tracefs_mounted() {
    return ::access("/sys/kernel/tracing/events", F_OK) == 0 ||
           ::access("/sys/kernel/debug/tracing/events", F_OK) == 0;
}

void TracefsMount::ensure(const char* for_what) {
    if (mounted_here_ || tracefs_mounted()) return;
    if (::mount("nodev", kTracefs, "tracefs", 0, nullptr) != 0) {
        throw Error(errno_message(std::string(for_what) +
                                      " needs tracefs, which is not mounted and could not be "
                                      "mounted at " + kTracefs +
                                      " (mount -t tracefs nodev /sys/kernel/tracing, or leave "
                                      "those events out with --events)",
                                  errno));
    }
    mounted_here_ = true;
    spdlog::debug("mounted tracefs at {} (for {})", kTracefs, for_what);
}

TracefsMount::~TracefsMount() {
    if (mounted_here_ && ::umount2(kTracefs, MNT_DETACH) != 0) {
        spdlog::debug("unmounting tracefs at {}: {}", kTracefs, std::strerror(errno));
    }
}

}  // namespace pagetrace
