// /proc/PID/maps: parsing lines as the kernel writes them, and reading the
// test's own mappings.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proc/maps.h"
#include "support/subprocess.h"

using namespace pagetrace;

// --- parse_maps_line --------------------------------------------------------

TEST(ParseMapsLine, FileMappingWithPath) {
    const auto m = parse_maps_line(
        "7f2b3c400000-7f2b3c428000 r--p 00000000 fd:01 1835051                    "
        "/usr/lib/x86_64-linux-gnu/libc.so.6");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->start, 0x7f2b3c400000ull);
    EXPECT_EQ(m->end, 0x7f2b3c428000ull);
    EXPECT_EQ(m->perms, "r--p");
    EXPECT_EQ(m->offset, 0u);
    EXPECT_EQ(m->dev, "fd:01");
    EXPECT_EQ(m->inode, 1835051u);
    EXPECT_EQ(m->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

TEST(ParseMapsLine, NonZeroOffsetAndExecutable) {
    const auto m = parse_maps_line(
        "7f2b3c428000-7f2b3c5bd000 r-xp 00028000 fd:01 1835051                    "
        "/usr/lib/x86_64-linux-gnu/libc.so.6");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->perms, "r-xp");
    EXPECT_EQ(m->offset, 0x28000u);
    EXPECT_EQ(m->end - m->start, 0x195000u);
}

TEST(ParseMapsLine, AnonymousWithoutPath) {
    // Current kernels end an anonymous line right after the inode...
    auto m = parse_maps_line("7f2b3c5f0000-7f2b3c5fd000 rw-p 00000000 00:00 0");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->start, 0x7f2b3c5f0000ull);
    EXPECT_EQ(m->end, 0x7f2b3c5fd000ull);
    EXPECT_EQ(m->perms, "rw-p");
    EXPECT_EQ(m->dev, "00:00");
    EXPECT_EQ(m->inode, 0u);
    EXPECT_EQ(m->path, "");
    // ...older ones leave padding spaces behind it.
    m = parse_maps_line("7f2b3c5f0000-7f2b3c5fd000 rw-p 00000000 00:00 0                    ");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->path, "");
}

TEST(ParseMapsLine, PseudoPaths) {
    for (const char* name : {"[heap]", "[stack]", "[vvar]", "[vdso]", "[anon:my arena]",
                             "[anon_shmem:x]"}) {
        const std::string line =
            std::string("55d0c8a3e000-55d0c8a5f000 rw-p 00000000 00:00 0                          ") +
            name;
        const auto m = parse_maps_line(line);
        ASSERT_TRUE(m.has_value()) << line;
        EXPECT_EQ(m->path, name);
        EXPECT_EQ(m->start, 0x55d0c8a3e000ull);
    }
}

TEST(ParseMapsLine, VsyscallAtTheTopOfTheAddressSpace) {
    const auto m = parse_maps_line(
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->start, 0xffffffffff600000ull);
    EXPECT_EQ(m->end, 0xffffffffff601000ull);
    EXPECT_EQ(m->perms, "--xp");
    EXPECT_EQ(m->path, "[vsyscall]");
}

TEST(ParseMapsLine, PathWithSpacesIsKeptWhole) {
    const auto m = parse_maps_line(
        "7f0000000000-7f0000001000 r--s 00003000 08:02 424242                     "
        "/home/u/My Documents/a  b.dat");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->perms, "r--s");
    EXPECT_EQ(m->offset, 0x3000u);
    EXPECT_EQ(m->dev, "08:02");
    EXPECT_EQ(m->inode, 424242u);
    EXPECT_EQ(m->path, "/home/u/My Documents/a  b.dat");
}

TEST(ParseMapsLine, DeletedFileKeepsTheMarker) {
    auto m = parse_maps_line(
        "7f0000000000-7f0000004000 rw-s 00000000 00:01 2050                       "
        "/memfd:arena (deleted)");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->path, "/memfd:arena (deleted)");
    EXPECT_EQ(m->inode, 2050u);
    m = parse_maps_line(
        "7f0000000000-7f0000004000 r-xp 00001000 fd:01 99 /tmp/old build/prog (deleted)");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->path, "/tmp/old build/prog (deleted)");
    EXPECT_EQ(m->offset, 0x1000u);
}

