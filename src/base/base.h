/* SPDX-License-Identifier: MIT */
/* base.h - allocator with accounting, bounded byte reader, LEB128, little-endian access.
 *
 * Invariants:
 *  - Every allocation goes through a base_alloc, which counts live bytes and enforces its
 *    limit; base_alloc_used() is 0 again once everything is freed.
 *  - A base_reader never reads outside [start, end); on the first failure it records an
 *    error (sticky) and every later read returns 0.
 *  - Wasm values in memory are little-endian on every host (base_load/base_store*).
 */
#ifndef WAFT_BASE_H
#define WAFT_BASE_H

#include <waft/waft.h>

#include "base/le.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WAFT_INTERNAL

#ifdef WAFT_NDEBUG_ASSERT
#define WAFT_ASSERT(c) ((void)0)
#else
#include <assert.h>
#define WAFT_ASSERT(c) assert(c)
#endif

#if defined(__GNUC__)
#define WAFT_LIKELY(x)     __builtin_expect(!!(x), 1)
#define WAFT_UNLIKELY(x)   __builtin_expect(!!(x), 0)
#define WAFT_NOINLINE      __attribute__((noinline))
#define WAFT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define WAFT_LIKELY(x)   (x)
#define WAFT_UNLIKELY(x) (x)
#define WAFT_NOINLINE
#define WAFT_ALWAYS_INLINE inline
#endif

/* ==== Allocator ==== */

/* Counted allocator. Each block carries a small header with its size, so callers free
 * without remembering sizes. */
typedef struct base_alloc {
    waft_alloc_fn fn; /* [derived] host hook */
    void *ud;         /* [derived] */
    size_t used;      /* [derived] live bytes, headers included */
    size_t limit;     /* [derived] 0 = none */
} base_alloc;

WAFT_INTERNAL void base_alloc_init(base_alloc *a, waft_alloc_fn fn, void *ud, size_t limit);
/* Returns NULL on failure or when the limit would be passed. */
WAFT_INTERNAL void *base_malloc(base_alloc *a, size_t n);
WAFT_INTERNAL void *base_calloc(base_alloc *a, size_t count, size_t size);
/* Resizes; on failure returns NULL and leaves `p` untouched. */
WAFT_INTERNAL void *base_realloc(base_alloc *a, void *p, size_t n);
WAFT_INTERNAL void base_free(base_alloc *a, void *p);
/* Grows *p (an array of `elem` byte elements with capacity *cap) to hold `need`. */
WAFT_INTERNAL bool base_grow(base_alloc *a, void **p, uint32_t *cap, uint32_t need, size_t elem);
WAFT_INTERNAL char *base_strndup(base_alloc *a, const char *s, size_t n);

/* ==== Bounded reader ==== */

typedef struct base_reader {
    const uint8_t *base; /* start of the whole buffer (for offsets in errors) */
    const uint8_t *p;
    const uint8_t *end;
    bool failed;
    const char *why; /* first failure, static text */
    size_t fail_at;  /* offset of the first failure */
} base_reader;

WAFT_INTERNAL void base_reader_init(base_reader *r, const uint8_t *base, const uint8_t *p,
                                    const uint8_t *end);
WAFT_INTERNAL void base_reader_fail(base_reader *r, const char *why);
static inline size_t base_reader_offset(const base_reader *r)
{
    return (size_t)(r->p - r->base);
}
static inline size_t base_reader_left(const base_reader *r)
{
    return (size_t)(r->end - r->p);
}
WAFT_INTERNAL uint8_t base_read_u8(base_reader *r);
WAFT_INTERNAL uint32_t base_read_u32(base_reader *r); /* unsigned LEB128, <= 5 bytes */
WAFT_INTERNAL int32_t base_read_s32(base_reader *r);  /* signed LEB128, <= 5 bytes */
WAFT_INTERNAL int64_t base_read_s64(base_reader *r);  /* signed LEB128, <= 10 bytes */
WAFT_INTERNAL int64_t base_read_s33(base_reader *r);  /* signed LEB128, <= 5 bytes (block types) */
WAFT_INTERNAL uint32_t base_read_fixed32(base_reader *r);
WAFT_INTERNAL uint64_t base_read_fixed64(base_reader *r);
/* Returns a pointer to the next n bytes and skips them, or NULL. */
WAFT_INTERNAL const uint8_t *base_read_bytes(base_reader *r, size_t n);
/* True if [s, s+n) is valid UTF-8 (no surrogates, no overlongs). */
WAFT_INTERNAL bool base_utf8_valid(const uint8_t *s, size_t n);

/* Little-endian loads and stores (base_load16/32/64, base_store16/32/64): base/le.h. */

/* Fills a waft_error (NULL-safe) with printf-style text. */
WAFT_INTERNAL void base_error_set(waft_error *err, waft_result code, int64_t offset, int64_t func,
                                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#endif
