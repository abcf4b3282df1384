// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * VMA syscalls (mmap, munmap) of traced processes. The per-syscall tracepoints
 * need tracefs, so we use the generic raw sys_enter/sys_exit pair: at entry the
 * arguments are parked per thread, at exit the result completes the event.
 */
#include "common.bpf.h"

#if defined(__TARGET_ARCH_x86)
#define PT_NR_MMAP 9
#define PT_NR_MUNMAP 11
#else
#error "pagetrace: syscall numbers are only defined for x86-64"
#endif

#define PT_TS_COMPAT 0x0002 /* thread_info.status: in a 32-bit syscall */
#define PT_PAGE_SHIFT 12
#define PT_MAX_ERRNO 4095

struct pt_syscall_args {
	__u64 nr;
	__u64 args[6];
};

/* Arguments of the syscall each traced thread is in: tid -> args. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pt_syscall_args);
} pt_pending_syscalls SEC(".maps");

static __always_inline int pt_is_vma_syscall(long nr)
{
	return nr == PT_NR_MMAP || nr == PT_NR_MUNMAP;
}

static __always_inline int pt_in_compat_syscall(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (!bpf_core_field_exists(task->thread_info.status))
		return 0;
	return task->thread_info.status & PT_TS_COMPAT;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(pt_sys_enter, struct pt_regs *regs, long nr)
{
	struct pt_syscall_args a = {};
	__u32 tid;

	if (!pt_is_vma_syscall(nr) || !pt_current_traced() || pt_in_compat_syscall())
		return 0;

	a.nr = nr;
	a.args[0] = regs->di;
	a.args[1] = regs->si;
	a.args[2] = regs->dx;
	a.args[3] = regs->r10;
	a.args[4] = regs->r8;
	a.args[5] = regs->r9;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&pt_pending_syscalls, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline __s32 pt_errno_of(long ret)
{
	return (ret < 0 && ret >= -PT_MAX_ERRNO) ? (__s32)-ret : 0;
}

static __always_inline void pt_emit_mmap(const struct pt_syscall_args *a, long ret)
{
	struct pt_mmap_event *e = pt_reserve(sizeof(*e));
	__s32 err = pt_errno_of(ret);

	if (!e)
		return;
	pt_fill_header(&e->hdr, PT_EV_MMAP, sizeof(*e));
	e->addr = err ? a->args[0] : (__u64)ret;
	e->len = a->args[1];
	e->prot = (__u32)a->args[2];
	e->flags = (__u32)a->args[3];
	e->fd = (__s32)a->args[4];
	e->pgoff = a->args[5] >> PT_PAGE_SHIFT;
	e->err = err;
	pt_submit(e);
}

static __always_inline void pt_emit_munmap(const struct pt_syscall_args *a, long ret)
{
	struct pt_munmap_event *e = pt_reserve(sizeof(*e));

	if (!e)
		return;
	pt_fill_header(&e->hdr, PT_EV_MUNMAP, sizeof(*e));
	e->addr = a->args[0];
	e->len = a->args[1];
	e->err = pt_errno_of(ret);
	e->reserved = 0;
	pt_submit(e);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pt_sys_exit, struct pt_regs *regs, long ret)
{
	struct pt_syscall_args *parked, a;
	__u32 tid;

	if (!pt_is_vma_syscall(regs->orig_ax))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	parked = bpf_map_lookup_elem(&pt_pending_syscalls, &tid);
	if (!parked)
		return 0;
	a = *parked;
	bpf_map_delete_elem(&pt_pending_syscalls, &tid);

	if (a.nr == PT_NR_MMAP)
		pt_emit_mmap(&a, ret);
	else if (a.nr == PT_NR_MUNMAP)
		pt_emit_munmap(&a, ret);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
