// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fault-around: a read fault on a file mapping also maps the pages around it
 * that are in the page cache (filemap_map_pages, up to fault_around_bytes).
 * filemap:mm_filemap_map_pages fires in the faulting task with the file range
 * it looked at; the faulting thread's parked fault gives the address, and its
 * VMA turns the file range into addresses of the process.
 */
#include "faults.bpf.h"

#define PT_PAGE_SHIFT 12

struct pt_vma_lookup {
	struct address_space *mapping; /* the file the tracepoint names */
	__u64 vm_start;
	__u64 vm_end;
	__u64 vm_pgoff;
	__u64 ino;
	__u32 dev;
	__u32 found;
};

/* bpf_find_vma callback: the VMA holding the faulting address, if it maps that file. */
static long pt_vma_of_fault(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct pt_vma_lookup *l = data;
	struct file *file = vma->vm_file;

	if (!file || file->f_mapping != l->mapping)
		return 0;
	l->vm_start = vma->vm_start;
	l->vm_end = vma->vm_end;
	l->vm_pgoff = vma->vm_pgoff;
	l->ino = BPF_CORE_READ(file, f_inode, i_ino);
	l->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	l->found = 1;
	return 0;
}

SEC("tp_btf/mm_filemap_map_pages")
int BPF_PROG(pt_filemap_map_pages, struct address_space *mapping, unsigned long start_pgoff,
	     unsigned long end_pgoff)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_vma_lookup l = { .mapping = mapping };
	struct pt_fault_around_event *e;
	struct pt_parked_fault *fault;
	__u64 first, last, fault_pgoff;

	if (!pt_event_enabled(PT_EV_FAULT_AROUND))
		return 0;
	/* The fault entry of this thread parked it (and said whether it is traced). */
	fault = bpf_task_storage_get(&pt_parked_faults, task, 0, 0);
	if (!fault || !fault->traced || fault->targets_gen != *(volatile __u64 *)&pt_targets_gen)
		return 0;
	if (bpf_find_vma(task, fault->addr, pt_vma_of_fault, &l, 0) || !l.found)
		return 0;
	if (start_pgoff < l.vm_pgoff || end_pgoff < start_pgoff)
		return 0;
	first = l.vm_start + ((start_pgoff - l.vm_pgoff) << PT_PAGE_SHIFT);
	last = l.vm_start + ((end_pgoff - l.vm_pgoff) << PT_PAGE_SHIFT);
	if (first < l.vm_start || last >= l.vm_end)
		return 0;
	e = pt_reserve(sizeof(*e));
	if (!e)
		return 0;
	pt_fill_header(&e->hdr, PT_EV_FAULT_AROUND, sizeof(*e));
	e->addr = first;
	e->len = last - first + (1ULL << PT_PAGE_SHIFT);
	/* A fault taken by get_user_pages raises no exception: the parked fault is an
	 * older one, outside this range. */
	fault_pgoff = l.vm_pgoff + ((fault->addr - l.vm_start) >> PT_PAGE_SHIFT);
	e->fault_addr = fault_pgoff >= start_pgoff && fault_pgoff <= end_pgoff ? fault->addr : 0;
	e->ino = l.ino;
	e->dev = l.dev;
	e->reserved = 0;
	pt_submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
