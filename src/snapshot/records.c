/* SPDX-License-Identifier: MIT */
/* records.c - the wire format of images: one codec per record for both directions, the
 * record table that drives writing and reading, and the hostile reader.
 *
 * Wire layout (docs/image-format.md):
 *
 *   header  | magic 8 | version u32 | order probe u32 | f64 probe u64 | crc u32 | zero u32 |
 *   record  | tag u32 | version u16 | flags u16 | stored u64 | raw u64 |
 *           | payload (stored bytes; zstd frame when flags & COMPRESSED) | crc u32 of payload |
 *   ...
 *   END     | tag 'END ' record whose payload is u32 crc of every byte before it, u32 count |
 *
 * Lengths come before their payload and checksums after it, so an image is written in one
 * pass, straight from linear memory to the file or socket, without staging it in a buffer.
 *
 * Invariants:
 *  - Which records exist, their versions, flags, repeat rules and codecs are written once,
 *    in records[]; the writer, the reader, the presence check and END's count all use it.
 *  - The reader never reads outside the bytes given, never parses a record it will refuse
 *    as a repeat, and allocates on behalf of a record no more than that record's own
 *    (uncompressed) size justifies.
 */
#include "snapshot/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dynlib.h" /* libzstd, loaded when an image is first compressed or read */

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <unistd.h>
#define WAFT_SCAN_THREADS 1
#endif

static const uint8_t image_magic[8] = { 0x89, 'W', 'A', 'F', 'T', '\r', '\n', 0x1a };
#define ORDER_PROBE 0x01020304u
#define F64_PROBE   0xBFF8000000000000ull /* -1.5 */
#define HEADER_SIZE 32u
#define RECORD_HEAD 24u
#define RECORD_TAIL 4u

#define TAG(a, b, c, d) \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
enum {
    TAG_MODULE = TAG('M', 'O', 'D', 'L'),
    TAG_MEMORY = TAG('M', 'E', 'M', 'S'),
    TAG_MEMORY_LAYOUT = TAG('M', 'E', 'M', 'L'),  /* sizes only: contents sent elsewhere */
    TAG_MEMORY_ALIGNED = TAG('M', 'E', 'M', 'A'), /* pages 4 KiB-aligned, checked by the MiB */
    TAG_TABLES = TAG('T', 'A', 'B', 'L'),
    TAG_GLOBALS = TAG('G', 'L', 'O', 'B'),
    TAG_SEGMENTS = TAG('S', 'E', 'G', 'S'),
    TAG_FRAMES = TAG('S', 'T', 'A', 'K'),
    TAG_EXEC = TAG('E', 'X', 'E', 'C'),
    TAG_EXT = TAG('E', 'X', 'T', 'N'),
    TAG_END = TAG('E', 'N', 'D', ' '),
};
enum {
    REC_REQUIRED = 1,
    REC_COMPRESSED = 2
};

#define CHECKSUM_BAD SNAP_CHECKSUM_BAD


void snap_name_escape(const uint8_t *name, uint32_t len, char out[SNAP_EXT_NAME_SHOWN])
{
    static const char digits[] = "0123456789abcdef";
    size_t at = 0;
    for (uint32_t i = 0; i < len && i < SNAP_EXT_NAME_MAX; i++) {
        uint8_t ch = name[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            out[at++] = (char)ch;
        } else {
            out[at++] = '\\';
            out[at++] = 'x';
            out[at++] = digits[ch >> 4];
            out[at++] = digits[ch & 15];
        }
    }
    out[at] = 0;
}

/* ==== Records: one codec function each, for both directions ==== */

static void *codec_array(base_codec *c, base_alloc *a, void *p, uint64_t n, size_t elem,
                         uint64_t min_wire)
{
    if (c->writing || c->failed)
        return p;
    /* every element takes at least min_wire bytes of input: hostile counts stop here */
    if (min_wire && n > (c->in_len - c->pos) / min_wire) {
        codec_fail(c, "count %llu at offset %zu exceeds the record", (unsigned long long)n, c->pos);
        return NULL;
    }
    if (!codec_charge(c, n * elem + 1))
        return NULL;
    void *q = base_calloc(a, (size_t)n ? (size_t)n : 1, elem);
    if (!q)
        codec_fail(c, "out of memory");
    return q;
}

static void rec_module(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    codec_raw(c, img->module_hash, 32);
    codec_u64(c, &img->module_len);
    bool embedded = img->module_bytes != NULL;
    codec_bool(c, &embedded);
    if (embedded) {
        if (!c->writing && img->module_len > c->in_len - c->pos) {
            codec_fail(c, "embedded module of %llu bytes exceeds the record",
                       (unsigned long long)img->module_len);
            return;
        }
        img->module_bytes = codec_span(c, img->module_bytes, (size_t)img->module_len);
    }
}

static bool chunk_is_zero(const uint8_t *p)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < SNAP_CHUNK; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    return acc == 0;
}

/* A memory's sizes, the head of its entry in MEMS, MEMA and MEML; false if impossible. */
static bool codec_memory_sizes(base_codec *c, snap_memory *m, uint32_t i)
{
    codec_u32(c, &m->pages);
    codec_u32(c, &m->max_pages);
    codec_bool(c, &m->has_max);
    if (!c->writing && (m->pages > 65536 || m->max_pages > 65536 || m->pages > m->max_pages)) {
        codec_fail(c, "memory %u: %u pages with maximum %u is impossible", i, m->pages,
                   m->max_pages);
        return false;
    }
    return !c->failed;
}

