// Writing output lines through a char cursor: the formatters' hot path
// (replay prints millions of lines a second).
//
//     LineWriter w(out);
//     w.put(R"({"pid":)", e.pid, R"(,"addr":")", Hex{d.addr}, '"');
//
// A line is written into a small buffer on the stack and appended to the
// string in one piece when the writer goes away. Each put() takes several
// pieces, checks once that the longest they can be fits, then writes them
// through a plain pointer; longer lines are appended a part at a time.
//
// Pieces: text (string literals, std::string_view, std::string, const char*),
// a char, an integer (decimal, as fmt's "{}"), and the wrappers below.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

namespace pagetrace {

// "0x" and the value in lowercase hexadecimal, as fmt's "{:#x}".
struct Hex {
    uint64_t value;
};

// An unsigned integer in decimal, right-aligned in `width` columns ("{:>W}").
struct AlignRight {
    uint64_t value;
    size_t width;
};

// Text left-aligned in `width` columns ("{:<W}"); only for text in which one
// byte is one column (ASCII).
struct AlignLeft {
    std::string_view text;
    size_t width;
};

// A double with kPrecision (0 to 9) digits after the point, right-aligned in
// `width` columns: as fmt's "{:>W.Pf}", rounded the same way (to nearest, ties
// to even, from the double's exact binary value).
template <int kPrecision>
struct Fixed {
    static_assert(kPrecision >= 0 && kPrecision <= 9);
    double value;
    size_t width = 0;
};

// Digits of `value` in decimal: 1 for 0 to 9, 20 for the largest uint64_t.
constexpr size_t decimal_digits(uint64_t value);

// Digits of `value` in hexadecimal, without leading zeros (1 for 0).
constexpr size_t hex_digits(uint64_t value) {
    return (static_cast<size_t>(std::bit_width(value | 1)) + 3) / 4;
}

namespace line_writer_detail {

inline constexpr auto kPowersOf10 = [] {
    std::array<uint64_t, 20> powers{};
    uint64_t p = 1;
    for (auto& power : powers) {
        power = p;
        p *= 10;
    }
    return powers;
}();

// "00", "01", ..., "99": decimal digits two at a time.
inline constexpr auto kDecimalPairs = [] {
    std::array<char, 200> pairs{};
    for (int i = 0; i < 100; ++i) {
        pairs[2 * i] = static_cast<char>('0' + i / 10);
        pairs[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
    return pairs;
}();

// "00", "01", ..., "ff": hexadecimal digits two at a time.
inline constexpr auto kHexPairs = [] {
    constexpr char kDigits[] = "0123456789abcdef";
    std::array<char, 512> pairs{};
    for (int i = 0; i < 256; ++i) {
        pairs[2 * i] = kDigits[i >> 4];
        pairs[2 * i + 1] = kDigits[i & 0xf];
    }
    return pairs;
}();

// An integer piece, kept with its own type so a negative one keeps its sign.
template <std::integral T>
struct Decimal {
    T value;
};

// Every piece as one of a few types: text as string_view (a literal's length
// known when compiling), integers as Decimal.
template <size_t N>
constexpr std::string_view piece(const char (&literal)[N]) {
    return {literal, N - 1};
}
inline std::string_view piece(const char* text) { return text; }
inline std::string_view piece(std::string_view text) { return text; }
inline std::string_view piece(const std::string& text) { return text; }
constexpr char piece(char c) { return c; }
template <std::integral T>
constexpr Decimal<T> piece(T value) {
    return {value};
}
constexpr Hex piece(Hex hex) { return hex; }
constexpr AlignRight piece(AlignRight aligned) { return aligned; }
constexpr AlignLeft piece(AlignLeft aligned) { return aligned; }
template <int kPrecision>
constexpr Fixed<kPrecision> piece(Fixed<kPrecision> fixed) {
    return fixed;
}

// Whether |fixed.value| scaled by 10^precision is below 9e18, so that it is
// written with the integer arithmetic below; else (huge, infinite, NaN) fmt
// writes it.
template <int kPrecision>
bool is_small_fixed(Fixed<kPrecision> fixed) {
    constexpr double kLimit = 9e18 / static_cast<double>(kPowersOf10[kPrecision]);
    return std::fabs(fixed.value) < kLimit;
}
// The longest a double can be written: "-" and the 309 digits of 1.8e308,
// the point and 9 decimals.
inline constexpr size_t kLongestFixed = 1 + 309 + 1 + 9;

// The most characters a piece can take.
constexpr size_t max_size(std::string_view text) { return text.size(); }
constexpr size_t max_size(char) { return 1; }
template <std::integral T>
constexpr size_t max_size(Decimal<T>) {
    return std::numeric_limits<T>::digits10 + 2;  // every digit and a sign
}
constexpr size_t max_size(Hex) { return 2 + 16; }
constexpr size_t max_size(AlignRight aligned) {
    return std::max<size_t>(aligned.width, std::numeric_limits<uint64_t>::digits10 + 1);
}
constexpr size_t max_size(AlignLeft aligned) {
    return std::max(aligned.width, aligned.text.size());
}
template <int kPrecision>
size_t max_size(Fixed<kPrecision> fixed) {
    // A small one: a sign, at most 19 digits and the point.
    return std::max(fixed.width, is_small_fixed(fixed) ? size_t{1 + 19 + 1} : kLongestFixed);
}

// Writes the four digits of `value` (< 10^4), leading zeros included, at p.
inline void write_4_digits(char* p, uint32_t value) {
    std::memcpy(p, &kDecimalPairs[2 * (value / 100)], 2);
    std::memcpy(p + 2, &kDecimalPairs[2 * (value % 100)], 2);
}

// Writes the `digits` decimal digits of `value` at p, from the last: eight
// digits per division of the 64-bit value, the rest in 32-bit arithmetic, two
// digits per table lookup.
inline char* write_digits(char* p, uint64_t value, size_t digits) {
    char* const end = p + digits;
    char* q = end;
    while (value >= 100'000'000) {
        const auto group = static_cast<uint32_t>(value % 100'000'000);
        value /= 100'000'000;
        q -= 8;
        write_4_digits(q, group / 10'000);
        write_4_digits(q + 4, group % 10'000);
    }
    auto rest = static_cast<uint32_t>(value);
    if (rest >= 10'000) {
        q -= 4;
        write_4_digits(q, rest % 10'000);
        rest /= 10'000;
    }
    if (rest >= 100) {
        q -= 2;
        std::memcpy(q, &kDecimalPairs[2 * (rest % 100)], 2);
        rest /= 100;
    }
    if (rest >= 10) {
        std::memcpy(q - 2, &kDecimalPairs[2 * rest], 2);
    } else {
        q[-1] = static_cast<char>('0' + rest);
    }
    return end;
}

// Text is mostly short (names, numbers' neighbours): up to 16 bytes are
// copied with two overlapping moves instead of a call to memcpy.
inline char* write(char* p, std::string_view text) {
    const char* s = text.data();
    const size_t n = text.size();
    if (n > 16) {
        std::memcpy(p, s, n);
    } else if (n >= 8) {
        std::memcpy(p, s, 8);
        std::memcpy(p + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        std::memcpy(p, s, 4);
        std::memcpy(p + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; ++i) p[i] = s[i];
    }
    return p + n;
}
inline char* write(char* p, char c) {
    *p = c;
    return p + 1;
}
template <std::integral T>
char* write(char* p, Decimal<T> number) {
    using Unsigned = std::make_unsigned_t<T>;
    auto magnitude = static_cast<Unsigned>(number.value);
    if constexpr (std::is_signed_v<T>) {
        if (number.value < 0) {
            *p++ = '-';
            magnitude = static_cast<Unsigned>(Unsigned{0} - magnitude);
        }
    }
    return write_digits(p, magnitude, decimal_digits(magnitude));
}
inline char* write(char* p, Hex hex) {
    const size_t digits = hex_digits(hex.value);
    p[0] = '0';
    p[1] = 'x';
    char* const end = p + 2 + digits;
    char* q = end;
    uint64_t value = hex.value;
    while (value >= 0x10) {
        q -= 2;
        std::memcpy(q, &kHexPairs[2 * (value & 0xff)], 2);
        value >>= 8;
    }
    if (q > p + 2) q[-1] = kHexPairs[2 * value + 1];
    return end;
}
inline char* write(char* p, AlignRight aligned) {
    const size_t digits = decimal_digits(aligned.value);
    if (digits < aligned.width) {
        std::memset(p, ' ', aligned.width - digits);
        p += aligned.width - digits;
    }
    return write_digits(p, aligned.value, digits);
}
inline char* write(char* p, AlignLeft aligned) {
    p = write(p, aligned.text);
    if (aligned.text.size() < aligned.width) {
        std::memset(p, ' ', aligned.width - aligned.text.size());
        p += aligned.width - aligned.text.size();
    }
    return p;
}

// |value| * 10^precision rounded to the nearest integer, ties to even, from
// the double's exact value: mantissa / 2^shift. Only for small Fixed values.
inline uint64_t scaled_round(double value, int precision) {
    const auto bits = std::bit_cast<uint64_t>(value);
    const auto biased_exponent = static_cast<int>((bits >> 52) & 0x7ff);
    uint64_t mantissa = bits & ((uint64_t{1} << 52) - 1);
    if (biased_exponent != 0) mantissa |= uint64_t{1} << 52;  // else subnormal
    const int shift = 1075 - std::max(biased_exponent, 1);
    const auto scaled = static_cast<unsigned __int128>(mantissa) * kPowersOf10[precision];
    if (shift <= 0) return static_cast<uint64_t>(scaled << -shift);
    // scaled < 2^83: from a shift of 84 on it is less than half a unit.
    if (shift >= 84) return 0;
    const auto whole = scaled >> shift;
    const auto rest = scaled - (whole << shift);
    const auto half = static_cast<unsigned __int128>(1) << (shift - 1);
    auto rounded = static_cast<uint64_t>(whole);
    if (rest > half || (rest == half && (rounded & 1))) ++rounded;
    return rounded;
}

// Out of line: writes a Fixed that is not small, with fmt.
char* write_large_fixed(char* p, double value, int precision, size_t width);

template <int kPrecision>
char* write(char* p, Fixed<kPrecision> fixed) {
    if (!is_small_fixed(fixed)) return write_large_fixed(p, fixed.value, kPrecision, fixed.width);
    constexpr auto precision = static_cast<size_t>(kPrecision);
    const uint64_t scaled = scaled_round(fixed.value, kPrecision);
    const uint64_t whole = scaled / kPowersOf10[precision];
    const uint64_t fraction = scaled % kPowersOf10[precision];
    const bool negative = std::signbit(fixed.value);
    const size_t whole_digits = decimal_digits(whole);
    const size_t length = (negative ? 1 : 0) + whole_digits + (precision > 0 ? 1 + precision : 0);
    if (length < fixed.width) {
        std::memset(p, ' ', fixed.width - length);
        p += fixed.width - length;
    }
    if (negative) *p++ = '-';
    p = write_digits(p, whole, whole_digits);
    if constexpr (precision > 0) {
        *p++ = '.';
        std::memset(p, '0', precision);
        const size_t fraction_digits = decimal_digits(fraction);
        write_digits(p + precision - fraction_digits, fraction, fraction_digits);
        p += precision;
    }
    return p;
}

}  // namespace line_writer_detail

constexpr size_t decimal_digits(uint64_t value) {
    const uint64_t v = value | 1;  // 0 has one digit, as 1 has
    // 1233 / 4096 is close enough to log10(2) that, for up to 64 bits, the
    // estimate is floor(log10(2^bits)): `v` has that many digits or one more,
    // and one comparison with a power of ten settles which.
    const size_t estimate = (static_cast<size_t>(std::bit_width(v)) * 1233) >> 12;
    return estimate + (v >= line_writer_detail::kPowersOf10[estimate] ? 1 : 0);
}

class LineWriter {
public:
    // Room for every line of the common event types.
    static constexpr size_t kBufferSize = 256;

    explicit LineWriter(std::string& out) : out_(out) { reserve_for_buffer(); }
    LineWriter(const LineWriter&) = delete;
    LineWriter& operator=(const LineWriter&) = delete;
    // Appends the line; the string already has the capacity for it, so this
    // cannot throw.
    ~LineWriter() { out_.append(buffer_, static_cast<size_t>(pos_ - buffer_)); }

    template <typename... Pieces>
    void put(const Pieces&... pieces) {
        put_pieces(line_writer_detail::piece(pieces)...);
    }

private:
    template <typename... Pieces>
    void put_pieces(const Pieces&... pieces) {
        using line_writer_detail::max_size;
        const size_t longest = (max_size(pieces) + ...);
        if (room() < longest) {
            spill();
            if (longest > kBufferSize) {
                put_long(longest, pieces...);
                return;
            }
        }
        pos_ = write_all(pos_, pieces...);
    }

    template <typename... Pieces>
    static char* write_all(char* p, const Pieces&... pieces) {
        using line_writer_detail::write;
        ((p = write(p, pieces)), ...);
        return p;
    }

    // Pieces too long for the buffer (a long file name) go to the string directly.
    template <typename... Pieces>
    void put_long(size_t longest, const Pieces&... pieces) {
        const size_t start = out_.size();
        out_.resize(start + longest);
        char* end = write_all(out_.data() + start, pieces...);
        out_.resize(static_cast<size_t>(end - out_.data()));
        reserve_for_buffer();
    }

    size_t room() const { return static_cast<size_t>(std::end(buffer_) - pos_); }
    // Appends what the buffer holds and empties it (out of line: rarely needed).
    void spill();
    void reserve_for_buffer() {
        if (out_.capacity() - out_.size() < kBufferSize) out_.reserve(out_.size() + kBufferSize);
    }

    std::string& out_;
    char buffer_[kBufferSize];
    char* pos_ = buffer_;
};

}  // namespace pagetrace
