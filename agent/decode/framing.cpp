#include "decode/framing.h"

#include <fmt/format.h>

namespace pagetrace {

bool EventRecords::malformed(size_t left) {
    if (left < sizeof(pt_event_header)) {
        error_ = fmt::format("record at payload offset {} has {} bytes, less than an event header",
                             pos_, left);
        return false;
    }
    uint16_t size = 0;
    std::memcpy(&size, payload_.data() + pos_ + offsetof(pt_event_header, size), sizeof(size));
    error_ = fmt::format("record at payload offset {} declares {} bytes ({} remain)", pos_, size,
                         left);
    return false;
}

}  // namespace pagetrace
