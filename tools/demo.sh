#!/usr/bin/env bash
# Quick start, part one: installs what is missing, builds, and shows what the
# memory manager does to the bundled demo workload, page by page:
#   1. records it with pagetrace (the demo maps a buffer, touches it, write-
#      protects and discards parts of it, forks, and has the kernel compact
#      memory so some of its pages move to other frames),
#   2. prints the memory events of the recording,
#   3. prints the per-process timeline summary,
#   4. prints the full history of one page: mapped, first touched, its frame,
#      moved from which frame to which, flushed, unmapped,
#   5. writes demo.pftrace (Perfetto) and demo.html (the report) into the
#      current directory, or $PAGETRACE_DEMO_OUT, and says how to open them.
# Extra arguments go to `pagetrace record`. Needs root (BPF, and compaction):
# run it as root, or with sudo from another user; sudo itself is not needed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAGETRACE_BUILD_DIR:-$root/build}"
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: tracing needs root: run it as root, or: sudo $0 $*" >&2
  exit 1
fi
out_dir="$(cd "${PAGETRACE_DEMO_OUT:-$PWD}" && pwd)"
"$root/tools/build.sh"
pt="$build/pagetrace"
work="$(mktemp -d /tmp/pagetrace-demo-XXXXXX)"
cleanup() {
  if [ -n "${frag_pid:-}" ]; then kill "$frag_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Compaction moves pages only out of fragmented memory: an untraced helper
# fills 2 GiB and frees every other page; the demo ends it before compacting.
"$build/workloads/touch_pages" --pages 524288 --free-every-other --hold \
  --report "$work/fragmenter.txt" >/dev/null 2>&1 &
frag_pid=$!
for _ in $(seq 300); do grep -q held "$work/fragmenter.txt" 2>/dev/null && break; sleep 0.05; done

section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "pagetrace record -o demo.ptr -- demo"
"$pt" record -o "$work/demo.ptr" "$@" -- "$build/workloads/demo" --fragmenter "$frag_pid" \
  2> "$work/record.err" | tee "$work/demo.out" || { cat "$work/record.err" >&2; exit 1; }
grep '^pagetrace' "$work/record.err" >&2

section "pagetrace replay demo.ptr --events mmap,munmap,mprotect,madvise,fork,exec,exit"
"$pt" replay "$work/demo.ptr" --events mmap,munmap,mprotect,madvise,fork,exec,exit
count() { "$pt" replay "$work/demo.ptr" --events "$1" | tail -n +2 | wc -l; }
section "pagetrace replay demo.ptr --events migrate,migrate_batch | head"
# sed reads to the end: head would close the pipe early, and with pipefail
# replay's SIGPIPE would end the demo.
"$pt" replay "$work/demo.ptr" --events migrate,migrate_batch | sed -n 1,8p
echo "... in all: $(count fault) fault, $(count tlb_flush) tlb_flush, $(count migrate) migrate" \
     "events (see them all with pagetrace replay)"

section "pagetrace timeline demo.ptr"
"$pt" timeline "$work/demo.ptr"

page="$(sed -n 's/.*page \(0x[0-9a-f]*\) moved from frame.*/\1/p' "$work/demo.out" | sed -n 1p)"
[ -n "$page" ] || page="$(sed -n 's/.*buffer of [0-9]* pages at \(0x[0-9a-f]*\).*/\1/p' "$work/demo.out")"
section "pagetrace timeline demo.ptr --addr $page"
"$pt" timeline "$work/demo.ptr" --addr "$page"

section "pagetrace export demo.ptr --format perfetto -o demo.pftrace; pagetrace report demo.ptr -o demo.html"
"$pt" export "$work/demo.ptr" --format perfetto -o "$out_dir/demo.pftrace"
"$pt" report "$work/demo.ptr" -o "$out_dir/demo.html"
echo "Look at it:"
echo "  $out_dir/demo.html      open it in any browser (one file, nothing fetched): the heatmap"
echo "                          of addresses over time, resident and mapped bytes, fault latencies"
echo "  $out_dir/demo.pftrace   open https://ui.perfetto.dev, then \"Open trace file\": a track per"
echo "                          process with its counters, mappings, stalls and kernel events"