TEST(ParseMapsLine, LargeFields) {
    const auto m = parse_maps_line(
        "00fffffffffff000-0100000000000000 rw-p ffffffffffff0000 103:02 18446744073709551615 /x");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->start, 0x00fffffffffff000ull);
    EXPECT_EQ(m->end, 0x0100000000000000ull);
    EXPECT_EQ(m->offset, 0xffffffffffff0000ull);
    EXPECT_EQ(m->dev, "103:02");
    EXPECT_EQ(m->inode, UINT64_MAX);
    EXPECT_EQ(m->path, "/x");
}

TEST(ParseMapsLine, UppercaseHexIsAccepted) {
    const auto m = parse_maps_line("7F00ABC00000-7F00ABC01000 rw-p 0000A000 00:00 0");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->start, 0x7f00abc00000ull);
    EXPECT_EQ(m->offset, 0xa000u);
}

TEST(ParseMapsLine, EmptyRangeIsAccepted) {
    // start == end never comes from the kernel, but it is not malformed.
    const auto m = parse_maps_line("1000-1000 ---p 00000000 00:00 0");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->start, m->end);
}

TEST(ParseMapsLine, GarbageIsRejected) {
    for (const char* line : {
             "",
             " ",
             "hello world",
             "7f00-",
             "-7f00 rw-p 00000000 00:00 0",
             "7f00 rw-p 00000000 00:00 0",                   // no '-'
             "zz00-7f00 rw-p 00000000 00:00 0",              // bad start
             "1000-2zz0 rw-p 00000000 00:00 0",              // bad end
             "1000-2000-3000 rw-p 00000000 00:00 0",         // two dashes
             "0x1000-0x2000 rw-p 00000000 00:00 0",          // not how maps writes hex
             "2000-1000 rw-p 00000000 00:00 0",              // end before start
             "1000-2000",                                    // nothing after the range
             "1000-2000 rw-p",                               // stops after perms
             "1000-2000 rw-p 00000000 00:00",                // no inode
             "1000-2000 rw-p 00000000",                      // no dev, no inode
             "1000-2000 rw- 00000000 00:00 0",               // perms too short
             "1000-2000 rw-pp 00000000 00:00 0",             // perms too long
             "1000-2000 rw-p 0000zz00 00:00 0",              // bad offset
             "1000-2000 rw-p -1 00:00 0",                    // negative offset
             "1000-2000 rw-p 00000000 00:00 abc",            // inode not decimal
             "1000-2000 rw-p 00000000 00:00 -5",             // negative inode
             "1000-2000 rw-p 00000000 00:00 99999999999999999999",  // inode overflows
             "10000000000000000-10000000000000001 rw-p 0 00:00 0",  // address overflows
             "Name:\tpagetrace",                             // a /proc/PID/status line
         }) {
        EXPECT_FALSE(parse_maps_line(line).has_value()) << '"' << line << '"';
    }
}

// The inode field must be a whole decimal number: "12abc" is not inode 12.
// Disabled until parse_maps_line checks that from_chars consumed the field
// (agent/proc/maps.cpp, the inode parse) -- see the test report.
TEST(ParseMapsLine, InodeWithTrailingJunkIsRejected) {
    EXPECT_FALSE(parse_maps_line("1000-2000 rw-p 00000000 00:00 12abc /x").has_value());
}

// --- read_maps ----------------------------------------------------------------

namespace {

const Mapping* covering(const std::vector<Mapping>& maps, const void* p) {
    const auto a = reinterpret_cast<uintptr_t>(p);
    for (const auto& m : maps) {
        if (m.start <= a && a < m.end) return &m;
    }
    return nullptr;
}

std::string self_exe() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

int g_initialised_data = 42;  // lives in the executable's writable data segment

}  // namespace

