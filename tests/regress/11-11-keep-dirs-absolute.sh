# Issue 11, defect 11: the image kept a preopen's host path as given (`--dir d`), so
# `waft restore --keep-dirs` run from another directory reopened that directory's own d/
# and the program wrote its files there. Host paths are now stored absolute when the
# directory is preopened.
wat 11-11-keep-dirs-absolute.wat m.wasm
mkdir -p a/d b/d
(cd a && "$waft" run --dir d --image c.img --checkpoint-at-step 1000 ../m.wasm) >run.out 2>run.err ||
    fail "run: status $?: $(cat run.err)"
[[ -f a/c.img && ! -e a/d/out.txt ]] || fail "the checkpoint did not stop the run before it wrote"
(cd b && "$waft" restore ../a/c.img) >out.txt 2>err.txt && fail "restore without --dir or --keep-dirs succeeded"
grep -qF "(host $(pwd -P)/a/d)" err.txt || fail "the refusal does not name the absolute host directory: $(cat err.txt)"
(cd b && expect_status 0 "$waft" restore --keep-dirs ../a/c.img)
[[ ! -e b/d/out.txt ]] || fail "the restored program wrote into b/d, the directory of the restore"
[[ $(cat a/d/out.txt 2>/dev/null) == hello ]] || fail "a/d/out.txt is missing: the preopen was not a/d"

# The review's case: a directory given through a symlink ("cur" -> A) is recorded as the
# directory itself, so moving the link before the restore does not move the program.
mkdir -p A B
ln -sfn A cur
"$waft" run --dir cur::/d --image k.img --checkpoint-at-step 1000 m.wasm >run.out 2>run.err ||
    fail "run through a link: status $?: $(cat run.err)"
ln -sfn B cur
(cd b && expect_status 0 "$waft" restore --keep-dirs ../k.img)
[[ ! -e B/out.txt ]] || fail "the restored program followed the moved link into B"
[[ $(cat A/out.txt 2>/dev/null) == hello ]] || fail "A/out.txt is missing: the preopen was not A"