static void rec_memories(base_codec *c, waft_image *img)
{
    codec_u32(c, &img->nmemories);
    img->memories =
        codec_array(c, img->alloc, img->memories, img->nmemories, sizeof *img->memories, 9);
    for (uint32_t i = 0; i < img->nmemories && !c->failed; i++) {
        snap_memory *m = &img->memories[i];
        if (!codec_memory_sizes(c, m, i))
            return;
        if (img->memory_external)
            continue; /* MEML: the contents travel separately (migration) */
        uint64_t nchunks = (uint64_t)m->pages * (WAFT_PAGE_SIZE / SNAP_CHUNK);
        uint64_t map_bytes = (nchunks + 7) / 8;
        if (c->writing) {
            /* the bitmap of non-zero chunks, then those chunks: referenced in place, runs of
             * adjacent chunks as one piece */
            uint8_t *map = base_calloc(c->alloc, (size_t)map_bytes + 1, 1);
            if (!map) {
                codec_fail(c, "out of memory");
                return;
            }
            for (uint64_t k = 0; k < nchunks; k++)
                if (!chunk_is_zero(m->data + k * SNAP_CHUNK))
                    map[k / 8] |= (uint8_t)(1u << (k % 8));
            codec_raw(c, map, (size_t)map_bytes);
            for (uint64_t k = 0; k < nchunks;) {
                if (!(map[k / 8] & (1u << (k % 8)))) {
                    k++;
                    continue;
                }
                uint64_t run = k;
                while (run < nchunks && (map[run / 8] & (1u << (run % 8))))
                    run++;
                codec_span_ext(c, m->data + k * SNAP_CHUNK, (size_t)((run - k) * SNAP_CHUNK));
                k = run;
            }
            base_free(c->alloc, map);
        } else {
            const uint8_t *map = codec_span(c, NULL, (size_t)map_bytes);
            if (!map)
                return;
            uint64_t stored = 0;
            for (uint64_t k = 0; k < nchunks; k++)
                stored += (map[k / 8] >> (k % 8)) & 1u;
            if (nchunks % 8 && (map[map_bytes - 1] >> (nchunks % 8)) != 0) {
                codec_fail(c, "memory %u: bitmap has bits past the last page", i);
                return;
            }
            m->bitmap = (uint8_t *)map;
            m->nstored = stored;
            if (stored > (c->in_len - c->pos) / SNAP_CHUNK) {
                codec_fail(c, "memory %u: %llu stored pages exceed the record", i,
                           (unsigned long long)stored);
                return;
            }
            m->chunks = codec_span(c, NULL, (size_t)(stored * SNAP_CHUNK));
        }
    }
}

static bool chunk_stored(const uint8_t *map, uint64_t k)
{
    return (map[k / 8] >> (k % 8)) & 1u;
}

/* The scan of MEMA's writer over granules [g0, g1): which chunks are stored (non-zero), the
 * CRC-32C of each, and each granule's CRC combined from them. Different granules touch
 * different bytes of every array (a granule's 256 chunks are 32 bytes of the bitmap), so
 * ranges of granules can be scanned on different threads. */
typedef struct mema_scan {
    const uint8_t *data;
    uint64_t nchunks, g0, g1;
    uint8_t *map, *crcs;
    uint32_t *chunk_crc;
} mema_scan;

_Static_assert(SNAP_GRANULE_CHUNKS % 8 == 0, "a granule must own whole bytes of the bitmap");

static void *mema_scan_run(void *arg)
{
    const mema_scan *sc = arg;
    uint32_t f = base_crc32c_factor(SNAP_CHUNK);
    for (uint64_t g = sc->g0; g < sc->g1; g++) {
        uint32_t crc = 0;
        uint64_t end = (g + 1) * SNAP_GRANULE_CHUNKS;
        for (uint64_t k = g * SNAP_GRANULE_CHUNKS; k < end && k < sc->nchunks; k++) {
            const uint8_t *p = sc->data + k * SNAP_CHUNK;
            if (chunk_is_zero(p))
                continue;
            sc->map[k / 8] |= (uint8_t)(1u << (k % 8));
            sc->chunk_crc[k] = base_crc32c(0, p, SNAP_CHUNK);
            crc = base_crc32c_combine_by(crc, sc->chunk_crc[k], f);
        }
        base_store32(sc->crcs + 4 * g, crc);
    }
    return NULL;
}

#define MEMA_SCAN_THREADS      4  /* at most */
#define MEMA_SCAN_MIN_GRANULES 8u /* per thread: 8 MiB, far more work than a thread's start */

/* The whole scan, on up to MEMA_SCAN_THREADS threads (memory bandwidth, not the CRC, is
 * what one thread runs out of); a thread that cannot be started is done here instead. */
static void mema_scan_all(const mema_scan *all)
{
    uint64_t ngran = all->g1 - all->g0;
    long n = 1;
#if defined(WAFT_SCAN_THREADS)
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus > MEMA_SCAN_THREADS ? MEMA_SCAN_THREADS : cpus;
    if ((uint64_t)n > ngran / MEMA_SCAN_MIN_GRANULES)
        n = (long)(ngran / MEMA_SCAN_MIN_GRANULES);
    if (n < 1)
        n = 1;
    mema_scan part[MEMA_SCAN_THREADS];
    pthread_t tid[MEMA_SCAN_THREADS];
    bool started[MEMA_SCAN_THREADS] = { false };
    for (long t = 0; t < n; t++) {
        part[t] = *all;
        part[t].g0 = all->g0 + ngran * (uint64_t)t / (uint64_t)n;
        part[t].g1 = all->g0 + ngran * (uint64_t)(t + 1) / (uint64_t)n;
        if (t > 0)
            started[t] = pthread_create(&tid[t], NULL, mema_scan_run, &part[t]) == 0;
    }
    mema_scan_run(&part[0]);
    for (long t = 1; t < n; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            mema_scan_run(&part[t]);
    }
#else
    (void)ngran;
    (void)n;
    mema_scan_run((void *)all);
#endif
}

/* MEMA: as MEMS, but every memory's head (sizes, bitmap, one CRC-32C per MiB of memory over
 * its stored chunks) comes first, then zero padding up to a 4 KiB boundary of the file, then
 * each memory's stored chunks. So the chunks can be mapped from the file, and the record's
 * own checksum is checked from the head and the per-MiB checksums alone (CRC combination):
 * reading the image does not read its pages; each MiB is checked against its checksum when
 * restore copies or maps it (restore.c). */
