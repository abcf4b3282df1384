// libFuzzer target for everything that reads a recording: the header, chunk
// framing and resynchronisation, decompression, every payload decoder, and
// the stream a recording yields as commands read it: the recording source,
// the event pipeline (one decode per record), the symbolizer (the images and
// symbols chunks; no file is opened), both formatters with symbols and the
// timeline with fault sites and page histories. Each input is read three ways: as replay
// reads it, with --force, and with checksums ignored so that mutations reach
// the layers behind them (events are formatted and timelines built in the
// first and last way only, which is where the time goes). Errors are fine;
// crashes, sanitizer reports, leaks and exceptions other than
// pagetrace::Error are not.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "output/formatter.h"
#include "pipeline/pipeline.h"
#include "record/format.h"
#include "record/record_reader.h"
#include "record/recording_source.h"
#include "symbols/stream_symbolizer.h"
#include "timeline/timeline_builder.h"
#include "timeline/timeline_render.h"
#include "timeline/timeline_sink.h"
#include "util/error.h"

using namespace pagetrace;
using namespace pagetrace::recording;

namespace {

// Both formatters, into a string that is dropped after each event.
class FormatBoth : public EventSink {
public:
    FormatBoth(uint64_t start_ns, Symbolizer* symbols)
        : text_(make_formatter(OutputFormat::Text, start_ns, symbols)),
          json_(make_formatter(OutputFormat::Json, start_ns, symbols)) {}
    void on_event(const Event& event, std::span<const std::byte>) override {
        out_.clear();
        text_->append(event, out_);
        json_->append(event, out_);
    }

private:
    std::unique_ptr<EventFormatter> text_;
    std::unique_ptr<EventFormatter> json_;
    std::string out_;
};

// Process facts and the loss and footer chunks, which no sink reads.
class ReadOtherChunks : public EventSink {
public:
    SinkInterest interest() const override { return {.snapshots = true, .processes = true}; }
    void on_event(const Event&, std::span<const std::byte>) override {}
    void on_process(const ProcessSnapshot& p) override { split_nul(p.cmdline); }
};

// The symbols chunks, as replay reads them first (a skimming pass).
CapturedSymbols captured_symbols(std::span<const std::byte> bytes, ReaderOptions options) {
    CapturedSymbols out;
    options.skim = true;
    RecordingReader reader(memory_source(bytes), "fuzz", options);
    Chunk chunk;
    while (reader.next(chunk)) {
        if (chunk.type() == ChunkType::Symbols) decode_symbols(chunk.payload, out);
    }
    return out;
}

void read_all(std::span<const std::byte> bytes, ReaderOptions options, bool deep) {
    try {
        SymbolizerOptions symbol_options;
        symbol_options.open_files = false;
        if (deep) symbol_options.captured = captured_symbols(bytes, options);
        StreamSymbolizer symbols(std::move(symbol_options));
        RecordingReader reader(memory_source(bytes), "fuzz", options);
        RecordingSource source(reader);
        Pipeline pipeline(source);
        FormatBoth format(reader.header().start_ns, &symbols);
        // Histories of the whole address space: every page's entries are built
        // (of a bounded number of pages: an mmap of 2^40 bytes is one record).
        HistoryFilter filter = HistoryFilter::range(std::nullopt, 0, ~uint64_t{0});
        filter.max_pages = 4096;
        TimelineBuilder timeline(filter);
        timeline.track_fault_sites(&symbols);
        TimelineSink timeline_sink(timeline);
        ReadOtherChunks others;
        pipeline.add(others);
        pipeline.add(symbols);
        if (deep) {
            pipeline.add(format);
            pipeline.add(timeline_sink);
        }
        pipeline.run();
        if (deep) {
            format_summaries(timeline.summaries(), OutputFormat::Json, reader.header().start_ns);
            format_page_histories(timeline.page_histories(), OutputFormat::Text,
                                  reader.header().start_ns);
        }
        if (const auto& footer = reader.footer()) encode_footer(*footer);
        reader.notes();
    } catch (const Error&) {
        // A clear refusal is the right answer to a bad file.
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    read_all(bytes, {.skip_damaged = false, .verify_checksums = true}, true);
    read_all(bytes, {.skip_damaged = true, .verify_checksums = true}, false);
    read_all(bytes, {.skip_damaged = true, .verify_checksums = false}, true);
    return 0;
}
