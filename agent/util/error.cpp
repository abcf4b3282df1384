#include "util/error.h"

#include <cstring>
#include <string>

namespace pagetrace {

std::string errno_message(const std::string& what, int errnum) {
    return what + ": " + std::strerror(errnum);
}

std::string errno_name(int errnum) {
    const char* name = strerrorname_np(errnum);
    return name ? std::string(name) : "E" + std::to_string(errnum);
}

std::string signal_name(int signum) {
    const char* abbrev = sigabbrev_np(signum);
    return abbrev ? std::string("SIG") + abbrev : "SIG" + std::to_string(signum);
}

}  // namespace pagetrace
