// Decoding raw event records (the ABI of include/pagetrace/events.h), by
// subject: the common header, each event type, the type values and names,
// then short, oversized and garbled records. Well-formed records come from
// the encoder (encoder_test.cpp pins each field it writes to its ABI place);
// support/raw_records.h makes what the encoder cannot. Every record is
// decoded right before an inaccessible page: a read past it crashes.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
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

const EventHead kHead{.cpu = 3, .ts_ns = 123456789012345ull, .pid = 4242, .tid = 4243,
                      .comm = "worker"};

Event sample(EventData data) { return event_of(std::move(data), kHead); }

// The record of `data` with the sample header.
RecordBytes record_of(EventData data) { return encode_event(sample(std::move(data))); }

// The record of each event type, its data at the defaults.
std::vector<RecordBytes> one_record_of_each_type() {
    std::vector<RecordBytes> records;
    for (uint16_t t = 1; t <= PT_EV_TYPE_MAX; ++t) {
        records.push_back(record_of(default_data(static_cast<EventType>(t))));
    }
    return records;
}

// Decodes a record that must decode.
Event decode_ok(std::span<const std::byte> record) {
    Event event;
    EXPECT_EQ(decode_fenced(record, event), "");
    return event;
}

void expect_common_header(const Event& e) {
    EXPECT_EQ(e.cpu, 3u);
    EXPECT_EQ(e.ts_ns, 123456789012345ull);
    EXPECT_EQ(e.pid, 4242u);
    EXPECT_EQ(e.tid, 4243u);
    EXPECT_EQ(e.comm, "worker");
}

}  // namespace

// --- the common header -------------------------------------------------------

TEST(Decoder, CommWithoutTerminatorIsBounded) {
    auto rec = abi_record<pt_fork_event>(sample(ForkData{0x41414141}));
    std::memcpy(rec.hdr.comm, "0123456789abcdef", PT_COMM_LEN);
    // child_pid right after comm must not leak into the name.
    const Event e = decode_ok(bytes_of(rec));
    EXPECT_EQ(e.comm, "0123456789abcdef");
    EXPECT_EQ(e.comm.size(), static_cast<size_t>(PT_COMM_LEN));
}

TEST(Decoder, EmptyComm) {
    Event fork = sample(ForkData{});
    fork.comm.clear();
    EXPECT_EQ(decode_ok(encode_event(fork)).comm, "");
}

TEST(Decoder, DecodingReplacesThePreviousEvent) {
    Event e;
    ASSERT_EQ(decode_fenced(record_of(ExecData{"/bin/a"}), e), "");
    Event fork = sample(ForkData{7});
    fork.comm = "b";
    ASSERT_EQ(decode_fenced(encode_event(fork), e), "");
    EXPECT_EQ(e.type, EventType::Fork);
    EXPECT_EQ(e.comm, "b");
    EXPECT_EQ(std::get<ForkData>(e.data).child_pid, 7u);
}

// --- fault ---------------------------------------------------------------------

TEST(Decoder, Fault) {
    const Event e = decode_ok(record_of(FaultData{.addr = 0x7f0012345678ull,
                                                  .ip = 0xffffffff81234567ull,
                                                  .error_code = 0x7,
                                                  .access = Access::Write,
                                                  .mode = FaultMode::Kernel}));
    EXPECT_EQ(e.type, EventType::Fault);
    expect_common_header(e);
    ASSERT_TRUE(std::holds_alternative<FaultData>(e.data));
    const auto& d = std::get<FaultData>(e.data);
    EXPECT_EQ(d.addr, 0x7f0012345678ull);
    EXPECT_EQ(d.ip, 0xffffffff81234567ull);
    EXPECT_EQ(d.error_code, 0x7u);
    EXPECT_EQ(d.access, Access::Write);
    EXPECT_EQ(d.mode, FaultMode::Kernel);
}

TEST(Decoder, FaultAllAccessAndModeValues) {
    for (uint8_t access : {PT_ACCESS_READ, PT_ACCESS_WRITE, PT_ACCESS_EXEC}) {
        for (uint8_t mode : {PT_MODE_USER, PT_MODE_KERNEL}) {
            const Event e = decode_ok(record_of(FaultData{.access = static_cast<Access>(access),
                                                          .mode = static_cast<FaultMode>(mode)}));
            const auto& d = std::get<FaultData>(e.data);
            EXPECT_EQ(static_cast<uint8_t>(d.access), access);
            EXPECT_EQ(static_cast<uint8_t>(d.mode), mode);
        }
    }
}

