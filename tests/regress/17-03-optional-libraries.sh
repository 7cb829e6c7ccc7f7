# Issue 17: libzstd and libcrypto are loaded when first needed, not at start-up: a plain
# run maps neither; --compress loads libzstd. When one cannot be loaded (here: a broken
# file of its name first on LD_LIBRARY_PATH), what needs it says so in one line: a
# compressed image is refused, --compress warns and writes the image uncompressed (it
# restores), a key is refused.
wat 17-01-restore-by-mapping.wat m.wasm
export XDG_RUNTIME_DIR=$PWD/xdg
mkdir -m 700 xdg
printf '(module (func (export "_start")))' >empty.wat
wat empty.wat

# LD_DEBUG=files: the dynamic loader names every object it maps
LD_DEBUG=files "$waft" run empty.wasm >/dev/null 2>ld.txt || fail "empty module: $(tail -3 ld.txt)"
grep -q "file=libc.so" ld.txt || fail "LD_DEBUG=files told nothing: $(head -3 ld.txt)"
! grep -Eq "file=(libzstd|libcrypto)" ld.txt || fail "a plain run loaded: $(grep -E 'file=(libzstd|libcrypto)' ld.txt)"
LD_DEBUG=files "$waft" run --compress --image c.img --checkpoint-at-step 1000 m.wasm >/dev/null 2>ld.txt
grep -q "file=libzstd" ld.txt || fail "--compress did not load libzstd"
"$waft" image info c.img >info.txt 2>&1
grep -q zstd info.txt || fail "the image is not compressed: $(head -1 info.txt)"

mkdir broken
: >broken/libzstd.so.1
: >broken/libcrypto.so.3
export LD_LIBRARY_PATH=$PWD/broken
expect_status 1 "$waft" restore c.img
[[ $(wc -l <err.txt) == 1 ]] || fail "compressed image without libzstd: not one line: $(cat err.txt)"
grep -q "is compressed, but libzstd cannot be loaded: .*libzstd.so.1" err.txt ||
    fail "compressed image without libzstd: $(cat err.txt)"

"$waft" run --compress --image u.img --checkpoint-at-step 1000 m.wasm >/dev/null 2>err.txt ||
    fail "--compress without libzstd failed: $(cat err.txt)"
grep -q "^waft: --compress: libzstd cannot be loaded: .*; images are written uncompressed\$" err.txt ||
    fail "--compress without libzstd said: $(cat err.txt)"
"$waft" run m.wasm >/dev/null 2>&1
want=$?
"$waft" restore u.img >/dev/null 2>err.txt
got=$?
[[ $got == "$want" ]] || fail "the uncompressed image exited $got, want $want: $(cat err.txt)"

head -c 32 /dev/urandom >key
chmod 600 key
expect_status 1 "$waft" serve --listen 127.0.0.1:0 --key-file key
grep -q "key: keys need libcrypto, which cannot be loaded: .*libcrypto.so.3" err.txt ||
    fail "a key without libcrypto: $(cat err.txt)"
