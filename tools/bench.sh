#!/usr/bin/env bash
# The benchmark suite: where pagetrace stands against `perf record` and
# `bpftrace` on what a tracer promises, not changing what it measures and
# losing nothing. One command runs every benchmark and prints markdown tables:
#
#   overhead   bundled workloads (fault storm, mmap/munmap/mprotect churn,
#              compaction-driven migration, migration by memory offlining),
#              each untraced, under `pagetrace trace --format json`,
#              `pagetrace record`, `perf record` and `bpftrace` on the same
#              tracepoints, interleaved: runtime ratio,
#              events captured vs caused, drops, bytes/event on disk, the
#              tracer's own CPU time and peak RSS
#   capture    fault storm with 1..4 threads: the largest event rate drained
#              with zero loss at default settings, consumer throughput
#   bystander  a fault storm of a process pagetrace does not trace, alone and
#              while pagetrace records an idle process on the same machine
#   snapshot   GiB of mapped address space snapshotted per second
#   replay     events/s of replay, info, timeline, export and report on a
#              large recording, and their peak RSS
#   rss        the agent's resident memory while it tracks 1 M pages
#
# Method, results and how to read them: docs/performance.md.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
bench_name=bench
# shellcheck source=bench/common.sh
source "$script_dir/bench/common.sh"  # die, note, now, cpu_busy_percent

usage() {
    cat <<EOF
usage: $(basename "$0") [options]

Runs pagetrace's benchmark suite and prints markdown tables on stdout
(progress on stderr). Must run as root. The default run takes about 10
minutes; --quick about 3.

options:
  --quick              fewer runs (3) and smaller workloads
  --runs N             interleaved runs per mode in the overhead section (default 5)
  --sections LIST      any of overhead,capture,bystander,snapshot,replay,rss (default: all)
  --workloads LIST     overhead workloads: fault_storm,mmap_churn,compaction
                       (default), and memory_offline (opt-in: it takes memory
                       blocks offline, and the kernel logs every block it refuses)
  --modes LIST         overhead modes: untraced,trace,record,record_every,record_lean,
                       perf,bpftrace (default: all; record_every is record --latency-every 1,
                       record_lean is record --no-fault-outcome)
  --build DIR          build directory (default: $repo_root/build); the targets
                       the suite needs are built there first
  --no-build           use the binaries in DIR as they are
  --install-peers      install perf and bpftrace (apt-get) if missing;
                       otherwise a missing peer is skipped with a note
  --out FILE           also write the tables to FILE
  --keep DIR           keep every run's logs, reports and recordings in DIR
  --timeout S          stop any single run after S seconds (default 300)
  -h, --help           show this help
EOF
}

orig_args=("$@")
quick=0
runs=""
sections="overhead,capture,bystander,snapshot,replay,rss"
workloads="fault_storm,mmap_churn,compaction"
modes="untraced,trace,record,record_every,record_lean,perf,bpftrace"
build_dir="$repo_root/build"
do_build=1
install_peers=0
out_file=""
keep_dir=""
run_timeout=300

need_value() { (($2 >= 2)) || die "$1 needs a value"; }
while (($#)); do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --quick) quick=1; shift ;;
    --runs) need_value "$1" $#; runs=$2; shift 2 ;;
    --sections) need_value "$1" $#; sections=$2; shift 2 ;;
    --workloads) need_value "$1" $#; workloads=$2; shift 2 ;;
    --modes) need_value "$1" $#; modes=$2; shift 2 ;;
    --build) need_value "$1" $#; build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --install-peers) install_peers=1; shift ;;
    --out) need_value "$1" $#; out_file=$2; shift 2 ;;
    --keep) need_value "$1" $#; keep_dir=$2; shift 2 ;;
    --timeout) need_value "$1" $#; run_timeout=$2; shift 2 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
done

