# 11-05: an image written with --compress must restore however well its memory compresses
# (the reader used to cap a record's uncompressed size at 4 x the file size + 1 MiB, and
# refused this image after the program had already stopped: the state was lost).
wat 11-05-compressed-image-restores.wat z.wasm
if ! "$waft" run --help | grep -q -- --compress; then
    fail "this waft has no --compress"
fi
expect_status 0 "$waft" run --compress --image c.img --checkpoint-at-step 2000000 z.wasm
[[ -s c.img ]] || fail "no image written"
"$waft" image info c.img >info.txt 2>err.txt || fail "image info refused the image: $(cat err.txt)"
grep -q zstd info.txt || fail "the image is not compressed (built without zstd?): $(head -1 info.txt)"
size=$(stat -c %s c.img)
((size < 1048576)) || fail "image of $size bytes is not small: the case needs 4 MiB to compress well"
expect_status 0 "$waft" image check c.img
expect_status 7 "$waft" restore c.img
