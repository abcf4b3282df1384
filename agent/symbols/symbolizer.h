// Turning instruction pointers into code locations: the interface the
// formatters, the timeline's fault sites and the exporters use.
//
//   const CodeLocation* where = symbolizer.locate(pid, ip, /*kernel=*/false);
//   if (where) use(where->sym, where->dso, where->src);   // "alpha_touch+0x1f", "app", "app.c:12"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pagetrace {

struct CodeLocation {
    std::string sym;   // "alpha_touch+0x1f"; "" when the file has no symbol there
    std::string dso;   // "app", "libc.so.6", "[kernel]", "[jit]"
    std::string src;   // "app.c:12" (file name and line of the innermost frame); "" if unknown
    std::vector<std::string> inlined;  // functions inlined at the ip, innermost first

    // Precomputed renderings, so formatting a located event costs a copy:
    std::string label;  // for text: "alpha_touch+0x1f", "alpha_touch+0x1f [inlined touch]", "libc.so.6+0x1234"
    std::string json;   // the JSON members: ,"sym":"...","dso":"...","src":"...","inlined":"f, g" (those known)
};

// Which code an ip is, found without reading any file: resolve() it later
// (a summary printed at the end, while tracing has no time to spare).
struct CodeKey {
    enum class Kind : uint8_t { None, File, Kernel, Located };
    Kind kind = Kind::None;
    const void* ref = nullptr;  // File: the symbolizer's file; Located: the CodeLocation
    uint64_t value = 0;         // File: the offset in it; Kernel: the ip
};

class Symbolizer {
public:
    virtual ~Symbolizer() = default;
    // Where `ip` of process `pid` is at this point of the stream; kernel:
    // a kernel-mode IP. nullptr when it cannot be known. The location stays
    // valid as long as the symbolizer.
    virtual const CodeLocation* locate(uint32_t pid, uint64_t ip, bool kernel) = 0;
    // The same in two steps: key() now, at this point of the stream (cheap),
    // resolve() whenever (the work: libdwfl, kallsyms). A key stays valid as
    // long as the symbolizer.
    virtual CodeKey key(uint32_t pid, uint64_t ip, bool kernel) = 0;
    virtual const CodeLocation* resolve(const CodeKey& key) = 0;
};

// Fills label and json from the other fields.
void finish_location(CodeLocation& where);

}  // namespace pagetrace
