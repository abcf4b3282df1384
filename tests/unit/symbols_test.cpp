// Symbolization without root: build-id notes of the system's own ELF files
// (readelf is the oracle), demangling, the kallsyms and perf-map tables, the
// images and symbols payloads, and the stream symbolizer's lookups and caches
// on this very test binary (built with debug info) and its libraries.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "decode/event.h"
#include "record/format.h"
#include "symbols/address_table.h"
#include "symbols/binary_locator.h"
#include "symbols/build_id.h"
#include "symbols/demangle.h"
#include "symbols/image_reader.h"
#include "symbols/stream_symbolizer.h"
#include "symbols/symbol_capture.h"
#include "util/clock.h"

using namespace pagetrace;
using namespace pagetrace::recording;

namespace {

// What `readelf -n FILE` says the build-id is ("" if it shows none).
std::string readelf_build_id(const std::string& path) {
    std::unique_ptr<FILE, decltype(&pclose)> p(
        popen(("readelf -n '" + path + "' 2>/dev/null").c_str(), "r"), &pclose);
    if (!p) return {};
    std::array<char, 512> line{};
    while (fgets(line.data(), line.size(), p.get())) {
        std::string text(line.data());
        const auto at = text.find("Build ID: ");
        if (at == std::string::npos) continue;
        std::string hex = text.substr(at + 10);
        while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.pop_back();
        return hex;
    }
    return {};
}

// The executable file mappings of this process.
ProcessImages own_images() { return read_process_images(getpid(), ImagesReason::Attach, 0); }

__attribute__((noinline)) int symbolized_marker_function(int x) { return x * 3 + 1; }

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

// --- build-ids --------------------------------------------------------------

TEST(BuildId, MatchesReadelfOnTheSystemsElfFiles) {
    // The test binary, its libraries and a few system programs.
    std::set<std::string> files = {"/proc/self/exe", "/bin/sh", "/usr/bin/env"};
    for (const auto& m : own_images().mappings) files.insert(m.path);
    size_t checked = 0;
    for (const auto& path : files) {
        std::string real = path;
        if (path == "/proc/self/exe") {
            char buf[4096];
            const ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
            ASSERT_GT(n, 0);
            real.assign(buf, static_cast<size_t>(n));
        }
        const std::string expected = readelf_build_id(real);
        if (expected.empty()) continue;  // no readelf, or no note
        const BuildIdResult r = read_build_id(real);
        EXPECT_EQ(r.problem, "") << real;
        EXPECT_EQ(build_id_hex(r.build_id), expected) << real;
        ++checked;
    }
    EXPECT_GE(checked, 3u) << "readelf found too few build-ids to compare with";
}

TEST(BuildId, SectionHeadersAreUsedWhenNoSegmentHoldsTheNote) {
    // The same file with its PT_NOTE program headers renamed away: the
    // parser must find the note through SHT_NOTE sections.
    std::string elf = file_bytes("/proc/self/exe");
    ASSERT_GT(elf.size(), 64u);
    const BuildIdResult before = parse_build_id(std::as_bytes(std::span(elf)));
    ASSERT_FALSE(before.build_id.empty());
    uint64_t phoff = 0;
    uint16_t phentsize = 0, phnum = 0;
    std::memcpy(&phoff, elf.data() + 32, 8);
    std::memcpy(&phentsize, elf.data() + 54, 2);
    std::memcpy(&phnum, elf.data() + 56, 2);
    for (uint16_t i = 0; i < phnum; ++i) {
        uint32_t type = 0;
        std::memcpy(&type, elf.data() + phoff + i * phentsize, 4);
        if (type == 4 /* PT_NOTE */) {
            type = 0x6fffffff;
            std::memcpy(elf.data() + phoff + i * phentsize, &type, 4);
        }
    }
    EXPECT_EQ(parse_build_id(std::as_bytes(std::span(elf))).build_id, before.build_id);
}

TEST(BuildId, RefusesWhatIsNotElfAndSurvivesEveryPrefix) {
    EXPECT_EQ(parse_build_id(std::as_bytes(std::span("not an elf file", 15))).problem,
              "not an ELF file");
    EXPECT_NE(read_build_id("/nonexistent/file").problem.find("/nonexistent/file"),
              std::string::npos);
    const std::string elf = file_bytes("/proc/self/exe");
    const auto bytes = std::as_bytes(std::span(elf));
    const std::string full = parse_build_id(bytes).build_id;
    // Cut anywhere in the first pages: never a crash, never a wrong id.
    for (size_t len = 0; len < std::min<size_t>(elf.size(), 8192); len += 7) {
        const BuildIdResult r = parse_build_id(bytes.first(len));
        EXPECT_TRUE(r.build_id.empty() || r.build_id == full) << len;
    }
}

// --- demangling -------------------------------------------------------------

TEST(Demangle, CxxNamesBecomeReadableOthersStay) {
    EXPECT_EQ(demangle("_ZN3foo3barEv"), "foo::bar()");
    EXPECT_EQ(demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"),
              "std::vector<int, std::allocator<int> >::push_back(int const&)");
    EXPECT_EQ(demangle("main"), "main");
    EXPECT_EQ(demangle("_Znot-a-mangled-name"), "_Znot-a-mangled-name");
    EXPECT_EQ(demangle(""), "");
}

// --- tables ---------------------------------------------------------------

TEST(AddressTable, KallsymsTextSymbolsWithSizesToTheNextOne) {
    const AddressTable t = AddressTable::from_kallsyms(
        "ffffffff81000000 T _stext\n"
        "ffffffff81000100 t helper\n"
        "ffffffff81000100 T helper_alias\n"
        "ffffffff81000200 D some_data\n"
        "ffffffff81000300 T ext4_thing\t[ext4]\n"
        "ffffffff81000400 T last\n");
    auto hit = t.lookup(0xffffffff81000123);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->offset, 0x23u);
    EXPECT_TRUE(hit->name == "helper" || hit->name == "helper_alias");
    const auto f = t.function_at(0xffffffff81000150);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->start, 0xffffffff81000100u);
    EXPECT_EQ(f->size, 0x200u);  // data symbols are not functions: to ext4_thing
    EXPECT_EQ(t.lookup(0xffffffff81000301)->name, "ext4_thing [ext4]");
    EXPECT_FALSE(t.lookup(0xffffffff80000000));
    EXPECT_FALSE(t.lookup(0xffffffff81000500));  // past the last symbol: unknown
    // kptr_restrict: every address zero.
    EXPECT_TRUE(AddressTable::from_kallsyms("0000000000000000 T _stext\n"
                                            "0000000000000000 T foo\n")
                    .empty());
}

