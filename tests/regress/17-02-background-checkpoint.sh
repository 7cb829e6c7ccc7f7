# Issue 17: a checkpoint that leaves the program running is written by a child process
# while the program goes on (paused only for the fork). The image is the program as it was
# at the stop, although the run rewrites every page meanwhile; --verbose tells the pause
# and the split (capture, write, sync), in `waft checkpoint` and in the run. A writer that
# fails or is killed is reported to the requester and the run goes on, intact; a checkpoint
# that stops the program is written in place.
wat 17-02-background-checkpoint.wat bg.wasm
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg

"$waft" run bg.wasm >straight.out 2>&1
want=$?
((want >= 10)) || fail "straight run exited $want: $(cat straight.out)"

ready() { grep -q ready run.out 2>/dev/null; }
start() {
    rm -f run.out
    "$waft" run --verbose bg.wasm >run.out 2>run.err &
    pid=$!
    wait_until 20 ready
}
finish() { # finish WHAT: the run ends as the straight run did
    wait "$pid"
    local got=$?
    [[ $got == "$want" ]] || fail "$1: the run exited $got, straight run $want: $(cat run.err)"
}

# ---- in the background: the run goes on, the image is the stop's ----
start
"$waft" checkpoint "$pid" --image "$PWD/bg.img" --leave-running --verbose >ck.out 2>ck.err ||
    fail "checkpoint --leave-running failed: $(cat ck.err)"
grep -q "written to $PWD/bg.img\$" ck.out || fail "checkpoint said: $(cat ck.out)"
grep -Eq '^waft: [0-9.]+ MiB; program paused [0-9.]+ ms; capture [0-9.]+ ms, write [0-9.]+ ms, sync [0-9.]+ ms \(written while the program ran\)$' ck.out ||
    fail "checkpoint --verbose said: $(cat ck.out)"
finish "after a background checkpoint"
grep -q "^waft: checkpoint to $PWD/bg.img: .* (written while the program ran)\$" run.err ||
    fail "the run's --verbose said: $(cat run.err)"
"$waft" restore bg.img >r.out 2>r.err
got=$?
[[ $got == "$want" ]] || fail "restore of the background image exited $got, want $want: $(cat r.err)"

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

# ---- the writer fails: one line to the requester, the run goes on ----
start
expect_status 1 "$waft" checkpoint "$pid" --image "$PWD/no/such/dir/x.img" --leave-running
grep -q "cannot write the image: .*no/such/dir/x.img.tmp: No such file or directory" err.txt ||
    fail "failed background checkpoint said: $(cat err.txt)"
finish "after a failed background checkpoint"

# ---- stopping the program: written in place ----
start
"$waft" checkpoint "$pid" --image "$PWD/stop.img" --verbose >ck.out 2>ck.err ||
    fail "checkpoint failed: $(cat ck.err)"
wait "$pid" || fail "the run did not stop with status 0 after the checkpoint"
grep -Eq '^waft: [0-9.]+ MiB; program paused [0-9.]+ ms; capture .* sync [0-9.]+ ms$' ck.out ||
    fail "checkpoint --verbose (in place) said: $(cat ck.out)"
"$waft" restore stop.img >r.out 2>r.err
got=$?
[[ $got == "$want" ]] || fail "restore of the stopped image exited $got, want $want: $(cat r.err)"

# ---- the run's own --image, with a blank in its name: the answer still parses ----
rm -f run.out
"$waft" run --image "$PWD/with blank.img" bg.wasm >run.out 2>run.err &
pid=$!
wait_until 20 ready
"$waft" checkpoint "$pid" --leave-running --verbose >ck.out 2>ck.err ||
    fail "checkpoint to the run's --image failed: $(cat ck.err)"
grep -q "written to $PWD/with blank.img\$" ck.out || fail "checkpoint said: $(cat ck.out)"
grep -q "program paused" ck.out || fail "checkpoint --verbose said: $(cat ck.out)"
finish "after a checkpoint to its own --image"
[[ -f "with blank.img" ]] || fail "no image at the run's --image"
