#include "support/json_lines.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "support/json_value.h"

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

std::optional<JsonObject> refuse(std::string* error, const std::string& what) {
    if (error) *error = what;
    return std::nullopt;
}

}  // namespace

std::optional<JsonObject> parse_json_object(const std::string& line, std::string* error) {
    std::optional<Json> json = parse_json(line, error);
    if (!json) return std::nullopt;
    if (json->kind != Json::Object) return refuse(error, "not an object");
    JsonObject obj;
    for (auto& [key, v] : json->fields) {
        JsonValue& value = obj.fields()[key];
        switch (v.kind) {
        case Json::Null: value = nullptr; break;
        case Json::Bool: value = v.boolean; break;
        case Json::String: value = std::move(v.text); break;
        case Json::Number:
            // pagetrace writes whole numbers only.
            if (v.text.find_first_of(".eE") != std::string::npos) {
                return refuse(error, "'" + key + "' is not a whole number: " + v.text);
            }
            value = static_cast<int64_t>(std::strtoll(v.text.c_str(), nullptr, 10));
            break;
        default: return refuse(error, "'" + key + "' is not a scalar");
        }
    }
    return obj;
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
