# Issue 11, defect 6 (follow-up): `waft checkpoint` said "no answer within 60 s" both when
# the run did not answer in time and when it closed the connection at once (it had ended),
# so a failure could not tell a hang from an exit. Now each has its own message.
wat 11-06-checkpoint-write-fails.wat m.wasm
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg
ready() { grep -q ready run.out 2>/dev/null; }

"$waft" run m.wasm >run.out 2>run.err &
pid=$!
wait_until 20 ready
# a stopped run accepts nothing: the request waits out its timeout
kill -STOP "$pid"
expect_status 1 "$waft" checkpoint "$pid" --image "$PWD/x.img" --timeout 1
grep -q "no answer from process $pid within 1 s" err.txt || fail "timeout not told: $(cat err.txt)"
# a run that ends while the request waits: the connection closes, and that is said
lines() { grep -c "/$pid.sock\$" /proc/net/unix; }
before=$(lines) # the listener, and the first request's connection still queued
"$waft" checkpoint "$pid" --image "$PWD/x.img" --timeout 30 >ck.out 2>ck.err &
ck=$!
# killed only once the request is queued on the run's socket (each queued connection is
# one more line with the socket's path in /proc/net/unix)
queued() { (($(lines) > before)); }
wait_until 20 queued
kill -KILL "$pid"
wait "$ck" && fail "checkpoint of a killed run succeeded"
grep -q "process $pid closed its control connection without an answer" ck.err ||
    fail "closed connection not told: $(cat ck.err)"
[[ ! -e x.img ]] || fail "an image was written"
