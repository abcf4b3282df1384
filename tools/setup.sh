#!/usr/bin/env bash
# Installs the Debian packages pagetrace needs to build, run and test, if any
# are missing. Safe to run again: it installs nothing when all are present.
set -euo pipefail

PACKAGES=(
  cmake make g++ pkg-config      # C++ build
  clang                          # BPF objects (-target bpf); the fuzz build
  libclang-rt-dev                # libFuzzer and sanitizer runtimes for the fuzz build
  bpftool                        # skeleton generation (bpftool gen object/skeleton)
  libbpf-dev libelf-dev zlib1g-dev libzstd-dev
  libdw-dev                      # symbolization: elfutils libdwfl (ELF, DWARF, debuginfod)
  libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev                   # tests
  protobuf-compiler              # tests: protoc --decode reads `pagetrace export` output
  chromium fonts-dejavu-core     # tests: the HTML report in a headless browser, its screenshot
  python3 xz-utils git gcc       # tests: fault accounting of real programs against wait4's rusage
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    SUDO=sudo
  else
    echo "setup: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
