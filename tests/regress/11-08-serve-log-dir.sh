# Issue 11, defect 8: `waft serve --log-dir DIR` created DIR/instance-PID.stdout and .stderr
# but left them empty: the migrated guest wrote to the server's own stdout and stderr.
wat 11-08-serve-log-dir.wat m.wasm
mkdir logs
"$waft" serve --listen 127.0.0.1:0 --once --timeout 5 --log-dir logs >srv.out 2>srv.err &
spid=$!
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^waft: serve: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' srv.err)
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || fail "the server did not start: $(cat srv.err)"
expect_status 0 "$waft" run --migrate-to "127.0.0.1:$port" --migrate-at-step 1000 --strategy stop-and-copy m.wasm
[[ $(cat out.txt) == before ]] || fail "the source printed: $(cat out.txt)"
wait "$spid"
st=$?
[[ $st == 0 ]] || fail "the server exited $st: $(cat srv.err)"
shopt -s nullglob
outs=(logs/instance-*.stdout)
errs=(logs/instance-*.stderr)
[[ ${#outs[@]} == 1 && ${#errs[@]} == 1 ]] || fail "log files: $(ls logs)"
[[ $(cat "${outs[0]}") == after ]] || fail "${outs[0]} holds '$(cat "${outs[0]}")', expected 'after'"
[[ $(cat "${errs[0]}") == after-err ]] || fail "${errs[0]} holds '$(cat "${errs[0]}")'"
[[ ! -s srv.out ]] || fail "the guest wrote to the server's stdout: $(cat srv.out)"
grep -q after-err srv.err && fail "the guest wrote to the server's stderr"
grep -q "exited with status 0" srv.err || fail "the server did not log the exit: $(cat srv.err)"
