# Issue 11, defect 6: a checkpoint that cannot be written (no such directory, a full disk,
# every descriptor taken by the guest) used to end the run with status 1 and no image.
# Now the error is reported (stderr, and to `waft checkpoint`, which exits 1 with it) and
# the program goes on; a later checkpoint then succeeds.
wat 11-06-checkpoint-write-fails.wat m.wasm
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg

alive() { kill -0 "$pid" 2>/dev/null; }
# run.out is removed before each start: the shell truncates it only once the background
# job runs, so a "ready" left by the previous run could be read first (and a signal sent
# before the new run has its handler)
ready() { grep -q ready run.out 2>/dev/null; }
# state: what the run is doing, for a failure message (alive or not, each thread's kernel
# state and wait channel, its stderr)
state()
{
    if alive; then
        local t
        for t in /proc/"$pid"/task/*; do
            echo "  thread ${t##*/}: $(awk '{print $3}' "$t/stat" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
        done
    else
        echo "  the run has ended"
    fi
    echo "  run stderr: $(cat run.err)"
}
# stop_with_good_image: a checkpoint that can be written still works and stops the run.
stop_with_good_image()
{
    "$waft" checkpoint "$pid" --image "$PWD/good.img" >ck.out 2>ck.err ||
        fail "$1: checkpoint to a good path failed: $(cat ck.err)
$(state)"
    wait "$pid"
    local st=$?
    [[ $st == 0 ]] || fail "$1: run exited $st after a good checkpoint; stderr: $(cat run.err)"
    "$waft" image check good.img >/dev/null || fail "$1: good.img does not check"
    rm -f good.img
}

# 1: a directory that does not exist
rm -f run.out
"$waft" run m.wasm >run.out 2>run.err &
pid=$!
wait_until 20 ready
"$waft" checkpoint "$pid" --image /nonexistent/dir/x.img >ck.out 2>ck.err && fail "checkpoint to /nonexistent succeeded"
grep -q "nonexistent" ck.err || fail "no reason given to the requester: $(cat ck.err)"
alive || fail "the run died after a failed checkpoint: $(cat run.err)"
grep -q "checkpoint to /nonexistent/dir/x.img failed" run.err || fail "run did not report: $(cat run.err)"
stop_with_good_image "no such directory"

# 2: a full disk: the image's temporary file is a link to /dev/full (writes get ENOSPC)
ln -s /dev/full full.img.tmp
rm -f run.out
"$waft" run m.wasm >run.out 2>run.err &
pid=$!
wait_until 20 ready
"$waft" checkpoint "$pid" --image "$PWD/full.img" >ck.out 2>ck.err && fail "checkpoint to a full disk succeeded"
grep -q "No space left" ck.err || fail "no reason given to the requester: $(cat ck.err)"
alive || fail "the run died after a failed checkpoint (full disk): $(cat run.err)"
stop_with_good_image "full disk"

# 3: the same with --checkpoint-signal
ln -sf /dev/full full.img.tmp
rm -f run.out
"$waft" run --image full.img --checkpoint-signal USR1 m.wasm >run.out 2>run.err &
pid=$!
wait_until 20 ready
kill -USR1 "$pid"
failed_reported() { grep -q "checkpoint to full.img failed" run.err; }
wait_until 20 failed_reported
alive || fail "the run died after a failed signal checkpoint: $(cat run.err)"
stop_with_good_image "signal, full disk"

# 4: the guest holds every descriptor it can get
touch f
rm -f run.out
(ulimit -n 40 && exec "$waft" run --dir . m.wasm) >run.out 2>run.err &
pid=$!
wait_until 20 ready
alive || fail "the fd-hungry run ended early: $(cat run.err)"
stop_with_good_image "EMFILE"
