#!/usr/bin/env bash
# Measures what pagetrace costs a page-fault-heavy program: runs the
# fault_storm workload untraced and under `pagetrace trace --format json`,
# interleaved (A B A B ...), and prints a markdown table of wall times, the
# slowdown, and how many events pagetrace captured and lost.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
bench_name=bench-faultstorm
# shellcheck source=bench/common.sh
source "$script_dir/bench/common.sh"  # die, note, now, cpu_busy_percent

usage() {
    cat <<EOF
usage: $(basename "$0") [options] [-- WORKLOAD_ARGS...]

Runs fault_storm untraced and traced by pagetrace, interleaved, and prints a
markdown table (median/min/max wall time, traced/untraced ratio, events
captured vs pages touched, lost events). Must run as root.

options:
  --runs R           measured runs per mode (default 5)
  --build DIR        build directory holding pagetrace and workloads/fault_storm
                     (default: $repo_root/build)
  --pagetrace PATH   pagetrace binary (default: DIR/pagetrace)
  --workload PATH    fault_storm binary (default: DIR/workloads/fault_storm)
  --trace-arg ARG    extra argument for 'pagetrace trace' (repeatable),
                     e.g. --trace-arg --ring-size --trace-arg 256M
  --perf             also run 'perf record' on the same tracepoints as a third
                     interleaved mode (needs perf and tracefs)
  --no-warmup        skip the untimed warm-up run of each mode
  --keep DIR         keep every run's stderr and reports in DIR
  -h, --help         show this help

WORKLOAD_ARGS go to fault_storm (default: --mib 256 --iterations 8).
Expected faults = mib * 256 * iterations * threads (4 KiB pages).
EOF
}

orig_args=("$@")
runs=5
build_dir="$repo_root/build"
pagetrace=""
workload=""
trace_args=()
with_perf=0
warmup=1
keep_dir=""
workload_args=()

