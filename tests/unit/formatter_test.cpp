// Text and JSON Lines output of events: every event type and field in both
// formats, the JSON string escaping, and the text columns.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "output/formatter.h"
#include "pagetrace/events.h"
#include "support/json_lines.h"
#include "support/json_value.h"
#include "support/raw_records.h"

using namespace pagetrace;
using pagetrace::test::Json;
using pagetrace::test::JsonObject;
using pagetrace::test::parse_json;
using pagetrace::test::parse_json_object;

namespace {

// What is wrong with `text` as one JSON document, or "" (checked by a strict
// reader that is independent of the code under test).
std::string json_error(std::string_view text) {
    std::string why;
    return parse_json(text, &why) ? "" : why;
}

// Decodes `literal`, which must be exactly one JSON string literal.
bool decode_json_string(std::string_view literal, std::string& out, std::string& why) {
    std::optional<Json> value = parse_json(literal, &why);
    if (!value) return false;
    if (value->kind != Json::String) {
        why = "not a string";
        return false;
    }
    out = std::move(value->text);
    return true;
}

std::string json_literal(std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

// Decodes what append_json_string wrote; fails the test if it is not JSON.
std::string json_round_trip(std::string_view text) {
    const std::string literal = json_literal(text);
    std::string decoded;
    std::string why;
    EXPECT_TRUE(decode_json_string(literal, decoded, why)) << why << " in " << literal;
    return decoded;
}

constexpr uint64_t kStart = 1'000'000'000;

// An event of the type its data says, from pid 100, tid 101 "app" on cpu 2,
// half a second after kStart.
Event make_event(EventData data) {
    return pagetrace::test::event_of(
        std::move(data), {.cpu = 2, .ts_ns = 1'500'000'000, .pid = 100, .tid = 101, .comm = "app"});
}

std::string format_one(OutputFormat format, const Event& e, uint64_t start_ns = kStart) {
    std::string out;
    make_formatter(format, start_ns)->append(e, out);
    return out;
}

// The JSON line of `e`, after checking that it is exactly one line holding one
// flat JSON object (support/json_lines.h, a strict reader that knows nothing
// of the formatter).
std::string json_line(const Event& e) {
    const std::string line = format_one(OutputFormat::Json, e);
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n') << line;
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    std::string why;
    EXPECT_TRUE(parse_json_object(line.substr(0, line.size() - 1), &why).has_value())
        << why << " in " << line;
    return line;
}

// The JSON line of `e` as an object (empty if it is not one).
JsonObject json_object(const Event& e) {
    const std::string line = json_line(e);
    std::string why;
    return parse_json_object(line.substr(0, line.size() - 1), &why).value_or(JsonObject{});
}

bool is_number(const JsonObject& obj, const std::string& key) {
    return obj.has(key) && std::holds_alternative<int64_t>(obj.fields().at(key));
}

bool is_string(const JsonObject& obj, const std::string& key) {
    return obj.has(key) && std::holds_alternative<std::string>(obj.fields().at(key));
}

// The common start of every JSON line of make_event().
const std::string kJsonHead =
    R"({"type":"TYPE","ts_ns":1500000000,"pid":100,"tid":101,"comm":"app","cpu":2)";

std::string json_head(std::string_view type) {
    std::string head = kJsonHead;
    head.replace(head.find("TYPE"), 4, type);
    return head;
}

// The whole JSON line of make_event() for an event with these fields.
std::string json_expected(std::string_view type, std::string_view fields) {
    return json_head(type) + std::string(fields) + "}\n";
}

// The text line of `e`, after checking that it is exactly one line.
std::string text_line(const Event& e, uint64_t start_ns = kStart) {
    const std::string line = format_one(OutputFormat::Text, e, start_ns);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    EXPECT_EQ(line.back(), '\n') << line;
    return line;
}

FaultData sample_fault() {
    return FaultData{0x7f0000001000ull, 0x401000ull, 6, Access::Write, FaultMode::User};
}

FaultData fault_with(FaultOutcome outcome, uint64_t latency_ns, Access access = Access::Write) {
    FaultData d;
    d.addr = 0x7f0000002000ull;
    d.ip = 0x401234;
    d.error_code = 6;
    d.access = access;
    d.mode = FaultMode::User;
    d.outcome = outcome;
    d.latency_ns = latency_ns;
    return d;
}

MmapData anonymous_mmap() {
    MmapData d;
    d.addr = 0x7f0000000000ull;
    d.len = 8192;
    d.pgoff = 0;
    d.prot = PROT_READ | PROT_WRITE;
    d.flags = MAP_PRIVATE | MAP_ANONYMOUS;
    d.fd = -1;
    d.err = 0;
    return d;
}

MigrateData migrate_sample() {
    return MigrateData{.addr = 0x7f0000200000ull, .old_pfn = 0x1a2b3, .new_pfn = 0x4c5d6,
                       .order = 0, .reason = PT_MR_COMPACTION, .mode = PT_MIGRATE_ASYNC,
                       .by_pid = 42, .by_comm = "kcompactd0"};
}

MigrateBatchData batch_sample() {
    return MigrateBatchData{.succeeded = 512, .failed = 2, .thp_succeeded = 1, .thp_failed = 0,
                            .reason = PT_MR_NUMA_MISPLACED, .mode = PT_MIGRATE_SYNC,
                            .by_pid = 900, .traced_pages = 7, .by_comm = "numa-worker"};
}

// Data of every event type, in PT_EV_* order.
std::vector<EventData> one_of_each_type() {
    const std::vector<EventData> all = {
        fault_with(FaultOutcome::Major, 5), MmapData{}, MunmapData{}, ForkData{1, 2},
        ExecData{"/x"}, ExitData{0, 3}, LostData{1}, MremapData{}, BrkData{}, MprotectData{},
        MadviseData{}, TlbFlushData{}, migrate_sample(), batch_sample(),
        FaultAroundData{0x7f0000010000, 0x10000, 0x7f0000013000, 42, (8u << 20) | 1},
        SwapOutData{0x7f0000003000, 0x1234, 0, 45, "kswapd0"},
        EvictData{0x7f0000004000, 0x1235, 77, (8u << 20) | 1, 0, 45, "kswapd0"},
        KsmMergeData{0x7f0000005000, 0, 0x2222, 40, "ksmd"},
        CollapseData{0x7f0000200000, 0, 512, 1, 50, "khugepaged"},
        ReclaimStallData{1500, 32, PT_STALL_DIRECT}};
    EXPECT_EQ(all.size(), static_cast<size_t>(PT_EV_TYPE_MAX));
    return all;
}

}  // namespace


// --- JSON Lines: each event type -----------------------------------------------

TEST(JsonFormatter, NoPreamble) {
    EXPECT_EQ(make_formatter(OutputFormat::Json, kStart)->preamble(), "");
}

TEST(JsonFormatter, Fault) {
    EXPECT_EQ(json_line(make_event(sample_fault())),
              json_head("fault") +
                  R"(,"addr":"0x7f0000001000","ip":"0x401000","access":"write","mode":"user"})"
                  "\n");
    FaultData kernel_exec{0x400000, 0xffffffff81000000ull, 0x10, Access::Exec, FaultMode::Kernel};
    EXPECT_EQ(json_line(make_event(kernel_exec)),
              json_head("fault") +
                  R"(,"addr":"0x400000","ip":"0xffffffff81000000","access":"exec","mode":"kernel"})"
                  "\n");
    FaultData read{0, 0, 0, Access::Read, FaultMode::User};
    EXPECT_EQ(json_line(make_event(read)),
              json_head("fault") + R"(,"addr":"0x0","ip":"0x0","access":"read","mode":"user"})"
                                   "\n");
}

TEST(JsonFormatter, MinorFaultHasOutcomeAndLatency) {
    EXPECT_EQ(json_line(make_event(fault_with(FaultOutcome::Minor, 1400))),
              json_expected("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"write",)"
                                     R"("mode":"user","outcome":"minor","latency_ns":1400)"));
}

TEST(JsonFormatter, MajorFaultHasOutcomeAndLatencyWhenMeasured) {
    EXPECT_EQ(json_line(make_event(fault_with(FaultOutcome::Major, 18'446'744'073'709'551'615ull,
                                     Access::Read))),
              json_expected("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"read",)"
                                     R"("mode":"user","outcome":"major",)"
                                     R"("latency_ns":18446744073709551615)"));
    // 0: not measured (one fault in --latency-every is).
    EXPECT_EQ(json_line(make_event(fault_with(FaultOutcome::Major, 0))),
              json_expected("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"write",)"
                                     R"("mode":"user","outcome":"major")"));
}

TEST(JsonFormatter, UnaccountedFaultHasNoLatency) {
    // Even if a latency slipped into the record, an unaccounted fault has none.
    EXPECT_EQ(json_line(make_event(fault_with(FaultOutcome::Unaccounted, 777))),
              json_expected("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"write",)"
                                     R"("mode":"user","outcome":"unaccounted")"));
}

TEST(JsonFormatter, UnknownOutcomeHasNeitherField) {
    EXPECT_EQ(json_line(make_event(fault_with(FaultOutcome::Unknown, 777))),
              json_expected("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"write",)"
                                     R"("mode":"user")"));
}

TEST(JsonFormatter, UnknownAccessIsOmitted) {
    EXPECT_EQ(json_line(make_event(fault_with(FaultOutcome::Minor, 2500, Access::Unknown))),
              json_expected("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","mode":"user",)"
                                     R"("outcome":"minor","latency_ns":2500)"));
    FaultData kernel = fault_with(FaultOutcome::Unknown, 0, Access::Unknown);
    kernel.mode = FaultMode::Kernel;
    const auto obj = json_object(make_event(kernel));
    EXPECT_FALSE(obj.has("access"));
    EXPECT_FALSE(obj.has("outcome"));
    EXPECT_FALSE(obj.has("latency_ns"));
    ASSERT_TRUE(obj.has("mode"));
    EXPECT_EQ(obj.str("mode"), "kernel");
}

TEST(JsonFormatter, LatencyIsANumberAndOutcomeAString) {
    const auto obj = json_object(make_event(fault_with(FaultOutcome::Minor, 123)));
    ASSERT_TRUE(obj.has("latency_ns"));
    EXPECT_TRUE(is_number(obj, "latency_ns"));
    EXPECT_TRUE(is_string(obj, "outcome"));
}

TEST(JsonFormatter, Mmap) {
    EXPECT_EQ(json_line(make_event(anonymous_mmap())),
              json_head("mmap") +
                  R"(,"addr":"0x7f0000000000","len":8192,"prot":"rw-","flags":"private|anonymous","fd":-1,"pgoff":0})"
                  "\n");
    MmapData file{0x7f1000000000ull, 4096, 3, PROT_READ | PROT_EXEC, MAP_SHARED, 7, 0};
    EXPECT_EQ(json_line(make_event(file)),
              json_head("mmap") +
                  R"(,"addr":"0x7f1000000000","len":4096,"prot":"r-x","flags":"shared","fd":7,"pgoff":3})"
                  "\n");
}

TEST(JsonFormatter, FailedMmapHasError) {
    MmapData d = anonymous_mmap();
    d.addr = 0;
    d.len = 1ull << 40;
    d.err = ENOMEM;
    EXPECT_EQ(json_line(make_event(d)),
              json_head("mmap") +
                  R"(,"addr":"0x0","len":1099511627776,"prot":"rw-","flags":"private|anonymous","fd":-1,"pgoff":0,"error":"ENOMEM"})"
                  "\n");
}

TEST(JsonFormatter, Munmap) {
    EXPECT_EQ(json_line(make_event(MunmapData{0x1000, 0x2000, 0})),
              json_head("munmap") + R"(,"addr":"0x1000","len":8192})"
                                    "\n");
    EXPECT_EQ(json_line(make_event(MunmapData{0x1001, 0x2000, EINVAL})),
              json_head("munmap") + R"(,"addr":"0x1001","len":8192,"error":"EINVAL"})"
                                    "\n");
}

TEST(JsonFormatter, Mremap) {
    MremapData d{0x7f0000100000ull, 0x3000, 0x7f0000800000ull, 0x9000, 1 | 2, 0};
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("mremap", R"(,"old_addr":"0x7f0000100000","old_len":12288,)"
                                      R"("new_addr":"0x7f0000800000","new_len":36864,)"
                                      R"("flags":"maymove|fixed")"));
}

TEST(JsonFormatter, FailedMremapHasError) {
    MremapData d{0x1000, 0x1000, 0x1000, 0x100000, 0, ENOMEM};
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("mremap", R"(,"old_addr":"0x1000","old_len":4096,"new_addr":"0x1000",)"
                                      R"("new_len":1048576,"flags":"0","error":"ENOMEM")"));
}

