// Decoding raw event records (the ABI of include/pagetrace/events.h).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "decode/encoder.h"
#include "pagetrace/events.h"

using namespace pagetrace;

namespace {

// Holds bytes so that the last one sits right before an inaccessible page:
// a decoder reading even one byte past the span crashes the test instead of
// passing by luck.
class GuardedBuffer {
public:
    GuardedBuffer() {
        page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
        void* mem = ::mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) throw std::runtime_error("mmap failed");
        base_ = static_cast<std::byte*>(mem);
        if (::mprotect(base_ + page_, page_, PROT_NONE) != 0) {
            throw std::runtime_error("mprotect failed");
        }
    }
    GuardedBuffer(const GuardedBuffer&) = delete;
    GuardedBuffer& operator=(const GuardedBuffer&) = delete;
    ~GuardedBuffer() { ::munmap(base_, 2 * page_); }

    // Copies the first `len` bytes of `data` to end at the guard page.
    std::span<const std::byte> place(const void* data, size_t len) {
        std::byte* start = base_ + page_ - len;
        if (len) std::memcpy(start, data, len);
        return {start, len};
    }

private:
    size_t page_ = 0;
    std::byte* base_ = nullptr;
};

void fill_header(pt_event_header& hdr, uint16_t type, uint16_t size) {
    hdr.type = type;
    hdr.size = size;
    hdr.cpu = 3;
    hdr.ts_ns = 123456789012345ull;
    hdr.tgid = 4242;
    hdr.tid = 4243;
    std::memset(hdr.comm, 0, sizeof(hdr.comm));
    std::memcpy(hdr.comm, "worker", 6);
}

template <typename Record>
Record make_record(uint16_t type) {
    Record rec;
    std::memset(&rec, 0, sizeof(rec));
    fill_header(rec.hdr, type, static_cast<uint16_t>(sizeof(Record)));
    return rec;
}

template <typename Record>
std::vector<std::byte> to_bytes(const Record& rec, size_t extra = 0) {
    std::vector<std::byte> bytes(sizeof(Record) + extra, std::byte{0xa5});
    std::memcpy(bytes.data(), &rec, sizeof(Record));
    return bytes;
}

void set_size(std::vector<std::byte>& bytes, uint16_t size) {
    std::memcpy(bytes.data() + offsetof(pt_event_header, size), &size, sizeof(size));
}

// Decodes through the guarded buffer and returns the error text ("" if none).
std::string decode_guarded(std::span<const std::byte> bytes, Event& out) {
    GuardedBuffer guard;
    auto err = decode_event(guard.place(bytes.data(), bytes.size()), out);
    return err ? err->message : std::string();
}

template <typename Record>
Event decode_ok(const Record& rec) {
    const auto bytes = to_bytes(rec);
    Event event;
    const std::string err = decode_guarded(bytes, event);
    EXPECT_EQ(err, "");
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

TEST(Decoder, Fault) {
    auto rec = make_record<pt_fault_event>(PT_EV_FAULT);
    rec.addr = 0x7f0012345678ull;
    rec.ip = 0xffffffff81234567ull;
    rec.error_code = 0x7;
    rec.access = PT_ACCESS_WRITE;
    rec.mode = PT_MODE_KERNEL;
    const Event e = decode_ok(rec);
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
            auto rec = make_record<pt_fault_event>(PT_EV_FAULT);
            rec.access = access;
            rec.mode = mode;
            const Event e = decode_ok(rec);
            const auto& d = std::get<FaultData>(e.data);
            EXPECT_EQ(static_cast<uint8_t>(d.access), access);
            EXPECT_EQ(static_cast<uint8_t>(d.mode), mode);
        }
    }
}

TEST(Decoder, Mmap) {
    auto rec = make_record<pt_mmap_event>(PT_EV_MMAP);
    rec.addr = 0x7f5500000000ull;
    rec.len = 3 * 4096;
    rec.pgoff = 17;
    rec.prot = PROT_READ | PROT_WRITE;
    rec.flags = MAP_SHARED;
    rec.fd = 9;
    rec.err = 0;
    const Event e = decode_ok(rec);
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
    auto rec = make_record<pt_mmap_event>(PT_EV_MMAP);
    rec.len = 1ull << 40;
    rec.fd = -1;
    rec.err = ENOMEM;
    const Event e = decode_ok(rec);
    const auto& d = std::get<MmapData>(e.data);
    EXPECT_EQ(d.fd, -1);
    EXPECT_EQ(d.err, ENOMEM);
    EXPECT_EQ(d.len, 1ull << 40);
}

