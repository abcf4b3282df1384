// The symbolizer the commands use: a sink that learns from the stream which
// file is mapped executable where in each process (images items at attach,
// exec and executable mmaps; fork, exec, munmap and exit events), and turns
// IPs into code locations with libdwfl, cached per (file, offset) and per
// (process, ip) so that a replay pays a hash lookup per event.
//
// Kernel-mode IPs go through /proc/kallsyms (live) or the kernel functions a
// recording captured; IPs outside every file mapping through the JIT's
// /tmp/perf-PID.map (live) or the maps a recording captured.
//
// Add it to the pipeline before the sinks that call locate(): it must have
// seen an event's mappings before the event is formatted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/event_sink.h"
#include "symbols/address_table.h"
#include "symbols/binary_locator.h"
#include "symbols/code_facts.h"
#include "symbols/symbolizer.h"

namespace pagetrace {

class DwarfFile;

struct SymbolizerOptions {
    // Symbols of this machine as it runs: /proc/kallsyms, /tmp/perf-PID.map.
    // Off for replay, which uses only what the recording captured.
    bool live = false;
    BinarySearch search;       // where the recorded binaries are looked for
    CapturedSymbols captured;  // from the recording (replay)
    // Off: no file is looked for or opened (code shows as offsets in its
    // file); for the fuzzer, whose recordings name any path at all.
    bool open_files = true;
};

struct SymbolizerStats {
    uint64_t lookups = 0;       // locate() calls
    uint64_t resolved = 0;      // (file, offset) pairs resolved with libdwfl
    uint64_t images = 0;        // distinct files seen
    uint64_t images_found = 0;  // of them, found here with the right build-id
};

class StreamSymbolizer : public EventSink, public Symbolizer {
public:
    explicit StreamSymbolizer(SymbolizerOptions options);
    ~StreamSymbolizer() override;

    SinkInterest interest() const override { return {.images = true}; }
    void on_event(const Event& event, std::span<const std::byte> raw) override;
    void on_images(const ProcessImages& images) override;

    const CodeLocation* locate(uint32_t pid, uint64_t ip, bool kernel) override;
    CodeKey key(uint32_t pid, uint64_t ip, bool kernel) override;
    const CodeLocation* resolve(const CodeKey& key) override;

    const SymbolizerStats& stats() const { return stats_; }

private:
    struct Image {
        std::string path;
        std::string build_id;
        std::string dso;  // basename of path
        bool opened = false;
        std::unique_ptr<DwarfFile> dwarf;
        std::unordered_map<uint64_t, std::unique_ptr<CodeLocation>> by_offset;
    };
    struct Range {
        uint64_t end = 0;
        uint64_t file_offset = 0;
        Image* image = nullptr;
    };
    struct ProcessCode {
        std::map<uint64_t, Range> ranges;  // by start
        std::unordered_map<uint64_t, const CodeLocation*> by_ip;
        // The last answer: faults come in runs from the same instruction.
        uint64_t last_ip = 0;
        const CodeLocation* last_where = nullptr;
        void forget_answers() {
            by_ip.clear();
            last_ip = 0;
            last_where = nullptr;
        }
    };
    struct LiveJit {
        off_t size = -1;
        uint64_t checked_ns = 0;
        AddressTable table;
    };

    ProcessCode& process(uint32_t pid);
    void forget(uint32_t pid);
    void unmap(ProcessCode& proc, uint64_t start, uint64_t end);
    Image* image_for(const ImageMapping& m);
    const CodeLocation* locate_in(Image& image, uint64_t file_offset);
    const CodeLocation* locate_kernel(uint64_t ip);
    const CodeLocation* locate_jit(uint32_t pid, uint64_t ip);
    const AddressTable* jit_table(uint32_t pid);
    void open_image(Image& image);
    const CodeLocation* keep(std::unique_ptr<CodeLocation> where);

    SymbolizerOptions options_;
    std::unordered_map<std::string, std::unique_ptr<Image>> images_;  // by build-id, or path
    std::unordered_map<uint32_t, ProcessCode> procs_;
    uint32_t last_pid_ = 0;
    ProcessCode* last_proc_ = nullptr;
    uint64_t now_ns_ = 0;

    bool kernel_loaded_ = false;
    const AddressTable* kernel_ = nullptr;  // the machine's (live) or recorded_kernel_
    AddressTable recorded_kernel_;
    std::unordered_map<uint64_t, const CodeLocation*> kernel_by_ip_;

    std::unordered_map<uint32_t, LiveJit> live_jit_;
    std::unordered_map<uint32_t, std::vector<std::pair<uint64_t, AddressTable>>> recorded_jit_;

    std::vector<std::unique_ptr<CodeLocation>> owned_;  // kernel and JIT locations
    SymbolizerStats stats_;
};

}  // namespace pagetrace
