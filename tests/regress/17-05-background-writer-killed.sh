# Issue 17: the child writing a --leave-running image is killed (kill -9) while it is
# blocked opening the image (a FIFO in the place of PATH.tmp): the requester is told which
# process died of which signal, the run goes on and ends as a straight run, no image
# appears. Under ASan the run has been seen to hang at its end after this (not yet
# understood, noted on issue 17): the case is skipped for sanitizer builds until fixed.
if ldd "$waft" 2>/dev/null | grep -q libasan; then
    echo "skipped under ASan (known hang, issue 17)"
    exit 0
fi
wat 17-02-background-checkpoint.wat bg.wasm
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg
"$waft" run bg.wasm >straight.out 2>&1
want=$?
ready() { grep -q ready run.out 2>/dev/null; }
start() {
    rm -f run.out
    "$waft" run --verbose bg.wasm >run.out 2>run.err &
    pid=$!
    wait_until 20 ready
}
finish() {
    wait "$pid"
    local got=$?
    [[ $got == "$want" ]] || fail "$1: the run exited $got, straight run $want: $(cat run.err)"
}

# ---- the writer killed: the requester is told, the run goes on, no image appears ----
mkfifo "$PWD/stuck.img.tmp" # the writer blocks opening it (no reader)
start
"$waft" checkpoint "$pid" --image "$PWD/stuck.img" --leave-running >ck.out 2>ck.err &
ckpid=$!
writer() { child=$(pgrep -P "$pid" | head -1) && [[ -n $child ]]; }
wait_until 20 writer
kill -9 "$child"
wait "$ckpid"
st=$?
[[ $st == 1 ]] || fail "checkpoint with its writer killed exited $st: $(cat ck.out ck.err)"
grep -q "cannot write the image: the process writing it ($child) was killed by signal 9" ck.err ||
    fail "checkpoint with its writer killed said: $(cat ck.err)"
finish "after its image writer was killed"
grep -q "checkpoint to $PWD/stuck.img failed: .* the program goes on" run.err ||
    fail "the run said: $(cat run.err)"
[[ ! -e stuck.img ]] || fail "an image appeared although its writer was killed"
rm -f stuck.img.tmp

