# Helpers of the benchmark scripts (tools/bench.sh, tools/bench-faultstorm.sh).
# A script sets bench_name, the prefix of its messages, then sources this file.

die() {
    echo "$bench_name: error: $*" >&2
    exit 1
}
note() { echo "$bench_name: $*" >&2; }

now() { date +%s.%N; }

# How busy all CPUs were over one second, in percent, from /proc/stat.
cpu_busy_percent() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        busy = y[1] - x[1]; idle = y[2] - x[2]
        printf "%.0f", (busy + idle) ? 100 * busy / (busy + idle) : 0 }'
}
