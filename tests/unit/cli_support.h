// Running the command-line parser as `pagetrace ARGS...` and keeping what it
// made of them and what it printed.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "cli/options.h"

namespace pagetrace::test {

struct Parsed {
    int status = -1;  // -1: go on and run the command; else the exit status
    CommandLine cli;
    std::string out;
    std::string err;
};

// Parses `pagetrace` followed by `args`.
inline Parsed parse(std::vector<const char*> args) {
    args.insert(args.begin(), "pagetrace");
    Parsed p;
    std::ostringstream out;
    std::ostringstream err;
    p.status = parse_command_line(static_cast<int>(args.size()), args.data(), p.cli, out, err);
    p.out = out.str();
    p.err = err.str();
    return p;
}

}  // namespace pagetrace::test
