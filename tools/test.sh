#!/usr/bin/env bash
# Quick start, part two: installs what is missing, builds, and runs the whole
# test suite: unit tests, the BPF integration tests (as root), and the unit
# tests again under AddressSanitizer + UBSan.
#   tools/test.sh              everything
#   tools/test.sh -L unit      only the unit tests (no root needed)
# Extra arguments go to ctest. PAGETRACE_SKIP_SANITIZE=1 skips the sanitizer pass.
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

cd "$build"
ctest --output-on-failure --timeout 300 "$@"
