// Decoding of the records ABI v2 added (mremap, brk, mprotect, madvise,
// tlb_flush, migrate, migrate_batch) and of the fields it added to older ones
// (fault outcome/latency, fork child_start_ns, exit start_ns).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "decode/decoder.h"
#include "pagetrace/events.h"

using namespace pagetrace;

namespace {

// A buffer whose end touches a PROT_NONE page: any read past the record the
// decoder was given faults at once instead of reading whatever follows.
class FencedBytes {
public:
    FencedBytes() {
        page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
        void* mem = ::mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) throw std::runtime_error("mmap failed");
        mem_ = static_cast<std::byte*>(mem);
        if (::mprotect(mem_ + page_, page_, PROT_NONE) != 0) {
            ::munmap(mem_, 2 * page_);
            throw std::runtime_error("mprotect failed");
        }
    }
    FencedBytes(const FencedBytes&) = delete;
    FencedBytes& operator=(const FencedBytes&) = delete;
    ~FencedBytes() { ::munmap(mem_, 2 * page_); }

    std::span<const std::byte> hold(std::span<const std::byte> bytes) {
        std::byte* at = mem_ + page_ - bytes.size();
        if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
        return {at, bytes.size()};
    }

private:
    size_t page_ = 0;
    std::byte* mem_ = nullptr;
};

constexpr uint32_t kCpu = 7;
constexpr uint64_t kTs = 987654321098765ull;
constexpr uint32_t kTgid = 31337;
constexpr uint32_t kTid = 31338;

template <typename Record>
Record blank(uint16_t type) {
    Record rec;
    std::memset(&rec, 0, sizeof(rec));
    rec.hdr.type = type;
    rec.hdr.size = static_cast<uint16_t>(sizeof(Record));
    rec.hdr.cpu = kCpu;
    rec.hdr.ts_ns = kTs;
    rec.hdr.tgid = kTgid;
    rec.hdr.tid = kTid;
    std::memcpy(rec.hdr.comm, "mover", 5);
    return rec;
}

template <typename Record>
std::vector<std::byte> raw(const Record& rec, size_t trailing = 0) {
    std::vector<std::byte> bytes(sizeof(Record) + trailing, std::byte{0x5a});
    std::memcpy(bytes.data(), &rec, sizeof(Record));
    return bytes;
}

void put_size(std::vector<std::byte>& bytes, uint16_t size) {
    std::memcpy(bytes.data() + offsetof(pt_event_header, size), &size, sizeof(size));
}

// "" on success, else the decoder's message.
std::string decode_fenced(std::span<const std::byte> bytes, Event& out) {
    FencedBytes fence;
    const auto err = decode_event(fence.hold(bytes), out);
    return err ? err->message : std::string();
}

template <typename Record>
Event must_decode(const Record& rec) {
    Event e;
    EXPECT_EQ(decode_fenced(raw(rec), e), "");
    return e;
}

void expect_header(const Event& e, EventType type) {
    EXPECT_EQ(e.type, type);
    EXPECT_EQ(e.cpu, kCpu);
    EXPECT_EQ(e.ts_ns, kTs);
    EXPECT_EQ(e.pid, kTgid);
    EXPECT_EQ(e.tid, kTid);
    EXPECT_EQ(e.comm, "mover");
}

}  // namespace

// --- fault: outcome and latency --------------------------------------------

