#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - the AOT tier from the command line (docs/aot.md):
#   every benchmark workload and the WASI test programs give the same output and status
#   with --tier=aot as in the interpreter; traps give the same message and backtrace;
#   checkpoints taken while compiled code runs (waft checkpoint PID, --leave-running,
#   --checkpoint-every) restore into either tier with the same result as a straight run;
#   a second run takes the code from the cache, and `waft compile` fills it ahead of time;
#   without a C compiler the run says so in one line and goes on in the interpreter.
#
#   usage: bash tests/aot/run.sh path/to/waft
# Ends with one line `aot: N passed, N failed`.
set -u

if [[ $# -ne 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/waft" >&2
    exit 2
fi
waft=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(dirname "$waft")/tests/aot
mkdir -p "$out"
tmp=$(mktemp -d)
pids=()
cleanup()
{
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
export WAFT_CACHE_DIR=$out/cache

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

# shellcheck source=tests/programs.sh
source "$root/tests/programs.sh"

# ---- same output, status and stderr in both tiers ----
# same_run NAME "OPTIONS" MODULE ARGS...
same_run()
{
    local name=$1 opts=$2 wasm=$3
    shift 3
    # shellcheck disable=SC2086
    "$waft" run $opts "$wasm" "$@" </dev/null >"$tmp/i.out" 2>"$tmp/i.err"
    local si=$?
    # shellcheck disable=SC2086
    "$waft" run --tier=aot $opts "$wasm" "$@" </dev/null >"$tmp/a.out" 2>"$tmp/a.err"
    local sa=$?
    if [[ $si == "$sa" ]] && cmp -s "$tmp/i.out" "$tmp/a.out" && cmp -s "$tmp/i.err" "$tmp/a.err"; then
        pass "$name: same output and status ($si) in both tiers"
    else
        fail "$name" "status interp $si, aot $sa" "$(diff "$tmp/i.out" "$tmp/a.out" | head -4)" \
            "$(diff "$tmp/i.err" "$tmp/a.err" | head -4)"
    fi
}

for w in sieve matmul nbody hash bintrees calls; do
    build "bench-$w" "$root/bench/$w.c" -lm && same_run "bench $w" "" "$out/bench-$w.wasm"
done
for t in exitcode clocks; do
    build "$t" "$root/tests/wasi/$t.c" && same_run "wasi $t" "" "$out/$t.wasm"
done

# ---- traps: message and backtrace as in the interpreter ----
cat >"$tmp/trap.wat" <<'EOF'
(module
  (memory 1)
  (func $inner (param i32) (result i32)
    local.get 0
    i32.const 0
    i32.div_u)
  (func $middle (param i32) (result i32)
    local.get 0
    call $inner)
  (func (export "div0") (param i32) (result i32)
    local.get 0
    call $middle)
  (func (export "oob") (param i32) (result i32)
    local.get 0
    i32.load offset=65534)
  (func $deep (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $deep)
  (func (export "deep") (result i32)
    i32.const 0
    call $deep)
  (func (export "sum") (param i32) (result i64)
    (local i64)
    block
      loop
        local.get 0
        i32.eqz
        br_if 1
        local.get 1
        local.get 0
        i64.extend_i32_u
        i64.add
        local.set 1
        local.get 0
        i32.const 1
        i32.sub
        local.set 0
        br 0
      end
    end
    local.get 1))
EOF
wat2wasm --debug-names -o "$tmp/trap.wasm" "$tmp/trap.wat"
same_run "a trap three calls deep (integer divide by zero)" "--invoke div0" "$tmp/trap.wasm" 7
same_run "a trap on an out-of-bounds load" "--invoke oob" "$tmp/trap.wasm" 1
same_run "call stack exhausted (the same depth limit)" "--invoke deep" "$tmp/trap.wasm"
same_run "a loop with i64 arithmetic" "--invoke sum" "$tmp/trap.wasm" 100000

# ---- the cache ----
"$waft" run --tier=aot --aot-verbose "$out/bench-hash.wasm" >/dev/null 2>"$tmp/cache.err"
if grep -q "compiled code from the cache" "$tmp/cache.err"; then
    pass "a second run takes the compiled code from the cache"
else
    fail "cache" "$(head -2 "$tmp/cache.err")"
fi

# ---- waft compile: the cache filled ahead of time ----
"$waft" compile "$out/bench-sieve.wasm" >"$tmp/comp.out" 2>"$tmp/comp.err"
cst=$?
WAFT_CACHE_DIR=$tmp/ahead "$waft" compile --quiet "$out/bench-sieve.wasm" 2>"$tmp/comp2.err"
c2=$?
WAFT_CACHE_DIR=$tmp/ahead "$waft" run --tier=aot --aot-verbose "$out/bench-sieve.wasm" >/dev/null 2>"$tmp/comp3.err"
printf 'not wasm' >"$tmp/bad.wasm"
"$waft" compile "$tmp/bad.wasm" "$out/bench-sieve.wasm" >"$tmp/comp4.out" 2>"$tmp/comp4.err"
c4=$?
if [[ $cst == 0 && $c2 == 0 && $c4 == 1 ]] && grep -q "bench-sieve.wasm: compiled" "$tmp/comp.out" &&
    grep -q "from the cache" "$tmp/comp3.err" && [[ $(wc -l <"$tmp/comp4.err") == 1 ]] &&
    grep -q "bad.wasm" "$tmp/comp4.err" && grep -q "bench-sieve.wasm: compiled" "$tmp/comp4.out"; then
    pass "waft compile fills the cache ahead of time; a bad module is one line and status 1"
else
    fail "waft compile" "statuses $cst $c2 $c4" "$(cat "$tmp/comp.err" "$tmp/comp3.err" "$tmp/comp4.err" | head -4)"
fi

# ---- no C compiler: one line, then the interpreter ----
WAFT_CC=/nonexistent/cc WAFT_CACHE_DIR=$tmp/empty-cache "$waft" run --tier=aot \
    "$out/bench-hash.wasm" >"$tmp/nocc.out" 2>"$tmp/nocc.err"
st=$?
"$waft" run "$out/bench-hash.wasm" >"$tmp/hash.out"
if [[ $st == 0 && $(wc -l <"$tmp/nocc.err") == 1 ]] && grep -q "running in the interpreter" "$tmp/nocc.err" &&
    cmp -s "$tmp/nocc.out" "$tmp/hash.out"; then
    pass "no C compiler: $(cat "$tmp/nocc.err")"
else
    fail "no C compiler" "status $st: $(head -2 "$tmp/nocc.err")"
fi

# ---- checkpoints while compiled code runs ----
CC=(clang --target=wasm32-wasi -O2 -nostdlibinc -isystem /usr/include/wasm32-wasi -Wl,--strip-debug)
[[ -f $out/worker.wasm && $out/worker.wasm -nt $root/tests/ckpt/worker.c ]] ||
    "${CC[@]}" -o "$out/worker.wasm" "$root/tests/ckpt/worker.c" || exit 1
worker=$out/worker.wasm
printf 'alpha\nbeta\n' >"$tmp/input"
same_run "worker" "" "$worker" 20000
# about a second compiled; a restored frame finishes its function in the interpreter
rounds=300000
"$waft" run --tier=aot "$worker" $rounds <"$tmp/input" >"$tmp/straight.out"

# waft checkpoint PID --leave-running during the compiled compute phase; then the image
# restored in each tier finishes the job with the same last line
"$waft" run --tier=aot "$worker" $rounds <"$tmp/input" >"$tmp/lr.out" 2>"$tmp/lr.err" &
pid=$!
pids+=("$pid")
sleep 0.5
"$waft" checkpoint "$pid" --image "$tmp/lr.img" --leave-running >"$tmp/lr.msg" 2>&1
cst=$?
wait "$pid"
st=$?
ok=1
for tier in aot interp; do
    "$waft" restore --tier=$tier "$tmp/lr.img" <"$tmp/input" >"$tmp/lr-$tier.out" 2>"$tmp/lr-$tier.err" || ok=0
    [[ $(tail -1 "$tmp/lr-$tier.out") == $(tail -1 "$tmp/straight.out") ]] || ok=0
done
if [[ $cst == 0 && $st == 0 && $ok == 1 ]] && cmp -s "$tmp/lr.out" "$tmp/straight.out"; then
    pass "checkpoint --leave-running under aot: the run goes on unchanged; the image finishes in both tiers"
else
    fail "checkpoint --leave-running under aot" "statuses $cst $st: $(cat "$tmp/lr.msg" "$tmp/lr.err" | head -3)" \
        "$(head -2 "$tmp/lr-aot.err" "$tmp/lr-interp.err")"
fi

# a checkpoint while compiled code recurses without loops (bench calls: fib, ackermann,
# tak): served at a function entry, and the image finishes the job in both tiers
"$waft" run "$out/bench-calls.wasm" >"$tmp/calls-straight.out"
"$waft" run --tier=aot "$out/bench-calls.wasm" >"$tmp/calls.out" 2>"$tmp/calls.err" &
pid=$!
pids+=("$pid")
sleep 0.2
"$waft" checkpoint "$pid" --image "$tmp/calls.img" --leave-running --timeout 20 >"$tmp/calls.msg" 2>&1
cst=$?
wait "$pid"
st=$?
ok=1
for tier in aot interp; do
    "$waft" restore --tier=$tier "$tmp/calls.img" >"$tmp/calls-$tier.out" 2>&1 || ok=0
    [[ $(tail -1 "$tmp/calls-$tier.out") == $(tail -1 "$tmp/calls-straight.out") ]] || ok=0
done
if [[ $cst == 0 && $st == 0 && $ok == 1 ]] && cmp -s "$tmp/calls.out" "$tmp/calls-straight.out"; then
    pass "checkpoint during loop-free recursion under aot: served at a function entry; restores in both tiers"
else
    fail "checkpoint during loop-free recursion under aot" "statuses $cst $st: $(cat "$tmp/calls.msg" "$tmp/calls.err" | head -3)"
fi

# waft checkpoint PID (stop) during the compute phase; restore --tier=aot finishes it
"$waft" run --tier=aot "$worker" $rounds <"$tmp/input" >"$tmp/cp1.out" 2>"$tmp/cp1.err" &
pid=$!
pids+=("$pid")
sleep 0.5
"$waft" checkpoint "$pid" --image "$tmp/cp.img" >"$tmp/cp.msg" 2>&1
cst=$?
wait "$pid"
st=$?
"$waft" restore --tier=aot "$tmp/cp.img" <"$tmp/input" >"$tmp/cp2.out" 2>"$tmp/cp2.err"
rst=$?
if [[ $cst == 0 && $st == 0 && $rst == 0 ]] && cat "$tmp/cp1.out" "$tmp/cp2.out" | cmp -s - "$tmp/straight.out"; then
    pass "checkpoint (stop) under aot, restore --tier=aot: the same output as a straight run"
else
    fail "checkpoint (stop) under aot" "statuses $cst $st $rst: $(cat "$tmp/cp.msg" "$tmp/cp2.err" | head -3)"
fi

# a signal while compiled code waits in a host call (fd_read on standard input): the image
# re-issues the read on restore
(sleep 3; cat "$tmp/input") | "$waft" run --tier=aot --image "$tmp/sig.img" --checkpoint-signal USR1 \
    "$worker" 20000 >"$tmp/sig1.out" 2>"$tmp/sig1.err" &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do grep -q "phase 1" "$tmp/sig1.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5 # blocked reading standard input by now
kill -USR1 "$pid"
wait "$pid"
st=$?
"$waft" run "$worker" 20000 <"$tmp/input" >"$tmp/sig-straight.out"
"$waft" restore --tier=aot "$tmp/sig.img" <"$tmp/input" >"$tmp/sig2.out" 2>"$tmp/sig2.err"
if [[ $st == 0 ]] && cat "$tmp/sig1.out" "$tmp/sig2.out" | cmp -s - "$tmp/sig-straight.out"; then
    pass "a signal while compiled code blocks in fd_read: the image re-issues the read"
else
    fail "a signal while compiled code blocks in fd_read" "status $st: $(cat "$tmp/sig1.err" "$tmp/sig2.err" | head -3)"
fi

# --checkpoint-every under aot: many images, output unchanged, the last one valid
"$waft" run --tier=aot --image "$tmp/ev.img" --checkpoint-every 0.1 --leave-running "$worker" $rounds \
    <"$tmp/input" >"$tmp/ev.out" 2>"$tmp/ev.err"
st=$?
"$waft" restore --tier=aot "$tmp/ev.img" <"$tmp/input" >"$tmp/ev2.out" 2>&1
if [[ $st == 0 ]] && cmp -s "$tmp/ev.out" "$tmp/straight.out" &&
    [[ $(tail -1 "$tmp/ev2.out") == $(tail -1 "$tmp/straight.out") ]]; then
    pass "--checkpoint-every 0.1 under aot: same output, a valid latest image"
else
    fail "--checkpoint-every under aot" "status $st: $(head -2 "$tmp/ev.err")"
fi

# ---- NaN bits: the AOT tier skips canonicalizing only where no one can see it ----
# inf * 0 is a NaN; the interpreter canonicalizes every float result to 0x7ff8... (f32
# 0x7fc00000), so: (inf*0)+1 -> 0x7ff8...; -(inf*0) -> 0xfff8...; inf-inf kept in a local,
# copysign -1 -> 0xffc00000.
wat2wasm -o "$tmp/nan.wasm" "$here/nan.wat"
nan_ok=1
nan_got=""
for call in "chain inf 0 1 9221120237041090560" "negmul inf 0 -2251799813685248" \
    "cmp inf 0 0" "tee inf inf -4194304"; do
    read -r fn x y z want <<<"$call"
    [[ -z $want ]] && want=$z && z=""
    for tier in interp aot; do
        # shellcheck disable=SC2086
        got=$("$waft" run --tier=$tier --invoke "$fn" "$tmp/nan.wasm" $x $y $z 2>&1)
        nan_got+=" $fn/$tier=$got"
        [[ $got == "$want" ]] || nan_ok=0
    done
done
if ((nan_ok)); then
    pass "NaN bits of float chains: canonical in both tiers where visible"
else
    fail "NaN bits of float chains" "$nan_got"
fi

echo "aot: $passed passed, $failed failed"
[[ $failed == 0 ]]