TEST(ReadMaps, OwnMappingsAreSortedAndWellFormed) {
    const auto maps = read_maps(::getpid());
    ASSERT_GT(maps.size(), 5u);
    for (size_t i = 0; i < maps.size(); ++i) {
        EXPECT_LT(maps[i].start, maps[i].end) << i;
        EXPECT_EQ(maps[i].perms.size(), 4u) << i;
        EXPECT_EQ(maps[i].start % 4096, 0u) << i;
        EXPECT_EQ(maps[i].end % 4096, 0u) << i;
        if (i > 0) EXPECT_LE(maps[i - 1].end, maps[i].start) << "overlap at " << i;
    }
}

TEST(ReadMaps, CoversTheStack) {
    // The frame address is on the real stack even when ASan keeps locals in
    // a fake stack on the heap.
    const void* frame = __builtin_frame_address(0);
    const auto maps = read_maps(::getpid());
    const Mapping* m = covering(maps, frame);
    ASSERT_NE(m, nullptr) << "no mapping covers the stack address " << frame;
    EXPECT_EQ(m->path, "[stack]");
    EXPECT_EQ(m->perms.substr(0, 2), "rw");
}

TEST(ReadMaps, CoversTheHeap) {
    auto block = std::make_unique<char[]>(64);
    block[0] = 1;
    const auto maps = read_maps(::getpid());
    const Mapping* m = covering(maps, block.get());
    ASSERT_NE(m, nullptr) << "no mapping covers the heap address";
    EXPECT_EQ(m->perms.substr(0, 2), "rw");
}

TEST(ReadMaps, CoversTheExecutable) {
    const std::string exe = self_exe();
    ASSERT_FALSE(exe.empty());
    g_initialised_data += 1;  // written, so it cannot be moved to read-only data
    const auto maps = read_maps(::getpid());
    const Mapping* data = covering(maps, &g_initialised_data);
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data->path, exe);
    EXPECT_EQ(data->perms.substr(0, 2), "rw");
    EXPECT_NE(data->inode, 0u);
    const Mapping* code = covering(maps, reinterpret_cast<const void*>(&self_exe));
    ASSERT_NE(code, nullptr);
    EXPECT_EQ(code->path, exe);
    EXPECT_EQ(code->perms[2], 'x');
}

TEST(ReadMaps, FreshMappingExactly) {
    // A memfd mapping cannot merge with its neighbours, so its line is exactly
    // it: bounds, perms, offset, inode, and the "(deleted)" marker of memfds.
    const int fd = ::memfd_create("pagetrace maps test", MFD_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(8 * page)), 0);
    void* mem = ::mmap(nullptr, 3 * page, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(2 * page));
    ASSERT_NE(mem, MAP_FAILED) << std::strerror(errno);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);

    const auto maps = read_maps(::getpid());
    const Mapping* m = covering(maps, mem);
    ::munmap(mem, 3 * page);
    ::close(fd);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->start, reinterpret_cast<uintptr_t>(mem));
    EXPECT_EQ(m->end, reinterpret_cast<uintptr_t>(mem) + 3 * page);
    EXPECT_EQ(m->perms, "r--s");
    EXPECT_EQ(m->offset, 2 * page);
    EXPECT_EQ(m->inode, static_cast<uint64_t>(st.st_ino));
    EXPECT_EQ(m->path, "/memfd:pagetrace maps test (deleted)");
}

TEST(ReadMaps, UnmappedRangeIsGone) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    void* mem = ::mmap(nullptr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    ASSERT_NE(covering(read_maps(::getpid()), mem), nullptr);
    ASSERT_EQ(::munmap(mem, page), 0);
    EXPECT_EQ(covering(read_maps(::getpid()), mem), nullptr);
}

TEST(ReadMaps, GoneProcessGivesNothing) {
    EXPECT_TRUE(read_maps(pagetrace::test::reaped_pid()).empty());
}
