// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Frames the kernel replaces behind a traced process's back: KSM merging a
 * page into a shared frame, and khugepaged or MADV_COLLAPSE replacing the
 * small pages of a range with one huge page. Both run in ksmd/khugepaged (or
 * the madvise caller) and name the mm: its owner is the process, the KSM
 * rmap item gives the address, and the frame index or the reverse map of a
 * page the collapse isolated the collapsed range's.
 */
#include "frames.bpf.h"

#define PT_PAGE_MASK (~((1ULL << 12) - 1))
#define PT_PMD_PAGES 512

/* The traced process that owns `mm`, or 0. */
static __always_inline __u32 pt_mm_owner(struct mm_struct *mm)
{
	__u32 tgid;

	if (!mm || !bpf_core_field_exists(mm->owner))
		return 0;
	tgid = BPF_CORE_READ(mm, owner, tgid);
	return pt_traced_tgid(tgid) ? tgid : 0;
}

static __always_inline void pt_ksm_merged(void *kpage, __u64 pfn, void *rmap_item, void *mm,
					  int err)
{
	struct ksm_rmap_item *item = rmap_item;
	struct pt_ksm_merge_event *e;
	__u32 owner;

	if (err || !pt_event_enabled(PT_EV_KSM_MERGE))
		return;
	owner = pt_mm_owner(mm);
	if (!owner)
		return;
	e = pt_reserve(sizeof(*e));
	if (!e)
		return;
	pt_fill_owner_header(&e->hdr, PT_EV_KSM_MERGE, sizeof(*e), owner);
	e->addr = BPF_CORE_READ(item, address) & PT_PAGE_MASK;
	/* Into an existing KSM page: its frame; the page's own is not in the event. */
	e->old_pfn = kpage ? 0 : pfn;
	e->new_pfn = pfn;
	e->by_pid = pt_current_by(e->by_comm);
	e->reserved = 0;
	pt_submit(e);
}

SEC("tp_btf/ksm_merge_with_ksm_page")
int BPF_PROG(pt_ksm_merge_with_ksm_page, void *ksm_page, unsigned long pfn, void *rmap_item,
	     void *mm, int err)
{
	pt_ksm_merged(ksm_page, pfn, rmap_item, mm, err);
	return 0;
}

/* A page of zeros merged with the zero page (ksm's use_zero_pages). */
SEC("tp_btf/ksm_merge_one_page")
int BPF_PROG(pt_ksm_merge_one_page, unsigned long pfn, void *rmap_item, void *mm, int err)
{
	pt_ksm_merged((void *)1, pfn, rmap_item, mm, err);
	return 0;
}

/* Per collapsing thread: where the range it last isolated for a collapse is
 * mapped in a traced process (the scan's end names only a frame of it). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct pt_folio_home);
} pt_collapse_homes SEC(".maps");

/* A collapse isolated the small pages of a range; `folio` is one of them,
 * still mapped: its reverse map tells where. */
SEC("tp_btf/mm_collapse_huge_page_isolate")
int BPF_PROG(pt_collapse_isolate, struct folio *folio)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pt_folio_home home;

	if (!folio || !pt_event_enabled(PT_EV_COLLAPSE))
		return 0;
	if (pt_folio_rmap_home(folio, 0, &home))
		bpf_map_update_elem(&pt_collapse_homes, &tid, &home, BPF_ANY);
	return 0;
}

/* The end of a scan of one PMD range, after its collapse (if it was tried):
 * status is the collapse's result, pfn one of the small pages it replaced. */
SEC("tracepoint/huge_memory/mm_khugepaged_scan_pmd")
int pt_khugepaged_scan_pmd(struct trace_event_raw_mm_khugepaged_scan_pmd *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pt_folio_home *isolated, home = {};
	struct pt_collapse_event *e;
	struct pt_frame_owner *o;
	__u64 pfn = ctx->pfn;
	__u32 owner;

	isolated = bpf_map_lookup_elem(&pt_collapse_homes, &tid);
	if (isolated) {
		home = *isolated;
		bpf_map_delete_elem(&pt_collapse_homes, &tid);
	}
	if (!pt_event_enabled(PT_EV_COLLAPSE) ||
	    ctx->status != bpf_core_enum_value(enum scan_result, SCAN_SUCCEED))
		return 0;
	owner = pt_mm_owner(ctx->mm);
	if (!owner)
		return 0;
	o = bpf_map_lookup_elem(&pt_frames, &pfn);
	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_owner_header(&e->hdr, PT_EV_COLLAPSE, sizeof(*e), owner);
	/* The range: from the frame index, or from what the collapse isolated. */
	if (o && o->tgid == owner)
		e->addr = o->vaddr & ~((PT_PMD_PAGES << 12) - 1ULL);
	else if (home.tgid == owner)
		e->addr = home.vaddr & ~((PT_PMD_PAGES << 12) - 1ULL);
	else
		e->addr = 0;
	e->new_pfn = 0;
	e->pages = PT_PMD_PAGES;
	e->status = ctx->status;
	e->by_pid = pt_current_by(e->by_comm);
	e->reserved = 0;
	pt_submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
