// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of a fault-entry hook, for the bystander benchmark: programs that
 * do nothing, on the tracepoints pagetrace's fault entry uses. What a process
 * pays while these are attached is what any BPF program there costs it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/page_fault_user")
int BPF_PROG(floor_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(floor_fault_kernel, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
