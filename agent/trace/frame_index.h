// What the frame tracker needs from the outside world, as interfaces so that it
// is tested without root: the kernel-side frame index (the BPF map pt_frames:
// PFN -> the traced page it backs, where the migration hooks look up the owner
// of a moving page) and the processes' pagemaps.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>

#include "pagetrace/events.h"
#include "proc/frame_flags.h"
#include "proc/pagemap.h"

namespace pagetrace {

class FrameIndex {
public:
    virtual ~FrameIndex() = default;
    // Stores pfns[i] -> owners[i]; returns how many were stored (the index
    // may be full).
    virtual size_t store(std::span<const uint64_t> pfns, std::span<const pt_frame_owner> owners) = 0;
    // Removes frames (frames not in the index are skipped).
    virtual void remove(std::span<const uint64_t> pfns) = 0;
    // How many frames it can hold.
    virtual uint32_t capacity() const = 0;
    // Whether the kernel side finds the pages only one process maps (private,
    // exclusively mapped anonymous ones) through the folio's reverse map, so
    // that they need no entry. Frames not stored may still be removed.
    virtual bool finds_private_pages() const { return false; }
};

class PagemapPages {
public:
    virtual ~PagemapPages() = default;
    // Reads `count` entries of pid's pagemap from virtual page `first_page`
    // into `out`; returns how many were read (fewer when the process exited,
    // 0 when it cannot be read).
    virtual size_t read(pid_t pid, uint64_t first_page, size_t count, PagemapEntry* out) = 0;
    // The process exec'd or exited: its next read opens a fresh pagemap.
    virtual void forget(pid_t pid) = 0;
    // Whether frames are visible (CAP_SYS_ADMIN).
    virtual bool pfns_visible() const = 0;
    // The kpageflags words of `count` frames from first_pfn; how many were
    // read (0: not available).
    virtual size_t read_frame_flags(uint64_t first_pfn, size_t count, uint64_t* out) = 0;
    // The zero page's frame (0: unknown).
    virtual uint64_t zero_pfn() const = 0;
};

// The real thing: /proc/PID/pagemap, one open reader per process.
class ProcPagemapPages : public PagemapPages {
public:
    size_t read(pid_t pid, uint64_t first_page, size_t count, PagemapEntry* out) override;
    void forget(pid_t pid) override { readers_.erase(pid); }
    bool pfns_visible() const override;
    size_t read_frame_flags(uint64_t first_pfn, size_t count, uint64_t* out) override {
        return frames_.read_flags(first_pfn, count, out);
    }
    uint64_t zero_pfn() const override { return zero_page_frame(); }

private:
    std::unordered_map<pid_t, std::unique_ptr<PagemapReader>> readers_;
    FrameFlags frames_;
};

}  // namespace pagetrace