static void rec_mema(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    static const uint8_t zeros[SNAP_CHUNK];
    if (!c->writing) {
        img->memory_external = false;
        img->memory_aligned = true;
    }
    codec_u32(c, &img->nmemories);
    img->memories =
        codec_array(c, img->alloc, img->memories, img->nmemories, sizeof *img->memories, 9);
    for (uint32_t i = 0; i < img->nmemories && !c->failed; i++) {
        snap_memory *m = &img->memories[i];
        if (!codec_memory_sizes(c, m, i))
            return;
        uint64_t nchunks = (uint64_t)m->pages * (WAFT_PAGE_SIZE / SNAP_CHUNK);
        uint64_t map_bytes = (nchunks + 7) / 8;
        uint64_t ngran = (nchunks + SNAP_GRANULE_CHUNKS - 1) / SNAP_GRANULE_CHUNKS;
        if (c->writing) {
            /* one pass over the memory: which chunks are stored, and each one's CRC while it
             * is still in the cache; the per-MiB CRCs and those of the runs (given to the
             * record writer, which then reads no page) are combined from them */
            uint8_t *map = base_calloc(c->alloc, (size_t)map_bytes + 1, 1);
            uint8_t *crcs = base_calloc(c->alloc, (size_t)ngran * 4 + 1, 1);
            uint32_t *chunk_crc = base_calloc(c->alloc, (size_t)nchunks + 1, sizeof *chunk_crc);
            if (!map || !crcs || !chunk_crc) {
                base_free(c->alloc, map);
                base_free(c->alloc, crcs);
                base_free(c->alloc, chunk_crc);
                codec_fail(c, "out of memory");
                return;
            }
            mema_scan scan = { m->data, nchunks, 0, ngran, map, crcs, chunk_crc };
            mema_scan_all(&scan);
            codec_raw(c, map, (size_t)map_bytes);
            codec_raw(c, crcs, (size_t)ngran * 4);
            base_free(c->alloc, crcs);
            m->bitmap = map;          /* the writer's, until its chunks are written below */
            m->chunk_crc = chunk_crc; /* likewise */
        } else {
            const uint8_t *map = codec_span(c, NULL, (size_t)map_bytes);
            const uint8_t *crcs = map ? codec_span(c, NULL, (size_t)ngran * 4) : NULL;
            if (!crcs)
                return;
            if (nchunks % 8 && (map[map_bytes - 1] >> (nchunks % 8)) != 0) {
                codec_fail(c, "memory %u: bitmap has bits past the last page", i);
                return;
            }
            uint64_t stored = 0;
            for (uint64_t g = 0; g < ngran; g++) {
                uint64_t here = 0, end = (g + 1) * SNAP_GRANULE_CHUNKS;
                for (uint64_t k = g * SNAP_GRANULE_CHUNKS; k < end && k < nchunks; k++)
                    here += chunk_stored(map, k);
                if (!here && base_load32(crcs + 4 * g) != 0) {
                    codec_fail(c, "memory %u: MiB %llu stores no page but has a checksum", i,
                               (unsigned long long)g);
                    return;
                }
                stored += here;
            }
            m->bitmap = (uint8_t *)map;
            m->granule_crcs = crcs;
            m->nstored = stored;
        }
    }
    if (c->failed) {
        for (uint32_t i = 0; c->writing && i < img->nmemories; i++) {
            base_free(c->alloc, img->memories[i].bitmap);
            base_free(c->alloc, img->memories[i].chunk_crc);
            img->memories[i].bitmap = NULL;
            img->memories[i].chunk_crc = NULL;
        }
        return;
    }
    /* padding: the chunks start at a multiple of 4 KiB from the start of the file */
    uint32_t pad = 0;
    if (c->writing) {
        uint64_t at = img->wire_at + codec_written(c) + 4;
        pad = (uint32_t)((SNAP_CHUNK - at % SNAP_CHUNK) % SNAP_CHUNK);
    }
    codec_u32(c, &pad);
    if (c->writing) {
        codec_raw(c, (void *)zeros, pad);
    } else {
        const uint8_t *p = pad < SNAP_CHUNK ? codec_span(c, NULL, pad) : NULL;
        if (!p && !c->failed)
            codec_fail(c, "padding of %u bytes is more than a page", pad);
        if (!p)
            return;
        if (pad && (p[0] != 0 || memcmp(p, p + 1, pad - 1) != 0)) {
            codec_fail(c, "padding is not zero");
            return;
        }
    }
    /* reading: the record's checksum from the head's bytes and the per-MiB checksums */
    uint32_t total = c->writing ? 0 : base_crc32c(0, c->in, c->pos);
    for (uint32_t i = 0; i < img->nmemories && !c->failed; i++) {
        snap_memory *m = &img->memories[i];
        uint64_t nchunks = (uint64_t)m->pages * (WAFT_PAGE_SIZE / SNAP_CHUNK);
        if (c->writing) {
            uint32_t f = base_crc32c_factor(SNAP_CHUNK);
            for (uint64_t k = 0; k < nchunks;) {
                if (!chunk_stored(m->bitmap, k)) {
                    k++;
                    continue;
                }
                uint64_t run = k;
                uint32_t crc = 0;
                while (run < nchunks && chunk_stored(m->bitmap, run))
                    crc = base_crc32c_combine_by(crc, m->chunk_crc[run++], f);
                codec_span_ext_crc(c, m->data + k * SNAP_CHUNK, (size_t)((run - k) * SNAP_CHUNK),
                                   crc);
                k = run;
            }
            base_free(c->alloc, m->bitmap);
            base_free(c->alloc, m->chunk_crc);
            m->bitmap = NULL;
            m->chunk_crc = NULL;
            continue;
        }
        if (m->nstored > (c->in_len - c->pos) / SNAP_CHUNK) {
            codec_fail(c, "memory %u: %llu stored pages exceed the record", i,
                       (unsigned long long)m->nstored);
            return;
        }
        m->chunks_at = img->wire_at + c->pos;
        m->chunks = codec_span(c, NULL, (size_t)(m->nstored * SNAP_CHUNK));
        uint64_t ngran = (nchunks + SNAP_GRANULE_CHUNKS - 1) / SNAP_GRANULE_CHUNKS;
        for (uint64_t g = 0; g < ngran; g++) {
            uint64_t here = 0, end = (g + 1) * SNAP_GRANULE_CHUNKS;
            for (uint64_t k = g * SNAP_GRANULE_CHUNKS; k < end && k < nchunks; k++)
                here += chunk_stored(m->bitmap, k);
            total =
                base_crc32c_combine(total, base_load32(m->granule_crcs + 4 * g), here * SNAP_CHUNK);
        }
    }
    if (!c->writing && !c->failed && CHECKSUM_BAD(total, img->rec_crc))
        codec_fail(c, "checksum mismatch (the page checksums do not add up to the record's)");
}

