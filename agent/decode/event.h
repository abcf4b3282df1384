// The agent's view of one event: decoded from the ABI records of
// include/pagetrace/events.h, independent of where they came from (live ring
// buffer or a recording).
#pragma once

#include <cstdint>
#include <optional>
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
    Mremap = PT_EV_MREMAP,
    Brk = PT_EV_BRK,
    Mprotect = PT_EV_MPROTECT,
    Madvise = PT_EV_MADVISE,
    TlbFlush = PT_EV_TLB_FLUSH,
    Migrate = PT_EV_MIGRATE,
    MigrateBatch = PT_EV_MIGRATE_BATCH,
    FaultAround = PT_EV_FAULT_AROUND,
};

inline constexpr uint16_t kEventTypeCount = PT_EV_TYPE_MAX;

// The name used for the type in text and JSON output ("fault", "mmap", ...).
std::string_view event_type_name(EventType type);

// The type with that name, if there is one.
std::optional<EventType> event_type_from_name(std::string_view name);

enum class Access : uint8_t {
    Read = PT_ACCESS_READ,
    Write = PT_ACCESS_WRITE,
    Exec = PT_ACCESS_EXEC,
    Unknown = PT_ACCESS_UNKNOWN,
};
enum class FaultMode : uint8_t { User = PT_MODE_USER, Kernel = PT_MODE_KERNEL };
enum class FaultOutcome : uint8_t {
    Unknown = PT_OUTCOME_UNKNOWN,
    Minor = PT_OUTCOME_MINOR,
    Major = PT_OUTCOME_MAJOR,
    Unaccounted = PT_OUTCOME_UNACCOUNTED,
};

struct FaultData {
    uint64_t addr = 0;
    uint64_t ip = 0;
    uint32_t error_code = 0;
    Access access = Access::Read;
    FaultMode mode = FaultMode::User;
    FaultOutcome outcome = FaultOutcome::Unknown;
    uint64_t latency_ns = 0;  // meaningful for minor and major only
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
    uint64_t child_start_ns = 0;
};

struct ExecData {
    std::string filename;
    // The faults the kernel had accounted to the process when it exec'd;
    // absent in recordings of event ABI 2.
    std::optional<uint64_t> min_flt;
    std::optional<uint64_t> maj_flt;
};

struct ExitData {
    uint32_t status = 0;  // wait(2)-style
    uint64_t start_ns = 0;
    // The faults the kernel accounted to the process (all threads); absent in
    // recordings of event ABI 2.
    std::optional<uint64_t> min_flt;
    std::optional<uint64_t> maj_flt;
};

struct LostData {
    uint64_t count = 0;
};

struct MremapData {
    uint64_t old_addr = 0;
    uint64_t old_len = 0;
    uint64_t new_addr = 0;
    uint64_t new_len = 0;
    uint32_t flags = 0;
    int32_t err = 0;
};

struct BrkData {
    uint64_t addr = 0;  // requested
    uint64_t ret = 0;   // resulting break
};

struct MprotectData {
    uint64_t addr = 0;
    uint64_t len = 0;
    uint32_t prot = 0;
    int32_t err = 0;
};

struct MadviseData {
    uint64_t addr = 0;
    uint64_t len = 0;
    int32_t advice = 0;
    int32_t err = 0;
};

struct TlbFlushData {
    uint64_t pages = 0;  // PT_TLB_FLUSH_ALL for a full flush
    uint64_t start = 0;  // start == end == 0: range unknown
    uint64_t end = 0;
    uint32_t reason = 0;  // PT_TLB_*
};

struct MigrateData {
    uint64_t addr = 0;
    uint64_t old_pfn = 0;
    uint64_t new_pfn = 0;
    uint32_t order = 0;
    uint32_t reason = 0;  // PT_MR_*
    uint32_t mode = 0;    // PT_MIGRATE_*
    uint32_t by_pid = 0;
    std::string by_comm;
};

struct MigrateBatchData {
    uint64_t succeeded = 0;
    uint64_t failed = 0;
    uint64_t thp_succeeded = 0;
    uint64_t thp_failed = 0;
    uint32_t reason = 0;
    uint32_t mode = 0;
    uint32_t by_pid = 0;
    uint32_t traced_pages = 0;
    std::string by_comm;
};

struct FaultAroundData {
    uint64_t addr = 0;  // [addr, addr + len): the range fault-around looked at
    uint64_t len = 0;
    uint64_t fault_addr = 0;  // the fault that caused it (0 if unknown)
    uint64_t ino = 0;
    uint32_t dev = 0;  // kernel dev_t encoding: MAJOR << 20 | MINOR
};

using EventData =
    std::variant<FaultData, MmapData, MunmapData, ForkData, ExecData, ExitData, LostData,
                 MremapData, BrkData, MprotectData, MadviseData, TlbFlushData, MigrateData,
                 MigrateBatchData, FaultAroundData>;

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