TEST(JsonFormatter, Brk) {
    EXPECT_EQ(json_line(make_event(BrkData{0x555555580000ull, 0x555555580000ull})),
              json_expected("brk", R"(,"addr":"0x555555580000","ret":"0x555555580000")"));
    EXPECT_EQ(json_line(make_event(BrkData{0, 0x555555559000ull})),
              json_expected("brk", R"(,"addr":"0x0","ret":"0x555555559000")"));
}

TEST(JsonFormatter, Mprotect) {
    EXPECT_EQ(json_line(make_event(MprotectData{0x7f1000000000ull, 8192, PROT_READ, 0})),
              json_expected("mprotect", R"(,"addr":"0x7f1000000000","len":8192,"prot":"r--")"));
    EXPECT_EQ(json_line(make_event(MprotectData{0x7f1000000000ull, 4096,
                                            PROT_READ | PROT_WRITE | PROT_EXEC, EACCES})),
              json_expected("mprotect", R"(,"addr":"0x7f1000000000","len":4096,"prot":"rwx",)"
                                        R"("error":"EACCES")"));
}

TEST(JsonFormatter, Madvise) {
    EXPECT_EQ(json_line(make_event(MadviseData{0x7f2000000000ull, 2097152, 4, 0})),
              json_expected("madvise", R"(,"addr":"0x7f2000000000","len":2097152,)"
                                       R"("advice":"dontneed")"));
    EXPECT_EQ(json_line(make_event(MadviseData{0x7f2000000000ull, 4096, 102, EINVAL})),
              json_expected("madvise", R"(,"addr":"0x7f2000000000","len":4096,)"
                                       R"("advice":"guard_install","error":"EINVAL")"));
    // An unknown advice is still a string field, its decimal value.
    EXPECT_EQ(json_line(make_event(MadviseData{0x1000, 4096, 77, EINVAL})),
              json_expected("madvise", R"(,"addr":"0x1000","len":4096,"advice":"77",)"
                                       R"("error":"EINVAL")"));
}

