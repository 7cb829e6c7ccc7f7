/* SPDX-License-Identifier: MIT */
/* codec.c - symmetric little-endian codec, CRC-32C (hardware where available), SHA-256. */
#include "base/codec.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/crc32c_table.h"

/* ==== Codec ==== */

void codec_init_writer(base_codec *c, base_alloc *a)
{
    memset(c, 0, sizeof *c);
    c->writing = true;
    c->alloc = a;
}

void codec_init_reader(base_codec *c, base_alloc *a, const uint8_t *in, size_t len,
                       size_t alloc_budget)
{
    memset(c, 0, sizeof *c);
    c->alloc = a;
    c->in = in;
    c->in_len = len;
    c->alloc_budget = alloc_budget;
}

void codec_free(base_codec *c)
{
    if (c->writing) {
        base_free(c->alloc, c->buf);
        base_free(c->alloc, c->pieces);
    }
    c->buf = NULL;
    c->pieces = NULL;
    c->len = c->cap = 0;
    c->npieces = c->cap_pieces = 0;
}

static void add_piece(base_codec *c, const uint8_t *ext, size_t off, size_t len)
{
    if (c->failed || len == 0)
        return;
    if (!base_grow(c->alloc, (void **)&c->pieces, &c->cap_pieces, c->npieces + 1,
                   sizeof *c->pieces)) {
        codec_fail(c, "out of memory");
        return;
    }
    c->pieces[c->npieces].ext = ext;
    c->pieces[c->npieces].off = off;
    c->pieces[c->npieces].len = len;
    c->pieces[c->npieces].has_crc = false;
    c->pieces[c->npieces].crc = 0;
    c->npieces++;
}

static size_t ext_bytes(const base_codec *c)
{
    size_t n = 0;
    for (uint32_t i = 0; i < c->npieces; i++)
        if (c->pieces[i].ext)
            n += c->pieces[i].len;
    return n;
}

const uint8_t *codec_span_ext(base_codec *c, const void *p, size_t n)
{
    if (!c->writing)
        return codec_span(c, p, n);
    if (c->failed)
        return NULL;
    add_piece(c, NULL, c->mark, c->len - c->mark);
    c->mark = c->len;
    add_piece(c, p, 0, n);
    return p;
}

const uint8_t *codec_span_ext_crc(base_codec *c, const void *p, size_t n, uint32_t crc)
{
    uint32_t before = c->npieces;
    const uint8_t *r = codec_span_ext(c, p, n);
    if (c->writing && !c->failed && c->npieces > before && c->pieces[c->npieces - 1].ext == p) {
        c->pieces[c->npieces - 1].has_crc = true;
        c->pieces[c->npieces - 1].crc = crc;
    }
    return r;
}

void codec_pieces_close(base_codec *c)
{
    add_piece(c, NULL, c->mark, c->len - c->mark);
    c->mark = c->len;
}

size_t codec_written(const base_codec *c)
{
    return c->len + ext_bytes(c);
}

void codec_fail(base_codec *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    c->fail_pos = c->writing ? c->len : c->pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
}

static uint8_t *wr(base_codec *c, size_t n)
{
    if (c->failed)
        return NULL;
    if (n > c->cap - c->len) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap - c->len < n) {
            if (cap > SIZE_MAX / 2) {
                codec_fail(c, "image too large");
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *b = base_realloc(c->alloc, c->buf, cap);
        if (!b) {
            codec_fail(c, "out of memory");
            return NULL;
        }
        c->buf = b;
        c->cap = cap;
    }
    uint8_t *p = c->buf + c->len;
    c->len += n;
    return p;
}

static const uint8_t *rd(base_codec *c, size_t n)
{
    if (c->failed)
        return NULL;
    if (n > c->in_len - c->pos) {
        codec_fail(c, "truncated: %zu bytes needed at offset %zu, %zu left", n, c->pos,
                   c->in_len - c->pos);
        return NULL;
    }
    const uint8_t *p = c->in + c->pos;
    c->pos += n;
    return p;
}

void codec_u8(base_codec *c, uint8_t *v)
{
    if (c->writing) {
        uint8_t *p = wr(c, 1);
        if (p)
            *p = *v;
    } else {
        const uint8_t *p = rd(c, 1);
        *v = p ? *p : 0;
    }
}

void codec_u16(base_codec *c, uint16_t *v)
{
    if (c->writing) {
        uint8_t *p = wr(c, 2);
        if (p)
            base_store16(p, *v);
    } else {
        const uint8_t *p = rd(c, 2);
        *v = p ? base_load16(p) : 0;
    }
}