in_list() { [[ ",$2," == *",$1,"* ]]; }
for s in ${sections//,/ }; do
    in_list "$s" "overhead,capture,bystander,snapshot,replay,rss" || die "unknown section '$s'"
done
for w in ${workloads//,/ }; do
    in_list "$w" "fault_storm,mmap_churn,compaction,memory_offline" || die "unknown workload '$w'"
done
for m in ${modes//,/ }; do
    in_list "$m" "untraced,trace,record,record_every,record_lean,perf,bpftrace" || die "unknown mode '$m'"
done
in_list untraced "$modes" || modes="untraced,$modes"  # ratios need it
[[ -z "$runs" || "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive whole number"
[[ "$run_timeout" =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive whole number"

# ---------------------------------------------------------------- sizes
if ((quick)); then
    : "${runs:=3}"
    storm_args=(--mib 128 --iterations 4)         # 131,072 faults
    churn_args=(--pages 16 --iterations 5000)      # 25,000 VMA syscalls, 80,000 faults
    compact_pages=131072                           # 512 MiB touched, half kept
    offline_pages=65536                            # 256 MiB held
    offline_blocks=2                               # memory blocks offlined per run
    capture_args=(--mib 128 --iterations 2)        # 65,536 faults per thread
    capture_runs=2
    bystander_runs=5
    snapshot_gib=2
    snapshot_runs=3
    replay_args=(--mib 512 --iterations 4)         # 524,288 faults
    replay_runs=2
else
    : "${runs:=5}"
    storm_args=(--mib 256 --iterations 4)          # 262,144 faults
    churn_args=(--pages 16 --iterations 10000)     # 60,000 VMA syscalls, 160,000 faults
    compact_pages=131072
    offline_pages=65536
    offline_blocks=3
    capture_args=(--mib 256 --iterations 4)        # 262,144 faults per thread
    capture_runs=3
    bystander_runs=11                              # ratios of ~1%: more rounds than the others
    snapshot_gib=4
    snapshot_runs=5
    replay_args=(--mib 512 --iterations 16)        # 2,097,152 faults
    replay_runs=3
fi
rss_pages=1048576                                  # 4 GiB: 1 M pages

# ---------------------------------------------------------------- set-up
if ((EUID != 0)); then
    die "must run as root (pagetrace and perf load BPF programs and tracepoints). Try: sudo $0 ${orig_args[*]}"
fi

if ((do_build)); then
    note "building the benchmark targets in $build_dir"
    if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
        cmake -S "$repo_root" -B "$build_dir" >&2 || die "cmake configure failed (tools/build.sh installs the dependencies)"
    fi
    cmake --build "$build_dir" -j2 --target pagetrace fault_storm mmap_churn touch_pages \
        runstat snapshot_bench hook_floor >&2 || die "build failed"
fi
pt="$build_dir/pagetrace"
wl="$build_dir/workloads"
runstat="$build_dir/bench/runstat"
snapshot_bench="$build_dir/bench/snapshot_bench"
hook_floor="$build_dir/bench/hook_floor"
bt_script="$script_dir/bench/pagetrace-equivalent.bt"
for f in "$pt" "$wl/fault_storm" "$wl/mmap_churn" "$wl/touch_pages" "$runstat" "$snapshot_bench" "$hook_floor"; do
    [[ -x "$f" ]] || die "missing $f (build it, or drop --no-build)"
done
pt=$(realpath "$pt")

if [[ ! -e /sys/kernel/tracing/events/exceptions/page_fault_user ]]; then
    mountpoint -q /sys/kernel/tracing 2>/dev/null ||
        mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
have_tracefs=0
[[ -e /sys/kernel/tracing/events/exceptions/page_fault_user ]] && have_tracefs=1

peer_notes=()
peer_available() { # peer_available perf|bpftrace
    local tool=$1 pkg
    [[ $tool == perf ]] && pkg=linux-perf || pkg=bpftrace
    if ! command -v "$tool" >/dev/null 2>&1 && ((install_peers)); then
        note "installing $pkg"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >&2 ||
            note "could not install $pkg"
    fi
    if ! command -v "$tool" >/dev/null 2>&1; then
        peer_notes+=("$tool skipped: not installed (\`apt-get install $pkg\`, or run with --install-peers)")
        return 1
    fi
    if ((!have_tracefs)); then
        peer_notes+=("$tool skipped: tracefs is not mounted at /sys/kernel/tracing and could not be mounted")
        return 1
    fi
    return 0
}
active_modes=()
for m in untraced trace record record_every record_lean perf bpftrace; do
    in_list "$m" "$modes" || continue
    if [[ $m == perf || $m == bpftrace ]]; then
        in_list overhead "$sections" || continue
        peer_available "$m" || continue
    fi
    active_modes+=("$m")
done

if in_list memory_offline "$workloads" && in_list overhead "$sections" &&
    ! { [[ -r /sys/devices/system/memory/block_size_bytes ]] &&
        [[ -w $(compgen -G "/sys/devices/system/memory/memory*/online" | head -n1) ]]; }; then
    peer_notes+=("memory_offline workload skipped: this kernel offers no memory hotplug (/sys/devices/system/memory/memory*/online)")
    workloads=$(tr ',' '\n' <<<"$workloads" | grep -vx memory_offline | paste -sd, -)
fi

work=$(mktemp -d /tmp/pagetrace-bench.XXXXXX)
cleanup() {
    # A memory block the memory_offline workload took offline comes back.
    if [[ -s "$work/offlined-block" ]]; then
        echo 1 >"/sys/devices/system/memory/memory$(cat "$work/offlined-block")/online" 2>/dev/null || true
    fi
    local pids
    pids=$(jobs -p)
    [[ -z "$pids" ]] || kill $pids 2>/dev/null || true
    if [[ -n "$keep_dir" ]]; then
        mkdir -p "$keep_dir" && cp -r "$work"/. "$keep_dir"/ 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
if [[ -n "$out_file" ]]; then
    : >"$out_file" || die "cannot write $out_file"
    exec > >(tee "$out_file")
fi

# ---------------------------------------------------------------- helpers
thousands() { awk -v n="$1" 'BEGIN { s = sprintf("%d", n); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }; print s r }'; }
kv() { sed -n "s/.*\<$2=\([^ ]*\).*/\1/p" "$1" 2>/dev/null | head -n1; } # kv FILE KEY
wait_for_text() { # wait_for_text FILE TEXT SECONDS PID: 0 when TEXT appears, 1 if PID ends or time runs out
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

perf_events=(-e exceptions:page_fault_user -e exceptions:page_fault_kernel)
for sc in mmap munmap mremap brk mprotect madvise; do
    perf_events+=(-e "syscalls:sys_enter_$sc" -e "syscalls:sys_exit_$sc")
done
# As pagetrace and the bpftrace script: no task-switch "flush" of 0 pages.
perf_events+=(-e tlb:tlb_flush --filter 'pages != 0' -e migrate:mm_migrate_pages -e migrate:set_migration_pte
    -e migrate:remove_migration_pte -e sched:sched_process_fork -e sched:sched_process_exec
    -e sched:sched_process_exit)

# start_traced MODE PREFIX PERF_SCOPE CMD...: starts CMD under MODE in the
# background, measured by runstat (PREFIX.stat), stderr to PREFIX.err; sets bg.
start_traced() {
    local mode=$1 p=$2 scope=$3
    shift 3
    case "$mode" in
    untraced) "$runstat" "$p.stat" "$@" >/dev/null 2>"$p.err" & ;;
    trace) "$runstat" "$p.stat" "$pt" trace --format json -- "$@" >/dev/null 2>"$p.err" & ;;
    record) "$runstat" "$p.stat" "$pt" record --force -o "$p.ptr" -- "$@" >/dev/null 2>"$p.err" & ;;
    record_every)
        "$runstat" "$p.stat" "$pt" record --latency-every 1 --force -o "$p.ptr" -- "$@" \
            >/dev/null 2>"$p.err" &
        ;;
    record_lean)
        "$runstat" "$p.stat" "$pt" record --no-fault-outcome --force -o "$p.ptr" -- "$@" \
            >/dev/null 2>"$p.err" &
        ;;
    perf)
        # shellcheck disable=SC2086
        "$runstat" "$p.stat" perf record -q $scope -o "$p.perf" "${perf_events[@]}" -- "$@" \
            >/dev/null 2>"$p.err" &
        ;;
    bpftrace) "$runstat" "$p.stat" bpftrace -o "$p.bt" "$bt_script" -c "$*" >/dev/null 2>"$p.err" & ;;
    esac
    bg=$!
    (sleep "$run_timeout" && kill -TERM "$bg" 2>/dev/null && sleep 10 && kill -KILL "$bg" 2>/dev/null) &
    watchdog=$!
}
finish_traced() { # finish_traced PREFIX: waits for the background run; 0 if it succeeded
    local status=0
    wait "$bg" || status=$?
    kill "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
    if ((status != 0)); then
        note "run failed (status $status); its stderr:"
        tail -n 20 "$1.err" | sed 's/^/    /' >&2
    fi
    return $status
}

# counts MODE PREFIX: the events a run captured, as "key=value ..." with
# events (logical events: a syscall's entry and exit count once), per type,
# lost and bytes on disk.
counts() {
    local mode=$1 p=$2
    case "$mode" in
    untraced) echo "events=- lost=- bytes=-" ;;
    trace | record | record_every | record_lean)
        # pagetrace: info: N events from P process in S s (F fault, M mmap, ...); L lost
        local line
        line=$(grep -E 'pagetrace: [a-z]+: [0-9]+ events from' "$p.err" | tail -n1 || true)
        [[ -n "$line" ]] || { echo "events=- lost=- bytes=-"; return; }
        local bytes=-
        [[ $mode == record* && -f "$p.ptr" ]] && bytes=$(stat -c %s "$p.ptr")
        # ... s (F fault, M mmap, ...); L lost[ (the ring buffer was full; raise --ring-size)]
        awk -v bytes="$bytes" '{
            total = $3; lost = 0
            if (match($0, /; [0-9]+ lost/)) { lost = substr($0, RSTART + 2, RLENGTH - 2); sub(/ lost/, "", lost) }
            out = ""
            start = index($0, " s (")
            if (start) {
                s = substr($0, start + 4); sub(/\).*/, "", s)
                n = split(s, parts, ", ")
                for (i = 1; i <= n; ++i) { split(parts[i], kv, " "); out = out " " kv[2] "=" kv[1] }
            }
            printf "events=%s lost=%s bytes=%s%s\n", total, lost, bytes, out
        }' <<<"$line"
        ;;
    perf)
        local stats bytes
        bytes=$(stat -c %s "$p.perf" 2>/dev/null || echo -)
        stats=$(perf report -i "$p.perf" --stats 2>/dev/null || true)
        awk -v bytes="$bytes" '
            # An aggregated section, then one per event ("tlb:tlb_flush stats:").
            $2 == "stats:" && $1 != "Aggregated" { ev = $1; next }
            $1 == "Aggregated" { ev = "" }
            ev == "" && $1 == "LOST" && $2 == "events:" { lost_records += $3 }
            ev != "" && $1 == "SAMPLE" && $2 == "events:" {
                n = $3; t = ""
                if (ev ~ /^exceptions:page_fault/) t = "fault"
                else if (ev ~ /^syscalls:sys_exit_/) { t = ev; sub(/.*sys_exit_/, "", t) }
                else if (ev == "tlb:tlb_flush") t = "tlb_flush"
                else if (ev == "migrate:remove_migration_pte") t = "migrate"
                else if (ev == "migrate:mm_migrate_pages") t = "migrate_batch"
                else if (ev ~ /^sched:sched_process_/) { t = ev; sub(/.*sched_process_/, "", t) }
                if (t != "") { c[t] += n; total += n }
            }
            ev != "" && $1 == "LOST_SAMPLES" && $2 == "events:" { lost_samples += $3 }
            END {
                # Per event, LOST_SAMPLES is the count of samples lost (perf
                # reads it from the kernel at the end). Without it (older
                # perf), the PERF_RECORD_LOST records carry the counts, which
                # --stats does not sum: the caller adds them (perf_lost_records).
                lost_samples += 0
                if (!lost_samples && lost_records) lost_samples = "0+R"
                out = ""
                for (t in c) out = out " " t "=" c[t]
                printf "events=%d lost=%s bytes=%s%s\n", total, lost_samples, bytes, out
            }' <<<"$stats" | perf_lost_records "$p.perf"
        ;;
    bpftrace)
        local bytes lost
        bytes=$(stat -c %s "$p.bt" 2>/dev/null || echo -)
        lost=$(cat "$p.err" "$p.bt" 2>/dev/null | sed -n 's/.*Lost \([0-9][0-9]*\) events.*/\1/p' |
            awk '{ n += $1 } END { print n + 0 }')
        awk -v bytes="$bytes" -v lost="$lost" '
            $1 ~ /^(fault|mmap|munmap|mremap|brk|mprotect|madvise|tlb_flush|migrate|migrate_batch|fork|exec|exit)$/ && NF > 4 {
                c[$1]++; total++ }
            END {
                out = ""
                for (t in c) out = out " " t "=" c[t]
                printf "events=%d lost=%d bytes=%s%s\n", total, lost, bytes, out
            }' "$p.bt" 2>/dev/null || echo "events=- lost=- bytes=$bytes"
        ;;
    esac
}

