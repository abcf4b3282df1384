// Any JSON document (RFC 8259), read strictly into a tree, for tests that
// check JSON output without trusting the code that wrote it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagetrace::test {

struct Json {
    enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
    bool boolean = false;
    std::string text;  // a number as written, or a string decoded (UTF-8)
    std::vector<Json> items;             // of an Array
    std::map<std::string, Json> fields;  // of an Object

    // The field `key`, or a Null value if there is none.
    const Json& operator[](const std::string& key) const;
    bool has(const std::string& key) const { return fields.count(key) != 0; }
    uint64_t u64() const { return std::stoull(text); }
};

// `text` as exactly one JSON value, white space around it allowed. Strict:
// control characters, unknown or bad escapes, unpaired surrogates and bytes
// that are not UTF-8 in strings, numbers off the grammar (leading zeros,
// "1.", "-"), duplicate keys and nesting deeper than 64 are refused. nullopt,
// with *why (if not null) saying what is wrong where, if it is not that.
std::optional<Json> parse_json(std::string_view text, std::string* why);

}  // namespace pagetrace::test
