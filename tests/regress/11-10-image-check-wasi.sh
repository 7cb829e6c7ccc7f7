# Issue 11, defect 10 (and the restore message and FIFO parts of defect 14): `waft image
# check` only framed extension records, so WASI records that restore refuses passed it;
# the WASI codec took booleans of 2 and cut paths at a NUL byte. Each forged image below
# (checksums recomputed) must now be refused by both `image check` and `restore`, with one
# line naming the problem; a duplicate descriptor number is named as such (restore used to
# blame "its preopened directory is missing"); and a FIFO put where the program's file was
# must not hang either of them in open(2).
wat 11-10-image-check-wasi.wat m.wasm
mkdir d
printf 'abcdef' >d/f.txt
printf 'other' >d/f # what a path cut at its NUL byte would name
"$waft" run --dir d --image c.img --checkpoint-at-step 1000 m.wasm >run.out 2>run.err ||
    fail "run: status $?: $(cat run.err)"

# forge.py IN OUT MUTATION: rewrites the "wasi" record of image IN into OUT.
cat >forge.py <<'PY'
import struct, sys

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF

class Reader:
    def __init__(self, b): self.b, self.p = b, 0
    def take(self, n):
        v = self.b[self.p:self.p + n]; self.p += n; return v
    def u8(self): return self.take(1)[0]
    def u32(self): return struct.unpack('<I', self.take(4))[0]
    def u64(self): return struct.unpack('<Q', self.take(8))[0]
    def s(self): return self.take(self.u32())

def parse_wasi(b):
    r, st = Reader(b), {}
    for key in ('args', 'env'):
        st[key] = [r.s() for _ in range(r.u32())]
    st['pre'] = [(r.s(), r.s()) for _ in range(r.u32())]
    st['flags'], st['exited'], st['code'] = r.u32(), r.u8(), r.u32()
    st['clocks'] = [r.u64() for _ in range(4)]
    st['fds'] = []
    for _ in range(r.u32()):
        f = dict(fd=r.u32(), kind=r.u8(), ftype=r.u8(), oflags=r.u32(), fdflags=r.u32(),
                 lookup=r.u8(), unlinked=r.u8(), origin=r.u32(), has_path=r.u8())
        f['path'] = r.s() if f['has_path'] else None
        f.update(rb=r.u64(), ri=r.u64(), cookie=r.u64(), has_off=r.u8(), off=r.u64())
        st['fds'].append(f)
    assert r.p == len(b), 'trailing bytes in the wasi record'
    return st

def s(v): return struct.pack('<I', len(v)) + v

def write_wasi(st):
    out = b''
    for key in ('args', 'env'):
        out += struct.pack('<I', len(st[key])) + b''.join(s(x) for x in st[key])
    out += struct.pack('<I', len(st['pre'])) + b''.join(s(g) + s(h) for g, h in st['pre'])
    out += struct.pack('<IBI', st['flags'], st['exited'], st['code'])
    out += struct.pack('<4Q', *st['clocks']) + struct.pack('<I', len(st['fds']))
    for f in st['fds']:
        out += struct.pack('<IBBIIBBIB', f['fd'], f['kind'], f['ftype'], f['oflags'],
                           f['fdflags'], f['lookup'], f['unlinked'], f['origin'], f['has_path'])
        if f['path'] is not None:
            out += s(f['path'])
        out += struct.pack('<QQQBQ', f['rb'], f['ri'], f['cookie'], f['has_off'], f['off'])
    return out

def file_fd(st):
    return next(f for f in st['fds'] if f['path'] == b'f.txt')

mutations = {
    'none': lambda st: None,
    'kind0': lambda st: file_fd(st).update(kind=0),
    'origin': lambda st: file_fd(st).update(origin=0xFFFFFFFF),
    'exited2': lambda st: st.update(exited=2),
    'haspath2': lambda st: file_fd(st).update(has_path=2),
    'nulpath': lambda st: file_fd(st).update(path=b'f\0txt'),
    'dupfd': lambda st: file_fd(st).update(fd=3),
    'escape': lambda st: st.update(pre=[(b'd\x1b[31mred', st['pre'][0][1])]),
}