TEST(DecoderV2, FaultOutcomeAndLatency) {
    struct Case {
        uint8_t outcome;
        FaultOutcome expected;
        uint64_t latency;
    };
    for (const Case& c : {Case{PT_OUTCOME_UNKNOWN, FaultOutcome::Unknown, 0},
                          Case{PT_OUTCOME_MINOR, FaultOutcome::Minor, 1400},
                          Case{PT_OUTCOME_MAJOR, FaultOutcome::Major, 12'345'678'901ull},
                          Case{PT_OUTCOME_UNACCOUNTED, FaultOutcome::Unaccounted, 0}}) {
        auto rec = blank<pt_fault_event>(PT_EV_FAULT);
        rec.addr = 0x7ffc00001234ull;
        rec.ip = 0x55550000abcdull;
        rec.error_code = 0x6;
        rec.access = PT_ACCESS_WRITE;
        rec.mode = PT_MODE_USER;
        rec.outcome = c.outcome;
        rec.latency_ns = c.latency;
        const Event e = must_decode(rec);
        expect_header(e, EventType::Fault);
        ASSERT_TRUE(std::holds_alternative<FaultData>(e.data));
        const auto& d = std::get<FaultData>(e.data);
        EXPECT_EQ(d.addr, 0x7ffc00001234ull);
        EXPECT_EQ(d.ip, 0x55550000abcdull);
        EXPECT_EQ(d.error_code, 0x6u);
        EXPECT_EQ(d.access, Access::Write);
        EXPECT_EQ(d.mode, FaultMode::User);
        EXPECT_EQ(d.outcome, c.expected) << "outcome " << int(c.outcome);
        EXPECT_EQ(d.latency_ns, c.latency) << "outcome " << int(c.outcome);
    }
}

TEST(DecoderV2, FaultLatencyUsesAllSixtyFourBits) {
    auto rec = blank<pt_fault_event>(PT_EV_FAULT);
    rec.outcome = PT_OUTCOME_MAJOR;
    rec.latency_ns = 0xfedcba9876543210ull;
    EXPECT_EQ(std::get<FaultData>(must_decode(rec).data).latency_ns, 0xfedcba9876543210ull);
}

TEST(DecoderV2, FaultWithUnknownAccessIsAccepted) {
    // Sources without an error code report PT_ACCESS_UNKNOWN: valid, not garbage.
    for (uint8_t mode : {PT_MODE_USER, PT_MODE_KERNEL}) {
        auto rec = blank<pt_fault_event>(PT_EV_FAULT);
        rec.access = PT_ACCESS_UNKNOWN;
        rec.mode = mode;
        rec.outcome = PT_OUTCOME_MINOR;
        rec.latency_ns = 99;
        const Event e = must_decode(rec);
        const auto& d = std::get<FaultData>(e.data);
        EXPECT_EQ(d.access, Access::Unknown);
        EXPECT_EQ(static_cast<uint8_t>(d.mode), mode);
        EXPECT_EQ(d.outcome, FaultOutcome::Minor);
    }
}

TEST(DecoderV2, FaultWithInvalidOutcomeIsAnError) {
    for (int outcome : {PT_OUTCOME_UNACCOUNTED + 1, 0x7f, 0xff}) {
        auto rec = blank<pt_fault_event>(PT_EV_FAULT);
        rec.outcome = static_cast<uint8_t>(outcome);
        Event e;
        const std::string err = decode_fenced(raw(rec), e);
        EXPECT_NE(err.find("outcome"), std::string::npos) << "outcome " << outcome << ": " << err;
        EXPECT_NE(err.find(std::to_string(outcome)), std::string::npos) << err;
    }
}

// --- fork / exit: start times ----------------------------------------------

TEST(DecoderV2, ForkChildStartTime) {
    auto rec = blank<pt_fork_event>(PT_EV_FORK);
    rec.child_pid = 4000001;
    rec.reserved = 0xdeadbeef;  // ignored
    rec.child_start_ns = 0x0123456789abcdefull;
    const Event e = must_decode(rec);
    expect_header(e, EventType::Fork);
    const auto& d = std::get<ForkData>(e.data);
    EXPECT_EQ(d.child_pid, 4000001u);
    EXPECT_EQ(d.child_start_ns, 0x0123456789abcdefull);
}

TEST(DecoderV2, ExitStartTime) {
    auto rec = blank<pt_exit_event>(PT_EV_EXIT);
    rec.exit_code = (42 << 8);
    rec.reserved = 0xffffffff;  // ignored
    rec.start_ns = 5'000'000'123ull;
    const Event e = must_decode(rec);
    expect_header(e, EventType::Exit);
    const auto& d = std::get<ExitData>(e.data);
    EXPECT_EQ(d.status, 42u << 8);
    EXPECT_EQ(d.start_ns, 5'000'000'123ull);
}

// --- the new record types ----------------------------------------------------

TEST(DecoderV2, Mremap) {
    auto rec = blank<pt_mremap_event>(PT_EV_MREMAP);
    rec.old_addr = 0x7f0000100000ull;
    rec.old_len = 0x3000;
    rec.new_addr = 0x7f0000800000ull;
    rec.new_len = 0x9000;
    rec.flags = 1 | 2;  // MREMAP_MAYMOVE | MREMAP_FIXED
    rec.err = 0;
    const Event e = must_decode(rec);
    expect_header(e, EventType::Mremap);
    ASSERT_TRUE(std::holds_alternative<MremapData>(e.data));
    const auto& d = std::get<MremapData>(e.data);
    EXPECT_EQ(d.old_addr, 0x7f0000100000ull);
    EXPECT_EQ(d.old_len, 0x3000u);
    EXPECT_EQ(d.new_addr, 0x7f0000800000ull);
    EXPECT_EQ(d.new_len, 0x9000u);
    EXPECT_EQ(d.flags, 3u);
    EXPECT_EQ(d.err, 0);
}

TEST(DecoderV2, FailedMremapKeepsErrno) {
    auto rec = blank<pt_mremap_event>(PT_EV_MREMAP);
    rec.old_addr = 0x1000;
    rec.old_len = 0x1000;
    rec.new_addr = 0x1000;
    rec.new_len = 1ull << 46;
    rec.flags = 0;
    rec.err = ENOMEM;
    const Event e = must_decode(rec);
    const auto& d = std::get<MremapData>(e.data);
    EXPECT_EQ(d.new_len, 1ull << 46);
    EXPECT_EQ(d.flags, 0u);
    EXPECT_EQ(d.err, ENOMEM);
}

TEST(DecoderV2, Brk) {
    auto rec = blank<pt_brk_event>(PT_EV_BRK);
    rec.addr = 0x5555557a1000ull;
    rec.ret = 0x5555557a0000ull;
    const Event e = must_decode(rec);
    expect_header(e, EventType::Brk);
    const auto& d = std::get<BrkData>(e.data);
    EXPECT_EQ(d.addr, 0x5555557a1000ull);
    EXPECT_EQ(d.ret, 0x5555557a0000ull);
}

TEST(DecoderV2, BrkQuery) {
    auto rec = blank<pt_brk_event>(PT_EV_BRK);
    rec.addr = 0;
    rec.ret = 0x555555559000ull;
    const Event e = must_decode(rec);
    const auto& d = std::get<BrkData>(e.data);
    EXPECT_EQ(d.addr, 0u);
    EXPECT_EQ(d.ret, 0x555555559000ull);
}

TEST(DecoderV2, Mprotect) {
    auto rec = blank<pt_mprotect_event>(PT_EV_MPROTECT);
    rec.addr = 0x7f1234560000ull;
    rec.len = 0x2000;
    rec.prot = PROT_READ | PROT_EXEC;
    rec.err = EACCES;
    const Event e = must_decode(rec);
    expect_header(e, EventType::Mprotect);
    const auto& d = std::get<MprotectData>(e.data);
    EXPECT_EQ(d.addr, 0x7f1234560000ull);
    EXPECT_EQ(d.len, 0x2000u);
    EXPECT_EQ(d.prot, static_cast<uint32_t>(PROT_READ | PROT_EXEC));
    EXPECT_EQ(d.err, EACCES);
}

TEST(DecoderV2, Madvise) {
    auto rec = blank<pt_madvise_event>(PT_EV_MADVISE);
    rec.addr = 0x7f0000000000ull;
    rec.len = 1ull << 21;
    rec.advice = 4;  // MADV_DONTNEED
    rec.err = 0;
    const Event e = must_decode(rec);
    expect_header(e, EventType::Madvise);
    const auto& d = std::get<MadviseData>(e.data);
    EXPECT_EQ(d.addr, 0x7f0000000000ull);
    EXPECT_EQ(d.len, 1ull << 21);
    EXPECT_EQ(d.advice, 4);
    EXPECT_EQ(d.err, 0);
}

TEST(DecoderV2, MadviseKeepsSignedAdvice) {
    // advice is __s32: an odd value from a buggy caller must come through as is.
    auto rec = blank<pt_madvise_event>(PT_EV_MADVISE);
    rec.advice = -1;
    rec.err = EINVAL;
    const Event e = must_decode(rec);
    const auto& d = std::get<MadviseData>(e.data);
    EXPECT_EQ(d.advice, -1);
    EXPECT_EQ(d.err, EINVAL);
}

TEST(DecoderV2, TlbFlushRange) {
    auto rec = blank<pt_tlb_flush_event>(PT_EV_TLB_FLUSH);
    rec.pages = 3;
    rec.start = 0x7f0000001000ull;
    rec.end = 0x7f0000004000ull;
    rec.reason = PT_TLB_REMOTE_SHOOTDOWN;
    rec.reserved = 0xabad1dea;  // ignored
    const Event e = must_decode(rec);
    expect_header(e, EventType::TlbFlush);
    const auto& d = std::get<TlbFlushData>(e.data);
    EXPECT_EQ(d.pages, 3u);
    EXPECT_EQ(d.start, 0x7f0000001000ull);
    EXPECT_EQ(d.end, 0x7f0000004000ull);
    EXPECT_EQ(d.reason, static_cast<uint32_t>(PT_TLB_REMOTE_SHOOTDOWN));
}

TEST(DecoderV2, TlbFlushAllWithUnknownRange) {
    auto rec = blank<pt_tlb_flush_event>(PT_EV_TLB_FLUSH);
    rec.hdr.tid = 0;  // flushed by a thread of another process
    rec.pages = PT_TLB_FLUSH_ALL;
    rec.reason = PT_TLB_UNKNOWN_REASON;
    const Event e = must_decode(rec);
    EXPECT_EQ(e.tid, 0u);
    const auto& d = std::get<TlbFlushData>(e.data);
    EXPECT_EQ(d.pages, PT_TLB_FLUSH_ALL);
    EXPECT_EQ(d.start, 0u);
    EXPECT_EQ(d.end, 0u);
    EXPECT_EQ(d.reason, static_cast<uint32_t>(PT_TLB_UNKNOWN_REASON));
}

TEST(DecoderV2, Migrate) {
    auto rec = blank<pt_migrate_event>(PT_EV_MIGRATE);
    rec.hdr.tid = 0;
    rec.addr = 0x7f00aa200000ull;
    rec.old_pfn = 0x12345;
    rec.new_pfn = 0x6789a;
    rec.order = 9;
    rec.reason = PT_MR_NUMA_MISPLACED;
    rec.mode = PT_MIGRATE_SYNC_LIGHT;
    rec.by_pid = 77;
    std::memcpy(rec.by_comm, "kcompactd0", 10);
    const Event e = must_decode(rec);
    EXPECT_EQ(e.type, EventType::Migrate);
    EXPECT_EQ(e.pid, kTgid);
    EXPECT_EQ(e.tid, 0u);
    EXPECT_EQ(e.comm, "mover");
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

TEST(DecoderV2, MigrateByCommWithoutTerminatorIsBounded) {
    // by_comm is the last field: the fence right after it catches over-reads.
    auto rec = blank<pt_migrate_event>(PT_EV_MIGRATE);
    std::memcpy(rec.by_comm, "ABCDEFGHIJKLMNOP", PT_COMM_LEN);
    const Event e = must_decode(rec);
    const auto& d = std::get<MigrateData>(e.data);
    EXPECT_EQ(d.by_comm, "ABCDEFGHIJKLMNOP");
}

TEST(DecoderV2, MigrateBatch) {
    auto rec = blank<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH);
    rec.hdr.tid = 0;
    rec.succeeded = 1000;
    rec.failed = 3;
    rec.thp_succeeded = 2;
    rec.thp_failed = 1;
    rec.reason = PT_MR_COMPACTION;
    rec.mode = PT_MIGRATE_ASYNC;
    rec.by_pid = 55;
    rec.traced_pages = 17;
    std::memcpy(rec.by_comm, "kcompactd1", 10);
    const Event e = must_decode(rec);
    EXPECT_EQ(e.type, EventType::MigrateBatch);
    EXPECT_EQ(e.cpu, kCpu);
    EXPECT_EQ(e.ts_ns, kTs);
    EXPECT_EQ(e.pid, kTgid);
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

TEST(DecoderV2, MigrateBatchByCommWithoutTerminatorIsBounded) {
    auto rec = blank<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH);
    std::memset(rec.by_comm, 'z', PT_COMM_LEN);
    EXPECT_EQ(std::get<MigrateBatchData>(must_decode(rec).data).by_comm,
              std::string(PT_COMM_LEN, 'z'));
}

TEST(DecoderV2, UnknownReasonAndModeValuesPassThrough) {
    // The decoder does not judge the stable enums: the names do ("unknown").
    auto mig = blank<pt_migrate_event>(PT_EV_MIGRATE);
    mig.reason = PT_MR_UNKNOWN;
    mig.mode = PT_MIGRATE_UNKNOWN_MODE;
    const Event mig_event = must_decode(mig);
    const auto& md = std::get<MigrateData>(mig_event.data);
    EXPECT_EQ(md.reason, static_cast<uint32_t>(PT_MR_UNKNOWN));
    EXPECT_EQ(md.mode, static_cast<uint32_t>(PT_MIGRATE_UNKNOWN_MODE));

    auto batch = blank<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH);
    batch.reason = 1234;
    batch.mode = 5678;
    const Event batch_event = must_decode(batch);
    const auto& bd = std::get<MigrateBatchData>(batch_event.data);
    EXPECT_EQ(bd.reason, 1234u);
    EXPECT_EQ(bd.mode, 5678u);
}

TEST(DecoderV2, EachNewTypeDecodesToItsOwnEventType) {
    Event e;
    ASSERT_EQ(decode_fenced(raw(blank<pt_mremap_event>(PT_EV_MREMAP)), e), "");
    EXPECT_EQ(e.type, EventType::Mremap);
    ASSERT_EQ(decode_fenced(raw(blank<pt_brk_event>(PT_EV_BRK)), e), "");
    EXPECT_EQ(e.type, EventType::Brk);
    ASSERT_EQ(decode_fenced(raw(blank<pt_mprotect_event>(PT_EV_MPROTECT)), e), "");
    EXPECT_EQ(e.type, EventType::Mprotect);
    ASSERT_EQ(decode_fenced(raw(blank<pt_madvise_event>(PT_EV_MADVISE)), e), "");
    EXPECT_EQ(e.type, EventType::Madvise);
    ASSERT_EQ(decode_fenced(raw(blank<pt_tlb_flush_event>(PT_EV_TLB_FLUSH)), e), "");
    EXPECT_EQ(e.type, EventType::TlbFlush);
    ASSERT_EQ(decode_fenced(raw(blank<pt_migrate_event>(PT_EV_MIGRATE)), e), "");
    EXPECT_EQ(e.type, EventType::Migrate);
    ASSERT_EQ(decode_fenced(raw(blank<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH)), e), "");
    EXPECT_EQ(e.type, EventType::MigrateBatch);
    // The variant alternative matches the type (the formatters rely on it).
    EXPECT_EQ(e.data.index(), static_cast<size_t>(PT_EV_MIGRATE_BATCH - PT_EV_FAULT));
}

