#include "symbols/binary_locator.h"

#include <sys/stat.h>

#include "symbols/build_id.h"
#include "symbols/code_facts.h"

namespace pagetrace {

namespace {

bool is_file(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

BinaryMatch find_binary(const std::string& path, const std::string& build_id,
                        const BinarySearch& search) {
    std::vector<std::string> candidates;
    for (const auto& dir : search.symfs) {
        candidates.push_back(dir + (path.starts_with('/') ? "" : "/") + path);
        candidates.push_back(dir + "/" + base_name(path));
    }
    candidates.push_back(path);
    if (!build_id.empty()) {
        const std::string hex = build_id_hex(build_id);
        for (const auto& dir : search.debug_dirs) {
            candidates.push_back(dir + "/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) +
                                 ".debug");
        }
    }
    BinaryMatch first_mismatch;
    for (const auto& candidate : candidates) {
        if (!is_file(candidate)) continue;
        if (build_id.empty()) return {BinaryMatch::Status::Found, candidate, {}};
        BuildIdResult id = read_build_id(candidate);
        if (id.build_id == build_id) return {BinaryMatch::Status::Found, candidate, {}};
        if (first_mismatch.status == BinaryMatch::Status::Missing) {
            first_mismatch = {BinaryMatch::Status::Mismatch, candidate, id.build_id};
        }
    }
    return first_mismatch;
}

}  // namespace pagetrace
