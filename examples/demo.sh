#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - compile examples/kernels.c to WebAssembly, run it with waft, check it against
# a native build of the same C, and show fuel stopping a run; then the main job: a WASI
# program (examples/journal.c) checkpointed half-way, the process gone, and restored in a
# new process to exactly the output and files of a straight run; and the same program
# live-migrated half-way to a `waft serve` on loopback (pre-copy), again to exactly the
# straight run's output and files.
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

# ---- The main job: a WASI program runs, is checkpointed, and resumes in a new process ----
echo
echo "demo: compiling examples/journal.c for WASI (wasm32-wasi, wasi-libc)"
journal=$out/journal.wasm
clang --target=wasm32-wasi -O2 -nostdlibinc -isystem /usr/include/wasm32-wasi \
    -Wl,--strip-debug -o "$journal" "$root/examples/journal.c"
text=$out/journal-input.txt
for ((k = 0; k < 40; k++)); do sed 's/^/    /' "$root/README.md"; done >"$text"
mkdir -p "$out/straight" "$out/moved"
rm -f "$out"/straight/* "$out"/moved/* "$out/journal.img"

echo "demo: \$ waft run --dir DIR journal.wasm journal.txt < input      (straight through)"
"$waft" run --count-steps --dir "$out/straight::." "$journal" journal.txt <"$text" \
    >"$out/straight.out" 2>"$out/straight.err"
steps=$(sed -n 's/^waft: \([0-9]*\) instructions$/\1/p' "$out/straight.err")
sed 's/^/  /' "$out/straight.out"
half=$((steps / 2))
echo "demo: it ran $steps instructions. Now the same run, stopped after $half of them:"
echo "demo: \$ waft run --image journal.img --checkpoint-at-step $half --dir DIR journal.wasm ..."
"$waft" run --image "$out/journal.img" --checkpoint-at-step "$half" --dir "$out/moved::." \
    "$journal" journal.txt <"$text" >"$out/moved.out"
echo "demo: the process has exited; its image:"
"$waft" image info "$out/journal.img" | sed 's/^/  /' | head -12
echo "demo: on disk the journal has $(wc -c <"$out/moved/journal.txt") of its $(wc -c <"$out/straight/journal.txt") bytes; the rest is in the program's memory (its stdio buffer), inside the image"
echo "demo: \$ waft restore journal.img --dir DIR < input      (a new process)"
"$waft" restore "$out/journal.img" --dir "$out/moved::." <"$text" >>"$out/moved.out"
sed 's/^/  /' "$out/moved.out"
if cmp -s "$out/straight.out" "$out/moved.out" &&
    cmp -s "$out/straight/journal.txt" "$out/moved/journal.txt"; then
    echo "demo: checkpointed and restored, the program printed and wrote exactly what the straight run did"
else
    echo "demo: the restored run differs from the straight run" >&2
    exit 1
fi

# ---- Live migration: the same program moved to a `waft serve` while it runs ----
echo
mkdir -p "$out/migrated"
rm -f "$out"/migrated/*
echo "demo: \$ waft serve --listen 127.0.0.1:0 --once --dir DIR < input      (the destination)"
(exec "$waft" serve --listen 127.0.0.1:0 --once --dir "$out/migrated::." <"$text" \
    >"$out/served.out" 2>"$out/served.err") &
server=$!
port=
for _ in $(seq 1 250); do
    port=$(sed -n 's/^waft: serve: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/served.err")
    [[ -n $port ]] && break
    sleep 0.02
done
if [[ -z $port ]]; then
    kill "$server" 2>/dev/null
    echo "demo: waft serve did not start: $(cat "$out/served.err")" >&2
    exit 1
fi
echo "demo: \$ waft run --migrate-to 127.0.0.1:$port --migrate-at-step $half --dir DIR journal.wasm ..."
"$waft" run --migrate-to "127.0.0.1:$port" --migrate-at-step "$half" \
    --dir "$out/migrated::." "$journal" journal.txt <"$text" >"$out/source.out" 2>"$out/source.err"
sed 's/^/  /' "$out/source.err"
wait "$server"
sed 's/^/  /' "$out/served.err"
cat "$out/source.out" "$out/served.out" >"$out/migrated.out"
if grep -q '^waft: migrated to ' "$out/source.err" &&
    cmp -s "$out/straight.out" "$out/migrated.out" &&
    cmp -s "$out/straight/journal.txt" "$out/migrated/journal.txt"; then
    echo "demo: migrated half-way to another waft, the program's output (first part from the source, the rest from the destination) and its file are exactly those of the straight run"
else
    echo "demo: the migrated run differs from the straight run" >&2
    exit 1
fi
