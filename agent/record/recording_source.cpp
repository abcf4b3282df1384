#include "record/recording_source.h"

#include <spdlog/spdlog.h>

namespace pagetrace::recording {

kernel::PageGeometry RecordingSource::page_geometry() const {
    const uint32_t size = reader_.header().page_size;
    return size ? kernel::PageGeometry::of_size(size) : kernel::PageGeometry{};
}

SourceItem RecordingSource::next() {
    SourceItem item;
    while (true) {
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
                item.kind = SourceItem::Kind::Snapshot;
                item.snapshot = &snapshot_;
                return item;
            }
            item.kind = SourceItem::Kind::End;
            return item;
        }

        const bool is_pagemap = chunk.type() == ChunkType::Pagemap && interest_.snapshots;
        PagemapPart part;
        if (is_pagemap) {
            if (auto problem = decode_pagemap(chunk.payload, part)) {
                if (!warned_bad_snapshot_) spdlog::warn("skipping a pagemap chunk: {}", *problem);
                warned_bad_snapshot_ = true;
                continue;
            }
            if (part.continuation && building_) {
                auto& pages = building_->pages;
                pages.insert(pages.end(), part.snapshot.pages.begin(), part.snapshot.pages.end());
                building_->partial = building_->partial || part.snapshot.partial;
                continue;
            }
        }
        // Notes belong to the snapshot they follow.
        if (chunk.type() == ChunkType::PagemapNotes && interest_.snapshots) {
            PagemapNotes notes;
            if (auto problem = decode_pagemap_notes(chunk.payload, notes)) {
                spdlog::warn("skipping a pagemap notes chunk: {}", *problem);
            } else if (building_ && building_->pid == notes.pid && building_->ts_ns == notes.ts_ns) {
                building_->zero_pfn = notes.zero_pfn;
                building_->huge_pages = std::move(notes.huge_pages);
            }
            continue;
        }
        // Anything else ends the snapshot being built: hand it out first.
        if (building_) {
            held_ = chunk;
            held_payload_.assign(chunk.payload.begin(), chunk.payload.end());
            snapshot_ = std::move(*building_);
            building_.reset();
            item.kind = SourceItem::Kind::Snapshot;
            item.snapshot = &snapshot_;
            return item;
        }
        if (is_pagemap) {
            building_ = std::move(part.snapshot);
            continue;
        }
        if (chunk.type() == ChunkType::Events) {
            // Valid until the next call: the next chunk is read (or
            // held_payload_ replaced) only then.
            item.kind = SourceItem::Kind::Records;
            item.record = chunk.payload;
            return item;
        } else if (chunk.type() == ChunkType::Process && interest_.processes) {
            if (auto problem = decode_process(chunk.payload, process_)) {
                spdlog::warn("skipping a process chunk: {}", *problem);
                continue;
            }
            item.kind = SourceItem::Kind::Process;
            item.process = &process_;
            return item;
        } else if (chunk.type() == ChunkType::Images && interest_.images) {
            if (auto problem = decode_images(chunk.payload, images_)) {
                spdlog::warn("skipping an images chunk: {}", *problem);
                continue;
            }
            item.kind = SourceItem::Kind::Images;
            item.images = &images_;
            return item;
        }
    }
}

}  // namespace pagetrace::recording