# Adds the counts of perf's PERF_RECORD_LOST records (samples lost when its
# buffers were full) to the lost= value of a counts line marked "+R".
perf_lost_records() {
    local line n
    line=$(cat)
    if [[ "$line" == *"lost="*"+R"* ]]; then
        n=$(perf report -D -i "$1" 2>/dev/null |
            sed -n 's/.*PERF_RECORD_LOST: .* lost:\([0-9][0-9]*\).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
        local base
        base=$(sed -n 's/.*lost=\([0-9]*\)+R.*/\1/p' <<<"$line")
        line=$(sed "s/lost=[0-9]*+R/lost=$((${base:-0} + n))/" <<<"$line")
    fi
    echo "$line"
}

# The issue's goals, filled in as sections run and printed at the end.
goals="$work/goals.txt"
: >"$goals"
goal() { # goal WHAT TARGET MEASURED MET(yes|no)
    printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$([[ $4 == yes ]] && echo met || echo "**missed**")" >>"$goals"
}

results="$work/runs.txt"
: >"$results"
record_run() { echo "$*" >>"$results"; }
get() { sed -n "s/.*\<$2=\([^ ]*\).*/\1/p" <<<"$1" | head -n1; } # get "k=v ..." KEY
sum_keys() { # sum_keys "k=v ..." KEY... (missing keys count 0)
    local line=$1 total=0 v
    shift
    for k in "$@"; do
        v=$(get "$line" "$k")
        [[ "$v" =~ ^[0-9]+$ ]] && total=$((total + v))
    done
    echo "$total"
}

# ---------------------------------------------------------------- migration by memory offlining
# Offlining a memory block migrates every movable page out of it (reason
# memory_hotplug): unlike compaction, which moves nothing once memory is
# compact, this moves a known set of pages every time. The blocks holding most
# of the workload's pages are offlined one at a time and onlined again at once;
# a block the kernel refuses (an unmovable page in it: the kernel says so in
# its log) is skipped, and the next tried (up to 64).
mem_sys=/sys/devices/system/memory
# offline_workload_blocks REPORT: sets offline_seconds, the time spent offlining.
# The block being offlined is noted in $work/offlined-block until it is online
# again, so that an interrupted run still puts it back (cleanup).
offline_workload_blocks() {
    local report=$1 block_pages blk tried=0 done_blocks=0 t0 t1
    offline_seconds=0
    block_pages=$(($(sed 's/^/0x/' "$mem_sys/block_size_bytes") / 4096))
    for blk in $(awk -v bp="$block_pages" '$1 == "pfn" && $2 == "before" && $4 > 0 { n[int($4 / bp)]++ }
                 END { for (b in n) print n[b], b }' "$report" | sort -rn | awk '{ print $2 }'); do
        ((tried < 64 && done_blocks < offline_blocks)) || break
        [[ -w "$mem_sys/memory$blk/online" && $(cat "$mem_sys/memory$blk/online") == 1 ]] || continue
        ((++tried))
        echo "$blk" >"$work/offlined-block"
        t0=$(now)
        if timeout 20 sh -c "echo 0 > $mem_sys/memory$blk/online" 2>/dev/null; then
            t1=$(now)
            offline_seconds=$(awk -v a="$t0" -v b="$t1" -v s="$offline_seconds" 'BEGIN { printf "%.6f", s + b - a }')
            ((++done_blocks))
        fi
        # Online again at once (a refused offline leaves it online already).
        if [[ $(cat "$mem_sys/memory$blk/online") != 1 ]]; then
            echo 1 >"$mem_sys/memory$blk/online" ||
                note "warning: could not online memory block $blk again: echo 1 > $mem_sys/memory$blk/online"
        fi
        rm -f "$work/offlined-block"
    done
    ((done_blocks > 0)) || note "warning: no memory block holding the workload could be offlined"
}

# ---------------------------------------------------------------- overhead
# run_overhead_once WORKLOAD MODE RUN (RUN < 0: warm-up, not kept)
run_overhead_once() {
    local w=$1 mode=$2 run=$3
    local p="$work/$w.$mode.$run"
    local scope="" cmd=()
    rm -f "$p".*
    case "$w" in
    fault_storm) cmd=("$wl/fault_storm" "${storm_args[@]}" --report "$p.report") ;;
    mmap_churn) cmd=("$wl/mmap_churn" "${churn_args[@]}" --report "$p.report") ;;
    compaction)
        cmd=("$wl/touch_pages" --pages "$compact_pages" --free-every-other --hold --report "$p.report")
        scope="-a" # migrations run in the migrating task, not in the workload
        ;;
    memory_offline)
        cmd=("$wl/touch_pages" --pages "$offline_pages" --hold --report "$p.report")
        scope="-a"
        ;;
    esac
    local inner="" migrated=- mstart mend
    start_traced "$mode" "$p" "$scope" "${cmd[@]}"
    if [[ $w == compaction || $w == memory_offline ]]; then
        if ! wait_for_text "$p.report" '^held' 120 "$bg"; then
            kill -TERM "$bg" 2>/dev/null || true
            finish_traced "$p" || true
            die "$w workload did not reach its hold point ($mode)"
        fi
        # The agent looks frames up 250 ms after the faults (its settle
        # delay); every mode waits the same.
        sleep 1
        local m0 m1 wpid
        m0=$(awk '$1 == "pgmigrate_success" { print $2 }' /proc/vmstat)
        mstart=$(now)
        if [[ $w == compaction ]]; then
            echo 1 >/proc/sys/vm/compact_memory
            mend=$(now)
            inner=$(awk -v a="$mstart" -v b="$mend" 'BEGIN { printf "%.6f", b - a }')
        else
            offline_workload_blocks "$p.report"
            inner=$offline_seconds
            # No block could be offlined: nothing was measured.
            [[ $inner != 0 ]] || inner=-
        fi
        m1=$(awk '$1 == "pgmigrate_success" { print $2 }' /proc/vmstat)
        migrated=$((m1 - m0))
        wpid=$(awk '$1 == "held" { print $2; exit }' "$p.report")
        kill -USR2 "$wpid"
    fi
    finish_traced "$p" || die "$w under $mode failed"
    ((run >= 0)) || return 0

    local caused captured c
    c=$(counts "$mode" "$p")
    case "$w" in
    fault_storm)
        inner=$(kv "$p.report" seconds)
        caused=$(kv "$p.report" pages_touched)
        captured=$(get "$c" fault)
        ;;
    mmap_churn)
        inner=$(kv "$p.report" seconds)
        caused=$(($(kv "$p.report" syscalls) + $(kv "$p.report" pages_touched)))
        captured=$(sum_keys "$c" fault mmap munmap mprotect madvise mremap)
        ;;
    compaction | memory_offline)
        caused=$(awk '$1 == "pfn" && $2 == "before" { b[$3] = $4 }
            $1 == "pfn" && $2 == "after" && b[$3] != $4 { n++ } END { print n + 0 }' "$p.report")
        captured=$(get "$c" migrate)
        ;;
    esac
    [[ $mode == untraced ]] && captured=-
    : "${captured:=0}"
    [[ $inner != - ]] || { caused=- captured=- migrated=-; }
    record_run "wl=$w mode=$mode run=$run inner=$inner wall=$(kv "$p.stat" wall_s)" \
        "user=$(kv "$p.stat" user_s) sys=$(kv "$p.stat" sys_s) hwm=$(kv "$p.stat" hwm_kib)" \
        "caused=$caused captured=$captured migrated=$migrated $c"
    # Recordings and traces are large: keep only what --keep asks for.
    [[ -n "$keep_dir" ]] || rm -f "$p.ptr" "$p.perf" "$p.bt"
}

