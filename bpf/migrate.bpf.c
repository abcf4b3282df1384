// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Page migration of traced pages, attributed to their owner although it runs
 * in another task (kcompactd, a NUMA-balancing fault, a migrating syscall).
 *
 * The migration tracepoints carry the virtual address and the PTE, not the
 * owner. set_migration_pte decodes the old PFN from the migration entry and
 * finds its owner: in pt_frames (PFN -> owning traced process and virtual
 * page), which the agent fills from pagemap with the frames more than one
 * process may map, or else through the reverse map of the frame's folio
 * (frames.bpf.h), which finds the pages only one process maps. Either filters
 * out the migration of every frame that is not ours at the earliest point.
 * remove_migration_pte gives the new PFN; the pair becomes one migrate event,
 * and an indexed page's pt_frames entry follows it to its new frame without a
 * round trip to the agent.
 */
#include "frames.bpf.h"
#include "migrate.bpf.h"

#define PT_PAGE_SHIFT 12
#define PT_PAGE_MASK (~((1ULL << PT_PAGE_SHIFT) - 1))
/* x86-64 PTE: physical frame bits 12..51. */
#define PT_PTE_PFN_MASK 0x000ffffffffff000ULL
/* x86-64 huge PMD: frame bits 21..51 (bit 12 is the large-page PAT bit). */
#define PT_PMD_PFN_MASK 0x000fffffffe00000ULL
/* Migration entry: swap offset = (~pte << 5) >> 14; the PFN is its low
 * MAX_PHYSMEM_BITS - 12 bits (34 with 4-level paging; the bits above are the
 * entry's young/dirty flags). 34 bits hold every PFN below 64 TiB. */
#define PT_SWP_TYPE_BITS 5
#define PT_SWP_OFFSET_SHIFT 14
#define PT_SWP_PFN_MASK ((1ULL << 34) - 1)

struct pt_inflight {
	__u32 owner;
	__u16 order;
	__u16 indexed; /* found in pt_frames (which then follows the page) */
	__u64 old_pfn;
};

/* Virtual page -> its migration between set and remove of the migration entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct pt_inflight);
} pt_migrations_in_flight SEC(".maps");

static __always_inline __u32 pt_migrate_reason(int reason)
{
	if (reason == bpf_core_enum_value(enum migrate_reason, MR_COMPACTION))
		return PT_MR_COMPACTION;
	if (reason == bpf_core_enum_value(enum migrate_reason, MR_MEMORY_FAILURE))
		return PT_MR_MEMORY_FAILURE;
	if (reason == bpf_core_enum_value(enum migrate_reason, MR_MEMORY_HOTPLUG))
		return PT_MR_MEMORY_HOTPLUG;
	if (reason == bpf_core_enum_value(enum migrate_reason, MR_SYSCALL))
		return PT_MR_SYSCALL;
	if (reason == bpf_core_enum_value(enum migrate_reason, MR_MEMPOLICY_MBIND))
		return PT_MR_MEMPOLICY_MBIND;
	if (reason == bpf_core_enum_value(enum migrate_reason, MR_NUMA_MISPLACED))
		return PT_MR_NUMA_MISPLACED;
	if (reason == bpf_core_enum_value(enum migrate_reason, MR_CONTIG_RANGE))
		return PT_MR_CONTIG_RANGE;
	if (bpf_core_enum_value_exists(enum migrate_reason, MR_LONGTERM_PIN) &&
	    reason == bpf_core_enum_value(enum migrate_reason, MR_LONGTERM_PIN))
		return PT_MR_LONGTERM_PIN;
	if (bpf_core_enum_value_exists(enum migrate_reason, MR_DEMOTION) &&
	    reason == bpf_core_enum_value(enum migrate_reason, MR_DEMOTION))
		return PT_MR_DEMOTION;
	if (bpf_core_enum_value_exists(enum migrate_reason, MR_DAMON) &&
	    reason == bpf_core_enum_value(enum migrate_reason, MR_DAMON))
		return PT_MR_DAMON;
	return PT_MR_UNKNOWN;
}

static __always_inline __u32 pt_migrate_mode(int mode)
{
	if (mode == bpf_core_enum_value(enum migrate_mode, MIGRATE_ASYNC))
		return PT_MIGRATE_ASYNC;
	if (mode == bpf_core_enum_value(enum migrate_mode, MIGRATE_SYNC_LIGHT))
		return PT_MIGRATE_SYNC_LIGHT;
	if (mode == bpf_core_enum_value(enum migrate_mode, MIGRATE_SYNC))
		return PT_MIGRATE_SYNC;
	return PT_MIGRATE_UNKNOWN_MODE;
}

SEC("tp_btf/mm_migrate_pages_start")
int BPF_PROG(pt_migrate_start, enum migrate_mode mode, int reason)
{
	struct pt_migration_call call = {
		.reason = pt_migrate_reason(reason),
		.mode = pt_migrate_mode(mode),
	};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&pt_migration_calls, &tid, &call, BPF_ANY);
	return 0;
}

/* A traced page is about to move: remember it under its virtual address. */
static __always_inline void pt_migration_begins(unsigned long addr, __u64 old_pfn, __u32 order)
{
	struct pt_frame_owner *o = bpf_map_lookup_elem(&pt_frames, &old_pfn);
	struct pt_folio_home home;
	struct pt_inflight f = { .order = order, .old_pfn = old_pfn };
	__u64 page = addr & PT_PAGE_MASK;

	/* The frame index (frames several processes may map), then the folio's
	 * reverse map (the pages only one maps, which the agent leaves out of
	 * the index). A frame of another page, or of a process no longer
	 * traced, is not ours. */
	if (o && o->vaddr == page && pt_traced_tgid(o->tgid)) {
		f.owner = o->tgid;
		f.indexed = 1;
	} else if (pt_frame_rmap_home(old_pfn, &home) && home.vaddr == page) {
		f.owner = home.tgid;
	} else {
		return;
	}
	bpf_map_update_elem(&pt_migrations_in_flight, &page, &f, BPF_ANY);
}

