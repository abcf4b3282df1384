#include "cli/info_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <time.h>

#include <cstring>
#include <iostream>
#include <map>
#include <set>

#include "cli/recording_status.h"
#include "decode/decoder.h"
#include "decode/event.h"
#include "output/names.h"
#include "pipeline/event_tally.h"
#include "record/record_reader.h"
#include "symbols/binary_locator.h"
#include "util/error.h"

namespace pagetrace {

using namespace recording;

namespace {

constexpr size_t kMaxProcessesListed = 20;
constexpr size_t kMaxBinariesListed = 50;

// A command line as a shell would take it back.
std::string shell_line(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& a : args) {
        if (!out.empty()) out += ' ';
        const bool plain = !a.empty() && a.find_first_not_of(
                                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789_-./=:,+@%") == std::string::npos;
        if (plain) {
            out += printable(a);
            continue;
        }
        out += '\'';
        for (char c : a) {
            if (c == '\'') {
                out += "'\\''";
            } else {
                out += printable(std::string_view(&c, 1));
            }
        }
        out += '\'';
    }
    return out;
}

std::string wall_clock(int64_t ns) {
    const time_t secs = static_cast<time_t>(ns / 1000000000);
    struct tm tm{};
    if (!gmtime_r(&secs, &tm)) return "unknown";
    char buf[64];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:06d}Z", buf, (ns % 1000000000) / 1000);
}

std::string type_name(uint16_t type) {
    if (type >= 1 && type <= PT_EV_TYPE_MAX) {
        return std::string(event_type_name(static_cast<EventType>(type)));
    }
    return fmt::format("type {}", type);
}

struct ProcessLine {
    uint32_t pid = 0;
    SnapshotReason reason = SnapshotReason::Exec;
    std::string exe;
    std::vector<std::string> argv;
    bool unread = false;  // gone before /proc could be read
};

// What scanning the chunks found.
struct Contents {
    EventTally events;
    std::map<std::string, uint64_t> chunks;  // by type name
    std::vector<ProcessLine> processes;
    uint64_t snapshots = 0;
    uint64_t pagemap_pages = 0;
    uint64_t pagemap_snapshots = 0;
    uint64_t recorder_losses = 0;
    std::map<std::pair<std::string, std::string>, uint64_t> binaries;  // (path, build-id) -> mappings
    uint64_t kernel_functions = 0;
    std::string kernel_problem;
    std::set<uint32_t> jit_pids;

