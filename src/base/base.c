/* SPDX-License-Identifier: MIT */
/* base.c - counted allocator, bounded reader, LEB128, UTF-8 check, error records. */
#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ==== Allocator ==== */

/* Header before each block: its total size, padded to keep 16-byte alignment. */
typedef union alloc_header {
    size_t size;
    max_align_t align_;
} alloc_header;

static void *libc_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

void base_alloc_init(base_alloc *a, waft_alloc_fn fn, void *ud, size_t limit)
{
    a->fn = fn ? fn : libc_alloc;
    a->ud = ud;
    a->used = 0;
    a->limit = limit;
}

void *base_realloc(base_alloc *a, void *p, size_t n)
{
    size_t old = 0;
    alloc_header *h = NULL;
    if (p) {
        h = (alloc_header *)p - 1;
        old = h->size;
    }
    if (n > SIZE_MAX - sizeof(alloc_header))
        return NULL;
    size_t total = n + sizeof(alloc_header);
    if (a->limit && total > old && a->used - old + total > a->limit)
        return NULL;
    alloc_header *nh = a->fn(a->ud, h, old, total);
    if (!nh)
        return NULL;
    a->used = a->used - old + total;
    nh->size = total;
    return nh + 1;
}

void *base_malloc(base_alloc *a, size_t n)
{
    return base_realloc(a, NULL, n);
}

void *base_calloc(base_alloc *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = base_realloc(a, NULL, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void base_free(base_alloc *a, void *p)
{
    if (!p)
        return;
    alloc_header *h = (alloc_header *)p - 1;
    a->used -= h->size;
    a->fn(a->ud, h, h->size, 0);
}

bool base_grow(base_alloc *a, void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t n = *cap ? (uint64_t)*cap * 2 : 8;
    if (n < need)
        n = need;
    if (n > UINT32_MAX)
        n = UINT32_MAX;
    if ((uint64_t)n * elem > SIZE_MAX / 2)
        return false;
    void *np = base_realloc(a, *p, (size_t)n * elem);
    if (!np)
        return false;
    *p = np;
    *cap = (uint32_t)n;
    return true;
}

char *base_strndup(base_alloc *a, const char *s, size_t n)
{
    char *d = base_malloc(a, n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* ==== Reader ==== */

void base_reader_init(base_reader *r, const uint8_t *base, const uint8_t *p, const uint8_t *end)
{
    r->base = base;
    r->p = p;
    r->end = end;
    r->failed = false;
    r->why = NULL;
    r->fail_at = 0;
}

void base_reader_fail(base_reader *r, const char *why)
{
    if (!r->failed) {
        r->failed = true;
        r->why = why;
        r->fail_at = base_reader_offset(r);
    }
    r->p = r->end;
}

uint8_t base_read_u8(base_reader *r)
{
    if (r->p >= r->end) {
        base_reader_fail(r, "unexpected end");
        return 0;
    }
    return *r->p++;
}

/* Reads an unsigned LEB128 of at most `bits` bits (spec 5.2.2: unused bits of the last byte
 * must be zero; at most ceil(bits/7) bytes). */
static uint64_t read_uleb(base_reader *r, unsigned bits)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        if (r->p >= r->end) {
            base_reader_fail(r, "unexpected end");
            return 0;
        }
        uint8_t b = *r->p++;
        if (shift + 7 >= bits) {
            /* last byte allowed: no continuation, unused bits zero */
            if (b & 0x80) {
                base_reader_fail(r, "integer representation too long");
                return 0;
            }
            unsigned used = bits - shift;
            if (used < 7 && (b >> used) != 0) {
                base_reader_fail(r, "integer too large");
                return 0;
            }
            return v | ((uint64_t)b << shift);
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            return v;
    }
}

static int64_t read_sleb(base_reader *r, unsigned bits)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        if (r->p >= r->end) {
            base_reader_fail(r, "unexpected end");
            return 0;
        }
        uint8_t b = *r->p++;
        if (shift + 7 >= bits) {
            if (b & 0x80) {
                base_reader_fail(r, "integer representation too long");
                return 0;
            }
            /* the unused bits must all equal the sign bit */
            unsigned used = bits - shift; /* 1..7 */
            int sign = (b >> (used - 1)) & 1;
            uint8_t rest = (uint8_t)(b >> used);
            uint8_t want = sign ? (uint8_t)(0x7f >> used) : 0;
            if (used < 7 && rest != want) {
                base_reader_fail(r, "integer too large");
                return 0;
            }
            v |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            if (shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            return (int64_t)v;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            return (int64_t)v;
        }
    }
}

uint32_t base_read_u32(base_reader *r)
{
    return (uint32_t)read_uleb(r, 32);
}

int32_t base_read_s32(base_reader *r)
{
    return (int32_t)read_sleb(r, 32);
}

int64_t base_read_s33(base_reader *r)
{
    return read_sleb(r, 33);
}

int64_t base_read_s64(base_reader *r)
{
    return read_sleb(r, 64);
}

uint32_t base_read_fixed32(base_reader *r)
{
    const uint8_t *p = base_read_bytes(r, 4);
    return p ? base_load32(p) : 0;
}

uint64_t base_read_fixed64(base_reader *r)
{
    const uint8_t *p = base_read_bytes(r, 8);
    return p ? base_load64(p) : 0;
}

const uint8_t *base_read_bytes(base_reader *r, size_t n)
{
    if (n > base_reader_left(r)) {
        base_reader_fail(r, "unexpected end");
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

bool base_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t len;
        if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f;
            len = 2;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f;
            len = 3;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07;
            len = 4;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return false; /* overlong */
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

void base_error_set(waft_error *err, waft_result code, int64_t offset, int64_t func,
                    const char *fmt, ...)
{
    if (!err)
        return;
    err->code = code;
    err->offset = offset;
    err->func = func;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}