static void rec_tables(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    codec_u32(c, &img->ntables);
    img->tables = codec_array(c, img->alloc, img->tables, img->ntables, sizeof *img->tables, 10);
    for (uint32_t i = 0; i < img->ntables && !c->failed; i++) {
        snap_table *t = &img->tables[i];
        codec_u8(c, &t->elem_type);
        codec_u32(c, &t->size);
        codec_u32(c, &t->max);
        codec_bool(c, &t->has_max);
        t->elems = codec_array(c, img->alloc, t->elems, t->size, sizeof *t->elems, 4);
        for (uint32_t k = 0; k < t->size && !c->failed; k++)
            codec_u32(c, &t->elems[k]);
    }
}

static void rec_globals(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    codec_u32(c, &img->nglobals);
    img->globals =
        codec_array(c, img->alloc, img->globals, img->nglobals, sizeof *img->globals, 10);
    for (uint32_t i = 0; i < img->nglobals && !c->failed; i++) {
        codec_u8(c, &img->globals[i].type);
        codec_bool(c, &img->globals[i].mutable_);
        codec_u64(c, &img->globals[i].value);
    }
}

static void rec_segments(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    codec_u32(c, &img->nelems);
    img->elem_dropped = codec_array(c, img->alloc, img->elem_dropped, img->nelems, 1, 1);
    for (uint32_t i = 0; i < img->nelems && !c->failed; i++)
        codec_bool(c, &img->elem_dropped[i]);
    codec_u32(c, &img->ndatas);
    img->data_dropped = codec_array(c, img->alloc, img->data_dropped, img->ndatas, 1, 1);
    for (uint32_t i = 0; i < img->ndatas && !c->failed; i++)
        codec_bool(c, &img->data_dropped[i]);
}

static void rec_frames(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    /* no bound of the reader's own on frames or slots: the writer would have to share it
     * (an image waft writes must restore); counts are bounded by the bytes that back them
     * (codec_array), and the restoring store's call-depth and stack limits decide */
    codec_u32(c, &img->nframes);
    img->frames = codec_array(c, img->alloc, img->frames, img->nframes, sizeof *img->frames, 16);
    for (uint32_t i = 0; i < img->nframes && !c->failed; i++) {
        snap_frame *f = &img->frames[i];
        codec_u32(c, &f->func);
        codec_u32(c, &f->offset);
        codec_u32(c, &f->nlocals);
        codec_u32(c, &f->nvalues);
        uint64_t n = (uint64_t)f->nlocals + f->nvalues;
        f->slots = codec_array(c, img->alloc, f->slots, n, sizeof *f->slots, 8);
        for (uint64_t k = 0; k < n && !c->failed; k++)
            codec_u64(c, &f->slots[k]);
    }
}

static void rec_exec(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    codec_u64(c, &img->fuel);
    codec_u64(c, &img->steps);
}

static void rec_mems(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    if (!c->writing)
        img->memory_external = false;
    rec_memories(c, img);
}

static void rec_meml(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    if (!c->writing)
        img->memory_external = true;
    rec_memories(c, img);
}

/* Reading: appends extension record `img->nexts`; writing: writes extension `index`. */
static void rec_ext(base_codec *c, waft_image *img, uint32_t index)
{
    if (!c->writing) {
        if (!base_grow(img->alloc, (void **)&img->exts, &img->cap_exts, img->nexts + 1,
                       sizeof *img->exts)) {
            codec_fail(c, "out of memory");
            return;
        }
        index = img->nexts++;
        memset(&img->exts[index], 0, sizeof *img->exts);
    }
    snap_ext *e = &img->exts[index];
    codec_blob(c, &e->name, &e->name_len, SNAP_EXT_NAME_MAX);
    codec_u32(c, &e->version);
    codec_blob(c, &e->payload, &e->len, UINT32_MAX);
    if (c->writing || c->failed)
        return;
    /* names are matched against registered C strings and printed: no empty names, no NUL
     * bytes, no two records for one extension */
    char shown[SNAP_EXT_NAME_SHOWN];
    snap_name_escape(e->name, e->name_len, shown);
    if (e->name_len == 0 || memchr(e->name, 0, e->name_len) != NULL) {
        codec_fail(c, "extension name \"%s\" is empty or holds a NUL byte", shown);
        return;
    }
    for (uint32_t k = 0; k < index; k++)
        if (img->exts[k].name_len == e->name_len &&
            memcmp(img->exts[k].name, e->name, e->name_len) == 0)
            codec_fail(c, "extension \"%s\" appears twice", shown);
}

/* END: the checksum chain of everything before it, and how many records came before. */
static void rec_end(base_codec *c, waft_image *img, uint32_t index)
{
    (void)index;
    codec_u32(c, &img->end_crc);
    codec_u32(c, &img->end_count);
}

/* ==== The record table ==== */

/* How often a record appears in an image. */
enum {
    REC_ONCE, /* exactly once; the records of one group are alternatives (MEMS or MEML) */
    REC_MANY, /* any number of times, at most SNAP_MAX_EXTS */
    REC_LAST  /* exactly once, and last: END */
};

typedef struct rec_desc {
    uint32_t tag;
    uint16_t version; /* the version written, and the only one read */
    uint16_t flags;   /* written: REC_REQUIRED or 0 */
    uint8_t presence; /* REC_ONCE, REC_MANY or REC_LAST */
    uint8_t group;    /* REC_ONCE: index of its group of alternatives */
    bool compress;    /* compressed when the options ask for it (and it pays) */
    bool bulk_crc;    /* its codec checks the record's checksum itself, without reading the
                       * bulk (MEMA's pages); never compressed */
    void (*codec)(base_codec *c, waft_image *img, uint32_t index);
    uint32_t (*count)(const waft_image *img); /* writing: how many records the image gets */
} rec_desc;

