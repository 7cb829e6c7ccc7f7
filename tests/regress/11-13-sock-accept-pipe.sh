# Issue 11, defect 13: standard streams get the stream rights, socket rights included, so
# sock_accept on a stdin pipe waited for the pipe to become readable (forever, with a
# silent writer). The socket calls now look at what the descriptor is and answer ENOTSOCK
# at once; the pipe's writer stays open for 60 s, so a wait would show as a timeout.
wat 11-13-sock-accept-pipe.wat m.wasm
for call in accept recv; do
    start=$SECONDS
    timeout 10 "$waft" run m.wasm "$call" < <(sleep 60) >out.txt 2>err.txt
    status=$?
    [[ $status == 57 ]] ||
        fail "sock_$call on a stdin pipe: exit status $status, expected 57 (ENOTSOCK): $(head -2 err.txt)"
    ((SECONDS - start < 5)) || fail "sock_$call on a stdin pipe took $((SECONDS - start)) s"
done
