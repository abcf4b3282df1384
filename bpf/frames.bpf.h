/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The frame index: PFN -> the traced page it backs (owner and virtual
 * address), filled by the agent from pagemap. The hooks of work the kernel
 * does to frames in other tasks' context (migration, reclaim, eviction) find
 * the owner of a frame here.
 */
#ifndef PAGETRACE_FRAMES_BPF_H
#define PAGETRACE_FRAMES_BPF_H

#include "common.bpf.h"

/* PFN -> the traced page it backs. Filled by the agent; max_entries set by it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct pt_frame_owner);
} pt_frames SEC(".maps") __weak;

/* The traced page frame `pfn` backs, or NULL. */
static __always_inline struct pt_frame_owner *pt_traced_frame(__u64 pfn)
{
	struct pt_frame_owner *o = bpf_map_lookup_elem(&pt_frames, &pfn);

	return o && pt_traced_tgid(o->tgid) ? o : 0;
}

/*
 * Folios to PFNs. A struct page lives at vmemmap + PFN * sizeof(struct page)
 * (x86-64's SPARSEMEM_VMEMMAP), but the kernel randomizes where vmemmap is and
 * exports no symbol for it. The agent measures it once at start: it truncates
 * a file page of its own whose PFN it read in its pagemap, and the eviction
 * program, seeing the agent (pt_calib_tgid), keeps the folio pointer instead
 * of making an event; then the agent sets pt_vmemmap_base. 0: not known
 * (PFNs of folios are 0).
 */
__u64 pt_vmemmap_base __weak = 0;
__u32 pt_calib_tgid __weak = 0;
__u64 pt_calib_addr __weak = 0;
__u64 pt_calib_folio __weak = 0;
__u64 pt_calib_page_size __weak = 0;

static __always_inline __u64 pt_folio_pfn(const void *folio)
{
	__u64 base = pt_vmemmap_base;

	if (!base || (__u64)folio < base)
		return 0;
	return ((__u64)folio - base) / bpf_core_type_size(struct page);
}

/* The order of a folio: 0 for a small one. */
static __always_inline __u32 pt_folio_order(struct folio *folio)
{
	unsigned long flags = 0, flags_1 = 0;

	bpf_probe_read_kernel(&flags, sizeof(flags), __builtin_preserve_access_index(&folio->flags));
	if (!(flags & (1UL << bpf_core_enum_value(enum pageflags, PG_head))))
		return 0;
	if (bpf_core_field_exists(folio->_flags_1))
		flags_1 = BPF_CORE_READ(folio, _flags_1);
	return flags_1 & 0xff;
}

/* A traced page the folio is mapped at (or was, just before reclaim unmapped it). */
struct pt_folio_home {
	__u32 tgid;
	__u64 vaddr;
};

/* Whether vma maps page `index` of its object at a traced process: its address. */
static __always_inline int pt_vma_home(struct vm_area_struct *vma, __u64 index,
				       struct pt_folio_home *home)
{
	__u64 start, end, pgoff, vaddr;
	__u32 tgid;

	if (!vma)
		return 0;
	start = BPF_CORE_READ(vma, vm_start);
	end = BPF_CORE_READ(vma, vm_end);
	pgoff = BPF_CORE_READ(vma, vm_pgoff);
	if (index < pgoff)
		return 0;
	vaddr = start + ((index - pgoff) << 12);
	if (vaddr < start || vaddr >= end)
		return 0;
	tgid = BPF_CORE_READ(vma, vm_mm, owner, tgid);
	if (!pt_traced_tgid(tgid))
		return 0;
	home->tgid = tgid;
	home->vaddr = vaddr;
	return 1;
}

#define PT_RMAP_VISIT 16 /* tree nodes looked at, at most */
#define PT_RMAP_STACK 8

/*
 * The reverse map: the first traced process (of at most PT_RMAP_VISIT
 * candidate VMAs) that maps the folio. An anonymous folio's mapping is its
 * anon_vma (low bit set), whose tree holds a chain link per VMA (the owner's,
 * and those of forked children); a file folio's mapping is the file's
 * address_space, whose i_mmap tree holds the VMAs mapping it. folio->index is
 * the page's offset in the VMA's object either way; `sub` is the page's place
 * in a large folio (0: its first page).
 */