TEST(Decoder, FaultOutcomeAndLatency) {
    struct Case {
        FaultOutcome outcome;
        uint64_t latency;
    };
    for (const Case& c : {Case{FaultOutcome::Unknown, 0}, Case{FaultOutcome::Minor, 1400},
                          Case{FaultOutcome::Major, 12'345'678'901ull},
                          Case{FaultOutcome::Unaccounted, 0}}) {
        const Event e = decode_ok(record_of(FaultData{.addr = 0x7ffc00001234ull,
                                                      .ip = 0x55550000abcdull,
                                                      .error_code = 0x6,
                                                      .access = Access::Write,
                                                      .mode = FaultMode::User,
                                                      .outcome = c.outcome,
                                                      .latency_ns = c.latency}));
        EXPECT_EQ(e.type, EventType::Fault);
        expect_common_header(e);
        ASSERT_TRUE(std::holds_alternative<FaultData>(e.data));
        const auto& d = std::get<FaultData>(e.data);
        EXPECT_EQ(d.addr, 0x7ffc00001234ull);
        EXPECT_EQ(d.ip, 0x55550000abcdull);
        EXPECT_EQ(d.error_code, 0x6u);
        EXPECT_EQ(d.access, Access::Write);
        EXPECT_EQ(d.mode, FaultMode::User);
        EXPECT_EQ(d.outcome, c.outcome) << "outcome " << int(c.outcome);
        EXPECT_EQ(d.latency_ns, c.latency) << "outcome " << int(c.outcome);
    }
}

TEST(Decoder, FaultLatencyUsesAllSixtyFourBits) {
    const Event e = decode_ok(
        record_of(FaultData{.outcome = FaultOutcome::Major, .latency_ns = 0xfedcba9876543210ull}));
    EXPECT_EQ(std::get<FaultData>(e.data).latency_ns, 0xfedcba9876543210ull);
}

TEST(Decoder, FaultWithUnknownAccessIsAccepted) {
    // Sources without an error code report PT_ACCESS_UNKNOWN: valid, not garbage.
    for (uint8_t mode : {PT_MODE_USER, PT_MODE_KERNEL}) {
        const Event e = decode_ok(record_of(FaultData{.access = Access::Unknown,
                                                      .mode = static_cast<FaultMode>(mode),
                                                      .outcome = FaultOutcome::Minor,
                                                      .latency_ns = 99}));
        const auto& d = std::get<FaultData>(e.data);
        EXPECT_EQ(d.access, Access::Unknown);
        EXPECT_EQ(static_cast<uint8_t>(d.mode), mode);
        EXPECT_EQ(d.outcome, FaultOutcome::Minor);
    }
}

TEST(Decoder, InvalidAccessIsAnError) {
    auto rec = abi_record<pt_fault_event>(sample(FaultData{}));
    rec.access = PT_ACCESS_UNKNOWN + 1;
    Event e;
    const std::string err = decode_fenced(bytes_of(rec), e);
    EXPECT_NE(err.find("access"), std::string::npos) << err;
    rec.access = 0xff;
    EXPECT_NE(decode_fenced(bytes_of(rec), e), "");
}

TEST(Decoder, InvalidModeIsAnError) {
    auto rec = abi_record<pt_fault_event>(sample(FaultData{}));
    rec.mode = 2;
    Event e;
    const std::string err = decode_fenced(bytes_of(rec), e);
    EXPECT_NE(err.find("mode"), std::string::npos) << err;
}

TEST(Decoder, InvalidOutcomeIsAnError) {
    for (int outcome : {PT_OUTCOME_UNACCOUNTED + 1, 0x7f, 0xff}) {
        auto rec = abi_record<pt_fault_event>(sample(FaultData{}));
        rec.outcome = static_cast<uint8_t>(outcome);
        Event e;
        const std::string err = decode_fenced(bytes_of(rec), e);
        EXPECT_NE(err.find("outcome"), std::string::npos) << "outcome " << outcome << ": " << err;
        EXPECT_NE(err.find(std::to_string(outcome)), std::string::npos) << err;
    }
}

// --- mmap, munmap, mremap, brk, mprotect, madvise ----------------------------------

TEST(Decoder, Mmap) {
    const Event e = decode_ok(record_of(MmapData{.addr = 0x7f5500000000ull,
                                                 .len = 3 * 4096,
                                                 .pgoff = 17,
                                                 .prot = PROT_READ | PROT_WRITE,
                                                 .flags = MAP_SHARED,
                                                 .fd = 9,
                                                 .err = 0}));
    EXPECT_EQ(e.type, EventType::Mmap);
    expect_common_header(e);
    const auto& d = std::get<MmapData>(e.data);
    EXPECT_EQ(d.addr, 0x7f5500000000ull);
    EXPECT_EQ(d.len, 3u * 4096);
    EXPECT_EQ(d.pgoff, 17u);
    EXPECT_EQ(d.prot, static_cast<uint32_t>(PROT_READ | PROT_WRITE));
    EXPECT_EQ(d.flags, static_cast<uint32_t>(MAP_SHARED));
    EXPECT_EQ(d.fd, 9);
    EXPECT_EQ(d.err, 0);
}

TEST(Decoder, FailedMmapKeepsNegativeFdAndErrno) {
    const Event e = decode_ok(record_of(MmapData{.len = 1ull << 40, .fd = -1, .err = ENOMEM}));
    const auto& d = std::get<MmapData>(e.data);
    EXPECT_EQ(d.fd, -1);
    EXPECT_EQ(d.err, ENOMEM);
    EXPECT_EQ(d.len, 1ull << 40);
}

TEST(Decoder, Munmap) {
    const Event e = decode_ok(record_of(MunmapData{0x1000, 0x2000, EINVAL}));
    EXPECT_EQ(e.type, EventType::Munmap);
    expect_common_header(e);
    const auto& d = std::get<MunmapData>(e.data);
    EXPECT_EQ(d.addr, 0x1000u);
    EXPECT_EQ(d.len, 0x2000u);
    EXPECT_EQ(d.err, EINVAL);
}

TEST(Decoder, Mremap) {
    const Event e = decode_ok(record_of(MremapData{.old_addr = 0x7f0000100000ull,
                                                   .old_len = 0x3000,
                                                   .new_addr = 0x7f0000800000ull,
                                                   .new_len = 0x9000,
                                                   .flags = 1 | 2,  // MREMAP_MAYMOVE | MREMAP_FIXED
                                                   .err = 0}));
    EXPECT_EQ(e.type, EventType::Mremap);
    expect_common_header(e);
    ASSERT_TRUE(std::holds_alternative<MremapData>(e.data));
    const auto& d = std::get<MremapData>(e.data);
    EXPECT_EQ(d.old_addr, 0x7f0000100000ull);
    EXPECT_EQ(d.old_len, 0x3000u);
    EXPECT_EQ(d.new_addr, 0x7f0000800000ull);
    EXPECT_EQ(d.new_len, 0x9000u);
    EXPECT_EQ(d.flags, 3u);
    EXPECT_EQ(d.err, 0);
}

TEST(Decoder, FailedMremapKeepsErrno) {
    const Event e = decode_ok(record_of(MremapData{.old_addr = 0x1000,
                                                   .old_len = 0x1000,
                                                   .new_addr = 0x1000,
                                                   .new_len = 1ull << 46,
                                                   .flags = 0,
                                                   .err = ENOMEM}));
    const auto& d = std::get<MremapData>(e.data);
    EXPECT_EQ(d.new_len, 1ull << 46);
    EXPECT_EQ(d.flags, 0u);
    EXPECT_EQ(d.err, ENOMEM);
}

TEST(Decoder, Brk) {
    const Event e =
        decode_ok(record_of(BrkData{.addr = 0x5555557a1000ull, .ret = 0x5555557a0000ull}));
    EXPECT_EQ(e.type, EventType::Brk);
    expect_common_header(e);
    const auto& d = std::get<BrkData>(e.data);
    EXPECT_EQ(d.addr, 0x5555557a1000ull);
    EXPECT_EQ(d.ret, 0x5555557a0000ull);
}

TEST(Decoder, BrkQuery) {
    const Event e = decode_ok(record_of(BrkData{.addr = 0, .ret = 0x555555559000ull}));
    const auto& d = std::get<BrkData>(e.data);
    EXPECT_EQ(d.addr, 0u);
    EXPECT_EQ(d.ret, 0x555555559000ull);
}

TEST(Decoder, Mprotect) {
    const Event e = decode_ok(record_of(MprotectData{.addr = 0x7f1234560000ull,
                                                     .len = 0x2000,
                                                     .prot = PROT_READ | PROT_EXEC,
                                                     .err = EACCES}));
    EXPECT_EQ(e.type, EventType::Mprotect);
    expect_common_header(e);
    const auto& d = std::get<MprotectData>(e.data);
    EXPECT_EQ(d.addr, 0x7f1234560000ull);
    EXPECT_EQ(d.len, 0x2000u);
    EXPECT_EQ(d.prot, static_cast<uint32_t>(PROT_READ | PROT_EXEC));
    EXPECT_EQ(d.err, EACCES);
}

TEST(Decoder, Madvise) {
    const Event e = decode_ok(record_of(MadviseData{.addr = 0x7f0000000000ull,
                                                    .len = 1ull << 21,
                                                    .advice = 4,  // MADV_DONTNEED
                                                    .err = 0}));
    EXPECT_EQ(e.type, EventType::Madvise);
    expect_common_header(e);
    const auto& d = std::get<MadviseData>(e.data);
    EXPECT_EQ(d.addr, 0x7f0000000000ull);
    EXPECT_EQ(d.len, 1ull << 21);
    EXPECT_EQ(d.advice, 4);
    EXPECT_EQ(d.err, 0);
}

TEST(Decoder, MadviseKeepsSignedAdvice) {
    // advice is __s32: an odd value from a buggy caller must come through as is.
    const Event e = decode_ok(record_of(MadviseData{.advice = -1, .err = EINVAL}));
    const auto& d = std::get<MadviseData>(e.data);
    EXPECT_EQ(d.advice, -1);
    EXPECT_EQ(d.err, EINVAL);
}

// --- fork, exec, exit ------------------------------------------------------------

TEST(Decoder, Fork) {
    auto rec = abi_record<pt_fork_event>(sample(ForkData{4000001, 0x0123456789abcdefull}));
    rec.reserved = 0xdeadbeef;  // ignored
    const Event e = decode_ok(bytes_of(rec));
    EXPECT_EQ(e.type, EventType::Fork);
    expect_common_header(e);
    const auto& d = std::get<ForkData>(e.data);
    EXPECT_EQ(d.child_pid, 4000001u);
    EXPECT_EQ(d.child_start_ns, 0x0123456789abcdefull);
}

TEST(Decoder, Exec) {
    const Event e = decode_ok(record_of(ExecData{"/usr/bin/env"}));
    EXPECT_EQ(e.type, EventType::Exec);
    expect_common_header(e);
    EXPECT_EQ(std::get<ExecData>(e.data).filename, "/usr/bin/env");
}

TEST(Decoder, ExecFilenameWithoutTerminatorIsBounded) {
    auto rec = abi_record<pt_exec_event>(sample(ExecData{{}, 0, 0}));
    std::memset(rec.filename, 'f', sizeof(rec.filename));
    // The record is placed right before the fence: nothing follows it.
    const Event e = decode_ok(bytes_of(rec));
    EXPECT_EQ(std::get<ExecData>(e.data).filename, std::string(PT_FILENAME_LEN, 'f'));
}

TEST(Decoder, Exit) {
    auto rec = abi_record<pt_exit_event>(sample(ExitData{42 << 8, 5'000'000'123ull, 3456, 12}));
    rec.reserved = 0xffffffff;  // ignored
    const Event e = decode_ok(bytes_of(rec));
    EXPECT_EQ(e.type, EventType::Exit);
    expect_common_header(e);
    const auto& d = std::get<ExitData>(e.data);
    EXPECT_EQ(d.status, 42u << 8);
    EXPECT_EQ(d.start_ns, 5'000'000'123ull);
    EXPECT_EQ(d.min_flt, 3456u);
    EXPECT_EQ(d.maj_flt, 12u);
}
TEST(Decoder, ExitOfAbi2HasNoFaultCounters) {
    // Recordings of event ABI 2 end their exit records after start_ns.
    auto rec = abi_record<pt_exit_event>(sample(ExitData{42 << 8, 77, 1, 1}));
    rec.hdr.size = PT_EXIT_EVENT_V2_SIZE;
    const auto bytes = bytes_of(rec);
    const Event e = decode_ok(std::span(bytes).first(PT_EXIT_EVENT_V2_SIZE));
    const auto& d = std::get<ExitData>(e.data);
    EXPECT_EQ(d.start_ns, 77u);
    EXPECT_FALSE(d.min_flt.has_value());
    EXPECT_FALSE(d.maj_flt.has_value());
    // Shorter than that is still an error.
    rec.hdr.size = PT_EXIT_EVENT_V2_SIZE - 8;
    const auto short_bytes = bytes_of(rec);
    Event bad;
    EXPECT_TRUE(decode_event(std::span(short_bytes).first(PT_EXIT_EVENT_V2_SIZE - 8), bad));
}
TEST(Decoder, FaultAround) {
    const auto rec = abi_record<pt_fault_around_event>(
        sample(FaultAroundData{0x7f0000010000, 0x10000, 0x7f0000013000, 99, 5}));
    const Event e = decode_ok(bytes_of(rec));
    EXPECT_EQ(e.type, EventType::FaultAround);
    const auto& d = std::get<FaultAroundData>(e.data);
    EXPECT_EQ(d.addr, 0x7f0000010000u);
    EXPECT_EQ(d.len, 0x10000u);
    EXPECT_EQ(d.fault_addr, 0x7f0000013000u);
    EXPECT_EQ(d.ino, 99u);
    EXPECT_EQ(d.dev, 5u);
}

TEST(Decoder, ReclaimKsmAndCollapseEvents) {
    auto out = abi_record<pt_swap_out_event>(sample(SwapOutData{0x7f0000003000, 0x1234, 0, 45, "kswapd0"}));
    out.hdr.tid = 0;  // attributed to the owner: no thread of its own
    const Event swap = decode_ok(bytes_of(out));
    EXPECT_EQ(swap.type, EventType::SwapOut);
    EXPECT_EQ(swap.pid, 4242u);
    EXPECT_EQ(swap.tid, 0u);
    EXPECT_EQ(std::get<SwapOutData>(swap.data).pfn, 0x1234u);
    EXPECT_EQ(std::get<SwapOutData>(swap.data).by_comm, "kswapd0");

    auto merge = abi_record<pt_ksm_merge_event>(sample(KsmMergeData{0x7f0000005000, 0, 0x2222, 40, "ksmd"}));
    merge.reserved = 0xabad1dea;  // ignored
    const Event merged = decode_ok(bytes_of(merge));
    const auto& m = std::get<KsmMergeData>(merged.data);
    EXPECT_EQ(m.addr, 0x7f0000005000u);
    EXPECT_EQ(m.old_pfn, 0u);
    EXPECT_EQ(m.new_pfn, 0x2222u);

    const auto collapse = abi_record<pt_collapse_event>(
        sample(CollapseData{0x7f0000200000, 0, 512, 1, 50, "khugepaged"}));
    const Event collapsed = decode_ok(bytes_of(collapse));
    const auto& c = std::get<CollapseData>(collapsed.data);
    EXPECT_EQ(c.pages, 512u);
    EXPECT_EQ(c.status, 1);

    const auto stall = abi_record<pt_reclaim_stall_event>(
        sample(ReclaimStallData{123456, 77, PT_STALL_COMPACTION}));
    const Event stalled = decode_ok(bytes_of(stall));
    const auto& st = std::get<ReclaimStallData>(stalled.data);
    EXPECT_EQ(st.duration_ns, 123456u);
    EXPECT_EQ(st.reclaimed, 77u);
    EXPECT_EQ(st.kind, uint32_t{PT_STALL_COMPACTION});
}

// --- lost ----------------------------------------------------------------------

TEST(Decoder, Lost) {
    auto rec = abi_record<pt_lost_event>(sample(LostData{1234567}));
    rec.hdr.cpu = 0;
    rec.lost_cpu = 5;
    const Event e = decode_ok(bytes_of(rec));
    EXPECT_EQ(e.type, EventType::Lost);
    EXPECT_EQ(std::get<LostData>(e.data).count, 1234567u);
    // The CPU whose events were lost is what a user sees as the event's cpu.
    EXPECT_EQ(e.cpu, 5u);
    EXPECT_EQ(e.ts_ns, 123456789012345ull);
}

// --- tlb_flush -------------------------------------------------------------------

TEST(Decoder, TlbFlushRange) {
    auto rec = abi_record<pt_tlb_flush_event>(sample(TlbFlushData{
        3, 0x7f0000001000ull, 0x7f0000004000ull, PT_TLB_REMOTE_SHOOTDOWN}));
    rec.reserved = 0xabad1dea;  // ignored
    const Event e = decode_ok(bytes_of(rec));
    EXPECT_EQ(e.type, EventType::TlbFlush);
    expect_common_header(e);
    const auto& d = std::get<TlbFlushData>(e.data);
    EXPECT_EQ(d.pages, 3u);
    EXPECT_EQ(d.start, 0x7f0000001000ull);
    EXPECT_EQ(d.end, 0x7f0000004000ull);
    EXPECT_EQ(d.reason, static_cast<uint32_t>(PT_TLB_REMOTE_SHOOTDOWN));
}

TEST(Decoder, TlbFlushAllWithUnknownRange) {
    Event flush = sample(TlbFlushData{.pages = PT_TLB_FLUSH_ALL, .reason = PT_TLB_UNKNOWN_REASON});
    flush.tid = 0;  // flushed by a thread of another process
    const Event e = decode_ok(encode_event(flush));
    EXPECT_EQ(e.tid, 0u);
    const auto& d = std::get<TlbFlushData>(e.data);
    EXPECT_EQ(d.pages, PT_TLB_FLUSH_ALL);
    EXPECT_EQ(d.start, 0u);
    EXPECT_EQ(d.end, 0u);
    EXPECT_EQ(d.reason, static_cast<uint32_t>(PT_TLB_UNKNOWN_REASON));
}

// --- migrate, migrate_batch --------------------------------------------------------

TEST(Decoder, Migrate) {
    Event migrate = sample(MigrateData{.addr = 0x7f00aa200000ull,
                                       .old_pfn = 0x12345,
                                       .new_pfn = 0x6789a,
                                       .order = 9,
                                       .reason = PT_MR_NUMA_MISPLACED,
                                       .mode = PT_MIGRATE_SYNC_LIGHT,
                                       .by_pid = 77,
                                       .by_comm = "kcompactd0"});
    migrate.tid = 0;
    const Event e = decode_ok(encode_event(migrate));
    EXPECT_EQ(e.type, EventType::Migrate);
    EXPECT_EQ(e.pid, 4242u);
    EXPECT_EQ(e.tid, 0u);
    EXPECT_EQ(e.comm, "worker");
    const auto& d = std::get<MigrateData>(e.data);
    EXPECT_EQ(d.addr, 0x7f00aa200000ull);
    EXPECT_EQ(d.old_pfn, 0x12345u);
    EXPECT_EQ(d.new_pfn, 0x6789au);
    EXPECT_EQ(d.order, 9u);
    EXPECT_EQ(d.reason, static_cast<uint32_t>(PT_MR_NUMA_MISPLACED));
    EXPECT_EQ(d.mode, static_cast<uint32_t>(PT_MIGRATE_SYNC_LIGHT));
    EXPECT_EQ(d.by_pid, 77u);
    EXPECT_EQ(d.by_comm, "kcompactd0");
}

TEST(Decoder, MigrateByCommWithoutTerminatorIsBounded) {
    // by_comm is the last field: the fence right after it catches over-reads.
    auto rec = abi_record<pt_migrate_event>(sample(MigrateData{}));
    std::memcpy(rec.by_comm, "ABCDEFGHIJKLMNOP", PT_COMM_LEN);
    const Event e = decode_ok(bytes_of(rec));
    EXPECT_EQ(std::get<MigrateData>(e.data).by_comm, "ABCDEFGHIJKLMNOP");
}

TEST(Decoder, MigrateBatch) {
    Event batch = sample(MigrateBatchData{.succeeded = 1000,
                                          .failed = 3,
                                          .thp_succeeded = 2,
                                          .thp_failed = 1,
                                          .reason = PT_MR_COMPACTION,
                                          .mode = PT_MIGRATE_ASYNC,
                                          .by_pid = 55,
                                          .traced_pages = 17,
                                          .by_comm = "kcompactd1"});
    batch.tid = 0;
    const Event e = decode_ok(encode_event(batch));
    EXPECT_EQ(e.type, EventType::MigrateBatch);
    EXPECT_EQ(e.cpu, 3u);
    EXPECT_EQ(e.ts_ns, 123456789012345ull);
    EXPECT_EQ(e.pid, 4242u);
    const auto& d = std::get<MigrateBatchData>(e.data);
    EXPECT_EQ(d.succeeded, 1000u);
    EXPECT_EQ(d.failed, 3u);
    EXPECT_EQ(d.thp_succeeded, 2u);
    EXPECT_EQ(d.thp_failed, 1u);
    EXPECT_EQ(d.reason, static_cast<uint32_t>(PT_MR_COMPACTION));
    EXPECT_EQ(d.mode, static_cast<uint32_t>(PT_MIGRATE_ASYNC));
    EXPECT_EQ(d.by_pid, 55u);
    EXPECT_EQ(d.traced_pages, 17u);
    EXPECT_EQ(d.by_comm, "kcompactd1");
}

TEST(Decoder, MigrateBatchByCommWithoutTerminatorIsBounded) {
    auto rec = abi_record<pt_migrate_batch_event>(sample(MigrateBatchData{}));
    std::memset(rec.by_comm, 'z', PT_COMM_LEN);
    EXPECT_EQ(std::get<MigrateBatchData>(decode_ok(bytes_of(rec)).data).by_comm,
              std::string(PT_COMM_LEN, 'z'));
}

TEST(Decoder, UnknownReasonAndModeValuesPassThrough) {
    // The decoder does not judge the stable enums: the names do ("unknown").
    const Event mig_event = decode_ok(
        record_of(MigrateData{.reason = PT_MR_UNKNOWN, .mode = PT_MIGRATE_UNKNOWN_MODE}));
    const auto& md = std::get<MigrateData>(mig_event.data);
    EXPECT_EQ(md.reason, static_cast<uint32_t>(PT_MR_UNKNOWN));
    EXPECT_EQ(md.mode, static_cast<uint32_t>(PT_MIGRATE_UNKNOWN_MODE));

    const Event batch_event = decode_ok(record_of(MigrateBatchData{.reason = 1234, .mode = 5678}));
    const auto& bd = std::get<MigrateBatchData>(batch_event.data);
    EXPECT_EQ(bd.reason, 1234u);
    EXPECT_EQ(bd.mode, 5678u);
}

// --- every type ----------------------------------------------------------------

TEST(Decoder, EachTypeDecodesToItsOwnEventType) {
    for (const RecordBytes& record : one_record_of_each_type()) {
        Event e;
        ASSERT_EQ(decode_fenced(record, e), "");
        const uint16_t type = peek_header(record)->type;
        EXPECT_EQ(e.type, static_cast<EventType>(type));
        // The variant alternative matches the type (the formatters rely on it).
        EXPECT_EQ(e.data.index(), static_cast<size_t>(type - PT_EV_FAULT)) << "type " << type;
    }
}

TEST(Decoder, EventTypeValuesMatchTheAbi) {
    EXPECT_EQ(static_cast<uint16_t>(EventType::Fault), PT_EV_FAULT);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Mmap), PT_EV_MMAP);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Munmap), PT_EV_MUNMAP);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Fork), PT_EV_FORK);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Exec), PT_EV_EXEC);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Exit), PT_EV_EXIT);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Lost), PT_EV_LOST);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Mremap), PT_EV_MREMAP);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Brk), PT_EV_BRK);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Mprotect), PT_EV_MPROTECT);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Madvise), PT_EV_MADVISE);
    EXPECT_EQ(static_cast<uint16_t>(EventType::TlbFlush), PT_EV_TLB_FLUSH);
    EXPECT_EQ(static_cast<uint16_t>(EventType::Migrate), PT_EV_MIGRATE);
    EXPECT_EQ(static_cast<uint16_t>(EventType::MigrateBatch), PT_EV_MIGRATE_BATCH);
    EXPECT_EQ(kEventTypeCount, PT_EV_TYPE_MAX);
    EXPECT_EQ(std::variant_size_v<EventData>, static_cast<size_t>(PT_EV_TYPE_MAX));
}

