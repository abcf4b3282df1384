// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Page faults on user addresses, at fault entry, from the x86 exceptions:
 * tracepoints: page_fault_user (the faulting instruction ran in user mode) and
 * page_fault_kernel (the kernel touched a user page, e.g. copy_to_user in read()).
 */
#include "common.bpf.h"

/* x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h) */
#define X86_PF_WRITE (1UL << 1)
#define X86_PF_INSTR (1UL << 4)

/* Every user address on x86-64 (4- or 5-level paging) has the top bit clear. */
#define PT_USER_ADDR_END (1UL << 63)

static __always_inline int pt_emit_fault(unsigned long address, struct pt_regs *regs,
					 unsigned long error_code, __u8 mode)
{
	struct pt_fault_event *e;

	if (address >= PT_USER_ADDR_END || !pt_current_traced())
		return 0;

	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_header(&e->hdr, PT_EV_FAULT, sizeof(*e));
	e->addr = address;
	e->ip = BPF_CORE_READ(regs, ip);
	e->error_code = (__u32)error_code;
	if (error_code & X86_PF_INSTR)
		e->access = PT_ACCESS_EXEC;
	else if (error_code & X86_PF_WRITE)
		e->access = PT_ACCESS_WRITE;
	else
		e->access = PT_ACCESS_READ;
	e->mode = mode;
	e->reserved = 0;
	pt_submit(e);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(pt_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return pt_emit_fault(address, regs, error_code, PT_MODE_USER);
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(pt_fault_kernel, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return pt_emit_fault(address, regs, error_code, PT_MODE_KERNEL);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
