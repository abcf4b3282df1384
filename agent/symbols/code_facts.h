// What a recording must carry so that its instruction pointers can be turned
// into code locations later, on another machine: which file (path and GNU
// build-id) is mapped executable at which addresses of a process, and the
// symbols that exist only on the recording machine while it records (the
// kernel's functions from /proc/kallsyms, a JIT's /tmp/perf-PID.map).
//
// The stream carries ProcessImages as items in order (after the exec or mmap
// that made them, or at attach); CapturedSymbols are written whenever they
// are known (a JIT map at its process's exit, the kernel functions at the end)
// and read by replay before the events (see docs/format.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pagetrace {

// One file-backed executable mapping, from /proc/PID/maps, with the build-id
// of the file behind it.
struct ImageMapping {
    uint64_t start = 0;
    uint64_t end = 0;
    uint64_t file_offset = 0;
    std::string path;      // as /proc/PID/maps names it
    std::string build_id;  // raw bytes of the NT_GNU_BUILD_ID note; "" if unknown
};

enum class ImagesReason : uint32_t {
    Attach = 1,  // a -p target when tracing began: all its executable mappings
    Exec = 2,    // a traced process exec'd: all the new image's executable mappings
    Mmap = 3,    // a traced process mapped a file executable: the mappings of that range
};

struct ProcessImages {
    uint32_t pid = 0;
    ImagesReason reason = ImagesReason::Exec;
    uint64_t ts_ns = 0;  // CLOCK_MONOTONIC when /proc was read
    std::vector<ImageMapping> mappings;
    std::string problems;  // what could not be read, and why ("" if nothing)
};

// A kernel function as /proc/kallsyms gave it (its size: up to the next symbol).
struct KernelFunction {
    uint64_t start = 0;
    uint64_t size = 0;
    std::string name;  // "rep_movs_alternative", "foo [module]"
};

// The text of /tmp/perf-PID.map ("START SIZE name" lines, hex), as a JIT
// wrote it, read at `ts_ns` (its process's exit, or the end of recording).
struct JitMap {
    uint32_t pid = 0;
    uint64_t ts_ns = 0;
    std::string text;
};

struct CapturedSymbols {
    std::vector<KernelFunction> kernel;  // the functions kernel-mode fault IPs fell in
    std::string kernel_problem;          // why kernel IPs could not be resolved ("" if they could)
    std::vector<JitMap> jit;

    bool empty() const { return kernel.empty() && kernel_problem.empty() && jit.empty(); }
};

// "5e1c...": the build-id in lowercase hex, as readelf -n and the
// /usr/lib/debug/.build-id/ paths write it.
std::string build_id_hex(std::string_view build_id);

}  // namespace pagetrace