mode_label() {
    case "$1" in
    untraced) echo "untraced" ;;
    trace) echo "\`pagetrace trace --format json > /dev/null\`" ;;
    record) echo "\`pagetrace record -o FILE\`" ;;
    record_every) echo "\`pagetrace record --latency-every 1 -o FILE\`" ;;
    record_lean) echo "\`pagetrace record --no-fault-outcome -o FILE\`" ;;
    perf) echo "\`perf record\` (same tracepoints)" ;;
    bpftrace) echo "\`bpftrace\` (same events and fields, to a file)" ;;
    esac
}

# Statistics over the kept runs, in awk (mawk has no sort: insertion sort).
AWK_STATS='
function sortv(a, n,    i, j, t) { for (i = 2; i <= n; ++i) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; --j) a[j + 1] = a[j]; a[j + 1] = t } }
function med(list,    a, n) { n = split(list, a, " "); if (!n) return ""; sortv(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function mn(list,    a, n) { n = split(list, a, " "); if (!n) return ""; sortv(a, n); return a[1] }
function mx(list,    a, n) { n = split(list, a, " "); if (!n) return ""; sortv(a, n); return a[n] }
function sum(list,    a, n, i, s) { n = split(list, a, " "); for (i = 1; i <= n; ++i) s += a[i]; return s }
function num(v) { return v != "" && v != "-" }
function field(line, key,    i, n, f) { n = split(line, f, " "); for (i = 1; i <= n; ++i) if (index(f[i], key "=") == 1) return substr(f[i], length(key) + 2); return "" }
function add(key, v) { if (num(v)) L[key] = L[key] " " v }
function grp(x) { return x < 10 ? sprintf("%.2f", x) : x < 100 ? sprintf("%.1f", x) : sprintf("%.0f", x) }
function thousands(x,    s, r) { s = sprintf("%d", x); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }; return s r }
'

overhead_table() { # overhead_table WORKLOAD
    local w=$1
    awk -v w="$w" -v modes="${active_modes[*]}" "$AWK_STATS"'
        field($0, "wl") == w {
            m = field($0, "mode")
            add(m ",inner", field($0, "inner")); add(m ",wall", field($0, "wall"))
            add(m ",events", field($0, "events")); add(m ",caused", field($0, "caused"))
            add(m ",captured", field($0, "captured")); add(m ",lost", field($0, "lost"))
            add(m ",migrated", field($0, "migrated"))
            u = field($0, "user"); s = field($0, "sys")
            if (num(u) && num(s)) add(m ",cpu", u + s)
            add(m ",hwm", field($0, "hwm"))
            if (num(field($0, "bytes")) && field($0, "events") > 0) add(m ",bpe", field($0, "bytes") / field($0, "events"))
            if ((w == "compaction" || w == "memory_offline") && field($0, "migrated") > 0) add(m ",uspp", 1e6 * field($0, "inner") / field($0, "migrated"))
        }
        END {
            what = w == "compaction" ? "compaction s" : w == "memory_offline" ? "offlining s" : "workload s"
            printf "| mode | %s, median (min–max) | × untraced | wall s, median | × untraced | events/run | captured / caused | lost, all runs | bytes/event on disk | tracer CPU s/run | tracer peak RSS MiB |\n", what
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            base = med(L["untraced,inner"]); basew = med(L["untraced,wall"])
            n = split(modes, M, " ")
            for (i = 1; i <= n; ++i) {
                m = M[i]
                if (L[m ",inner"] == "") continue
                r = med(L[m ",inner"]); rw = med(L[m ",wall"])
                ratio = base > 0 ? sprintf("%.2f×", r / base) : "–"
                ratiow = basew > 0 ? sprintf("%.2f×", rw / basew) : "–"
                if (m == "untraced") { ratio = "1.00×"; ratiow = "1.00×" }
                ev = L[m ",events"] == "" ? "–" : thousands(med(L[m ",events"]))
                cc = L[m ",captured"] == "" ? "–" : thousands(med(L[m ",captured"])) " / " thousands(med(L[m ",caused"]))
                lo = L[m ",lost"] == "" ? "–" : thousands(sum(L[m ",lost"]))
                bpe = L[m ",bpe"] == "" ? "–" : sprintf("%.1f", med(L[m ",bpe"]))
                cpu = (m == "untraced" || L[m ",cpu"] == "") ? "–" : sprintf("%.2f", med(L[m ",cpu"]))
                hwm = (m == "untraced" || L[m ",hwm"] == "") ? "–" : sprintf("%.1f", mx(L[m ",hwm"]) / 1024)
                printf "| %s | %.3f (%.3f–%.3f) | %s | %.3f | %s | %s | %s | %s | %s | %s | %s |\n", m, r, mn(L[m ",inner"]), mx(L[m ",inner"]), ratio, rw, ratiow, ev, cc, lo, bpe, cpu, hwm
            }
            if (w == "compaction" || w == "memory_offline") {
                print ""
                print "| mode | pages migrated system-wide/run, median | µs per migrated page, median | × untraced |"
                print "|---|---:|---:|---:|"
                b = med(L["untraced,uspp"])
                for (i = 1; i <= n; ++i) {
                    m = M[i]
                    if (L[m ",uspp"] == "") continue
                    u = med(L[m ",uspp"])
                    printf "| %s | %s | %.2f | %s |\n", m, thousands(med(L[m ",migrated"])), u, (b > 0 ? sprintf("%.2f×", u / b) : "–")
                }
            }
        }' "$results" | label_rows
}
# Replaces mode names in the first column with their labels.
label_rows() {
    local line m
    while IFS= read -r line; do
        for m in untraced trace record record_every record_lean perf bpftrace; do
            if [[ "$line" == "| $m |"* ]]; then
                line="| $(mode_label "$m") |${line#"| $m |"}"
                break
            fi
        done
        printf '%s\n' "$line"
    done
}

section_overhead() {
    local w m r
    echo "## Overhead: the same workload untraced and under each tracer"
    echo
    echo "Interleaved runs (one warm-up of each mode, then $runs rounds of every mode in turn)."
    echo "\"× untraced\" is the ratio of medians. \"captured / caused\": events of the kind the"
    echo "workload knows it caused, as the tracer reported them, against the workload's own count."
    echo "Tracer CPU and peak RSS are the tracer process's own (threads included, the traced"
    echo "program excluded: tools/bench/runstat). Work the tracer's BPF programs or the kernel's"
    echo "perf buffers do in the traced program's context shows in its runtime, not here."
    echo
    for w in ${workloads//,/ }; do
        note "overhead: $w (${active_modes[*]}; $runs runs each)"
        for m in "${active_modes[@]}"; do run_overhead_once "$w" "$m" -1; done
        for ((r = 0; r < runs; ++r)); do
            for m in "${active_modes[@]}"; do
                run_overhead_once "$w" "$m" "$r"
                note "  run $((r + 1))/$runs $m: $(tail -n1 "$results" | sed -n 's/.*\(inner=[^ ]*\).*\(wall=[^ ]*\).*\(events=[^ ]*\).*\(lost=[^ ]*\).*/\1 \2 \3 \4/p')"
            done
        done
        case "$w" in
        fault_storm)
            echo "### Fault storm: \`fault_storm ${storm_args[*]}\`"
            echo
            echo "One thread maps $((${storm_args[1]} * ${storm_args[3]})) MiB in ${storm_args[3]} rounds (MADV_NOHUGEPAGE) and writes every 4 KiB page once:"
            echo "$((${storm_args[1]} * 256 * ${storm_args[3]})) first-touch faults. Caused: pages touched; captured: fault events (they include the"
            echo "few dozen faults of process start-up)."
            ;;
        mmap_churn)
            echo "### VMA churn: \`mmap_churn ${churn_args[*]}\`"
            echo
            echo "Rounds of mmap, madvise, touch ${churn_args[1]} pages, mprotect ×2, mremap, munmap on a fresh region."
            echo "Caused: VMA syscalls + faults; captured: mmap, munmap, mprotect, madvise, mremap and fault events."
            ;;
        compaction)
            echo "### Compaction-driven migration: \`touch_pages --pages $compact_pages --free-every-other --hold\`, then \`echo 1 > /proc/sys/vm/compact_memory\`"
            echo
            echo "The workload touches $((compact_pages / 256)) MiB, gives every other page back and holds the rest;"
            echo "1 s later the harness compacts memory (timed: \"compaction s\"). Caused: workload pages whose"
            echo "frame changed (its own pagemap, before and after); captured: migrate events. pagetrace"
            echo "attributes each migration to the owner of the page; perf (run with -a: migrations"
            echo "happen in the compacting task) and bpftrace see every migration of the system,"
            echo "unattributed, so their counts include other processes' pages."
            ;;
        memory_offline)
            echo "### Migration by memory offlining: \`touch_pages --pages $offline_pages --hold\`, then the $offline_blocks memory blocks holding most of its pages offlined and onlined again"
            echo
            echo "Compaction moves nothing once memory is compact, so it moves few and varying pages;"
            echo "taking a memory block offline migrates every movable page out of it (reason"
            echo "memory_hotplug), a known set each time. The workload maps $((offline_pages / 256)) MiB and holds it; 1 s later the"
            echo "harness offlines the $offline_blocks blocks ($(($(sed 's/^/0x/' /sys/devices/system/memory/block_size_bytes 2>/dev/null || echo 0) / 1048576)) MiB each) holding most of its pages, one at a time, each"
            echo "onlined again at once (timed: \"offlining s\"). Caused and captured as for compaction."
            ;;
        esac
        echo
        overhead_table "$w"
        echo
        if [[ $w == fault_storm ]] && in_list record "$(printf "%s," "${active_modes[@]}")"; then
            local g
            g=$(awk "$AWK_STATS"'
                field($0, "wl") == "fault_storm" { m = field($0, "mode"); add(m ",inner", field($0, "inner")); add(m ",lost", field($0, "lost"))
                    if (num(field($0, "bytes")) && field($0, "events") > 0) add(m ",bpe", field($0, "bytes") / field($0, "events")) }
                END { printf "%.2f %d %.1f %.2f", med(L["record,inner"]) / med(L["untraced,inner"]), sum(L["record,lost"]), med(L["record,bpe"]),
                      L["record_lean,inner"] == "" ? 0 : med(L["record_lean,inner"]) / med(L["untraced,inner"]) }' "$results")
            read -r g_ratio g_lost g_bpe g_lean <<<"$g"
            goal "fault storm recorded to a file, every event type on (outcome of every fault, latency of one in 64): runtime vs untraced; drops at default settings" \
                "≤ 1.10×; 0" "${g_ratio}×; $g_lost" "$(awk -v r="$g_ratio" -v l="$g_lost" 'BEGIN { print ((r + 0 <= 1.10 && l + 0 == 0) ? "yes" : "no") }')"
            if [[ $g_lean != 0.00 ]]; then
                goal "the same, lean (\`--no-fault-outcome\`)" "≤ 1.05×" "${g_lean}×" \
                    "$(awk -v r="$g_lean" 'BEGIN { print ((r + 0 <= 1.05) ? "yes" : "no") }')"
            fi
            goal "bytes per event on disk (\`record\`, fault storm)" "≤ 4" "$g_bpe" \
                "$(awk -v b="$g_bpe" 'BEGIN { print ((b + 0 <= 4) ? "yes" : "no") }')"
        fi
    done
}