TEST(AddressTable, PerfMapLines) {
    const AddressTable t = AddressTable::from_perf_map(
        "7f0000001000 40 LazyCompile:*fib /app/x.js:3\n"
        "0x7f0000002000 0x10 jit_stub\n"
        "garbage line\n"
        "7f0000003000 0 zero_size\n");
    ASSERT_EQ(t.size(), 2u);
    auto hit = t.lookup(0x7f000000103f);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->name, "LazyCompile:*fib /app/x.js:3");
    EXPECT_FALSE(t.lookup(0x7f0000001040));
    EXPECT_EQ(t.lookup(0x7f0000002008)->name, "jit_stub");
}

// --- payloads ---------------------------------------------------------------

TEST(ImagesPayload, RoundTripsAndRefusesCutFields) {
    ProcessImages s;
    s.pid = 77;
    s.reason = ImagesReason::Mmap;
    s.ts_ns = 123;
    s.mappings.push_back({0x400000, 0x401000, 0x1000, "/usr/bin/app", std::string("\x01\x02\xff", 3)});
    s.mappings.push_back({0x7f0000000000, 0x7f0000100000, 0, "/lib/libc.so.6", ""});
    s.problems = "/x: Permission denied\n";
    const Bytes encoded = encode_images(s);
    ProcessImages back;
    ASSERT_EQ(decode_images(encoded, back), std::nullopt);
    EXPECT_EQ(back.pid, 77u);
    EXPECT_EQ(back.reason, ImagesReason::Mmap);
    ASSERT_EQ(back.mappings.size(), 2u);
    EXPECT_EQ(back.mappings[0].path, "/usr/bin/app");
    EXPECT_EQ(back.mappings[0].build_id, std::string("\x01\x02\xff", 3));
    EXPECT_EQ(back.mappings[0].file_offset, 0x1000u);
    EXPECT_EQ(back.mappings[1].end, 0x7f0000100000u);
    EXPECT_EQ(back.problems, s.problems);
    for (size_t len = 0; len < 16; ++len) {
        EXPECT_TRUE(decode_images(std::span<const std::byte>(encoded).first(len), back));
    }
    EXPECT_TRUE(decode_images(std::span<const std::byte>(encoded).first(encoded.size() - 1), back));
}