TEST(Decoder, Munmap) {
    auto rec = make_record<pt_munmap_event>(PT_EV_MUNMAP);
    rec.addr = 0x1000;
    rec.len = 0x2000;
    rec.err = EINVAL;
    const Event e = decode_ok(rec);
    EXPECT_EQ(e.type, EventType::Munmap);
    expect_common_header(e);
    const auto& d = std::get<MunmapData>(e.data);
    EXPECT_EQ(d.addr, 0x1000u);
    EXPECT_EQ(d.len, 0x2000u);
    EXPECT_EQ(d.err, EINVAL);
}

TEST(Decoder, Fork) {
    auto rec = make_record<pt_fork_event>(PT_EV_FORK);
    rec.child_pid = 99999;
    const Event e = decode_ok(rec);
    EXPECT_EQ(e.type, EventType::Fork);
    expect_common_header(e);
    EXPECT_EQ(std::get<ForkData>(e.data).child_pid, 99999u);
}

TEST(Decoder, Exec) {
    auto rec = make_record<pt_exec_event>(PT_EV_EXEC);
    std::strcpy(rec.filename, "/usr/bin/env");
    const Event e = decode_ok(rec);
    EXPECT_EQ(e.type, EventType::Exec);
    expect_common_header(e);
    EXPECT_EQ(std::get<ExecData>(e.data).filename, "/usr/bin/env");
}

TEST(Decoder, ExecFilenameWithoutTerminatorIsBounded) {
    auto rec = make_record<pt_exec_event>(PT_EV_EXEC);
    std::memset(rec.filename, 'f', sizeof(rec.filename));
    // The record is placed right before the guard page: nothing follows it.
    const Event e = decode_ok(rec);
    EXPECT_EQ(std::get<ExecData>(e.data).filename, std::string(PT_FILENAME_LEN, 'f'));
}

TEST(Decoder, Exit) {
    auto rec = make_record<pt_exit_event>(PT_EV_EXIT);
    rec.exit_code = (3 << 8);
    const Event e = decode_ok(rec);
    EXPECT_EQ(e.type, EventType::Exit);
    expect_common_header(e);
    EXPECT_EQ(std::get<ExitData>(e.data).status, 3u << 8);
}

TEST(Decoder, Lost) {
    auto rec = make_record<pt_lost_event>(PT_EV_LOST);
    rec.hdr.cpu = 0;
    rec.count = 1234567;
    rec.lost_cpu = 5;
    const Event e = decode_ok(rec);
    EXPECT_EQ(e.type, EventType::Lost);
    EXPECT_EQ(std::get<LostData>(e.data).count, 1234567u);
    // The CPU whose events were lost is what a user sees as the event's cpu.
    EXPECT_EQ(e.cpu, 5u);
    EXPECT_EQ(e.ts_ns, 123456789012345ull);
}

TEST(Decoder, CommWithoutTerminatorIsBounded) {
    auto rec = make_record<pt_fork_event>(PT_EV_FORK);
    std::memcpy(rec.hdr.comm, "0123456789abcdef", PT_COMM_LEN);
    // child_pid right after comm must not leak into the name.
    rec.child_pid = 0x41414141;
    const Event e = decode_ok(rec);
    EXPECT_EQ(e.comm, "0123456789abcdef");
    EXPECT_EQ(e.comm.size(), static_cast<size_t>(PT_COMM_LEN));
}

TEST(Decoder, EmptyComm) {
    auto rec = make_record<pt_fork_event>(PT_EV_FORK);
    std::memset(rec.hdr.comm, 0, sizeof(rec.hdr.comm));
    EXPECT_EQ(decode_ok(rec).comm, "");
}

