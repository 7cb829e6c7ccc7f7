# Issue 17: a program waiting in a WASI call (a poll_oneoff sleep, a blocking read) is not
# woken every few milliseconds to look for a checkpoint request: the request itself wakes
# the wait (the store's wake pipe, waft_store_wake_fd). While it waits the run switches
# context a handful of times per second at most; a checkpoint taken in either wait
# restores, and the program then finishes its wait as a straight run does.
wat 17-04-interrupt-wakes-waits.wat w.wasm
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg

# context switches of every thread of process $1
switches() {
    local n=0 t v
    for t in /proc/"$1"/task/*/status; do
        v=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t" 2>/dev/null)
        n=$((n + ${v:-0}))
    done
    echo "$n"
}
ready() { grep -q ready run.out 2>/dev/null; }
# quiet WHAT: process $pid switches context at most 10 times in a second
quiet() {
    local a b
    a=$(switches "$pid")
    sleep 1
    b=$(switches "$pid")
    ((b - a <= 10)) || fail "$1: $((b - a)) context switches in 1 s (a wake every slice?)"
}

mkfifo in.fifo
exec 7<>in.fifo # held open: the program's read blocks instead of seeing the end
"$waft" run w.wasm <in.fifo >run.out 2>run.err &
pid=$!
wait_until 20 ready
sleep 0.5
quiet "sleeping in poll_oneoff"

# a checkpoint during the sleep: taken at once, the run stops
"$waft" checkpoint "$pid" --image "$PWD/sleep.img" >ck.out 2>ck.err ||
    fail "checkpoint during the sleep: $(cat ck.err)"
wait "$pid" || fail "the run did not stop with status 0 after the checkpoint: $(cat run.err)"

# restored: it sleeps again (the call is made again), then blocks in its read
rm -f run.out
printf 'ready\n' >run.out # the restored program does not print it again
"$waft" restore sleep.img <in.fifo >r.out 2>r.err &
pid=$!
sleep 5 # past the sleep: now in the read
quiet "blocked in fd_read"
"$waft" checkpoint "$pid" --image "$PWD/read.img" >ck.out 2>ck.err ||
    fail "checkpoint during the read: $(cat ck.err)"
wait "$pid" || fail "the restored run did not stop with status 0: $(cat r.err)"

# restored again, with input this time: it reads the byte and exits with 10 + 'A'
exec 7>&-
printf 'A' >a.txt
"$waft" restore read.img <a.txt >r.out 2>r.err
got=$?
[[ $got == 75 ]] || fail "restore in the read exited $got, want 75: $(cat r.err)"
