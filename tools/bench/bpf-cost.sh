#!/usr/bin/env bash
# Run time per call of each pagetrace BPF program during a fault storm, from
# the kernel's own BPF statistics (kernel.bpf_stats_enabled; they add a few
# tens of ns per call themselves: compare programs and builds with each other,
# not with wall-clock numbers). With --reclaim: of the reclaim programs while
# the reclaim workload MADV_PAGEOUTs 64 MiB to a swap file made for the run
# (swapoff and removed at the end, whatever happens). Root. Usage:
#   tools/bench/bpf-cost.sh [--build DIR] [--runs N] [--reclaim] [-- PAGETRACE_RECORD_ARGS...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench_name=bpf-cost.sh
# shellcheck source=common.sh
. "$root/tools/bench/common.sh"
build="$root/build"
runs=3
reclaim=0
extra=()
while (($#)); do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --reclaim) reclaim=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$bench_name: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $(id -u) == 0 ]] || die "needs root (bpf statistics, BPF)"
pt="$build/pagetrace"
storm="$build/workloads/fault_storm"
[[ -x "$pt" && -x "$storm" ]] || die "build first (tools/build.sh)"
command -v bpftool >/dev/null || die "bpftool is missing (tools/setup.sh installs it)"

tmp=$(mktemp -d)
old=$(sysctl -n kernel.bpf_stats_enabled)
swap=""
cleanup() {
    sysctl -qw kernel.bpf_stats_enabled="$old"
    if [[ -n $swap ]]; then swapoff "$swap" 2>/dev/null || true; rm -f "$swap"; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1

# The statistics of the programs whose names match $1, as table rows.
stats_rows() {
    bpftool -j prog show | RUN=$run MATCH=$1 python3 -c '
import json, os, re, sys
for p in json.load(sys.stdin):
    name, calls = p.get("name", ""), p.get("run_cnt", 0)
    if re.match(os.environ["MATCH"], name) and calls:
        ns = p["run_time_ns"] / calls
        print("| %s | %s | %s | %.0f |" % (os.environ["RUN"], name, format(calls, ","), ns))
'
}

echo "| run | program | calls | ns per call |"
echo "|---:|---|---:|---:|"
if ((reclaim)); then
    workload="$build/workloads/reclaim"
    [[ -x $workload ]] || die "build first (tools/build.sh)"
    swap=/var/tmp/pagetrace-bench-swap-$$
    fallocate -l 256M "$swap" && chmod 600 "$swap" && mkswap -q "$swap" >/dev/null &&
        swapon "$swap" || die "cannot make a swap file in /var/tmp"
    for run in $(seq 1 "$runs"); do
        "$pt" record --force -o "$tmp/r.ptr" "${extra[@]}" -- "$workload" pageout \
            --pages 16384 --hold-ms 3000 --report "$tmp/report.txt" 2>/dev/null &
        bg=$!
        sleep 2.5
        stats_rows 'pt_(write_folio|delete_from_page|.*reclaim|compaction)'
        wait "$bg"
    done
    exit 0
fi
for run in $(seq 1 "$runs"); do
    # The storm, then a pause during which the programs are still loaded.
    "$pt" record --force -o "$tmp/r.ptr" "${extra[@]}" -- \
        sh -c "'$storm' --mib 256 --iterations 4 >/dev/null; sleep 3" 2>/dev/null &
    bg=$!
    sleep 2.5
    # Statistics count every call, the early returns for other processes too.
    stats_rows 'pt_fault'
    wait "$bg"
done
