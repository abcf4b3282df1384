/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event ABI shared by the BPF programs and the agent.
 *
 * Rules (see docs/design in README): plain C, fixed-width fields only, explicit
 * padding, no bool/long/pointer/enum-typed fields. Every record starts with
 * struct pt_event_header; hdr.size is the size of the whole record. Any change
 * to a layout below must bump PT_ABI_VERSION, because recordings store events
 * in exactly this layout.
 *
 * The BPF side gets __u8..__u64 from vmlinux.h; C/C++ code from <linux/types.h>.
 */
#ifndef PAGETRACE_EVENTS_H
#define PAGETRACE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * 3: exit and exec records end with the process's own fault counters
 *    (min_flt, maj_flt); fault_around records. Records of version 2 are still
 *    read: exit records of 56 bytes and exec records of 296 have no counters.
 */
#define PT_ABI_VERSION 3

#define PT_COMM_LEN 16
#define PT_FILENAME_LEN 256

/* Values of pt_event_header.type. PT_EV_LOST is made by the agent, never by BPF. */
#define PT_EV_FAULT 1
#define PT_EV_MMAP 2
#define PT_EV_MUNMAP 3
#define PT_EV_FORK 4
#define PT_EV_EXEC 5
#define PT_EV_EXIT 6
#define PT_EV_LOST 7
#define PT_EV_MREMAP 8
#define PT_EV_BRK 9
#define PT_EV_MPROTECT 10
#define PT_EV_MADVISE 11
#define PT_EV_TLB_FLUSH 12
#define PT_EV_MIGRATE 13
#define PT_EV_MIGRATE_BATCH 14
#define PT_EV_FAULT_AROUND 15
#define PT_EV_TYPE_MAX 15

/* pt_fault_event.access */
#define PT_ACCESS_READ 0
#define PT_ACCESS_WRITE 1
#define PT_ACCESS_EXEC 2
#define PT_ACCESS_UNKNOWN 3 /* the fault's source carries no error code */

/* pt_fault_event.mode: where the faulting instruction ran */
#define PT_MODE_USER 0
#define PT_MODE_KERNEL 1

/* pt_fault_event.outcome: how the fault ended */
#define PT_OUTCOME_UNKNOWN 0     /* no completion source on this kernel */
#define PT_OUTCOME_MINOR 1
#define PT_OUTCOME_MAJOR 2
#define PT_OUTCOME_UNACCOUNTED 3 /* never completed: error, or retried from user space */

/* pt_tlb_flush_event.reason (stable values, mapped from the kernel's enum) */
#define PT_TLB_TASK_SWITCH 0
#define PT_TLB_REMOTE_SHOOTDOWN 1
#define PT_TLB_LOCAL_SHOOTDOWN 2
#define PT_TLB_LOCAL_MM_SHOOTDOWN 3
#define PT_TLB_REMOTE_SEND_IPI 4
#define PT_TLB_REMOTE_WRONG_CPU 5
#define PT_TLB_UNKNOWN_REASON 255
#define PT_TLB_FLUSH_ALL 0xffffffffffffffffULL

/* Migration reasons (stable values, mapped from the kernel's enum migrate_reason) */
#define PT_MR_COMPACTION 0
#define PT_MR_MEMORY_FAILURE 1
#define PT_MR_MEMORY_HOTPLUG 2
#define PT_MR_SYSCALL 3
#define PT_MR_MEMPOLICY_MBIND 4
#define PT_MR_NUMA_MISPLACED 5
#define PT_MR_CONTIG_RANGE 6
#define PT_MR_LONGTERM_PIN 7
#define PT_MR_DEMOTION 8
#define PT_MR_DAMON 9
#define PT_MR_UNKNOWN 255

/* Migration modes (stable values, mapped from the kernel's enum migrate_mode) */
#define PT_MIGRATE_ASYNC 0
#define PT_MIGRATE_SYNC_LIGHT 1
#define PT_MIGRATE_SYNC 2
#define PT_MIGRATE_SYNC_NO_COPY 3
#define PT_MIGRATE_UNKNOWN_MODE 255

