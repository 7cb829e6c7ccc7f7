/* SPDX-License-Identifier: MIT */
/* codec.h - symmetric binary codec, CRC-32C and SHA-256.
 *
 * One codec function per record describes its fields once; run with a writing codec it
 * serializes, with a reading codec it parses into the same variables. So writer and reader
 * cannot drift apart.
 *
 * Invariants:
 *  - Every integer is little-endian on the wire, whatever the host.
 *  - Errors are sticky: after the first failure every operation is a no-op and reads yield
 *    zeros; the first failure's text and byte position are kept.
 *  - A reading codec never reads outside its buffer and never allocates more than
 *    `limit` bytes in total on behalf of its input (hostile lengths).
 */
#ifndef WAFT_CODEC_H
#define WAFT_CODEC_H

#include "base/base.h"

/* A piece of a written payload: `len` bytes either of the codec's buffer at `off` (ext
 * NULL) or of external memory at `ext` (codec_span_ext: referenced, not copied). */
typedef struct codec_piece {
    const uint8_t *ext;
    size_t off;
    size_t len;
    bool has_crc; /* ext pieces: `crc` is the CRC-32C of the bytes (codec_span_ext_crc) */
    uint32_t crc;
} codec_piece;

struct waft_codec {
    bool writing;
    /* writing: growable buffer, plus the piece list once external spans are used */
    uint8_t *buf;
    size_t len, cap;
    codec_piece *pieces;
    uint32_t npieces, cap_pieces;
    size_t mark; /* buffer bytes before this are already in pieces */
    /* reading */
    const uint8_t *in;
    size_t in_len, pos;
    size_t alloc_budget; /* bytes the input may still make us allocate */

    base_alloc *alloc;
    bool failed;
    char why[160];
    size_t fail_pos;
};

typedef struct waft_codec base_codec;

WAFT_INTERNAL void codec_init_writer(base_codec *c, base_alloc *a);
WAFT_INTERNAL void codec_init_reader(base_codec *c, base_alloc *a, const uint8_t *in, size_t len,
                                     size_t alloc_budget);
WAFT_INTERNAL void codec_free(base_codec *c);
/* Marks the codec failed (first call wins). */
WAFT_INTERNAL void codec_fail(base_codec *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

WAFT_INTERNAL void codec_u8(base_codec *c, uint8_t *v);
WAFT_INTERNAL void codec_u16(base_codec *c, uint16_t *v);
WAFT_INTERNAL void codec_u32(base_codec *c, uint32_t *v);
WAFT_INTERNAL void codec_u64(base_codec *c, uint64_t *v);
WAFT_INTERNAL void codec_bool(base_codec *c, bool *v);
/* Raw bytes of a known length. */
WAFT_INTERNAL void codec_raw(base_codec *c, void *p, size_t n);
/* Reading: returns a pointer into the input (no copy) and skips n bytes; NULL on failure.
 * Writing: appends p. */
WAFT_INTERNAL const uint8_t *codec_span(base_codec *c, const void *p, size_t n);
/* Writing: appends a reference to n external bytes that must stay unchanged until the
 * codec's output is consumed (zero-copy, e.g. linear memory). Reading: codec_span. */
WAFT_INTERNAL const uint8_t *codec_span_ext(base_codec *c, const void *p, size_t n);
/* Writing: codec_span_ext with the bytes' CRC-32C already known, so whoever checksums the
 * output combines it instead of reading them again. Reading: codec_span. */
WAFT_INTERNAL const uint8_t *codec_span_ext_crc(base_codec *c, const void *p, size_t n,
                                                uint32_t crc);
/* Writing: closes the piece list; afterwards pieces[0, npieces) describe the whole output in
 * order (a codec that never used codec_span_ext has one piece: its buffer). */
WAFT_INTERNAL void codec_pieces_close(base_codec *c);
/* Total bytes written (buffer plus external pieces). */
WAFT_INTERNAL size_t codec_written(const base_codec *c);
/* A length-prefixed byte string. Reading allocates (counted against the budget) a
 * NUL-terminated copy in *p that the caller frees with base_free. */
WAFT_INTERNAL void codec_blob(base_codec *c, uint8_t **p, uint32_t *len, uint32_t max);
/* Reading: the u32 length and then that many bytes of a length-prefixed string, checked
 * against `max` and the bytes left and charged to the budget; returns them in place (not
 * NUL-terminated), or NULL after a failure. */
WAFT_INTERNAL const uint8_t *codec_blob_read(base_codec *c, uint32_t *len, uint32_t max);
/* Reading: charges n bytes to the allocation budget; false (and failed) if over. */
WAFT_INTERNAL bool codec_charge(base_codec *c, uint64_t n);
/* Reading: true once every input byte was consumed. */
WAFT_INTERNAL bool codec_at_end(const base_codec *c);

/* CRC-32C (Castagnoli), software, any endianness. crc starts at 0. */
WAFT_INTERNAL uint32_t base_crc32c(uint32_t crc, const void *p, size_t n);
/* The CRC-32C of A followed by B, from crc(A), crc(B) and B's length, without the bytes
 * (O(log len_b)): how an image's memory record is checked without reading its pages. */
WAFT_INTERNAL uint32_t base_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
/* The same in two steps, for many combinations with one length: the factor of len_b once,
 * then one multiplication per combination. */
WAFT_INTERNAL uint32_t base_crc32c_factor(uint64_t len_b);
WAFT_INTERNAL uint32_t base_crc32c_combine_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor);

/* SHA-256 (FIPS 180-4). */
typedef struct base_sha256 {
    uint32_t h[8];
    uint64_t total;
    uint8_t block[64];
    uint32_t used;
} base_sha256;
WAFT_INTERNAL void base_sha256_init(base_sha256 *s);
WAFT_INTERNAL void base_sha256_update(base_sha256 *s, const void *p, size_t n);
WAFT_INTERNAL void base_sha256_final(base_sha256 *s, uint8_t out[32]);

#endif
