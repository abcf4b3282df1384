// Names of kernel constants as pagetrace prints them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

// Text for a terminal or a line-oriented file: control characters (a thread
// may name itself "a\nb") as \xNN, so one record stays one line.
std::string printable(std::string_view text);

// "read", "write", "exec" ("unknown" when the source has no error code)
std::string_view access_name(Access access);

// "minor", "major", "unaccounted"; "" for unknown (the field is then omitted)
std::string_view outcome_name(FaultOutcome outcome);

// madvise advice: "dontneed", "free", "hugepage", ...; unknown values as decimal
std::string madvise_advice_name(int32_t advice);

// mremap flags: "maymove|fixed", "0" for none; unknown bits as hex
std::string mremap_flags_string(uint32_t flags);

// PT_TLB_* -> "task_switch", "remote_shootdown", ...
const char* tlb_reason_name(uint32_t reason);

// PT_MR_* -> "compaction", "numa_misplaced", ...
const char* migrate_reason_name(uint32_t reason);

// A device number as the kernel encodes dev_t in its structures (MAJOR << 20 |
// MINOR), as "MAJOR:MINOR" ("8:1", "0:38").
std::string kernel_dev_string(uint32_t dev);

// PT_MIGRATE_* -> "async", "sync_light", "sync", ...
const char* migrate_mode_name(uint32_t mode);

}  // namespace pagetrace