TEST(Decoder, DecodingReplacesThePreviousEvent) {
    Event e;
    auto exec = make_record<pt_exec_event>(PT_EV_EXEC);
    std::strcpy(exec.filename, "/bin/a");
    ASSERT_EQ(decode_guarded(to_bytes(exec), e), "");
    auto fork = make_record<pt_fork_event>(PT_EV_FORK);
    std::memcpy(fork.hdr.comm, "b", 2);
    fork.child_pid = 7;
    ASSERT_EQ(decode_guarded(to_bytes(fork), e), "");
    EXPECT_EQ(e.type, EventType::Fork);
    EXPECT_EQ(e.comm, "b");
    EXPECT_EQ(std::get<ForkData>(e.data).child_pid, 7u);
}

// Every prefix of a valid record is rejected, both when the header still
// claims the full size and when it claims exactly the truncated length.
template <typename Record>
void expect_every_prefix_rejected(uint16_t type) {
    const auto full = to_bytes(make_record<Record>(type));
    for (size_t len = 0; len < sizeof(Record); ++len) {
        std::vector<std::byte> prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
        Event e;
        EXPECT_NE(decode_guarded(prefix, e), "") << "type " << type << ", " << len << " bytes";
        if (len >= offsetof(pt_event_header, size) + sizeof(uint16_t)) {
            set_size(prefix, static_cast<uint16_t>(len));
            EXPECT_NE(decode_guarded(prefix, e), "")
                << "type " << type << ", " << len << " bytes, hdr.size = " << len;
        }
    }
}

TEST(Decoder, EveryShortBufferIsAnError) {
    expect_every_prefix_rejected<pt_fault_event>(PT_EV_FAULT);
    expect_every_prefix_rejected<pt_mmap_event>(PT_EV_MMAP);
    expect_every_prefix_rejected<pt_munmap_event>(PT_EV_MUNMAP);
    expect_every_prefix_rejected<pt_fork_event>(PT_EV_FORK);
    expect_every_prefix_rejected<pt_exec_event>(PT_EV_EXEC);
    expect_every_prefix_rejected<pt_exit_event>(PT_EV_EXIT);
    expect_every_prefix_rejected<pt_lost_event>(PT_EV_LOST);
}

TEST(Decoder, ShortBufferErrorSaysHowShort) {
    const auto full = to_bytes(make_record<pt_fork_event>(PT_EV_FORK));
    Event e;
    const std::string err =
        decode_guarded(std::span(full).first(sizeof(pt_event_header) - 1), e);
    EXPECT_NE(err.find("39"), std::string::npos) << err;
}

TEST(Decoder, DeclaredSizeLargerThanBufferIsAnError) {
    auto bytes = to_bytes(make_record<pt_mmap_event>(PT_EV_MMAP));
    set_size(bytes, sizeof(pt_mmap_event) + 1);
    Event e;
    const std::string err = decode_guarded(bytes, e);
    EXPECT_NE(err, "");
    EXPECT_NE(err.find(std::to_string(sizeof(pt_mmap_event) + 1)), std::string::npos) << err;

    set_size(bytes, 0xffff);
    EXPECT_NE(decode_guarded(bytes, e), "");
}

TEST(Decoder, DeclaredSizeSmallerThanTheTypeIsAnError) {
    // The buffer holds the whole record but the header says less than the
    // type needs: the decoder trusts neither and refuses.
    auto bytes = to_bytes(make_record<pt_fault_event>(PT_EV_FAULT));
    set_size(bytes, sizeof(pt_fault_event) - 1);
    Event e;
    const std::string err = decode_guarded(bytes, e);
    EXPECT_NE(err.find("fault"), std::string::npos) << err;

    auto exec = to_bytes(make_record<pt_exec_event>(PT_EV_EXEC));
    set_size(exec, sizeof(pt_event_header));
    EXPECT_NE(decode_guarded(exec, e), "");
}

TEST(Decoder, DeclaredSizeSmallerThanTheHeaderIsAnError) {
    auto bytes = to_bytes(make_record<pt_fork_event>(PT_EV_FORK));
    for (uint16_t size : {0, 1, 39}) {
        set_size(bytes, size);
        Event e;
        EXPECT_NE(decode_guarded(bytes, e), "") << "hdr.size = " << size;
    }
}

