// The encoder (decode/encoder.h), the inverse of the decoder and the way tests
// make raw records: every field of every event type is written to its place
// in the ABI (checked against the structs of include/pagetrace/events.h, not
// against the decoder) and comes back from decode_event; strings are cut at
// their field's size; the record's type comes from the event's data.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "decode/decoder.h"
#include "decode/encoder.h"
#include "decode/framing.h"
#include "pagetrace/events.h"
#include "support/raw_records.h"

using namespace pagetrace;
using namespace pagetrace::test;

namespace {

const EventHead kHead{.cpu = 6, .ts_ns = 0x0102030405060708ull, .pid = 0x11223344,
                      .tid = 0x55667788, .comm = "encoder-test"};

// One event of every type, each field with a value of its own.
std::vector<Event> one_of_each_type() {
    const EventData all[] = {
        FaultData{0x7f0000001234ull, 0xffffffff81000123ull, 0x15, Access::Exec, FaultMode::Kernel,
                  FaultOutcome::Major, 0x0000000123456789ull},
        MmapData{0x7f1000000000ull, 0x3000, 7, 0x5, 0x22, 9, ENOMEM},
        MunmapData{0x7f2000000000ull, 0x5000, EINVAL},
        ForkData{4000001, 0x0fedcba987654321ull},
        ExecData{"/usr/bin/encoder", 0x0000000300000004ull, 55},
        ExitData{(3 << 8) | 0x80, 0x1111222233334444ull, 0x0000000100000002ull, 77},
        LostData{0x0123456789ull},
        MremapData{0x7f3000000000ull, 0x2000, 0x7f4000000000ull, 0x8000, 3, EFAULT},
        BrkData{0x555555600000ull, 0x555555580000ull},
        MprotectData{0x7f5000000000ull, 0x4000, 0x7, EACCES},
        MadviseData{0x7f6000000000ull, 0x200000, -3, EPERM},
        TlbFlushData{17, 0x7f7000001000ull, 0x7f7000012000ull, PT_TLB_REMOTE_SEND_IPI},
        MigrateData{0x7f8000200000ull, 0x12345, 0x6789a, 9, PT_MR_DEMOTION, PT_MIGRATE_SYNC, 321,
                    "kcompactd0"},
        MigrateBatchData{1000, 3, 2, 1, PT_MR_SYSCALL, PT_MIGRATE_SYNC_LIGHT, 654, 17, "migrator"},
        FaultAroundData{0x7f9000010000ull, 0x10000, 0x7f9000013456ull, 0x123456789ull,
                        (8u << 20) | 3},
    };
    std::vector<Event> events;
    for (const EventData& data : all) events.push_back(event_of(data, kHead));
    return events;
}

uint8_t u8(auto value) { return static_cast<uint8_t>(value); }

template <size_t N>
std::string fixed(const char (&field)[N]) {
    return std::string(field, ::strnlen(field, N));
}

// The fields of each type's data, and the same fields as the ABI struct of a
// record holds them, in the same order.
auto fields(const FaultData& d) {
    return std::tuple(d.addr, d.ip, d.error_code, u8(d.access), u8(d.mode), u8(d.outcome),
                      d.latency_ns);
}
auto abi_fields(const FaultData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_fault_event>(record);
    return std::tuple(r.addr, r.ip, r.error_code, r.access, r.mode, r.outcome, r.latency_ns);
}
auto fields(const MmapData& d) {
    return std::tuple(d.addr, d.len, d.pgoff, d.prot, d.flags, d.fd, d.err);
}
auto abi_fields(const MmapData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_mmap_event>(record);
    return std::tuple(r.addr, r.len, r.pgoff, r.prot, r.flags, r.fd, r.err);
}
auto fields(const MunmapData& d) { return std::tuple(d.addr, d.len, d.err); }
auto abi_fields(const MunmapData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_munmap_event>(record);
    return std::tuple(r.addr, r.len, r.err);
}
auto fields(const ForkData& d) { return std::tuple(d.child_pid, d.child_start_ns); }
auto abi_fields(const ForkData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_fork_event>(record);
    return std::tuple(r.child_pid, r.child_start_ns);
}
auto fields(const ExecData& d) {
    return std::tuple(d.filename, d.min_flt.value_or(0), d.maj_flt.value_or(0));
}
auto abi_fields(const ExecData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_exec_event>(record);
    return std::tuple(fixed(r.filename), r.min_flt, r.maj_flt);
}
auto fields(const ExitData& d) {
    return std::tuple(d.status, d.start_ns, d.min_flt.value_or(0), d.maj_flt.value_or(0));
}
auto abi_fields(const ExitData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_exit_event>(record);
    return std::tuple(r.exit_code, r.start_ns, r.min_flt, r.maj_flt);
}
auto fields(const FaultAroundData& d) {
    return std::tuple(d.addr, d.len, d.fault_addr, d.ino, d.dev);
}
auto abi_fields(const FaultAroundData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_fault_around_event>(record);
    return std::tuple(r.addr, r.len, r.fault_addr, r.ino, r.dev);
}
auto fields(const LostData& d) { return std::tuple(d.count); }
auto abi_fields(const LostData&, std::span<const std::byte> record) {
    return std::tuple(abi_view<pt_lost_event>(record).count);
}
auto fields(const MremapData& d) {
    return std::tuple(d.old_addr, d.old_len, d.new_addr, d.new_len, d.flags, d.err);
}
auto abi_fields(const MremapData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_mremap_event>(record);
    return std::tuple(r.old_addr, r.old_len, r.new_addr, r.new_len, r.flags, r.err);
}
auto fields(const BrkData& d) { return std::tuple(d.addr, d.ret); }
auto abi_fields(const BrkData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_brk_event>(record);
    return std::tuple(r.addr, r.ret);
}
auto fields(const MprotectData& d) { return std::tuple(d.addr, d.len, d.prot, d.err); }
auto abi_fields(const MprotectData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_mprotect_event>(record);
    return std::tuple(r.addr, r.len, r.prot, r.err);
}
auto fields(const MadviseData& d) { return std::tuple(d.addr, d.len, d.advice, d.err); }
auto abi_fields(const MadviseData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_madvise_event>(record);
    return std::tuple(r.addr, r.len, r.advice, r.err);
}
auto fields(const TlbFlushData& d) { return std::tuple(d.pages, d.start, d.end, d.reason); }
auto abi_fields(const TlbFlushData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_tlb_flush_event>(record);
    return std::tuple(r.pages, r.start, r.end, r.reason);
}
auto fields(const MigrateData& d) {
    return std::tuple(d.addr, d.old_pfn, d.new_pfn, d.order, d.reason, d.mode, d.by_pid,
                      d.by_comm);
}
auto abi_fields(const MigrateData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_migrate_event>(record);
    return std::tuple(r.addr, r.old_pfn, r.new_pfn, r.order, r.reason, r.mode, r.by_pid,
                      fixed(r.by_comm));
}
auto fields(const MigrateBatchData& d) {
    return std::tuple(d.succeeded, d.failed, d.thp_succeeded, d.thp_failed, d.reason, d.mode,
                      d.by_pid, d.traced_pages, d.by_comm);
}
auto abi_fields(const MigrateBatchData&, std::span<const std::byte> record) {
    const auto r = abi_view<pt_migrate_batch_event>(record);
    return std::tuple(r.succeeded, r.failed, r.thp_succeeded, r.thp_failed, r.reason, r.mode,
                      r.by_pid, r.traced_pages, fixed(r.by_comm));
}

auto header_fields(const Event& e) {
    return std::tuple(static_cast<uint16_t>(e.type), e.cpu, e.ts_ns, e.pid, e.tid, e.comm);
}

void expect_same_event(const Event& got, const Event& want) {
    EXPECT_EQ(header_fields(got), header_fields(want));
    ASSERT_EQ(got.data.index(), want.data.index());
    std::visit(
        [&](const auto& w) {
            using Data = std::decay_t<decltype(w)>;
            EXPECT_EQ(fields(std::get<Data>(got.data)), fields(w))
                << event_type_name(want.type);
        },
        want.data);
}

// Decodes a record that must decode.
Event decoded(std::span<const std::byte> record) {
    Event event;
    EXPECT_EQ(decode_fenced(record, event), "");
    return event;
}

}  // namespace

