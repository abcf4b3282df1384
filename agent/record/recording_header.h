// The header of a new recording: how and where it is being made (host,
// kernel, clocks, page size, pagetrace's own command line and options).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "record/format.h"

namespace pagetrace::recording {

// What the recorder was asked to do, as the header's options say it.
struct RecordingSetup {
    std::vector<std::string> argv;     // pagetrace's own command line
    std::vector<std::string> command;  // -- CMD ARGS
    std::vector<uint32_t> pids;        // -p
    bool follow_children = true;
    uint64_t ring_bytes = 0;
    std::string user;
    std::string match_comm;
    std::string cgroup_path;
    uint64_t event_mask = 0;  // 0: every type
    bool fault_outcome = true;
    uint32_t latency_every = 1;  // one fault in N has latency_ns (1 before --latency-every)
};

// The header for a recording that started at `start_ns` (CLOCK_MONOTONIC) on
// this machine.
RecordingHeader make_recording_header(const RecordingSetup& setup, uint64_t start_ns);

}  // namespace pagetrace::recording
