// Text and JSON Lines output of the ABI v2 events and fields: fault outcome
// and latency, unknown access, fork/exit start times, mremap, brk, mprotect,
// madvise, tlb_flush, migrate, migrate_batch.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "output/formatter.h"
#include "pagetrace/events.h"
#include "support/json_value.h"

using namespace pagetrace;
using pagetrace::test::Json;
using pagetrace::test::parse_json;

namespace {

// Reads one JSON Lines record strictly (RFC 8259, support/json_value.h): a
// single object whose values are scalars, as every pagetrace line is. It
// knows nothing of the formatter: strings are decoded from their escapes,
// numbers are checked against the grammar, duplicate keys and bad UTF-8 are
// refused.
struct FlatJson {
    struct Value {
        enum Kind { String, Number, Literal } kind = String;
        std::string text;  // decoded string, or the token as written
    };
    using Object = std::map<std::string, Value>;

    // The object, or nullopt with *why set.
    static std::optional<Object> parse(std::string_view line, std::string* why) {
        std::optional<Json> json = parse_json(line, why);
        if (!json) return std::nullopt;
        if (json->kind != Json::Object) return refuse(why, "not an object");
        Object obj;
        for (auto& [key, v] : json->fields) {
            Value& out = obj[key];
            switch (v.kind) {
            case Json::String: out = {Value::String, std::move(v.text)}; break;
            case Json::Number: out = {Value::Number, std::move(v.text)}; break;
            case Json::Bool: out = {Value::Literal, v.boolean ? "true" : "false"}; break;
            case Json::Null: out = {Value::Literal, "null"}; break;
            default: return refuse(why, "nested value in a flat record: " + key);
            }
        }
        return obj;
    }

private:
    static std::optional<Object> refuse(std::string* why, const std::string& what) {
        if (why) *why = what;
        return std::nullopt;
    }
};

}  // namespace

// Sanity of the checker itself: it must refuse what is not JSON.
TEST(FlatJsonChecker, RefusesBrokenRecords) {
    for (std::string_view bad :
         {R"({"a":1)", R"({"a":01})", R"({"a":"x"}x)", R"({"a":1,"a":2})", R"({"a":"\q"})",
          "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", R"({"a":"\ud800"})",
          R"({"a":1.})", R"({"a":-})", R"({"a":0x1})", R"({a:1})", R"({"a":1,})", R"({"a":[1]})"}) {
        std::string why;
        EXPECT_FALSE(FlatJson::parse(bad, &why).has_value()) << bad;
    }
    std::string why;
    const auto ok = FlatJson::parse(R"({"s":"a\"\\\u00e9\ud83d\ude00","n":-1.5e3,"t":true})", &why);
    ASSERT_TRUE(ok.has_value()) << why;
    EXPECT_EQ(ok->at("s").text, "a\"\\\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(ok->at("n").text, "-1.5e3");
}

namespace {

constexpr uint64_t kStartNs = 2'000'000'000;

// The variant's alternatives follow the PT_EV_* values, so the data says the type.
Event event_of(EventData data) {
    Event e;
    e.type = static_cast<EventType>(PT_EV_FAULT + data.index());
    e.cpu = 1;
    e.ts_ns = 2'250'000'000;
    e.pid = 500;
    e.tid = 501;
    e.comm = "svc";
    e.data = std::move(data);
    return e;
}

std::string render(OutputFormat format, const Event& e) {
    std::string out;
    make_formatter(format, kStartNs)->append(e, out);
    return out;
}

// The JSON line of `e`, after checking it is exactly one valid record + '\n'.
std::string json_of(const Event& e) {
    const std::string line = render(OutputFormat::Json, e);
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n') << line;
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    std::string why;
    EXPECT_TRUE(FlatJson::parse(std::string_view(line).substr(0, line.size() - 1), &why)
                    .has_value())
        << why << " in " << line;
    return line;
}

FlatJson::Object json_object(const Event& e) {
    const std::string line = json_of(e);
    std::string why;
    auto obj = FlatJson::parse(std::string_view(line).substr(0, line.size() - 1), &why);
    return obj ? *obj : FlatJson::Object{};
}

std::string expected_json(std::string_view type, std::string_view fields) {
    return R"({"type":")" + std::string(type) +
           R"(","ts_ns":2250000000,"pid":500,"tid":501,"comm":"svc","cpu":1)" +
           std::string(fields) + "}\n";
}