TEST(Encoder, EveryTypeRoundTripsWithEveryField) {
    std::set<size_t> types;
    for (const Event& event : one_of_each_type()) {
        SCOPED_TRACE(std::string(event_type_name(event.type)));
        types.insert(event.data.index());
        expect_same_event(decoded(encode_event(event)), event);
    }
    EXPECT_EQ(types.size(), static_cast<size_t>(PT_EV_TYPE_MAX));
}

TEST(Encoder, EveryFieldSitsAtItsAbiPlace) {
    for (const Event& event : one_of_each_type()) {
        SCOPED_TRACE(std::string(event_type_name(event.type)));
        const RecordBytes record = encode_event(event);
        ASSERT_GE(record.size(), sizeof(pt_event_header));
        const auto hdr = abi_view<pt_event_header>(cut(record, sizeof(pt_event_header)));
        EXPECT_EQ(hdr.size, record.size());
        EXPECT_EQ(std::tuple(hdr.type, hdr.cpu, hdr.ts_ns, hdr.tgid, hdr.tid, fixed(hdr.comm)),
                  header_fields(event));
        std::visit([&](const auto& d) { EXPECT_EQ(abi_fields(d, record), fields(d)); },
                   event.data);
    }
}

TEST(Encoder, ReservedWordsAndStringPaddingAreZero) {
    const std::vector<Event> events = one_of_each_type();
    const auto event = [&](EventType type) { return events[static_cast<size_t>(type) - 1]; };
    EXPECT_EQ(abi_record<pt_fault_event>(event(EventType::Fault)).reserved, 0u);
    EXPECT_EQ(abi_record<pt_munmap_event>(event(EventType::Munmap)).reserved, 0u);
    EXPECT_EQ(abi_record<pt_fork_event>(event(EventType::Fork)).reserved, 0u);
    EXPECT_EQ(abi_record<pt_exit_event>(event(EventType::Exit)).reserved, 0u);
    EXPECT_EQ(abi_record<pt_tlb_flush_event>(event(EventType::TlbFlush)).reserved, 0u);
    EXPECT_EQ(abi_record<pt_lost_event>(event(EventType::Lost)).reserved, 0u);
    // Strings are NUL-padded to the end of their field: no stale bytes.
    const auto exec = abi_record<pt_exec_event>(event(EventType::Exec));
    const std::string filename(exec.filename, sizeof(exec.filename));
    EXPECT_EQ(filename, std::get<ExecData>(event(EventType::Exec).data).filename +
                            std::string(sizeof(exec.filename) - 16, '\0'));
    const std::string comm(exec.hdr.comm, sizeof(exec.hdr.comm));
    EXPECT_EQ(comm, kHead.comm + std::string(PT_COMM_LEN - kHead.comm.size(), '\0'));
}

