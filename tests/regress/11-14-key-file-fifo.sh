# Issue 11, defect 14's kin, found by the review: a FIFO given as a migration key file hung
# `waft serve` (and `waft migrate`) in open(2). It is refused at once as not a regular file.
mkfifo -m 600 kf
expect_status 1 timeout 10 "$waft" serve --listen 127.0.0.1:0 --key-file kf
grep -q "regular file" err.txt || fail "no clear refusal: $(cat err.txt)"