# ---------------------------------------------------------------- capture
section_capture() {
    local t m r p
    echo "## Capture rate: fault storm threads 1–4 at default settings, write and read faults"
    echo
    echo "\`fault_storm ${capture_args[*]} --threads T\` (each thread its own region), untraced, recorded and"
    echo "traced live, interleaved, $capture_runs runs each; then the same with \`--read\` (read faults map"
    echo "the zero page: no page to allocate and clear, several times more faults per second, so"
    echo "that the tracer and not the workload sets the rate). Events/s: events delivered over the"
    echo "workload's own run time. Consumer throughput: events per CPU-second of the agent."
    echo
    local cap="$work/capture.txt"
    : >"$cap"
    # The agent's fixed cost (start-up, loading and attaching BPF, teardown),
    # taken off its CPU time before dividing events by it.
    local fixed_cpu i
    for i in 1 2 3; do
        "$runstat" "$work/fixed.$i.stat" "$pt" record --force -o "$work/fixed.ptr" -- /bin/true >/dev/null 2>&1 ||
            die "pagetrace record -- /bin/true failed"
    done
    fixed_cpu=$(for i in 1 2 3; do awk '{ for (k = 1; k <= NF; ++k) { split($k, kv, "="); v[kv[1]] = kv[2] } print v["user_s"] + v["sys_s"] }' "$work/fixed.$i.stat"; done | sort -g | sed -n 2p)
    # Write faults (a page allocated and cleared each), then read faults (the
    # zero page mapped: several times more faults per second, so that the
    # tracer rather than the workload sets the rate).
    local kind extra
    for kind in write read; do
        extra=()
        [[ $kind == read ]] && extra=(--read)
        for t in 1 2 3 4; do
            note "capture: $kind faults, $t thread(s)"
            for ((r = 0; r < capture_runs; ++r)); do
                for m in untraced record trace; do
                    in_list "$m" "$modes" || continue
                    p="$work/capture.$kind.$t.$m.$r"
                    start_traced "$m" "$p" "" "$wl/fault_storm" "${capture_args[@]}" "${extra[@]}" --threads "$t" --report "$p.report"
                    finish_traced "$p" || die "capture run failed"
                    echo "kind=$kind threads=$t mode=$m inner=$(kv "$p.report" seconds) user=$(kv "$p.stat" user_s) sys=$(kv "$p.stat" sys_s) $(counts "$m" "$p")" >>"$cap"
                    rm -f "$p.ptr"
                done
            done
        done
    done
    awk -v fixed="$fixed_cpu" -v best_out="$work/capture.best" "$AWK_STATS"'
        {
            k = field($0, "kind") "," field($0, "threads") "," field($0, "mode"); T[field($0, "threads")] = 1
            add(k ",inner", field($0, "inner")); add(k ",events", field($0, "events")); add(k ",lost", field($0, "lost"))
            u = field($0, "user"); s = field($0, "sys")
            if (num(u) && num(s)) add(k ",cpu", u + s)
            if (num(field($0, "events")) && field($0, "inner") > 0) add(k ",rate", field($0, "events") / field($0, "inner"))
        }
        END {
            printf "Agent CPU of an empty run (`pagetrace record -- /bin/true`: start-up, BPF load, teardown): %.2f s; it is subtracted before computing consumer throughput.\n\n", fixed
            print "| faults | threads | mode | events/run | workload s | untraced faults/s | × untraced | events/s | lost, all runs | agent CPU s/run | consumer events per CPU-s |"
            print "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
            best = 0
            split("write read", K, " ")
            for (j = 1; j <= 2; ++j) {
                for (t = 1; t <= 4; ++t) {
                    if (!(t in T)) continue
                    base = med(L[K[j] "," t ",untraced,inner"])
                    split("record trace", M, " ")
                    for (i = 1; i <= 2; ++i) {
                        k = K[j] "," t "," M[i]
                        if (L[k ",inner"] == "") continue
                        r = med(L[k ",inner"]); ev = med(L[k ",events"]); lost = sum(L[k ",lost"]); rate = med(L[k ",rate"]); cpu = med(L[k ",cpu"])
                        printf "| %s | %d | %s | %s | %.3f | %s | %s | %.2f M | %s | %.2f | %s |\n", K[j], t, M[i], thousands(ev), r, (base > 0 ? sprintf("%.2f M", ev / base / 1e6) : "–"), (base > 0 ? sprintf("%.2f×", r / base) : "–"), rate / 1e6, thousands(lost), cpu, (cpu - fixed > 0 ? sprintf("%.2f M", ev / (cpu - fixed) / 1e6) : "–")
                        if (lost == 0 && rate > best) { best = rate; bt = t; bm = M[i]; bk = K[j] }
                        if (M[i] == "record" && cpu - fixed > 0 && ev / (cpu - fixed) > consumer) consumer = ev / (cpu - fixed)
                    }
                }
            }
            print ""
            if (best > 0) printf "Largest event rate drained with zero loss: **%.2f M events/s** (%s faults, %d thread%s, %s).\n", best / 1e6, bk, bt, (bt > 1 ? "s" : ""), bm
            else print "Every configuration lost events."
            printf "%.2f %.2f\n", best / 1e6, consumer / 1e6 > best_out
        }' "$cap"
    echo
    local c_rate c_consumer
    read -r c_rate c_consumer <"$work/capture.best"
    goal "events/s drained with zero loss (fault storm, 1–4 threads)" "≥ 1.5 M" "$c_rate M" \
        "$(awk -v r="$c_rate" 'BEGIN { print ((r + 0 >= 1.5) ? "yes" : "no") }')"
    goal "consumer events per CPU-second while recording" "≥ 5 M" "$c_consumer M" \
        "$(awk -v r="$c_consumer" 'BEGIN { print ((r + 0 >= 5) ? "yes" : "no") }')"
}