// --- short, oversized and garbled records ------------------------------------------

// Every strict prefix of a valid record fails, whether hdr.size still claims
// the whole record (then it is longer than the buffer) or exactly the prefix
// (then it is shorter than the type needs, or than the header).
TEST(Decoder, EveryShortBufferIsAnError) {
    for (const RecordBytes& whole : one_record_of_each_type()) {
        const uint16_t type = peek_header(whole)->type;
        for (size_t len = 0; len < whole.size(); ++len) {
            const RecordBytes part = cut(whole, len);
            Event e;
            EXPECT_NE(decode_fenced(part, e), "") << "type " << type << ", " << len << " bytes";
            if (len >= offsetof(pt_event_header, size) + sizeof(uint16_t)) {
                EXPECT_NE(decode_fenced(with_size(part, static_cast<uint16_t>(len)), e), "")
                    << "type " << type << ", " << len << " bytes, hdr.size = " << len;
            }
        }
    }
}

TEST(Decoder, ShortBufferErrorSaysHowShort) {
    Event e;
    const std::string err =
        decode_fenced(cut(record_of(ForkData{}), sizeof(pt_event_header) - 1), e);
    EXPECT_NE(err.find("39"), std::string::npos) << err;
}

TEST(Decoder, V1SizedRecordsOfGrownTypesAreErrors) {
    // ABI v1 fault (64 bytes), fork (48) and exit (48) records lack the fields
    // v2 added: they must not decode with garbage or zero in them.
    struct V1 {
        EventType type;
        uint16_t size;
    };
    for (const V1& v1 : {V1{EventType::Fault, 64}, V1{EventType::Fork, 48},
                         V1{EventType::Exit, 48}}) {
        const RecordBytes record = cut(record_of(default_data(v1.type)), v1.size);
        Event e;
        EXPECT_NE(decode_fenced(with_size(record, v1.size), e), "")
            << "type " << static_cast<int>(v1.type);
    }
}

