# Issue 17: restore by mapping. An uncompressed image's memory is mapped from the file and
# checked by the MiB: where first touched (the default), all up front (--verify), or
# copied (--no-map). Each way the program ends exactly as a straight run; a flipped bit in
# a stored page is refused each way, with one line naming the bytes, before the program
# reads them; `waft image check` refuses it too.
wat 17-01-restore-by-mapping.wat m.wasm
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg

"$waft" run m.wasm >straight.out 2>&1
want=$?
((want >= 10)) || fail "straight run exited $want: $(cat straight.out)"

ready() { grep -q ready run.out 2>/dev/null; }
"$waft" run m.wasm >run.out 2>run.err &
pid=$!
wait_until 20 ready
"$waft" checkpoint "$pid" --image "$PWD/m.img" >/dev/null 2>ck.err || fail "checkpoint failed: $(cat ck.err)"
wait "$pid"

for mode in "" --verify --no-map; do
    "$waft" restore m.img $mode >r.out 2>r.err
    got=$?
    [[ $got == "$want" ]] || fail "restore ${mode:-(mapped, checked when touched)} exited $got, straight run $want: $(cat r.err)"
done

# the mark's page, one byte flipped (the image is not resealed: only the page checksum
# can tell)
off=$(grep -obUa PAGEMARK m.img | head -1 | cut -d: -f1)
[[ -n $off ]] || fail "the mark is not in the image"
cp m.img bad.img
printf 'X' | dd of=bad.img bs=1 seek=$((off + 2)) conv=notrunc status=none
for mode in "" --verify --no-map; do
    "$waft" restore bad.img $mode >r.out 2>r.err
    got=$?
    [[ $got == 1 ]] || fail "damaged image, restore ${mode:-(mapped)}: exit $got, want 1: $(cat r.err)"
    [[ $(wc -l <r.err) == 1 ]] || fail "damaged image, restore ${mode:-(mapped)}: not one line: $(cat r.err)"
    grep -q "bytes 0x100000-0x1fffff do not match their checksum" r.err ||
        fail "damaged image, restore ${mode:-(mapped)}: $(cat r.err)"
done
expect_status 1 "$waft" image check bad.img
grep -q "do not match their checksum" err.txt || fail "image check: $(cat err.txt)"
