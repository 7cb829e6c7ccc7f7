#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - differential checkpoint/restore harness (in the spirit of CRIU's ZDTM).
#
#   usage: bash tests/ckpt/run.sh path/to/waft [HOPS]
#
# For every program (the WASI test programs, tests/ckpt/ckprog.c and the benchmark
# workloads): run it straight, counting its instructions; then run it again as a chain of
# HOPS (default 20) processes, each restoring the previous one's image and checkpointing
# again a stretch of instructions later, at points spread over the whole run; then three
# single checkpoint+restore pairs in fresh directories. Every variant must give the same
# stdout, stderr, exit status and files as the straight run. Ends with one line
# `ckpt: N passed, N failed`.
# WAFT_RESTORE_OPTS (e.g. --no-map, --verify) is added to every `waft restore`: make check
# runs the harness with memory mapped from the image (the default) and copied.
set -u

if [[ $# -lt 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/waft [HOPS]" >&2
    exit 2
fi
waft=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
hops=${2:-20}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(dirname "$waft")/tests/ckpt
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
checkpoints=0
pass()
{
    passed=$((passed + 1))
    echo "ok   $1"
}
fail()
{
    failed=$((failed + 1))
    echo "FAIL $1"
    shift
    printf '       %s\n' "$@"
}

# shellcheck source=tests/programs.sh
source "$root/tests/programs.sh"

# ---- programs: NAME SOURCE SETUP ARGS... ----

# stdin for every program (a file, so that restores continue reading it where it was)
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "stdin line %d %x\n", i, i * 7919 }' >"$tmp/stdin.txt"

programs=()
add()
{
    programs+=("$*")
}
build ckprog "$here/ckprog.c" && add ckprog setup_ckprog
for t in files readdir clocks exitcode tree stdio; do
    build "$t" "$root/tests/wasi/$t.c" && case $t in
    exitcode) add exitcode setup_none exit 5 ;;
    tree) add tree setup_tree in out 7 "two words" ;;
    stdio) add stdio setup_none file ;;
    *) add "$t" setup_none ;;
    esac
done
if [[ ${WAFT_CKPT_BENCH:-1} == 1 ]]; then
    for b in sieve calls hash bintrees nbody fileio; do
        build "$b" "$root/bench/$b.c" && add "$b" setup_none
    done
fi

# run_in DIR OUTPREFIX CMD...: runs CMD in DIR with the shared stdin, appending to
# OUTPREFIX.out/.err; echoes the exit status.
run_in()
{
    local dir=$1 o=$2
    shift 2
    (cd "$dir" && "$@") <"$tmp/stdin.txt" >>"$o.out" 2>>"$o.err"
    echo $?
}