static uint32_t count_one(const waft_image *img)
{
    (void)img;
    return 1;
}

static uint32_t count_mems(const waft_image *img)
{
    return img->memory_external || img->memory_aligned ? 0 : 1;
}

static uint32_t count_mema(const waft_image *img)
{
    return !img->memory_external && img->memory_aligned ? 1 : 0;
}

static uint32_t count_meml(const waft_image *img)
{
    return img->memory_external ? 1 : 0;
}

static uint32_t count_exts(const waft_image *img)
{
    return img->nexts;
}

#define REC_GROUPS 9u

/* Every record type, once: the writer writes them in this order (each `count` times); the
 * reader finds a tag's codec here, refuses any other version, refuses repeats of REC_ONCE
 * records, counts the records for END and requires every group to appear. A new record or
 * version is one line here plus its codec (and docs/image-format.md). */
static const rec_desc records[] = {
    /* tag, version, flags written, presence, group, compressible, checked by its codec,
     * codec, count written */
    { TAG_MODULE, 1, REC_REQUIRED, REC_ONCE, 0, false, false, rec_module, count_one },
    { TAG_MEMORY, 1, REC_REQUIRED, REC_ONCE, 1, true, false, rec_mems, count_mems },
    { TAG_MEMORY_ALIGNED, 1, REC_REQUIRED, REC_ONCE, 1, false, true, rec_mema, count_mema },
    { TAG_MEMORY_LAYOUT, 1, REC_REQUIRED, REC_ONCE, 1, true, false, rec_meml, count_meml },
    { TAG_TABLES, 1, REC_REQUIRED, REC_ONCE, 2, true, false, rec_tables, count_one },
    { TAG_GLOBALS, 1, REC_REQUIRED, REC_ONCE, 3, false, false, rec_globals, count_one },
    { TAG_SEGMENTS, 1, REC_REQUIRED, REC_ONCE, 4, false, false, rec_segments, count_one },
    { TAG_FRAMES, 1, REC_REQUIRED, REC_ONCE, 5, true, false, rec_frames, count_one },
    { TAG_EXEC, 1, REC_REQUIRED, REC_ONCE, 6, false, false, rec_exec, count_one },
    { TAG_EXT, 1, REC_REQUIRED, REC_MANY, 7, true, false, rec_ext, count_exts },
    { TAG_END, 1, REC_REQUIRED, REC_LAST, 8, false, false, rec_end, count_one },
};
#define NRECORD_TYPES (sizeof records / sizeof records[0])

static const rec_desc *record_find(uint32_t tag)
{
    for (size_t i = 0; i < NRECORD_TYPES; i++)
        if (records[i].tag == tag)
            return &records[i];
    return NULL;
}

/* ==== Public codec for extensions ==== */

WAFT_API int waft_codec_writing(const waft_codec *c)
{
    return c->writing;
}

WAFT_API int waft_codec_failed(const waft_codec *c)
{
    return c->failed;
}

WAFT_API void waft_codec_fail(waft_codec *c, const char *message)
{
    codec_fail(c, "%s", message);
}

WAFT_API void waft_codec_u8(waft_codec *c, uint8_t *v)
{
    codec_u8(c, v);
}

WAFT_API void waft_codec_u32(waft_codec *c, uint32_t *v)
{
    codec_u32(c, v);
}

WAFT_API void waft_codec_u64(waft_codec *c, uint64_t *v)
{
    codec_u64(c, v);
}

WAFT_API void waft_codec_i64(waft_codec *c, int64_t *v)
{
    uint64_t u = (uint64_t)*v;
    codec_u64(c, &u);
    *v = (int64_t)u;
}

WAFT_API uint64_t waft_codec_remaining(const waft_codec *c)
{
    return c->writing ? 0 : c->in_len - c->pos;
}

WAFT_API void waft_codec_skip(waft_codec *c, uint64_t n)
{
    if (c->writing || c->failed)
        return;
    if (n > c->in_len - c->pos) {
        codec_fail(c, "truncated: cannot skip %llu bytes at offset %zu", (unsigned long long)n,
                   c->pos);
        return;
    }
    c->pos += (size_t)n;
}

WAFT_API void waft_codec_string(waft_codec *c, char **s, uint32_t *len, uint32_t max)
{
    if (c->writing) {
        codec_u32(c, len);
        codec_raw(c, *s, *len);
        return;
    }
    *s = NULL;
    const uint8_t *in = codec_blob_read(c, len, max);
    if (!in)
        return;
    *s = malloc((size_t)*len + 1); /* the caller frees it with free() */
    if (!*s) {
        codec_fail(c, "out of memory");
        return;
    }
    memcpy(*s, in, *len);
    (*s)[*len] = 0;
}

/* ==== Encoding ==== */

static const char *tag_name(uint32_t tag, char buf[5])
{
    for (int i = 0; i < 4; i++) {
        char ch = (char)(tag >> (8 * i));
        buf[i] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
    }
    buf[4] = 0;
    return buf;
}


static void out_fail(snap_out *o, const char *why)
{
    if (!o->failed) {
        o->failed = true;
        snprintf(o->why, sizeof o->why, "%s", why);
    }
}

static bool out_own(snap_out *o, uint8_t *buf)
{
    if (!base_grow(o->a, (void **)&o->owned, &o->cap_owned, o->nowned + 1, sizeof *o->owned)) {
        base_free(o->a, buf);
        out_fail(o, "out of memory");
        return false;
    }
    o->owned[o->nowned++] = buf;
    return true;
}

static void out_ref(snap_out *o, const uint8_t *p, size_t len)
{
    if (o->failed || len == 0)
        return;
    if (!base_grow(o->a, (void **)&o->iov, &o->cap_iov, o->niov + 1, sizeof *o->iov)) {
        out_fail(o, "out of memory");
        return;
    }
    o->iov[o->niov].p = p;
    o->iov[o->niov].len = len;
    o->niov++;
    o->total += len;
}

