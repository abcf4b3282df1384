#include "decode/decoder.h"

#include <algorithm>
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
    case EventType::Mremap: return "mremap";
    case EventType::Brk: return "brk";
    case EventType::Mprotect: return "mprotect";
    case EventType::Madvise: return "madvise";
    case EventType::TlbFlush: return "tlb_flush";
    case EventType::Migrate: return "migrate";
    case EventType::MigrateBatch: return "migrate_batch";
    case EventType::FaultAround: return "fault_around";
    }
    return "unknown";
}

std::optional<EventType> event_type_from_name(std::string_view name) {
    for (uint16_t t = 1; t <= kEventTypeCount; ++t) {
        if (event_type_name(static_cast<EventType>(t)) == name) return static_cast<EventType>(t);
    }
    return std::nullopt;
}

namespace {

// The length of a string field of fixed capacity: up to the first NUL, never
// past the end. A plain search: for the 16-byte name in every event it costs
// less than a call to strnlen.
size_t fixed_length(const char* chars, size_t capacity) {
    return static_cast<size_t>(std::find(chars, chars + capacity, '\0') - chars);
}

std::string fixed_string(const char* chars, size_t capacity) {
    return std::string(chars, fixed_length(chars, capacity));
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
    // The name is read from the record itself, not from the fresh copy in hdr
    // (loading it from there waits for the copy's stores). Mostly the same
    // thread as the last event: assign only when it changed.
    const char* comm_chars =
        reinterpret_cast<const char*>(bytes.data()) + offsetof(pt_event_header, comm);
    const std::string_view comm(comm_chars, fixed_length(comm_chars, sizeof(hdr.comm)));
    if (out.comm != comm) out.comm.assign(comm);

    switch (hdr.type) {
    case PT_EV_FAULT: {
        pt_fault_event rec;
        if (auto err = copy_record(bytes, rec, "fault")) return err;
        if (rec.access > PT_ACCESS_UNKNOWN) {
            return DecodeError{"fault record has invalid access " + std::to_string(rec.access)};
        }
        if (rec.mode > PT_MODE_KERNEL) {
            return DecodeError{"fault record has invalid mode " + std::to_string(rec.mode)};
        }
        if (rec.outcome > PT_OUTCOME_UNACCOUNTED) {
            return DecodeError{"fault record has invalid outcome " + std::to_string(rec.outcome)};
        }
        out.type = EventType::Fault;
        out.data = FaultData{rec.addr,
                             rec.ip,
                             rec.error_code,
                             static_cast<Access>(rec.access),
                             static_cast<FaultMode>(rec.mode),
                             static_cast<FaultOutcome>(rec.outcome),
                             rec.latency_ns};
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
        out.data = ForkData{rec.child_pid, rec.child_start_ns};
        return std::nullopt;
    }
    case PT_EV_EXEC: {
        pt_exec_event rec{};
        // ABI 2 records end after the file name.
        const bool counted = hdr.size >= sizeof(pt_exec_event);
        if (!counted && hdr.size < PT_EXEC_EVENT_V2_SIZE) {
            return DecodeError{"exec record declares " + std::to_string(hdr.size) +
                               " bytes, needs at least " + std::to_string(PT_EXEC_EVENT_V2_SIZE)};
        }
        std::memcpy(&rec, bytes.data(), counted ? sizeof(rec) : PT_EXEC_EVENT_V2_SIZE);
        out.type = EventType::Exec;
        ExecData d{fixed_string(rec.filename, sizeof(rec.filename)), std::nullopt, std::nullopt};
        if (counted) {
            d.min_flt = rec.min_flt;
            d.maj_flt = rec.maj_flt;
        }
        out.data = std::move(d);
        return std::nullopt;
    }
    case PT_EV_EXIT: {
        // ABI 2 records end before the fault counters.
        if (hdr.size < sizeof(pt_exit_event)) {
            pt_exit_event rec{};
            if (hdr.size < PT_EXIT_EVENT_V2_SIZE) {
                return DecodeError{"exit record declares " + std::to_string(hdr.size) +
                                   " bytes, needs at least " +
                                   std::to_string(PT_EXIT_EVENT_V2_SIZE)};
            }
            std::memcpy(&rec, bytes.data(), PT_EXIT_EVENT_V2_SIZE);
            out.type = EventType::Exit;
            out.data = ExitData{rec.exit_code, rec.start_ns, std::nullopt, std::nullopt};
            return std::nullopt;
        }
        pt_exit_event rec;
        if (auto err = copy_record(bytes, rec, "exit")) return err;
        out.type = EventType::Exit;
        out.data = ExitData{rec.exit_code, rec.start_ns, rec.min_flt, rec.maj_flt};
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
    case PT_EV_MREMAP: {
        pt_mremap_event rec;
        if (auto err = copy_record(bytes, rec, "mremap")) return err;
        out.type = EventType::Mremap;
        out.data = MremapData{rec.old_addr, rec.old_len, rec.new_addr,
                              rec.new_len,  rec.flags,   rec.err};
        return std::nullopt;
    }
    case PT_EV_BRK: {
        pt_brk_event rec;
        if (auto err = copy_record(bytes, rec, "brk")) return err;
        out.type = EventType::Brk;
        out.data = BrkData{rec.addr, rec.ret};
        return std::nullopt;
    }
    case PT_EV_MPROTECT: {
        pt_mprotect_event rec;
        if (auto err = copy_record(bytes, rec, "mprotect")) return err;
        out.type = EventType::Mprotect;
        out.data = MprotectData{rec.addr, rec.len, rec.prot, rec.err};
        return std::nullopt;
    }
    case PT_EV_MADVISE: {
        pt_madvise_event rec;
        if (auto err = copy_record(bytes, rec, "madvise")) return err;
        out.type = EventType::Madvise;
        out.data = MadviseData{rec.addr, rec.len, rec.advice, rec.err};
        return std::nullopt;
    }
    case PT_EV_TLB_FLUSH: {
        pt_tlb_flush_event rec;
        if (auto err = copy_record(bytes, rec, "tlb_flush")) return err;
        out.type = EventType::TlbFlush;
        out.data = TlbFlushData{rec.pages, rec.start, rec.end, rec.reason};
        return std::nullopt;
    }
    case PT_EV_MIGRATE: {
        pt_migrate_event rec;
        if (auto err = copy_record(bytes, rec, "migrate")) return err;
        out.type = EventType::Migrate;
        out.data = MigrateData{rec.addr,   rec.old_pfn, rec.new_pfn,
                               rec.order,  rec.reason,  rec.mode,
                               rec.by_pid, fixed_string(rec.by_comm, sizeof(rec.by_comm))};
        return std::nullopt;
    }
    case PT_EV_MIGRATE_BATCH: {
        pt_migrate_batch_event rec;
        if (auto err = copy_record(bytes, rec, "migrate_batch")) return err;
        out.type = EventType::MigrateBatch;
        out.data = MigrateBatchData{rec.succeeded,    rec.failed,     rec.thp_succeeded,
                                    rec.thp_failed,   rec.reason,     rec.mode,
                                    rec.by_pid,       rec.traced_pages,
                                    fixed_string(rec.by_comm, sizeof(rec.by_comm))};
        return std::nullopt;
    }
    case PT_EV_FAULT_AROUND: {
        pt_fault_around_event rec;
        if (auto err = copy_record(bytes, rec, "fault_around")) return err;
        out.type = EventType::FaultAround;
        out.data = FaultAroundData{rec.addr, rec.len, rec.fault_addr, rec.ino, rec.dev};
        return std::nullopt;
    }
    default:
        return DecodeError{"unknown event type " + std::to_string(hdr.type)};
    }
}

}  // namespace pagetrace
