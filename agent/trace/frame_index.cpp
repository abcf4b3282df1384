#include "trace/frame_index.h"

#include <spdlog/spdlog.h>

#include "proc/snapshot_reader.h"
#include "util/error.h"

namespace pagetrace {

size_t ProcPagemapPages::read(pid_t pid, uint64_t first_page, size_t count, PagemapEntry* out) {
    auto it = readers_.find(pid);
    if (it == readers_.end()) {
        try {
            it = readers_.emplace(pid, std::make_unique<PagemapReader>(pid)).first;
        } catch (const Error& e) {
            spdlog::debug("frame index: {}", e.what());
            return 0;
        }
    }
    return it->second->read(first_page, count, out);
}

bool ProcPagemapPages::pfns_visible() const { return pagemap_pfns_visible(); }

}  // namespace pagetrace