TEST(JsonFormatter, Fork) {
    EXPECT_EQ(json_line(make_event(ForkData{4321, 5000})),
              json_head("fork") + R"(,"child_pid":4321,"child_start_ns":5000})"
                                  "\n");
    EXPECT_EQ(json_line(make_event(ForkData{4321, 18'000'000'001ull})),
              json_expected("fork", R"(,"child_pid":4321,"child_start_ns":18000000001)"));
}

TEST(JsonFormatter, Exec) {
    EXPECT_EQ(json_line(make_event(ExecData{"/usr/bin/true"})),
              json_head("exec") + R"(,"filename":"/usr/bin/true"})"
                                  "\n");
}

TEST(JsonFormatter, ExitWithCode) {
    EXPECT_EQ(json_line(make_event(ExitData{3 << 8})),
              json_head("exit") + R"(,"code":3,"start_ns":0})"
                                  "\n");
    EXPECT_EQ(json_line(make_event(ExitData{0})),
              json_head("exit") + R"(,"code":0,"start_ns":0})"
                                  "\n");
}

TEST(JsonFormatter, ExitBySignal) {
    EXPECT_EQ(json_line(make_event(ExitData{SIGKILL})),
              json_head("exit") + R"(,"code":137,"signal":"SIGKILL","start_ns":0})"
                                  "\n");
    // Core dumped (0x80) does not change the code or the signal.
    EXPECT_EQ(json_line(make_event(ExitData{0x80 | SIGSEGV})),
              json_head("exit") + R"(,"code":139,"signal":"SIGSEGV","start_ns":0})"
                                  "\n");
}

TEST(JsonFormatter, ExitFaultCountersWhenTheRecordHasThem) {
    EXPECT_EQ(json_line(make_event(ExitData{0, 5, 1234, 7})),
              json_expected("exit", R"(,"code":0,"start_ns":5,"min_flt":1234,"maj_flt":7)"));
}
TEST(JsonFormatter, FaultAround) {
    EXPECT_EQ(json_line(make_event(FaultAroundData{0x7f0000010000, 0x10000, 0x7f0000013abc, 42,
                                                   (8u << 20) | 1})),
              json_expected("fault_around", R"(,"addr":"0x7f0000010000","len":65536,"ino":42,)"
                                            R"("dev":"8:1","fault_addr":"0x7f0000013abc")"));
    // A fault-around seen without its fault (get_user_pages): no fault_addr.
    EXPECT_EQ(json_line(make_event(FaultAroundData{0x1000, 0x1000, 0, 7, 0})),
              json_expected("fault_around", R"(,"addr":"0x1000","len":4096,"ino":7,"dev":"0:0")"));
}
TEST(JsonFormatter, SwapOutAndEvict) {
    Event out = make_event(SwapOutData{0x7f0000003000, 0x1234, 0, 45, "kswapd0"});
    out.tid = 0;
    EXPECT_EQ(json_line(out),
              R"({"type":"swap_out","ts_ns":1500000000,"pid":100,"tid":0,"comm":"app","cpu":2,)"
              R"("addr":"0x7f0000003000","pfn":4660,"order":0,"by_pid":45,"by_comm":"kswapd0"})"
              "\n");
    EXPECT_EQ(json_line(make_event(EvictData{0x7f0000004000, 0x1235, 77, (8u << 20) | 1, 2, 45,
                                             "kswapd0"})),
              json_expected("evict", R"(,"addr":"0x7f0000004000","pfn":4661,"ino":77,"dev":"8:1",)"
                                     R"("order":2,"by_pid":45,"by_comm":"kswapd0")"));
}

TEST(JsonFormatter, KsmMergeNamesTheOldFrameOnlyWhenKnown) {
    EXPECT_EQ(json_line(make_event(KsmMergeData{0x7f0000005000, 0x1111, 0x1111, 40, "ksmd"})),
              json_expected("ksm_merge", R"(,"addr":"0x7f0000005000","old_pfn":4369,)"
                                         R"("new_pfn":4369,"by_pid":40,"by_comm":"ksmd")"));
    EXPECT_EQ(json_line(make_event(KsmMergeData{0x7f0000005000, 0, 0x2222, 40, "ksmd"})),
              json_expected("ksm_merge", R"(,"addr":"0x7f0000005000","new_pfn":8738,)"
                                         R"("by_pid":40,"by_comm":"ksmd")"));
}

TEST(JsonFormatter, CollapseAndReclaimStall) {
    EXPECT_EQ(json_line(make_event(CollapseData{0x7f0000200000, 0, 512, 1, 50, "khugepaged"})),
              json_expected("collapse", R"(,"addr":"0x7f0000200000","pages":512,"by_pid":50,)"
                                        R"("by_comm":"khugepaged")"));
    EXPECT_EQ(json_line(make_event(CollapseData{0, 0x40000, 512, 1, 100, "app"})),
              json_expected("collapse", R"(,"new_pfn":262144,"pages":512,"by_pid":100,)"
                                        R"("by_comm":"app")"));
    EXPECT_EQ(json_line(make_event(ReclaimStallData{1500, 32, PT_STALL_MEMCG})),
              json_expected("reclaim_stall", R"(,"kind":"memcg","duration_ns":1500,"reclaimed":32)"));
    EXPECT_EQ(json_line(make_event(ReclaimStallData{2500, 0, PT_STALL_COMPACTION})),
              json_expected("reclaim_stall", R"(,"kind":"compaction","duration_ns":2500)"));
}

TEST(JsonFormatter, ExitStartTime) {
    EXPECT_EQ(json_line(make_event(ExitData{7 << 8, 123'456'789ull})),
              json_expected("exit", R"(,"code":7,"start_ns":123456789)"));
    EXPECT_EQ(json_line(make_event(ExitData{9, 5})),  // SIGKILL
              json_expected("exit", R"(,"code":137,"signal":"SIGKILL","start_ns":5)"));
}

TEST(JsonFormatter, Lost) {
    Event e = make_event(LostData{5});
    e.pid = 0;
    e.tid = 0;
    e.comm.clear();
    e.cpu = 3;
    EXPECT_EQ(json_line(e),
              R"({"type":"lost","ts_ns":1500000000,"pid":0,"tid":0,"comm":"","cpu":3,"count":5})"
              "\n");
}

TEST(JsonFormatter, TlbFlushPagesWithRange) {
    TlbFlushData d{3, 0x7f0000001000ull, 0x7f0000004000ull, PT_TLB_REMOTE_SHOOTDOWN};
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("tlb_flush", R"(,"reason":"remote_shootdown","pages":3,)"
                                         R"("start":"0x7f0000001000","end":"0x7f0000004000")"));
}

TEST(JsonFormatter, TlbFlushAllWithoutRange) {
    TlbFlushData d{PT_TLB_FLUSH_ALL, 0, 0, PT_TLB_TASK_SWITCH};
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("tlb_flush", R"(,"reason":"task_switch","pages":"all")"));
}

TEST(JsonFormatter, TlbFlushAllWithRange) {
    TlbFlushData d{PT_TLB_FLUSH_ALL, 0x1000, 0x200000, PT_TLB_LOCAL_MM_SHOOTDOWN};
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("tlb_flush", R"(,"reason":"local_mm_shootdown","pages":"all",)"
                                         R"("start":"0x1000","end":"0x200000")"));
}