TEST(Decoder, DeclaredSizeLargerThanBufferIsAnError) {
    const RecordBytes mmap = record_of(MmapData{});
    Event e;
    const std::string err = decode_fenced(with_size(mmap, sizeof(pt_mmap_event) + 1), e);
    EXPECT_NE(err, "");
    EXPECT_NE(err.find(std::to_string(sizeof(pt_mmap_event) + 1)), std::string::npos) << err;
    EXPECT_NE(decode_fenced(with_size(mmap, 0xffff), e), "");

    const RecordBytes batch = record_of(MigrateBatchData{});
    EXPECT_NE(decode_fenced(with_size(batch, sizeof(pt_migrate_batch_event) + 1), e), "");
}

// The buffer holds the whole record but the header says less than the type
// needs: the decoder trusts neither and refuses, naming the type and the size
// it needs.
TEST(Decoder, DeclaredSizeSmallerThanTheTypeIsAnError) {
    for (const RecordBytes& whole : one_record_of_each_type()) {
        const std::string name(event_type_name(static_cast<EventType>(peek_header(whole)->type)));
        for (size_t size : {sizeof(pt_event_header), whole.size() - 8, whole.size() - 1}) {
            Event e;
            const std::string err = decode_fenced(with_size(whole, static_cast<uint16_t>(size)), e);
            EXPECT_NE(err.find(name), std::string::npos) << "hdr.size " << size << ": " << err;
            EXPECT_NE(err.find(std::to_string(whole.size())), std::string::npos) << err;
        }
    }
}

