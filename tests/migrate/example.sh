#!/usr/bin/env bash
# example.sh - examples/migrate_self (an embedder of libwaft) migrates its guest to a
# `waft serve` mid-run; the output of both together must equal a straight `waft run`.
# Usage: tests/migrate/example.sh WAFT EXAMPLE GUEST.wasm OUTDIR
set -u
waft=$1 example=$2 guest=$3 out=$4
mkdir -p "$out"
rm -f "$out"/*.out "$out"/*.err
fail() { echo "FAIL example-migrate: $*"; for f in "$out"/*.err; do echo "--- $f"; cat "$f"; done; exit 1; }

"$waft" run "$guest" > "$out/straight.out" 2> "$out/straight.err" || fail "straight run failed"
"$waft" serve --listen 127.0.0.1:0 --once > "$out/serve.out" 2> "$out/serve.err" &
serve=$!
port=
for _ in $(seq 100); do
    port=$(sed -n '1s/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/serve.err")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { kill "$serve"; fail "waft serve did not say its port"; }
# 100 million of the guest's ~880 million instructions: the migration starts at tick 2,
# and the guest goes on running while its memory is sent
"$example" "$guest" "127.0.0.1:$port" 100000000 > "$out/source.out" 2> "$out/source.err"
st=$?
if [ $st -ne 0 ] || ! grep -q '^migrate_self: migrated to' "$out/source.err"; then
    kill "$serve" 2> /dev/null # --once waits for a program that will not come
    wait "$serve"
    fail "the example exited with $st without migrating"
fi
wait "$serve"
sst=$?
[ $sst -eq 0 ] || fail "waft serve --once exited with $sst"
grep -q 'started' "$out/serve.err" || fail "the server ran no program"
[ -s "$out/source.out" ] || fail "the source printed nothing before the move"
[ -s "$out/serve.out" ] || fail "the destination printed nothing after the move"
cat "$out/source.out" "$out/serve.out" > "$out/combined.out"
cmp -s "$out/straight.out" "$out/combined.out" ||
    { diff -u "$out/straight.out" "$out/combined.out"; fail "output differs from a straight run"; }
echo "ok   example-migrate: $(wc -l < "$out/source.out") lines here, $(wc -l < "$out/serve.out") at the destination, equal to a straight run"
