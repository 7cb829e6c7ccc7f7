#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# triggers.sh - the checkpoint triggers and failure modes of the CLI:
#   --checkpoint-signal while the program is blocked reading standard input,
#   `waft checkpoint PID` (stop, and --leave-running), --checkpoint-every,
#   restores that must fail clearly (missing or shortened file, missing --dir,
#   corrupted image), and kill -9 during a checkpoint leaving a valid image.
#
#   usage: bash tests/ckpt/triggers.sh path/to/waft
# Ends with one line `ckpt-triggers: N passed, N failed`.
set -u

if [[ $# -ne 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/waft" >&2
    exit 2
fi
waft=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(dirname "$waft")/tests/ckpt
mkdir -p "$out"
tmp=$(mktemp -d)
pids=()
cleanup()
{
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
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

CC=(clang --target=wasm32-wasi -O2 -nostdlibinc -isystem /usr/include/wasm32-wasi -Wl,--strip-debug)
for p in worker bigmem ckprog; do
    if [[ ! -f $out/$p.wasm || $here/$p.c -nt $out/$p.wasm ]]; then
        "${CC[@]}" -o "$out/$p.wasm" "$here/$p.c" || exit 1
    fi
done
worker=$out/worker.wasm

# wait_for FILE TEXT: up to 20 s for TEXT to appear in FILE
wait_for()
{
    for _ in $(seq 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

printf 'alpha\nbeta\n' >"$tmp/input"
"$waft" run "$worker" 100000 <"$tmp/input" >"$tmp/straight.out"

# ---- a signal while the program blocks in fd_read ----
(sleep 4; cat "$tmp/input") | "$waft" run --image "$tmp/sig.img" --checkpoint-signal SIGUSR1 \
    "$worker" 100000 >"$tmp/sig1.out" 2>"$tmp/sig1.err" &
pid=$!
pids+=("$pid")
if wait_for "$tmp/sig1.out" "phase 1"; then
    sleep 0.5 # now blocked reading standard input
    kill -USR1 "$pid"
fi
wait "$pid"
st=$?
"$waft" restore "$tmp/sig.img" <"$tmp/input" >"$tmp/sig2.out" 2>"$tmp/sig2.err"
if [[ $st == 0 ]] && cat "$tmp/sig1.out" "$tmp/sig2.out" | cmp -s - "$tmp/straight.out"; then
    pass "SIGUSR1 while blocked in fd_read: image written, restore re-issues the read"
else
    fail "SIGUSR1 while blocked in fd_read" "status $st: $(cat "$tmp/sig1.err" "$tmp/sig2.err" | head -3)" \
        "$(cat "$tmp/sig1.out" "$tmp/sig2.out" | diff - "$tmp/straight.out" | head -4)"
fi

# ---- waft checkpoint PID: stop ----
(sleep 4; cat "$tmp/input") | "$waft" run "$worker" 100000 >"$tmp/cp1.out" 2>"$tmp/cp1.err" &
pid=$!
pids+=("$pid")
wait_for "$tmp/cp1.out" "phase 1"
sleep 0.3
"$waft" checkpoint "$pid" --image "$tmp/cp.img" >"$tmp/cp.msg" 2>&1
cst=$?
wait "$pid"
st=$?
"$waft" restore "$tmp/cp.img" <"$tmp/input" >"$tmp/cp2.out" 2>"$tmp/cp2.err"
if [[ $cst == 0 && $st == 0 ]] && grep -q "written to $tmp/cp.img" "$tmp/cp.msg" &&
    cat "$tmp/cp1.out" "$tmp/cp2.out" | cmp -s - "$tmp/straight.out"; then
    pass "waft checkpoint PID: waits for the image, the run stops, restore finishes the job"
else
    fail "waft checkpoint PID" "checkpoint status $cst ($(cat "$tmp/cp.msg")), run status $st" \
        "$(cat "$tmp/cp1.err" "$tmp/cp2.err" | head -3)"
fi

# ---- waft checkpoint PID --leave-running, during the compute phase ----
"$waft" run "$worker" 400000 <"$tmp/input" >"$tmp/lr.out" 2>"$tmp/lr.err" &
pid=$!
pids+=("$pid")
sleep 0.3
"$waft" checkpoint "$pid" --image "$tmp/lr.img" --leave-running >"$tmp/lr.msg" 2>&1
cst=$?
wait "$pid"
st=$?
"$waft" run "$worker" 400000 <"$tmp/input" >"$tmp/lr-straight.out"
"$waft" restore "$tmp/lr.img" <"$tmp/input" >"$tmp/lr2.out" 2>"$tmp/lr2.err"
rst=$?
if [[ $cst == 0 && $st == 0 && $rst == 0 ]] && cmp -s "$tmp/lr.out" "$tmp/lr-straight.out" &&
    [[ $(tail -1 "$tmp/lr2.out") == $(tail -1 "$tmp/lr-straight.out") ]]; then
    pass "waft checkpoint --leave-running: the run goes on unchanged; the image finishes it too"
else
    fail "waft checkpoint --leave-running" "statuses $cst $st $rst: $(cat "$tmp/lr.msg" "$tmp/lr2.err" | head -2)"
fi

# ---- --checkpoint-every with --leave-running ----
"$waft" run --image "$tmp/ev.img" --checkpoint-every 0.2 --leave-running "$worker" 400000 \
    <"$tmp/input" >"$tmp/ev.out" 2>"$tmp/ev.err"
st=$?
"$waft" image check "$tmp/ev.img" >/dev/null 2>"$tmp/ev.check"
cst=$?
"$waft" restore "$tmp/ev.img" <"$tmp/input" >"$tmp/ev2.out" 2>&1
if [[ $st == 0 && $cst == 0 ]] && cmp -s "$tmp/ev.out" "$tmp/lr-straight.out" &&
    [[ $(tail -1 "$tmp/ev2.out") == $(tail -1 "$tmp/lr-straight.out") ]]; then
    pass "--checkpoint-every 0.2 --leave-running: same output, a valid latest image"
else
    fail "--checkpoint-every" "status $st, check $cst: $(cat "$tmp/ev.err" "$tmp/ev.check" | head -2)"
fi

# ---- restores that must fail with one clear line ----
mk_ckprog()
{
    rm -rf "$1"
    mkdir -p "$1/in/dir" "$1/out"
    seq 1 400 | sed 's/^/data /' >"$1/in/data.txt"
    for i in $(seq 1 50); do : >"$1/in/dir/file-$i"; done
}
d=$tmp/files
mk_ckprog "$d"
(cd "$d" && "$waft" run --dir . --image "$tmp/f.img" --checkpoint-at-step 3000000 \
    "$out/ckprog.wasm" </dev/null >/dev/null 2>&1)
expect_fail()
{
    local desc=$1 pattern=$2
    shift 2
    local st
    "$@" </dev/null >"$tmp/ef.out" 2>"$tmp/ef.err"
    st=$?
    if [[ $st == 1 && $(wc -l <"$tmp/ef.err") == 1 ]] && grep -q -- "$pattern" "$tmp/ef.err"; then
        pass "$desc: $(cat "$tmp/ef.err")"
    else
        fail "$desc" "status $st, stderr: $(head -3 "$tmp/ef.err")"
    fi
}
expect_fail "restore without the directory it needs" "--dir" \
    "$waft" restore "$tmp/f.img"
mv "$d/in/data.txt" "$d/in/data.away"
expect_fail "restore with an open file gone" "in/data.txt" \
    bash -c "cd '$d' && '$waft' restore '$tmp/f.img' --dir ."
mv "$d/in/data.away" "$d/in/data.txt"
: >"$d/out/log.txt"
expect_fail "restore with a file shorter than its saved offset" "shorter" \
    bash -c "cd '$d' && '$waft' restore '$tmp/f.img' --dir ."
cp "$tmp/f.img" "$tmp/bad.img"
printf '\x55' | dd of="$tmp/bad.img" bs=1 seek=2000 conv=notrunc 2>/dev/null
expect_fail "restore of a corrupted image" "bad image" "$waft" restore "$tmp/bad.img" --dir "$d::."
expect_fail "image check of a corrupted image" "checksum" "$waft" image check "$tmp/bad.img"
mk_ckprog "$d"
(cd "$d" && "$waft" run --dir . --image "$tmp/k.img" --checkpoint-at-step 3000000 \
    "$out/ckprog.wasm" </dev/null >/dev/null 2>&1)
(cd "$d" && "$waft" restore "$tmp/k.img" --keep-dirs </dev/null >/dev/null 2>"$tmp/k.err")
if [[ $? == 3 ]]; then # ckprog's own exit status
    pass "--keep-dirs reopens the directories the image names"
else
    fail "--keep-dirs" "$(head -2 "$tmp/k.err")"
fi

# ---- kill -9 while a checkpoint is being written: the image at PATH stays valid ----
"$waft" run --image "$tmp/crash.img" --checkpoint-signal USR2 --leave-running \
    "$out/bigmem.wasm" 256 < <(sleep 30) >"$tmp/crash.out" 2>&1 &
pid=$!
pids+=("$pid")
if wait_for "$tmp/crash.out" "filled"; then
    kill -USR2 "$pid" # a first, complete image
    for _ in $(seq 100); do [[ -f $tmp/crash.img ]] && break; sleep 0.1; done
    sleep 1
    kill -USR2 "$pid" # a second one, killed while it is being written
    sleep 0.15
    kill -9 "$pid"
fi
wait "$pid" 2>/dev/null
if "$waft" image check "$tmp/crash.img" >/dev/null 2>"$tmp/crash.check"; then
    pass "kill -9 during a checkpoint: the image at PATH is still a complete, valid image"
else
    fail "kill -9 during a checkpoint" "$(cat "$tmp/crash.check")"
fi

echo "ckpt-triggers: $passed passed, $failed failed"
((failed == 0))