    void add(const Chunk& chunk) {
        ++chunks[chunk.columns ? "events by columns" : chunk_type_name(chunk.header.type)];
        switch (chunk.type()) {
        case ChunkType::Events: events.add_payload(chunk.payload); break;
        case ChunkType::Process: {
            ProcessSnapshot s;
            if (decode_process(chunk.payload, s)) break;
            ++snapshots;
            if (processes.size() < kMaxProcessesListed) {
                processes.push_back({s.pid, s.reason, s.exe, split_nul(s.cmdline),
                                     s.exe.empty() && !s.problems.empty()});
            }
            break;
        }
        case ChunkType::Pagemap: {
            PagemapPart part;
            if (decode_pagemap(chunk.payload, part)) break;
            pagemap_pages += part.snapshot.pages.size();
            if (!part.continuation) ++pagemap_snapshots;
            break;
        }
        case ChunkType::Loss: {
            LossRecord l;
            if (!decode_loss(chunk.payload, l)) recorder_losses += l.count;
            break;
        }
        case ChunkType::PagemapNotes:
        case ChunkType::EventColumns:  // handed on as Events
        case ChunkType::Footer: break;
        case ChunkType::Images: {
            ProcessImages images;
            if (decode_images(chunk.payload, images)) break;
            for (const auto& m : images.mappings) ++binaries[{m.path, m.build_id}];
            break;
        }
        case ChunkType::Symbols: {
            CapturedSymbols symbols;
            if (decode_symbols(chunk.payload, symbols)) break;
            kernel_functions += symbols.kernel.size();
            if (!symbols.kernel_problem.empty()) kernel_problem = symbols.kernel_problem;
            for (const auto& j : symbols.jit) jit_pids.insert(j.pid);
            break;
        }
        }
    }
};

std::string end_text(const Footer& f) {
    switch (f.end_reason) {
    case EndReason::TargetsEnded:
        return fmt::format("the traced processes exited (status {})", f.exit_status);
    case EndReason::Signal:
        return fmt::format("stopped by {}", signal_name(static_cast<int>(f.signal)));
    case EndReason::Error: return "stopped by an error";
    }
    return fmt::format("unknown reason {}", static_cast<uint32_t>(f.end_reason));
}

std::string state_text(const RecordingReader& r) {
    switch (r.end_kind()) {
    case EndKind::Reading:
    case EndKind::Complete:
        if (!r.damage().empty()) {
            return fmt::format("finalized, but {} damaged part(s) skipped", r.damage().size());
        }
        return "finalized (ended cleanly, every chunk intact)";
    case EndKind::NotFinalized:
        return fmt::format("NOT FINALIZED: cut short at byte {} (recorder killed, or stopped by a "
                           "write error); everything before is readable",
                           r.end_offset());
    case EndKind::Truncated:
        return fmt::format("NOT FINALIZED: cut short inside the {} chunk at byte {}",
                           r.end_chunk_type(), r.end_offset());
    case EndKind::Corrupt:
        return fmt::format("DAMAGED at byte {} ({} chunk)", r.end_offset(), r.end_chunk_type());
    }
    return "unknown";
}

// The binaries the recording ran, each with whether it is found here with
// its recorded build-id.
std::string binaries_text(const Contents& c, const std::vector<std::string>& symfs) {
    BinarySearch search;
    search.symfs = symfs;
    std::string rows;
    size_t found = 0, listed = 0;
    for (const auto& [key, mappings] : c.binaries) {
        const auto& [path, build_id] = key;
        const BinaryMatch match = find_binary(path, build_id, search);
        std::string status;
        switch (match.status) {
        case BinaryMatch::Status::Found:
            ++found;
            status = match.path == path ? "found" : "found at " + printable(match.path);
            break;
        case BinaryMatch::Status::Mismatch:
            status = fmt::format("NOT USED: {} has build-id {}", printable(match.path),
                                 build_id_hex(match.other_build_id));
            break;
        case BinaryMatch::Status::Missing: status = "not found"; break;
        }
        if (listed++ < kMaxBinariesListed) {
            rows += fmt::format("  {}  {}  {}\n", printable(path),
                                build_id.empty() ? "(no build-id)" : build_id_hex(build_id), status);
        }
    }
    if (listed > kMaxBinariesListed) {
        rows += fmt::format("  ... and {} more\n", listed - kMaxBinariesListed);
    }
    return fmt::format("{:<11}{} executable file(s), {} found here with their build-id\n",
                       "binaries", c.binaries.size(), found) +
           rows;
}

}  // namespace