TEST(JsonFormatter, TlbFlushPagesWithoutRange) {
    TlbFlushData d{1, 0, 0, PT_TLB_UNKNOWN_REASON};
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("tlb_flush", R"(,"reason":"unknown","pages":1)"));
    // One end known is enough to print the range.
    TlbFlushData half{2, 0, 0x2000, PT_TLB_LOCAL_SHOOTDOWN};
    EXPECT_EQ(json_line(make_event(half)),
              json_expected("tlb_flush", R"(,"reason":"local_shootdown","pages":2,)"
                                         R"("start":"0x0","end":"0x2000")"));
}

TEST(JsonFormatter, TlbFlushPagesOneBelowAllIsANumber) {
    TlbFlushData d{PT_TLB_FLUSH_ALL - 1, 0, 0, PT_TLB_REMOTE_SEND_IPI};
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("tlb_flush", R"(,"reason":"remote_send_ipi",)"
                                         R"("pages":18446744073709551614)"));
}

TEST(JsonFormatter, Migrate) {
    Event e = make_event(migrate_sample());
    e.tid = 0;
    EXPECT_EQ(json_line(e),
              R"({"type":"migrate","ts_ns":1500000000,"pid":100,"tid":0,"comm":"app","cpu":2,)"
              R"("addr":"0x7f0000200000","old_pfn":107187,"new_pfn":312790,"order":0,)"
              R"("reason":"compaction","mode":"async","by_pid":42,"by_comm":"kcompactd0"})"
              "\n");
}

TEST(JsonFormatter, MigrateHugePageWithUnknownReasonAndMode) {
    MigrateData d = migrate_sample();
    d.order = 9;
    d.reason = PT_MR_UNKNOWN;
    d.mode = PT_MIGRATE_UNKNOWN_MODE;
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("migrate", R"(,"addr":"0x7f0000200000","old_pfn":107187,)"
                                       R"("new_pfn":312790,"order":9,"reason":"unknown",)"
                                       R"("mode":"unknown","by_pid":42,"by_comm":"kcompactd0")"));
}

TEST(JsonFormatter, MigrateBatch) {
    EXPECT_EQ(json_line(make_event(batch_sample())),
              json_expected("migrate_batch",
                            R"(,"succeeded":512,"failed":2,"thp_succeeded":1,"thp_failed":0,)"
                            R"("reason":"numa_misplaced","mode":"sync","traced_pages":7,)"
                            R"("by_pid":900,"by_comm":"numa-worker")"));
}

