/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * BPF-only helpers shared by every pagetrace program: the maps, the target
 * filter, record reservation with loss accounting, submission with its wakeup
 * policy and the common header. bpf/README.md lists the other files.
 *
 * Maps and configuration are declared __weak so that every object that includes
 * this file can use them; `bpftool gen object` merges the identical definitions
 * into one.
 */
#ifndef PAGETRACE_COMMON_BPF_H
#define PAGETRACE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "pagetrace/events.h"

/* Configuration, set by the agent between open and load. */
const volatile __u32 pt_cfg_follow_children __weak = 1;
/* Which event types to emit: PT_EVENT_BIT(PT_EV_*) bits. */
const volatile __u64 pt_cfg_event_mask __weak = ~0ULL;
/* Wake the consumer only once this many bytes are waiting (0: never force). */
const volatile __u64 pt_cfg_wakeup_bytes __weak = 0;

/* The ring buffer all events go through. The agent sets max_entries. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} pt_events SEC(".maps") __weak;

/* Records that found the ring full, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pt_drops SEC(".maps") __weak;

/* Processes to trace: tgid -> state and name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pt_target);
} pt_targets SEC(".maps") __weak;

/*
 * Bumped after every change to pt_targets, by BPF and by the agent: a thread
 * may keep what it looked up there as long as this has not moved.
 */
__u64 pt_targets_gen __weak = 0;

static __always_inline void pt_targets_changed(void)
{
	__sync_fetch_and_add(&pt_targets_gen, 1);
}

/*
 * A filter in front of pt_targets, for the hooks every process on the machine
 * runs through (faults, syscalls, context switches): bit tgid % PT_TARGET_BITS
 * is set, by BPF and by the agent, before a tgid goes into pt_targets, and is
 * never cleared while the programs are loaded. A clear bit means "not a
 * target" at the cost of one load, without a map lookup; a set bit (a target,
 * a former one, or another tgid with the same bit) asks pt_targets.
 */
#define PT_TARGET_BITS 65536
__u64 pt_target_bits[PT_TARGET_BITS / 64] __weak;

static __always_inline int pt_maybe_target(__u32 tgid)
{
	return (pt_target_bits[(tgid / 64) % (PT_TARGET_BITS / 64)] >> (tgid % 64)) & 1;
}

static __always_inline void pt_note_target(__u32 tgid)
{
	__sync_fetch_and_or(&pt_target_bits[(tgid / 64) % (PT_TARGET_BITS / 64)],
			    1ULL << (tgid % 64));
}

static __always_inline int pt_event_enabled(__u32 type)
{
	return (pt_cfg_event_mask >> type) & 1;
}

static __always_inline __u32 pt_target_state(__u32 tgid)
{
	struct pt_target *t;

	if (!pt_maybe_target(tgid))
		return 0;
	t = bpf_map_lookup_elem(&pt_targets, &tgid);

	return t ? t->state : 0;
}

static __always_inline void pt_set_target_state(__u32 tgid, __u32 state, const char *comm)
{
	struct pt_target t = { .state = state };

	bpf_probe_read_kernel_str(t.comm, sizeof(t.comm), comm);
	pt_note_target(tgid);
	bpf_map_update_elem(&pt_targets, &tgid, &t, BPF_ANY);
	pt_targets_changed();
}

static __always_inline int pt_current_traced(void)
{
	return pt_target_state(bpf_get_current_pid_tgid() >> 32) == PT_TARGET_ACTIVE;
}

static __always_inline int pt_traced_tgid(__u32 tgid)
{
	return pt_target_state(tgid) == PT_TARGET_ACTIVE;
}

static __always_inline void *pt_reserve(__u32 size)
{
	void *rec = bpf_ringbuf_reserve(&pt_events, size, 0);

	if (!rec) {
		__u32 zero = 0;
		__u64 *drops = bpf_map_lookup_elem(&pt_drops, &zero);

		if (drops)
			*drops += 1;
	}
	return rec;
}