/* Values of the BPF "pt_targets" map (key: tgid). */
#define PT_TARGET_ACTIVE 1
#define PT_TARGET_PENDING_EXEC 2 /* traced from its next execve() on */

/* Value of the BPF "pt_targets" map. */
struct pt_target {
	__u32 state;            /* PT_TARGET_* */
	__u32 reserved;
	char comm[PT_COMM_LEN]; /* process name, for events attributed from elsewhere */
};

/* Value of the BPF "pt_frames" map (key: PFN): the traced page a frame backs. */
struct pt_frame_owner {
	__u32 tgid;
	__u32 reserved;
	__u64 vaddr; /* page-aligned virtual address */
};

/* Bits of the event-type mask (rodata pt_cfg_event_mask): 1 << PT_EV_* */
#define PT_EVENT_BIT(type) (1ULL << (type))

struct pt_event_header {
	__u16 type;
	__u16 size;   /* bytes of the whole record, header included */
	__u32 cpu;    /* CPU the event was taken on */
	__u64 ts_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 tgid;   /* process id */
	__u32 tid;    /* thread id */
	char comm[PT_COMM_LEN]; /* thread name, NUL-padded */
};

/*
 * A page fault on a user address. hdr.ts_ns is the time of fault entry; the
 * record is emitted when the fault completes (or is known not to have), so it
 * can carry the outcome and the latency.
 */
struct pt_fault_event {
	struct pt_event_header hdr;
	__u64 addr;       /* faulting virtual address */
	__u64 ip;         /* instruction pointer (a kernel address for mode kernel) */
	__u32 error_code; /* raw x86 page-fault error code */
	__u8 access;      /* PT_ACCESS_* */
	__u8 mode;        /* PT_MODE_* */
	__u8 outcome;     /* PT_OUTCOME_* */
	__u8 reserved;
	__u64 latency_ns; /* entry to completion; 0 unless outcome is minor or major */
};

/* mmap(2), taken at syscall exit. */
struct pt_mmap_event {
	struct pt_event_header hdr;
	__u64 addr;  /* returned address; the requested hint if the call failed */
	__u64 len;   /* requested length in bytes */
	__u64 pgoff; /* file offset in pages (offset argument / page size) */
	__u32 prot;  /* PROT_* bits */
	__u32 flags; /* MAP_* bits */
	__s32 fd;
	__s32 err; /* 0, or the positive errno the call failed with */
};

/* munmap(2), taken at syscall exit. */
struct pt_munmap_event {
	struct pt_event_header hdr;
	__u64 addr;
	__u64 len;
	__s32 err;
	__u32 reserved;
};

/* A traced process created a new process (not a thread). */
struct pt_fork_event {
	struct pt_event_header hdr;
	__u32 child_pid;
	__u32 reserved;
	__u64 child_start_ns; /* the child's start time: (pid, start) names a process */
};

/* A traced process called execve() successfully. */
struct pt_exec_event {
	struct pt_event_header hdr;
	char filename[PT_FILENAME_LEN]; /* NUL-terminated, truncated if longer */
	/* ABI 3: the faults the kernel had accounted to the process by then (for
	 * a process traced from this exec on: what it did before tracing). */
	__u64 min_flt;
	__u64 maj_flt;
};

/* The size of an exec record of ABI 2, which has no fault counters. */
#define PT_EXEC_EVENT_V2_SIZE (40 + PT_FILENAME_LEN)

/* The last thread of a traced process exited. */
struct pt_exit_event {
	struct pt_event_header hdr;
	__u32 exit_code; /* wait(2)-style status: (code << 8) | signal */
	__u32 reserved;
	__u64 start_ns; /* the process's start time */
	/* ABI 3: the faults the kernel accounted to the process, all its threads
	 * (what getrusage(RUSAGE_SELF) gives inside it at its end). */
	__u64 min_flt;
	__u64 maj_flt;
};