/* Appends a copy of small bytes. */
static void out_copy(snap_out *o, const void *p, size_t len)
{
    if (o->failed)
        return;
    uint8_t *b = base_malloc(o->a, len ? len : 1);
    if (!b) {
        out_fail(o, "out of memory");
        return;
    }
    memcpy(b, p, len);
    if (out_own(o, b))
        out_ref(o, b, len);
}

void snap_out_free(snap_out *o)
{
    for (uint32_t i = 0; i < o->nowned; i++)
        base_free(o->a, o->owned[i]);
    base_free(o->a, o->owned);
    base_free(o->a, o->iov);
    memset(o, 0, sizeof *o);
}

/* Appends one record: header, the payload's pieces (the codec's buffer is handed over to
 * `o`), its checksum. Compressed records are flattened and compressed first. */
static void put_record(snap_out *o, const rec_desc *d, base_codec *payload,
                       const waft_image_options *opt)
{
    uint16_t flags = d->flags;
    codec_pieces_close(payload);
    if (payload->failed) {
        out_fail(o, payload->why);
        codec_free(payload);
        return;
    }
    size_t raw = codec_written(payload);
    uint8_t *zbuf = NULL;
    size_t zlen = 0;
#if defined(WAFT_HAVE_ZSTD)
    const base_zstd *zs = opt && opt->compress ? base_zstd_get(NULL, 0) : NULL;
    if (d->compress && zs && raw >= 256) {
        uint8_t *flat = base_malloc(o->a, raw);
        size_t bound = zs->ZSTD_compressBound(raw);
        zbuf = flat ? base_malloc(o->a, bound) : NULL;
        if (zbuf) {
            size_t at = 0;
            for (uint32_t i = 0; i < payload->npieces; i++) {
                const codec_piece *pc = &payload->pieces[i];
                memcpy(flat + at, pc->ext ? pc->ext : payload->buf + pc->off, pc->len);
                at += pc->len;
            }
            size_t z = zs->ZSTD_compress(zbuf, bound, flat, raw, opt->level ? opt->level : 1);
            if (!zs->ZSTD_isError(z) && z < raw) {
                zlen = z;
                flags |= REC_COMPRESSED;
            } else {
                base_free(o->a, zbuf);
                zbuf = NULL;
            }
        }
        base_free(o->a, flat);
    }
#else
    (void)opt;
#endif
    uint8_t head[RECORD_HEAD];
    base_store32(head, d->tag);
    base_store16(head + 4, d->version);
    base_store16(head + 6, flags);
    base_store64(head + 8, zbuf ? zlen : raw);
    base_store64(head + 16, raw);
    out_copy(o, head, sizeof head);
    o->crc_chain = base_crc32c(o->crc_chain, head, sizeof head);
    uint32_t crc = 0;
    if (zbuf) {
        crc = base_crc32c(0, zbuf, zlen);
        if (out_own(o, zbuf))
            out_ref(o, zbuf, zlen);
    } else {
        for (uint32_t i = 0; i < payload->npieces; i++) {
            const codec_piece *pc = &payload->pieces[i];
            const uint8_t *p = pc->ext ? pc->ext : payload->buf + pc->off;
            crc = pc->has_crc ? base_crc32c_combine(crc, pc->crc, pc->len)
                              : base_crc32c(crc, p, pc->len);
            out_ref(o, p, pc->len);
        }
        /* the buffer now backs iovs: hand it over */
        if (payload->buf && out_own(o, payload->buf))
            payload->buf = NULL;
    }
    uint8_t tail[RECORD_TAIL];
    base_store32(tail, crc);
    out_copy(o, tail, sizeof tail);
    o->crc_chain = base_crc32c(o->crc_chain, tail, sizeof tail);
    codec_free(payload);
}

waft_result snap_encode(waft_image *img, const waft_image_options *opt, snap_out *o,
                        waft_error *err)
{
    memset(o, 0, sizeof *o);
    o->a = img->alloc;
    uint8_t head[HEADER_SIZE] = { 0 };
    memcpy(head, image_magic, 8);
    base_store32(head + 8, WAFT_IMAGE_VERSION);
    base_store32(head + 12, ORDER_PROBE);
    base_store64(head + 16, F64_PROBE);
    base_store32(head + 24, base_crc32c(0, head, 24));
    out_copy(o, head, sizeof head);
    o->crc_chain = base_crc32c(0, head, sizeof head);

    /* uncompressed images carry memory as MEMA (mappable); compressed ones as MEMS */
#if defined(WAFT_HAVE_ZSTD)
    img->memory_aligned = !(opt && opt->compress && base_zstd_get(NULL, 0));
#else
    img->memory_aligned = true;
#endif
    uint32_t nrecords = 0;
    for (size_t t = 0; t < NRECORD_TYPES && !o->failed; t++) {
        const rec_desc *d = &records[t];
        if (d->presence == REC_LAST) {
            img->end_crc = o->crc_chain; /* covers every byte before END */
            img->end_count = nrecords;
        }
        uint32_t n = d->count(img);
        for (uint32_t i = 0; i < n && !o->failed; i++) {
            base_codec p;
            codec_init_writer(&p, o->a);
            img->wire_at = o->total + RECORD_HEAD;
            d->codec(&p, img, i);
            put_record(o, d, &p, opt);
            nrecords++;
        }
    }
    if (o->failed) {
        base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "cannot encode image: %s", o->why);
        snap_out_free(o);
        return WAFT_ERR_NOMEM;
    }
    return WAFT_OK;
}

WAFT_API int waft_image_can_compress(char *why, size_t cap)
{
#if defined(WAFT_HAVE_ZSTD)
    char lib_why[256];
    if (base_zstd_get(lib_why, sizeof lib_why))
        return 1;
    if (why && cap)
        snprintf(why, cap, "libzstd cannot be loaded: %s", lib_why);
#else
    if (why && cap)
        snprintf(why, cap, "this libwaft was built without zstd");
#endif
    return 0;
}

