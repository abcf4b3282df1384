// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process lifecycle of traced processes: following children into the target
 * set, switching a launched command from "pending exec" to traced at its
 * execve(), and dropping processes from the set when their last thread exits.
 */
#include "common.bpf.h"

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = parent->tgid;
	__u32 child_tgid = child->tgid;
	__u32 active = PT_TARGET_ACTIVE;
	struct pt_fork_event *e;

	/* A new thread shares its creator's tgid and is already covered. */
	if (child_tgid == parent_tgid || pt_target_state(parent_tgid) != PT_TARGET_ACTIVE)
		return 0;

	if (pt_cfg_follow_children)
		bpf_map_update_elem(&pt_targets, &child_tgid, &active, BPF_ANY);

	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_header(&e->hdr, PT_EV_FORK, sizeof(*e));
	e->child_pid = child_tgid;
	e->reserved = 0;
	pt_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pt_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid;
	__u32 state = pt_target_state(tgid);
	__u32 active = PT_TARGET_ACTIVE;
	struct pt_exec_event *e;

	if (!state)
		return 0;
	if (state == PT_TARGET_PENDING_EXEC)
		bpf_map_update_elem(&pt_targets, &tgid, &active, BPF_EXIST);

	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_header(&e->hdr, PT_EV_EXEC, sizeof(*e));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->filename);
	pt_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pt_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;
	__u32 state = pt_target_state(tgid);
	struct pt_exit_event *e;

	if (!state)
		return 0;
	/* signal->live drops to zero before this tracepoint for the last thread. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;

	bpf_map_delete_elem(&pt_targets, &tgid);
	if (state != PT_TARGET_ACTIVE)
		return 0;

	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_header(&e->hdr, PT_EV_EXIT, sizeof(*e));
	e->exit_code = task->exit_code;
	e->reserved = 0;
	pt_submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
