// Where the label of a fault site comes from. The report ranks sites by
// instruction pointer; what it prints for one is asked here, so a labeler that
// knows symbols (function + offset, file:line) replaces the hex one without
// the report changing.
#pragma once

#include <cstdint>
#include <string>

#include "output/names.h"

namespace pagetrace {

class FaultSiteLabeler {
public:
    virtual ~FaultSiteLabeler() = default;
    // The label of the instruction at `ip` in process `pid` ("0x401136" when
    // nothing better is known); `kernel` when the fault was taken in kernel mode.
    virtual std::string label(uint32_t pid, uint64_t ip, bool kernel) const = 0;
};

// Sites by their instruction pointer, in hex.
class HexFaultSiteLabeler : public FaultSiteLabeler {
public:
    std::string label(uint32_t, uint64_t ip, bool kernel) const override {
        return kernel ? hex(ip) + " (kernel)" : hex(ip);
    }
};

}  // namespace pagetrace
