// What /proc/kpageflags says of a frame: one u64 of KPF_* bits per PFN
// (include/uapi/linux/kernel-page-flags.h; Documentation/admin-guide/mm/pagemap.rst).
#pragma once

#include <cstdint>

namespace pagetrace::kernel {

inline constexpr uint64_t kpf(unsigned bit) { return uint64_t{1} << bit; }

inline constexpr uint64_t kKpfLocked = kpf(0);
inline constexpr uint64_t kKpfError = kpf(1);
inline constexpr uint64_t kKpfReferenced = kpf(2);
inline constexpr uint64_t kKpfUptodate = kpf(3);
inline constexpr uint64_t kKpfDirty = kpf(4);
inline constexpr uint64_t kKpfLru = kpf(5);
inline constexpr uint64_t kKpfActive = kpf(6);
inline constexpr uint64_t kKpfSlab = kpf(7);
inline constexpr uint64_t kKpfWriteback = kpf(8);
inline constexpr uint64_t kKpfReclaim = kpf(9);
inline constexpr uint64_t kKpfBuddy = kpf(10);
inline constexpr uint64_t kKpfMmap = kpf(11);
inline constexpr uint64_t kKpfAnon = kpf(12);
inline constexpr uint64_t kKpfSwapcache = kpf(13);
inline constexpr uint64_t kKpfSwapbacked = kpf(14);
inline constexpr uint64_t kKpfCompoundHead = kpf(15);
inline constexpr uint64_t kKpfCompoundTail = kpf(16);
inline constexpr uint64_t kKpfHuge = kpf(17);  // hugetlbfs
inline constexpr uint64_t kKpfUnevictable = kpf(18);
inline constexpr uint64_t kKpfHwpoison = kpf(19);
inline constexpr uint64_t kKpfNopage = kpf(20);
inline constexpr uint64_t kKpfKsm = kpf(21);
inline constexpr uint64_t kKpfThp = kpf(22);  // a transparent huge page (or its tail)
inline constexpr uint64_t kKpfOffline = kpf(23);
inline constexpr uint64_t kKpfZeroPage = kpf(24);  // the zero page or the huge zero page
inline constexpr uint64_t kKpfIdle = kpf(25);
inline constexpr uint64_t kKpfPgtable = kpf(26);

}  // namespace pagetrace::kernel
