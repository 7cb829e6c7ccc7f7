#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli.sh - the CLI cross-restore matrix: real WASI programs checkpointed by
# `waft run --checkpoint-at-step` on one host and continued by `waft restore` on another.
#
#   usage: bash tests/cross/cli.sh NATIVE_WAFT "TARGET_WAFT_COMMAND" OUTDIR
#     e.g. bash tests/cross/cli.sh build/waft \
#              "qemu-s390x -L /usr/s390x-linux-gnu build/cross-s390x/waft" build/cross-s390x/cli
#
# For each program (tests/ckpt/ckprog.c, WASI test programs, tests/cross/cfloat.c), in a
# fresh directory prepared the same way each time, with the same standard input file:
#   straight   the native run, the reference; then the target's straight run must match it
#   to-target  native runs to 40% of its instructions and saves; the target restores
#   to-native  the target runs to 60% and saves; native restores
#   round-trip native to 25%, the target restores and saves again 50% later, native
#              finishes
# Each must give the reference's stdout, stderr, exit status and files. Images are plain
# (no zstd: the cross builds have none). Every waft process is killed after CROSS_TIMEOUT
# seconds (default 90). Ends with "cli-matrix: N passed, N failed".
set -u

if [[ $# -ne 3 ]]; then
    echo "usage: $0 NATIVE_WAFT \"TARGET_WAFT_COMMAND\" OUTDIR" >&2
    exit 2
fi
native=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
read -r -a target <<<"$2"
out=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/work
rm -rf "$work"
mkdir -p "$work"

passed=0
failed=0
verdict()
{
    local what=$1
    shift
    if (($# == 0)); then
        passed=$((passed + 1))
        echo "ok   $what"
    else
        failed=$((failed + 1))
        echo "FAIL $what"
        printf '       %s\n' "$@"
    fi
}

# ==== Programs ====

WASM_CC=(clang --target=wasm32-wasi -O2 -ffp-contract=off -nostdlibinc
    -isystem /usr/include/wasm32-wasi -Wl,--strip-debug)
compile()
{
    local name=$1 src=$2
    if [[ ! -f $out/$name.wasm || $src -nt $out/$name.wasm ]]; then
        "${WASM_CC[@]}" -I "$root/tests/wasi" -o "$out/$name.wasm" "$src" -lm \
            2>"$out/$name.log" || return 1
    fi
}

prepare_ckprog()
{
    mkdir -p "$1/in/dir" "$1/out"
    local i
    for ((i = 0; i < 300; i++)); do
        printf 'record %d %d\n' "$i" $((i * i % 977))
    done >"$1/in/data.txt"
    for ((i = 1; i <= 40; i++)); do
        : >"$1/in/dir/entry-$i"
    done
    echo 'already here' >"$1/out/app.txt"
}
prepare_tree()
{
    mkdir -p "$1/in/a/b" "$1/in/empty"
    echo 'top' >"$1/in/top.txt"
    seq 1 2000 >"$1/in/a/b/numbers.txt"
    ln -s a/b/numbers.txt "$1/in/link"
}
prepare_none()
{
    :
}

# NAME SOURCE PREPARE ARGS...
programs=(
    "ckprog $root/tests/ckpt/ckprog.c prepare_ckprog"
    "files $root/tests/wasi/files.c prepare_none"
    "readdir $root/tests/wasi/readdir.c prepare_none"
    "tree $root/tests/wasi/tree.c prepare_tree in out 3"
    "stdio $root/tests/wasi/stdio.c prepare_none file"
    "exitcode $root/tests/wasi/exitcode.c prepare_none exit 7"
    "cfloat $here/cfloat.c prepare_none"
)

for ((i = 0; i < 4000; i++)); do
    printf 'line %d of the standard input\n' "$i"
done >"$work/stdin.txt"

# ==== Running ====

# run NAME VARIANT CMD...: runs CMD in $work/NAME-VARIANT.dir, appending to .out/.err;
# prints the exit status.
run()
{
    local base=$work/$1-$2
    shift 2
    (cd "$base.dir" && timeout -k 5 "${CROSS_TIMEOUT:-90}" "$@") <"$work/stdin.txt" \
        >>"$base.out" 2>>"$base.err"
    echo $?
}

# fresh NAME VARIANT PREPARE: a new directory for one variant.
fresh()
{
    local base=$work/$1-$2
    rm -rf "$base.dir" "$base.out" "$base.err" "$base".*.img
    mkdir -p "$base.dir"
    : >"$base.out"
    : >"$base.err"
    "$3" "$base.dir"
}

# differs NAME VARIANT STATUS: what differs from the reference (nothing if identical).
differs()
{
    local r=$work/$1-ref v=$work/$1-$2
    cmp -s "$r.out" "$v.out" || echo "stdout differs: $(diff "$r.out" "$v.out" | head -4 | tr '\n' ' ')"
    cmp -s "$r.err" "$v.err" || echo "stderr differs: $(diff "$r.err" "$v.err" | head -4 | tr '\n' ' ')"
    [[ $3 == "$(<"$r.status")" ]] || echo "exit status $3, the reference $(<"$r.status")"
    diff -r "$r.dir" "$v.dir" >/dev/null 2>&1 ||
        echo "files differ: $(diff -rq "$r.dir" "$v.dir" 2>&1 | head -3 | tr '\n' ' ')"
}

# save NAME VARIANT IMAGE STATUS: problems of a checkpointing run (none if it saved).
saved()
{
    [[ $2 == 0 && -s $1 ]] || echo "no image (status $2): $(tail -2 "$3" | tr '\n' ' ')"
}

for entry in "${programs[@]}"; do
    read -r -a p <<<"$entry"
    name=${p[0]}
    src=${p[1]}
    prep=${p[2]}
    args=("${p[@]:3}")
    wasm=$out/$name.wasm
    if ! compile "$name" "$src"; then
        verdict "$name: build" "$(head -3 "$out/$name.log")"
        continue
    fi

    # the reference: native, straight, counting instructions (the count line is removed)
    fresh "$name" ref "$prep"
    run "$name" ref "$native" run --count-steps --dir . "$wasm" "${args[@]}" \
        >"$work/$name-ref.status"
    total=$(sed -n 's/^waft: \([0-9]*\) instructions$/\1/p' "$work/$name-ref.err" | tail -1)
    sed -i '/^waft: [0-9]* instructions$/d' "$work/$name-ref.err"
    if [[ -z $total || $total -lt 100 ]]; then
        verdict "$name: reference run" "no instruction count: $(tail -2 "$work/$name-ref.err")"
        continue
    fi

    # the target, straight
    fresh "$name" straight "$prep"
    st=$(run "$name" straight "${target[@]}" run --dir . "$wasm" "${args[@]}")
    mapfile -t problems < <(differs "$name" straight "$st")
    verdict "$name: straight on the target" "${problems[@]}"

    # native -> target at 40%
    v=to-target
    img=$work/$name-$v.1.img
    fresh "$name" "$v" "$prep"
    st=$(run "$name" "$v" "$native" run --dir . --image "$img" \
        --checkpoint-at-step $((total * 2 / 5)) "$wasm" "${args[@]}")
    mapfile -t problems < <(saved "$img" "$st" "$work/$name-$v.err")
    if ((${#problems[@]} == 0)); then
        st=$(run "$name" "$v" "${target[@]}" restore "$img" --dir .)
        mapfile -t problems < <(differs "$name" "$v" "$st")
    fi
    verdict "$name: saved natively at step $((total * 2 / 5)) of $total, restored on the target" \
        "${problems[@]}"

    # target -> native at 60%
    v=to-native
    img=$work/$name-$v.1.img
    fresh "$name" "$v" "$prep"
    st=$(run "$name" "$v" "${target[@]}" run --dir . --image "$img" \
        --checkpoint-at-step $((total * 3 / 5)) "$wasm" "${args[@]}")
    mapfile -t problems < <(saved "$img" "$st" "$work/$name-$v.err")
    if ((${#problems[@]} == 0)); then
        st=$(run "$name" "$v" "$native" restore "$img" --dir .)
        mapfile -t problems < <(differs "$name" "$v" "$st")
    fi
    verdict "$name: saved on the target at step $((total * 3 / 5)), restored natively" \
        "${problems[@]}"

    # native -> target -> native: 25%, then 50% more
    v=round-trip
    img1=$work/$name-$v.1.img
    img2=$work/$name-$v.2.img
    fresh "$name" "$v" "$prep"
    st=$(run "$name" "$v" "$native" run --dir . --image "$img1" \
        --checkpoint-at-step $((total / 4)) "$wasm" "${args[@]}")
    mapfile -t problems < <(saved "$img1" "$st" "$work/$name-$v.err")
    if ((${#problems[@]} == 0)); then
        st=$(run "$name" "$v" "${target[@]}" restore "$img1" --dir . --image "$img2" \
            --checkpoint-at-step $((total / 2)))
        mapfile -t problems < <(saved "$img2" "$st" "$work/$name-$v.err")
    fi
    if ((${#problems[@]} == 0)); then
        st=$(run "$name" "$v" "$native" restore "$img2" --dir .)
        mapfile -t problems < <(differs "$name" "$v" "$st")
    fi
    verdict "$name: native -> target -> native (steps $((total / 4)), +$((total / 2)))" \
        "${problems[@]}"
done

echo "cli-matrix: $passed passed, $failed failed"
((failed == 0))
