#include "support/json_value.h"

#include <cstdint>

namespace pagetrace::test {

const Json& Json::operator[](const std::string& key) const {
    static const Json missing{};
    auto it = fields.find(key);
    return it == fields.end() ? missing : it->second;
}

namespace {

bool fail(std::string* why, const char* what) {
    if (why) *why = what;
    return false;
}

void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
        return;
    }
    const int extra = cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    static constexpr unsigned char kLead[] = {0, 0xc0, 0xe0, 0xf0};
    out += static_cast<char>(kLead[extra] | (cp >> (6 * extra)));
    for (int k = extra - 1; k >= 0; --k) out += static_cast<char>(0x80 | ((cp >> (6 * k)) & 0x3f));
}

// The four hex digits of a \u escape.
bool four_hex(std::string_view in, size_t& pos, uint32_t& cp, std::string* why) {
    cp = 0;
    for (int k = 0; k < 4; ++k, ++pos) {
        const char c = pos < in.size() ? in[pos] : '\0';
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        if (digit < 0) return fail(why, "bad \\u escape");
        cp = cp * 16 + static_cast<uint32_t>(digit);
    }
    return true;
}

// One raw (unescaped) multi-byte UTF-8 character.
bool raw_utf8(std::string_view in, size_t& pos, std::string& out, std::string* why) {
    const auto lead = static_cast<unsigned char>(in[pos]);
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (lead >= 0xc0 && lead < 0xe0) {
        len = 2, cp = lead & 0x1f, min = 0x80;
    } else if (lead >= 0xe0 && lead < 0xf0) {
        len = 3, cp = lead & 0x0f, min = 0x800;
    } else if (lead >= 0xf0 && lead < 0xf8) {
        len = 4, cp = lead & 0x07, min = 0x10000;
    } else {
        return fail(why, "byte that cannot start UTF-8");
    }
    if (in.size() - pos < len) return fail(why, "cut-off UTF-8");
    for (size_t k = 1; k < len; ++k) {
        const auto c = static_cast<unsigned char>(in[pos + k]);
        if ((c & 0xc0) != 0x80) return fail(why, "bad UTF-8 continuation byte");
        cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min) return fail(why, "overlong UTF-8");
    if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return fail(why, "invalid UTF-8 character");
    out.append(in.substr(pos, len));
    pos += len;
    return true;
}

size_t run_of_digits(std::string_view in, size_t& pos) {
    const size_t from = pos;
    while (pos < in.size() && in[pos] >= '0' && in[pos] <= '9') ++pos;
    return pos - from;
}

// A string literal, from its opening quote to its closing one. Refuses raw
// control characters, unknown escapes, bad \u escapes and unpaired
// surrogates, and raw bytes that are not UTF-8 (overlong forms, surrogates,
// past U+10FFFF). Appends the decoded text, in UTF-8, to `out`.
bool read_json_string(std::string_view in, size_t& pos, std::string& out, std::string* why) {
    if (pos >= in.size() || in[pos] != '"') return fail(why, "string expected");
    ++pos;
    for (;;) {
        if (pos >= in.size()) return fail(why, "string not closed");
        const auto c = static_cast<unsigned char>(in[pos]);
        if (c == '"') {
            ++pos;
            return true;
        }
        if (c < 0x20) return fail(why, "unescaped control character");
        if (c >= 0x80) {
            if (!raw_utf8(in, pos, out, why)) return false;
            continue;
        }
        ++pos;
        if (c != '\\') {
            out += static_cast<char>(c);
            continue;
        }
        if (pos >= in.size()) return fail(why, "escape cut off");
        char plain = 0;
        switch (in[pos++]) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
            uint32_t cp = 0;
            if (!four_hex(in, pos, cp, why)) return false;
            if (cp >= 0xdc00 && cp < 0xe000) return fail(why, "unpaired low surrogate");
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (in.substr(pos, 2) != "\\u") return fail(why, "unpaired high surrogate");
                pos += 2;
                uint32_t low = 0;
                if (!four_hex(in, pos, low, why)) return false;
                if (low < 0xdc00 || low >= 0xe000) return fail(why, "bad low surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            }
            put_utf8(out, cp);
            continue;
        }
        default: return fail(why, "unknown escape");
        }
        out += plain;
    }
}