// Text columns: TIME(12, right) COMM(16, left) PID(7) TID(7) EVENT(6, left).
std::string expected_text(std::string_view type, std::string_view details) {
    std::string event(type);
    if (event.size() < 6) event.resize(6, ' ');
    return "    0.250000 svc                  500     501 " + event + " " + std::string(details) +
           "\n";
}

std::string text_of(const Event& e) {
    const std::string line = render(OutputFormat::Text, e);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    EXPECT_EQ(line.back(), '\n') << line;
    return line;
}

FaultData fault(FaultOutcome outcome, uint64_t latency_ns, Access access = Access::Write) {
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

MigrateData migrate_sample() {
    MigrateData d;
    d.addr = 0x7f0000200000ull;
    d.old_pfn = 0x1a2b3;
    d.new_pfn = 0x4c5d6;
    d.order = 0;
    d.reason = PT_MR_COMPACTION;
    d.mode = PT_MIGRATE_ASYNC;
    d.by_pid = 42;
    d.by_comm = "kcompactd0";
    return d;
}

MigrateBatchData batch_sample() {
    MigrateBatchData d;
    d.succeeded = 512;
    d.failed = 2;
    d.thp_succeeded = 1;
    d.thp_failed = 0;
    d.reason = PT_MR_NUMA_MISPLACED;
    d.mode = PT_MIGRATE_SYNC;
    d.by_pid = 900;
    d.traced_pages = 7;
    d.by_comm = "numa-worker";
    return d;
}

}  // namespace

// --- JSON: faults ------------------------------------------------------------

TEST(JsonFormatterV2, MinorFaultHasOutcomeAndLatency) {
    EXPECT_EQ(json_of(event_of(fault(FaultOutcome::Minor, 1400))),
              expected_json("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"write",)"
                                     R"("mode":"user","outcome":"minor","latency_ns":1400)"));
}

TEST(JsonFormatterV2, MajorFaultHasOutcomeAndLatency) {
    EXPECT_EQ(json_of(event_of(fault(FaultOutcome::Major, 18'446'744'073'709'551'615ull,
                                     Access::Read))),
              expected_json("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"read",)"
                                     R"("mode":"user","outcome":"major",)"
                                     R"("latency_ns":18446744073709551615)"));
    // A zero latency is still a latency.
    EXPECT_EQ(json_of(event_of(fault(FaultOutcome::Major, 0))),
              expected_json("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"write",)"
                                     R"("mode":"user","outcome":"major","latency_ns":0)"));
}

TEST(JsonFormatterV2, UnaccountedFaultHasNoLatency) {
    // Even if a latency slipped into the record, an unaccounted fault has none.
    EXPECT_EQ(json_of(event_of(fault(FaultOutcome::Unaccounted, 777))),
              expected_json("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"write",)"
                                     R"("mode":"user","outcome":"unaccounted")"));
}

TEST(JsonFormatterV2, UnknownOutcomeHasNeitherField) {
    EXPECT_EQ(json_of(event_of(fault(FaultOutcome::Unknown, 777))),
              expected_json("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","access":"write",)"
                                     R"("mode":"user")"));
}