while (($#)); do
    case "$1" in
    -h | --help)
        usage
        exit 0
        ;;
    --runs)
        (($# >= 2)) || die "--runs needs a value"
        runs=$2
        shift 2
        ;;
    --build)
        (($# >= 2)) || die "--build needs a value"
        build_dir=$2
        shift 2
        ;;
    --pagetrace)
        (($# >= 2)) || die "--pagetrace needs a value"
        pagetrace=$2
        shift 2
        ;;
    --workload)
        (($# >= 2)) || die "--workload needs a value"
        workload=$2
        shift 2
        ;;
    --trace-arg)
        (($# >= 2)) || die "--trace-arg needs a value"
        trace_args+=("$2")
        shift 2
        ;;
    --perf)
        with_perf=1
        shift
        ;;
    --no-warmup)
        warmup=0
        shift
        ;;
    --keep)
        (($# >= 2)) || die "--keep needs a value"
        keep_dir=$2
        shift 2
        ;;
    --)
        shift
        workload_args=("$@")
        break
        ;;
    *)
        usage >&2
        die "unknown option '$1'"
        ;;
    esac
done

[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive whole number, got '$runs'"
((${#workload_args[@]})) || workload_args=(--mib 256 --iterations 8)
[[ -n "$pagetrace" ]] || pagetrace="$build_dir/pagetrace"
[[ -n "$workload" ]] || workload="$build_dir/workloads/fault_storm"

if ((EUID != 0)); then
    die "must run as root (pagetrace loads BPF programs; perf needs tracefs). Try: sudo $0 ${orig_args[*]}"
fi
[[ -x "$pagetrace" ]] || die "no pagetrace binary at $pagetrace (build it, or pass --build/--pagetrace)"
[[ -x "$workload" ]] || die "no fault_storm binary at $workload (build target fault_storm, or pass --workload)"
pagetrace=$(realpath "$pagetrace")
workload=$(realpath "$workload")

# Expected faults from the workload arguments (fault_storm's defaults otherwise).
mib=256 iterations=8 threads=1
for ((i = 0; i < ${#workload_args[@]}; ++i)); do
    a=${workload_args[i]}
    next=${workload_args[i + 1]:-}
    case "$a" in
    --mib) mib=$next ;;
    --mib=*) mib=${a#*=} ;;
    --iterations) iterations=$next ;;
    --iterations=*) iterations=${a#*=} ;;
    --threads) threads=$next ;;
    --threads=*) threads=${a#*=} ;;
    esac
done
for v in "$mib" "$iterations" "$threads"; do
    [[ "$v" =~ ^[0-9]+$ ]] || die "cannot read --mib/--iterations/--threads from workload args: ${workload_args[*]}"
done
expected_faults=$((mib * 256 * iterations * threads))

perf_note=""
if ((with_perf)); then
    if ! command -v perf >/dev/null 2>&1; then
        perf_note="perf skipped: perf is not installed"
        with_perf=0
    else
        if [[ ! -e /sys/kernel/tracing/events/exceptions/page_fault_user ]]; then
            if ! mountpoint -q /sys/kernel/tracing 2>/dev/null; then
                note "mounting tracefs at /sys/kernel/tracing for perf"
                mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
            fi
        fi
        if [[ ! -e /sys/kernel/tracing/events/exceptions/page_fault_user ]]; then
            perf_note="perf skipped: tracefs not available (tracepoint exceptions:page_fault_user not found)"
            with_perf=0
        fi
    fi
    [[ -z "$perf_note" ]] || note "$perf_note"
fi

work=$(mktemp -d /tmp/bench-faultstorm.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
[[ -z "$keep_dir" ]] || mkdir -p "$keep_dir"

# Field from fault_storm's result line, e.g. report_field FILE pages_touched.
report_field() {
    sed -n "s/.*[[:space:]]$2=\([0-9.]*\).*/\1/p" "$1" | head -n1
}

# Per-mode results, one entry per measured run.
declare -A wall=() inner=() touched=() events=() faults=() lost=()

# run_one MODE INDEX: runs the workload once in MODE (plain|pagetrace|perf).
# INDEX < 0 is a warm-up whose numbers are thrown away.
run_one() {
    local mode=$1 index=$2
    local tag="$mode.$index"
    local report="$work/$tag.report" err="$work/$tag.stderr"
    local status=0 start end
    rm -f "$report"
    start=$(now)
    case "$mode" in
    plain)
        "$workload" "${workload_args[@]}" --report "$report" 2>"$err" || status=$?
        ;;
    pagetrace)
        "$pagetrace" trace --format json "${trace_args[@]}" -- \
            "$workload" "${workload_args[@]}" --report "$report" >/dev/null 2>"$err" || status=$?
        ;;
    perf)
        perf record -q -e exceptions:page_fault_user -e syscalls:sys_enter_mmap \
            -e syscalls:sys_enter_munmap -o "$work/perf.data" -- \
            "$workload" "${workload_args[@]}" --report "$report" 2>"$err" || status=$?
        ;;
    esac
    end=$(now)
    if [[ -n "$keep_dir" ]]; then
        cp "$err" "$keep_dir/$tag.stderr"
        [[ ! -e "$report" ]] || cp "$report" "$keep_dir/$tag.report"
    fi
    if ((status != 0)) || [[ ! -s "$report" ]]; then
        sed 's/^/    /' "$err" >&2
        die "$mode run failed (status $status)"
    fi

    local ev="" fa="" lo=""
    case "$mode" in
    plain) ev=0 fa=0 lo=0 ;;
    pagetrace)
        # pagetrace: info: N events from P process in S s (F fault, ...); L lost
        local line
        line=$(grep -E 'pagetrace: [a-z]+: [0-9]+ events from' "$err" | tail -n1 || true)
        [[ -n "$line" ]] || {
            sed 's/^/    /' "$err" >&2
            die "no pagetrace summary line in its stderr"
        }
        ev=$(sed -E 's/.*: ([0-9]+) events from.*/\1/' <<<"$line")
        fa=$(grep -oE '[0-9]+ fault' <<<"$line" | grep -oE '[0-9]+' || echo 0)
        # "...; L lost" or "...; L lost (the ring buffer was full; raise --ring-size)"
        lo=$(grep -oE '; [0-9]+ lost' <<<"$line" | grep -oE '[0-9]+' | head -n1)
        ;;
    perf)
        # 'perf report --stats' has an aggregated section, then one section
        # per event ("exceptions:page_fault_user stats:") whose LOST_SAMPLES
        # line counts the samples of that event perf lost.
        local stats
        stats=$(perf report -i "$work/perf.data" --stats 2>/dev/null || true)
        ev=$(awk '$1 == "SAMPLE" && $2 == "events:" { print $3; exit }' <<<"$stats")
        fa=$(awk '$2 == "stats:" && $1 != "Aggregated" { ev = $1 } ev == "exceptions:page_fault_user" && $1 == "SAMPLE" { print $3; exit }' <<<"$stats")
        lo=$(awk '$2 == "stats:" && $1 != "Aggregated" { per_event = 1 } per_event && $1 == "LOST_SAMPLES" { n += $3 } END { print n + 0 }' <<<"$stats")
        : "${ev:=0}" "${fa:=0}" "${lo:=0}"
        rm -f "$work/perf.data"
        ;;
    esac

    if ((index >= 0)); then
        wall[$mode]+="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }') "
        inner[$mode]+="$(report_field "$report" seconds) "
        touched[$mode]+="$(report_field "$report" pages_touched) "
        events[$mode]+="$ev "
        faults[$mode]+="$fa "
        lost[$mode]+="$lo "
    fi
}

# Statistics over a space-separated list of numbers.
stat() { # stat median|min|max|sum LIST
    tr ' ' '\n' <<<"$2" | grep -v '^$' | sort -g | awk -v what="$1" '
        { v[NR] = $1; s += $1 }
        END {
            if (what == "min") print v[1]
            else if (what == "max") print v[NR]
            else if (what == "sum") print s
            else if (NR % 2) print v[(NR + 1) / 2]
            else print (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

# Median of per-run ratios MODE/plain (runs are paired by position).
ratio_median() {
    paste <(tr ' ' '\n' <<<"${wall[$1]}" | grep -v '^$') \
        <(tr ' ' '\n' <<<"${wall[plain]}" | grep -v '^$') |
        awk '{ printf "%.4f\n", $1 / $2 }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

modes=(plain pagetrace)
((with_perf)) && modes+=(perf)

# Tracing needs a second CPU for the consumer, so other load skews the traced
# runs more than the untraced ones. Say so rather than report a bad ratio quietly.
busy_before=$(cpu_busy_percent)
if ((busy_before > 10)); then
    note "warning: the CPUs are ${busy_before}% busy before starting; other work will skew the results"
fi
note "workload: $workload ${workload_args[*]} (expect $expected_faults faults per run)"
note "pagetrace: $pagetrace trace --format json ${trace_args[*]}"
if ((warmup)); then
    for m in "${modes[@]}"; do run_one "$m" -1; done
fi
for ((r = 0; r < runs; ++r)); do
    for m in "${modes[@]}"; do
        run_one "$m" "$r"
        note "run $((r + 1))/$runs $m: $(awk '{print $NF}' <<<"${wall[$m]}") s wall"
    done
done

label() {
    case "$1" in
    plain) echo "untraced" ;;
    pagetrace) echo "pagetrace trace --format json" ;;
    perf) echo "perf record (3 tracepoints)" ;;
    esac
}

echo
echo "fault_storm ${workload_args[*]}; $runs interleaved runs per mode; expected faults per run: $expected_faults"
echo
echo "| mode | median wall s | min s | max s | median ratio vs untraced | median workload s | events/run (median) | faults captured/run (median) | pages touched/run | lost (total, max/run) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in "${modes[@]}"; do
    if [[ $m == plain ]]; then
        ratio="1.00" ev="-" fa="-" lo="-"
    else
        ratio=$(printf '%.2f' "$(ratio_median "$m")")
        ev=$(stat median "${events[$m]}")
        fa=$(stat median "${faults[$m]}")
        lo="$(stat sum "${lost[$m]}"), $(stat max "${lost[$m]}")"
    fi
    printf '| %s | %.3f | %.3f | %.3f | %sx | %.3f | %s | %s | %s | %s |\n' \
        "$(label "$m")" "$(stat median "${wall[$m]}")" "$(stat min "${wall[$m]}")" \
        "$(stat max "${wall[$m]}")" "$ratio" "$(stat median "${inner[$m]}")" \
        "$ev" "$fa" "$(stat median "${touched[$m]}")" "$lo"
done
[[ -z "$perf_note" ]] || { echo; echo "($perf_note)"; }
echo
echo "Faults captured include the few dozen faults of process start-up (exec, ld.so, libc),"
echo "so they exceed pages touched slightly when nothing is lost."
busy_after=$(cpu_busy_percent)
echo "CPU busy before/after the benchmark (1 s samples): ${busy_before}%/${busy_after}%."