// A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? . Sets `token`
// to it as written.
bool read_json_number(std::string_view in, size_t& pos, std::string& token, std::string* why) {
    const size_t from = pos;
    if (pos < in.size() && in[pos] == '-') ++pos;
    if (pos < in.size() && in[pos] == '0') {
        ++pos;  // no leading zeros
    } else if (run_of_digits(in, pos) == 0) {
        return fail(why, "number expected");
    }
    if (pos < in.size() && in[pos] == '.') {
        ++pos;
        if (run_of_digits(in, pos) == 0) return fail(why, "digits expected after '.'");
    }
    if (pos < in.size() && (in[pos] == 'e' || in[pos] == 'E')) {
        ++pos;
        if (pos < in.size() && (in[pos] == '+' || in[pos] == '-')) ++pos;
        if (run_of_digits(in, pos) == 0) return fail(why, "digits expected in exponent");
    }
    token.assign(in.substr(from, pos - from));
    return true;
}

class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}

    bool document(Json& out) {
        if (!value(out, 0)) return false;
        blanks();
        return pos_ == in_.size() || fail("trailing characters");
    }
    std::string why() const { return why_ + " at offset " + std::to_string(pos_); }

private:
    bool fail(const std::string& what) {
        if (why_.empty()) why_ = what;
        return false;
    }
    char peek() const { return pos_ < in_.size() ? in_[pos_] : '\0'; }
    bool take(char c) {
        blanks();
        if (peek() != c) return false;
        ++pos_;
        return true;
    }
    void blanks() {
        while (pos_ < in_.size() &&
               (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
            ++pos_;
        }
    }
    bool literal(std::string_view word) {
        if (in_.substr(pos_, word.size()) != word) return fail("bad literal");
        pos_ += word.size();
        return true;
    }

    bool value(Json& out, int depth) {
        if (depth > 64) return fail("nesting too deep");
        blanks();
        std::string why;
        switch (peek()) {
        case '{':
            out.kind = Json::Object;
            ++pos_;
            if (take('}')) return true;
            do {
                blanks();
                std::string key;
                if (!read_json_string(in_, pos_, key, &why)) return fail("key: " + why);
                if (out.fields.count(key)) return fail("duplicate key");
                if (!take(':')) return fail("expected ':'");
                if (!value(out.fields[key], depth + 1)) return false;
            } while (take(','));
            return take('}') || fail("expected ',' or '}'");
        case '[':
            out.kind = Json::Array;
            ++pos_;
            if (take(']')) return true;
            do {
                out.items.emplace_back();
                if (!value(out.items.back(), depth + 1)) return false;
            } while (take(','));
            return take(']') || fail("expected ',' or ']'");
        case '"':
            out.kind = Json::String;
            return read_json_string(in_, pos_, out.text, &why) || fail(why);
        case 't':
            out.kind = Json::Bool;
            out.boolean = true;
            return literal("true");
        case 'f':
            out.kind = Json::Bool;
            return literal("false");
        case 'n':
            out.kind = Json::Null;
            return literal("null");
        default:
            out.kind = Json::Number;
            return read_json_number(in_, pos_, out.text, &why) || fail(why);
        }
    }

    std::string_view in_;
    size_t pos_ = 0;
    std::string why_;
};

}  // namespace

std::optional<Json> parse_json(std::string_view text, std::string* why) {
    Reader reader(text);
    Json out;
    if (!reader.document(out)) {
        if (why) *why = reader.why();
        return std::nullopt;
    }
    return out;
}

}  // namespace pagetrace::test