src, dst, what = sys.argv[1], sys.argv[2], sys.argv[3]
img = open(src, 'rb').read()
out, pos, chain, n = bytearray(img[:32]), 32, crc32c(img[:32]), 0
while pos < len(img):
    tag, ver, flags, stored, raw = struct.unpack('<4sHHQQ', img[pos:pos + 24])
    payload = img[pos + 24:pos + 24 + stored]
    pos += 28 + stored
    assert not flags & 2, 'compressed images are not handled'
    if tag == b'EXTN':
        r = Reader(payload)
        name, xver, body = r.s(), r.u32(), r.s()
        if name == b'wasi':
            if what == 'nargs':
                body = struct.pack('<I', 0xFFFFFFFF) + body[4:]
            elif what == 'name':
                name = b'wasj'
            elif what in mutations:
                st = parse_wasi(body)
                mutations[what](st)
                body = write_wasi(st)
            else:
                sys.exit('unknown mutation ' + what)
        payload = s(name) + struct.pack('<I', xver) + s(body)
    if tag == b'END ':
        payload = struct.pack('<II', chain, n)
    head = struct.pack('<4sHHQQ', tag, ver, flags, len(payload), len(payload))
    crc = struct.pack('<I', crc32c(payload))
    out += head + payload + crc
    chain = crc32c(head, chain)
    chain = crc32c(crc, chain)
    n += 1
open(dst, 'wb').write(out)
PY

# refused MUTATION PATTERN: the forged image fails check and restore, naming PATTERN.
refused()
{
    python3 forge.py c.img x.img "$1" || fail "forge.py $1 failed"
    timeout 20 "$waft" image check x.img >out.txt 2>err.txt
    local st=$?
    [[ $st == 1 ]] || fail "$1: image check exited $st, expected 1; stderr: $(cat err.txt)"
    grep -q -- "$2" err.txt || fail "$1: image check does not say '$2': $(cat err.txt)"
    [[ $(wc -l <err.txt) == 1 ]] || fail "$1: image check printed more than one line: $(cat err.txt)"
    timeout 20 "$waft" restore --dir d x.img >out.txt 2>err.txt
    st=$?
    [[ $st == 1 ]] || fail "$1: restore exited $st, expected 1; stderr: $(cat err.txt)"
    grep -q -- "$2" err.txt || fail "$1: restore does not say '$2': $(cat err.txt)"
    [[ ! -s out.txt ]] || fail "$1: the program ran: $(cat out.txt)"
}

# the forging itself changes nothing: the rewritten image checks and restores
python3 forge.py c.img same.img none || fail "forge.py none failed"
expect_status 0 "$waft" image check same.img
(expect_status 0 "$waft" restore --dir d same.img && [[ $(cat out.txt) == cdef ]]) ||
    fail "the re-sealed image does not restore to print 'cdef': $(cat out.txt err.txt)"

refused kind0 'fd 4 has an unknown kind 0'
refused origin 'fd 4 names preopen 4294967295, which the image lacks'
refused nargs 'count exceeds the record'
refused name 'wasj'
refused exited2 'the exited flag is 2, not 0 or 1'
refused haspath2 'fd 4: the path flag is 2, not 0 or 1'
refused nulpath 'the path of fd 4 holds a NUL byte'
refused dupfd 'fd 3 follows fd 3: descriptors must be listed once each'

# strings of the image reach messages escaped: no terminal control sequence
python3 forge.py c.img x.img escape || fail "forge.py escape failed"
expect_status 0 "$waft" image check x.img
expect_status 1 "$waft" restore --dir d x.img
grep -qF 'the program had directory "d\x1b[31mred"' err.txt ||
    fail "the guest name is not shown escaped: $(cat -v err.txt)"
! grep -q $'\x1b' err.txt || fail "restore printed an escape byte from the image: $(cat -v err.txt)"

# a FIFO in the file's place: check does not open it; restore refuses it, without waiting
rm d/f.txt
mkfifo d/f.txt
timeout 20 "$waft" image check c.img >out.txt 2>err.txt
st=$?
[[ $st == 0 ]] || fail "image check with a FIFO in the file's place: status $st (124: it hung): $(cat err.txt)"
timeout 20 "$waft" restore --dir d c.img >out.txt 2>err.txt
st=$?
[[ $st == 1 ]] || fail "restore with a FIFO in the file's place: status $st, expected 1 (124: it hung): $(cat err.txt)"
grep -q 'fd 4 (file d/f.txt): changed: not the same kind' err.txt ||
    fail "restore with a FIFO: unexpected message: $(cat err.txt)"