/* The page got its new PTE: emit the move and let pt_frames follow it. */
static __always_inline void pt_migration_ends(unsigned long addr, __u64 new_pfn)
{
	__u64 page = addr & PT_PAGE_MASK;
	struct pt_inflight *in = bpf_map_lookup_elem(&pt_migrations_in_flight, &page);
	struct pt_migration_call *call;
	struct pt_frame_owner o = {};
	struct pt_migrate_event *e;
	struct pt_inflight f;
	__u32 tid;

	if (!in)
		return;
	f = *in;
	bpf_map_delete_elem(&pt_migrations_in_flight, &page);
	/* A failed migration puts the old frame back: nothing moved. */
	if (new_pfn == f.old_pfn)
		return;

	if (f.indexed) {
		bpf_map_delete_elem(&pt_frames, &f.old_pfn);
		o.tgid = f.owner;
		o.vaddr = page;
		bpf_map_update_elem(&pt_frames, &new_pfn, &o, BPF_ANY);
	}

	tid = (__u32)bpf_get_current_pid_tgid();
	call = bpf_map_lookup_elem(&pt_migration_calls, &tid);
	if (call) {
		call->traced_pages += 1;
		call->owner = f.owner;
	}
	if (!pt_event_enabled(PT_EV_MIGRATE))
		return;
	e = pt_reserve(sizeof(*e));
	if (!e)
		return;
	pt_fill_owner_header(&e->hdr, PT_EV_MIGRATE, sizeof(*e), f.owner);
	e->addr = page;
	e->old_pfn = f.old_pfn;
	e->new_pfn = new_pfn;
	e->order = f.order;
	e->reason = call ? call->reason : PT_MR_UNKNOWN;
	e->mode = call ? call->mode : PT_MIGRATE_UNKNOWN_MODE;
	e->by_pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->by_comm, sizeof(e->by_comm));
	pt_submit(e);
}

static __always_inline __u64 pt_migration_entry_pfn(__u64 entry)
{
	return ((~entry << PT_SWP_TYPE_BITS) >> PT_SWP_OFFSET_SHIFT) & PT_SWP_PFN_MASK;
}

SEC("tp_btf/set_migration_pte")
int BPF_PROG(pt_set_migration_pte, unsigned long addr, unsigned long pte, int order)
{
	pt_migration_begins(addr, pt_migration_entry_pfn(pte), order);
	return 0;
}

SEC("tp_btf/remove_migration_pte")
int BPF_PROG(pt_remove_migration_pte, unsigned long addr, unsigned long pte, int order)
{
	pt_migration_ends(addr, (pte & PT_PTE_PFN_MASK) >> PT_PAGE_SHIFT);
	return 0;
}

SEC("tp_btf/set_migration_pmd")
int BPF_PROG(pt_set_migration_pmd, unsigned long addr, unsigned long pmd)
{
	pt_migration_begins(addr, pt_migration_entry_pfn(pmd), 9);
	return 0;
}

SEC("tp_btf/remove_migration_pmd")
int BPF_PROG(pt_remove_migration_pmd, unsigned long addr, unsigned long pmd)
{
	pt_migration_ends(addr, (pmd & PT_PMD_PFN_MASK) >> PT_PAGE_SHIFT);
	return 0;
}

/* End of a migrate_pages() call: its totals, if it moved pages of ours. */
SEC("tp_btf/mm_migrate_pages")
int BPF_PROG(pt_migrate_end, unsigned long succeeded, unsigned long failed,
	     unsigned long thp_succeeded, unsigned long thp_failed)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pt_migration_call *found = bpf_map_lookup_elem(&pt_migration_calls, &tid);
	struct pt_migrate_batch_event *e;
	struct pt_migration_call call;

	if (!found)
		return 0;
	call = *found;
	bpf_map_delete_elem(&pt_migration_calls, &tid);
	if (!call.traced_pages || !pt_event_enabled(PT_EV_MIGRATE_BATCH))
		return 0;

	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_owner_header(&e->hdr, PT_EV_MIGRATE_BATCH, sizeof(*e), call.owner);
	e->succeeded = succeeded;
	e->failed = failed;
	e->thp_succeeded = thp_succeeded;
	e->thp_failed = thp_failed;
	e->reason = call.reason;
	e->mode = call.mode;
	e->by_pid = bpf_get_current_pid_tgid() >> 32;
	e->traced_pages = call.traced_pages;
	bpf_get_current_comm(e->by_comm, sizeof(e->by_comm));
	pt_submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