TEST(Decoder, DeclaredSizeSmallerThanTheHeaderIsAnError) {
    const RecordBytes fork = record_of(ForkData{});
    for (uint16_t size : {0, 1, 39}) {
        Event e;
        EXPECT_NE(decode_fenced(with_size(fork, size), e), "") << "hdr.size = " << size;
    }
}

TEST(Decoder, UnknownTypeIsAnErrorNamingIt) {
    for (uint16_t type : {uint16_t{0}, uint16_t{PT_EV_TYPE_MAX + 1}, uint16_t{0xbeef}}) {
        Event e;
        const std::string err = decode_fenced(with_type(record_of(LostData{}), type), e);
        EXPECT_NE(err.find("unknown event type " + std::to_string(type)), std::string::npos)
            << err;
    }
}

TEST(Decoder, TrailingBytesWithinDeclaredSizeAreIgnored) {
    // A newer producer may append fields: the known part still decodes.
    const RecordBytes munmap = padded(record_of(MunmapData{0xabc000, 0x1000, 0}), 24);
    Event e;
    ASSERT_EQ(decode_fenced(with_size(munmap, static_cast<uint16_t>(munmap.size())), e), "");
    EXPECT_EQ(e.type, EventType::Munmap);
    EXPECT_EQ(std::get<MunmapData>(e.data).addr, 0xabc000u);
    EXPECT_EQ(std::get<MunmapData>(e.data).len, 0x1000u);

    const RecordBytes migrate =
        padded(record_of(MigrateData{.new_pfn = 0x42, .by_comm = "x"}), 16, std::byte{0x5a});
    ASSERT_EQ(decode_fenced(with_size(migrate, static_cast<uint16_t>(migrate.size())), e), "");
    const auto& d = std::get<MigrateData>(e.data);
    EXPECT_EQ(d.new_pfn, 0x42u);
    EXPECT_EQ(d.by_comm, "x");
}

TEST(Decoder, BufferLongerThanDeclaredSizeDecodesTheRecord) {
    // hdr.size stays sizeof(pt_fork_event).
    const RecordBytes bytes = padded(record_of(ForkData{31}), 100);
    Event e;
    ASSERT_EQ(decode_fenced(bytes, e), "");
    EXPECT_EQ(std::get<ForkData>(e.data).child_pid, 31u);
}
