// The recorder's part of symbolization: symbols that exist only on the
// recording machine, while it records. It collects the kernel-mode fault IPs
// (resolved through /proc/kallsyms at the end: only their functions are kept)
// and reads each traced process's JIT map (/tmp/perf-PID.map) when the
// process exits and, for those still running, at the end. What it captures
// is handed to `write` (the record writer's add_symbols).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <unordered_set>

#include "pipeline/event_sink.h"
#include "symbols/code_facts.h"

namespace pagetrace {

class SymbolCapture : public EventSink {
public:
    using Write = std::function<void(const CapturedSymbols&)>;
    // perf_map_dir: where JIT maps are (/tmp); kallsyms: the kernel's symbols.
    explicit SymbolCapture(Write write, std::string perf_map_dir = "/tmp",
                           std::string kallsyms = "/proc/kallsyms");

    void on_event(const Event& event, std::span<const std::byte> raw) override;
    void on_end() override;

private:
    void capture_jit(uint32_t pid, uint64_t ts_ns);

    Write write_;
    std::string perf_map_dir_;
    std::string kallsyms_;
    std::unordered_set<uint64_t> kernel_ips_;
    std::set<uint32_t> running_;  // pids seen, not exited
    uint32_t last_pid_ = 0;       // of the last event, already in running_
};

}  // namespace pagetrace