int run_info_command(const InfoOptions& options) {
    RecordingReader reader(open_file_source(options.input_path), options.input_path,
                           ReaderOptions{.skip_damaged = options.force});
    const RecordingHeader& h = reader.header();
    Contents c;
    Chunk chunk;
    while (reader.next(chunk)) c.add(chunk);

    struct stat st{};
    const uint64_t file_size =
        ::stat(options.input_path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    const auto& footer = reader.footer();

    std::string out;
    auto line = [&](std::string_view key, const std::string& value) {
        out += fmt::format("{:<11}{}\n", key, value);
    };
    line("file", fmt::format("{} ({})", printable(options.input_path), human_size(file_size)));
    line("format", fmt::format("pagetrace recording {}.{}, event ABI {}{}", h.version_major,
                               h.version_minor, h.abi_version,
                               abi_decodable(h.abi_version)
                                   ? ""
                                   : fmt::format(" (this pagetrace decodes ABI {} to {})",
                                                 kOldestDecodableAbi, PT_ABI_VERSION)));
    line("state", state_text(reader));
    line("host", fmt::format("{}: Linux {} {}, page size {}", printable(h.host_name),
                             printable(h.kernel_release), printable(h.machine), h.page_size));
    line("agent", printable(h.agent_version));
    line("command", shell_line(h.agent_argv));
    if (!h.command.empty()) {
        line("target", shell_line(h.command));
    } else if (!h.pids.empty()) {
        std::string pids;
        for (uint32_t p : h.pids) pids += (pids.empty() ? "pid " : ",") + std::to_string(p);
        line("target", pids);
    }
    std::string opts = h.options;
    std::replace(opts.begin(), opts.end(), '\n', ' ');
    while (!opts.empty() && opts.back() == ' ') opts.pop_back();
    line("options", printable(opts));
    line("started", wall_clock(h.wall_ns(h.start_ns)) + " (wall clock, UTC)");
    if (footer) {
        line("duration", fmt::format("{:.6f} s", static_cast<double>(footer->end_ns - h.start_ns) / 1e9));
        line("ended", end_text(*footer));
    } else if (c.events.last_ts_ns > h.start_ns) {
        line("duration", fmt::format("at least {:.6f} s (to the last event read)",
                                     static_cast<double>(c.events.last_ts_ns - h.start_ns) / 1e9));
    }
    std::string types;
    for (size_t type = 0; type < c.events.per_type.size(); ++type) {
        const uint64_t count = c.events.per_type[type];
        if (type == PT_EV_LOST || count == 0) continue;
        types += fmt::format("{}{} {}", types.empty() ? "" : ", ", count,
                             type_name(static_cast<uint16_t>(type)));
    }
    line("events", fmt::format("{}{}", c.events.records, types.empty() ? "" : " (" + types + ")"));
    line("drops", fmt::format("{} event(s) lost by the kernel (ring buffer full){}", c.events.lost,
                              c.recorder_losses
                                  ? fmt::format("; {} record(s) not stored by the recorder",
                                                c.recorder_losses)
                                  : ""));
    line("processes", fmt::format("{} in the events; {} snapshot(s) of /proc", c.events.pids.size(),
                                  c.snapshots));
    for (const auto& p : c.processes) {
        const char* reason = p.reason == SnapshotReason::Attach ? "attach" : "exec";
        if (p.unread) {
            out += fmt::format("  {:>8} {:<6} (exited before its /proc facts could be read)\n",
                               p.pid, reason);
        } else {
            out += fmt::format("  {:>8} {:<6} {}  {}\n", p.pid, reason, printable(p.exe),
                               shell_line(p.argv));
        }
    }
    if (c.snapshots > c.processes.size()) {
        out += fmt::format("  ... and {} more\n", c.snapshots - c.processes.size());
    }
    if (c.pagemap_snapshots) {
        line("pagemap", fmt::format("{} snapshot(s), {} page(s)", c.pagemap_snapshots,
                                    c.pagemap_pages));
    }
    if (!c.binaries.empty()) out += binaries_text(c, options.symfs);
    if (c.kernel_functions || !c.kernel_problem.empty() || !c.jit_pids.empty()) {
        std::string text = c.kernel_problem.empty()
                               ? fmt::format("{} kernel function(s)", c.kernel_functions)
                               : "kernel: " + printable(c.kernel_problem);
        if (!c.jit_pids.empty()) text += fmt::format("; JIT maps of {} process(es)", c.jit_pids.size());
        line("symbols", text);
    }
    const double records = c.events.records ? static_cast<double>(c.events.records) : 1.0;
    line("size", fmt::format("events {} raw, {:.1f} bytes/event; file {:.1f} bytes/event",
                             human_size(c.events.event_bytes),
                             static_cast<double>(c.events.event_bytes) / records,
                             static_cast<double>(file_size) / records));
    std::string chunks;
    uint64_t total_chunks = 0;
    for (const auto& [name, count] : c.chunks) {
        chunks += fmt::format("{}{} {}", chunks.empty() ? "" : ", ", count, name);
        total_chunks += count;
    }
    line("chunks", fmt::format("{}{}", total_chunks, chunks.empty() ? "" : " (" + chunks + ")"));
    for (const auto& note : reader.notes()) line("note", note);
    std::cout << out << std::flush;

    return report_recording_end(reader, fmt::format("{} events counted", c.events.records));
}

}  // namespace pagetrace
