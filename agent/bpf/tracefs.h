// tracefs, which classic tracepoint programs need (libbpf reads each
// tracepoint's id there). A fresh machine may not have it mounted: the tracer
// mounts it at /sys/kernel/tracing when it must, and unmounts it again when
// it is done.
#pragma once

namespace pagetrace {

// Whether tracefs is mounted where libbpf looks (/sys/kernel/tracing or
// /sys/kernel/debug/tracing).
bool tracefs_mounted();

class TracefsMount {
public:
    TracefsMount() = default;
    TracefsMount(const TracefsMount&) = delete;
    TracefsMount& operator=(const TracefsMount&) = delete;
    // Unmounts it if ensure() mounted it.
    ~TracefsMount();

    // Mounts tracefs if it is not mounted; throws Error (naming `for_what`
    // and how to fix it) if that fails.
    void ensure(const char* for_what);

private:
    bool mounted_here_ = false;
};

}  // namespace pagetrace
