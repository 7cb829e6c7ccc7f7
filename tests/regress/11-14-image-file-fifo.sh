# Issue 11, defect 14 (the image file itself): an image path naming a FIFO hung `waft image
# info`, `image check` and `restore` in open(2), waiting for a writer that never comes. They
# must refuse it at once with one line naming the file.
mkfifo f.img || fail "cannot make a FIFO"
for cmd in "image info" "image check" "restore"; do
    # shellcheck disable=SC2086
    timeout 10 "$waft" $cmd f.img >out.txt 2>err.txt
    status=$?
    [[ $status != 124 ]] || fail "waft $cmd on a FIFO hangs"
    [[ $status == 1 ]] || fail "waft $cmd on a FIFO: exit status $status, expected 1: $(cat err.txt)"
    [[ $(wc -l <err.txt) == 1 ]] && grep -q "f.img: .*not a regular file" err.txt ||
        fail "waft $cmd on a FIFO: $(cat err.txt)"
done
