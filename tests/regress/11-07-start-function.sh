# Issue 11, defect 7: while a module's start function runs, --fuel gave "operation not
# allowed in this state" (status 1), and a checkpoint signal, --checkpoint-every or `waft
# checkpoint PID` killed the run. Now fuel running out there is the fuel trap (134); a
# request on the control socket is refused with a reason while the program goes on; a
# signal, a timer tick or a step trigger waits for the start function to return, and the
# image it then writes restores to the same output as a straight run.
wat 11-07-start-function.wat m.wasm
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg
in_start() { grep -q "in start" run.out 2>/dev/null; }

printf 'a\nb\n' >input
expect_status 0 "$waft" run m.wasm <input
printf 'in start\nmain\nend\n' | cmp -s - out.txt || fail "straight run printed: $(cat out.txt)"

# fuel runs out inside the start function: the fuel trap, with a backtrace
expect_status 134 "$waft" run --fuel 1000 m.wasm <input
grep -q "all fuel consumed" err.txt || fail "no fuel trap message: $(cat err.txt)"

# a step trigger inside the start function is taken when it returns
expect_status 0 "$waft" run --image step.img --checkpoint-at-step 100 m.wasm <input
grep -q "start function" err.txt || fail "no note that the step fell in the start function"
expect_status 0 "$waft" restore step.img <input
printf 'main\nend\n' | cmp -s - out.txt || fail "restore of step.img printed: $(cat out.txt)"

# a signal and `waft checkpoint` while the start function waits for input
mkfifo in
"$waft" run --image sig.img --checkpoint-signal USR1 m.wasm <in >run.out 2>run.err &
pid=$!
exec 7>in
wait_until 20 in_start
"$waft" checkpoint "$pid" --image "$PWD/req.img" >ck.out 2>ck.err && fail "checkpoint inside the start function succeeded"
grep -q "start function" ck.err || fail "refusal without a reason: $(cat ck.err)"
"$waft" migrate "$pid" --to 127.0.0.1:9 >mig.out 2>mig.err && fail "migration inside the start function succeeded"
grep -q "start function" mig.err || fail "migration refused without a reason: $(cat mig.err)"
kill -USR1 "$pid"
echo x >&7 # spins, reads again
kill -USR1 "$pid"
kill -0 "$pid" 2>/dev/null || fail "the run died of a signal inside the start function: $(cat run.err)"
exec 7>&- # end of input: the start function returns, the image is written at _start
wait "$pid"
st=$?
[[ $st == 0 ]] || fail "run with a deferred signal exited $st: $(cat run.err)"
[[ ! -e req.img ]] || fail "an image was written inside the start function"
printf 'in start\n' | cmp -s - run.out || fail "run printed: $(cat run.out)"
expect_status 0 "$waft" restore sig.img </dev/null
printf 'main\nend\n' | cmp -s - out.txt || fail "restore of sig.img printed: $(cat out.txt)"

# --checkpoint-every ticking during the start function
expect_status 0 "$waft" run --image every.img --checkpoint-every 0.05 --leave-running m.wasm \
    < <(sleep 0.5; printf 'a\n')
printf 'in start\nmain\nend\n' | cmp -s - out.txt || fail "--checkpoint-every run printed: $(cat out.txt)"
