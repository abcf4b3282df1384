#include "cli/replay_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>

#include "cli/recording_status.h"
#include "decode/decoder.h"
#include "output/output_stream.h"
#include "record/record_reader.h"
#include "util/error.h"

namespace pagetrace {

using namespace recording;

int run_replay_command(const ReplayOptions& options) {
    RecordingReader reader(open_file_source(options.input_path), options.input_path,
                           ReaderOptions{.skip_damaged = options.force});
    require_decodable_events(reader);
    const RecordingHeader& header = reader.header();

    std::unique_ptr<OutputStream> out = options.output_path.empty()
                                            ? std::make_unique<OutputStream>()
                                            : std::make_unique<OutputStream>(options.output_path);
    const auto formatter = make_formatter(options.format, header.start_ns);
    const auto wanted_pid = [&](uint32_t pid) {
        return options.pids.empty() || pid == 0 ||
               std::find(options.pids.begin(), options.pids.end(), static_cast<pid_t>(pid)) !=
                   options.pids.end();
    };
    const auto wanted_type = [&](uint16_t type) {
        return options.event_types.empty() ||
               std::find(options.event_types.begin(), options.event_types.end(), type) !=
                   options.event_types.end();
    };

    uint64_t printed = 0;
    std::map<std::string, uint64_t> undecodable;  // problem -> records
    try {
        out->write(formatter->preamble());
        Chunk chunk;
        Event event;
        while (reader.next(chunk)) {
            if (chunk.type() != ChunkType::Events) continue;
            EventRecords records(chunk.payload);
            std::span<const std::byte> record;
            while (records.next(record)) {
                if (auto h = peek_header(record); h && !wanted_type(h->type)) continue;
                if (auto err = decode_event(record, event)) {
                    ++undecodable[err->message];
                    continue;
                }
                if (!wanted_pid(event.pid)) continue;
                formatter->append(event, out->buffer());
                out->maybe_flush();
                ++printed;
            }
        }
        out->flush();
    } catch (const OutputClosed&) {
        spdlog::debug("output closed by its reader; stopping");
        return 0;
    }

    for (const auto& [problem, count] : undecodable) {
        spdlog::warn("{} record(s) could not be decoded and were skipped: {}", count, problem);
    }
    return report_recording_end(reader, fmt::format("{} events printed", printed));
}

}  // namespace pagetrace
