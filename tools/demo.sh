#!/usr/bin/env bash
# Quick start, part one: installs what is missing, builds, and traces the
# bundled demo workload live. Extra arguments go to `pagetrace trace`
# (e.g. --format json). Needs root (BPF).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PAGETRACE_BUILD_DIR:-$root/build}"
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: tracing needs root; run: sudo $0 $*" >&2
  exit 1
fi
"$root/tools/build.sh"
echo "demo: pagetrace trace $* -- $build/workloads/demo" >&2
exec "$build/pagetrace" trace "$@" -- "$build/workloads/demo"
