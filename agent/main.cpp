// pagetrace: wires the command line to the commands. Only here do errors
// become messages and exit statuses.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "bpf/tracer.h"
#include "cli/export_command.h"
#include "cli/features_command.h"
#include "cli/snapshot_command.h"
#include "cli/timeline_command.h"
#include "cli/info_command.h"
#include "cli/options.h"
#include "cli/record_command.h"
#include "cli/replay_command.h"
#include "cli/report_command.h"
#include "cli/trace_command.h"
#include "util/error.h"

int main(int argc, char** argv) {
    auto logger = spdlog::stderr_color_st("pagetrace");
    logger->set_pattern("%n: %^%l%$: %v");
    spdlog::set_default_logger(logger);

    pagetrace::CommandLine cli;
    const int parse_status = pagetrace::parse_command_line(argc, argv, cli, std::cout, std::cerr);
    if (parse_status >= 0) return parse_status;

    spdlog::set_level(cli.verbosity >= 2   ? spdlog::level::trace
                      : cli.verbosity == 1 ? spdlog::level::debug
                                           : spdlog::level::info);
    pagetrace::route_libbpf_logs();

    try {
        switch (cli.subcommand) {
        case pagetrace::Subcommand::Trace: return pagetrace::run_trace_command(cli.trace);
        case pagetrace::Subcommand::Record: return pagetrace::run_record_command(cli.record);
        case pagetrace::Subcommand::Replay: return pagetrace::run_replay_command(cli.replay);
        case pagetrace::Subcommand::Info: return pagetrace::run_info_command(cli.info);
        case pagetrace::Subcommand::Features:
            return pagetrace::run_features_command(cli.features.btf_path);
        case pagetrace::Subcommand::Timeline: return pagetrace::run_timeline_command(cli.timeline);
        case pagetrace::Subcommand::Snapshot: return pagetrace::run_snapshot_command(cli.snapshot);
        case pagetrace::Subcommand::Export: return pagetrace::run_export_command(cli.export_trace);
        case pagetrace::Subcommand::Report: return pagetrace::run_report_command(cli.report);
        case pagetrace::Subcommand::None: break;
        }
    } catch (const pagetrace::Error& e) {
        spdlog::error("{}", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return pagetrace::kExitFailure;
    }
    return pagetrace::kExitUsage;
}