# ---------------------------------------------------------------- bystander
# What a process pagetrace does not trace pays while pagetrace traces another:
# the fault entry programs run for every fault on the machine (and leave at
# once for other processes), the sampled completion events count every fault.
section_bystander() {
    local r p m
    echo "## Bystander: a fault storm pagetrace does not trace"
    echo
    echo "\`fault_storm ${storm_args[*]}\` untraced: alone, beside empty BPF programs on the fault-entry"
    echo "tracepoints (\`bench/hook_floor\`: the floor of any hook there), and while \`pagetrace record"
    echo "-- sleep\` runs on the same machine (started 1 s before) with its default settings and with"
    echo "\`--latency-every 0\`; interleaved, $bystander_runs runs each: what every other process pays for the"
    echo "one being traced."
    echo
    local by="$work/bystander.txt"
    : >"$by"
    note "bystander: $bystander_runs runs"
    for ((r = 0; r < bystander_runs; ++r)); do
        for m in alone floor record record_nolat; do
            p="$work/bystander.$m.$r"
            local beside=""
            case $m in
            floor) "$hook_floor" 2>"$p.err" & beside=$! ;;
            record) "$pt" record --force -o "$p.ptr" -- sleep 600 >/dev/null 2>"$p.err" & beside=$! ;;
            record_nolat) "$pt" record --latency-every 0 --force -o "$p.ptr" -- sleep 600 >/dev/null 2>"$p.err" & beside=$! ;;
            esac
            [[ -n $beside ]] && sleep 1
            "$wl/fault_storm" "${storm_args[@]}" --report "$p.report" >/dev/null 2>&1 || die "fault_storm failed"
            if [[ -n $beside ]]; then
                kill -INT "$beside"
                wait "$beside" || true
            fi
            echo "mode=$m inner=$(kv "$p.report" seconds)" >>"$by"
            rm -f "$p.ptr"
        done
    done
    local b_ratio
    b_ratio=$(awk "$AWK_STATS"'{ add(field($0, "mode"), field($0, "inner")) }
        END { printf "%.3f", med(L["record"]) / med(L["alone"]) }' "$by")
    awk "$AWK_STATS"'{ add(field($0, "mode"), field($0, "inner")) }
        END {
            print "| fault storm | workload s, median (min–max) | × alone |"
            print "|---|---:|---:|"
            split("alone floor record_nolat record", M, " ")
            N["alone"] = "alone"; N["floor"] = "beside empty programs on the fault-entry tracepoints (floor)"
            N["record"] = "beside `pagetrace record -- sleep`"; N["record_nolat"] = "beside `pagetrace record --latency-every 0 -- sleep`"
            for (i = 1; i <= 4; ++i) {
                m = M[i]
                if (L[m] == "") continue
                printf "| %s | %.3f (%.3f–%.3f) | %.3f× |\n", N[m], med(L[m]), mn(L[m]), mx(L[m]), med(L[m]) / med(L["alone"])
            }
        }' "$by"
    echo
    goal "an untraced process's fault storm while pagetrace traces another" "≤ 1.01×" "${b_ratio}×" \
        "$(awk -v r="$b_ratio" 'BEGIN { print ((r + 0 <= 1.01) ? "yes" : "no") }')"
}

