# Issue 11, defect 14 (the CLI's part): SIGTERM or SIGINT used to leave the run's control
# socket (the one `waft checkpoint PID` talks to) behind. The run must remove it and still
# end as the signal says (status 128 + SIG).
wat 11-06-checkpoint-write-fails.wat m.wasm # prints "ready", then spins
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg
set -m # background jobs keep SIGINT (a shell without job control ignores it in them)

for sig in TERM INT HUP; do
    rm -f run.out
    "$waft" run m.wasm >run.out 2>run.err &
    pid=$!
    sock=xdg/waft/$pid.sock
    have_socket() { [[ -S $sock ]] && grep -q ready run.out; }
    wait_until 20 have_socket
    kill -"$sig" "$pid"
    wait "$pid"
    st=$?
    want=$((128 + $(kill -l "$sig")))
    [[ $st == "$want" ]] || fail "SIG$sig: exit status $st, expected $want"
    [[ ! -e $sock ]] || fail "SIG$sig left the control socket $sock behind"
done