TEST(SymbolsPayload, RoundTripsAndMerges) {
    CapturedSymbols s;
    s.kernel.push_back({0xffffffff81000000, 0x40, "rep_movs_alternative"});
    s.jit.push_back({42, 999, "7f0000001000 40 fib\n"});
    CapturedSymbols problem;
    problem.kernel_problem = "no addresses";
    CapturedSymbols merged;
    ASSERT_EQ(decode_symbols(encode_symbols(s), merged), std::nullopt);
    ASSERT_EQ(decode_symbols(encode_symbols(problem), merged), std::nullopt);
    ASSERT_EQ(merged.kernel.size(), 1u);
    EXPECT_EQ(merged.kernel[0].name, "rep_movs_alternative");
    EXPECT_EQ(merged.kernel[0].size, 0x40u);
    EXPECT_EQ(merged.kernel_problem, "no addresses");
    ASSERT_EQ(merged.jit.size(), 1u);
    EXPECT_EQ(merged.jit[0].pid, 42u);
    EXPECT_EQ(merged.jit[0].text, s.jit[0].text);
    const Bytes encoded = encode_symbols(s);
    CapturedSymbols cut;
    EXPECT_TRUE(decode_symbols(std::span<const std::byte>(encoded).first(encoded.size() - 1), cut));
}

// --- the stream symbolizer ----------------------------------------------------

class SymbolizerTest : public ::testing::Test {
protected:
    // This process's mappings as an images item for `pid`, shifted by `shift`.
    static ProcessImages images_as(uint32_t pid, uint64_t shift = 0) {
        ProcessImages images = own_images();
        images.pid = pid;
        for (auto& m : images.mappings) {
            m.start += shift;
            m.end += shift;
        }
        return images;
    }
    static uint64_t marker_ip() {
        return reinterpret_cast<uint64_t>(&symbolized_marker_function);
    }
};