/* ==== Decoding ==== */

static waft_result bad(waft_error *err, const char *what, size_t off)
{
    base_error_set(err, WAFT_ERR_IMAGE, (int64_t)off, -1, "%s", what);
    return WAFT_ERR_IMAGE;
}


/* Bytes a record's codec may allocate on behalf of `plen` bytes of (uncompressed) payload:
 * every array costs at most 8 bytes of memory per byte of the record that declares it
 * (codec_array), plus a little for the fixed parts. Derived from the record's own contents,
 * never from the file's size, so that a well-compressed record is read like a plain one. */
size_t snap_record_budget(size_t plen)
{
    size_t slack = (size_t)1 << 20;
    return plen > (SIZE_MAX - slack) / 8 ? SIZE_MAX : plen * 8 + slack;
}

#if defined(WAFT_HAVE_ZSTD)
/* Decompresses the payload of a record that declares `raw` bytes uncompressed into a buffer
 * owned by the image. The buffer grows with the data that actually comes out (doubling,
 * never beyond `raw`), so a forged size costs nothing; what does come out is bounded by the
 * record's declared contents, which its codec then checks exactly (a memory holds at most
 * 4 GiB). The engine's memory limit applies to the buffer like any other allocation. */
static waft_result inflate_record(waft_image *img, const char *tn, size_t pos, const uint8_t *z,
                                  size_t zlen, uint64_t raw, const uint8_t **out, waft_error *err)
{
    waft_result r = WAFT_ERR_IMAGE;
    ZSTD_DCtx *dctx = NULL;
    uint8_t *buf = NULL;
    const char *why = NULL;
    char lib_why[300];
    const base_zstd *zs = base_zstd_get(lib_why, sizeof lib_why);
    if (!zs) {
        base_error_set(err, WAFT_ERR_UNSUPPORTED, (int64_t)pos, -1,
                       "record %s is compressed, but libzstd cannot be loaded: %s", tn, lib_why);
        return WAFT_ERR_UNSUPPORTED;
    }
    if (zs->ZSTD_getFrameContentSize(z, zlen) != raw) {
        why = "the compressed data does not declare the record's size";
        goto fail;
    }
    if (raw > SIZE_MAX / 2) {
        why = "too large for this host uncompressed";
        goto fail;
    }
    size_t cap = raw < ((size_t)1 << 20) ? (size_t)raw : ((size_t)1 << 20);
    buf = base_malloc(img->alloc, cap + 1);
    dctx = zs->ZSTD_createDCtx();
    if (!buf || !dctx) {
        r = WAFT_ERR_NOMEM;
        why = "out of memory";
        goto fail;
    }
    ZSTD_inBuffer in = { z, zlen, 0 };
    ZSTD_outBuffer o = { buf, cap, 0 };
    for (;;) {
        size_t in_was = in.pos, out_was = o.pos;
        size_t left = zs->ZSTD_decompressStream(dctx, &o, &in);
        if (zs->ZSTD_isError(left)) {
            why = "bad compressed data";
            goto fail;
        }
        if (left == 0)
            break; /* the frame is complete */
        if (o.pos == o.size && o.size < raw) {
            size_t ncap = o.size > (size_t)raw / 2 ? (size_t)raw : o.size * 2;
            uint8_t *nb = base_realloc(img->alloc, buf, ncap + 1);
            if (!nb) {
                r = WAFT_ERR_NOMEM;
                why = "out of memory";
                goto fail;
            }
            buf = nb;
            o.dst = buf;
            o.size = ncap;
        } else if (in.pos == in.size || (in.pos == in_was && o.pos == out_was)) {
            why = "bad compressed data (truncated, or more than the record declares)";
            goto fail;
        }
    }
    if (o.pos != raw || in.pos != in.size) {
        why = "bad compressed data (its size differs from the record's)";
        goto fail;
    }
    zs->ZSTD_freeDCtx(dctx);
    if (!snap_image_own(img, buf)) {
        base_free(img->alloc, buf);
        return bad(err, "out of memory", pos);
    }
    *out = buf;
    img->compressed = true;
    return WAFT_OK;
fail:
    zs->ZSTD_freeDCtx(dctx);
    base_free(img->alloc, buf);
    base_error_set(err, r, (int64_t)pos, -1, "record %s: %s", tn, why);
    return r;
}
#endif

/* After END: every REC_ONCE group appeared (`seen` holds the tag seen per group). */
static waft_result check_presence(const uint32_t seen[REC_GROUPS], size_t pos, waft_error *err)
{
    for (size_t t = 0; t < NRECORD_TYPES; t++) {
        const rec_desc *d = &records[t];
        if (d->presence != REC_ONCE || seen[d->group])
            continue;
        char names[64] = "", tn[5];
        for (size_t k = t; k < NRECORD_TYPES; k++) /* the group's alternatives */
            if (records[k].presence == REC_ONCE && records[k].group == d->group)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         names[0] ? " or " : "", tag_name(records[k].tag, tn));
        base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos, -1, "record %s is missing", names);
        return WAFT_ERR_IMAGE;
    }
    return WAFT_OK;
}

/* Whether the record `d` (tag `tn`, at `pos`) may come now: REC_ONCE records at most once
 * per group, REC_MANY at most SNAP_MAX_EXTS times. */
static waft_result check_repeat(const rec_desc *d, const char *tn, uint32_t seen[REC_GROUPS],
                                uint32_t *nmany, size_t pos, waft_error *err)
{
    char other[5];
    if (d->presence == REC_MANY) {
        if (++*nmany > SNAP_MAX_EXTS) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos, -1, "record %s: more than %u of them",
                           tn, SNAP_MAX_EXTS);
            return WAFT_ERR_IMAGE;
        }
        return WAFT_OK;
    }
    if (seen[d->group] == d->tag) {
        base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos, -1, "record %s appears twice", tn);
        return WAFT_ERR_IMAGE;
    }
    if (seen[d->group]) {
        base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos, -1,
                       "record %s cannot appear twice (record %s came before it)", tn,
                       tag_name(seen[d->group], other));
        return WAFT_ERR_IMAGE;
    }
    seen[d->group] = d->tag;
    return WAFT_OK;
}

