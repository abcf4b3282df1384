// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * VMA syscalls of traced processes: mmap, munmap, mremap, brk, mprotect,
 * pkey_mprotect, madvise. The per-syscall tracepoints need tracefs, so we use
 * the generic raw sys_enter/sys_exit pair: at entry the arguments are parked
 * per thread (pt_pending_syscalls), at exit the result completes the event.
 */
#include "faults.bpf.h"
#include "syscalls.bpf.h"

#define PT_TS_COMPAT 0x0002 /* thread_info.status: in a 32-bit syscall */
#define PT_PAGE_SHIFT 12
#define PT_MAX_ERRNO 4095

/* The event type a syscall produces, or 0 if it is not one of ours. */
static __always_inline __u32 pt_vma_event_of(long nr)
{
	switch (nr) {
	case PT_NR_MMAP: return PT_EV_MMAP;
	case PT_NR_MUNMAP: return PT_EV_MUNMAP;
	case PT_NR_MREMAP: return PT_EV_MREMAP;
	case PT_NR_BRK: return PT_EV_BRK;
	case PT_NR_MPROTECT:
	case PT_NR_PKEY_MPROTECT: return PT_EV_MPROTECT;
	case PT_NR_MADVISE: return PT_EV_MADVISE;
	}
	return 0;
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
	__u32 type = pt_vma_event_of(nr);
	__u32 tid;

	/* Every other process's syscall stops here. */
	if (!pt_maybe_target(bpf_get_current_pid_tgid() >> 32))
		return 0;
	/* A fault of this thread is over by its next syscall: its outcome now. */
	if (pt_cfg_fault_park) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct pt_parked_fault *f = bpf_task_storage_get(&pt_parked_faults, task, 0, 0);

		if (f && f->parked)
			pt_resolve_parked(task, f);
	}
	/* tlb_flush also reads the parked arguments, to name the flushed range. */
	if (!type || !(pt_event_enabled(type) || pt_event_enabled(PT_EV_TLB_FLUSH)))
		return 0;
	if (!pt_current_traced() || pt_in_compat_syscall())
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

#define PT_PROT_EXEC 0x4 /* PROT_EXEC */

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
	/*
	 * A file mapped executable (a shared library): wake the agent at once,
	 * so it reads which file it is (path, build-id) before a short program
	 * is gone. Such mmaps are few.
	 */
	if (!err && e->fd >= 0 && (e->prot & PT_PROT_EXEC))
		pt_submit_now(e);
	else
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

static __always_inline void pt_emit_mremap(const struct pt_syscall_args *a, long ret)
{
	struct pt_mremap_event *e = pt_reserve(sizeof(*e));
	__s32 err = pt_errno_of(ret);

	if (!e)
		return;
	pt_fill_header(&e->hdr, PT_EV_MREMAP, sizeof(*e));
	e->old_addr = a->args[0];
	e->old_len = a->args[1];
	e->new_len = a->args[2];
	e->flags = (__u32)a->args[3];
	e->new_addr = err ? a->args[4] : (__u64)ret;
	e->err = err;
	pt_submit(e);
}

static __always_inline void pt_emit_brk(const struct pt_syscall_args *a, long ret)
{
	struct pt_brk_event *e = pt_reserve(sizeof(*e));

	if (!e)
		return;
	pt_fill_header(&e->hdr, PT_EV_BRK, sizeof(*e));
	e->addr = a->args[0];
	e->ret = (__u64)ret;
	pt_submit(e);
}

static __always_inline void pt_emit_mprotect(const struct pt_syscall_args *a, long ret)
{
	struct pt_mprotect_event *e = pt_reserve(sizeof(*e));

	if (!e)
		return;
	pt_fill_header(&e->hdr, PT_EV_MPROTECT, sizeof(*e));
	e->addr = a->args[0];
	e->len = a->args[1];
	e->prot = (__u32)a->args[2];
	e->err = pt_errno_of(ret);
	pt_submit(e);
}

static __always_inline void pt_emit_madvise(const struct pt_syscall_args *a, long ret)
{
	struct pt_madvise_event *e = pt_reserve(sizeof(*e));

	if (!e)
		return;
	pt_fill_header(&e->hdr, PT_EV_MADVISE, sizeof(*e));
	e->addr = a->args[0];
	e->len = a->args[1];
	e->advice = (__s32)a->args[2];
	e->err = pt_errno_of(ret);
	pt_submit(e);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(pt_sys_exit, struct pt_regs *regs, long ret)
{
	struct pt_syscall_args *parked, a;
	__u32 type = pt_vma_event_of(regs->orig_ax);
	__u32 tid;

	if (!type || !pt_maybe_target(bpf_get_current_pid_tgid() >> 32))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	parked = bpf_map_lookup_elem(&pt_pending_syscalls, &tid);
	if (!parked)
		return 0;
	a = *parked;
	bpf_map_delete_elem(&pt_pending_syscalls, &tid);
	if (!pt_event_enabled(type))
		return 0;

	switch (type) {
	case PT_EV_MMAP: pt_emit_mmap(&a, ret); break;
	case PT_EV_MUNMAP: pt_emit_munmap(&a, ret); break;
	case PT_EV_MREMAP: pt_emit_mremap(&a, ret); break;
	case PT_EV_BRK: pt_emit_brk(&a, ret); break;
	case PT_EV_MPROTECT: pt_emit_mprotect(&a, ret); break;
	case PT_EV_MADVISE: pt_emit_madvise(&a, ret); break;
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
