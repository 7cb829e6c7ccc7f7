#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-deps.sh - installs the Debian packages needed to build and test waft.
#
#   usage: bash tools/install-deps.sh          what make all/check/demo need
#          bash tools/install-deps.sh bench    the same plus what make bench needs
#          bash tools/install-deps.sh cross    the same plus what make check-cross needs
#
# Idempotent: asks dpkg which packages are missing and runs apt-get (update once, then
# install) only if some are. Uses sudo when not root. Needs Debian 12 or similar.
set -euo pipefail

packages=(
    gcc make                    # the library, CLI and tests
    clang lld                   # libFuzzer builds, the demo's wasm32 builds (wasm-ld is in lld)
    libclang-rt-14-dev          # libFuzzer and the sanitizer runtimes for clang
    wasi-libc                   # wasm32-wasi C library, for WASI test programs
    libclang-rt-14-dev-wasm32   # compiler-rt builtins for wasm32
    wabt                        # wat2wasm, for the unit tests' modules
    clang-format                # make format / format-check
    git                         # make format lists files with git ls-files
    libssl-dev                  # libcrypto: HMAC-SHA256 key proofs of live migration
    libzstd-dev                 # waft run --compress: zstd images (the Makefile needs zstd.h)
    python3                     # the migration tests' link-breaking proxy, bench/run.py
    iproute2                    # ip netns: migration tests between network namespaces
    pkg-config binutils         # make example-capi: pkg-config, nm (libwaft.so's exports)
)
# npm fetches SQLite (npm pack better-sqlite3) for the migration tests and the benchmarks;
# it comes with node. A node installed another way (e.g. a newer nodejs package that bundles
# npm) will do.
if ! command -v npm >/dev/null; then
    packages+=(npm)
fi

if [[ ${1:-} == bench ]]; then
    packages+=(
        python3                 # bench/run.py, the driver
        gnuplot-nox             # the chart in docs/performance.md
        valgrind                # make bench-profile (callgrind)
    )
elif [[ ${1:-} == cross ]]; then
    # Cross compilers and their C libraries, and qemu-user to run what they build. For
    # 32-bit x86 the i686 cross compiler, not gcc-multilib (-m32): Debian 12's gcc-multilib
    # conflicts with every gcc-*-linux-gnu cross compiler, so the two cannot be installed
    # together; the cross compiler also has its own sysroot (/usr/i686-linux-gnu), used the
    # same way as the other targets'.
    packages+=(
        qemu-user                           # qemu-aarch64, qemu-s390x, qemu-i386
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross
        gcc-s390x-linux-gnu libc6-dev-s390x-cross
        gcc-i686-linux-gnu libc6-dev-i386-cross
    )
elif [[ $# -gt 0 ]]; then
    echo "usage: $0 [bench|cross]" >&2
    exit 2
fi

missing=()
for p in "${packages[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) != "install ok installed" ]]; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages are installed"
    exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if ! command -v apt-get >/dev/null; then
    echo "install-deps: apt-get not found; install these packages by hand" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null; then
    echo "install-deps: not root and no sudo; install these packages as root" >&2
    exit 1
fi

# as_root CMD...: runs CMD as root (through sudo when needed), without prompts from apt.
as_root()
{
    if [[ $(id -u) -eq 0 ]]; then
        env DEBIAN_FRONTEND=noninteractive "$@"
    else
        sudo env DEBIAN_FRONTEND=noninteractive "$@"
    fi
}

echo "install-deps: apt-get update"
as_root apt-get update -q
echo "install-deps: apt-get install -y --no-install-recommends ${missing[*]}"
as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
