#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - live migration tests: differential runs and faults (docs/migration.md).
#
#   usage: bash tests/migrate/run.sh path/to/waft
#
# Differential: every program runs straight, then again migrated to a `waft serve --once`
# at several points of its run, with pre-copy and with stop-and-copy. The source's output
# followed by the destination's, the exit status and the files written must equal the
# straight run's. Source and destination share the working directory (the "shared
# storage" case of docs/migration.md).
# Faults: the destination killed at several points of the transfer, the link cut, the peer
# gone silent, a corrupted frame, a wrong or missing key, a protocol version mismatch, a
# file missing at the destination: each time the source keeps running and finishes with the
# straight run's output, and the destination discards what it got.
# Network namespaces (root only, else skipped with a message): a keyed migration between
# two namespaces joined by a veth pair.
# Ends with one line `migrate: N passed, N failed[, N skipped]`.
set -u

if [[ $# -lt 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/waft" >&2
    exit 2
fi
waft=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(dirname "$waft")/tests/migrate
mkdir -p "$out"
tmp=$(mktemp -d)
pids=()
netns_made=
cleanup()
{
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    if [[ -n $netns_made ]]; then
        ip netns del waftmig-a 2>/dev/null
        ip netns del waftmig-b 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
skipped=0
pass()
{
    passed=$((passed + 1))
    echo "ok   $1"
}
fail()
{
    failed=$((failed + 1))
    echo "FAIL $1"
    shift
    printf '       %s\n' "$@"
}
skip()
{
    skipped=$((skipped + 1))
    echo "skip $1"
}

# shellcheck source=tests/programs.sh
source "$root/tests/programs.sh"

awk 'BEGIN { for (i = 0; i < 3000; i++) printf "stdin line %d %x\n", i, i * 7919 }' >"$tmp/stdin.txt"

programs=()
build ckprog "$root/tests/ckpt/ckprog.c" && programs+=("ckprog setup_ckprog")
build files "$root/tests/wasi/files.c" && programs+=("files setup_none")
build tree "$root/tests/wasi/tree.c" && programs+=("tree setup_tree in out 7 two")
build stdio "$root/tests/wasi/stdio.c" && programs+=("stdio setup_none file")
for b in sieve hash nbody fileio bintrees; do
    build "$b" "$root/bench/$b.c" && programs+=("$b setup_none")
done
sqlite=$(dirname "$waft")/bench/sqlite.wasm
if [[ -f $sqlite ]]; then
    cp "$sqlite" "$out/sqlite.wasm"
    programs+=("sqlite setup_none")
else
    skip "sqlite: $sqlite is not built (make sqlite-wasm; needs npm)"
fi

# wait_line FILE SED_EXPR: waits up to 4 s for FILE to hold a line SED_EXPR matches (a
# `sed -n` expression that prints what it captures); echoes that, or fails.
wait_line()
{
    local v
    for _ in $(seq 1 200); do
        v=$(sed -n "$2" "$1" 2>/dev/null)
        if [[ -n $v ]]; then
            echo "$v"
            return 0
        fi
        sleep 0.02
    done
    return 1
}
serve_port() { wait_line "$1" 's/^waft: serve: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p'; }
proxy_port() { wait_line "$1" 's/^port \([0-9]*\)$/\1/p'; }

# start_server DIR [OPTIONS...]: starts `waft serve --once` in DIR (stdin: the shared
# stdin file), its output in DIR/../NAME.srv.{out,err}; sets $port and $spid.
start_server()
{
    local dir=$1 base=$2
    shift 2
    : >"$base.srv.err"
    (cd "$dir" && exec "$waft" serve --listen 127.0.0.1:0 --once --timeout 5 "$@") \
        <"$tmp/stdin.txt" >"$base.srv.out" 2>"$base.srv.err" &
    spid=$!
    pids+=("$spid")
    port=$(serve_port "$base.srv.err")
}

# wait_server: waits for the --once server (at most 60 s); sets $sstatus.
wait_server()
{
    local i
    for i in $(seq 1 600); do
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$spid" 2>/dev/null; then
        kill "$spid"
        sstatus=timeout
    fi
    wait "$spid" 2>/dev/null
    local st=$?
    [[ ${sstatus:-} == timeout ]] || sstatus=$st
}

# compare A B: differences between two finished variants (outputs, status, files).
compare()
{
    local a=$1 b=$2 p=()
    cmp -s "$a.out" "$b.out" || p+=("stdout differs: $(diff "$a.out" "$b.out" | head -4 | tr '\n' ' ')")
    cmp -s "$a.err" "$b.err" || p+=("stderr differs: $(diff "$a.err" "$b.err" | head -4 | tr '\n' ' ')")
    [[ $(<"$a.status") == $(<"$b.status") ]] || p+=("exit status $(<"$b.status"), straight $(<"$a.status")")
    diff -r "$a.dir" "$b.dir" >/dev/null 2>&1 || p+=("files differ: $(diff -rq "$a.dir" "$b.dir" 2>&1 | head -3 | tr '\n' ' ')")
    ((${#p[@]} == 0)) || printf '%s\n' "${p[@]}"
}

declare -A total_of setup_of args_of
for entry in "${programs[@]}"; do
    # shellcheck disable=SC2206
    parts=($entry)
    name=${parts[0]}
    setup_of[$name]=${parts[1]}
    args_of[$name]="${parts[*]:2}"
    s=$tmp/$name-straight
    mkdir -p "$s.dir"
    ${parts[1]} "$s.dir"
    # shellcheck disable=SC2086
    (cd "$s.dir" && "$waft" run --count-steps --dir . "$out/$name.wasm" ${args_of[$name]}) \
        <"$tmp/stdin.txt" >"$s.out" 2>"$s.err"
    echo $? >"$s.status"
    total=$(tail -1 "$s.err" | sed -n 's/^waft: \([0-9]*\) instructions$/\1/p')
    if [[ -z $total ]]; then
        fail "$name: straight run" "$(tail -3 "$s.err")"
        continue
    fi
    sed -i '$d' "$s.err"
    total_of[$name]=$total
done

# migrate_case NAME FRACTION STRATEGY [EXTRA SOURCE OPTIONS...]
migrate_case()
{
    local name=$1 frac=$2 strategy=$3
    shift 3
    local total=${total_of[$name]:-}
    [[ -n $total ]] || return
    local at=$((total * frac / 100 + 1))
    local m=$tmp/$name-$frac-$strategy
    rm -rf "$m.dir"
    mkdir -p "$m.dir"
    ${setup_of[$name]} "$m.dir"
    if ! start_server "$m.dir" "$m" --dir .; then
        fail "$name: migrated at $frac% ($strategy)" "server did not start: $(cat "$m.srv.err")"
        return
    fi
    # shellcheck disable=SC2086
    (cd "$m.dir" && "$waft" run --dir . --migrate-to "127.0.0.1:$port" --migrate-at-step "$at" \
        --strategy "$strategy" "$@" "$out/$name.wasm" ${args_of[$name]}) \
        <"$tmp/stdin.txt" >"$m.src.out" 2>"$m.src.err"
    local src_status=$?
    local summary
    summary=$(grep '^waft: migrated to ' "$m.src.err")
    if [[ -z $summary ]]; then
        kill "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
        fail "$name: migrated at $frac% ($strategy)" "no migration (status $src_status): $(tail -2 "$m.src.err" | tr '\n' ' ')"
        return
    fi
    wait_server
    cat "$m.src.out" "$m.srv.out" >"$m.out"
    { grep -v '^waft: migrated to ' "$m.src.err"; grep -v '^waft: serve: ' "$m.srv.err"; } >"$m.err"
    echo "$sstatus" >"$m.status"
    local problems=()
    [[ $src_status == 0 ]] || problems+=("source exited $src_status after migrating")
    grep -q "^waft: serve: instance .* exited with status $sstatus\$" "$m.srv.err" ||
        problems+=("server did not report the exit status: $(tail -1 "$m.srv.err")")
    mapfile -t -O "${#problems[@]}" problems < <(compare "$tmp/$name-straight" "$m")
    if ((${#problems[@]} == 0)); then
        pass "$name: migrated at $frac% ($strategy${*:+ $*}): ${summary#waft: migrated to 127.0.0.1:*: }"
    else
        fail "$name: migrated at $frac% ($strategy${*:+ $*})" "${problems[@]}"
    fi
}

if [[ -z ${WAFT_MIGRATE_ONLY_FAULTS:-} ]]; then
echo "== differential migrations on loopback"
for entry in "${programs[@]}"; do
    name=${entry%% *}
    case $name in
    sieve | hash | nbody | sqlite)
        migrate_case "$name" 15 precopy
        migrate_case "$name" 50 precopy --page-order address
        migrate_case "$name" 85 precopy
        migrate_case "$name" 40 stop-and-copy
        ;;
    files | fileio | bintrees)
        migrate_case "$name" 5 precopy
        migrate_case "$name" 35 stop-and-copy
        ;;
    *)
        # short programs: stop-and-copy stops them at the trigger, so they cannot finish
        # before the migration does (pre-copy lets them run on meanwhile)
        migrate_case "$name" 5 stop-and-copy
        migrate_case "$name" 35 stop-and-copy
        migrate_case "$name" 80 stop-and-copy
        ;;
    esac
done
fi

# ---- faults: the source must finish the program itself, exactly as straight ----

# fault_case TITLE PROGRAM SERVER_ENV SOURCE_ENV [--server-opts "..."] [--via-proxy MODE BYTES] -- SOURCE OPTIONS...
fault_case()
{
    local title=$1 name=$2 senv=$3 cenv=$4
    shift 4
    local sopts=() proxy_mode= proxy_bytes=
    while [[ $# -gt 0 && $1 != -- ]]; do
        case $1 in
        --server-opts)
            read -r -a sopts <<<"$2"
            shift 2
            ;;
        --via-proxy)
            proxy_mode=$2 proxy_bytes=$3
            shift 3
            ;;
        *) break ;;
        esac
    done
    [[ ${1:-} == -- ]] && shift
    local total=${total_of[$name]:-}
    [[ -n $total ]] || return
    local m=$tmp/fault-$passed-$failed
    rm -rf "$m.dir"
    mkdir -p "$m.dir"
    ${setup_of[$name]} "$m.dir"
    # shellcheck disable=SC2086
    local sdir=(--dir .)
    [[ " ${sopts[*]} " == *" --dir "* ]] && sdir=()
    (cd "$m.dir" && exec env $senv "$waft" serve --listen 127.0.0.1:0 --timeout 3 "${sdir[@]}" "${sopts[@]}") \
        <"$tmp/stdin.txt" >"$m.srv.out" 2>"$m.srv.err" &
    spid=$!
    pids+=("$spid")
    port=$(serve_port "$m.srv.err")
    if [[ -z $port ]]; then
        fail "$title" "server did not start: $(head -2 "$m.srv.err")"
        return
    fi
    local to=$port ppid=
    if [[ -n $proxy_mode ]]; then
        : >"$m.proxy"
        python3 "$here/proxy.py" "$port" "$proxy_mode" "$proxy_bytes" >"$m.proxy" &
        ppid=$!
        pids+=("$ppid")
        to=$(proxy_port "$m.proxy")
    fi
    local at=$((total / 4 + 1))
    # shellcheck disable=SC2086
    (cd "$m.dir" && exec env $cenv "$waft" run --dir . --migrate-to "127.0.0.1:$to" \
        --migrate-at-step "$at" --migrate-timeout 2 "$@" "$out/$name.wasm" ${args_of[$name]}) \
        <"$tmp/stdin.txt" >"$m.out" 2>"$m.src.err"
    echo $? >"$m.status"
    sleep 0.3
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    [[ -n $ppid ]] && kill "$ppid" 2>/dev/null
    local why
    why=$(grep '^waft: migration to .* failed: ' "$m.src.err" | head -1)
    grep -v '^waft: migration to .* failed: ' "$m.src.err" >"$m.err"
    local problems=()
    [[ -n $why ]] || problems+=("no failure reported: $(tail -2 "$m.src.err" | tr '\n' ' ')")
    [[ -s $m.srv.out ]] && problems+=("the destination ran the program: $(head -2 "$m.srv.out" | tr '\n' ' ')")
    grep -q 'instance .* started' "$m.srv.err" && problems+=("the destination started the program")
    mapfile -t -O "${#problems[@]}" problems < <(compare "$tmp/$name-straight" "$m")
    if ((${#problems[@]} == 0)); then
        pass "$title: source went on (${why#waft: migration to 127.0.0.1:*: })"
    else
        fail "$title" "${problems[@]}"
    fi
}

echo "== faults"
f=hash
[[ -n ${total_of[hash]:-} ]] || f=sieve
for n in 1 2 3 6 10; do
    fault_case "destination dies at its frame $n" $f "WAFT_TEST_DIE_AT_FRAME=$n" ""
done
for b in 100 5000 300000; do
    fault_case "link cut after $b bytes" $f "" "" --via-proxy cut "$b"
done
fault_case "peer silent after 3000 bytes (timeout)" nbody "" "" --via-proxy stall 3000
for n in 1 4 9; do
    fault_case "frame $n corrupted" $f "" "WAFT_TEST_CORRUPT_FRAME=$n"
done
fault_case "protocol version mismatch" $f "" "WAFT_TEST_PROTO_VERSION=99"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/key1"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/key2"
chmod 600 "$tmp/key1" "$tmp/key2"
fault_case "wrong key" $f "" "" --server-opts "--key-file $tmp/key1" -- --key-file "$tmp/key2"
fault_case "no key for a keyed server" $f "" "" --server-opts "--key-file $tmp/key1"
fault_case "key for a server without one" $f "" "" -- --key-file "$tmp/key1"
fault_case "frame 7 altered with a valid CRC, keyed (MAC)" $f "" "WAFT_TEST_FORGE_FRAME=7" \
    --server-opts "--key-file $tmp/key1" -- --key-file "$tmp/key1"
fault_case "stop-and-copy, destination dies mid-memory" $f "WAFT_TEST_DIE_AT_FRAME=5" "" -- --strategy stop-and-copy
# a file the program has open is missing at the destination: its --dir is elsewhere
if [[ -n ${total_of[ckprog]:-} ]]; then
    mkdir -p "$tmp/empty-dir"
    fault_case "open file missing at the destination" ckprog "" "" --server-opts "--dir $tmp/empty-dir::." \
        -- --strategy stop-and-copy
fi

echo "== damaged streams (protocol fuzzing)"
# a real migration recorded through the proxy, then replayed damaged many times to one
# server: it must survive every stream, report no crash or sanitizer error, and still take
# a good migration afterwards
if [[ -n ${total_of[ckprog]:-} ]]; then
    m=$tmp/garble
    mkdir -p "$m.dir"
    setup_ckprog "$m.dir"
    (cd "$m.dir" && exec "$waft" serve --listen 127.0.0.1:0 --timeout 2 --dir .) \
        <"$tmp/stdin.txt" >"$m.srv.out" 2>"$m.srv.err" &
    spid=$!
    pids+=("$spid")
    port=$(serve_port "$m.srv.err")
    : >"$m.proxy"
    python3 "$here/proxy.py" "$port" tee "$m.stream" >"$m.proxy" &
    ppid=$!
    pids+=("$ppid")
    to=$(proxy_port "$m.proxy")
    # source and server share the directory (shared storage), as ckprog's files must be there
    (cd "$m.dir" && "$waft" run --dir . --migrate-to "127.0.0.1:$to" --strategy stop-and-copy \
        --migrate-at-step $((total_of[ckprog] / 2)) "$out/ckprog.wasm") <"$tmp/stdin.txt" \
        >/dev/null 2>"$m.rec.err"
    wait "$ppid" 2>/dev/null
    problems=()
    grep -q '^waft: migrated to ' "$m.rec.err" || problems+=("recording failed: $(tail -2 "$m.rec.err" | tr '\n' ' ')")
    n=${WAFT_GARBLE_COUNT:-300}
    python3 "$here/garble.py" "$port" "$m.stream" "$n" 7 >"$m.garble" 2>&1 ||
        problems+=("$(tail -1 "$m.garble")")
    sleep 2.5 # handlers still waiting on a peer time out
    kill -0 "$spid" 2>/dev/null || problems+=("the server died")
    grep -q 'died of signal\|Sanitizer\|runtime error' "$m.srv.err" &&
        problems+=("$(grep -m2 'died of signal\|Sanitizer\|runtime error' "$m.srv.err" | tr '\n' ' ')")
    discarded=$(grep -c 'discarded an instance' "$m.srv.err")
    # and a good migration still goes through
    (cd "$m.dir" && "$waft" run --dir . --migrate-to "127.0.0.1:$port" --strategy stop-and-copy \
        --migrate-at-step $((total_of[ckprog] / 2)) "$out/ckprog.wasm") <"$tmp/stdin.txt" \
        >/dev/null 2>"$m.good.err"
    grep -q '^waft: migrated to ' "$m.good.err" || problems+=("a good migration failed afterwards: $(tail -1 "$m.good.err")")
    kill "$spid" 2>/dev/null
    if ((${#problems[@]} == 0)); then
        pass "$n damaged streams: the server survived, discarded $discarded, no sanitizer report; a good migration still works"
    else
        fail "damaged streams" "${problems[@]}"
    fi
fi

echo "== committed, then the confirmation lost: nothing lost"
# the destination dies right after the commit, before confirming: the source cannot know
# whether it runs the program, so it stops with status 1 and keeps a full image; restoring
# that image finishes the program with the straight run's output
if [[ -n ${total_of[$f]:-} ]]; then
    m=$tmp/unknown
    mkdir -p "$m.dir"
    (cd "$m.dir" && exec env WAFT_TEST_DIE_AFTER_COMMIT=1 "$waft" serve --listen 127.0.0.1:0 \
        --timeout 3 --dir .) <"$tmp/stdin.txt" >"$m.srv.out" 2>"$m.srv.err" &
    spid=$!
    pids+=("$spid")
    port=$(serve_port "$m.srv.err")
    (cd "$m.dir" && "$waft" run --dir . --migrate-to "127.0.0.1:$port" --migrate-timeout 2 \
        --migrate-at-step $((total_of[$f] / 4 + 1)) "$out/$f.wasm") \
        <"$tmp/stdin.txt" >"$m.src.out" 2>"$m.src.err"
    src_status=$?
    kill "$spid" 2>/dev/null
    img=$(sed -n 's/.*an image kept at \(.*\)$/\1/p' "$m.src.err")
    problems=()
    [[ $src_status == 1 ]] || problems+=("source status $src_status, expected 1")
    if [[ -z $img || ! -f $m.dir/$img && ! -f $img ]]; then
        problems+=("no image kept: $(tail -2 "$m.src.err" | tr '\n' ' ')")
    else
        [[ -f $img ]] || img=$m.dir/$img
        (cd "$m.dir" && "$waft" restore "$img" --dir .) <"$tmp/stdin.txt" >"$m.rest.out" 2>"$m.rest.err"
        echo $? >"$m.status"
        cat "$m.src.out" "$m.rest.out" >"$m.out"
        cp "$m.rest.err" "$m.err"
        rm -f "$img"
        mapfile -t -O "${#problems[@]}" problems < <(compare "$tmp/$f-straight" "$m")
    fi
    [[ -s $m.srv.out ]] && problems+=("the destination ran the program")
    if ((${#problems[@]} == 0)); then
        pass "destination dies after the commit: source kept an image, restoring it finishes the run"
    else
        fail "destination dies after the commit" "${problems[@]}"
    fi
fi

echo "== waft migrate PID"
if [[ -n ${total_of[nbody]:-} ]]; then
    m=$tmp/bypid
    mkdir -p "$m.dir"
    start_server "$m.dir" "$m" --dir .
    (cd "$m.dir" && exec "$waft" run --dir . "$out/nbody.wasm") <"$tmp/stdin.txt" >"$m.src.out" 2>"$m.src.err" &
    rpid=$!
    sleep 0.3
    "$waft" migrate "$rpid" --to "127.0.0.1:$port" >"$m.cmd" 2>&1
    cst=$?
    wait "$rpid"
    rst=$?
    wait_server
    cat "$m.src.out" "$m.srv.out" >"$m.out"
    { grep -v '^waft: migrated to ' "$m.src.err"; grep -v '^waft: serve: ' "$m.srv.err"; } >"$m.err"
    echo "$sstatus" >"$m.status"
    problems=()
    [[ $cst == 0 ]] || problems+=("waft migrate exited $cst: $(cat "$m.cmd")")
    grep -q "^waft: process $rpid migrated to 127.0.0.1:$port: downtime " "$m.cmd" || problems+=("no summary: $(cat "$m.cmd")")
    [[ $rst == 0 ]] || problems+=("the source exited $rst")
    cmp -s "$tmp/nbody-straight.out" "$m.out" || problems+=("stdout differs")
    [[ $(<"$tmp/nbody-straight.status") == "$sstatus" ]] || problems+=("status $sstatus")
    if ((${#problems[@]} == 0)); then
        pass "waft migrate PID: $(sed 's/^waft: process [0-9]* migrated to [^:]*:[0-9]*: //' "$m.cmd")"
    else
        fail "waft migrate PID" "${problems[@]}"
    fi
fi

echo "== refusals"
st=0
"$waft" serve --listen 0.0.0.0:0 >"$tmp/r.out" 2>&1 || st=$?
if [[ $st == 1 ]] && grep -q 'refusing to listen on 0.0.0.0:0 without --key-file' "$tmp/r.out"; then
    pass "serve refuses a non-loopback address without a key"
else
    fail "serve refuses a non-loopback address without a key" "status $st: $(cat "$tmp/r.out")"
fi
chmod 644 "$tmp/key2"
st=0
"$waft" serve --key-file "$tmp/key2" >"$tmp/r.out" 2>&1 || st=$?
if [[ $st == 1 ]] && grep -q 'readable by its owner only' "$tmp/r.out"; then
    pass "serve refuses a key file others can read"
else
    fail "serve refuses a key file others can read" "status $st: $(cat "$tmp/r.out")"
fi

echo "== between network namespaces"
if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
    skip "network namespaces: needs root and iproute2 (CI runs this as root)"
elif ! ip netns add waftmig-a 2>/dev/null; then
    skip "network namespaces: this machine forbids creating them"
else
    netns_made=1
    ip netns add waftmig-b
    ip link add waftmig-va type veth peer name waftmig-vb
    ip link set waftmig-va netns waftmig-a
    ip link set waftmig-vb netns waftmig-b
    ip -n waftmig-a addr add 10.213.7.1/24 dev waftmig-va
    ip -n waftmig-b addr add 10.213.7.2/24 dev waftmig-vb
    ip -n waftmig-a link set waftmig-va up
    ip -n waftmig-b link set waftmig-vb up
    ip -n waftmig-a link set lo up
    ip -n waftmig-b link set lo up
    chmod 600 "$tmp/key2"
    for name in sieve ckprog; do
        [[ -n ${total_of[$name]:-} ]] || continue
        m=$tmp/netns-$name
        mkdir -p "$m.dir"
        ${setup_of[$name]} "$m.dir"
        (cd "$m.dir" && exec ip netns exec waftmig-b "$waft" serve --listen 10.213.7.2:7600 --once \
            --timeout 5 --dir . --key-file "$tmp/key2") <"$tmp/stdin.txt" >"$m.srv.out" 2>"$m.srv.err" &
        spid=$!
        pids+=("$spid")
        wait_line "$m.srv.err" '/listening on/p' >/dev/null
        # shellcheck disable=SC2086
        (cd "$m.dir" && ip netns exec waftmig-a "$waft" run --dir . --migrate-to 10.213.7.2:7600 \
            --migrate-at-step $((total_of[$name] / 3 + 1)) --key-file "$tmp/key2" \
            $([[ $name == ckprog ]] && echo --strategy stop-and-copy) \
            "$out/$name.wasm" ${args_of[$name]}) <"$tmp/stdin.txt" >"$m.src.out" 2>"$m.src.err"
        src_status=$?
        wait_server
        cat "$m.src.out" "$m.srv.out" >"$m.out"
        { grep -v '^waft: migrated to ' "$m.src.err"; grep -v '^waft: serve: ' "$m.srv.err"; } >"$m.err"
        echo "$sstatus" >"$m.status"
        mapfile -t problems < <(compare "$tmp/$name-straight" "$m")
        grep -q '^waft: migrated to 10.213.7.2:7600: ' "$m.src.err" || problems+=("not migrated: $(tail -2 "$m.src.err" | tr '\n' ' ')")
        if ((${#problems[@]} == 0)); then
            pass "$name: migrated between network namespaces with a key: $(sed -n 's/^waft: migrated to [^ ]*: //p' "$m.src.err")"
        else
            fail "$name: migrated between network namespaces" "${problems[@]}"
        fi
    done
fi

echo "migrate: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
