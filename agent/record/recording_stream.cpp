#include "record/recording_stream.h"

#include <spdlog/spdlog.h>

namespace pagetrace::recording {

RecordingStream::Item RecordingStream::next() {
    while (true) {
        if (records_ && records_->next(record_)) return Item::Record;
        if (records_ && !records_->error().empty()) {
            spdlog::warn("skipping the rest of an events chunk: {}", records_->error());
        }
        records_.reset();

        Chunk chunk;
        if (held_) {
            chunk = *held_;
            chunk.payload = held_payload_;
            held_.reset();
        } else if (ended_ || !reader_.next(chunk)) {
            ended_ = true;
            if (building_) {
                snapshot_ = std::move(*building_);
                building_.reset();
                return Item::Snapshot;
            }
            return Item::End;
        }

        PagemapPart part;
        const bool is_pagemap = chunk.type() == ChunkType::Pagemap;
        std::optional<std::string> problem;
        if (is_pagemap) problem = decode_pagemap(chunk.payload, part);
        if (is_pagemap && problem) {
            if (bad_snapshots_++ == 0) spdlog::warn("skipping a pagemap chunk: {}", *problem);
            continue;
        }
        if (is_pagemap && part.continuation && building_) {
            auto& pages = building_->pages;
            pages.insert(pages.end(), part.snapshot.pages.begin(), part.snapshot.pages.end());
            building_->partial = building_->partial || part.snapshot.partial;
            continue;
        }
        // Anything else ends the snapshot being built: hand it out first.
        if (building_) {
            held_ = chunk;
            held_payload_.assign(chunk.payload.begin(), chunk.payload.end());
            snapshot_ = std::move(*building_);
            building_.reset();
            return Item::Snapshot;
        }
        if (is_pagemap) {
            building_ = std::move(part.snapshot);
            continue;
        }
        if (chunk.type() == ChunkType::Events) {
            events_.assign(chunk.payload.begin(), chunk.payload.end());
            records_.emplace(events_);
        }
    }
}

}  // namespace pagetrace::recording
