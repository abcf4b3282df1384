#include "record/recording_header.h"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <time.h>

#include "decode/event.h"
#include "kernel/mm.h"

#ifndef PAGETRACE_VERSION
#define PAGETRACE_VERSION "unknown"
#endif

namespace pagetrace::recording {

namespace {

int64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// CLOCK_REALTIME - CLOCK_MONOTONIC, read three times to place the monotonic
// reading between two realtime ones.
int64_t wall_clock_offset_ns() {
    const int64_t before = clock_ns(CLOCK_REALTIME);
    const int64_t mono = clock_ns(CLOCK_MONOTONIC);
    const int64_t after = clock_ns(CLOCK_REALTIME);
    return before + (after - before) / 2 - mono;
}

}  // namespace

RecordingHeader make_recording_header(const RecordingSetup& setup, uint64_t start_ns) {
    RecordingHeader h;
    h.page_size = static_cast<uint32_t>(kernel::PageGeometry::of_system().size());
    h.start_ns = start_ns;
    h.clock_offset_ns = wall_clock_offset_ns();
    struct utsname u{};
    if (::uname(&u) == 0) {
        h.kernel_release = u.release;
        h.host_name = u.nodename;
        h.machine = u.machine;
    }
    h.agent_version = std::string("pagetrace ") + PAGETRACE_VERSION;
    h.agent_argv = setup.argv;
    h.command = setup.command;
    h.pids = setup.pids;
    h.options = fmt::format("follow_children={}\nring_size={}\n", setup.follow_children ? 1 : 0,
                            setup.ring_bytes);
    if (!setup.user.empty()) h.options += "user=" + setup.user + "\n";
    if (!setup.match_comm.empty()) h.options += "comm=" + setup.match_comm + "\n";
    if (!setup.cgroup_path.empty()) h.options += "cgroup=" + setup.cgroup_path + "\n";
    if (setup.event_mask) {
        std::string names;
        for (uint16_t t = 1; t <= PT_EV_TYPE_MAX; ++t) {
            if (!(setup.event_mask & PT_EVENT_BIT(t))) continue;
            if (!names.empty()) names += ",";
            names += event_type_name(static_cast<EventType>(t));
        }
        h.options += "events=" + names + "\n";
    }
    if (!setup.fault_outcome) h.options += "fault_outcome=0\n";
    if (setup.fault_outcome) h.options += "latency_every=" + std::to_string(setup.latency_every) + "\n";
    return h;
}

}  // namespace pagetrace::recording
