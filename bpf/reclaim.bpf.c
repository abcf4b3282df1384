// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What reclaim takes from traced processes, and what it costs them.
 *
 * Swap-out and eviction run in whoever reclaims (kswapd, another process's
 * direct reclaim, MADV_PAGEOUT) and name only the folio: its owner and address
 * come from the frame index, or for pages faulted in too recently to be in it,
 * from the kernel's reverse map (frames.bpf.h). Their programs are raw
 * tracepoints: the folio is a plain value there, so its PFN can be computed
 * from its address. Stalls are the traced
 * thread's own time in direct reclaim, memcg reclaim and direct compaction,
 * between the begin and end tracepoints, kept in the thread's storage.
 */
#include "frames.bpf.h"

SEC("raw_tp/mm_vmscan_write_folio")
int BPF_PROG(pt_write_folio, struct folio *folio)
{
	struct pt_swap_out_event *e;
	struct pt_folio_home home;
	unsigned long mapping;
	__u64 pfn;

	if (!pt_event_enabled(PT_EV_SWAP_OUT))
		return 0;
	/* Anonymous folios go to swap; file folios are written back to their file. */
	mapping = (unsigned long)BPF_CORE_READ(folio, mapping);
	if ((mapping & 3) != 1)
		return 0;
	pfn = pt_folio_pfn(folio);
	if (!pt_folio_home(folio, pfn, &home))
		return 0;
	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_owner_header(&e->hdr, PT_EV_SWAP_OUT, sizeof(*e), home.tgid);
	e->addr = home.vaddr;
	e->pfn = pfn;
	e->order = pt_folio_order(folio);
	e->by_pid = pt_current_by(e->by_comm);
	pt_submit(e);
	return 0;
}

SEC("raw_tp/mm_filemap_delete_from_page_cache")
int BPF_PROG(pt_delete_from_page_cache, struct folio *folio)
{
	struct pt_evict_event *e;
	struct pt_folio_home home;
	struct inode *host;
	__u64 pfn;

	/* The agent truncating a file page of its own, to learn where struct
	 * pages are (pt_vmemmap_base, frames.bpf.h). */
	if (pt_calib_tgid && (bpf_get_current_pid_tgid() >> 32) == pt_calib_tgid) {
		pt_calib_folio = (__u64)folio;
		pt_calib_page_size = bpf_core_type_size(struct page);
		return 0;
	}
	if (!pt_event_enabled(PT_EV_EVICT))
		return 0;
	pfn = pt_folio_pfn(folio);
	if (!pt_folio_home(folio, pfn, &home))
		return 0;
	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_owner_header(&e->hdr, PT_EV_EVICT, sizeof(*e), home.tgid);
	host = BPF_CORE_READ(folio, mapping, host);
	e->addr = home.vaddr;
	e->pfn = pfn;
	e->ino = BPF_CORE_READ(host, i_ino);
	e->dev = BPF_CORE_READ(host, i_sb, s_dev);
	e->order = pt_folio_order(folio);
	e->by_pid = pt_current_by(e->by_comm);
	e->reserved = 0;
	pt_submit(e);
	return 0;
}

/* When the thread began each kind of stall it is in (0: not in one). */
struct pt_stall_begins {
	__u64 begin_ns[3]; /* by PT_STALL_* */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pt_stall_begins);
} pt_stalls SEC(".maps");

static __always_inline void pt_stall_begin(__u32 kind)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_stall_begins *s;

	if (!pt_event_enabled(PT_EV_RECLAIM_STALL) || !pt_traced_tgid(task->tgid) || kind > 2)
		return;
	s = bpf_task_storage_get(&pt_stalls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (s)
		s->begin_ns[kind] = bpf_ktime_get_ns();
}

static __always_inline void pt_stall_end(__u32 kind, __u64 reclaimed)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_reclaim_stall_event *e;
	struct pt_stall_begins *s;
	__u64 begin;

	if (kind > 2)
		return;
	s = bpf_task_storage_get(&pt_stalls, task, 0, 0);
	if (!s || !s->begin_ns[kind])
		return;
	begin = s->begin_ns[kind];
	s->begin_ns[kind] = 0;
	e = pt_reserve(sizeof(*e));
	if (!e)
		return;
	pt_fill_header(&e->hdr, PT_EV_RECLAIM_STALL, sizeof(*e));
	e->duration_ns = bpf_ktime_get_ns() - begin;
	e->hdr.ts_ns = begin;
	e->reclaimed = reclaimed;
	e->kind = kind;
	e->reserved = 0;
	pt_submit(e);
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(pt_direct_reclaim_begin, int order, gfp_t gfp_flags)
{
	pt_stall_begin(PT_STALL_DIRECT);
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(pt_direct_reclaim_end, unsigned long nr_reclaimed)
{
	pt_stall_end(PT_STALL_DIRECT, nr_reclaimed);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(pt_memcg_reclaim_begin, int order, gfp_t gfp_flags)
{
	pt_stall_begin(PT_STALL_MEMCG);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(pt_memcg_reclaim_end, unsigned long nr_reclaimed)
{
	pt_stall_end(PT_STALL_MEMCG, nr_reclaimed);
	return 0;
}

/* Direct compaction: try_to_compact_pages begins it in the allocating task;
 * its zones' compaction runs end with mm_compaction_end in that task too. */
SEC("tp_btf/mm_compaction_try_to_compact_pages")
int BPF_PROG(pt_compaction_begin, int order, gfp_t gfp_mask, int prio)
{
	pt_stall_begin(PT_STALL_COMPACTION);
	return 0;
}

SEC("tp_btf/mm_compaction_end")
int BPF_PROG(pt_compaction_end, struct compact_control *cc, unsigned long zone_start,
	     unsigned long zone_end, bool sync, int status)
{
	pt_stall_end(PT_STALL_COMPACTION, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