waft_result snap_decode(waft_image *img, const uint8_t *in, size_t len, waft_error *err)
{
    if (len < HEADER_SIZE)
        return bad(err, "not a waft image: too short for the header", 0);
    if (memcmp(in, image_magic, 8) != 0)
        return bad(err, "not a waft image: bad magic", 0);
    if (base_load32(in + 12) != ORDER_PROBE || base_load64(in + 16) != F64_PROBE)
        return bad(err, "header probes do not match (corrupted or not little-endian)", 12);
    if (CHECKSUM_BAD(base_crc32c(0, in, 24), base_load32(in + 24)))
        return bad(err, "header checksum mismatch", 24);
    img->version = base_load32(in + 8);
    if (img->version != WAFT_IMAGE_VERSION) {
        base_error_set(err, WAFT_ERR_IMAGE, 8, -1,
                       "image format version %u is not supported (this waft reads %u)",
                       img->version, WAFT_IMAGE_VERSION);
        return WAFT_ERR_IMAGE;
    }
    img->image_size = len;
    uint32_t seen[REC_GROUPS] = { 0 }; /* per group: the tag that appeared */
    uint32_t nrecords = 0, nmany = 0;
    size_t pos = HEADER_SIZE;
    /* the END checksum covers the file header and every earlier record's header and
     * checksum (each payload being covered by its own checksum) */
    uint32_t chain = base_crc32c(0, in, HEADER_SIZE);
    bool ended = false;
    waft_result r = WAFT_OK;
    while (!ended) {
        if (len - pos < RECORD_HEAD)
            return bad(err, "truncated: record header expected", pos);
        const uint8_t *h = in + pos;
        uint32_t tag = base_load32(h);
        uint16_t version = base_load16(h + 4), flags = base_load16(h + 6);
        uint64_t stored = base_load64(h + 8), raw = base_load64(h + 16);
        char tn[5];
        tag_name(tag, tn);
        size_t body = pos + RECORD_HEAD;
        if (stored > len - body || len - body - (size_t)stored < RECORD_TAIL) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos, -1,
                           "record %s: truncated (%llu bytes declared)", tn,
                           (unsigned long long)stored);
            return WAFT_ERR_IMAGE;
        }
        uint32_t crc = base_load32(in + body + stored);
        const rec_desc *d = record_find(tag);
        bool by_codec = d && d->bulk_crc && !(flags & REC_COMPRESSED);
        if (d && d->bulk_crc && (flags & REC_COMPRESSED)) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos + 6, -1,
                           "record %s cannot be compressed", tn);
            return WAFT_ERR_IMAGE;
        }
        if (!by_codec && CHECKSUM_BAD(base_crc32c(0, in + body, (size_t)stored), crc)) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)(body + (size_t)stored), -1,
                           "record %s: checksum mismatch", tn);
            return WAFT_ERR_IMAGE;
        }
        if (flags & ~(uint16_t)(REC_REQUIRED | REC_COMPRESSED)) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos + 6, -1,
                           "record %s has unknown flags 0x%x", tn, (unsigned)flags);
            return WAFT_ERR_IMAGE;
        }
        if (!d && (flags & REC_REQUIRED)) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos, -1, "unknown required record %s", tn);
            return WAFT_ERR_IMAGE;
        }
        /* a known tag at another version is refused whatever its flags: this reader cannot
         * know what a new layout of a record it relies on would mean */
        if (d && version != d->version) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos + 4, -1,
                           "record %s: version %u is not supported (this waft reads version %u)",
                           tn, (unsigned)version, (unsigned)d->version);
            return WAFT_ERR_IMAGE;
        }
        if (d && (r = check_repeat(d, tn, seen, &nmany, pos, err)) != WAFT_OK)
            return r;
        const uint8_t *payload = in + body;
        size_t plen = (size_t)stored;
        if (d && (flags & REC_COMPRESSED)) {
#if defined(WAFT_HAVE_ZSTD)
            r = inflate_record(img, tn, pos, payload, plen, raw, &payload, err);
            if (r != WAFT_OK)
                return r;
            plen = (size_t)raw;
#else
            return bad(err, "compressed image, but this waft was built without zstd", pos);
#endif
        } else if (raw != stored && !(flags & REC_COMPRESSED)) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos, -1,
                           "record %s: stored and raw sizes disagree", tn);
            return WAFT_ERR_IMAGE;
        }
        if (d) { /* an unknown optional record is skipped, but counted */
            base_codec c;
            codec_init_reader(&c, img->alloc, payload, plen, snap_record_budget(plen));
            img->wire_at = body;
            img->rec_crc = crc;
            d->codec(&c, img, 0);
            if (c.failed) {
                base_error_set(err, WAFT_ERR_IMAGE, (int64_t)(body + c.fail_pos), -1,
                               "record %s: %s", tn, c.why);
                return WAFT_ERR_IMAGE;
            }
            if (!codec_at_end(&c)) {
                base_error_set(err, WAFT_ERR_IMAGE, (int64_t)(body + c.pos), -1,
                               "record %s: trailing bytes", tn);
                return WAFT_ERR_IMAGE;
            }
        }
        if (d && d->presence == REC_LAST) {
            if (CHECKSUM_BAD(img->end_crc, chain))
                return bad(err, "image checksum mismatch", pos);
            if (img->end_count != nrecords) {
                base_error_set(err, WAFT_ERR_IMAGE, (int64_t)body + 4, -1,
                               "record %s: count %u, but %u records come before it", tn,
                               img->end_count, nrecords);
                return WAFT_ERR_IMAGE;
            }
            ended = true;
        }
        nrecords++;
        chain = base_crc32c(chain, in + pos, RECORD_HEAD);
        chain = base_crc32c(chain, in + body + (size_t)stored, RECORD_TAIL);
        pos = body + (size_t)stored + RECORD_TAIL;
    }
    if (pos != len)
        return bad(err, "bytes after the END record", pos);
    return check_presence(seen, pos, err);
}
