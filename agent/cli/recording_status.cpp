#include "cli/recording_status.h"
#include "pagetrace/events.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "decode/decoder.h"
#include "record/format.h"
#include "util/error.h"

namespace pagetrace {

using namespace recording;

int report_recording_end(const RecordingReader& reader, const std::string& done) {
    const std::string& name = reader.name();
    for (const auto& d : reader.damage()) {
        spdlog::warn("{}: skipped {} damaged byte(s) at byte {} ({}): {}", name, d.length, d.offset,
                     d.chunk_type, d.what);
    }
    switch (reader.end_kind()) {
    case EndKind::Reading:
    case EndKind::Complete:
        return reader.damage().empty() ? 0 : kExitPartial;
    case EndKind::NotFinalized:
        spdlog::warn("{}: {}; {}", name, reader.end_message(), done);
        return kExitPartial;
    case EndKind::Truncated:
        spdlog::warn("{}: {}; {}, everything before byte {}", name, reader.end_message(), done,
                     reader.end_offset());
        return kExitPartial;
    case EndKind::Corrupt:
        spdlog::error("{}: {}; {}, everything before byte {}; --force skips damaged chunks", name,
                      reader.end_message(), done, reader.end_offset());
        return kExitFailure;
    }
    return kExitFailure;
}

void require_decodable_events(const recording::RecordingReader& reader) {
    const recording::RecordingHeader& header = reader.header();
    // Version 3 only added fields at the end of exit records, and event types:
    // the decoder reads version 2 records as they are.
    if (!abi_decodable(header.abi_version)) {
        throw Error(fmt::format(
            "{} holds events in layout version {} (event ABI), this pagetrace decodes versions "
            "{} to {}: read it with the pagetrace that recorded it ({}); `pagetrace info` still "
            "reads it",
            reader.name(), header.abi_version, kOldestDecodableAbi, PT_ABI_VERSION,
            header.agent_version));
    }
    for (const auto& note : reader.notes()) spdlog::info("{}", note);
}

}  // namespace pagetrace