TEST(JsonFormatterV2, UnknownAccessIsOmitted) {
    EXPECT_EQ(json_of(event_of(fault(FaultOutcome::Minor, 2500, Access::Unknown))),
              expected_json("fault", R"(,"addr":"0x7f0000002000","ip":"0x401234","mode":"user",)"
                                     R"("outcome":"minor","latency_ns":2500)"));
    FaultData kernel = fault(FaultOutcome::Unknown, 0, Access::Unknown);
    kernel.mode = FaultMode::Kernel;
    const auto obj = json_object(event_of(kernel));
    EXPECT_EQ(obj.count("access"), 0u);
    EXPECT_EQ(obj.count("outcome"), 0u);
    EXPECT_EQ(obj.count("latency_ns"), 0u);
    ASSERT_EQ(obj.count("mode"), 1u);
    EXPECT_EQ(obj.at("mode").text, "kernel");
}

TEST(JsonFormatterV2, LatencyIsANumberAndOutcomeAString) {
    const auto obj = json_object(event_of(fault(FaultOutcome::Minor, 123)));
    ASSERT_EQ(obj.count("latency_ns"), 1u);
    EXPECT_EQ(obj.at("latency_ns").kind, FlatJson::Value::Number);
    EXPECT_EQ(obj.at("outcome").kind, FlatJson::Value::String);
}

// --- JSON: fork / exit start times --------------------------------------------

