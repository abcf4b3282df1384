// The part of an output line that names an event's task (pid, tid, thread
// name), kept from one event to the next: consecutive events mostly come from
// the same thread, so it is formatted once for a run of them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "decode/event.h"
#include "output/line_writer.h"

namespace pagetrace {

class TaskTextCache {
public:
    // The text `format(LineWriter&, const Event&)` writes for e's task; it is
    // called only when the task differs from the last event's. Valid until
    // the next call.
    template <typename Format>
    std::string_view text(const Event& e, Format format) {
        if (!valid_ || e.pid != pid_ || e.tid != tid_ || e.comm != comm_) {
            pid_ = e.pid;
            tid_ = e.tid;
            comm_ = e.comm;
            text_.clear();
            LineWriter w(text_);
            format(w, e);
            valid_ = true;
        }
        return text_;
    }

private:
    bool valid_ = false;
    uint32_t pid_ = 0;
    uint32_t tid_ = 0;
    std::string comm_;
    std::string text_;
};

}  // namespace pagetrace
