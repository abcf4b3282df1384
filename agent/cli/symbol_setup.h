// The symbolizer a command uses, set up from its options: live (this
// machine's /proc, files, kallsyms and JIT maps) or for a recording (its
// images and captured symbols, the binaries found here by build-id).
#pragma once

#include <memory>
#include <string>

#include "cli/options.h"
#include "record/format.h"
#include "symbols/stream_symbolizer.h"

namespace pagetrace {

// nullptr with --no-symbols.
std::unique_ptr<StreamSymbolizer> make_live_symbolizer(const SymbolOptions& options);

// Reads the recording's symbols chunks first (a quick pass that skips the
// events); nullptr with --no-symbols.
std::unique_ptr<StreamSymbolizer> make_recording_symbolizer(const std::string& path,
                                                            const recording::RecordingHeader& header,
                                                            const SymbolOptions& options,
                                                            bool force);

// Whether a recording says which binaries it ran (format 1.2 and later):
// only such recordings have fault sites.
bool recording_has_images(const recording::RecordingHeader& header);

}  // namespace pagetrace