TEST(JsonFormatter, ByCommIsEscaped) {
    MigrateData d = migrate_sample();
    d.by_comm = "a\"b\\c\nd";
    EXPECT_EQ(json_line(make_event(d)),
              json_expected("migrate", R"(,"addr":"0x7f0000200000","old_pfn":107187,)"
                                       R"("new_pfn":312790,"order":0,"reason":"compaction",)"
                                       R"("mode":"async","by_pid":42,"by_comm":"a\"b\\c\nd")"));
    MigrateBatchData b = batch_sample();
    b.by_comm = "x\x01y";
    EXPECT_EQ(json_line(make_event(b)),
              json_expected("migrate_batch",
                            R"(,"succeeded":512,"failed":2,"thp_succeeded":1,"thp_failed":0,)"
                            R"("reason":"numa_misplaced","mode":"sync","traced_pages":7,)"
                            R"("by_pid":900,"by_comm":"x\u0001y")"));
}

TEST(JsonFormatter, HostileByCommRoundTripsOrStaysValid) {
    // Valid UTF-8 and control characters come back exactly; bytes that are not
    // UTF-8 still give valid JSON.
    const std::string exact = "\t\"}{\\\n\xc3\xa9\x7f";
    MigrateData d = migrate_sample();
    d.by_comm = exact;
    auto obj = json_object(make_event(d));
    ASSERT_TRUE(obj.has("by_comm"));
    EXPECT_EQ(obj.str("by_comm"), exact);

    MigrateBatchData b = batch_sample();
    b.by_comm = "\xff\xfe\xc3(\xe2\x82";
    obj = json_object(make_event(b));
    ASSERT_TRUE(obj.has("by_comm"));
    EXPECT_EQ(obj.str("by_comm").size(), 2u * 5 + 1);  // five U+00XX and '('
}

// --- JSON Lines: every line -----------------------------------------------------

TEST(JsonFormatter, EveryTypeIsOneValidLineWithItsTypeName) {
    const char* const names[] = {"fault",  "mmap",     "munmap",  "fork",      "exec",
                                 "exit",   "lost",     "mremap",  "brk",       "mprotect",
                                 "madvise", "tlb_flush", "migrate", "migrate_batch", "fault_around",
                                 "swap_out", "evict", "ksm_merge", "collapse", "reclaim_stall"};
    static_assert(std::size(names) == PT_EV_TYPE_MAX);
    const std::vector<EventData> all = one_of_each_type();
    for (size_t i = 0; i < all.size(); ++i) {
        const char* name = names[i];
        const auto obj = json_object(make_event(all[i]));
        EXPECT_FALSE(obj.fields().empty()) << all[i].index();
        ASSERT_TRUE(obj.has("type")) << name;
        EXPECT_EQ(obj.str("type"), name);
        for (const char* key : {"ts_ns", "pid", "tid", "cpu"}) {
            EXPECT_TRUE(is_number(obj, key)) << name << " " << key;
        }
    }
}

TEST(JsonFormatter, TimestampIsAbsolute) {
    // JSON keeps the kernel's clock so lines can be joined with other data.
    Event e = make_event(ForkData{1});
    e.ts_ns = 18'446'744'073'709'551'615ull;
    const std::string line = format_one(OutputFormat::Json, e, 5);
    EXPECT_NE(line.find(R"("ts_ns":18446744073709551615,)"), std::string::npos) << line;
}

TEST(JsonFormatter, AppendsWithoutTouchingEarlierOutput) {
    auto formatter = make_formatter(OutputFormat::Json, kStart);
    std::string out = "previous\n";
    formatter->append(make_event(ForkData{1}), out);
    formatter->append(make_event(ForkData{2}), out);
    ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
    EXPECT_EQ(out.rfind("previous\n", 0), 0u);
    EXPECT_NE(out.find(R"("child_pid":1,)"), std::string::npos);
    EXPECT_NE(out.find(R"("child_pid":2,)"), std::string::npos);
}

TEST(Formatters, LinesDoNotDependOnThePreviousEvent) {
    // The formatters keep the text naming the last event's task (pid, tid,
    // name): every line must still be the one a fresh formatter writes.
    std::vector<Event> events;
    for (const auto& [pid, tid, comm] : std::vector<std::tuple<uint32_t, uint32_t, std::string>>{
             {100, 101, "app"},   {100, 101, "app"},     {100, 102, "app"},  {200, 102, "app"},
             {200, 102, "apq"},   {200, 102, "ap"},      {200, 102, ""},     {0, 0, ""},
             {200, 102, "a\"b"}, {200, 102, "\x01\xff"}, {100, 101, "app"}}) {
        Event e = make_event(ForkData{7});
        e.pid = pid;
        e.tid = tid;
        e.comm = comm;
        events.push_back(e);
    }
    Event lost = make_event(LostData{3});
    lost.pid = 0;
    lost.tid = 0;
    lost.comm.clear();
    events.insert(events.begin(), lost);
    for (const auto format : {OutputFormat::Json, OutputFormat::Text}) {
        auto formatter = make_formatter(format, kStart);
        std::string out;
        std::string expected;
        for (const Event& e : events) {
            formatter->append(e, out);
            expected += format_one(format, e);
        }
        EXPECT_EQ(out, expected);
    }
}

TEST(JsonFormatter, HostileNamesStayOneValidLine) {
    Event e = make_event(ExecData{"/tmp/evil\n{\"type\":\"fork\"}\r\x01\"\\\xff\xc3"});
    e.comm = "a\"b\\c\nd\te\x7f\xfe";
    const std::string line = json_line(e);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    EXPECT_EQ(line.back(), '\n');
}

// --- JSON strings ---------------------------------------------------------------

TEST(JsonString, Escapes) {
    EXPECT_EQ(json_literal(""), R"("")");
    EXPECT_EQ(json_literal("plain text"), R"("plain text")");
    EXPECT_EQ(json_literal("a\"b"), R"("a\"b")");
    EXPECT_EQ(json_literal("a\\b"), R"("a\\b")");
    EXPECT_EQ(json_literal("line\nnext"), R"("line\nnext")");
    EXPECT_EQ(json_literal("tab\there"), R"("tab\there")");
    EXPECT_EQ(json_literal("\r"), R"("\u000d")");
    EXPECT_EQ(json_literal("\x01"), R"("\u0001")");
    EXPECT_EQ(json_literal("\x1f"), R"("\u001f")");
    EXPECT_EQ(json_literal("\x7f"), R"("\u007f")");
    EXPECT_EQ(json_literal(std::string_view("a\0b", 3)), R"("a\u0000b")");
    EXPECT_EQ(json_literal("/"), R"("/")");
}

TEST(JsonString, ValidUtf8PassesThrough) {
    EXPECT_EQ(json_literal("h\xc3\xa9llo"), "\"h\xc3\xa9llo\"");                 // é
    EXPECT_EQ(json_literal("\xe6\x97\xa5\xe6\x9c\xac"), "\"\xe6\x97\xa5\xe6\x9c\xac\"");  // 日本
    EXPECT_EQ(json_literal("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");       // U+1F600
    EXPECT_EQ(json_literal("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");       // U+10FFFF
    EXPECT_EQ(json_literal("\xc2\x80"), "\"\xc2\x80\"");                       // U+0080
    EXPECT_EQ(json_literal("\xef\xbf\xbd"), "\"\xef\xbf\xbd\"");               // U+FFFD
}

TEST(JsonString, InvalidBytesAreEscaped) {
    EXPECT_EQ(json_literal("\xff"), R"("\u00ff")");
    EXPECT_EQ(json_literal("\x80"), R"("\u0080")");          // stray continuation
    EXPECT_EQ(json_literal("a\xc3"), R"("a\u00c3")");        // truncated at the end
    EXPECT_EQ(json_literal("\xc3("), R"("\u00c3(")");        // bad continuation
    EXPECT_EQ(json_literal("\xc0\xaf"), R"("\u00c0\u00af")");  // overlong '/'
    EXPECT_EQ(json_literal("\xe0\x80\xaf"), R"("\u00e0\u0080\u00af")");  // overlong
    EXPECT_EQ(json_literal("\xed\xa0\x80"), R"("\u00ed\u00a0\u0080")");  // surrogate
    EXPECT_EQ(json_literal("\xf4\x90\x80\x80"),
              R"("\u00f4\u0090\u0080\u0080")");  // above U+10FFFF
    EXPECT_EQ(json_literal("\xf0\x9f\x98"), R"("\u00f0\u009f\u0098")");  // truncated 4-byte
    // A valid character right after an invalid byte is kept.
    EXPECT_EQ(json_literal("\xff\xc3\xa9"), "\"\\u00ff\xc3\xa9\"");
}

TEST(JsonString, EverySingleByteIsValidJson) {
    for (int c = 0; c < 256; ++c) {
        const std::string text(1, static_cast<char>(c));
        const std::string literal = json_literal(text);
        EXPECT_EQ(json_error(literal), "") << "byte " << c << ": " << literal;
    }
}

TEST(JsonString, EveryBytePairIsValidJsonAndAsciiAndUtf8RoundTrip) {
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            const std::string text{static_cast<char>(a), static_cast<char>(b)};
            const std::string literal = json_literal(text);
            std::string decoded;
            std::string why;
            ASSERT_TRUE(decode_json_string(literal, decoded, why))
                << why << " for bytes " << a << "," << b << ": " << literal;
            // Text that is already valid UTF-8 must come back unchanged.
            const bool valid_utf8 = (a < 0x80 && b < 0x80) ||
                                    (a >= 0xc2 && a <= 0xdf && (b & 0xc0) == 0x80);
            if (valid_utf8) {
                ASSERT_EQ(decoded, text) << "bytes " << a << "," << b;
            }
        }
    }
}

TEST(JsonString, RoundTripOfMixedText) {
    const std::string text = "p\xc3\xa4th/\xe2\x82\xac \"q\" \\ \t\n\x02 \xf0\x90\x8d\x88 end";
    EXPECT_EQ(json_round_trip(text), text);
}

// Sanity of the checker itself (support/json_lines.h): it must refuse what is
// not one flat JSON object.
TEST(JsonLineChecker, RefusesBrokenRecords) {
    for (std::string_view bad :
         {R"({"a":1)", R"({"a":01})", R"({"a":"x"}x)", R"({"a":1,"a":2})", R"({"a":"\q"})",
          "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", R"({"a":"\ud800"})",
          R"({"a":1.})", R"({"a":-})", R"({"a":0x1})", R"({a:1})", R"({"a":1,})", R"({"a":[1]})"}) {
        std::string why;
        EXPECT_FALSE(parse_json_object(std::string(bad), &why).has_value()) << bad;
    }
    std::string why;
    const auto ok =
        parse_json_object(R"({"s":"a\"\\\u00e9\ud83d\ude00","n":-1500,"t":true})", &why);
    ASSERT_TRUE(ok.has_value()) << why;
    EXPECT_EQ(ok->str("s"), "a\"\\\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(ok->num("n"), -1500);
    // pagetrace writes whole numbers only.
    EXPECT_FALSE(parse_json_object(R"({"n":-1.5e3})", &why).has_value());
}

// --- Text: columns -------------------------------------------------------------

namespace {

std::string right(std::string_view s, size_t width) {
    return std::string(width > s.size() ? width - s.size() : 0, ' ') + std::string(s);
}
std::string left(std::string_view s, size_t width) {
    return std::string(s) + std::string(width > s.size() ? width - s.size() : 0, ' ');
}

// Columns as the text format lays them out: TIME(12, right) COMM(16, left)
// PID(7, right) TID(7, right) EVENT(6, left) DETAILS.
std::string text_prefix(std::string_view time, std::string_view comm, std::string_view pid,
                        std::string_view tid, std::string_view event) {
    return right(time, 12) + " " + left(comm, 16) + " " + right(pid, 7) + " " + right(tid, 7) +
           " " + left(event, 6) + " ";
}

// The whole text line of make_event() for an event with these details.
std::string text_expected(std::string_view event, std::string_view details) {
    return text_prefix("0.500000", "app", "100", "101", event) + std::string(details) + "\n";
}

}  // namespace

TEST(TextFormatter, Preamble) {
    const std::string preamble = make_formatter(OutputFormat::Text, kStart)->preamble();
    EXPECT_EQ(preamble, text_prefix("TIME(s)", "COMM", "PID", "TID", "EVENT") + "DETAILS\n");
}

TEST(TextFormatter, HeaderColumnsLineUpWithEvents) {
    const std::string preamble = make_formatter(OutputFormat::Text, kStart)->preamble();
    Event e = make_event(ForkData{1});
    e.pid = 7777777;
    e.tid = 8888888;
    e.comm = "abcdefghijklmnop";
    const std::string line = text_line(e);
    // Right-aligned columns end where their titles end; left-aligned ones
    // start where their titles start.
    EXPECT_EQ(preamble.find("PID") + 3, line.find("7777777") + 7);
    EXPECT_EQ(preamble.find("TID") + 3, line.find("8888888") + 7);
    EXPECT_EQ(preamble.find("COMM"), line.find("abcdefghijklmnop"));
    EXPECT_EQ(preamble.find("EVENT"), line.find("fork"));
    EXPECT_EQ(preamble.find("DETAILS"), line.find("child=1"));
    EXPECT_EQ(preamble.find("TIME(s)") + 7, line.find("0.500000") + 8);
}

TEST(TextFormatter, TimeIsRelativeToStart) {
    Event e = make_event(ForkData{1});
    EXPECT_EQ(text_line(e).substr(0, 13), "    0.500000 ");
    e.ts_ns = kStart;
    EXPECT_EQ(text_line(e).substr(0, 13), "    0.000000 ");
    e.ts_ns = kStart + 1234;  // 1.234 µs
    EXPECT_EQ(text_line(e).substr(0, 13), "    0.000001 ");
    e.ts_ns = kStart + 61'250'000'000ull;
    EXPECT_EQ(text_line(e).substr(0, 13), "   61.250000 ");
}

TEST(TextFormatter, EventsBeforeStartAreNegative) {
    // Events already in the ring buffer may carry a time before start_ns.
    Event e = make_event(ForkData{1});
    e.ts_ns = kStart - 100'000'000;
    EXPECT_EQ(text_line(e).substr(0, 13), "   -0.100000 ");
}

// --- Text: each event type ------------------------------------------------------

TEST(TextFormatter, Fault) {
    EXPECT_EQ(text_line(make_event(sample_fault())),
              text_expected("fault", "0x7f0000001000 write user ip=0x401000"));
    FaultData kernel{0x1000, 0xffffffff81000000ull, 0, Access::Read, FaultMode::Kernel};
    EXPECT_EQ(text_line(make_event(kernel)),
              text_expected("fault", "0x1000 read kernel ip=0xffffffff81000000"));
    FaultData exec{0x401000, 0x401000, 0x15, Access::Exec, FaultMode::User};
    EXPECT_EQ(text_line(make_event(exec)),
              text_expected("fault", "0x401000 exec user ip=0x401000"));
}

TEST(TextFormatter, FaultOutcomes) {
    EXPECT_EQ(text_line(make_event(fault_with(FaultOutcome::Minor, 1400))),
              text_expected("fault", "0x7f0000002000 write user ip=0x401234 minor 1.4 us"));
    EXPECT_EQ(text_line(make_event(fault_with(FaultOutcome::Major, 4'560'000))),
              text_expected("fault", "0x7f0000002000 write user ip=0x401234 major 4.56 ms"));
    EXPECT_EQ(text_line(make_event(fault_with(FaultOutcome::Minor, 850))),
              text_expected("fault", "0x7f0000002000 write user ip=0x401234 minor 850 ns"));
    EXPECT_EQ(text_line(make_event(fault_with(FaultOutcome::Unaccounted, 99))),
              text_expected("fault", "0x7f0000002000 write user ip=0x401234 unaccounted"));
    EXPECT_EQ(text_line(make_event(fault_with(FaultOutcome::Unknown, 99))),
              text_expected("fault", "0x7f0000002000 write user ip=0x401234"));
    // Latency 0: not measured for this fault (--latency-every N).
    EXPECT_EQ(text_line(make_event(fault_with(FaultOutcome::Major, 0))),
              text_expected("fault", "0x7f0000002000 write user ip=0x401234 major"));
}

TEST(TextFormatter, FaultWithUnknownAccess) {
    FaultData d = fault_with(FaultOutcome::Minor, 12'300, Access::Unknown);
    d.mode = FaultMode::Kernel;
    d.ip = 0xffffffff81000000ull;
    EXPECT_EQ(text_line(make_event(d)),
              text_expected("fault", "0x7f0000002000 kernel ip=0xffffffff81000000 minor 12.3 us"));
}

TEST(TextFormatter, AnonymousMmap) {
    EXPECT_EQ(text_line(make_event(anonymous_mmap())),
              text_expected("mmap", "0x7f0000000000-0x7f0000002000 8 KiB rw- private|anonymous"));
}

TEST(TextFormatter, FileMmapShowsFdAndOffset) {
    MmapData d{0x7f1000000000ull, 3ull << 19, 2, PROT_READ, MAP_PRIVATE, 5, 0};
    EXPECT_EQ(text_line(make_event(d)),
              text_expected("mmap",
                            "0x7f1000000000-0x7f1000180000 1.5 MiB r-- private fd=5 pgoff=2"));
}

TEST(TextFormatter, FailedMmapShowsErrno) {
    MmapData d = anonymous_mmap();
    d.addr = 0;
    d.len = 1ull << 40;
    d.err = ENOMEM;
    EXPECT_EQ(text_line(make_event(d)),
              text_expected("mmap", "hint=0x0 len=1 TiB rw- private|anonymous fd=-1 pgoff=0 "
                                    "-> ENOMEM"));
}

TEST(TextFormatter, Munmap) {
    EXPECT_EQ(text_line(make_event(MunmapData{0x10000, 0x3000, 0})),
              text_expected("munmap", "0x10000-0x13000 12 KiB"));
    EXPECT_EQ(text_line(make_event(MunmapData{0x10001, 0x1000, EINVAL})),
              text_expected("munmap", "0x10001-0x11001 4 KiB -> EINVAL"));
}

TEST(TextFormatter, Mremap) {
    MremapData d{0x7f0000100000ull, 0x3000, 0x7f0000800000ull, 0x9000, 1, 0};
    EXPECT_EQ(text_line(make_event(d)),
              text_expected("mremap", "0x7f0000100000-0x7f0000103000 12 KiB -> "
                                      "0x7f0000800000-0x7f0000809000 36 KiB maymove"));
    MremapData failed{0x1000, 0x1000, 0x1000, 0x100000, 0, ENOMEM};
    EXPECT_EQ(text_line(make_event(failed)),
              text_expected("mremap", "0x1000-0x2000 4 KiB -> 1 MiB 0 -> ENOMEM"));
}

TEST(TextFormatter, Brk) {
    EXPECT_EQ(text_line(make_event(BrkData{0, 0x555555559000ull})),
              text_expected("brk", "query -> 0x555555559000"));
    EXPECT_EQ(text_line(make_event(BrkData{0x55555557a000ull, 0x55555557a000ull})),
              text_expected("brk", "0x55555557a000 -> 0x55555557a000"));
    EXPECT_EQ(text_line(make_event(BrkData{0x7fffffffffffull, 0x555555559000ull})),
              text_expected("brk", "0x7fffffffffff -> 0x555555559000 (refused)"));
}

TEST(TextFormatter, Mprotect) {
    EXPECT_EQ(text_line(make_event(MprotectData{0x7f1000000000ull, 8192, PROT_READ, 0})),
              text_expected("mprotect", "0x7f1000000000-0x7f1000002000 8 KiB r--"));
    EXPECT_EQ(text_line(make_event(MprotectData{0x7f1000000000ull, 4096, PROT_NONE, ENOMEM})),
              text_expected("mprotect", "0x7f1000000000-0x7f1000001000 4 KiB --- -> ENOMEM"));
}

TEST(TextFormatter, Madvise) {
    EXPECT_EQ(text_line(make_event(MadviseData{0x7f2000000000ull, 2097152, 14, 0})),
              text_expected("madvise", "0x7f2000000000-0x7f2000200000 2 MiB hugepage"));
    EXPECT_EQ(text_line(make_event(MadviseData{0x1000, 4096, 77, EINVAL})),
              text_expected("madvise", "0x1000-0x2000 4 KiB 77 -> EINVAL"));
}

TEST(TextFormatter, ForkExecExit) {
    EXPECT_EQ(text_line(make_event(ForkData{4321})), text_expected("fork", "child=4321"));
    EXPECT_EQ(text_line(make_event(ExecData{"/usr/bin/true"})),
              text_expected("exec", "/usr/bin/true"));
    EXPECT_EQ(text_line(make_event(ExitData{3 << 8})), text_expected("exit", "code=3"));
    EXPECT_EQ(text_line(make_event(ExitData{0, 0, 1234, 7})),
              text_expected("exit", "code=0 faults=1234 minor 7 major"));
    EXPECT_EQ(text_line(make_event(FaultAroundData{0x7f0000010000, 0x10000, 0x7f0000013abc, 42,
                                                   (8u << 20) | 1})),
              text_expected("fault_around", "0x7f0000010000-0x7f0000020000 64 KiB ino=42 dev=8:1 "
                                            "fault=0x7f0000013abc"));
    EXPECT_EQ(text_line(make_event(ExitData{SIGKILL})),
              text_expected("exit", "killed by SIGKILL"));
    EXPECT_EQ(text_line(make_event(ExitData{0x80 | SIGSEGV})),
              text_expected("exit", "killed by SIGSEGV (core dumped)"));
}

TEST(TextFormatter, ReclaimKsmAndCollapse) {
    EXPECT_EQ(text_line(make_event(SwapOutData{0x7f0000003000, 0x1234, 0, 45, "kswapd0"})),
              text_expected("swap_out", "0x7f0000003000 pfn 0x1234 by kswapd0/45"));
    EXPECT_EQ(text_line(make_event(EvictData{0x7f0000004000, 0x1235, 77, (8u << 20) | 1, 2, 45,
                                             "kswapd0"})),
              text_expected("evict", "0x7f0000004000 pfn 0x1235 ino=77 dev=8:1 order=2 by kswapd0/45"));
    EXPECT_EQ(text_line(make_event(KsmMergeData{0x7f0000005000, 0, 0x2222, 40, "ksmd"})),
              text_expected("ksm_merge", "0x7f0000005000 pfn ? -> 0x2222 by ksmd/40"));
    EXPECT_EQ(text_line(make_event(KsmMergeData{0x7f0000005000, 0x1111, 0x2222, 40, "ksmd"})),
              text_expected("ksm_merge", "0x7f0000005000 pfn 0x1111 -> 0x2222 by ksmd/40"));
    EXPECT_EQ(text_line(make_event(CollapseData{0x7f0000200000, 0, 512, 1, 50, "khugepaged"})),
              text_expected("collapse", "0x7f0000200000-0x7f0000400000 2 MiB by khugepaged/50"));
    EXPECT_EQ(text_line(make_event(CollapseData{0, 0, 512, 1, 50, "khugepaged"})),
              text_expected("collapse", "range unknown, 512 pages by khugepaged/50"));
    EXPECT_EQ(text_line(make_event(ReclaimStallData{1500, 32, PT_STALL_DIRECT})),
              text_expected("reclaim_stall", "direct 1.5 us, 32 pages reclaimed"));
    EXPECT_EQ(text_line(make_event(ReclaimStallData{2'500'000, 0, PT_STALL_COMPACTION})),
              text_expected("reclaim_stall", "compaction 2.50 ms"));
}

TEST(TextFormatter, Lost) {
    Event e = make_event(LostData{17});
    e.pid = 0;
    e.tid = 0;
    e.comm.clear();
    e.cpu = 3;
    EXPECT_EQ(text_line(e), text_prefix("0.500000", "-", "0", "0", "lost") +
                                "17 events lost on cpu 3 (ring buffer full)\n");
}

TEST(TextFormatter, EmptyCommIsADash) {
    Event e = make_event(ForkData{1});
    e.comm.clear();
    EXPECT_EQ(text_line(e), text_prefix("0.500000", "-", "100", "101", "fork") + "child=1\n");
}

TEST(TextFormatter, TlbFlush) {
    EXPECT_EQ(text_line(make_event(TlbFlushData{PT_TLB_FLUSH_ALL, 0, 0, PT_TLB_TASK_SWITCH})),
              text_expected("tlb_flush", "task_switch all"));
    EXPECT_EQ(text_line(make_event(TlbFlushData{1, 0, 0, PT_TLB_LOCAL_SHOOTDOWN})),
              text_expected("tlb_flush", "local_shootdown 1 page"));
    EXPECT_EQ(text_line(make_event(TlbFlushData{3, 0x7f0000001000ull, 0x7f0000004000ull,
                                            PT_TLB_REMOTE_SHOOTDOWN})),
              text_expected("tlb_flush",
                            "remote_shootdown 3 pages 0x7f0000001000-0x7f0000004000"));
    EXPECT_EQ(text_line(make_event(TlbFlushData{PT_TLB_FLUSH_ALL, 0x1000, 0x9000, 200})),
              text_expected("tlb_flush", "unknown all 0x1000-0x9000"));
}

TEST(TextFormatter, Migrate) {
    Event e = make_event(migrate_sample());
    e.tid = 0;
    EXPECT_EQ(text_line(e), text_prefix("0.500000", "app", "100", "0", "migrate") +
                                "0x7f0000200000 pfn 0x1a2b3 -> 0x4c5d6 compaction async by "
                                "kcompactd0/42\n");
    MigrateData huge = migrate_sample();
    huge.order = 9;
    huge.reason = PT_MR_DEMOTION;
    huge.mode = PT_MIGRATE_SYNC_NO_COPY;
    const std::string line = text_line(make_event(huge));
    EXPECT_EQ(line, text_expected("migrate", "0x7f0000200000 pfn 0x1a2b3 -> 0x4c5d6 order=9 "
                                             "demotion sync_no_copy by kcompactd0/42"));
}

TEST(TextFormatter, MigrateBatch) {
    EXPECT_EQ(text_line(make_event(batch_sample())),
              text_expected("migrate_batch", "numa_misplaced sync: 512 moved, 2 failed "
                                             "(thp 1/0), 7 traced, by numa-worker/900"));
}

TEST(TextFormatter, ByCommControlCharactersDoNotBreakTheLine) {
    MigrateData d = migrate_sample();
    d.by_comm = "evil\n    1.0 svc";
    const std::string line = text_line(make_event(d));
    EXPECT_NE(line.find("by evil\\x0a    1.0 svc/42"), std::string::npos) << line;
    MigrateBatchData b = batch_sample();
    b.by_comm = "r\rt\t";
    const std::string batch_line = text_line(make_event(b));
    EXPECT_EQ(batch_line.find('\r'), std::string::npos) << batch_line;
    EXPECT_NE(batch_line.find("by r\\x0dt\\x09/900"), std::string::npos) << batch_line;
}

// --- Text: every line -----------------------------------------------------------

TEST(TextFormatter, OneLinePerEvent) {
    auto formatter = make_formatter(OutputFormat::Text, kStart);
    std::string out;
    for (const auto& d : one_of_each_type()) formatter->append(make_event(d), out);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), PT_EV_TYPE_MAX) << out;
    EXPECT_EQ(out.back(), '\n');
}

// A traced program chooses its own thread name (prctl PR_SET_NAME) and the
// names of the files it runs: a newline in them must not start a new line,
// or one event shows as two and a program can print fake events.
TEST(TextFormatter, ControlCharactersInNamesDoNotBreakTheLine) {
    const Event exec = make_event(ExecData{"/tmp/a\n    0.600000 app 100 101 fork   child=1"});
    const std::string exec_line = text_line(exec);
    EXPECT_EQ(std::count(exec_line.begin(), exec_line.end(), '\n'), 1) << exec_line;
    Event fork = make_event(ForkData{1});
    fork.comm = "x\ny\rz";
    const std::string line = text_line(fork);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
}
