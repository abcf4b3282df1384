// libFuzzer target for everything that reads a recording: the header, chunk
// framing and resynchronisation, decompression, every payload decoder, the
// event decoder and both formatters. Each input is read three ways: as replay
// reads it, with --force, and with checksums ignored so that mutations reach
// the layers behind them (events are formatted in the first and last way
// only, which is where the time goes). Errors are fine; crashes, sanitizer reports, leaks
// and exceptions other than pagetrace::Error are not.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "decode/decoder.h"
#include "output/formatter.h"
#include "record/format.h"
#include "record/record_reader.h"
#include "util/error.h"

using namespace pagetrace;
using namespace pagetrace::recording;

namespace {

void read_all(std::span<const std::byte> bytes, ReaderOptions options, bool format) {
    try {
        RecordingReader reader(memory_source(bytes), "fuzz", options);
        const RecordingHeader& h = reader.header();
        const auto text = make_formatter(OutputFormat::Text, h.start_ns);
        const auto json = make_formatter(OutputFormat::Json, h.start_ns);
        std::string out;
        Chunk chunk;
        while (reader.next(chunk)) {
            switch (chunk.type()) {
            case ChunkType::Events: {
                EventRecords records(chunk.payload);
                std::span<const std::byte> rec;
                Event event;
                while (records.next(rec)) {
                    if (decode_event(rec, event) || !format) continue;
                    out.clear();
                    text->append(event, out);
                    json->append(event, out);
                }
                break;
            }
            case ChunkType::Process: {
                ProcessSnapshot s;
                if (!decode_process(chunk.payload, s)) split_nul(s.cmdline);
                break;
            }
            case ChunkType::Pagemap: {
                PagemapPart part;
                decode_pagemap(chunk.payload, part);
                break;
            }
            case ChunkType::Loss: {
                LossRecord l;
                decode_loss(chunk.payload, l);
                break;
            }
            case ChunkType::Footer: {
                Footer f;
                decode_footer(chunk.payload, f);
                break;
            }
            }
        }
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