/* The size of an exit record of ABI 2, which has no fault counters. */
#define PT_EXIT_EVENT_V2_SIZE 56

/* mremap(2), at syscall exit. */
struct pt_mremap_event {
	struct pt_event_header hdr;
	__u64 old_addr;
	__u64 old_len;
	__u64 new_addr; /* the result; the requested new address if the call failed */
	__u64 new_len;
	__u32 flags;    /* MREMAP_* */
	__s32 err;
};

/* brk(2), at syscall exit. brk never fails: a refused request returns the old break. */
struct pt_brk_event {
	struct pt_event_header hdr;
	__u64 addr; /* requested break (0: query) */
	__u64 ret;  /* the break after the call */
};

/* mprotect(2) and pkey_mprotect(2), at syscall exit. */
struct pt_mprotect_event {
	struct pt_event_header hdr;
	__u64 addr;
	__u64 len;
	__u32 prot;
	__s32 err;
};

/* madvise(2), at syscall exit. */
struct pt_madvise_event {
	struct pt_event_header hdr;
	__u64 addr;
	__u64 len;
	__s32 advice; /* MADV_* */
	__s32 err;
};

/*
 * A TLB flush of a traced process's address space. hdr.tgid is the owner;
 * hdr.tid is the thread that ran the flush if it belongs to the owner, else 0.
 */
struct pt_tlb_flush_event {
	struct pt_event_header hdr;
	__u64 pages; /* pages flushed, or PT_TLB_FLUSH_ALL */
	__u64 start; /* range it was for, when known (else start == end == 0) */
	__u64 end;
	__u32 reason; /* PT_TLB_* */
	__u32 reserved;
};

/*
 * A page of a traced process moved to another frame. Migration runs in other
 * tasks (kcompactd, a NUMA-balancing fault, a syscall): hdr.tgid is the page's
 * owner, hdr.tid 0, hdr.comm the owner's name; by_* name the task that did it.
 */
struct pt_migrate_event {
	struct pt_event_header hdr;
	__u64 addr;    /* virtual address of the (head) page in the owner */
	__u64 old_pfn;
	__u64 new_pfn;
	__u32 order;   /* 0: 4 KiB page, 9: 2 MiB huge page */
	__u32 reason;  /* PT_MR_* */
	__u32 mode;    /* PT_MIGRATE_* */
	__u32 by_pid;
	char by_comm[PT_COMM_LEN];
};

/* One migrate_pages() call that moved pages of a traced process. */
struct pt_migrate_batch_event {
	struct pt_event_header hdr;
	__u64 succeeded;
	__u64 failed;
	__u64 thp_succeeded;
	__u64 thp_failed;
	__u32 reason;        /* PT_MR_* */
	__u32 mode;          /* PT_MIGRATE_* */
	__u32 by_pid;
	__u32 traced_pages;  /* migrate events this batch produced */
	char by_comm[PT_COMM_LEN];
};

/*
 * A file fault of a traced thread mapped the pages around it that were in the
 * page cache (fault-around, filemap_map_pages): [addr, addr + len) in the
 * process's address space, the part of the file the kernel looked at. Pages
 * in it that were not cached, or already mapped, were left alone.
 */
struct pt_fault_around_event {
	struct pt_event_header hdr;
	__u64 addr;       /* first page of the range */
	__u64 len;        /* bytes */
	__u64 fault_addr; /* the fault that caused it (0 if unknown) */
	__u64 ino;        /* the file */
	__u32 dev;        /* its device, as the kernel encodes dev_t (MAJOR << 20 | MINOR) */
	__u32 reserved;
};

/* Events the kernel side could not store: the ring buffer was full. */
struct pt_lost_event {
	struct pt_event_header hdr;
	__u64 count;
	__u32 lost_cpu;
	__u32 reserved;
};