TEST_F(SymbolizerTest, FunctionFileAndLineOfThisBinary) {
    StreamSymbolizer symbols({});
    symbols.on_images(images_as(100));
    const CodeLocation* where = symbols.locate(100, marker_ip(), false);
    ASSERT_NE(where, nullptr);
    EXPECT_EQ(where->sym.rfind("(anonymous namespace)::symbolized_marker_function(int)+0x0", 0), 0u)
        << where->sym;
    EXPECT_EQ(where->dso, "unit_tests");
    EXPECT_EQ(where->src.rfind("symbols_test.cpp:", 0), 0u) << where->src;
    EXPECT_NE(where->json.find(R"("sym":)"), std::string::npos);
    EXPECT_NE(where->json.find(R"("src":"symbols_test.cpp:)"), std::string::npos);
    EXPECT_EQ(where->label, where->sym);
    // An unknown process, an address outside every mapping.
    EXPECT_EQ(symbols.locate(101, marker_ip(), false), nullptr);
    EXPECT_EQ(symbols.locate(100, 0x10, false), nullptr);
}

TEST_F(SymbolizerTest, CachedPerFileAndOffsetAcrossProcessesAndAddresses) {
    StreamSymbolizer symbols({});
    const uint64_t shift = 0x10000000000;
    symbols.on_images(images_as(1));
    symbols.on_images(images_as(2, shift));  // the same files elsewhere in another process
    const CodeLocation* a = symbols.locate(1, marker_ip(), false);
    ASSERT_NE(a, nullptr);
    const uint64_t resolved = symbols.stats().resolved;
    EXPECT_EQ(symbols.locate(1, marker_ip(), false), a);
    EXPECT_EQ(symbols.locate(2, marker_ip() + shift, false), a);  // same (build-id, offset)
    EXPECT_EQ(symbols.stats().resolved, resolved);
    EXPECT_EQ(symbols.locate(2, marker_ip(), false), nullptr);
}

TEST_F(SymbolizerTest, ExecForkMunmapAndExitChangeWhatIsMapped) {
    StreamSymbolizer symbols({});
    symbols.on_images(images_as(1));
    const auto event = [](EventType type, uint32_t pid, EventData data) {
        Event e;
        e.type = type;
        e.pid = pid;
        e.tid = pid;
        e.data = std::move(data);
        return e;
    };
    ASSERT_NE(symbols.locate(1, marker_ip(), false), nullptr);
    symbols.on_event(event(EventType::Fork, 1, ForkData{5, 0}), {});
    EXPECT_NE(symbols.locate(5, marker_ip(), false), nullptr);  // the child runs the same code
    const uint64_t page = marker_ip() & ~0xfffull;
    symbols.on_event(event(EventType::Munmap, 5, MunmapData{page, 4096, 0}), {});
    EXPECT_EQ(symbols.locate(5, marker_ip(), false), nullptr);
    EXPECT_NE(symbols.locate(5, page + 4096, false), nullptr);  // the rest stays
    symbols.on_event(event(EventType::Exec, 1, ExecData{"/bin/true"}), {});
    EXPECT_EQ(symbols.locate(1, marker_ip(), false), nullptr);
    symbols.on_event(event(EventType::Exit, 5, ExitData{0, 0}), {});
    EXPECT_EQ(symbols.locate(5, page + 4096, false), nullptr);
}

TEST_F(SymbolizerTest, AnotherBuildIsNeverUsed) {
    ProcessImages images = images_as(1);
    for (auto& m : images.mappings) m.build_id = std::string(20, '\x5a');  // not theirs
    StreamSymbolizer symbols({});
    symbols.on_images(images);
    const CodeLocation* where = symbols.locate(1, marker_ip(), false);
    ASSERT_NE(where, nullptr);
    EXPECT_EQ(where->sym, "");  // the file was not used: an offset only
    EXPECT_EQ(where->dso, "unit_tests");
    EXPECT_EQ(where->label.rfind("unit_tests+0x", 0), 0u) << where->label;
    EXPECT_EQ(symbols.stats().images_found, 0u);
}

TEST_F(SymbolizerTest, RecordedKernelFunctionsAndJitMaps) {
    SymbolizerOptions options;
    options.captured.kernel.push_back({0xffffffff81000000, 0x100, "rep_movs_alternative"});
    options.captured.jit.push_back({7, 500, "7f0000001000 40 jit_fn\n"});
    options.captured.jit.push_back({7, 900, "7f0000001000 40 jit_fn_of_the_next_process\n"});
    StreamSymbolizer symbols(std::move(options));
    const CodeLocation* k = symbols.locate(7, 0xffffffff81000033, true);
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->sym, "rep_movs_alternative+0x33");
    EXPECT_EQ(k->dso, "[kernel]");
    EXPECT_EQ(symbols.locate(7, 0xffffffff82000000, true), nullptr);
    // The JIT map read at or after the event's time: the process that ran then.
    Event e;
    e.type = EventType::Mprotect;
    e.pid = 7;
    e.ts_ns = 400;
    e.data = MprotectData{};
    symbols.on_event(e, {});
    const CodeLocation* j = symbols.locate(7, 0x7f0000001004, false);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->sym, "jit_fn+0x4");
    EXPECT_EQ(j->dso, "[jit]");
}