TEST(DecoderV2, EventTypeValuesMatchTheAbi) {
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

TEST(DecoderV2, NewEventTypeNames) {
    EXPECT_EQ(event_type_name(EventType::Mremap), "mremap");
    EXPECT_EQ(event_type_name(EventType::Brk), "brk");
    EXPECT_EQ(event_type_name(EventType::Mprotect), "mprotect");
    EXPECT_EQ(event_type_name(EventType::Madvise), "madvise");
    EXPECT_EQ(event_type_name(EventType::TlbFlush), "tlb_flush");
    EXPECT_EQ(event_type_name(EventType::Migrate), "migrate");
    EXPECT_EQ(event_type_name(EventType::MigrateBatch), "migrate_batch");
}

// --- short and garbled records ---------------------------------------------

namespace {

// Every strict prefix of a valid record fails, whether hdr.size still claims
// the whole record (then it is longer than the buffer) or exactly the prefix
// (then it is shorter than the type needs, or than the header).
template <typename Record>
void expect_all_truncations_fail(uint16_t type) {
    const auto whole = raw(blank<Record>(type));
    for (size_t len = 0; len < sizeof(Record); ++len) {
        std::vector<std::byte> part(whole.begin(), whole.begin() + static_cast<ptrdiff_t>(len));
        Event e;
        EXPECT_NE(decode_fenced(part, e), "") << "type " << type << ", " << len << " bytes";
        if (len >= offsetof(pt_event_header, size) + sizeof(uint16_t)) {
            put_size(part, static_cast<uint16_t>(len));
            EXPECT_NE(decode_fenced(part, e), "")
                << "type " << type << ", " << len << " bytes, hdr.size " << len;
        }
    }
}

// The buffer holds the whole record, but hdr.size says less than the type
// needs: refused, with the type's name in the message.
template <typename Record>
void expect_undersized_header_fails(uint16_t type, const std::string& name) {
    auto bytes = raw(blank<Record>(type));
    for (size_t size : {sizeof(pt_event_header), sizeof(Record) - 8, sizeof(Record) - 1}) {
        put_size(bytes, static_cast<uint16_t>(size));
        Event e;
        const std::string err = decode_fenced(bytes, e);
        EXPECT_NE(err.find(name), std::string::npos) << "hdr.size " << size << ": " << err;
        EXPECT_NE(err.find(std::to_string(sizeof(Record))), std::string::npos) << err;
    }
}

}  // namespace

TEST(DecoderV2, EveryTruncationOfANewRecordIsAnError) {
    expect_all_truncations_fail<pt_mremap_event>(PT_EV_MREMAP);
    expect_all_truncations_fail<pt_brk_event>(PT_EV_BRK);
    expect_all_truncations_fail<pt_mprotect_event>(PT_EV_MPROTECT);
    expect_all_truncations_fail<pt_madvise_event>(PT_EV_MADVISE);
    expect_all_truncations_fail<pt_tlb_flush_event>(PT_EV_TLB_FLUSH);
    expect_all_truncations_fail<pt_migrate_event>(PT_EV_MIGRATE);
    expect_all_truncations_fail<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH);
}