TEST(Decoder, UnknownTypeIsAnErrorNamingIt) {
    for (uint16_t type : {uint16_t{0}, uint16_t{PT_EV_TYPE_MAX + 1}, uint16_t{0xbeef}}) {
        auto rec = make_record<pt_lost_event>(PT_EV_LOST);
        rec.hdr.type = type;
        Event e;
        const std::string err = decode_guarded(to_bytes(rec), e);
        EXPECT_NE(err.find("type"), std::string::npos) << err;
        EXPECT_NE(err.find(std::to_string(type)), std::string::npos) << err;
    }
}

TEST(Decoder, InvalidAccessIsAnError) {
    auto rec = make_record<pt_fault_event>(PT_EV_FAULT);
    rec.access = PT_ACCESS_UNKNOWN + 1;
    Event e;
    const std::string err = decode_guarded(to_bytes(rec), e);
    EXPECT_NE(err.find("access"), std::string::npos) << err;
    rec.access = 0xff;
    EXPECT_NE(decode_guarded(to_bytes(rec), e), "");
}

TEST(Decoder, InvalidModeIsAnError) {
    auto rec = make_record<pt_fault_event>(PT_EV_FAULT);
    rec.mode = 2;
    Event e;
    const std::string err = decode_guarded(to_bytes(rec), e);
    EXPECT_NE(err.find("mode"), std::string::npos) << err;
}

TEST(Decoder, TrailingBytesWithinDeclaredSizeAreIgnored) {
    // A newer producer may append fields: the known part still decodes.
    auto rec = make_record<pt_munmap_event>(PT_EV_MUNMAP);
    rec.addr = 0xabc000;
    rec.len = 0x1000;
    auto bytes = to_bytes(rec, 24);
    set_size(bytes, static_cast<uint16_t>(bytes.size()));
    Event e;
    ASSERT_EQ(decode_guarded(bytes, e), "");
    EXPECT_EQ(e.type, EventType::Munmap);
    EXPECT_EQ(std::get<MunmapData>(e.data).addr, 0xabc000u);
    EXPECT_EQ(std::get<MunmapData>(e.data).len, 0x1000u);
}

TEST(Decoder, BufferLongerThanDeclaredSizeDecodesTheRecord) {
    auto rec = make_record<pt_fork_event>(PT_EV_FORK);
    rec.child_pid = 31;
    const auto bytes = to_bytes(rec, 100);  // hdr.size stays sizeof(pt_fork_event)
    Event e;
    ASSERT_EQ(decode_guarded(bytes, e), "");
    EXPECT_EQ(std::get<ForkData>(e.data).child_pid, 31u);
}

TEST(Decoder, LostRecordRoundTrip) {
    const std::vector<std::byte> bytes = lost_record(987654321ull, 6, 42);
    pt_lost_event rec;
    ASSERT_EQ(bytes.size(), sizeof(rec));
    std::memcpy(&rec, bytes.data(), sizeof(rec));
    EXPECT_EQ(rec.hdr.type, PT_EV_LOST);
    EXPECT_EQ(rec.hdr.size, sizeof(pt_lost_event));
    EXPECT_EQ(rec.lost_cpu, 6u);
    const Event e = decode_ok(rec);
    EXPECT_EQ(e.type, EventType::Lost);
    EXPECT_EQ(e.ts_ns, 987654321ull);
    EXPECT_EQ(e.cpu, 6u);
    EXPECT_EQ(e.pid, 0u);
    EXPECT_EQ(e.tid, 0u);
    EXPECT_EQ(e.comm, "");
    EXPECT_EQ(std::get<LostData>(e.data).count, 42u);
}

TEST(Decoder, EventTypeNames) {
    EXPECT_EQ(event_type_name(EventType::Fault), "fault");
    EXPECT_EQ(event_type_name(EventType::Mmap), "mmap");
    EXPECT_EQ(event_type_name(EventType::Munmap), "munmap");
    EXPECT_EQ(event_type_name(EventType::Fork), "fork");
    EXPECT_EQ(event_type_name(EventType::Exec), "exec");
    EXPECT_EQ(event_type_name(EventType::Exit), "exit");
    EXPECT_EQ(event_type_name(EventType::Lost), "lost");
}