void codec_u32(base_codec *c, uint32_t *v)
{
    if (c->writing) {
        uint8_t *p = wr(c, 4);
        if (p)
            base_store32(p, *v);
    } else {
        const uint8_t *p = rd(c, 4);
        *v = p ? base_load32(p) : 0;
    }
}

void codec_u64(base_codec *c, uint64_t *v)
{
    if (c->writing) {
        uint8_t *p = wr(c, 8);
        if (p)
            base_store64(p, *v);
    } else {
        const uint8_t *p = rd(c, 8);
        *v = p ? base_load64(p) : 0;
    }
}

void codec_bool(base_codec *c, bool *v)
{
    uint8_t b = *v ? 1 : 0;
    codec_u8(c, &b);
    if (!c->writing) {
        if (b > 1)
            codec_fail(c, "boolean field holds %u at offset %zu", b, c->pos - 1);
        *v = b == 1;
    }
}

void codec_raw(base_codec *c, void *p, size_t n)
{
    if (c->writing) {
        uint8_t *d = wr(c, n);
        if (d && n)
            memcpy(d, p, n);
    } else {
        const uint8_t *s = rd(c, n);
        if (s && n)
            memcpy(p, s, n);
        else if (n)
            memset(p, 0, n);
    }
}

const uint8_t *codec_span(base_codec *c, const void *p, size_t n)
{
    if (c->writing) {
        uint8_t *d = wr(c, n);
        if (d && n)
            memcpy(d, p, n);
        return d;
    }
    return rd(c, n);
}

bool codec_charge(base_codec *c, uint64_t n)
{
    if (c->writing || c->failed)
        return !c->failed;
    if (n > c->alloc_budget) {
        codec_fail(c, "image asks for %llu bytes, more than allowed", (unsigned long long)n);
        return false;
    }
    c->alloc_budget -= (size_t)n;
    return true;
}

const uint8_t *codec_blob_read(base_codec *c, uint32_t *len, uint32_t max)
{
    codec_u32(c, len);
    if (c->failed)
        return NULL;
    if (*len > max || *len > c->in_len - c->pos) {
        codec_fail(c, "string of %u bytes at offset %zu is too long", *len, c->pos);
        return NULL;
    }
    if (!codec_charge(c, (uint64_t)*len + 1))
        return NULL;
    return rd(c, *len); /* reading only */
}

void codec_blob(base_codec *c, uint8_t **p, uint32_t *len, uint32_t max)
{
    if (c->writing) {
        codec_u32(c, len);
        codec_raw(c, *p, *len);
        return;
    }
    *p = NULL;
    const uint8_t *in = codec_blob_read(c, len, max);
    if (!in)
        return;
    *p = base_malloc(c->alloc, (size_t)*len + 1);
    if (!*p) {
        codec_fail(c, "out of memory");
        return;
    }
    memcpy(*p, in, *len);
    (*p)[*len] = 0;
}

bool codec_at_end(const base_codec *c)
{
    return !c->writing && c->pos == c->in_len;
}

/* ==== CRC-32C ==== */

static uint32_t crc32c_soft(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                             ((uint32_t)p[3] << 24));
        uint32_t hi = (uint32_t)p[4] | ((uint32_t)p[5] << 8) | ((uint32_t)p[6] << 16) |
                      ((uint32_t)p[7] << 24);
        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
              crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
              crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
              crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(WAFT_NO_HW_CRC)
#define WAFT_HW_CRC 1
/* The crc32 instruction takes 3 cycles and can start one per cycle: three lanes over three
 * thirds of each block keep it busy, and their registers are joined by multiplying with
 * x^(8 * lane bytes) (crc32c_lane_shift). Lane length: a 4 KiB page is one block. */
#define CRC_LANE 1360u
static uint32_t crc32c_lane_shift[2]; /* x^(8*CRC_LANE), x^(16*CRC_LANE); 0 until computed */

static uint32_t gf2_mul(uint32_t a, uint32_t b);

