/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * BPF-only helpers shared by every pagetrace program: the maps, the target
 * filter, record reservation with loss accounting and the common header.
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

/* Processes to trace: tgid -> PT_TARGET_*. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} pt_targets SEC(".maps") __weak;

static __always_inline __u32 pt_target_state(__u32 tgid)
{
	__u32 *state = bpf_map_lookup_elem(&pt_targets, &tgid);

	return state ? *state : 0;
}

static __always_inline int pt_current_traced(void)
{
	return pt_target_state(bpf_get_current_pid_tgid() >> 32) == PT_TARGET_ACTIVE;
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

/*
 * Submit without waking the consumer: it polls on a short timer. Only when more
 * than pt_cfg_wakeup_bytes are waiting do we wake it, so a burst is drained
 * before the ring fills, at one wakeup per watermark rather than per event.
 */
static __always_inline void pt_submit(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (pt_cfg_wakeup_bytes &&
	    bpf_ringbuf_query(&pt_events, BPF_RB_AVAIL_DATA) >= pt_cfg_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
}

/* Fill the common header for an event of the current task. */
static __always_inline void pt_fill_header(struct pt_event_header *hdr, __u16 type,
					   __u16 size)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	hdr->type = type;
	hdr->size = size;
	hdr->cpu = bpf_get_smp_processor_id();
	hdr->ts_ns = bpf_ktime_get_ns();
	hdr->tgid = pid_tgid >> 32;
	hdr->tid = (__u32)pid_tgid;
	bpf_get_current_comm(hdr->comm, sizeof(hdr->comm));
}

#endif /* PAGETRACE_COMMON_BPF_H */
