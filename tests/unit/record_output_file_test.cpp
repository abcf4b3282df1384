// The recording file is created new, 0600, never through a symlink; --force
// replaces an existing file or link atomically and never writes through it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "record/output_file.h"
#include "record_support.h"

using namespace pagetrace;
using namespace pagetrace::recording;
using namespace pagetrace::recording::test;

namespace {

void write_text(const std::string& path, const std::string& text) {
    write_bytes(path, as_byte_span(text));
}

void write_through(UniqueFd fd, const std::string& text) {
    ASSERT_EQ(::write(fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

size_t entries_in(const std::string& dir) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

std::string error_of(const std::string& path, bool replace) {
    try {
        OutputFile f(path, replace);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(RecordOutputFile, IsCreatedNewWithMode0600) {
    TempDir dir;
    const mode_t old = ::umask(0);
    const std::string path = dir.file("new.ptr");
    {
        OutputFile f(path, false);
        write_through(f.take_fd(), "data");
        f.publish();
    }
    ::umask(old);
    struct stat st{};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(read_file(path), "data");
}

TEST(RecordOutputFile, RefusesAnExistingFileAndLeavesItAlone) {
    TempDir dir;
    const std::string path = dir.file("old.ptr");
    write_text(path, "precious");
    const std::string err = error_of(path, false);
    EXPECT_NE(err.find("already exists"), std::string::npos) << err;
    EXPECT_NE(err.find("--force"), std::string::npos) << err;
    EXPECT_EQ(read_file(path), "precious");
}

TEST(RecordOutputFile, RefusesASymlinkAndNeverWritesThroughIt) {
    TempDir dir;
    const std::string target = dir.file("target");
    const std::string link = dir.file("link.ptr");
    write_text(target, "precious");
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    const std::string err = error_of(link, false);
    EXPECT_NE(err.find("symbolic link"), std::string::npos) << err;
    EXPECT_EQ(read_file(target), "precious");

    // A dangling link is refused too, and nothing appears at its target.
    const std::string dangling = dir.file("dangling.ptr");
    const std::string nowhere = dir.file("nowhere");
    ASSERT_EQ(::symlink(nowhere.c_str(), dangling.c_str()), 0);
    EXPECT_NE(error_of(dangling, false), "");
    EXPECT_FALSE(std::filesystem::exists(nowhere));
}

TEST(RecordOutputFile, ForceReplacesAFileAtomicallyWhenPublished) {
    TempDir dir;
    const std::string path = dir.file("old.ptr");
    write_text(path, "old recording");
    {
        OutputFile f(path, true);
        write_through(f.take_fd(), "new recording");
        // Until the header is written and the file published, the old one stays.
        EXPECT_EQ(read_file(path), "old recording");
        f.publish();
    }
    EXPECT_EQ(read_file(path), "new recording");
    struct stat st{};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(entries_in(dir.path()), 1u) << "a temporary file was left behind";
}

TEST(RecordOutputFile, ForceReplacesTheSymlinkItselfNotItsTarget) {
    TempDir dir;
    const std::string target = dir.file("target");
    const std::string link = dir.file("link.ptr");
    write_text(target, "precious");
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    {
        OutputFile f(link, true);
        write_through(f.take_fd(), "recording");
        f.publish();
    }
    struct stat st{};
    ASSERT_EQ(::lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << "the link should have been replaced by a file";
    EXPECT_EQ(read_file(link), "recording");
    EXPECT_EQ(read_file(target), "precious");
}

TEST(RecordOutputFile, AnUnpublishedFileIsRemoved) {
    TempDir dir;
    const std::string path = dir.file("never.ptr");
    { OutputFile f(path, false); }
    EXPECT_FALSE(std::filesystem::exists(path));

    const std::string old = dir.file("old.ptr");
    write_text(old, "old recording");
    { OutputFile f(old, true); }
    EXPECT_EQ(read_file(old), "old recording");
    EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(RecordOutputFile, ClearErrorsForBadPaths) {
    EXPECT_NE(error_of("/no/such/dir/x.ptr", false).find("No such file"), std::string::npos);
    EXPECT_NE(error_of("/no/such/dir/x.ptr", true).find("/no/such/dir"), std::string::npos);
    TempDir dir;
    EXPECT_NE(error_of(dir.path() + "/", false).find("directory"), std::string::npos);
}
