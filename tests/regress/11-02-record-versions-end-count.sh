# Issue 11, defect 2: record versions and the END record's count were never checked: an
# image with every record's version set to 7 and an END count of 999 (checksums
# recomputed) passed `waft image check` and restored. Both must refuse such images with one
# line naming the record.
cat >m.wat <<'WAT'
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32)
    (loop $count
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (i32.const 200000))))
    (call $exit (i32.const 0))))
WAT
wat m.wat m.wasm
expect_status 0 "$waft" run --image c.img --checkpoint-at-step 1000 m.wasm
# forge OUT VERSION COUNT: c.img with every record at VERSION (or unchanged if -) and END's
# count set to COUNT (or unchanged if -), checksums recomputed
forge()
{
    python3 - "$@" <<'PY' || fail "cannot forge the image"
import struct, sys
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
out, version, count = sys.argv[1:4]
img = bytearray(open("c.img", "rb").read())
pos, chain = 32, crc32c(img[:32])
while pos < len(img):
    stored = struct.unpack_from("<Q", img, pos + 8)[0]
    body = pos + 24
    if version != "-":
        struct.pack_into("<H", img, pos + 4, int(version))
    if img[pos:pos + 4] == b"END ":
        struct.pack_into("<I", img, body, chain)
        if count != "-":
            struct.pack_into("<I", img, body + 4, int(count))
    struct.pack_into("<I", img, body + stored, crc32c(img[body:body + stored]))
    chain = crc32c(img[pos:pos + 24], chain)
    chain = crc32c(img[body + stored:body + stored + 4], chain)
    pos = body + stored + 4
open(out, "wb").write(img)
PY
}
# refused FILE PATTERN: image check and restore both refuse FILE with one line matching
refused()
{
    local cmd
    for cmd in "image check" restore; do
        # shellcheck disable=SC2086
        expect_status 1 "$waft" $cmd "$1"
        [[ $(wc -l <err.txt) == 1 ]] && grep -qE "$2" err.txt ||
            fail "waft $cmd $1: expected one line matching '$2', got: $(cat err.txt)"
    done
}
forge same.img - -
expect_status 0 "$waft" image check same.img # the forgery itself is sound
forge v7.img 7 999
refused v7.img "record MODL: version 7 is not supported"
forge end.img - 999
refused end.img "record END : count 999, but [0-9]+ records come before it"
