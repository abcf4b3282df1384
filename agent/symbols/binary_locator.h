// Finding, on this machine, the file a recording names by path and build-id:
// under each --symfs directory (DIR/PATH, then DIR/BASENAME), at the path
// itself, then in the debug directories by build-id
// (/usr/lib/debug/.build-id/ab/cdef....debug). A file whose build-id differs
// from the recorded one is never used.
#pragma once

#include <string>
#include <vector>

namespace pagetrace {

struct BinarySearch {
    std::vector<std::string> symfs;                          // --symfs DIR, in order
    std::vector<std::string> debug_dirs{"/usr/lib/debug"};   // searched by build-id
};

struct BinaryMatch {
    enum class Status {
        Found,     // `path` has the recorded build-id (or none was recorded and the path exists)
        Mismatch,  // a file was there but with another build-id: `path`, `other_build_id`
        Missing,   // no candidate exists
    };
    Status status = Status::Missing;
    std::string path;
    std::string other_build_id;  // raw bytes, for Mismatch
};

// `build_id` raw bytes; "" when the recording has none for it (the path is
// then taken as it is).
BinaryMatch find_binary(const std::string& path, const std::string& build_id,
                        const BinarySearch& search);

}  // namespace pagetrace
