// Integration tests that record a workload and read the recording back: the
// workload's own report (its lines, by their first word), the recording's
// events (replay) and its timeline, both as parsed JSON lines.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/json_value.h"
#include "support/trace_fixture.h"

namespace pagetrace::test {

inline uint64_t hex_of(const std::string& text) { return std::strtoull(text.c_str(), nullptr, 16); }

inline std::string hex_text(uint64_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

// The lines of a report whose first word is `kind`: the words after it.
inline std::vector<std::vector<std::string>> report_lines(const std::string& path,
                                                   const std::string& kind) {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string first, word;
        if (!(words >> first) || first != kind) continue;
        std::vector<std::string> rest;
        while (words >> word) rest.push_back(word);
        out.push_back(rest);
    }
    return out;
}

// Every JSON line of a timeline output, parsed.
inline std::vector<Json> json_lines(const std::string& text) {
    std::vector<Json> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::string why;
        auto value = parse_json(line, &why);
        if (!value) throw std::runtime_error("bad JSON line: " + why + ": " + line);
        out.push_back(std::move(*value));
    }
    return out;
}

// Page histories by (pid, address).
inline std::map<std::pair<uint64_t, uint64_t>, Json> histories_of(const std::vector<Json>& lines) {
    std::map<std::pair<uint64_t, uint64_t>, Json> out;
    for (const Json& l : lines) {
        if (l["type"].text == "page") out[{l["pid"].u64(), hex_of(l["addr"].text)}] = l;
    }
    return out;
}

// The entries of a history with what == `what`.
inline std::vector<const Json*> entries(const Json& history, const std::string& what) {
    std::vector<const Json*> out;
    for (const Json& e : history["events"].items) {
        if (e["what"].text == what) out.push_back(&e);
    }
    return out;
}

class RecordingTest : public TraceTest {
protected:
    // `pagetrace record -o run.ptr -- ARGS`; fails the test if it fails.
    std::string record(const std::vector<std::string>& command, double timeout_s = 120) {
        const std::string file = dir_.file("run.ptr");
        std::vector<std::string> args = {"record", "--force", "-o", file, "--"};
        args.insert(args.end(), command.begin(), command.end());
        const RunResult r = run_pagetrace(args, {.timeout_s = timeout_s});
        EXPECT_FALSE(r.timed_out);
        EXPECT_EQ(r.status, 0) << r.err;
        return file;
    }
    std::vector<Json> timeline(const std::string& file, const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args = {"timeline", file, "--format", "json"};
        args.insert(args.end(), extra.begin(), extra.end());
        const RunResult r = run_pagetrace(args, {.timeout_s = 120});
        EXPECT_EQ(r.status, 0) << r.err;
        return json_lines(r.out);
    }
    std::vector<Json> replay(const std::string& file, const std::string& types) {
        const RunResult r =
            run_pagetrace({"replay", file, "--format", "json", "--events", types}, {.timeout_s = 120});
        EXPECT_EQ(r.status, 0) << r.err;
        return json_lines(r.out);
    }
    static std::string range_arg(uint64_t addr, uint64_t len) {
        std::ostringstream out;
        out << std::hex << "0x" << addr << "-0x" << addr + len;
        return out.str();
    }
};

}  // namespace pagetrace::test
