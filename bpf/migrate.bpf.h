/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* State of the migrate_pages() call a task is in, shared with tlb.bpf.c. */
#ifndef PAGETRACE_MIGRATE_BPF_H
#define PAGETRACE_MIGRATE_BPF_H

#include "common.bpf.h"

struct pt_migration_call {
	__u32 reason;       /* PT_MR_* */
	__u32 mode;         /* PT_MIGRATE_* */
	__u32 traced_pages; /* migrate events emitted in this call */
	__u32 owner;        /* owner of the last traced page moved (0: none yet) */
};

/* tid of the migrating task -> the call it is in. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct pt_migration_call);
} pt_migration_calls SEC(".maps") __weak;

/* The traced process whose pages task `tid` is migrating right now, or 0. */
static __always_inline __u32 pt_migration_owner(__u32 tid)
{
	struct pt_migration_call *call = bpf_map_lookup_elem(&pt_migration_calls, &tid);

	return call ? call->owner : 0;
}

#endif /* PAGETRACE_MIGRATE_BPF_H */
