#!/usr/bin/env bash
# Configures and builds pagetrace into build/ (or $PAGETRACE_BUILD_DIR).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAGETRACE_BUILD_DIR:-$root/build}"
"$root/tools/setup.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"${PAGETRACE_JOBS:-2}"
