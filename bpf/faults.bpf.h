/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The fault join: a fault is seen at entry (exceptions: tracepoints, with the
 * error code) and at completion, where the kernel decides whether and how it
 * accounts it. Entry parks the fault in its thread's local storage;
 * completion emits it with outcome and latency. A parked fault that never
 * completes is emitted as "unaccounted" at the thread's next fault or exit.
 *
 * Completion comes from the software perf events for minor and major faults,
 * which fire only for faults the kernel accounted.
 */
#ifndef PAGETRACE_FAULTS_BPF_H
#define PAGETRACE_FAULTS_BPF_H

#include "common.bpf.h"

/* Set by the agent when the completion perf events are attached. */
const volatile __u32 pt_cfg_fault_completion __weak = 0;

struct pt_parked_fault {
	__u64 addr;
	__u64 ip;
	__u64 ts_ns;
	__u32 error_code;
	__u32 cpu;
	__u8 access;
	__u8 mode;
	__u8 parked; /* 1 while waiting for its completion */
	__u8 traced; /* whether pt_targets said this thread's process is traced ... */
	__u8 reserved[4];
	__u64 targets_gen; /* ... when pt_targets_gen had this value */
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

/* Emits the parked fault of `task` (the current thread) as unaccounted, if any. */
static __always_inline void pt_flush_parked_fault(struct task_struct *task)
{
	struct pt_parked_fault *f = bpf_task_storage_get(&pt_parked_faults, task, 0, 0);

	if (f && f->parked) {
		f->parked = 0;
		pt_emit_fault(task, f, PT_OUTCOME_UNACCOUNTED, 0);
	}
}

#endif /* PAGETRACE_FAULTS_BPF_H */