TEST(Encoder, StringsAreCutAtTheirFieldSize) {
    // A field keeps its last byte for the terminator: PT_COMM_LEN - 1 and
    // PT_FILENAME_LEN - 1 characters at most.
    const std::string long_name = "abcdefghijklmnopqrstuvwxyz";
    const std::string long_path = "/" + std::string(400, 'p');
    for (const std::string& comm : {long_name.substr(0, PT_COMM_LEN - 1),
                                    long_name.substr(0, PT_COMM_LEN), long_name}) {
        Event exec = event_of(ExecData{long_path, 1, 0}, kHead);
        exec.comm = comm;
        const auto rec = abi_record<pt_exec_event>(exec);
        EXPECT_EQ(rec.hdr.comm[PT_COMM_LEN - 1], '\0');
        EXPECT_EQ(rec.filename[PT_FILENAME_LEN - 1], '\0');
        const Event back = decoded(bytes_of(rec));
        EXPECT_EQ(back.comm, comm.substr(0, PT_COMM_LEN - 1));
        EXPECT_EQ(std::get<ExecData>(back.data).filename, long_path.substr(0, PT_FILENAME_LEN - 1));
    }
    const Event migrate = decoded(encode_event(event_of(MigrateData{.by_comm = long_name}, kHead)));
    EXPECT_EQ(std::get<MigrateData>(migrate.data).by_comm, long_name.substr(0, PT_COMM_LEN - 1));
    const Event batch =
        decoded(encode_event(event_of(MigrateBatchData{.by_comm = long_name}, kHead)));
    EXPECT_EQ(std::get<MigrateBatchData>(batch.data).by_comm, long_name.substr(0, PT_COMM_LEN - 1));
    // A string that fits comes back whole, even with bytes that are not text.
    const std::string odd("a\nb\x01\xff", 5);
    const Event fits = decoded(encode_event(event_of(ExecData{odd}, {.comm = odd})));
    EXPECT_EQ(fits.comm, odd);
    EXPECT_EQ(std::get<ExecData>(fits.data).filename, odd);
}

