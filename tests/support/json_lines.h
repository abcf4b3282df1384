// A strict reader for the flat JSON objects pagetrace writes, one per line.
// Strict on purpose: a line that is not valid JSON fails the test.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pagetrace::test {

using JsonValue = std::variant<std::nullptr_t, bool, int64_t, std::string>;

class JsonObject {
public:
    bool has(const std::string& key) const { return fields_.count(key) != 0; }
    const std::string& str(const std::string& key) const;
    int64_t num(const std::string& key) const;
    // A hex string field "0x..." as a number.
    uint64_t hex(const std::string& key) const;
    std::map<std::string, JsonValue>& fields() { return fields_; }
    const std::map<std::string, JsonValue>& fields() const { return fields_; }

private:
    std::map<std::string, JsonValue> fields_;
};

// Parses one line; nullopt with *error set if it is not one flat JSON object.
std::optional<JsonObject> parse_json_object(const std::string& line, std::string* error);

// Parses every line of `text`; throws std::runtime_error naming the bad line.
std::vector<JsonObject> parse_json_lines(const std::string& text);

}  // namespace pagetrace::test
