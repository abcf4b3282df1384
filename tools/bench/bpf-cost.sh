#!/usr/bin/env bash
# Run time per call of each pagetrace BPF program during a fault storm, from
# the kernel's own BPF statistics (kernel.bpf_stats_enabled; they add a few
# tens of ns per call themselves: compare programs and builds with each other,
# not with wall-clock numbers). Root. Usage:
#   tools/bench/bpf-cost.sh [--build DIR] [--runs N] [-- PAGETRACE_RECORD_ARGS...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench_name=bpf-cost.sh
# shellcheck source=common.sh
. "$root/tools/bench/common.sh"
build="$root/build"
runs=3
extra=()
while (($#)); do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
trap 'sysctl -qw kernel.bpf_stats_enabled="$old"; rm -rf "$tmp"' EXIT
sysctl -qw kernel.bpf_stats_enabled=1
echo "| run | program | calls | ns per call |"
echo "|---:|---|---:|---:|"
for run in $(seq 1 "$runs"); do
    # The storm, then a pause during which the programs are still loaded.
    "$pt" record --force -o "$tmp/r.ptr" "${extra[@]}" -- \
        sh -c "'$storm' --mib 256 --iterations 4 >/dev/null; sleep 3" 2>/dev/null &
    bg=$!
    sleep 2.5
    # Statistics count every call, the early returns for other processes too.
    bpftool -j prog show | RUN=$run python3 -c '
import json, os, sys
for p in json.load(sys.stdin):
    name, calls = p.get("name", ""), p.get("run_cnt", 0)
    if name.startswith("pt_fault") and calls:
        ns = p["run_time_ns"] / calls
        print("| %s | %s | %s | %.0f |" % (os.environ["RUN"], name, format(calls, ","), ns))
'
    wait "$bg"
done
