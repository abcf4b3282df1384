#include "support/json_lines.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace pagetrace::test {

const std::string& JsonObject::str(const std::string& key) const {
    auto it = fields_.find(key);
    if (it == fields_.end() || !std::holds_alternative<std::string>(it->second)) {
        throw std::runtime_error("no string field '" + key + "'");
    }
    return std::get<std::string>(it->second);
}

int64_t JsonObject::num(const std::string& key) const {
    auto it = fields_.find(key);
    if (it == fields_.end() || !std::holds_alternative<int64_t>(it->second)) {
        throw std::runtime_error("no integer field '" + key + "'");
    }
    return std::get<int64_t>(it->second);
}

uint64_t JsonObject::hex(const std::string& key) const {
    const std::string& text = str(key);
    if (text.rfind("0x", 0) != 0 || text.size() < 3) {
        throw std::runtime_error("field '" + key + "' is not a hex string: " + text);
    }
    return std::strtoull(text.c_str() + 2, nullptr, 16);
}

namespace {

class Parser {
public:
    explicit Parser(const std::string& s) : s_(s) {}

    std::optional<JsonObject> object(std::string* error) {
        JsonObject obj;
        skip_ws();
        if (!eat('{')) return fail(error, "expected '{'");
        skip_ws();
        if (eat('}')) return finish(obj, error);
        while (true) {
            skip_ws();
            std::string key;
            if (!string(key)) return fail(error, "expected a key string");
            skip_ws();
            if (!eat(':')) return fail(error, "expected ':'");
            skip_ws();
            JsonValue value;
            if (!scalar(value)) return fail(error, "expected a scalar value for '" + key + "'");
            if (obj.has(key)) return fail(error, "duplicate key '" + key + "'");
            obj.fields()[key] = value;
            skip_ws();
            if (eat(',')) continue;
            if (eat('}')) return finish(obj, error);
            return fail(error, "expected ',' or '}'");
        }
    }

private:
    std::optional<JsonObject> finish(JsonObject& obj, std::string* error) {
        skip_ws();
        if (i_ != s_.size()) return fail(error, "trailing characters");
        return obj;
    }
    std::optional<JsonObject> fail(std::string* error, const std::string& what) {
        if (error) *error = what + " at column " + std::to_string(i_);
        return std::nullopt;
    }
    void skip_ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
    }
    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    bool string(std::string& out) {
        if (!eat('"')) return false;
        while (i_ < s_.size()) {
            const unsigned char c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') return true;
            if (c < 0x20) return false;
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            if (i_ >= s_.size()) return false;
            const char e = s_[i_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                if (i_ + 4 > s_.size()) return false;
                const unsigned long cp = std::strtoul(s_.substr(i_, 4).c_str(), nullptr, 16);
                i_ += 4;
                if (cp < 0x80) {
                    out += static_cast<char>(cp);
                } else if (cp < 0x800) {
                    out += static_cast<char>(0xc0 | (cp >> 6));
                    out += static_cast<char>(0x80 | (cp & 0x3f));
                } else {
                    out += static_cast<char>(0xe0 | (cp >> 12));
                    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
                    out += static_cast<char>(0x80 | (cp & 0x3f));
                }
                break;
            }
            default: return false;
            }
        }
        return false;
    }
    bool scalar(JsonValue& out) {
        if (i_ >= s_.size()) return false;
        const char c = s_[i_];
        if (c == '"') {
            std::string text;
            if (!string(text)) return false;
            out = text;
            return true;
        }
        if (s_.compare(i_, 4, "true") == 0) {
            i_ += 4;
            out = true;
            return true;
        }
        if (s_.compare(i_, 5, "false") == 0) {
            i_ += 5;
            out = false;
            return true;
        }
        if (s_.compare(i_, 4, "null") == 0) {
            i_ += 4;
            out = nullptr;
            return true;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i_;
            if (c == '-') ++i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
            if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) return false;
            out = static_cast<int64_t>(std::strtoll(s_.substr(start, i_ - start).c_str(), nullptr, 10));
            return i_ > start + (c == '-' ? 1 : 0);
        }
        return false;
    }

    const std::string& s_;
    size_t i_ = 0;
};

}  // namespace

std::optional<JsonObject> parse_json_object(const std::string& line, std::string* error) {
    return Parser(line).object(error);
}

std::vector<JsonObject> parse_json_lines(const std::string& text) {
    std::vector<JsonObject> out;
    std::istringstream in(text);
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::string error;
        auto obj = parse_json_object(line, &error);
        if (!obj) {
            throw std::runtime_error("line " + std::to_string(number) + " is not valid JSON (" +
                                     error + "): " + line.substr(0, 200));
        }
        out.push_back(std::move(*obj));
    }
    if (!text.empty() && text.back() != '\n') {
        throw std::runtime_error("output does not end with a newline (cut-off last line)");
    }
    return out;
}

}  // namespace pagetrace::test