#ifdef __cplusplus
#include <cstddef>
static_assert(sizeof(struct pt_event_header) == 40, "ABI: header size");
static_assert(offsetof(struct pt_event_header, type) == 0, "ABI");
static_assert(offsetof(struct pt_event_header, size) == 2, "ABI");
static_assert(offsetof(struct pt_event_header, cpu) == 4, "ABI");
static_assert(offsetof(struct pt_event_header, ts_ns) == 8, "ABI");
static_assert(offsetof(struct pt_event_header, tgid) == 16, "ABI");
static_assert(offsetof(struct pt_event_header, tid) == 20, "ABI");
static_assert(offsetof(struct pt_event_header, comm) == 24, "ABI");

static_assert(sizeof(struct pt_fault_event) == 72, "ABI: fault size");
static_assert(offsetof(struct pt_fault_event, outcome) == 62, "ABI");
static_assert(offsetof(struct pt_fault_event, latency_ns) == 64, "ABI");
static_assert(offsetof(struct pt_fault_event, addr) == 40, "ABI");
static_assert(offsetof(struct pt_fault_event, ip) == 48, "ABI");
static_assert(offsetof(struct pt_fault_event, error_code) == 56, "ABI");
static_assert(offsetof(struct pt_fault_event, access) == 60, "ABI");
static_assert(offsetof(struct pt_fault_event, mode) == 61, "ABI");

static_assert(sizeof(struct pt_mmap_event) == 80, "ABI: mmap size");
static_assert(offsetof(struct pt_mmap_event, addr) == 40, "ABI");
static_assert(offsetof(struct pt_mmap_event, len) == 48, "ABI");
static_assert(offsetof(struct pt_mmap_event, pgoff) == 56, "ABI");
static_assert(offsetof(struct pt_mmap_event, prot) == 64, "ABI");
static_assert(offsetof(struct pt_mmap_event, flags) == 68, "ABI");
static_assert(offsetof(struct pt_mmap_event, fd) == 72, "ABI");
static_assert(offsetof(struct pt_mmap_event, err) == 76, "ABI");

static_assert(sizeof(struct pt_munmap_event) == 64, "ABI: munmap size");
static_assert(offsetof(struct pt_munmap_event, addr) == 40, "ABI");
static_assert(offsetof(struct pt_munmap_event, len) == 48, "ABI");
static_assert(offsetof(struct pt_munmap_event, err) == 56, "ABI");

static_assert(sizeof(struct pt_fork_event) == 56, "ABI: fork size");
static_assert(offsetof(struct pt_fork_event, child_pid) == 40, "ABI");
static_assert(offsetof(struct pt_fork_event, child_start_ns) == 48, "ABI");

static_assert(sizeof(struct pt_exec_event) == PT_EXEC_EVENT_V2_SIZE + 16, "ABI: exec size");
static_assert(offsetof(struct pt_exec_event, filename) == 40, "ABI");
static_assert(offsetof(struct pt_exec_event, min_flt) == PT_EXEC_EVENT_V2_SIZE, "ABI");
static_assert(offsetof(struct pt_exec_event, maj_flt) == PT_EXEC_EVENT_V2_SIZE + 8, "ABI");

static_assert(sizeof(struct pt_exit_event) == 72, "ABI: exit size");
static_assert(offsetof(struct pt_exit_event, exit_code) == 40, "ABI");
static_assert(offsetof(struct pt_exit_event, start_ns) == 48, "ABI");
static_assert(offsetof(struct pt_exit_event, min_flt) == PT_EXIT_EVENT_V2_SIZE, "ABI");
static_assert(offsetof(struct pt_exit_event, maj_flt) == 64, "ABI");

static_assert(sizeof(struct pt_fault_around_event) == 80, "ABI: fault_around size");
static_assert(offsetof(struct pt_fault_around_event, addr) == 40, "ABI");
static_assert(offsetof(struct pt_fault_around_event, len) == 48, "ABI");
static_assert(offsetof(struct pt_fault_around_event, fault_addr) == 56, "ABI");
static_assert(offsetof(struct pt_fault_around_event, ino) == 64, "ABI");
static_assert(offsetof(struct pt_fault_around_event, dev) == 72, "ABI");