static __always_inline int pt_folio_rmap_home(struct folio *folio, __u64 sub,
					      struct pt_folio_home *home)
{
	unsigned long mapping = (unsigned long)BPF_CORE_READ(folio, mapping);
	__u64 index = BPF_CORE_READ(folio, index) + sub;
	struct rb_node *stack[PT_RMAP_STACK];
	struct rb_node *node;
	__u32 top = 0;
	int anon = (mapping & 3) == 1;

	if (!mapping || (mapping & 3) > 1) /* KSM and non-LRU movable pages: not here */
		return 0;
	if (anon) {
		struct anon_vma *av = (void *)(mapping - 1);

		node = BPF_CORE_READ(av, rb_root.rb_root.rb_node);
	} else {
		struct address_space *as = (void *)mapping;

		node = BPF_CORE_READ(as, i_mmap.rb_root.rb_node);
	}
	if (!node)
		return 0;
	stack[top++] = node;
	for (int i = 0; i < PT_RMAP_VISIT && top > 0; i++) {
		struct vm_area_struct *vma;
		struct rb_node *left, *right;

		top--;
		node = stack[top & (PT_RMAP_STACK - 1)];
		if (anon) {
			struct anon_vma_chain *avc =
				(void *)node - bpf_core_field_offset(struct anon_vma_chain, rb);

			vma = BPF_CORE_READ(avc, vma);
		} else {
			vma = (void *)node - bpf_core_field_offset(struct vm_area_struct, shared.rb);
		}
		if (pt_vma_home(vma, index, home))
			return 1;
		left = BPF_CORE_READ(node, rb_left);
		right = BPF_CORE_READ(node, rb_right);
		if (right && top < PT_RMAP_STACK)
			stack[(top++) & (PT_RMAP_STACK - 1)] = right;
		if (left && top < PT_RMAP_STACK)
			stack[(top++) & (PT_RMAP_STACK - 1)] = left;
	}
	return 0;
}

/*
 * Where a folio reclaim takes was mapped in a traced process: the kernel's
 * reverse map first (it is the truth, also for pages faulted in too recently
 * to be looked up; the frame index may still name a frame's previous page for
 * a while), then the frame index (folios whose reverse map has more candidate
 * VMAs than are looked at).
 */
static __always_inline int pt_folio_home(struct folio *folio, __u64 pfn, struct pt_folio_home *home)
{
	struct pt_frame_owner *o;

	if (pt_folio_rmap_home(folio, 0, home))
		return 1;
	o = pfn ? pt_traced_frame(pfn) : 0;
	if (!o)
		return 0;
	home->tgid = o->tgid;
	home->vaddr = o->vaddr;
	return 1;
}

/*
 * Where a traced process maps frame `pfn`, through the reverse map of the
 * folio it is part of (its struct page's compound_head names the folio of a
 * tail page); 0 if where struct pages are is not known. For frames in
 * another task's hands (a migration), which the agent does not put in the
 * frame index when the reverse map finds them: pages only one process maps.
 */
static __always_inline int pt_frame_rmap_home(__u64 pfn, struct pt_folio_home *home)
{
	__u64 base = pt_vmemmap_base, sub = 0, head_pfn;
	struct folio *folio;
	unsigned long head;
	struct page *page;

	if (!base || !pfn)
		return 0;
	page = (struct page *)(base + pfn * bpf_core_type_size(struct page));
	head = BPF_CORE_READ(page, compound_head);
	folio = (struct folio *)page;
	if (head & 1) {
		folio = (struct folio *)(head - 1);
		head_pfn = pt_folio_pfn(folio);
		if (!head_pfn || head_pfn > pfn || pfn - head_pfn >= (1U << 18))
			return 0;
		sub = pfn - head_pfn;
	}
	return pt_folio_rmap_home(folio, sub, home);
}

/* by_pid/by_comm: the task doing the work. */
static __always_inline __u32 pt_current_by(char *by_comm)
{
	pt_current_comm(by_comm);
	return bpf_get_current_pid_tgid() >> 32;
}

#endif /* PAGETRACE_FRAMES_BPF_H */