__attribute__((target("sse4.2"))) static uint64_t crc32c_hw_run(uint64_t c, const uint8_t *p,
                                                                size_t n)
{
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t n)
{
    uint64_t c = (uint32_t)~crc;
    if (n >= 3 * CRC_LANE) {
        uint32_t s1 = __atomic_load_n(&crc32c_lane_shift[0], __ATOMIC_RELAXED);
        uint32_t s2 = __atomic_load_n(&crc32c_lane_shift[1], __ATOMIC_RELAXED);
        if (!s1 || !s2) { /* racing first callers compute the same values */
            s1 = base_crc32c_factor(CRC_LANE);
            s2 = base_crc32c_factor(2 * CRC_LANE);
            __atomic_store_n(&crc32c_lane_shift[0], s1, __ATOMIC_RELAXED);
            __atomic_store_n(&crc32c_lane_shift[1], s2, __ATOMIC_RELAXED);
        }
        while (n >= 3 * CRC_LANE) {
            uint64_t c1 = 0, c2 = 0;
            for (size_t i = 0; i < CRC_LANE; i += 8) {
                uint64_t v0, v1, v2;
                memcpy(&v0, p + i, 8);
                memcpy(&v1, p + CRC_LANE + i, 8);
                memcpy(&v2, p + 2 * CRC_LANE + i, 8);
                c = __builtin_ia32_crc32di(c, v0);
                c1 = __builtin_ia32_crc32di(c1, v1);
                c2 = __builtin_ia32_crc32di(c2, v2);
            }
            c = gf2_mul((uint32_t)c, s2) ^ gf2_mul((uint32_t)c1, s1) ^ (uint32_t)c2;
            p += 3 * CRC_LANE;
            n -= 3 * CRC_LANE;
        }
    }
    return ~(uint32_t)crc32c_hw_run(c, p, n);
}
#endif

uint32_t base_crc32c(uint32_t crc, const void *p, size_t n)
{
#if defined(WAFT_HW_CRC)
    if (__builtin_cpu_supports("sse4.2"))
        return crc32c_hw(crc, p, n);
#endif
    return crc32c_soft(crc, p, n);
}

/* CRC-32C of A||B from crc(A), crc(B) and |B|: crc(A) times x^(8|B|), plus crc(B), in
 * GF(2)[x] modulo the polynomial. Reflected representation, as in the table: bit 31 is the
 * coefficient of x^0. The pre- and post-conditioning cancel out (as in zlib's combine). */
#define CRC32C_POLY 0x82F63B78u

/* Branch-free: the bits of `a` are data, and a mispredicted branch per bit costs more than
 * the masks. */
static uint32_t gf2_mul(uint32_t a, uint32_t b)
{
    uint32_t prod = 0;
    for (int k = 31; k >= 0; k--) {
        prod ^= b & (0u - ((a >> k) & 1u));
        b = (b >> 1) ^ (CRC32C_POLY & (0u - (b & 1u))); /* b times x */
    }
    return prod;
}

uint32_t base_crc32c_factor(uint64_t len_b)
{
    uint32_t factor = 1u << 31, sq = 1u << 23; /* x^0; x^8 (one byte) */
    for (; len_b; len_b >>= 1) {
        if (len_b & 1)
            factor = gf2_mul(factor, sq);
        sq = gf2_mul(sq, sq);
    }
    return factor;
}

uint32_t base_crc32c_combine_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor)
{
    return gf2_mul(crc_a, factor) ^ crc_b;
}

uint32_t base_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return base_crc32c_combine_by(crc_a, crc_b, base_crc32c_factor(len_b));
}

/* ==== SHA-256 ==== */

static const uint32_t sha_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha_block(base_sha256 *s, const uint8_t *b)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = ((uint32_t)b[4 * i] << 24) | ((uint32_t)b[4 * i + 1] << 16) |
               ((uint32_t)b[4 * i + 2] << 8) | b[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], bb = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha_k[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = bb;
        bb = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += bb;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

void base_sha256_init(base_sha256 *s)
{
    static const uint32_t iv[8] = { 0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u };
    memcpy(s->h, iv, sizeof iv);
    s->total = 0;
    s->used = 0;
}

void base_sha256_update(base_sha256 *s, const void *p, size_t n)
{
    const uint8_t *b = p;
    s->total += n;
    while (n) {
        if (s->used == 0 && n >= 64) {
            sha_block(s, b);
            b += 64;
            n -= 64;
            continue;
        }
        uint32_t take = 64 - s->used;
        if (take > n)
            take = (uint32_t)n;
        memcpy(s->block + s->used, b, take);
        s->used += take;
        b += take;
        n -= take;
        if (s->used == 64) {
            sha_block(s, s->block);
            s->used = 0;
        }
    }
}

void base_sha256_final(base_sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->total * 8;
    uint8_t pad = 0x80;
    base_sha256_update(s, &pad, 1);
    uint8_t zero = 0;
    while (s->used != 56)
        base_sha256_update(s, &zero, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    base_sha256_update(s, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}
