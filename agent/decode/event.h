// The agent's view of one event: decoded from the ABI records of
// include/pagetrace/events.h, independent of where they came from (live ring
// buffer or a recording).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "pagetrace/events.h"

namespace pagetrace {

enum class EventType : uint16_t {
    Fault = PT_EV_FAULT,
    Mmap = PT_EV_MMAP,
    Munmap = PT_EV_MUNMAP,
    Fork = PT_EV_FORK,
    Exec = PT_EV_EXEC,
    Exit = PT_EV_EXIT,
    Lost = PT_EV_LOST,
};

// The name used for the type in text and JSON output ("fault", "mmap", ...).
std::string_view event_type_name(EventType type);

enum class Access : uint8_t { Read = PT_ACCESS_READ, Write = PT_ACCESS_WRITE, Exec = PT_ACCESS_EXEC };
enum class FaultMode : uint8_t { User = PT_MODE_USER, Kernel = PT_MODE_KERNEL };

struct FaultData {
    uint64_t addr = 0;
    uint64_t ip = 0;
    uint32_t error_code = 0;
    Access access = Access::Read;
    FaultMode mode = FaultMode::User;
};

struct MmapData {
    uint64_t addr = 0;
    uint64_t len = 0;
    uint64_t pgoff = 0;
    uint32_t prot = 0;
    uint32_t flags = 0;
    int32_t fd = -1;
    int32_t err = 0;  // positive errno, 0 on success
};

struct MunmapData {
    uint64_t addr = 0;
    uint64_t len = 0;
    int32_t err = 0;
};

struct ForkData {
    uint32_t child_pid = 0;
};

struct ExecData {
    std::string filename;
};

struct ExitData {
    uint32_t status = 0;  // wait(2)-style
};

struct LostData {
    uint64_t count = 0;
};

using EventData =
    std::variant<FaultData, MmapData, MunmapData, ForkData, ExecData, ExitData, LostData>;

struct Event {
    EventType type = EventType::Fault;
    uint32_t cpu = 0;
    uint64_t ts_ns = 0;
    uint32_t pid = 0;  // tgid
    uint32_t tid = 0;
    std::string comm;
    EventData data;
};

}  // namespace pagetrace
