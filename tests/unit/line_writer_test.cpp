// The formatters' line writer: numbers and text as fmt writes them, checked
// against fmt itself, and lines of any length.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "output/line_writer.h"

using namespace pagetrace;

namespace {

template <typename... Pieces>
std::string line(const Pieces&... pieces) {
    std::string out;
    {
        LineWriter w(out);
        w.put(pieces...);
    }
    return out;
}

// Boundaries of every decimal length: 0, 9, 10, 99, 100, ..., and the largest value.
std::vector<uint64_t> decimal_boundaries() {
    std::vector<uint64_t> values{0, 1, std::numeric_limits<uint64_t>::max(),
                                 std::numeric_limits<uint64_t>::max() - 1};
    for (uint64_t p = 10; p <= 10'000'000'000'000'000'000ull; p *= 10) {
        values.insert(values.end(), {p - 1, p, p + 1});
        if (p > std::numeric_limits<uint64_t>::max() / 10) break;
    }
    for (int bit = 0; bit < 64; ++bit) {
        const uint64_t p = uint64_t{1} << bit;
        values.insert(values.end(), {p - 1, p, p + 1});
    }
    return values;
}

}  // namespace

TEST(DecimalDigits, EveryLengthBoundary) {
    for (const uint64_t v : decimal_boundaries()) {
        char buf[24];
        const auto end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
        EXPECT_EQ(decimal_digits(v), static_cast<size_t>(end - buf)) << v;
    }
    EXPECT_EQ(decimal_digits(0), 1u);
    EXPECT_EQ(decimal_digits(9), 1u);
    EXPECT_EQ(decimal_digits(10), 2u);
    EXPECT_EQ(decimal_digits(99), 2u);
    EXPECT_EQ(decimal_digits(std::numeric_limits<uint64_t>::max()), 20u);
}

TEST(HexDigits, Lengths) {
    EXPECT_EQ(hex_digits(0), 1u);
    EXPECT_EQ(hex_digits(0xf), 1u);
    EXPECT_EQ(hex_digits(0x10), 2u);
    EXPECT_EQ(hex_digits(0x7f0012345000), 12u);
    EXPECT_EQ(hex_digits(std::numeric_limits<uint64_t>::max()), 16u);
}

