#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# garble.py - feeds a `waft serve` damaged migration streams (a protocol fuzzer).
#
#   usage: garble.py PORT RECORDED_STREAM COUNT SEED
#
# Takes a recorded source->destination stream of a real migration, splits it into frames,
# and sends COUNT damaged versions, one connection each: bits flipped anywhere; frames
# dropped, repeated or swapped; truncation; random bytes; and frames whose payload is
# damaged but whose CRC is recomputed, so that the damage reaches the parsers behind the
# checksum (handshake fields, module, page numbers, the state image). Answers are read and
# thrown away. The caller checks that the server survived and reported no sanitizer error.
import random
import socket
import struct
import sys

port, path, count, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
stream = open(path, "rb").read()

POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def frames(buf):
    out, pos = [], 0
    while pos + 16 <= len(buf):
        n = struct.unpack_from("<I", buf, pos + 8)[0]
        out.append(bytearray(buf[pos:pos + 16 + n]))
        pos += 16 + n
    return out


def reseal(fr):
    n = len(fr) - 16
    struct.pack_into("<I", fr, 8, n)
    crc = crc32c(bytes(fr[16:]), crc32c(bytes(fr[:12])))
    struct.pack_into("<I", fr, 12, crc)
    return fr


def damage_payload(fr):
    fr = bytearray(fr)
    if len(fr) > 16:
        kind = rng.randrange(4)
        if kind == 0:  # flip bits
            for _ in range(rng.randrange(1, 9)):
                i = rng.randrange(16, len(fr))
                fr[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # extreme little-endian words
            i = rng.randrange(16, max(17, len(fr) - 8))
            struct.pack_into("<Q", fr, min(i, len(fr) - 8) if len(fr) >= 24 else 16,
                             rng.choice([0, 1, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 1 << 31,
                                         1 << 32, 65536, 65537])) if len(fr) >= 24 else None
        elif kind == 2:  # shorter
            del fr[rng.randrange(16, len(fr)):]
        else:  # longer
            fr += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    if rng.random() < 0.2:
        fr[4] = rng.randrange(0, 20)  # another type
    return reseal(fr)


base = frames(stream)
if not base:
    sys.exit("garble: no frames in " + path)


def mutant():
    fs = [bytearray(f) for f in base]
    kind = rng.randrange(7)
    if kind == 0:  # raw bit flips over the whole stream
        raw = bytearray(b"".join(fs))
        for _ in range(rng.randrange(1, 17)):
            i = rng.randrange(len(raw))
            raw[i] ^= 1 << rng.randrange(8)
        return bytes(raw)
    if kind == 1:  # cut short
        raw = b"".join(fs)
        return raw[:rng.randrange(len(raw))]
    if kind == 2:  # random bytes
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4096)))
    if kind == 3:  # drop, repeat or swap frames (valid CRCs, wrong order)
        for _ in range(rng.randrange(1, 4)):
            i, j = rng.randrange(len(fs)), rng.randrange(len(fs))
            op = rng.randrange(3)
            if op == 0 and len(fs) > 1:
                del fs[i]
            elif op == 1:
                fs.insert(j, bytearray(fs[i]))
            else:
                fs[i], fs[j] = fs[j], fs[i]
        return b"".join(fs)
    # kind 4-6: damage behind a recomputed CRC, in one to three frames
    for _ in range(rng.randrange(1, 4)):
        i = rng.randrange(len(fs))
        fs[i] = damage_payload(fs[i])
    return b"".join(fs)


for k in range(count):
    data = mutant()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.settimeout(0.5)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except OSError:
            pass
        s.close()
    except OSError as e:
        sys.exit("garble: connection %d: %s" % (k, e))
print("garble: %d damaged streams sent" % count)
