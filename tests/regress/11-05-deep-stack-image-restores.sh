# Issue 11, defect 5 (every image waft writes must restore), the call stack's part: the
# reader refused more than 2^20 frames, a bound of its own that the writer did not share, so
# a program run with a larger --max-call-depth was checkpointed into an image that could not
# be restored (and the run had stopped). The frames an image holds are bounded by the bytes
# that back them; the restoring store's --max-call-depth decides.
wat 11-05-deep-stack-image-restores.wat d.wasm
limits=(--max-call-depth 1200000 --max-stack-slots 4000000)
expect_status 0 "$waft" run "${limits[@]}" --image c.img --checkpoint-at-step 9000000 d.wasm
[[ -s c.img ]] || fail "no image written: $(cat err.txt)"
expect_status 0 "$waft" image info c.img
grep -q "^frames     110000[0-9]" out.txt || fail "the checkpoint is not at the bottom: $(grep frames out.txt)"
expect_status 7 "$waft" restore "${limits[@]}" c.img
# without room for the frames, restore refuses with one line, naming the limit
expect_status 1 "$waft" restore c.img
[[ $(wc -l <err.txt) == 1 ]] && grep -q "call-depth limit" err.txt ||
    fail "restore without --max-call-depth: $(cat err.txt)"
