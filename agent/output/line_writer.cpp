#include "output/line_writer.h"

#include <fmt/format.h>

namespace pagetrace {

char* line_writer_detail::write_large_fixed(char* p, double value, int precision, size_t width) {
    return fmt::format_to(p, "{:>{}.{}f}", value, width, precision);
}

void LineWriter::spill() {
    out_.append(buffer_, static_cast<size_t>(pos_ - buffer_));
    pos_ = buffer_;
    reserve_for_buffer();
}

}  // namespace pagetrace
