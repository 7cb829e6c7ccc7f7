# Issue 11, defect 6, found again by the review: --checkpoint-signal took any number, so a
# signal the C library keeps (32, 33) was not caught and then killed the run with no image,
# and SEGV or CHLD were taken as triggers. Only catchable, spare signals are accepted now,
# and a run whose trigger cannot be installed does not start.
cat >loop.wat <<'WAT'
(module (memory (export "memory") 1)
  (func (export "_start") (local i64)
    (loop $l local.get 0 i64.const 1 i64.add local.set 0 br $l)))
WAT
wat loop.wat loop.wasm
for sig in 32 33 11 17 SEGV SIGCHLD 9 0 65; do
    expect_status 2 "$waft" run --image x.img "--checkpoint-signal=$sig" loop.wasm
    grep -q -- '--checkpoint-signal' err.txt || fail "signal $sig: no message naming the option"
    [[ $(wc -l <err.txt) == 1 ]] || fail "signal $sig: more than one line: $(cat err.txt)"
done
# a real-time signal by number, and USR2 by number, work as triggers
rt=$(kill -l SIGRTMIN 2>/dev/null || echo 34)
for sig in "$rt" 12; do
    rm -f s.img
    "$waft" run --image s.img --checkpoint-signal "$sig" loop.wasm 2>err.txt &
    pid=$!
    # until the handler is in place: the control socket is made after it
    for _ in $(seq 200); do
        [[ -S ${XDG_RUNTIME_DIR:-/nonexistent}/waft/$pid.sock || -S /tmp/waft-$(id -u)/$pid.sock ]] &&
            break
        sleep 0.05
    done
    kill -"$sig" "$pid"
    wait "$pid"
    st=$?
    [[ $st == 0 ]] || fail "signal $sig: run ended with status $st: $(cat err.txt)"
    [[ -s s.img ]] || fail "signal $sig: no image written"
    expect_status 0 "$waft" image check s.img
done
