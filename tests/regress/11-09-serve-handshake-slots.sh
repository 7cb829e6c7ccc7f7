# Issue 11, defect 9: connections that never finish their handshake took the slots of
# running programs: after 70 idle connections, `waft serve` closed a real migration's
# connection without a word ("handshake: Connection reset by peer") until they timed out.
# Now handshakes have their own slots (the oldest idle one makes room for a new one), and a
# refused migration is told why.
wat 11-08-serve-log-dir.wat m.wasm           # prints before, counts, prints after
wat 11-06-checkpoint-write-fails.wat spin.wasm # prints ready, spins for ever
"$waft" serve --listen 127.0.0.1:0 --timeout 5 --max-programs 1 >srv.out 2>srv.err &
spid=$!
children=()
cleanup()
{
    local c
    for c in $(sed -n 's/^waft: serve: instance \([0-9]*\) from .* started$/\1/p' srv.err); do
        kill -9 "$c" 2>/dev/null
    done
    kill "$spid" 2>/dev/null
}
trap cleanup EXIT
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^waft: serve: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' srv.err)
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || fail "the server did not start: $(cat srv.err)"

# 70 connections that say nothing
for i in $(seq 70); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "connection $i failed"
done
# a real migration still gets through at once
expect_status 0 "$waft" run --migrate-to "127.0.0.1:$port" --migrate-at-step 1000 \
    --strategy stop-and-copy m.wasm
grep -q "migrated to" err.txt || fail "no migration: $(cat err.txt)"
grep -q "dropped" srv.err || fail "the server did not say it dropped idle connections"
started()
{
    local n=0
    for _ in $(seq 200); do
        n=$(grep -c "instance .* started" srv.err)
        ((n >= $1)) && return 0
        sleep 0.1
    done
    return 1
}
finished() { for _ in $(seq 200); do grep -q "exited with status 0" srv.err && return 0; sleep 0.1; done; return 1; }
started 1 || fail "the migrated program did not start"
finished || fail "the migrated program did not end: $(cat srv.err)"
first=$(sed -n 's/^waft: serve: instance \([0-9]*\) from .* started$/\1/p' srv.err)
reaped() { for _ in $(seq 200); do [[ -e /proc/$first ]] || return 0; sleep 0.1; done; return 1; }
reaped || fail "the server did not reap process $first"

# --max-programs 1: one program runs, the next migration is refused with a reason
# (a spinning program that stays here would never end: bound it)
expect_status 0 timeout 60 "$waft" run --migrate-to "127.0.0.1:$port" --migrate-at-step 1000 \
    --strategy stop-and-copy spin.wasm
started 2 || fail "the spinning program did not start"
expect_status 0 "$waft" run --migrate-to "127.0.0.1:$port" --migrate-at-step 1000 \
    --strategy stop-and-copy m.wasm
grep -q "busy" err.txt || fail "refusal without a reason: $(cat err.txt)"
printf 'before\nafter\n' | cmp -s - out.txt || fail "the refused program did not go on here: $(cat out.txt)"
kill -0 "$spid" || fail "the server died"
