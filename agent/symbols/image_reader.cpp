#include "symbols/image_reader.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "proc/maps.h"
#include "symbols/build_id.h"
#include "util/unique_fd.h"

namespace pagetrace {

namespace {

constexpr std::string_view kDeleted = " (deleted)";

bool executable_file_mapping(const Mapping& m) {
    return m.perms.size() >= 3 && m.perms[2] == 'x' && !m.path.empty() && m.path[0] == '/';
}

}  // namespace

ProcessImages read_process_images(uint32_t pid, ImagesReason reason, uint64_t ts_ns,
                                  std::optional<AddressRange> only) {
    ProcessImages out;
    out.pid = pid;
    out.reason = reason;
    out.ts_ns = ts_ns;
    const std::string dir = fmt::format("/proc/{}/", pid);
    std::ifstream maps(dir + "maps");
    if (!maps) {
        out.problems = fmt::format("{}maps: {}\n", dir, std::strerror(errno));
        return out;
    }
    std::string line;
    while (std::getline(maps, line)) {
        auto m = parse_maps_line(line);
        if (!m || !executable_file_mapping(*m)) continue;
        if (only && (m->end <= only->start || m->start >= only->end)) continue;
        ImageMapping image{m->start, m->end, m->offset, m->path, {}};
        UniqueFd fd(::open(fmt::format("{}map_files/{:x}-{:x}", dir, m->start, m->end).c_str(),
                           O_RDONLY | O_CLOEXEC));
        std::string path = m->path;
        if (path.size() > kDeleted.size() && path.ends_with(kDeleted)) {
            path.resize(path.size() - kDeleted.size());
        }
        if (!fd.valid()) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid()) {
            out.problems += fmt::format("{}: {}\n", m->path, std::strerror(errno));
        } else {
            BuildIdResult id = read_build_id(fd.get());
            image.build_id = std::move(id.build_id);
            if (!id.problem.empty()) out.problems += fmt::format("{}: {}\n", m->path, id.problem);
        }
        out.mappings.push_back(std::move(image));
    }
    return out;
}

}  // namespace pagetrace
