// zstd compression of chunk payloads. One context per direction, reused for
// every chunk so compressing allocates nothing after the first call.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "record/bytes.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace pagetrace::recording {

class Compressor {
public:
    explicit Compressor(int level);
    ~Compressor();
    Compressor(Compressor&&) noexcept;
    Compressor& operator=(Compressor&&) noexcept;

    // Compresses `input` into `out` (replacing its contents). Returns false if
    // compressing does not save at least 1/16 of the size: store it raw then.
    bool compress_if_smaller(std::span<const std::byte> input, Bytes& out);

private:
    struct Deleter {
        void operator()(ZSTD_CCtx_s* ctx) const;
    };
    std::unique_ptr<ZSTD_CCtx_s, Deleter> ctx_;
    int level_;
};

class Decompressor {
public:
    Decompressor();
    ~Decompressor();

    // Decompresses one zstd frame that must expand to exactly `raw_size`
    // bytes into `out`. Returns the problem if it does not.
    std::optional<std::string> decompress(std::span<const std::byte> input, size_t raw_size,
                                          Bytes& out);

private:
    struct Deleter {
        void operator()(ZSTD_DCtx_s* ctx) const;
    };
    std::unique_ptr<ZSTD_DCtx_s, Deleter> ctx_;
};

}  // namespace pagetrace::recording