TEST(LineWriter, UnsignedDecimal) {
    EXPECT_EQ(line(uint64_t{0}), "0");
    EXPECT_EQ(line(uint64_t{9}), "9");
    EXPECT_EQ(line(uint64_t{10}), "10");
    EXPECT_EQ(line(uint64_t{99}), "99");
    EXPECT_EQ(line(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
    EXPECT_EQ(line(std::numeric_limits<uint32_t>::max()), "4294967295");
    for (const uint64_t v : decimal_boundaries()) EXPECT_EQ(line(v), fmt::format("{}", v));
}

TEST(LineWriter, SignedDecimal) {
    EXPECT_EQ(line(int32_t{-1}), "-1");
    EXPECT_EQ(line(int32_t{0}), "0");
    EXPECT_EQ(line(int32_t{-10}), "-10");
    EXPECT_EQ(line(std::numeric_limits<int32_t>::min()), "-2147483648");
    EXPECT_EQ(line(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
    EXPECT_EQ(line(std::numeric_limits<int64_t>::max()), "9223372036854775807");
    for (const uint64_t v : decimal_boundaries()) {
        const auto s = static_cast<int64_t>(v);
        EXPECT_EQ(line(s), fmt::format("{}", s));
        if (s != std::numeric_limits<int64_t>::min()) EXPECT_EQ(line(-s), fmt::format("{}", -s));
    }
}

TEST(LineWriter, Hex) {
    EXPECT_EQ(line(Hex{0}), "0x0");
    EXPECT_EQ(line(Hex{0xf}), "0xf");
    EXPECT_EQ(line(Hex{0x10}), "0x10");
    EXPECT_EQ(line(Hex{0xabc}), "0xabc");
    EXPECT_EQ(line(Hex{0x7f0012345000}), "0x7f0012345000");
    EXPECT_EQ(line(Hex{std::numeric_limits<uint64_t>::max()}), "0xffffffffffffffff");
    for (int bit = 0; bit < 64; ++bit) {
        for (const uint64_t v : {(uint64_t{1} << bit) - 1, uint64_t{1} << bit}) {
            EXPECT_EQ(line(Hex{v}), fmt::format("{:#x}", v));
        }
    }
}

TEST(LineWriter, Aligned) {
    EXPECT_EQ(line(AlignRight{42, 7}), "     42");
    EXPECT_EQ(line(AlignRight{12345678, 7}), "12345678");
    EXPECT_EQ(line(AlignRight{0, 0}), "0");
    EXPECT_EQ(line(AlignLeft{"fork", 6}), "fork  ");
    EXPECT_EQ(line(AlignLeft{"tlb_flush", 6}), "tlb_flush");
    EXPECT_EQ(line(AlignLeft{"", 3}), "   ");
    for (const uint64_t v : decimal_boundaries()) {
        EXPECT_EQ(line(AlignRight{v, 7}), fmt::format("{:>7}", v));
    }
}

TEST(LineWriter, TextAndCharacters) {
    const std::string s = "a std::string";
    const char* c = "a C string";
    EXPECT_EQ(line("literal ", std::string_view("view "), s, ' ', c, '!'),
              "literal view a std::string a C string!");
    // Every length the short-text copy distinguishes.
    const std::string text = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (size_t n = 0; n <= text.size(); ++n) {
        EXPECT_EQ(line('[', std::string_view(text).substr(0, n), ']'), "[" + text.substr(0, n) + "]");
    }
}

TEST(LineWriter, FixedMatchesFmt) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200'000; ++i) {
        const uint64_t ns = rng() >> (rng() % 64);
        const double us = static_cast<double>(ns) / 1e3;
        const double ms = static_cast<double>(ns) / 1e6;
        const double s = (static_cast<double>(rng() >> (rng() % 64)) -
                          static_cast<double>(rng() >> (rng() % 64))) / 1e9;
        ASSERT_EQ(line(Fixed<1>{us}), fmt::format("{:.1f}", us)) << ns;
        ASSERT_EQ(line(Fixed<2>{ms}), fmt::format("{:.2f}", ms)) << ns;
        ASSERT_EQ(line(Fixed<6>{s, 12}), fmt::format("{:>12.6f}", s)) << s;
    }
    for (uint64_t ns = 0; ns < 20'000; ++ns) {
        const double us = static_cast<double>(ns) / 1e3;
        ASSERT_EQ(line(Fixed<1>{us}), fmt::format("{:.1f}", us)) << ns;
    }
}

TEST(LineWriter, FixedRoundsHalfToEvenLikeFmt) {
    // Exactly representable halves: 0.125 -> "0.12", 0.375 -> "0.38".
    EXPECT_EQ(line(Fixed<2>{0.125}), "0.12");
    EXPECT_EQ(line(Fixed<2>{0.375}), "0.38");
    EXPECT_EQ(line(Fixed<0>{0.5}), fmt::format("{:.0f}", 0.5));
    EXPECT_EQ(line(Fixed<1>{1.25}), "1.2");
    EXPECT_EQ(line(Fixed<6>{0.0078125}), "0.007812");  // 7,812,500 ns
    for (int j = -4096; j <= 4096; ++j) {
        const double v = j / 1024.0;
        EXPECT_EQ(line(Fixed<0>{v}), fmt::format("{:.0f}", v)) << v;
        EXPECT_EQ(line(Fixed<3>{v}), fmt::format("{:.3f}", v)) << v;
        EXPECT_EQ(line(Fixed<9>{v, 15}), fmt::format("{:>15.9f}", v)) << v;
    }
}

TEST(LineWriter, FixedEdgeValues) {
    EXPECT_EQ(line(Fixed<6>{0.0, 12}), "    0.000000");
    EXPECT_EQ(line(Fixed<6>{-0.1, 12}), "   -0.100000");
    EXPECT_EQ(line(Fixed<6>{61.25, 12}), "   61.250000");
    EXPECT_EQ(line(Fixed<6>{123456789.5, 12}), "123456789.500000");
    const double edge[] = {-0.0,   1e-300, -1e-12, 5e-324, 0.9999995, 0.99999949,
                           1e13,   9e12,   8.99e12, 1e300, -1e300,   std::numeric_limits<double>::max(),
                           INFINITY, -INFINITY, NAN};
    for (const double v : edge) {
        EXPECT_EQ(line(Fixed<6>{v, 12}), fmt::format("{:>12.6f}", v)) << v;
        EXPECT_EQ(line(Fixed<1>{v}), fmt::format("{:.1f}", v)) << v;
    }
}

TEST(LineWriter, LinesLongerThanTheBuffer) {
    // One piece longer than the buffer, and many short pieces adding up.
    const std::string long_text(5 * LineWriter::kBufferSize, 'x');
    EXPECT_EQ(line('"', long_text, '"'), '"' + long_text + '"');
    std::string out = "kept|";
    std::string expected = out;
    {
        LineWriter w(out);
        for (uint64_t i = 0; i < 1000; ++i) {
            w.put(i, ',', Hex{i}, ';');
            expected += fmt::format("{},{:#x};", i, i);
        }
        w.put(long_text);
        expected += long_text;
        w.put(Fixed<6>{1e300, 12});
        expected += fmt::format("{:>12.6f}", 1e300);
    }
    EXPECT_EQ(out, expected);
}

TEST(LineWriter, AppendsToWhatIsThere) {
    std::string out = "first\n";
    {
        LineWriter w(out);
        w.put("second ", 2u, '\n');
    }
    {
        LineWriter w(out);
    }
    EXPECT_EQ(out, "first\nsecond 2\n");
}