TEST(DecoderV2, V1SizedRecordsOfGrownTypesAreErrors) {
    // ABI v1 fault (64 bytes), fork (48) and exit (48) records lack the new
    // fields: they must not decode with garbage or zero in them.
    expect_all_truncations_fail<pt_fault_event>(PT_EV_FAULT);
    expect_all_truncations_fail<pt_fork_event>(PT_EV_FORK);
    expect_all_truncations_fail<pt_exit_event>(PT_EV_EXIT);
    struct V1 {
        uint16_t type;
        uint16_t size;
    };
    for (const V1& v1 : {V1{PT_EV_FAULT, 64}, V1{PT_EV_FORK, 48}, V1{PT_EV_EXIT, 48}}) {
        const uint16_t type = v1.type;
        auto bytes = raw(blank<pt_fault_event>(type));
        put_size(bytes, v1.size);
        bytes.resize(v1.size);
        Event e;
        EXPECT_NE(decode_fenced(bytes, e), "") << "type " << type;
    }
}

TEST(DecoderV2, HeaderSizeSmallerThanTheNewTypeIsAnError) {
    expect_undersized_header_fails<pt_mremap_event>(PT_EV_MREMAP, "mremap");
    expect_undersized_header_fails<pt_brk_event>(PT_EV_BRK, "brk");
    expect_undersized_header_fails<pt_mprotect_event>(PT_EV_MPROTECT, "mprotect");
    expect_undersized_header_fails<pt_madvise_event>(PT_EV_MADVISE, "madvise");
    expect_undersized_header_fails<pt_tlb_flush_event>(PT_EV_TLB_FLUSH, "tlb_flush");
    expect_undersized_header_fails<pt_migrate_event>(PT_EV_MIGRATE, "migrate");
    expect_undersized_header_fails<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH, "migrate_batch");
    expect_undersized_header_fails<pt_fault_event>(PT_EV_FAULT, "fault");
    expect_undersized_header_fails<pt_fork_event>(PT_EV_FORK, "fork");
    expect_undersized_header_fails<pt_exit_event>(PT_EV_EXIT, "exit");
}

