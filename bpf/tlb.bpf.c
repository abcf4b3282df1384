// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLB flushes of traced address spaces (x86 tlb:tlb_flush), and at each
 * context switch the outcome of the fault of the thread switched away from
 * (faults.bpf.h). The tracepoint
 * carries only a reason and a page count and fires in whatever task is
 * current, so the owner is worked out here:
 *  - task switch: the flush is for the task being switched to, which the
 *    sched_switch hook just before noted per CPU;
 *  - otherwise the address space loaded on this CPU (current->active_mm, whose
 *    owner names the process; it is current's own mm for a user task);
 *  - otherwise a migration in progress in this task that moved traced pages.
 * When the owner's own thread is inside munmap/mprotect/madvise/mremap, the
 * flushed range is that call's range.
 */
#include "common.bpf.h"
#include "faults.bpf.h"
#include "migrate.bpf.h"
#include "syscalls.bpf.h"

/* Per CPU: the traced process being switched to (0 if none). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pt_switching_to SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(pt_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 zero = 0;
	__u32 *slot = bpf_map_lookup_elem(&pt_switching_to, &zero);
	__u32 next_tgid = next->tgid;

	if (slot)
		*slot = pt_traced_tgid(next_tgid) ? next_tgid : 0;
	/* A fault of the thread switched away from, if it is over (its counters
	 * moved; a fault that sleeps, on I/O say, has not counted yet). */
	if (pt_cfg_fault_park && pt_maybe_target(prev->tgid)) {
		struct pt_parked_fault *f = bpf_task_storage_get(&pt_parked_faults, prev, 0, 0);

		if (f && f->parked && pt_counted_outcome(prev, f) != PT_OUTCOME_UNACCOUNTED)
			pt_resolve_parked(prev, f);
	}
	return 0;
}

static __always_inline __u32 pt_tlb_reason(int reason)
{
	if (reason == bpf_core_enum_value(enum tlb_flush_reason, TLB_FLUSH_ON_TASK_SWITCH))
		return PT_TLB_TASK_SWITCH;
	if (reason == bpf_core_enum_value(enum tlb_flush_reason, TLB_REMOTE_SHOOTDOWN))
		return PT_TLB_REMOTE_SHOOTDOWN;
	if (reason == bpf_core_enum_value(enum tlb_flush_reason, TLB_LOCAL_SHOOTDOWN))
		return PT_TLB_LOCAL_SHOOTDOWN;
	if (reason == bpf_core_enum_value(enum tlb_flush_reason, TLB_LOCAL_MM_SHOOTDOWN))
		return PT_TLB_LOCAL_MM_SHOOTDOWN;
	if (reason == bpf_core_enum_value(enum tlb_flush_reason, TLB_REMOTE_SEND_IPI))
		return PT_TLB_REMOTE_SEND_IPI;
	if (bpf_core_enum_value_exists(enum tlb_flush_reason, TLB_REMOTE_WRONG_CPU) &&
	    reason == bpf_core_enum_value(enum tlb_flush_reason, TLB_REMOTE_WRONG_CPU))
		return PT_TLB_REMOTE_WRONG_CPU;
	return PT_TLB_UNKNOWN_REASON;
}

/* The traced process whose address space is loaded on this CPU, or 0. */
static __always_inline __u32 pt_loaded_owner(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mm_struct *mm = task->active_mm;
	__u32 tgid;

	if (!mm || !bpf_core_field_exists(mm->owner))
		return 0;
	tgid = BPF_CORE_READ(mm, owner, tgid);
	return pt_traced_tgid(tgid) ? tgid : 0;
}

/* The range of the VMA syscall `tid` is in, if it is one that flushes. */
static __always_inline void pt_syscall_range(__u32 tid, __u64 *start, __u64 *end)
{
	struct pt_syscall_args *a = bpf_map_lookup_elem(&pt_pending_syscalls, &tid);

	if (!a)
		return;
	switch (a->nr) {
	case PT_NR_MUNMAP:
	case PT_NR_MPROTECT:
	case PT_NR_PKEY_MPROTECT:
	case PT_NR_MADVISE:
	case PT_NR_MREMAP:
		*start = a->args[0];
		*end = a->args[0] + a->args[1];
		break;
	}
}

SEC("tp_btf/tlb_flush")
int BPF_PROG(pt_tlb_flush, int reason, unsigned long pages)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 cur_tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__u32 why = pt_tlb_reason(reason);
	__u64 start = 0, end = 0;
	struct pt_tlb_flush_event *e;
	__u32 owner = 0, zero = 0;

	/* A task switch whose address space is still current reports 0 pages: no flush. */
	if (pages == 0)
		return 0;
	if (why == PT_TLB_TASK_SWITCH) {
		__u32 *next = bpf_map_lookup_elem(&pt_switching_to, &zero);

		owner = next ? *next : 0;
	} else {
		owner = pt_loaded_owner();
		if (!owner)
			owner = pt_migration_owner(tid);
	}
	/* The owner may have exited since the switch was noted. */
	if (!owner || !pt_traced_tgid(owner))
		return 0;
	if (owner == cur_tgid && why != PT_TLB_TASK_SWITCH)
		pt_syscall_range(tid, &start, &end);

	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	if (owner == cur_tgid && why != PT_TLB_TASK_SWITCH)
		pt_fill_header_id(&e->hdr, PT_EV_TLB_FLUSH, sizeof(*e), pid_tgid);
	else
		pt_fill_owner_header(&e->hdr, PT_EV_TLB_FLUSH, sizeof(*e), owner);
	e->pages = pages == (unsigned long)-1 ? PT_TLB_FLUSH_ALL : pages;
	e->start = start;
	e->end = end;
	e->reason = why;
	e->reserved = 0;
	pt_submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
