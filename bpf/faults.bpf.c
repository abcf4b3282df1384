// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Page faults on user addresses. Entry: the x86 exceptions: tracepoints,
 * page_fault_user (the faulting instruction ran in user mode) and
 * page_fault_kernel (the kernel touched a user page, e.g. copy_to_user in
 * read()). Completion: the software perf events for minor and major faults,
 * attached per CPU by the agent. See faults.bpf.h for the join.
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
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;

	if (address >= PT_USER_ADDR_END || !pt_traced_tgid(pid_tgid >> 32))
		return 0;

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

	if (!pt_cfg_fault_completion) {
		pt_emit_fault(&f, PT_OUTCOME_UNKNOWN, 0);
		return 0;
	}

	f.parked = 1;
	slot = bpf_map_lookup_elem(&pt_parked_faults, &tid);
	if (slot) {
		/* The previous fault of this thread never completed. */
		if (slot->parked) {
			slot->parked = 0;
			pt_emit_fault(slot, PT_OUTCOME_UNACCOUNTED, 0);
		}
		*slot = f;
	} else if (bpf_map_update_elem(&pt_parked_faults, &tid, &f, BPF_NOEXIST)) {
		/* No room to park it: emit without an outcome rather than lose it. */
		pt_emit_fault(&f, PT_OUTCOME_UNKNOWN, 0);
	}
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

static __always_inline int pt_fault_done(struct bpf_perf_event_data *ctx, __u8 outcome)
{
	struct pt_parked_fault *slot, f = {};
	__u64 now;
	__u32 tid;

	if (!pt_cfg_fault_entry) {
		/* No entry hook on this kernel: the completion alone makes the event. */
		if (!pt_current_traced() || ctx->addr >= PT_USER_ADDR_END)
			return 0;
		f.addr = ctx->addr;
		f.ip = ctx->regs.ip;
		f.ts_ns = bpf_ktime_get_ns();
		f.cpu = bpf_get_smp_processor_id();
		f.access = PT_ACCESS_UNKNOWN;
		f.mode = (ctx->regs.cs & 3) ? PT_MODE_USER : PT_MODE_KERNEL;
		pt_emit_fault(&f, outcome, 0);
		return 0;
	}

	tid = (__u32)bpf_get_current_pid_tgid();
	slot = bpf_map_lookup_elem(&pt_parked_faults, &tid);
	if (!slot || !slot->parked || slot->addr != ctx->addr)
		return 0;
	now = bpf_ktime_get_ns();
	slot->parked = 0;
	pt_emit_fault(slot, outcome, now - slot->ts_ns);
	return 0;
}

/* Returning 0 keeps perf from also recording a sample of its own. */
SEC("perf_event")
int pt_fault_minor(struct bpf_perf_event_data *ctx)
{
	return pt_fault_done(ctx, PT_OUTCOME_MINOR) & 0;
}

SEC("perf_event")
int pt_fault_major(struct bpf_perf_event_data *ctx)
{
	return pt_fault_done(ctx, PT_OUTCOME_MAJOR) & 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
