/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The VMA syscalls pagetrace follows, by number, and the arguments of the one
 * each traced thread is in. vma.bpf.c parks them at sys_enter and completes the
 * event at sys_exit; tlb.bpf.c reads them to name a flushed range; process.bpf.c
 * drops them when the thread exits.
 */
#ifndef PAGETRACE_SYSCALLS_BPF_H
#define PAGETRACE_SYSCALLS_BPF_H

#include "common.bpf.h"

#if defined(__TARGET_ARCH_x86)
#define PT_NR_MMAP 9
#define PT_NR_MPROTECT 10
#define PT_NR_MUNMAP 11
#define PT_NR_BRK 12
#define PT_NR_MREMAP 25
#define PT_NR_MADVISE 28
#define PT_NR_PKEY_MPROTECT 329
#else
#error "pagetrace: syscall numbers are only defined for x86-64"
#endif

/* Arguments of the VMA syscall each traced thread is in: tid -> args. */
struct pt_syscall_args {
	__u64 nr;
	__u64 args[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pt_syscall_args);
} pt_pending_syscalls SEC(".maps") __weak;

#endif /* PAGETRACE_SYSCALLS_BPF_H */
