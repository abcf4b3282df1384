// Names of kernel constants as pagetrace prints them.
#pragma once

#include <cstdint>
#include <string>

#include "decode/event.h"

namespace pagetrace {

// "rw-", "r-x", "---"; unusual extra bits are appended ("rw-|growsdown").
std::string prot_string(uint32_t prot);

// "private|anonymous", "shared|fixed", "private|anonymous|hugetlb_2MB"; unknown
// bits as hex ("private|0x8000000").
std::string mmap_flags_string(uint32_t flags);

// "4096 B", "4 KiB", "1.5 MiB": binary units, one decimal when not exact.
std::string human_size(uint64_t bytes);

// "0x7f0012345000"
std::string hex(uint64_t value);

// "read", "write", "exec"
const char* access_name(Access access);

}  // namespace pagetrace
