#include "cli/snapshot_command.h"

#include <spdlog/spdlog.h>

#include "output/output_stream.h"
#include "output/snapshot_format.h"
#include "proc/frame_flags.h"
#include "proc/process_info.h"
#include "proc/snapshot_reader.h"
#include "trace/live_source.h"
#include "util/error.h"

namespace pagetrace {

int run_snapshot_command(const SnapshotOptions& options) {
    const auto tgid = thread_group_of(options.pid);
    if (!tgid || !process_running(*tgid)) {
        throw Error("no running process with pid " + std::to_string(options.pid));
    }
    if (is_kernel_thread(*tgid)) {
        throw Error("pid " + std::to_string(options.pid) + " (" + process_comm(*tgid) +
                    ") is a kernel thread: it has no user memory to show");
    }
    if (!pagemap_pfns_visible()) {
        spdlog::warn("without CAP_SYS_ADMIN the kernel hides physical frames: pages are shown "
                     "without them (run as root to see frames)");
    }
    const PagemapSnapshot snap = take_snapshot(*tgid, SnapshotKind::Attach, monotonic_ns());
    if (snap.mappings.empty()) {
        throw Error("cannot read the mappings of pid " + std::to_string(*tgid) +
                    " (it exited, or it is a kernel thread, or you may not read it)");
    }
    // With --pages, what the kernel says of each page's frame.
    std::vector<FrameFacts> frames;
    if (options.pages && snap.pfns_visible) {
        const FrameFlags kernel_frames;
        if (kernel_frames.available()) {
            frames.resize(snap.pages.size());
            for (size_t i = 0; i < snap.pages.size(); ++i) {
                const uint64_t pfn = snap.pages[i].entry.pfn();
                if (!pfn) continue;
                FrameFacts& f = frames[i];
                f.known = kernel_frames.read_flags(pfn, 1, &f.flags) == 1 &&
                          kernel_frames.read_counts(pfn, 1, &f.mapcount) == 1;
            }
        }
    }
    OutputStream out;
    try {
        out.write(format_snapshot(snap, options.format, options.pages, frames));
        out.flush();
    } catch (const OutputClosed&) {
    }
    return 0;
}

}  // namespace pagetrace