# ---------------------------------------------------------------- snapshot
section_snapshot() {
    local pct out
    echo "## Snapshot rate: one thread reading /proc/PID/pagemap"
    echo
    echo "\`snapshot_bench --gib $snapshot_gib --touch-percent P\`: a child maps $snapshot_gib GiB (4 KiB pages) and touches"
    echo "P% of it in runs of 64 pages; full snapshots (every mapping, PFNs included) with plain"
    echo "\`pread\` of every pagemap entry and with PAGEMAP_SCAN finding the present runs first,"
    echo "interleaved, median of $snapshot_runs. GiB/s counts mapped address space."
    echo
    echo "| touched | method | median s | GiB mapped / s | pages found |"
    echo "|---:|---|---:|---:|---:|"
    for pct in 10 100; do
        note "snapshot: ${snapshot_gib} GiB, $pct% touched"
        out=$("$snapshot_bench" --gib "$snapshot_gib" --touch-percent "$pct" --runs "$snapshot_runs") ||
            die "snapshot_bench failed"
        # Its rows: | method | median s | GiB mapped / s | pages found |
        sed -n '/^| [a-zA-Z]/p' <<<"$out" | grep -v '^| method' | sed "s/^| /| $pct% | /"
        # Best method's GiB/s for the goal.
        local best
        best=$(sed -n '/^| [a-zA-Z]/p' <<<"$out" | grep -v '^| method' | awk -F'|' '$4 + 0 > b { b = $4 + 0 } END { printf "%.0f", b }')
        goal "snapshot rate, $pct% of a ${snapshot_gib} GiB mapping present (4 KiB pages), one thread" "≥ 100 GiB/s" "$best GiB/s" \
            "$(awk -v b="$best" 'BEGIN { print ((b + 0 >= 100) ? "yes" : "no") }')"
    done
    echo
}

# ---------------------------------------------------------------- replay
section_replay() {
    local p="$work/replay" r i
    echo "## Replay rate: a large recording"
    echo
    note "replay: recording fault_storm ${replay_args[*]}"
    "$runstat" "$p.rec.stat" "$pt" record --force -o "$p.ptr" -- "$wl/fault_storm" "${replay_args[@]}" \
        >/dev/null 2>"$p.rec.err" || die "recording for the replay benchmark failed: $(tail -n3 "$p.rec.err")"
    local events size
    events=$("$pt" info "$p.ptr" | awk '$1 == "events" { gsub(/[^0-9]/, "", $2); print $2; exit }')
    size=$(stat -c %s "$p.ptr")
    echo "\`pagetrace record -o FILE -- fault_storm ${replay_args[*]}\`: $(thousands "$events") events, $(awk -v s="$size" 'BEGIN { printf "%.1f MiB", s / 1048576 }') on disk"
    echo "($(awk -v s="$size" -v e="$events" 'BEGIN { printf "%.1f", s / e }') bytes/event). Each command $replay_runs times, interleaved, median; output to /dev/null."
    echo
    local labels=("replay FILE --format json" "replay FILE --format json --no-symbols"
                  "replay FILE --format text" "info FILE")
    local commands=("replay $p.ptr --format json" "replay $p.ptr --format json --no-symbols"
                    "replay $p.ptr --format text" "info $p.ptr")
    local have_timeline=0
    if "$pt" timeline --help >/dev/null 2>&1; then
        have_timeline=1
        labels+=("timeline FILE")
        commands+=("timeline $p.ptr")
    fi
    if "$pt" export --help >/dev/null 2>&1; then
        labels+=("export FILE --format perfetto -o OUT")
        commands+=("export $p.ptr --format perfetto -o $p.pftrace")
    fi
    if "$pt" report --help >/dev/null 2>&1; then
        labels+=("report FILE -o OUT")
        commands+=("report $p.ptr -o $p.html")
    fi
    local rr="$work/replay.txt"
    : >"$rr"
    for ((r = 0; r < replay_runs; ++r)); do
        for i in "${!labels[@]}"; do
            note "replay: pagetrace ${labels[i]} ($((r + 1))/$replay_runs)"
            local cmd=()
            read -r -a cmd <<<"${commands[i]}"
            "$runstat" "$p.stat" "$pt" "${cmd[@]}" >/dev/null 2>"$p.err" ||
                die "pagetrace ${labels[i]} failed: $(tail -n3 "$p.err")"
            echo "cmd=$i wall=$(kv "$p.stat" wall_s) hwm=$(kv "$p.stat" hwm_kib)" >>"$rr"
        done
    done
    local joined
    joined=$(printf '%s|' "${labels[@]}")
    awk -v events="$events" -v labels="$joined" "$AWK_STATS"'
        { c = field($0, "cmd"); add(c ",wall", field($0, "wall")); add(c ",hwm", field($0, "hwm")) }
        END {
            n = split(labels, lab, "|")
            print "| command | median s | events/s | peak RSS MiB |"
            print "|---|---:|---:|---:|"
            for (i = 1; i < n; ++i) {
                c = i - 1; if (L[c ",wall"] == "") continue
                w = med(L[c ",wall"])
                printf "| `pagetrace %s%s` | %.3f | %.1f M | %.1f |\n", lab[i], (lab[i] ~ /^(info|export|report)/ ? "" : " > /dev/null"), w, events / w / 1e6, mx(L[c ",hwm"]) / 1024
            }
        }' "$rr"
    local json_rate plain_rate
    rate_of() { # CMD_INDEX
        awk -v events="$events" -v c="$1" "$AWK_STATS"'field($0, "cmd") == c { add("w", field($0, "wall")) } END { printf "%.1f", events / med(L["w"]) / 1e6 }' "$rr"
    }
    json_rate=$(rate_of 0)
    plain_rate=$(rate_of 1)
    goal "replay rate with symbols (\`replay --format json > /dev/null\`)" "≥ 5 M events/s" "$json_rate M events/s" \
        "$(awk -v r="$json_rate" 'BEGIN { print ((r + 0 >= 5) ? "yes" : "no") }')"
    goal "replay rate without (\`replay --format json --no-symbols\`)" "≥ 10 M events/s" "$plain_rate M events/s" \
        "$(awk -v r="$plain_rate" 'BEGIN { print ((r + 0 >= 10) ? "yes" : "no") }')"
    local i_view
    for i_view in "${!labels[@]}"; do
        case ${labels[i_view]} in
        export* | report*)
            local view_rate
            view_rate=$(awk -v events="$events" -v c="$i_view" "$AWK_STATS"'field($0, "cmd") == c { add("w", field($0, "wall")) } END { printf "%.1f", events / med(L["w"]) / 1e6 }' "$rr")
            goal "\`${labels[i_view]%% *}\` rate" "≥ 5 M events/s" "$view_rate M events/s" \
                "$(awk -v r="$view_rate" 'BEGIN { print ((r + 0 >= 5) ? "yes" : "no") }')"
            ;;
        esac
    done
    if ((!have_timeline)); then
        echo
        echo "(\`pagetrace timeline\` skipped: this pagetrace has no timeline command yet.)"
    fi
    echo
    [[ -n "$keep_dir" ]] || rm -f "$p.ptr" "$p.pftrace" "$p.html"
}

