// /proc/PID/maps: the mappings of a process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagetrace {

struct Mapping {
    uint64_t start = 0;
    uint64_t end = 0;
    std::string perms;  // "rw-p"
    uint64_t offset = 0;
    std::string dev;    // "fd:01"
    uint64_t inode = 0;
    std::string path;   // "" for anonymous, "[heap]", "/usr/lib/..."
};

// Parses one line; nullopt if it is not a maps line.
std::optional<Mapping> parse_maps_line(std::string_view line);

// All mappings of `pid`; empty if the process is gone.
std::vector<Mapping> read_maps(pid_t pid);

}  // namespace pagetrace
