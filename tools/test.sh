#!/usr/bin/env bash
# Quick start, part two: installs what is missing, builds, and runs the whole
# test suite: unit tests, the BPF integration tests (as root), the unit tests
# again under AddressSanitizer + UBSan, and the recording reader's fuzzer for
# a bounded time over the recorded fixtures.
#   tools/test.sh              everything
#   tools/test.sh -L unit      only the unit tests (no root needed)
# Extra arguments go to ctest. PAGETRACE_SKIP_SANITIZE=1 skips the sanitizer
# pass, PAGETRACE_SKIP_FUZZ=1 the fuzzing; PAGETRACE_FUZZ_SECONDS sets its
# time (default 45).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAGETRACE_BUILD_DIR:-$root/build}"
"$root/tools/build.sh"

if [ "${PAGETRACE_SKIP_SANITIZE:-0}" != 1 ]; then
  asan="${build}-asan"
  echo "test: unit tests under ASan/UBSan ($asan)" >&2
  cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DPAGETRACE_SANITIZE=ON >/dev/null
  cmake --build "$asan" -j"${PAGETRACE_JOBS:-2}" --target unit_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$asan/tests/unit_tests" --gtest_brief=1
fi

if [ "${PAGETRACE_SKIP_FUZZ:-0}" != 1 ]; then
  fuzz="${build}-fuzz"
  seconds="${PAGETRACE_FUZZ_SECONDS:-45}"
  echo "test: fuzzing the recording reader for ${seconds} s ($fuzz)" >&2
  cmake -S "$root" -B "$fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPAGETRACE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build "$fuzz" -j"${PAGETRACE_JOBS:-2}" --target record_reader_fuzz
  # New inputs go to a scratch corpus; the recorded fixtures are the seeds. A
  # crash leaves its input in $fuzz/ and fails the run.
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
  "$fuzz/tests/fuzz/record_reader_fuzz" -max_total_time="$seconds" -timeout=10 \
    -max_len=16384 -rss_limit_mb=2048 -artifact_prefix="$fuzz/" -print_final_stats=1 \
    "$corpus" "$root/tests/fixtures" 2>"$fuzz/fuzz.log" || {
    tail -n 60 "$fuzz/fuzz.log" >&2
    echo "test: the fuzzer found a problem; its input is in $fuzz/ (crash-*, leak-*, timeout-*)" >&2
    exit 1
  }
  grep -E '^stat::number_of_executed_units|Done [0-9]+ runs' "$fuzz/fuzz.log" >&2 || true
fi

cd "$build"
ctest --output-on-failure --timeout 300 "$@"
