#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - compile examples/kernels.c to WebAssembly, run it with waft, check it against
# a native build of the same C, and show fuel stopping a run.
#
#   usage: bash examples/demo.sh path/to/waft        (or: make demo)
#
# Needs clang and wasm-ld (Debian: clang lld) and gcc; tools/install-deps.sh installs them.
# Output goes to build/examples/. Exits non-zero if any result differs from the native one.
set -euo pipefail

if [[ $# -ne 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/waft (build it with 'make')" >&2
    exit 2
fi
waft=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/build/examples

for tool in clang wasm-ld gcc; do
    if ! command -v "$tool" >/dev/null; then
        echo "demo: '$tool' not found; install clang, lld and gcc (bash tools/install-deps.sh)" >&2
        exit 1
    fi
done

mkdir -p "$out"
wasm=$out/kernels.wasm
native=$out/kernels-native
functions=(mandel_checksum sieve_count nbody_energy)

echo "demo: compiling examples/kernels.c to $wasm"
exports=()
for f in "${functions[@]}"; do
    exports+=("-Wl,--export=$f")
done
# -ffp-contract=off on both sides: a fused multiply-add would change the float results.
clang --target=wasm32 -O2 -nostdlib -ffp-contract=off -Wl,--no-entry "${exports[@]}" \
    -o "$wasm" "$root/examples/kernels.c"
echo "demo: compiling the same C natively with gcc"
gcc -std=c11 -O2 -ffp-contract=off -o "$native" \
    "$root/examples/kernels.c" "$root/examples/native_main.c" -lm

now_ms()
{
    date +%s%3N
}

# name arg pairs
runs=(mandel_checksum 400 sieve_count 4000000 nbody_energy 200000)
mismatches=0
printf '\n  %-26s %-22s %-22s %s\n' "call" "waft" "native" "waft time"
for ((i = 0; i < ${#runs[@]}; i += 2)); do
    f=${runs[i]}
    arg=${runs[i + 1]}
    start=$(now_ms)
    got=$("$waft" run --invoke "$f" "$wasm" "$arg") || {
        echo "demo: waft run --invoke $f failed (exit status $?)" >&2
        exit 1
    }
    elapsed=$(($(now_ms) - start))
    want=$("$native" "$f" "$arg")
    mark=''
    if [[ $got != "$want" ]]; then
        mark='  <-- MISMATCH'
        mismatches=$((mismatches + 1))
    fi
    printf '  %-26s %-22s %-22s %d ms%s\n' "$f($arg)" "$got" "$want" "$elapsed" "$mark"
done
echo

if ((mismatches > 0)); then
    echo "demo: $mismatches result(s) differ from the native build" >&2
    exit 1
fi
echo "demo: results match the native build"

# Fuel: the same call with a budget of 100000 instructions stops early and exits 134.
echo
echo "demo: \$ waft run --fuel 100000 --invoke mandel_checksum kernels.wasm 400"
status=0
"$waft" run --fuel 100000 --invoke mandel_checksum "$wasm" 400 2>"$out/fuel.err" || status=$?
sed 's/^/  /' "$out/fuel.err"
if [[ $status -ne 134 ]] || ! grep -q '^waft: trap: all fuel consumed$' "$out/fuel.err"; then
    echo "demo: expected the fuel trap and exit status 134, got exit status $status" >&2
    exit 1
fi
echo "demo: the run stopped after its fuel ran out (exit status $status)"
