// How reading a recording ended, told to the user the same way by replay and
// info.
#pragma once

#include <string>

#include "record/record_reader.h"

namespace pagetrace {

// Logs a warning for a partial recording (not finalized, cut short, damaged
// chunks skipped) or an error for a damaged one, each naming the byte offset,
// and returns the exit status: 0 complete, recording::kExitPartial partial,
// kExitFailure damaged. `done` says what was made of the readable part
// ("1234 events printed").
int report_recording_end(const recording::RecordingReader& reader, const std::string& done);

// Throws Error if the recording's events are in another ABI layout than this
// pagetrace decodes; logs the reader's notes (newer minor version, ...).
void require_decodable_events(const recording::RecordingReader& reader);

}  // namespace pagetrace
