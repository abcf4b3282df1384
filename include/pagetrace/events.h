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

#define PT_ABI_VERSION 1

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
#define PT_EV_TYPE_MAX 7

/* pt_fault_event.access */
#define PT_ACCESS_READ 0
#define PT_ACCESS_WRITE 1
#define PT_ACCESS_EXEC 2

/* pt_fault_event.mode: where the faulting instruction ran */
#define PT_MODE_USER 0
#define PT_MODE_KERNEL 1

/* Values of the BPF "pt_targets" map (key: tgid). */
#define PT_TARGET_ACTIVE 1
#define PT_TARGET_PENDING_EXEC 2 /* traced from its next execve() on */

struct pt_event_header {
	__u16 type;
	__u16 size;   /* bytes of the whole record, header included */
	__u32 cpu;    /* CPU the event was taken on */
	__u64 ts_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 tgid;   /* process id */
	__u32 tid;    /* thread id */
	char comm[PT_COMM_LEN]; /* thread name, NUL-padded */
};

/* A page fault on a user address, at fault entry. */
struct pt_fault_event {
	struct pt_event_header hdr;
	__u64 addr;       /* faulting virtual address */
	__u64 ip;         /* instruction pointer (a kernel address for mode kernel) */
	__u32 error_code; /* raw x86 page-fault error code */
	__u8 access;      /* PT_ACCESS_* */
	__u8 mode;        /* PT_MODE_* */
	__u16 reserved;
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
};

/* A traced process called execve() successfully. */
struct pt_exec_event {
	struct pt_event_header hdr;
	char filename[PT_FILENAME_LEN]; /* NUL-terminated, truncated if longer */
};

/* The last thread of a traced process exited. */
struct pt_exit_event {
	struct pt_event_header hdr;
	__u32 exit_code; /* wait(2)-style status: (code << 8) | signal */
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

static_assert(sizeof(struct pt_fault_event) == 64, "ABI: fault size");
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

static_assert(sizeof(struct pt_fork_event) == 48, "ABI: fork size");
static_assert(offsetof(struct pt_fork_event, child_pid) == 40, "ABI");

static_assert(sizeof(struct pt_exec_event) == 40 + PT_FILENAME_LEN, "ABI: exec size");
static_assert(offsetof(struct pt_exec_event, filename) == 40, "ABI");

static_assert(sizeof(struct pt_exit_event) == 48, "ABI: exit size");
static_assert(offsetof(struct pt_exit_event, exit_code) == 40, "ABI");

static_assert(sizeof(struct pt_lost_event) == 56, "ABI: lost size");
static_assert(offsetof(struct pt_lost_event, count) == 40, "ABI");
static_assert(offsetof(struct pt_lost_event, lost_cpu) == 48, "ABI");
#endif

#endif /* PAGETRACE_EVENTS_H */
