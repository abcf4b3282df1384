#include "decode/decoder.h"

#include <cstring>
#include <string>
#include <type_traits>

namespace pagetrace {

std::string_view event_type_name(EventType type) {
    switch (type) {
    case EventType::Fault: return "fault";
    case EventType::Mmap: return "mmap";
    case EventType::Munmap: return "munmap";
    case EventType::Fork: return "fork";
    case EventType::Exec: return "exec";
    case EventType::Exit: return "exit";
    case EventType::Lost: return "lost";
    }
    return "unknown";
}

namespace {

// A string field of fixed capacity: up to the first NUL, never past the end.
std::string fixed_string(const char* chars, size_t capacity) {
    return std::string(chars, strnlen(chars, capacity));
}

template <typename Record>
std::optional<DecodeError> copy_record(std::span<const std::byte> bytes, Record& rec,
                                       const char* name) {
    static_assert(std::is_trivially_copyable_v<Record>);
    uint16_t size = 0;
    std::memcpy(&size, bytes.data() + offsetof(pt_event_header, size), sizeof(size));
    if (size < sizeof(Record)) {
        return DecodeError{std::string(name) + " record declares " + std::to_string(size) +
                           " bytes, needs at least " + std::to_string(sizeof(Record))};
    }
    std::memcpy(&rec, bytes.data(), sizeof(Record));
    return std::nullopt;
}

}  // namespace

std::optional<DecodeError> decode_event(std::span<const std::byte> bytes, Event& out) {
    if (bytes.size() < sizeof(pt_event_header)) {
        return DecodeError{"record of " + std::to_string(bytes.size()) +
                           " bytes is shorter than the " +
                           std::to_string(sizeof(pt_event_header)) + "-byte event header"};
    }
    pt_event_header hdr;
    std::memcpy(&hdr, bytes.data(), sizeof(hdr));
    if (hdr.size < sizeof(pt_event_header) || hdr.size > bytes.size()) {
        return DecodeError{"record declares " + std::to_string(hdr.size) + " bytes but " +
                           std::to_string(bytes.size()) + " are available"};
    }
    bytes = bytes.first(hdr.size);

    out.cpu = hdr.cpu;
    out.ts_ns = hdr.ts_ns;
    out.pid = hdr.tgid;
    out.tid = hdr.tid;
    out.comm = fixed_string(hdr.comm, sizeof(hdr.comm));

    switch (hdr.type) {
    case PT_EV_FAULT: {
        pt_fault_event rec;
        if (auto err = copy_record(bytes, rec, "fault")) return err;
        if (rec.access > PT_ACCESS_EXEC) {
            return DecodeError{"fault record has invalid access " + std::to_string(rec.access)};
        }
        if (rec.mode > PT_MODE_KERNEL) {
            return DecodeError{"fault record has invalid mode " + std::to_string(rec.mode)};
        }
        out.type = EventType::Fault;
        out.data = FaultData{rec.addr, rec.ip, rec.error_code, static_cast<Access>(rec.access),
                             static_cast<FaultMode>(rec.mode)};
        return std::nullopt;
    }
    case PT_EV_MMAP: {
        pt_mmap_event rec;
        if (auto err = copy_record(bytes, rec, "mmap")) return err;
        out.type = EventType::Mmap;
        out.data = MmapData{rec.addr, rec.len, rec.pgoff, rec.prot, rec.flags, rec.fd, rec.err};
        return std::nullopt;
    }
    case PT_EV_MUNMAP: {
        pt_munmap_event rec;
        if (auto err = copy_record(bytes, rec, "munmap")) return err;
        out.type = EventType::Munmap;
        out.data = MunmapData{rec.addr, rec.len, rec.err};
        return std::nullopt;
    }
    case PT_EV_FORK: {
        pt_fork_event rec;
        if (auto err = copy_record(bytes, rec, "fork")) return err;
        out.type = EventType::Fork;
        out.data = ForkData{rec.child_pid};
        return std::nullopt;
    }
    case PT_EV_EXEC: {
        pt_exec_event rec;
        if (auto err = copy_record(bytes, rec, "exec")) return err;
        out.type = EventType::Exec;
        out.data = ExecData{fixed_string(rec.filename, sizeof(rec.filename))};
        return std::nullopt;
    }
    case PT_EV_EXIT: {
        pt_exit_event rec;
        if (auto err = copy_record(bytes, rec, "exit")) return err;
        out.type = EventType::Exit;
        out.data = ExitData{rec.exit_code};
        return std::nullopt;
    }
    case PT_EV_LOST: {
        pt_lost_event rec;
        if (auto err = copy_record(bytes, rec, "lost")) return err;
        out.type = EventType::Lost;
        out.cpu = rec.lost_cpu;
        out.data = LostData{rec.count};
        return std::nullopt;
    }
    default:
        return DecodeError{"unknown event type " + std::to_string(hdr.type)};
    }
}

pt_lost_event make_lost_record(uint64_t ts_ns, uint32_t cpu, uint64_t count) {
    pt_lost_event rec{};
    rec.hdr.type = PT_EV_LOST;
    rec.hdr.size = sizeof(rec);
    rec.hdr.cpu = cpu;
    rec.hdr.ts_ns = ts_ns;
    rec.count = count;
    rec.lost_cpu = cpu;
    return rec;
}

}  // namespace pagetrace
