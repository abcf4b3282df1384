// Temporary directories and whole-file reads and writes, for unit and
// integration tests alike.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace pagetrace::test {

// A fresh directory under /tmp, removed with everything in it on destruction.
// Private by default; 0777 lets programs a test runs as another user
// (SpawnOptions::uid) write their reports there.
class TempDir {
public:
    explicit TempDir(mode_t mode = 0700);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    // Creates the file `name` holding `content` with permissions `mode`; its path.
    std::string add_file(const std::string& name, mode_t mode, const std::string& content) const;

private:
    std::string path_;
};

// The whole file as text ("" if it cannot be read).
std::string read_file(const std::string& path);
// The whole file as bytes (none if it cannot be read).
std::vector<std::byte> read_bytes(const std::string& path);
// Replaces the file's content with `bytes`.
void write_bytes(const std::string& path, std::span<const std::byte> bytes);

}  // namespace pagetrace::test