TEST(Encoder, TheTypeComesFromTheData) {
    for (const Event& right : one_of_each_type()) {
        Event wrong = right;
        wrong.type = right.type == EventType::Fault ? EventType::Exec : EventType::Fault;
        const RecordBytes record = encode_event(wrong);
        EXPECT_EQ(peek_header(record)->type, static_cast<uint16_t>(right.type));
        EXPECT_EQ(record, encode_event(right));
        EXPECT_EQ(decoded(record).type, right.type);
    }
}

TEST(Encoder, AppendEncodedAddsOneRecordAfterWhatIsThere) {
    const std::vector<Event> events = one_of_each_type();
    RecordBytes buffer = {std::byte{1}, std::byte{2}, std::byte{3}};
    const RecordBytes before = buffer;
    for (const Event& e : events) append_encoded(e, buffer);
    ASSERT_GT(buffer.size(), before.size());
    EXPECT_TRUE(std::equal(before.begin(), before.end(), buffer.begin()));
    // What follows is the records, one after another, as encode_event makes them.
    EventRecords walk(std::span<const std::byte>(buffer).subspan(before.size()));
    std::span<const std::byte> record;
    size_t i = 0;
    while (walk.next(record)) {
        ASSERT_LT(i, events.size());
        EXPECT_EQ(RecordBytes(record.begin(), record.end()), encode_event(events[i])) << i;
        ++i;
    }
    EXPECT_EQ(walk.error(), "");
    EXPECT_EQ(i, events.size());
}

TEST(Encoder, LostRecord) {
    const RecordBytes bytes = lost_record(987654321ull, 6, 42);
    const auto rec = abi_view<pt_lost_event>(bytes);
    EXPECT_EQ(rec.hdr.type, PT_EV_LOST);
    EXPECT_EQ(rec.hdr.size, sizeof(pt_lost_event));
    EXPECT_EQ(rec.lost_cpu, 6u);
    const Event e = decoded(bytes);
    EXPECT_EQ(e.type, EventType::Lost);
    EXPECT_EQ(e.ts_ns, 987654321ull);
    EXPECT_EQ(e.cpu, 6u);
    EXPECT_EQ(e.pid, 0u);
    EXPECT_EQ(e.tid, 0u);
    EXPECT_EQ(e.comm, "");
    EXPECT_EQ(std::get<LostData>(e.data).count, 42u);
}

TEST(Encoder, AnExitWithoutFaultCountersIsTheRecordOfAbi2) {
    Event exit = event_of(ExitData{0, 42, std::nullopt, std::nullopt}, kHead);
    const RecordBytes record = encode_event(exit);
    EXPECT_EQ(record.size(), size_t{PT_EXIT_EVENT_V2_SIZE});
    const Event back = decoded(record);
    const auto& d = std::get<ExitData>(back.data);
    EXPECT_EQ(d.start_ns, 42u);
    EXPECT_FALSE(d.min_flt.has_value());
    EXPECT_FALSE(d.maj_flt.has_value());
    // An exec without counters is the ABI 2 record too.
    EXPECT_EQ(encode_event(event_of(ExecData{"/bin/x"}, kHead)).size(),
              size_t{PT_EXEC_EVENT_V2_SIZE});
    EXPECT_FALSE(std::get<ExecData>(decoded(encode_event(event_of(ExecData{"/bin/x"}, kHead))).data)
                     .min_flt.has_value());
    // With counters, the record of ABI 3.
    exit.data = ExitData{0, 42, 5, 0};
    EXPECT_EQ(encode_event(exit).size(), sizeof(pt_exit_event));
    EXPECT_EQ(std::get<ExitData>(decoded(encode_event(exit)).data).min_flt, 5u);
}