TEST(DecoderV2, HeaderSizeLargerThanTheBufferIsAnError) {
    auto bytes = raw(blank<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH));
    put_size(bytes, sizeof(pt_migrate_batch_event) + 1);
    Event e;
    EXPECT_NE(decode_fenced(bytes, e), "");
}

TEST(DecoderV2, TypeAfterTheLastIsUnknown) {
    auto rec = blank<pt_migrate_batch_event>(PT_EV_MIGRATE_BATCH);
    rec.hdr.type = PT_EV_TYPE_MAX + 1;
    Event e;
    const std::string err = decode_fenced(raw(rec), e);
    EXPECT_NE(err.find("unknown event type 15"), std::string::npos) << err;
}

TEST(DecoderV2, LongerDeclaredRecordOfANewTypeDecodes) {
    // A later producer may append fields within hdr.size: the known part decodes.
    auto rec = blank<pt_migrate_event>(PT_EV_MIGRATE);
    rec.new_pfn = 0x42;
    std::memcpy(rec.by_comm, "x", 1);
    auto bytes = raw(rec, 16);
    put_size(bytes, static_cast<uint16_t>(bytes.size()));
    Event e;
    ASSERT_EQ(decode_fenced(bytes, e), "");
    const auto& d = std::get<MigrateData>(e.data);
    EXPECT_EQ(d.new_pfn, 0x42u);
    EXPECT_EQ(d.by_comm, "x");
}
