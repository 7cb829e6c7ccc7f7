# Issue 11, defect 14 (image part): the name of an extension record comes from the image,
# and `waft image info` (text and JSON) and restore's refusal printed it raw: terminal
# escape sequences and newlines went through. The name is renamed here, in an image whose
# checksums are then recomputed, to ESC "[2J" (clear screen) and to "wa" LF "i".
wat 11-14-extension-name-escaped.wat m.wasm
expect_status 0 "$waft" run --image c.img --checkpoint-at-step 1000 m.wasm
# rename NAME: copies c.img to n.img with the "wasi" extension record renamed to NAME (4
# bytes, given as a Python bytes literal) and every checksum recomputed
rename()
{
    python3 - "$1" <<'PY' || fail "cannot forge the image"
import ast, struct, sys
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
img = bytearray(open("c.img", "rb").read())
name = ast.literal_eval(sys.argv[1])
pos, chain, found = 32, crc32c(img[:32]), False
while pos < len(img):
    tag, stored = img[pos:pos + 4], struct.unpack_from("<Q", img, pos + 8)[0]
    body = pos + 24
    if tag == b"EXTN" and img[body:body + 8] == b"\x04\x00\x00\x00wasi":
        img[body + 4:body + 8] = name
        found = True
    if tag == b"END ":
        struct.pack_into("<I", img, body, chain)
    struct.pack_into("<I", img, body + stored, crc32c(img[body:body + stored]))
    chain = crc32c(img[pos:pos + 24], chain)
    chain = crc32c(img[body + stored:body + stored + 4], chain)
    pos = body + stored + 4
if not found:
    sys.exit("no uncompressed EXTN record named wasi")
open("n.img", "wb").write(img)
PY
}
# no_raw WHAT FILE: FILE must hold no ESC byte and no line break inside the name
no_raw()
{
    if LC_ALL=C grep -q $'\x1b' "$2"; then
        fail "$1 printed a raw ESC: $(od -c "$2" | head -5)"
    fi
}
rename 'b"\x1b[2J"'
expect_status 0 "$waft" image info n.img
no_raw "image info" out.txt
grep -qF 'extension  \x1b[2J version' out.txt || fail "image info: name not escaped: $(cat out.txt)"
expect_status 0 "$waft" image info --json n.img
no_raw "image info --json" out.txt
grep -qF '"name":"\u001b[2J"' out.txt || fail "image info --json: name not escaped: $(cat out.txt)"
expect_status 1 "$waft" restore n.img
no_raw "restore" err.txt
grep -qF '\x1b[2J' err.txt || fail "restore: the refusal does not name the record escaped: $(cat err.txt)"
# (whether check accepts an extension it cannot read is defect 10's business; here only
# that whatever it prints is escaped)
"$waft" image check n.img >out.txt 2>err.txt
no_raw "image check" out.txt
no_raw "image check" err.txt
rename 'b"wa\ni"'
expect_status 0 "$waft" image info n.img
grep -qF 'extension  wa\x0ai version' out.txt || fail "image info: newline not escaped: $(cat out.txt)"
expect_status 1 "$waft" restore n.img
[[ $(wc -l <err.txt) == 1 ]] || fail "restore: the refusal is not one line: $(cat err.txt)"
grep -qF 'wa\x0ai' err.txt || fail "restore: newline not escaped: $(cat err.txt)"