static_assert(sizeof(struct pt_lost_event) == 56, "ABI: lost size");
static_assert(offsetof(struct pt_lost_event, count) == 40, "ABI");
static_assert(offsetof(struct pt_lost_event, lost_cpu) == 48, "ABI");

static_assert(sizeof(struct pt_mremap_event) == 80, "ABI: mremap size");
static_assert(offsetof(struct pt_mremap_event, old_addr) == 40, "ABI");
static_assert(offsetof(struct pt_mremap_event, old_len) == 48, "ABI");
static_assert(offsetof(struct pt_mremap_event, new_addr) == 56, "ABI");
static_assert(offsetof(struct pt_mremap_event, new_len) == 64, "ABI");
static_assert(offsetof(struct pt_mremap_event, flags) == 72, "ABI");
static_assert(offsetof(struct pt_mremap_event, err) == 76, "ABI");

static_assert(sizeof(struct pt_brk_event) == 56, "ABI: brk size");
static_assert(offsetof(struct pt_brk_event, addr) == 40, "ABI");
static_assert(offsetof(struct pt_brk_event, ret) == 48, "ABI");

static_assert(sizeof(struct pt_mprotect_event) == 64, "ABI: mprotect size");
static_assert(offsetof(struct pt_mprotect_event, addr) == 40, "ABI");
static_assert(offsetof(struct pt_mprotect_event, len) == 48, "ABI");
static_assert(offsetof(struct pt_mprotect_event, prot) == 56, "ABI");
static_assert(offsetof(struct pt_mprotect_event, err) == 60, "ABI");

static_assert(sizeof(struct pt_madvise_event) == 64, "ABI: madvise size");
static_assert(offsetof(struct pt_madvise_event, advice) == 56, "ABI");
static_assert(offsetof(struct pt_madvise_event, err) == 60, "ABI");

static_assert(sizeof(struct pt_tlb_flush_event) == 72, "ABI: tlb_flush size");
static_assert(offsetof(struct pt_tlb_flush_event, pages) == 40, "ABI");
static_assert(offsetof(struct pt_tlb_flush_event, start) == 48, "ABI");
static_assert(offsetof(struct pt_tlb_flush_event, end) == 56, "ABI");
static_assert(offsetof(struct pt_tlb_flush_event, reason) == 64, "ABI");

static_assert(sizeof(struct pt_migrate_event) == 96, "ABI: migrate size");
static_assert(offsetof(struct pt_migrate_event, addr) == 40, "ABI");
static_assert(offsetof(struct pt_migrate_event, old_pfn) == 48, "ABI");
static_assert(offsetof(struct pt_migrate_event, new_pfn) == 56, "ABI");
static_assert(offsetof(struct pt_migrate_event, order) == 64, "ABI");
static_assert(offsetof(struct pt_migrate_event, reason) == 68, "ABI");
static_assert(offsetof(struct pt_migrate_event, mode) == 72, "ABI");
static_assert(offsetof(struct pt_migrate_event, by_pid) == 76, "ABI");
static_assert(offsetof(struct pt_migrate_event, by_comm) == 80, "ABI");

static_assert(sizeof(struct pt_migrate_batch_event) == 104, "ABI: migrate_batch size");
static_assert(offsetof(struct pt_migrate_batch_event, succeeded) == 40, "ABI");
static_assert(offsetof(struct pt_migrate_batch_event, reason) == 72, "ABI");
static_assert(offsetof(struct pt_migrate_batch_event, by_pid) == 80, "ABI");
static_assert(offsetof(struct pt_migrate_batch_event, traced_pages) == 84, "ABI");
static_assert(offsetof(struct pt_migrate_batch_event, by_comm) == 88, "ABI");

static_assert(sizeof(struct pt_target) == 24, "ABI: target size");
static_assert(sizeof(struct pt_frame_owner) == 16, "ABI: frame owner size");
#endif

#endif /* PAGETRACE_EVENTS_H */
