#include "decode/encoder.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

namespace pagetrace {

namespace {

template <size_t N>
void put_string(char (&field)[N], const std::string& value) {
    const size_t n = std::min(value.size(), N - 1);
    std::memcpy(field, value.data(), n);
    std::memset(field + n, 0, N - n);
}

template <typename Record>
void fill_header(Record& rec, const Event& e, uint16_t type) {
    rec.hdr.type = type;
    rec.hdr.size = sizeof(Record);
    rec.hdr.cpu = e.cpu;
    rec.hdr.ts_ns = e.ts_ns;
    rec.hdr.tgid = e.pid;
    rec.hdr.tid = e.tid;
    put_string(rec.hdr.comm, e.comm);
}

template <typename Record>
void append(const Record& rec, std::vector<std::byte>& out) {
    static_assert(std::is_trivially_copyable_v<Record>);
    const auto* bytes = reinterpret_cast<const std::byte*>(&rec);
    out.insert(out.end(), bytes, bytes + sizeof(rec));
}

// The first `size` bytes of a record, declared as its whole: the shorter
// record of an older ABI.
template <typename Record>
void append_prefix(Record rec, uint16_t size, std::vector<std::byte>& out) {
    rec.hdr.size = size;
    const auto* bytes = reinterpret_cast<const std::byte*>(&rec);
    out.insert(out.end(), bytes, bytes + size);
}

struct Encode {
    const Event& e;
    std::vector<std::byte>& out;

    // The record's type follows from the data, whatever event.type says.
    template <typename Record>
    Record start(uint16_t type) {
        Record rec{};
        fill_header(rec, e, type);
        return rec;
    }

    void operator()(const FaultData& d) {
        auto rec = start<pt_fault_event>(PT_EV_FAULT);
        rec.addr = d.addr;
        rec.ip = d.ip;
        rec.error_code = d.error_code;
        rec.access = static_cast<uint8_t>(d.access);
        rec.mode = static_cast<uint8_t>(d.mode);
        rec.outcome = static_cast<uint8_t>(d.outcome);
        rec.latency_ns = d.latency_ns;
        append(rec, out);
    }
    void operator()(const MmapData& d) {
        auto rec = start<pt_mmap_event>(PT_EV_MMAP);
        rec.addr = d.addr;
        rec.len = d.len;
        rec.pgoff = d.pgoff;
        rec.prot = d.prot;
        rec.flags = d.flags;
        rec.fd = d.fd;
        rec.err = d.err;
        append(rec, out);
    }
    void operator()(const MunmapData& d) {
        auto rec = start<pt_munmap_event>(PT_EV_MUNMAP);
        rec.addr = d.addr;
        rec.len = d.len;
        rec.err = d.err;
        append(rec, out);
    }
    void operator()(const ForkData& d) {
        auto rec = start<pt_fork_event>(PT_EV_FORK);
        rec.child_pid = d.child_pid;
        rec.child_start_ns = d.child_start_ns;
        append(rec, out);
    }
    void operator()(const ExecData& d) {
        auto rec = start<pt_exec_event>(PT_EV_EXEC);
        put_string(rec.filename, d.filename);
        rec.min_flt = d.min_flt.value_or(0);
        rec.maj_flt = d.maj_flt.value_or(0);
        if (d.min_flt || d.maj_flt) {
            append(rec, out);
            return;
        }
        append_prefix(rec, PT_EXEC_EVENT_V2_SIZE, out);  // the record of ABI 2
    }
    void operator()(const ExitData& d) {
        auto rec = start<pt_exit_event>(PT_EV_EXIT);
        rec.exit_code = d.status;
        rec.start_ns = d.start_ns;
        rec.min_flt = d.min_flt.value_or(0);
        rec.maj_flt = d.maj_flt.value_or(0);
        if (d.min_flt || d.maj_flt) {
            append(rec, out);
            return;
        }
        append_prefix(rec, PT_EXIT_EVENT_V2_SIZE, out);  // without counters: the record of ABI 2
    }
    void operator()(const LostData& d) {
        auto rec = start<pt_lost_event>(PT_EV_LOST);
        rec.count = d.count;
        rec.lost_cpu = e.cpu;
        append(rec, out);
    }
    void operator()(const MremapData& d) {
        auto rec = start<pt_mremap_event>(PT_EV_MREMAP);
        rec.old_addr = d.old_addr;
        rec.old_len = d.old_len;
        rec.new_addr = d.new_addr;
        rec.new_len = d.new_len;
        rec.flags = d.flags;
        rec.err = d.err;
        append(rec, out);
    }
    void operator()(const BrkData& d) {
        auto rec = start<pt_brk_event>(PT_EV_BRK);
        rec.addr = d.addr;
        rec.ret = d.ret;
        append(rec, out);
    }
    void operator()(const MprotectData& d) {
        auto rec = start<pt_mprotect_event>(PT_EV_MPROTECT);
        rec.addr = d.addr;
        rec.len = d.len;
        rec.prot = d.prot;
        rec.err = d.err;
        append(rec, out);
    }
    void operator()(const MadviseData& d) {
        auto rec = start<pt_madvise_event>(PT_EV_MADVISE);
        rec.addr = d.addr;
        rec.len = d.len;
        rec.advice = d.advice;
        rec.err = d.err;
        append(rec, out);
    }
    void operator()(const TlbFlushData& d) {
        auto rec = start<pt_tlb_flush_event>(PT_EV_TLB_FLUSH);
        rec.pages = d.pages;
        rec.start = d.start;
        rec.end = d.end;
        rec.reason = d.reason;
        append(rec, out);
    }
    void operator()(const MigrateData& d) {
        auto rec = start<pt_migrate_event>(PT_EV_MIGRATE);
        rec.addr = d.addr;
        rec.old_pfn = d.old_pfn;
        rec.new_pfn = d.new_pfn;
        rec.order = d.order;
        rec.reason = d.reason;
        rec.mode = d.mode;
        rec.by_pid = d.by_pid;
        put_string(rec.by_comm, d.by_comm);
        append(rec, out);
    }
    void operator()(const MigrateBatchData& d) {
        auto rec = start<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH);
        rec.succeeded = d.succeeded;
        rec.failed = d.failed;
        rec.thp_succeeded = d.thp_succeeded;
        rec.thp_failed = d.thp_failed;
        rec.reason = d.reason;
        rec.mode = d.mode;
        rec.by_pid = d.by_pid;
        rec.traced_pages = d.traced_pages;
        put_string(rec.by_comm, d.by_comm);
        append(rec, out);
    }
    void operator()(const FaultAroundData& d) {
        auto rec = start<pt_fault_around_event>(PT_EV_FAULT_AROUND);
        rec.addr = d.addr;
        rec.len = d.len;
        rec.fault_addr = d.fault_addr;
        rec.ino = d.ino;
        rec.dev = d.dev;
        append(rec, out);
    }
};

}  // namespace

void append_encoded(const Event& event, std::vector<std::byte>& out) {
    std::visit(Encode{event, out}, event.data);
}

std::vector<std::byte> encode_event(const Event& event) {
    std::vector<std::byte> out;
    append_encoded(event, out);
    return out;
}

std::vector<std::byte> lost_record(uint64_t ts_ns, uint32_t cpu, uint64_t count) {
    Event e;
    e.type = EventType::Lost;
    e.ts_ns = ts_ns;
    e.cpu = cpu;
    e.data = LostData{count};
    return encode_event(e);
}

}  // namespace pagetrace