TEST(BinaryLocator, SymfsFirstThenThePathOnlyWithTheRecordedBuildId) {
    char dir_template[] = "/tmp/pagetrace-symfs-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    const std::string sh = "/bin/sh";
    const std::string id = read_build_id(sh).build_id;
    ASSERT_FALSE(id.empty());
    BinarySearch search;
    search.symfs = {dir};
    EXPECT_EQ(find_binary(sh, id, search).path, sh);  // not under DIR: the path itself
    const std::string copy = dir + "/sh";
    std::ofstream(copy, std::ios::binary) << file_bytes(sh);
    auto m = find_binary("/somewhere/else/sh", id, search);
    EXPECT_EQ(m.status, BinaryMatch::Status::Found);
    EXPECT_EQ(m.path, copy);  // DIR/NAME
    m = find_binary(sh, std::string(20, '\x11'), search);
    EXPECT_EQ(m.status, BinaryMatch::Status::Mismatch);
    EXPECT_EQ(m.other_build_id, id);
    EXPECT_EQ(find_binary("/no/such/file", id, {}).status, BinaryMatch::Status::Missing);
    std::remove(copy.c_str());
    rmdir(dir.c_str());
}

TEST(SymbolCapture, JitMapsAtExitAndTheKernelFunctionsOfKernelFaultsAtTheEnd) {
    char dir_template[] = "/tmp/pagetrace-capture-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    std::ofstream(dir + "/perf-42.map") << "7f0000001000 40 jit_fn\n";
    std::ofstream(dir + "/perf-43.map") << "7f0000002000 10 still_running\n";
    std::ofstream(dir + "/kallsyms") << "ffffffff81000000 T _stext\n"
                                        "ffffffff81000100 T rep_movs_alternative\n"
                                        "ffffffff81000180 T next_one\n";
    std::vector<CapturedSymbols> written;
    SymbolCapture capture([&](const CapturedSymbols& s) { written.push_back(s); }, dir,
                          dir + "/kallsyms");
    const auto fault = [](uint32_t pid, uint64_t ip, FaultMode mode) {
        Event e;
        e.type = EventType::Fault;
        e.pid = pid;
        FaultData d;
        d.ip = ip;
        d.mode = mode;
        e.data = d;
        return e;
    };
    capture.on_event(fault(42, 0x7f0000001000, FaultMode::User), {});
    capture.on_event(fault(43, 0xffffffff81000110, FaultMode::Kernel), {});
    capture.on_event(fault(43, 0xffffffff81000120, FaultMode::Kernel), {});  // same function
    Event exit;
    exit.type = EventType::Exit;
    exit.pid = 42;
    exit.ts_ns = 777;
    exit.data = ExitData{0, 0};
    capture.on_event(exit, {});
    ASSERT_EQ(written.size(), 1u);  // pid 42's map, at its exit
    ASSERT_EQ(written[0].jit.size(), 1u);
    EXPECT_EQ(written[0].jit[0].pid, 42u);
    EXPECT_EQ(written[0].jit[0].ts_ns, 777u);
    EXPECT_EQ(written[0].jit[0].text, "7f0000001000 40 jit_fn\n");
    capture.on_end();
    ASSERT_EQ(written.size(), 3u);  // pid 43's map, then the kernel functions
    EXPECT_EQ(written[1].jit.at(0).pid, 43u);
    ASSERT_EQ(written[2].kernel.size(), 1u);
    EXPECT_EQ(written[2].kernel[0].name, "rep_movs_alternative");
    EXPECT_EQ(written[2].kernel[0].start, 0xffffffff81000100u);
    EXPECT_EQ(written[2].kernel[0].size, 0x80u);
    std::filesystem::remove_all(dir);
}

TEST(SymbolCapture, SaysWhyWhenKallsymsShowsNoAddresses) {
    char dir_template[] = "/tmp/pagetrace-capture-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    std::ofstream(dir + "/kallsyms") << "0000000000000000 T _stext\n";
    std::vector<CapturedSymbols> written;
    SymbolCapture capture([&](const CapturedSymbols& s) { written.push_back(s); }, dir,
                          dir + "/kallsyms");
    Event e;
    e.type = EventType::Fault;
    e.pid = 5;
    FaultData d;
    d.ip = 0xffffffff81000110;
    d.mode = FaultMode::Kernel;
    e.data = d;
    capture.on_event(e, {});
    capture.on_end();
    ASSERT_EQ(written.size(), 1u);
    EXPECT_TRUE(written[0].kernel.empty());
    EXPECT_NE(written[0].kernel_problem.find("no addresses"), std::string::npos);
    std::filesystem::remove_all(dir);
}
