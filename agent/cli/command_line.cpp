#include <CLI/CLI.hpp>

#include <cctype>
#include <ostream>
#include <stdexcept>

#include "cli/options.h"
#include "util/error.h"

#ifndef PAGETRACE_VERSION
#define PAGETRACE_VERSION "unknown"
#endif

namespace pagetrace {

uint64_t parse_size(const std::string& text) {
    size_t pos = 0;
    unsigned long long value = 0;
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
        throw std::invalid_argument("not a size: '" + text + "' (examples: 4096, 64M, 1G)");
    }
    try {
        value = std::stoull(text, &pos, 10);
    } catch (const std::exception&) {
        throw std::invalid_argument("not a size: '" + text + "' (examples: 4096, 64M, 1G)");
    }
    std::string unit = text.substr(pos);
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int shift = 0;
    if (unit.empty() || unit == "b") {
        shift = 0;
    } else if (unit == "k" || unit == "kb" || unit == "kib") {
        shift = 10;
    } else if (unit == "m" || unit == "mb" || unit == "mib") {
        shift = 20;
    } else if (unit == "g" || unit == "gb" || unit == "gib") {
        shift = 30;
    } else {
        throw std::invalid_argument("unknown size unit in '" + text + "' (use K, M or G)");
    }
    if (shift && value > (~0ull >> shift)) throw std::invalid_argument("size too large: " + text);
    return static_cast<uint64_t>(value) << shift;
}

namespace {

constexpr const char* kTraceFooter = R"(
Examples:
  pagetrace trace -- ./my-program --its-args      start a program and trace it
  pagetrace trace -p 1234                         attach to a running process
  pagetrace trace -p 1234,5678 --format json      several processes, as JSON Lines
  pagetrace trace --user nobody -- ./workload     run the command as another user
  pagetrace trace -o trace.txt -- make -j2        write the events to a file

Events: fault (page fault on a user address: address, instruction pointer,
read/write/exec, user or kernel mode), mmap and munmap (from syscall exit, with
the result or errno), fork, exec and exit of traced processes, and lost (events
dropped because the ring buffer was full: raise --ring-size).

With -- COMMAND, tracing starts at the command's execve (nothing of it is
missed), follows its children, ends when the whole process tree has exited, and
pagetrace exits with the command's exit status. Ctrl-C stops tracing cleanly.
Needs root (CAP_BPF + CAP_PERFMON) and a kernel with BTF.)";

}  // namespace

int parse_command_line(int argc, const char* const* argv, CommandLine& out,
                       std::ostream& out_stream, std::ostream& err_stream) {
    CLI::App app{"pagetrace: what the Linux memory manager does to a process, page by page.\n"
                 "Streams page faults and memory mappings of the processes you choose,\n"
                 "recorded in the kernel with eBPF.",
                 "pagetrace"};
    app.footer(
        "\nExamples:\n"
        "  sudo pagetrace trace -- ./my-program     trace a program from its first instruction\n"
        "  sudo pagetrace trace -p 1234             attach to a running process\n"
        "  pagetrace trace --help                   all options of trace\n");
    app.set_version_flag("--version", std::string("pagetrace ") + PAGETRACE_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    app.add_flag("-v,--verbose", out.verbosity,
                 "More diagnostics on stderr (-vv: also libbpf's debug messages)");

    auto* trace = app.add_subcommand("trace", "Trace processes live and stream their events");
    trace->footer(kTraceFooter);
    std::string format = "text";
    trace->add_option("--format", format, "Output format: text (aligned lines) or json (JSON Lines)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    bool no_follow = false;
    trace->add_flag("--no-follow", no_follow,
                    "Do not trace children the traced processes create (followed by default)");
    auto* user_opt = trace->add_option(
        "--user", out.trace.user, "Run COMMAND as this user (name or uid) instead of root");
    auto* pid_opt = trace->add_option("-p,--pid", out.trace.pids,
                                      "Attach to running process(es): PID[,PID...]")
                        ->delimiter(',')
                        ->check(CLI::PositiveNumber);
    trace->add_option("-o,--output", out.trace.output_path,
                      "Write events to FILE instead of standard output");
    std::string ring_size = "64M";
    trace->add_option("--ring-size", ring_size,
                      "Size of the kernel ring buffer (power of two, e.g. 16M, 256M)")
        ->capture_default_str();
    trace->add_option("--btf", out.trace.btf_path,
                      "Kernel BTF to use instead of /sys/kernel/btf/vmlinux")
        ->check(CLI::ExistingFile);
    auto* cmd_opt = trace->add_option("command", out.trace.command,
                                      "-- COMMAND [ARGS...]: start COMMAND and trace it");
    pid_opt->excludes(cmd_opt);
    user_opt->excludes(pid_opt);

    try {
        app.parse(argc, argv);
        if (trace->parsed()) {
            out.subcommand = Subcommand::Trace;
            out.trace.format = format == "json" ? OutputFormat::Json : OutputFormat::Text;
            out.trace.follow_children = !no_follow;
            if (out.trace.pids.empty() && out.trace.command.empty()) {
                throw CLI::ValidationError("nothing to trace",
                                           "give -p PID or -- COMMAND [ARGS...]");
            }
            try {
                out.trace.ring_bytes = parse_size(ring_size);
            } catch (const std::invalid_argument& e) {
                throw CLI::ValidationError("--ring-size", e.what());
            }
            const uint64_t ring = out.trace.ring_bytes;
            if (ring < 4096 || (ring & (ring - 1)) != 0 || ring > (1ull << 31)) {
                throw CLI::ValidationError(
                    "--ring-size", "must be a power of two between 4K and 2G, got " + ring_size);
            }
        }
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, out_stream, err_stream);
        return code == 0 ? 0 : kExitUsage;
    }
    return -1;
}

}  // namespace pagetrace
