#include "symbols/symbol_capture.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>


#include "decode/event.h"
#include "symbols/address_table.h"
#include "util/clock.h"

namespace pagetrace {

namespace {

// A JIT map larger than this is cut (at a line end) to stay inside a chunk.
constexpr size_t kMaxJitMapBytes = 8u << 20;

}  // namespace

SymbolCapture::SymbolCapture(Write write, std::string perf_map_dir, std::string kallsyms)
    : write_(std::move(write)),
      perf_map_dir_(std::move(perf_map_dir)),
      kallsyms_(std::move(kallsyms)) {}

void SymbolCapture::on_event(const Event& event, std::span<const std::byte>) {
    switch (event.type) {
    case EventType::Fault: {
        const auto& f = std::get<FaultData>(event.data);
        if (f.mode == FaultMode::Kernel) kernel_ips_.insert(f.ip);
        break;
    }
    case EventType::Exit:
        running_.erase(event.pid);
        last_pid_ = 0;
        capture_jit(event.pid, event.ts_ns);
        return;
    case EventType::Lost:
        return;
    default: break;
    }
    // Events come in runs of one process: one set insert per run.
    if (event.pid && event.pid != last_pid_) {
        running_.insert(event.pid);
        last_pid_ = event.pid;
    }
}

void SymbolCapture::capture_jit(uint32_t pid, uint64_t ts_ns) {
    std::string text = read_small_file(fmt::format("{}/perf-{}.map", perf_map_dir_, pid),
                                       kMaxJitMapBytes + 1);
    if (text.empty()) return;
    if (text.size() > kMaxJitMapBytes) {
        text.resize(kMaxJitMapBytes);
        text.resize(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
        spdlog::warn("the JIT map of pid {} is over {} MiB: only its first part is recorded", pid,
                     kMaxJitMapBytes >> 20);
    }
    CapturedSymbols symbols;
    symbols.jit.push_back({pid, ts_ns, std::move(text)});
    write_(symbols);
}

void SymbolCapture::on_end() {
    const uint64_t now = monotonic_ns();
    for (uint32_t pid : running_) capture_jit(pid, now);
    running_.clear();
    if (kernel_ips_.empty()) return;
    CapturedSymbols symbols;
    const AddressTable& kallsyms = kallsyms_table(kallsyms_);
    if (kallsyms.empty()) {
        symbols.kernel_problem = fmt::format(
            "{} showed no addresses when this was recorded (it needs root, or "
            "kernel.kptr_restrict=0)",
            kallsyms_);
    } else {
        std::set<uint64_t> seen;
        for (uint64_t ip : kernel_ips_) {
            auto f = kallsyms.function_at(ip);
            if (f && seen.insert(f->start).second) symbols.kernel.push_back(std::move(*f));
        }
    }
    kernel_ips_.clear();
    write_(symbols);
}

}  // namespace pagetrace
