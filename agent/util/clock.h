// The clock of the events: CLOCK_MONOTONIC (bpf_ktime_get_ns), in nanoseconds.
#pragma once

#include <time.h>

#include <cstdint>

namespace pagetrace {

inline uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The same clock at the kernel's tick resolution (a few ms, never ahead of
// monotonic_ns()), several times cheaper to read: for times that need no more.
inline uint64_t monotonic_coarse_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace pagetrace
