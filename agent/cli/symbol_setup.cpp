#include "cli/symbol_setup.h"

#include <spdlog/spdlog.h>

#include "record/record_reader.h"

namespace pagetrace {

using namespace recording;

std::unique_ptr<StreamSymbolizer> make_live_symbolizer(const SymbolOptions& options) {
    if (!options.symbols) return nullptr;
    SymbolizerOptions s;
    s.live = true;
    s.search.symfs = options.symfs;
    return std::make_unique<StreamSymbolizer>(std::move(s));
}

bool recording_has_images(const RecordingHeader& header) {
    return header.version_major > 1 || header.version_minor >= 2;
}

std::unique_ptr<StreamSymbolizer> make_recording_symbolizer(const std::string& path,
                                                            const RecordingHeader& header,
                                                            const SymbolOptions& options,
                                                            bool force) {
    if (!options.symbols) return nullptr;
    SymbolizerOptions s;
    s.search.symfs = options.symfs;
    if (recording_has_images(header)) {
        // Errors here are the main pass's to report, with its offsets.
        try {
            RecordingReader reader(open_file_source(path), path,
                                   ReaderOptions{.skip_damaged = force, .skim = true});
            Chunk chunk;
            while (reader.next(chunk)) {
                if (chunk.type() != ChunkType::Symbols) continue;
                if (auto problem = decode_symbols(chunk.payload, s.captured)) {
                    spdlog::warn("skipping a symbols chunk: {}", *problem);
                }
            }
        } catch (const std::exception& e) {
            spdlog::debug("reading the symbols of {}: {}", path, e.what());
        }
    }
    return std::make_unique<StreamSymbolizer>(std::move(s));
}

}  // namespace pagetrace
