/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The fault join: a fault is seen at entry (exceptions: tracepoints, with the
 * error code), parked in its thread's local storage with the thread's own
 * fault counters (task->min_flt, maj_flt) at that moment, and emitted at the
 * thread's next hook: its next fault entry or syscall, a context switch away
 * from it once the fault is over, or its exit. The kernel counts an accounted
 * fault in those counters as the fault ends (mm_account_fault) and nothing
 * else can move them in between, so which of them moved is the fault's
 * outcome, exactly: major, minor, or neither (unaccounted: it failed, or was
 * retried from user space).
 *
 * Latency needs the fault's end: the software perf events for minor and
 * major faults fire there (in mm_account_fault). Attached with a sample
 * period of N (--latency-every N), one fault in N ends in their program,
 * which emits the parked fault with its latency; the others are resolved by
 * the counters and have no latency (0).
 */
#ifndef PAGETRACE_FAULTS_BPF_H
#define PAGETRACE_FAULTS_BPF_H

#include "common.bpf.h"

/* Set by the agent when the completion perf events are attached. */
const volatile __u32 pt_cfg_fault_completion __weak = 0;
/* Set by the agent: park faults and resolve their outcome (else they are
 * emitted at entry, without one: --no-fault-outcome). */
const volatile __u32 pt_cfg_fault_park __weak = 0;

struct pt_parked_fault {
	__u64 addr;
	__u64 ip;
	__u64 ts_ns;
	__u32 error_code;
	__u32 cpu;
	__u8 access;
	__u8 mode;
	__u8 parked; /* 1 while waiting for its outcome */
	__u8 traced; /* whether pt_targets said this thread's process is traced ... */
	__u8 reserved[4];
	__u64 targets_gen; /* ... when pt_targets_gen had this value */
	__u64 min_flt; /* the thread's counters at entry */
	__u64 maj_flt;
};

/* The fault each thread is in, in the thread's own storage: freed with it. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pt_parked_fault);
} pt_parked_faults SEC(".maps") __weak;

/* Emits a fault of `task`, the current thread. */
static __always_inline void pt_emit_fault(struct task_struct *task,
					  const struct pt_parked_fault *f, __u8 outcome,
					  __u64 latency_ns)
{
	struct pt_fault_event *e = pt_reserve(sizeof(*e));

	if (!e)
		return;
	/* The event is the fault's entry: its time and CPU, this thread. */
	e->hdr.type = PT_EV_FAULT;
	e->hdr.size = sizeof(*e);
	e->hdr.cpu = f->cpu;
	e->hdr.ts_ns = f->ts_ns;
	e->hdr.tgid = task->tgid;
	e->hdr.tid = task->pid;
	pt_task_comm(task, e->hdr.comm);
	e->addr = f->addr;
	e->ip = f->ip;
	e->error_code = f->error_code;
	e->access = f->access;
	e->mode = f->mode;
	e->outcome = outcome;
	e->reserved = 0;
	e->latency_ns = latency_ns;
	pt_submit(e);
}

/* The outcome of the parked fault of `task`, from the counters that moved. */
static __always_inline __u8 pt_counted_outcome(struct task_struct *task,
					       const struct pt_parked_fault *f)
{
	if (task->maj_flt != f->maj_flt)
		return PT_OUTCOME_MAJOR;
	if (task->min_flt != f->min_flt)
		return PT_OUTCOME_MINOR;
	return PT_OUTCOME_UNACCOUNTED;
}

/* Emits the parked fault `f` of `task` (the current thread, or one being
 * switched away from) with its outcome from the counters. */
static __always_inline void pt_resolve_parked(struct task_struct *task, struct pt_parked_fault *f)
{
	f->parked = 0;
	pt_emit_fault(task, f, pt_counted_outcome(task, f), 0);
}

/* Emits the parked fault of `task` (the current thread), if any: it is over. */
static __always_inline void pt_flush_parked_fault(struct task_struct *task)
{
	struct pt_parked_fault *f = bpf_task_storage_get(&pt_parked_faults, task, 0, 0);

	if (f && f->parked)
		pt_resolve_parked(task, f);
}

#endif /* PAGETRACE_FAULTS_BPF_H */
