// What the command line asked for, parsed and validated.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "output/formatter.h"

namespace pagetrace {

struct TraceOptions {
    OutputFormat format = OutputFormat::Text;
    bool follow_children = true;
    std::string user;                  // --user: run the command as this user
    std::vector<pid_t> pids;           // -p
    std::vector<std::string> command;  // -- CMD ARGS
    std::string output_path;           // -o: instead of stdout
    uint64_t ring_bytes = 64ull << 20;
    std::string btf_path;
};

enum class Subcommand { None, Trace };

struct CommandLine {
    Subcommand subcommand = Subcommand::None;
    int verbosity = 0;
    TraceOptions trace;
};

// Parses argv. Returns -1 when the program should go on with `out`, or the exit
// status to return right away (after --help, --version or a usage error, which
// have been printed to `out_stream`/`err_stream`).
int parse_command_line(int argc, const char* const* argv, CommandLine& out,
                       std::ostream& out_stream, std::ostream& err_stream);

// "64M", "16MiB", "1g", "4096" -> bytes. Throws std::invalid_argument.
uint64_t parse_size(const std::string& text);

}  // namespace pagetrace
