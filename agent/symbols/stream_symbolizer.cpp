#include "symbols/stream_symbolizer.h"

#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "decode/event.h"
#include "output/formatter.h"
#include "symbols/dwarf_file.h"
#include "util/clock.h"

namespace pagetrace {

namespace {

constexpr uint64_t kJitRecheckNs = 100'000'000;  // a live perf map is re-read at most this often
constexpr size_t kMaxPerfMapBytes = 64u << 20;

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void finish_location(CodeLocation& w) {
    if (w.label.empty()) {
        if (!w.inlined.empty()) {
            w.label = w.inlined.front() + " [inlined in " + (w.sym.empty() ? w.dso : w.sym) + "]";
        } else {
            w.label = w.sym.empty() ? w.dso : w.sym;
        }
    }
    w.json.clear();
    if (!w.sym.empty()) {
        w.json += R"(,"sym":)";
        append_json_string(w.json, w.sym);
    }
    if (!w.dso.empty()) {
        w.json += R"(,"dso":)";
        append_json_string(w.json, w.dso);
    }
    if (!w.src.empty()) {
        w.json += R"(,"src":)";
        append_json_string(w.json, w.src);
    }
    if (!w.inlined.empty()) {
        // A string, so that event lines stay flat objects: innermost first.
        std::string chain;
        for (const auto& name : w.inlined) chain += (chain.empty() ? "" : ", ") + name;
        w.json += R"(,"inlined":)";
        append_json_string(w.json, chain);
    }
}

StreamSymbolizer::StreamSymbolizer(SymbolizerOptions options) : options_(std::move(options)) {
    if (!options_.live) {
        recorded_kernel_ = AddressTable::from_functions(options_.captured.kernel);
        kernel_ = &recorded_kernel_;
        kernel_loaded_ = true;
        for (auto& jit : options_.captured.jit) {
            recorded_jit_[jit.pid].emplace_back(jit.ts_ns, AddressTable::from_perf_map(jit.text));
        }
        for (auto& [pid, maps] : recorded_jit_) {
            std::stable_sort(maps.begin(), maps.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
        }
    }
}

StreamSymbolizer::~StreamSymbolizer() = default;

// ---------------------------------------------------------------- the stream

StreamSymbolizer::ProcessCode& StreamSymbolizer::process(uint32_t pid) {
    if (last_proc_ && last_pid_ == pid) return *last_proc_;
    last_pid_ = pid;
    last_proc_ = &procs_[pid];
    return *last_proc_;
}

void StreamSymbolizer::forget(uint32_t pid) {
    if (last_pid_ == pid) last_proc_ = nullptr;
    procs_.erase(pid);
}

void StreamSymbolizer::unmap(ProcessCode& proc, uint64_t start, uint64_t end) {
    auto it = proc.ranges.lower_bound(start);
    if (it != proc.ranges.begin() && std::prev(it)->second.end > start) --it;
    std::vector<std::pair<uint64_t, Range>> keep;
    while (it != proc.ranges.end() && it->first < end) {
        const uint64_t s = it->first;
        const Range r = it->second;
        if (s < start) keep.push_back({s, {start, r.file_offset, r.image}});
        if (r.end > end) keep.push_back({end, {r.end, r.file_offset + (end - s), r.image}});
        it = proc.ranges.erase(it);
    }
    for (auto& [s, r] : keep) proc.ranges.emplace(s, r);
    proc.forget_answers();
}

void StreamSymbolizer::on_event(const Event& event, std::span<const std::byte>) {
    now_ns_ = event.ts_ns;
    switch (event.type) {
    case EventType::Exec: {
        ProcessCode& proc = process(event.pid);
        proc.ranges.clear();
        proc.forget_answers();
        live_jit_.erase(event.pid);
        break;
    }
    case EventType::Fork: {
        const auto& f = std::get<ForkData>(event.data);
        auto parent = procs_.find(event.pid);
        if (parent == procs_.end()) break;
        const auto ranges = parent->second.ranges;  // copied before the child's insert
        ProcessCode& child = process(f.child_pid);
        child.ranges = ranges;
        child.forget_answers();
        break;
    }
    case EventType::Munmap: {
        const auto& m = std::get<MunmapData>(event.data);
        if (m.err == 0 && m.len) {
            auto it = procs_.find(event.pid);
            if (it != procs_.end()) unmap(it->second, m.addr, m.addr + m.len);
        }
        break;
    }
    case EventType::Exit: forget(event.pid); break;
    default: break;
    }
}

void StreamSymbolizer::on_images(const ProcessImages& images) {
    ProcessCode& proc = process(images.pid);
    for (const ImageMapping& m : images.mappings) {
        if (m.end <= m.start) continue;
        unmap(proc, m.start, m.end);
        proc.ranges.emplace(m.start, Range{m.end, m.file_offset, image_for(m)});
    }
    proc.forget_answers();
}

StreamSymbolizer::Image* StreamSymbolizer::image_for(const ImageMapping& m) {
    const std::string key = m.build_id.empty() ? "path:" + m.path : m.build_id;
    auto& slot = images_[key];
    if (!slot) {
        slot = std::make_unique<Image>();
        slot->path = m.path;
        slot->build_id = m.build_id;
        slot->dso = base_name(m.path);
        ++stats_.images;
    }
    return slot.get();
}

// ---------------------------------------------------------------- lookups

const CodeLocation* StreamSymbolizer::locate(uint32_t pid, uint64_t ip, bool kernel) {
    ++stats_.lookups;
    if (kernel) return locate_kernel(ip);
    ProcessCode& proc = process(pid);
    if (ip == proc.last_ip && proc.last_where) return proc.last_where;
    if (auto hit = proc.by_ip.find(ip); hit != proc.by_ip.end()) {
        proc.last_ip = ip;
        proc.last_where = hit->second;
        return hit->second;
    }
    const CodeLocation* where = nullptr;
    auto it = proc.ranges.upper_bound(ip);
    if (it != proc.ranges.begin() && ip < std::prev(it)->second.end) {
        const auto& [start, range] = *std::prev(it);
        where = locate_in(*range.image, ip - start + range.file_offset);
    } else {
        where = locate_jit(pid, ip);
        // A live JIT may name this code on its map's next read.
        if (!where && options_.live) return nullptr;
    }
    proc.by_ip.emplace(ip, where);
    return where;
}

CodeKey StreamSymbolizer::key(uint32_t pid, uint64_t ip, bool kernel) {
    if (kernel) return {CodeKey::Kind::Kernel, nullptr, ip};
    ProcessCode& proc = process(pid);
    if (auto hit = proc.by_ip.find(ip); hit != proc.by_ip.end()) {
        if (!hit->second) return {};
        return {CodeKey::Kind::Located, hit->second, 0};
    }
    auto it = proc.ranges.upper_bound(ip);
    if (it != proc.ranges.begin() && ip < std::prev(it)->second.end) {
        const auto& [start, range] = *std::prev(it);
        return {CodeKey::Kind::File, range.image, ip - start + range.file_offset};
    }
    // A JIT's map is read now: it may be gone later.
    const CodeLocation* where = locate_jit(pid, ip);
    if (!where) return {};
    return {CodeKey::Kind::Located, where, 0};
}

const CodeLocation* StreamSymbolizer::resolve(const CodeKey& key) {
    switch (key.kind) {
    case CodeKey::Kind::None: return nullptr;
    case CodeKey::Kind::File:
        // The key holds one of our own images (key() made it).
        return locate_in(*static_cast<Image*>(const_cast<void*>(key.ref)), key.value);
    case CodeKey::Kind::Kernel: return locate_kernel(key.value);
    case CodeKey::Kind::Located: return static_cast<const CodeLocation*>(key.ref);
    }
    return nullptr;
}

void StreamSymbolizer::open_image(Image& image) {
    image.opened = true;
    if (!options_.open_files) return;
    const BinaryMatch match = find_binary(image.path, image.build_id, options_.search);
    switch (match.status) {
    case BinaryMatch::Status::Missing:
        spdlog::info("{}: not found here{}; its code is shown as offsets", image.path,
                     image.build_id.empty() ? "" : " (build-id " + build_id_hex(image.build_id) +
                                                       "; --symfs DIR names where to look)");
        return;
    case BinaryMatch::Status::Mismatch:
        spdlog::warn("{}: not used for {}: its build-id is {}, the traced one had {} (rebuilt "
                     "since? --symfs DIR names where the traced build is)",
                     match.path, image.path, build_id_hex(match.other_build_id),
                     build_id_hex(image.build_id));
        return;
    case BinaryMatch::Status::Found: break;
    }
    std::string problem;
    image.dwarf = DwarfFile::open(match.path, problem);
    if (!image.dwarf) {
        spdlog::warn("cannot read symbols of {}: {}", match.path, problem);
        return;
    }
    ++stats_.images_found;
}

const CodeLocation* StreamSymbolizer::locate_in(Image& image, uint64_t file_offset) {
    auto& slot = image.by_offset[file_offset];
    if (slot) return slot.get();
    if (!image.opened) open_image(image);
    auto where = std::make_unique<CodeLocation>();
    if (image.dwarf) {
        *where = image.dwarf->locate(file_offset);
        ++stats_.resolved;
    }
    where->dso = image.dso;
    if (where->sym.empty()) where->label = fmt::format("{}+{:#x}", image.dso, file_offset);
    finish_location(*where);
    slot = std::move(where);
    return slot.get();
}

const CodeLocation* StreamSymbolizer::keep(std::unique_ptr<CodeLocation> where) {
    finish_location(*where);
    owned_.push_back(std::move(where));
    return owned_.back().get();
}

const CodeLocation* StreamSymbolizer::locate_kernel(uint64_t ip) {
    if (auto hit = kernel_by_ip_.find(ip); hit != kernel_by_ip_.end()) return hit->second;
    if (!kernel_loaded_) {
        kernel_loaded_ = true;
        kernel_ = &kallsyms_table();
        if (kernel_->empty()) {
            spdlog::warn("kernel-mode fault IPs are not symbolized: /proc/kallsyms shows no "
                         "addresses (it needs root, or kernel.kptr_restrict=0)");
        }
    }
    if (!options_.live && !options_.captured.kernel_problem.empty()) {
        spdlog::warn("kernel-mode fault IPs are not symbolized: {}", options_.captured.kernel_problem);
        options_.captured.kernel_problem.clear();  // said once
    }
    const CodeLocation* where = nullptr;
    if (auto hit = kernel_->lookup(ip)) {
        auto loc = std::make_unique<CodeLocation>();
        loc->sym = fmt::format("{}+{:#x}", hit->name, hit->offset);
        loc->dso = "[kernel]";
        where = keep(std::move(loc));
    }
    kernel_by_ip_.emplace(ip, where);
    return where;
}

const AddressTable* StreamSymbolizer::jit_table(uint32_t pid) {
    if (!options_.live) {
        auto it = recorded_jit_.find(pid);
        if (it == recorded_jit_.end()) return nullptr;
        // The map read at the exit of the process that ran then (or at the end).
        for (auto& [ts, table] : it->second) {
            if (ts >= now_ns_) return &table;
        }
        return nullptr;
    }
    LiveJit& jit = live_jit_[pid];
    const uint64_t now = monotonic_ns();
    if (jit.checked_ns && now - jit.checked_ns < kJitRecheckNs) return &jit.table;
    jit.checked_ns = now;
    const std::string path = fmt::format("/tmp/perf-{}.map", pid);
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return &jit.table;
    if (st.st_size != jit.size) {
        jit.size = st.st_size;
        jit.table = AddressTable::from_perf_map(read_small_file(path, kMaxPerfMapBytes));
    }
    return &jit.table;
}

const CodeLocation* StreamSymbolizer::locate_jit(uint32_t pid, uint64_t ip) {
    const AddressTable* table = jit_table(pid);
    if (!table) return nullptr;
    const auto hit = table->lookup(ip);
    if (!hit) return nullptr;
    auto loc = std::make_unique<CodeLocation>();
    loc->sym = fmt::format("{}+{:#x}", hit->name, hit->offset);
    loc->dso = "[jit]";
    return keep(std::move(loc));
}

}  // namespace pagetrace