# compare A B: differences between two finished variants (outputs, status, files).
compare()
{
    local a=$1 b=$2 p=()
    cmp -s "$a.out" "$b.out" || p+=("stdout differs: $(diff "$a.out" "$b.out" | head -4 | tr '\n' ' ')")
    cmp -s "$a.err" "$b.err" || p+=("stderr differs: $(diff "$a.err" "$b.err" | head -4 | tr '\n' ' ')")
    [[ $(<"$a.status") == $(<"$b.status") ]] || p+=("exit status $(<"$b.status"), straight $(<"$a.status")")
    diff -r "$a.dir" "$b.dir" >/dev/null 2>&1 || p+=("files differ: $(diff -rq "$a.dir" "$b.dir" 2>&1 | head -3 | tr '\n' ' ')")
    ((${#p[@]} == 0)) || printf '%s\n' "${p[@]}"
}

for entry in "${programs[@]}"; do
    # shellcheck disable=SC2206
    parts=($entry)
    name=${parts[0]}
    setup=${parts[1]}
    args=("${parts[@]:2}")
    [[ $name == tree ]] && args=(in out 7 "two words")
    wasm=$out/$name.wasm

    # straight, counting instructions (the last stderr line, removed from the output)
    s=$tmp/$name-straight
    mkdir -p "$s.dir"
    $setup "$s.dir"
    : >"$s.out"
    : >"$s.err"
    run_in "$s.dir" "$s" "$waft" run --count-steps --dir . "$wasm" "${args[@]}" >"$s.status"
    total=$(tail -1 "$s.err" | sed -n 's/^waft: \([0-9]*\) instructions$/\1/p')
    if [[ -z $total ]]; then
        fail "$name: straight run" "$(tail -3 "$s.err")"
        continue
    fi
    sed -i '$d' "$s.err"

    # a chain of hops: run, then restore+checkpoint again, ..., then restore to the end
    c=$tmp/$name-chain
    mkdir -p "$c.dir"
    $setup "$c.dir"
    : >"$c.out"
    : >"$c.err"
    img=$tmp/$name.img
    problems=()
    prev=0
    ended=
    cp=0
    rm -f "$img.prev"
    for ((i = 1; i < hops; i++)); do
        # points spread over the run, nudged so they do not fall on a regular stride
        at=$((total * i / hops + (i * 7919) % 97))
        ((at <= prev)) && at=$((prev + 1))
        ((at >= total)) && break
        step=$((at - prev))
        [[ -f $img ]] && mv "$img" "$img.prev"
        if ((i == 1)); then
            st=$(run_in "$c.dir" "$c" "$waft" run --dir . --image "$img" \
                --checkpoint-at-step "$step" "$wasm" "${args[@]}")
        else
            st=$(run_in "$c.dir" "$c" "$waft" restore "$img.prev" ${WAFT_RESTORE_OPTS:-} --dir . --image "$img" \
                --checkpoint-at-step "$step")
        fi
        if [[ ! -f $img ]]; then
            # no image: the program ended before this point (its instruction count can
            # depend on time, e.g. clocks) or the hop failed; either way this is the end
            ended=$st
            break
        fi
        if [[ $st != 0 ]]; then
            problems+=("hop $i (at step $at) ended with status $st: $(tail -2 "$c.err" | tr '\n' ' ')")
            break
        fi
        checkpoints=$((checkpoints + 1))
        cp=$((cp + 1))
        prev=$at
    done
    if ((${#problems[@]} == 0)); then
        if [[ -z $ended ]]; then
            run_in "$c.dir" "$c" "$waft" restore "$img" ${WAFT_RESTORE_OPTS:-} --dir . >"$c.status"
        else
            echo "$ended" >"$c.status"
        fi
        mapfile -t problems < <(compare "$s" "$c")
    fi
    if ((${#problems[@]} == 0)); then
        pass "$name: chain of $((cp + 1)) processes, $cp checkpoints spread over $total instructions"
    else
        fail "$name: chain of hops" "${problems[@]}"
    fi

    # single checkpoint+restore pairs, each in a fresh directory and fresh processes (one
    # for the long benchmark workloads, whose chain already covers their whole run)
    fracs=(7 50 83)
    [[ $setup == setup_none && " sieve calls hash bintrees nbody fileio " == *" $name "* ]] && fracs=(50)
    for frac in "${fracs[@]}"; do
        at=$((total * frac / 100 + 1))
        p=$tmp/$name-single-$frac
        mkdir -p "$p.dir"
        $setup "$p.dir"
        : >"$p.out"
        : >"$p.err"
        st=$(run_in "$p.dir" "$p" "$waft" run --dir . --image "$p.img" --checkpoint-at-step "$at" \
            "$wasm" "${args[@]}")
        if [[ ! -f $p.img ]]; then
            # a program whose instruction count depends on time (e.g. clocks) may end first:
            # then it ran to completion, with no image, and must still match
            echo "$st" >"$p.status"
            mapfile -t problems < <(compare "$s" "$p")
            if ((${#problems[@]} == 0)); then
                pass "$name: ended before step $at (no image), same results"
            else
                fail "$name: ended before step $at" "${problems[@]}"
            fi
            continue
        fi
        if [[ $st != 0 ]]; then
            fail "$name: checkpoint at step $at" "status $st: $(tail -2 "$p.err" | tr '\n' ' ')"
            continue
        fi
        checkpoints=$((checkpoints + 1))
        "$waft" image check "$p.img" >/dev/null 2>"$p.check" ||
            { fail "$name: image check at step $at" "$(cat "$p.check")"; continue; }
        run_in "$p.dir" "$p" "$waft" restore "$p.img" ${WAFT_RESTORE_OPTS:-} --dir . >"$p.status"
        mapfile -t problems < <(compare "$s" "$p")
        if ((${#problems[@]} == 0)); then
            pass "$name: stopped at step $at of $total, restored in a new process"
        else
            fail "$name: stopped at step $at, restored" "${problems[@]}"
        fi
    done
done

echo "ckpt: $checkpoints checkpoints taken and restored"
echo "ckpt: $passed passed, $failed failed"
((failed == 0))
