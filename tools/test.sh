#!/usr/bin/env bash
# Quick start, part two: installs what is missing, builds, and runs the whole
# test suite (unit tests, and as root the BPF integration tests).
#   tools/test.sh              everything
#   tools/test.sh -L unit      only the unit tests (no root needed)
# Extra arguments go to ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAGETRACE_BUILD_DIR:-$root/build}"
"$root/tools/build.sh"
cd "$build"
ctest --output-on-failure --timeout 300 "$@"
