// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Page faults on user addresses. Entry: the x86 exceptions: tracepoints,
 * page_fault_user (the faulting instruction ran in user mode) and
 * page_fault_kernel (the kernel touched a user page, e.g. copy_to_user in
 * read()). Outcome: the thread's fault counters (faults.bpf.h); latency: the
 * software perf events for minor and major faults, opened by the agent with a
 * sample period on the traced threads (inherited by those they create), so
 * that other processes do not pay for them.
 */
#include "faults.bpf.h"

/* x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h) */
#define X86_PF_WRITE (1UL << 1)
#define X86_PF_INSTR (1UL << 4)

/* Every user address on x86-64 (4- or 5-level paging) has the top bit clear. */
#define PT_USER_ADDR_END (1UL << 63)

/* Set by the agent when the entry tracepoints are attached. */
const volatile __u32 pt_cfg_fault_entry = 1;

static __always_inline int pt_fault_entry(unsigned long address, struct pt_regs *regs,
					  unsigned long error_code, __u8 mode)
{
	struct pt_parked_fault f = {}, *slot;
	__u64 gen = *(volatile __u64 *)&pt_targets_gen; /* before looking anything up */
	struct task_struct *task;

	if (address >= PT_USER_ADDR_END)
		return 0;
	task = bpf_get_current_task_btf();
	/* What every other process's fault pays: one load. */
	if (!pt_maybe_target(task->tgid))
		return 0;
	/* A traced thread keeps its answer from pt_targets in its storage while
	 * the targets stay as they were: one lookup fewer per fault. Threads of
	 * other processes get storage only when they are traced. */
	slot = bpf_task_storage_get(&pt_parked_faults, task, 0, 0);
	if (slot && slot->targets_gen == gen) {
		if (!slot->traced)
			return 0;
	} else if (!pt_traced_tgid(task->tgid)) {
		if (slot) {
			slot->traced = 0;
			slot->targets_gen = gen;
		}
		return 0;
	}
	f.traced = 1;
	f.targets_gen = gen;

	f.addr = address;
	f.ip = regs->ip; /* a BTF-typed argument: a direct load, no helper call */
	f.ts_ns = bpf_ktime_get_ns();
	f.error_code = (__u32)error_code;
	f.cpu = bpf_get_smp_processor_id();
	if (error_code & X86_PF_INSTR)
		f.access = PT_ACCESS_EXEC;
	else if (error_code & X86_PF_WRITE)
		f.access = PT_ACCESS_WRITE;
	else
		f.access = PT_ACCESS_READ;
	f.mode = mode;

	if (!slot)
		slot = bpf_task_storage_get(&pt_parked_faults, task, 0,
					    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!pt_event_enabled(PT_EV_FAULT)) {
		/* Only kept for what else needs the fault (fault_around). */
		if (slot)
			*slot = f;
		return 0;
	}
	if (!pt_cfg_fault_park || !slot) {
		/* No outcome wanted, or no room to park it: emit it now, without
		 * one, rather than lose it. */
		pt_emit_fault(task, &f, PT_OUTCOME_UNKNOWN, 0);
		if (slot)
			*slot = f;
		return 0;
	}
	/* The previous fault of this thread is over. */
	if (slot->parked)
		pt_resolve_parked(task, slot);
	f.parked = 1;
	f.min_flt = task->min_flt;
	f.maj_flt = task->maj_flt;
	*slot = f;
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(pt_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return pt_fault_entry(address, regs, error_code, PT_MODE_USER);
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(pt_fault_kernel, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return pt_fault_entry(address, regs, error_code, PT_MODE_KERNEL);
}

/* The parked fault of `task` at `address`, if it is waiting for completion. */
static __always_inline struct pt_parked_fault *pt_parked_at(struct task_struct *task,
							  unsigned long address)
{
	struct pt_parked_fault *slot = bpf_task_storage_get(&pt_parked_faults, task, 0, 0);

	return slot && slot->parked && slot->addr == address ? slot : 0;
}

static __always_inline void pt_complete(struct task_struct *task, struct pt_parked_fault *slot,
					__u8 outcome)
{
	__u64 now = bpf_ktime_get_ns();

	slot->parked = 0;
	pt_emit_fault(task, slot, outcome, now - slot->ts_ns);
}

/* The software perf event of an accounted fault (one in N): its latency. */
static __always_inline void pt_fault_counted(struct bpf_perf_event_data *ctx, __u8 outcome)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_parked_fault *slot, f = {};

	if (!pt_cfg_fault_entry) {
		/* No entry hook on this kernel: the completion alone makes the event. */
		if (!pt_current_traced() || ctx->addr >= PT_USER_ADDR_END)
			return;
		f.addr = ctx->addr;
		f.ip = ctx->regs.ip;
		f.ts_ns = bpf_ktime_get_ns();
		f.cpu = bpf_get_smp_processor_id();
		f.access = PT_ACCESS_UNKNOWN;
		/* The mode the fault came from: a user-mode instruction has a user
		 * address. (Not regs.cs & 3: the verifier allows only 8-byte loads of
		 * a perf_event context's registers, and cs is a 16-bit field.) */
		f.mode = ctx->regs.ip < PT_USER_ADDR_END ? PT_MODE_USER : PT_MODE_KERNEL;
		pt_emit_fault(task, &f, outcome, 0);
		return;
	}
	slot = pt_parked_at(task, ctx->addr);
	if (slot)
		pt_complete(task, slot, outcome);
}

SEC("perf_event")
int pt_fault_minor(struct bpf_perf_event_data *ctx)
{
	pt_fault_counted(ctx, PT_OUTCOME_MINOR);
	return 0; /* 0 keeps perf from also recording a sample of its own */
}

SEC("perf_event")
int pt_fault_major(struct bpf_perf_event_data *ctx)
{
	pt_fault_counted(ctx, PT_OUTCOME_MAJOR);
	return 0; /* 0 keeps perf from also recording a sample of its own */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
