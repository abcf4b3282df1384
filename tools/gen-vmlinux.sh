#!/usr/bin/env bash
# Regenerates bpf/vmlinux/<arch>/vmlinux.h from a kernel's BTF. The committed
# header makes the build independent of the build machine's kernel; CO-RE
# relocates field offsets to the running kernel at load time.
#   tools/gen-vmlinux.sh [BTF_FILE]     default: /sys/kernel/btf/vmlinux
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
btf="${1:-/sys/kernel/btf/vmlinux}"
case "$(uname -m)" in
  x86_64) arch=x86 ;;
  *) echo "gen-vmlinux: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
[ -r "$btf" ] || { echo "gen-vmlinux: cannot read BTF file $btf" >&2; exit 1; }
out="$root/bpf/vmlinux/$arch/vmlinux.h"
tmp="$(mktemp)"
bpftool btf dump file "$btf" format c > "$tmp"
mv "$tmp" "$out"
echo "gen-vmlinux: wrote $out ($(wc -l < "$out") lines) from $btf" >&2
