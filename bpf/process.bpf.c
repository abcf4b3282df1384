// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process lifecycle of traced processes: following children into the target
 * set, switching a launched command from "pending exec" to traced at its
 * execve(), keeping each target's name current, cleaning up per-thread state
 * when a thread exits, and dropping processes from the set when their last
 * thread exits.
 */
#include "faults.bpf.h"
#include "syscalls.bpf.h"

/* Selectors beyond pids: a process name, a cgroup (v2 id). Empty / 0: off. */
const volatile char pt_cfg_match_comm[PT_COMM_LEN] = {};
const volatile __u64 pt_cfg_match_cgroup = 0;

/* Whether a process that just exec'd is selected by --comm or --cgroup. */
static __always_inline int pt_selected_at_exec(struct task_struct *task)
{
	if (pt_cfg_match_cgroup && bpf_get_current_cgroup_id() == pt_cfg_match_cgroup)
		return 1;
	if (pt_cfg_match_comm[0]) {
		for (int i = 0; i < PT_COMM_LEN; i++) {
			if (task->comm[i] != pt_cfg_match_comm[i])
				return 0;
			if (!pt_cfg_match_comm[i])
				break;
		}
		return 1;
	}
	return 0;
}

/*
 * The faults the kernel accounted to the process of `task`, its last live
 * thread, as getrusage(RUSAGE_SELF) counts them: the threads already released
 * are in signal->min_flt/maj_flt, the others are still in the thread list.
 * At this point that is this thread and, if it is not the leader, the leader,
 * which stays in the list until the whole group is reaped. (Threads that are
 * exiting at this very moment on another CPU, between their exit and their
 * release, are missed.) The user address space is gone already, so the
 * counters no longer move.
 */
static __always_inline void pt_process_faults(struct task_struct *task, __u64 *min_flt,
					      __u64 *maj_flt)
{
	struct task_struct *leader = task->group_leader;
	struct signal_struct *sig = task->signal;

	*min_flt = sig->min_flt + task->min_flt;
	*maj_flt = sig->maj_flt + task->maj_flt;
	if (leader && leader != task) {
		*min_flt += leader->min_flt;
		*maj_flt += leader->maj_flt;
	}
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = parent->tgid;
	__u32 child_tgid = child->tgid;
	struct pt_fork_event *e;

	/* A new thread shares its creator's tgid and is already covered. */
	if (child_tgid == parent_tgid || !pt_traced_tgid(parent_tgid))
		return 0;

	if (pt_cfg_follow_children)
		pt_set_target_state(child_tgid, PT_TARGET_ACTIVE, child->comm);

	if (!pt_event_enabled(PT_EV_FORK))
		return 0;
	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_header(&e->hdr, PT_EV_FORK, sizeof(*e));
	e->child_pid = child_tgid;
	e->reserved = 0;
	e->child_start_ns = child->start_time;
	pt_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pt_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = task->tgid;
	struct pt_exec_event *e;

	if (!pt_target_state(tgid) && !pt_selected_at_exec(task))
		return 0;
	/* Traced from here on (a launched command starts now), under its new name. */
	pt_set_target_state(tgid, PT_TARGET_ACTIVE, task->comm);

	if (!pt_event_enabled(PT_EV_EXEC))
		return 0;
	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_header(&e->hdr, PT_EV_EXEC, sizeof(*e));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->filename);
	/* execve left one thread: the counters are the whole process's. */
	pt_process_faults(task, &e->min_flt, &e->maj_flt);
	/* Exec is rare, and the agent reads the new image's /proc/PID/{exe,maps}
	 * on it: wake it now, before a short program has run to its end. */
	pt_submit_now(e);
	return 0;
}

/* prctl(PR_SET_NAME) of a traced process's main thread renames the process. */
SEC("tp_btf/task_rename")
int BPF_PROG(pt_rename, struct task_struct *task, const char *comm)
{
	__u32 tgid = task->tgid;
	struct pt_target *t;

	if (task->pid != tgid)
		return 0;
	t = bpf_map_lookup_elem(&pt_targets, &tgid);
	if (t)
		bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), comm);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pt_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;
	__u32 tid = task->pid;
	__u32 state = pt_target_state(tgid);
	struct pt_exit_event *e;

	if (!state)
		return 0;

	/* Per-thread state dies with the thread. */
	pt_flush_parked_fault(task);
	bpf_map_delete_elem(&pt_pending_syscalls, &tid);

	/* signal->live drops to zero before this tracepoint for the last thread. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;

	bpf_map_delete_elem(&pt_targets, &tgid);
	pt_targets_changed();
	if (state != PT_TARGET_ACTIVE || !pt_event_enabled(PT_EV_EXIT))
		return 0;

	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_header(&e->hdr, PT_EV_EXIT, sizeof(*e));
	e->exit_code = task->exit_code;
	e->reserved = 0;
	e->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	pt_process_faults(task, &e->min_flt, &e->maj_flt);
	pt_submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
