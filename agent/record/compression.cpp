#include "record/compression.h"

#include <fmt/format.h>
#include <zstd.h>

#include <new>

namespace pagetrace::recording {

void Compressor::Deleter::operator()(ZSTD_CCtx_s* ctx) const { ZSTD_freeCCtx(ctx); }
void Decompressor::Deleter::operator()(ZSTD_DCtx_s* ctx) const { ZSTD_freeDCtx(ctx); }

Compressor::Compressor(int level) : ctx_(ZSTD_createCCtx()), level_(level) {
    if (!ctx_) throw std::bad_alloc();
}
Compressor::~Compressor() = default;
Compressor::Compressor(Compressor&&) noexcept = default;
Compressor& Compressor::operator=(Compressor&&) noexcept = default;

bool Compressor::compress_if_smaller(std::span<const std::byte> input, Bytes& out) {
    if (input.size() < 64) return false;
    const size_t worth_it = input.size() - input.size() / 16;
    out.resize(ZSTD_compressBound(input.size()));
    const size_t n = ZSTD_compressCCtx(ctx_.get(), out.data(), out.size(), input.data(),
                                       input.size(), level_);
    if (ZSTD_isError(n) || n >= worth_it) return false;
    out.resize(n);
    return true;
}

Decompressor::Decompressor() : ctx_(ZSTD_createDCtx()) {
    if (!ctx_) throw std::bad_alloc();
}
Decompressor::~Decompressor() = default;

std::optional<std::string> Decompressor::decompress(std::span<const std::byte> input,
                                                    size_t raw_size, Bytes& out) {
    // Frames we write declare their size: check it before allocating for it.
    const unsigned long long declared = ZSTD_getFrameContentSize(input.data(), input.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR) return "the payload is not a zstd frame";
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_size) {
        return fmt::format("payload decompresses to {} bytes, the chunk header says {}", declared,
                           raw_size);
    }
    out.resize(raw_size);
    const size_t n =
        ZSTD_decompressDCtx(ctx_.get(), out.data(), out.size(), input.data(), input.size());
    if (ZSTD_isError(n)) {
        return fmt::format("zstd cannot decompress the payload: {}", ZSTD_getErrorName(n));
    }
    if (n != raw_size) {
        return fmt::format("payload decompresses to {} bytes, the chunk header says {}", n,
                           raw_size);
    }
    return std::nullopt;
}

}  // namespace pagetrace::recording