/* Records submitted per CPU since the last look at the ring's fill level. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pt_submits SEC(".maps") __weak;

/* Look at the fill level every this many records per CPU (a power of two). */
#define PT_WAKEUP_CHECK_EVERY 32

/*
 * Submit without waking the consumer: it polls on a short timer. A burst is
 * drained early: every PT_WAKEUP_CHECK_EVERY-th record of a CPU looks at how
 * much is waiting (reading the ring's positions costs more than the rest of a
 * submit), and wakes the consumer if that crossed pt_cfg_wakeup_bytes since
 * its previous look. So a burst costs one wakeup per watermark, never one per
 * event, and a consumer that stays behind is woken by its timer.
 */
static __always_inline void pt_submit_sized(void *rec, __u32 size)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u32 zero = 0;
	__u64 *count;

	if (pt_cfg_wakeup_bytes && (count = bpf_map_lookup_elem(&pt_submits, &zero)) &&
	    (++*count & (PT_WAKEUP_CHECK_EVERY - 1)) == 0) {
		/* What this CPU's last PT_WAKEUP_CHECK_EVERY records may have added,
		 * each with its 8-byte ring header, 8-aligned (at most). */
		__u64 recent = PT_WAKEUP_CHECK_EVERY * (((__u64)size + 8 + 7) & ~7ULL);
		__u64 avail = bpf_ringbuf_query(&pt_events, BPF_RB_AVAIL_DATA);

		if (avail >= pt_cfg_wakeup_bytes && avail < pt_cfg_wakeup_bytes + recent)
			flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(rec, flags);
}

#define pt_submit(rec) pt_submit_sized((rec), sizeof(*(rec)))

/*
 * Submit and wake the consumer at once, for the rare record the agent must act
 * on before the process moves on (exec: it reads /proc/PID/{exe,maps}). One
 * wakeup per such record costs nothing next to the fault stream.
 */
static __always_inline void pt_submit_now(void *rec)
{
	bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
}

/*
 * Fill the common header for an event that belongs to a traced process other
 * than the current task's (attributed): pid = owner, tid = 0, comm = the
 * owner's process name.
 */
static __always_inline void pt_fill_owner_header(struct pt_event_header *hdr, __u16 type,
						 __u16 size, __u32 owner)
{
	struct pt_target *t = bpf_map_lookup_elem(&pt_targets, &owner);

	hdr->type = type;
	hdr->size = size;
	hdr->cpu = bpf_get_smp_processor_id();
	hdr->ts_ns = bpf_ktime_get_ns();
	hdr->tgid = owner;
	hdr->tid = 0;
	if (t)
		__builtin_memcpy(hdr->comm, t->comm, sizeof(hdr->comm));
	else
		__builtin_memset(hdr->comm, 0, sizeof(hdr->comm));
}

/* A thread's name, read directly from its task (no helper call). */
static __always_inline void pt_task_comm(struct task_struct *task, char *comm)
{
	__builtin_memcpy(comm, task->comm, PT_COMM_LEN);
}

static __always_inline void pt_current_comm(char *comm)
{
	pt_task_comm(bpf_get_current_task_btf(), comm);
}

/* Fill the common header for an event of the current task. */
static __always_inline void pt_fill_header_id(struct pt_event_header *hdr, __u16 type,
					      __u16 size, __u64 pid_tgid)
{
	hdr->type = type;
	hdr->size = size;
	hdr->cpu = bpf_get_smp_processor_id();
	hdr->ts_ns = bpf_ktime_get_ns();
	hdr->tgid = pid_tgid >> 32;
	hdr->tid = (__u32)pid_tgid;
	pt_current_comm(hdr->comm);
}

static __always_inline void pt_fill_header(struct pt_event_header *hdr, __u16 type,
					   __u16 size)
{
	pt_fill_header_id(hdr, type, size, bpf_get_current_pid_tgid());
}

#endif /* PAGETRACE_COMMON_BPF_H */