TEST(JsonFormatterV2, ForkChildStartTime) {
    EXPECT_EQ(json_of(event_of(ForkData{4321, 18'000'000'001ull})),
              expected_json("fork", R"(,"child_pid":4321,"child_start_ns":18000000001)"));
}

TEST(JsonFormatterV2, ExitStartTime) {
    EXPECT_EQ(json_of(event_of(ExitData{7 << 8, 123'456'789ull})),
              expected_json("exit", R"(,"code":7,"start_ns":123456789)"));
    EXPECT_EQ(json_of(event_of(ExitData{9, 5})),  // SIGKILL
              expected_json("exit", R"(,"code":137,"signal":"SIGKILL","start_ns":5)"));
}

// --- JSON: the new types -----------------------------------------------------

TEST(JsonFormatterV2, Mremap) {
    MremapData d{0x7f0000100000ull, 0x3000, 0x7f0000800000ull, 0x9000, 1 | 2, 0};
    EXPECT_EQ(json_of(event_of(d)),
              expected_json("mremap", R"(,"old_addr":"0x7f0000100000","old_len":12288,)"
                                      R"("new_addr":"0x7f0000800000","new_len":36864,)"
                                      R"("flags":"maymove|fixed")"));
}

TEST(JsonFormatterV2, FailedMremapHasError) {
    MremapData d{0x1000, 0x1000, 0x1000, 0x100000, 0, ENOMEM};
    EXPECT_EQ(json_of(event_of(d)),
              expected_json("mremap", R"(,"old_addr":"0x1000","old_len":4096,"new_addr":"0x1000",)"
                                      R"("new_len":1048576,"flags":"0","error":"ENOMEM")"));
}

TEST(JsonFormatterV2, Brk) {
    EXPECT_EQ(json_of(event_of(BrkData{0x555555580000ull, 0x555555580000ull})),
              expected_json("brk", R"(,"addr":"0x555555580000","ret":"0x555555580000")"));
    EXPECT_EQ(json_of(event_of(BrkData{0, 0x555555559000ull})),
              expected_json("brk", R"(,"addr":"0x0","ret":"0x555555559000")"));
}

TEST(JsonFormatterV2, Mprotect) {
    EXPECT_EQ(json_of(event_of(MprotectData{0x7f1000000000ull, 8192, PROT_READ, 0})),
              expected_json("mprotect", R"(,"addr":"0x7f1000000000","len":8192,"prot":"r--")"));
    EXPECT_EQ(json_of(event_of(MprotectData{0x7f1000000000ull, 4096,
                                            PROT_READ | PROT_WRITE | PROT_EXEC, EACCES})),
              expected_json("mprotect", R"(,"addr":"0x7f1000000000","len":4096,"prot":"rwx",)"
                                        R"("error":"EACCES")"));
}

TEST(JsonFormatterV2, Madvise) {
    EXPECT_EQ(json_of(event_of(MadviseData{0x7f2000000000ull, 2097152, 4, 0})),
              expected_json("madvise", R"(,"addr":"0x7f2000000000","len":2097152,)"
                                       R"("advice":"dontneed")"));
    EXPECT_EQ(json_of(event_of(MadviseData{0x7f2000000000ull, 4096, 102, EINVAL})),
              expected_json("madvise", R"(,"addr":"0x7f2000000000","len":4096,)"
                                       R"("advice":"guard_install","error":"EINVAL")"));
    // An unknown advice is still a string field, its decimal value.
    EXPECT_EQ(json_of(event_of(MadviseData{0x1000, 4096, 77, EINVAL})),
              expected_json("madvise", R"(,"addr":"0x1000","len":4096,"advice":"77",)"
                                       R"("error":"EINVAL")"));
}

TEST(JsonFormatterV2, TlbFlushPagesWithRange) {
    TlbFlushData d{3, 0x7f0000001000ull, 0x7f0000004000ull, PT_TLB_REMOTE_SHOOTDOWN};
    EXPECT_EQ(json_of(event_of(d)),
              expected_json("tlb_flush", R"(,"reason":"remote_shootdown","pages":3,)"
                                         R"("start":"0x7f0000001000","end":"0x7f0000004000")"));
}

TEST(JsonFormatterV2, TlbFlushAllWithoutRange) {
    TlbFlushData d{PT_TLB_FLUSH_ALL, 0, 0, PT_TLB_TASK_SWITCH};
    EXPECT_EQ(json_of(event_of(d)),
              expected_json("tlb_flush", R"(,"reason":"task_switch","pages":"all")"));
}

TEST(JsonFormatterV2, TlbFlushAllWithRange) {
    TlbFlushData d{PT_TLB_FLUSH_ALL, 0x1000, 0x200000, PT_TLB_LOCAL_MM_SHOOTDOWN};
    EXPECT_EQ(json_of(event_of(d)),
              expected_json("tlb_flush", R"(,"reason":"local_mm_shootdown","pages":"all",)"
                                         R"("start":"0x1000","end":"0x200000")"));
}

TEST(JsonFormatterV2, TlbFlushPagesWithoutRange) {
    TlbFlushData d{1, 0, 0, PT_TLB_UNKNOWN_REASON};
    EXPECT_EQ(json_of(event_of(d)), expected_json("tlb_flush", R"(,"reason":"unknown","pages":1)"));
    // One end known is enough to print the range.
    TlbFlushData half{2, 0, 0x2000, PT_TLB_LOCAL_SHOOTDOWN};
    EXPECT_EQ(json_of(event_of(half)),
              expected_json("tlb_flush", R"(,"reason":"local_shootdown","pages":2,)"
                                         R"("start":"0x0","end":"0x2000")"));
}

TEST(JsonFormatterV2, TlbFlushPagesOneBelowAllIsANumber) {
    TlbFlushData d{PT_TLB_FLUSH_ALL - 1, 0, 0, PT_TLB_REMOTE_SEND_IPI};
    EXPECT_EQ(json_of(event_of(d)),
              expected_json("tlb_flush", R"(,"reason":"remote_send_ipi",)"
                                         R"("pages":18446744073709551614)"));
}

TEST(JsonFormatterV2, Migrate) {
    Event e = event_of(migrate_sample());
    e.tid = 0;
    EXPECT_EQ(json_of(e),
              R"({"type":"migrate","ts_ns":2250000000,"pid":500,"tid":0,"comm":"svc","cpu":1,)"
              R"("addr":"0x7f0000200000","old_pfn":107187,"new_pfn":312790,"order":0,)"
              R"("reason":"compaction","mode":"async","by_pid":42,"by_comm":"kcompactd0"})"
              "\n");
}

TEST(JsonFormatterV2, MigrateHugePageWithUnknownReasonAndMode) {
    MigrateData d = migrate_sample();
    d.order = 9;
    d.reason = PT_MR_UNKNOWN;
    d.mode = PT_MIGRATE_UNKNOWN_MODE;
    EXPECT_EQ(json_of(event_of(d)),
              expected_json("migrate", R"(,"addr":"0x7f0000200000","old_pfn":107187,)"
                                       R"("new_pfn":312790,"order":9,"reason":"unknown",)"
                                       R"("mode":"unknown","by_pid":42,"by_comm":"kcompactd0")"));
}

TEST(JsonFormatterV2, MigrateBatch) {
    EXPECT_EQ(json_of(event_of(batch_sample())),
              expected_json("migrate_batch",
                            R"(,"succeeded":512,"failed":2,"thp_succeeded":1,"thp_failed":0,)"
                            R"("reason":"numa_misplaced","mode":"sync","traced_pages":7,)"
                            R"("by_pid":900,"by_comm":"numa-worker")"));
}

TEST(JsonFormatterV2, ByCommIsEscaped) {
    MigrateData d = migrate_sample();
    d.by_comm = "a\"b\\c\nd";
    EXPECT_EQ(json_of(event_of(d)),
              expected_json("migrate", R"(,"addr":"0x7f0000200000","old_pfn":107187,)"
                                       R"("new_pfn":312790,"order":0,"reason":"compaction",)"
                                       R"("mode":"async","by_pid":42,"by_comm":"a\"b\\c\nd")"));
    MigrateBatchData b = batch_sample();
    b.by_comm = "x\x01y";
    EXPECT_EQ(json_of(event_of(b)),
              expected_json("migrate_batch",
                            R"(,"succeeded":512,"failed":2,"thp_succeeded":1,"thp_failed":0,)"
                            R"("reason":"numa_misplaced","mode":"sync","traced_pages":7,)"
                            R"("by_pid":900,"by_comm":"x\u0001y")"));
}

TEST(JsonFormatterV2, HostileByCommRoundTripsOrStaysValid) {
    // Valid UTF-8 and control characters come back exactly; bytes that are not
    // UTF-8 still give valid JSON.
    const std::string exact = "\t\"}{\\\n\xc3\xa9\x7f";
    MigrateData d = migrate_sample();
    d.by_comm = exact;
    auto obj = json_object(event_of(d));
    ASSERT_EQ(obj.count("by_comm"), 1u);
    EXPECT_EQ(obj.at("by_comm").text, exact);

    MigrateBatchData b = batch_sample();
    b.by_comm = "\xff\xfe\xc3(\xe2\x82";
    obj = json_object(event_of(b));
    ASSERT_EQ(obj.count("by_comm"), 1u);
    EXPECT_EQ(obj.at("by_comm").text.size(), 2u * 5 + 1);  // five U+00XX and '('
}

TEST(JsonFormatterV2, EveryNewTypeIsValidJsonWithItsTypeName) {
    const std::pair<EventData, const char*> all[] = {
        {fault(FaultOutcome::Minor, 1), "fault"},
        {MremapData{1, 2, 3, 4, 5, 6}, "mremap"},
        {BrkData{1, 2}, "brk"},
        {MprotectData{1, 2, 3, 4}, "mprotect"},
        {MadviseData{1, 2, 3, 4}, "madvise"},
        {TlbFlushData{1, 2, 3, 4}, "tlb_flush"},
        {migrate_sample(), "migrate"},
        {batch_sample(), "migrate_batch"},
    };
    for (const auto& [data, name] : all) {
        const auto obj = json_object(event_of(data));
        ASSERT_EQ(obj.count("type"), 1u) << name;
        EXPECT_EQ(obj.at("type").text, name);
        for (const char* key : {"ts_ns", "pid", "tid", "cpu"}) {
            ASSERT_EQ(obj.count(key), 1u) << name << " " << key;
            EXPECT_EQ(obj.at(key).kind, FlatJson::Value::Number) << name << " " << key;
        }
    }
}

// --- Text --------------------------------------------------------------------

TEST(TextFormatterV2, FaultOutcomes) {
    EXPECT_EQ(text_of(event_of(fault(FaultOutcome::Minor, 1400))),
              expected_text("fault", "0x7f0000002000 write user ip=0x401234 minor 1.4 us"));
    EXPECT_EQ(text_of(event_of(fault(FaultOutcome::Major, 4'560'000))),
              expected_text("fault", "0x7f0000002000 write user ip=0x401234 major 4.56 ms"));
    EXPECT_EQ(text_of(event_of(fault(FaultOutcome::Minor, 850))),
              expected_text("fault", "0x7f0000002000 write user ip=0x401234 minor 850 ns"));
    EXPECT_EQ(text_of(event_of(fault(FaultOutcome::Unaccounted, 99))),
              expected_text("fault", "0x7f0000002000 write user ip=0x401234 unaccounted"));
    EXPECT_EQ(text_of(event_of(fault(FaultOutcome::Unknown, 99))),
              expected_text("fault", "0x7f0000002000 write user ip=0x401234"));
}

TEST(TextFormatterV2, FaultWithUnknownAccess) {
    FaultData d = fault(FaultOutcome::Minor, 12'300, Access::Unknown);
    d.mode = FaultMode::Kernel;
    d.ip = 0xffffffff81000000ull;
    EXPECT_EQ(text_of(event_of(d)),
              expected_text("fault", "0x7f0000002000 kernel ip=0xffffffff81000000 minor 12.3 us"));
}

TEST(TextFormatterV2, Mremap) {
    MremapData d{0x7f0000100000ull, 0x3000, 0x7f0000800000ull, 0x9000, 1, 0};
    EXPECT_EQ(text_of(event_of(d)),
              expected_text("mremap", "0x7f0000100000-0x7f0000103000 12 KiB -> "
                                      "0x7f0000800000-0x7f0000809000 36 KiB maymove"));
    MremapData failed{0x1000, 0x1000, 0x1000, 0x100000, 0, ENOMEM};
    EXPECT_EQ(text_of(event_of(failed)),
              expected_text("mremap", "0x1000-0x2000 4 KiB -> 1 MiB 0 -> ENOMEM"));
}

TEST(TextFormatterV2, Brk) {
    EXPECT_EQ(text_of(event_of(BrkData{0, 0x555555559000ull})),
              expected_text("brk", "query -> 0x555555559000"));
    EXPECT_EQ(text_of(event_of(BrkData{0x55555557a000ull, 0x55555557a000ull})),
              expected_text("brk", "0x55555557a000 -> 0x55555557a000"));
    EXPECT_EQ(text_of(event_of(BrkData{0x7fffffffffffull, 0x555555559000ull})),
              expected_text("brk", "0x7fffffffffff -> 0x555555559000 (refused)"));
}

TEST(TextFormatterV2, Mprotect) {
    EXPECT_EQ(text_of(event_of(MprotectData{0x7f1000000000ull, 8192, PROT_READ, 0})),
              expected_text("mprotect", "0x7f1000000000-0x7f1000002000 8 KiB r--"));
    EXPECT_EQ(text_of(event_of(MprotectData{0x7f1000000000ull, 4096, PROT_NONE, ENOMEM})),
              expected_text("mprotect", "0x7f1000000000-0x7f1000001000 4 KiB --- -> ENOMEM"));
}

TEST(TextFormatterV2, Madvise) {
    EXPECT_EQ(text_of(event_of(MadviseData{0x7f2000000000ull, 2097152, 14, 0})),
              expected_text("madvise", "0x7f2000000000-0x7f2000200000 2 MiB hugepage"));
    EXPECT_EQ(text_of(event_of(MadviseData{0x1000, 4096, 77, EINVAL})),
              expected_text("madvise", "0x1000-0x2000 4 KiB 77 -> EINVAL"));
}

TEST(TextFormatterV2, TlbFlush) {
    EXPECT_EQ(text_of(event_of(TlbFlushData{PT_TLB_FLUSH_ALL, 0, 0, PT_TLB_TASK_SWITCH})),
              expected_text("tlb_flush", "task_switch all"));
    EXPECT_EQ(text_of(event_of(TlbFlushData{1, 0, 0, PT_TLB_LOCAL_SHOOTDOWN})),
              expected_text("tlb_flush", "local_shootdown 1 page"));
    EXPECT_EQ(text_of(event_of(TlbFlushData{3, 0x7f0000001000ull, 0x7f0000004000ull,
                                            PT_TLB_REMOTE_SHOOTDOWN})),
              expected_text("tlb_flush",
                            "remote_shootdown 3 pages 0x7f0000001000-0x7f0000004000"));
    EXPECT_EQ(text_of(event_of(TlbFlushData{PT_TLB_FLUSH_ALL, 0x1000, 0x9000, 200})),
              expected_text("tlb_flush", "unknown all 0x1000-0x9000"));
}

TEST(TextFormatterV2, Migrate) {
    Event e = event_of(migrate_sample());
    e.tid = 0;
    EXPECT_EQ(text_of(e), "    0.250000 svc                  500       0 migrate 0x7f0000200000 "
                          "pfn 0x1a2b3 -> 0x4c5d6 compaction async by kcompactd0/42\n");
    MigrateData huge = migrate_sample();
    huge.order = 9;
    huge.reason = PT_MR_DEMOTION;
    huge.mode = PT_MIGRATE_SYNC_NO_COPY;
    const std::string line = text_of(event_of(huge));
    EXPECT_EQ(line, expected_text("migrate", "0x7f0000200000 pfn 0x1a2b3 -> 0x4c5d6 order=9 "
                                             "demotion sync_no_copy by kcompactd0/42"));
}

TEST(TextFormatterV2, MigrateBatch) {
    EXPECT_EQ(text_of(event_of(batch_sample())),
              expected_text("migrate_batch", "numa_misplaced sync: 512 moved, 2 failed "
                                             "(thp 1/0), 7 traced, by numa-worker/900"));
}

TEST(TextFormatterV2, ByCommControlCharactersDoNotBreakTheLine) {
    MigrateData d = migrate_sample();
    d.by_comm = "evil\n    1.0 svc";
    const std::string line = text_of(event_of(d));
    EXPECT_NE(line.find("by evil\\x0a    1.0 svc/42"), std::string::npos) << line;
    MigrateBatchData b = batch_sample();
    b.by_comm = "r\rt\t";
    const std::string batch_line = text_of(event_of(b));
    EXPECT_EQ(batch_line.find('\r'), std::string::npos) << batch_line;
    EXPECT_NE(batch_line.find("by r\\x0dt\\x09/900"), std::string::npos) << batch_line;
}

TEST(TextFormatterV2, OneLinePerEventForEveryType) {
    auto formatter = make_formatter(OutputFormat::Text, kStartNs);
    std::string out;
    const EventData all[] = {
        fault(FaultOutcome::Major, 5), MmapData{}, MunmapData{}, ForkData{1, 2}, ExecData{"/x"},
        ExitData{0, 3}, LostData{1}, MremapData{}, BrkData{}, MprotectData{}, MadviseData{},
        TlbFlushData{}, migrate_sample(), batch_sample()};
    for (const auto& d : all) formatter->append(event_of(d), out);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), PT_EV_TYPE_MAX) << out;
    EXPECT_EQ(out.back(), '\n');
}

TEST(JsonFormatterV2, OneValidLinePerEventForEveryType) {
    const EventData all[] = {
        fault(FaultOutcome::Major, 5), MmapData{}, MunmapData{}, ForkData{1, 2}, ExecData{"/x"},
        ExitData{0, 3}, LostData{1}, MremapData{}, BrkData{}, MprotectData{}, MadviseData{},
        TlbFlushData{}, migrate_sample(), batch_sample()};
    static_assert(std::size(all) == PT_EV_TYPE_MAX);
    for (const auto& d : all) {
        const auto obj = json_object(event_of(d));
        EXPECT_FALSE(obj.empty()) << d.index();
    }
}
