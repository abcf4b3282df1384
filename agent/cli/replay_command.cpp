#include "cli/replay_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "cli/recording_status.h"
#include "cli/symbol_setup.h"
#include "output/event_printer.h"
#include "pipeline/pipeline.h"
#include "record/record_reader.h"
#include "record/recording_source.h"
#include "util/error.h"

namespace pagetrace {

using namespace recording;

int run_replay_command(const ReplayOptions& options) {
    RecordingReader reader(open_file_source(options.input_path), options.input_path,
                           ReaderOptions{.skip_damaged = options.force});
    require_decodable_events(reader);
    RecordingSource source(reader);

    EventFilter filter;
    filter.types = options.event_types;
    for (pid_t pid : options.pids) filter.pids.push_back(static_cast<uint32_t>(pid));
    Pipeline pipeline(source, std::move(filter));
    // Before the printer: it learns each event's mappings first.
    auto symbols = make_recording_symbolizer(options.input_path, reader.header(), options.symbols,
                                             options.force);
    if (symbols) pipeline.add(*symbols);
    std::optional<EventPrinter> printer;
    try {
        printer.emplace(options.format, source.start_ns(), options.output_path, symbols.get());
        pipeline.add(*printer);
        pipeline.run();
    } catch (const OutputClosed&) {
        spdlog::debug("output closed by its reader; stopping");
        return 0;
    }
    pipeline.log_undecodable();
    return report_recording_end(reader, fmt::format("{} events printed", printer->printed()));
}

}  // namespace pagetrace