# ---------------------------------------------------------------- rss
section_rss() {
    local pages=$rss_pages m p
    local avail_kib
    avail_kib=$(awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo)
    if ((avail_kib < pages * 4 + 2 * 1024 * 1024)); then
        local fit=$(((avail_kib - 2 * 1024 * 1024) / 4))
        ((fit > 0)) || { echo "## Agent memory: skipped (not enough free memory)"; echo; return; }
        note "rss: only $((avail_kib / 1024)) MiB available; tracking $fit pages instead of $pages"
        pages=$fit
    fi
    echo "## Agent memory while tracking $(thousands "$pages") pages"
    echo
    echo "\`touch_pages --pages $pages --hold\`: $((pages / 256)) MiB touched once and held; the agent's frame index"
    echo "(migration attribution) holds one entry per page. Sampled 2 s after the workload reached"
    echo "its hold point (the index settles 250 ms after the faults)."
    echo
    echo "| mode | pages touched | agent VmRSS while held, MiB | agent VmHWM at exit, MiB | lost |"
    echo "|---|---:|---:|---:|---:|"
    for m in record trace; do
        note "rss: $m, $pages pages"
        p="$work/rss.$m"
        rm -f "$p".*
        start_traced "$m" "$p" "" "$wl/touch_pages" --pages "$pages" --hold --report "$p.report"
        wait_for_text "$p.report" '^held' 180 "$bg" || die "touch_pages did not reach its hold point under $m"
        sleep 2
        local agent rss wpid
        agent=$(pgrep -P "$bg" | head -n1)
        rss=$(awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$agent/status" 2>/dev/null || echo -)
        wpid=$(awk '$1 == "held" { print $2; exit }' "$p.report")
        kill -USR2 "$wpid"
        finish_traced "$p" || die "rss run under $m failed"
        local c
        c=$(counts "$m" "$p")
        if [[ $m == record ]]; then
            local hwm_mib
            hwm_mib=$(awk -v k="$(kv "$p.stat" hwm_kib)" 'BEGIN { printf "%.1f", k / 1024 }')
            goal "agent peak RSS while tracking $(thousands "$pages") pages (\`record\`)" "≤ 100 MiB" "$hwm_mib MiB" \
                "$(awk -v r="$hwm_mib" 'BEGIN { print ((r + 0 <= 100) ? "yes" : "no") }')"
        fi
        printf '| %s | %s | %s | %s | %s |\n' "$(mode_label "$m")" "$(thousands "$pages")" "$rss" \
            "$(awk -v k="$(kv "$p.stat" hwm_kib)" 'BEGIN { printf "%.1f", k / 1024 }')" "$(get "$c" lost)"
        rm -f "$p.ptr" "$p.report"
    done
    echo
}

# ---------------------------------------------------------------- main
load1=$(cut -d' ' -f1 /proc/loadavg)
busy=$(cpu_busy_percent)
((busy <= 10)) || note "warning: the CPUs are ${busy}% busy (load average $load1); other work skews the results"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t_start=$SECONDS
if rev=$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null); then
    git -C "$repo_root" diff --quiet HEAD 2>/dev/null || rev="$rev with local changes"
else
    rev="${PAGETRACE_BENCH_REV:-unknown: not a git checkout}"
fi

echo "# pagetrace benchmarks"
echo
echo "- date: $started"
echo "- machine: $(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)), $(awk '$1 == "MemTotal:" { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
echo "- pagetrace $("$pt" --version 2>/dev/null | awk '{ print $NF }') (git $rev); $(perf --version 2>/dev/null || echo 'perf: not installed'); $(bpftrace --version 2>/dev/null || echo 'bpftrace: not installed')"
echo "- command: \`sudo tools/bench.sh ${orig_args[*]}\`"
echo "- CPU busy before starting: ${busy}% (load average $load1)"
for n in "${peer_notes[@]}"; do echo "- $n"; done
echo

in_list overhead "$sections" && section_overhead
in_list capture "$sections" && section_capture
in_list bystander "$sections" && section_bystander
in_list snapshot "$sections" && section_snapshot
in_list replay "$sections" && section_replay
in_list rss "$sections" && section_rss

if [[ -s "$goals" ]]; then
    echo "## Goals"
    echo
    echo "| goal | target | measured | |"
    echo "|---|---|---|---|"
    cat "$goals"
    echo
fi

busy=$(cpu_busy_percent)
echo "Finished in $(((SECONDS - t_start) / 60)) min $(((SECONDS - t_start) % 60)) s; CPU busy after: ${busy}%."
