# Issue 11, defect 6's kin, found by the review: when a migration's link breaks after
# COMMIT, the source keeps a full image (the destination may or may not run the program).
# If that image could not be written, the program was lost. A migration whose fallback
# image cannot be written now does not start, and the program goes on.
cat >spin.wat <<'WAT'
(module (memory (export "memory") 1)
  (func (export "_start") (local i32)
    (loop $l local.get 0 i32.const 1 i32.add local.tee 0 i32.const 3000000 i32.ne br_if $l)))
WAT
wat spin.wat spin.wasm
expect_status 0 "$waft" run --image /nonexistent/dir/x.img --migrate-to 127.0.0.1:1 \
    --migrate-at-step 1000 spin.wasm
grep -q "could not be written: /nonexistent/dir" err.txt ||
    fail "the migration was not refused for its image: $(cat err.txt)"
grep -q "the program goes on" err.txt || fail "no word that the program goes on: $(cat err.txt)"
