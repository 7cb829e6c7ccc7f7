/* SPDX-License-Identifier: MIT */
/* snapshot.c - images: capture from a store, one codec per record, atomic save, hostile
 * load, and restore into a fresh store.
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
 */
#include "snapshot/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(WAFT_HAVE_ZSTD)
#include <zstd.h>
#endif

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define WAFT_POSIX_FILES 1
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
    TAG_MEMORY_LAYOUT = TAG('M', 'E', 'M', 'L'), /* sizes only: contents sent elsewhere */
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

/* Largest counts an image may declare (beyond what the bytes present can justify anyway). */
#define MAX_FRAMES (1u << 20)
#define MAX_SLOTS  (1u << 26)
#define MAX_EXTS   64u

static void set_err(waft_error *err, waft_result code, const char *fmt, const char *a,
                    const char *b)
{
    base_error_set(err, code, -1, -1, fmt, a, b);
}

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

static void rec_memories(base_codec *c, waft_image *img)
{
    codec_u32(c, &img->nmemories);
    img->memories =
        codec_array(c, img->alloc, img->memories, img->nmemories, sizeof *img->memories, 9);
    for (uint32_t i = 0; i < img->nmemories && !c->failed; i++) {
        snap_memory *m = &img->memories[i];
        codec_u32(c, &m->pages);
        codec_u32(c, &m->max_pages);
        codec_bool(c, &m->has_max);
        if (!c->writing && (m->pages > 65536 || m->max_pages > 65536 || m->pages > m->max_pages)) {
            codec_fail(c, "memory %u: %u pages with maximum %u is impossible", i, m->pages,
                       m->max_pages);
            return;
        }
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
    codec_u32(c, &img->nframes);
    if (!c->writing && img->nframes > MAX_FRAMES) {
        codec_fail(c, "%u frames is more than any stack holds", img->nframes);
        return;
    }
    img->frames = codec_array(c, img->alloc, img->frames, img->nframes, sizeof *img->frames, 16);
    for (uint32_t i = 0; i < img->nframes && !c->failed; i++) {
        snap_frame *f = &img->frames[i];
        codec_u32(c, &f->func);
        codec_u32(c, &f->offset);
        codec_u32(c, &f->nlocals);
        codec_u32(c, &f->nvalues);
        uint64_t n = (uint64_t)f->nlocals + f->nvalues;
        if (!c->writing && n > MAX_SLOTS) {
            codec_fail(c, "frame %u: %llu slots is more than any stack holds", i,
                       (unsigned long long)n);
            return;
        }
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
    REC_MANY, /* any number of times, at most MAX_EXTS */
    REC_LAST  /* exactly once, and last: END */
};

typedef struct rec_desc {
    uint32_t tag;
    uint16_t version; /* the version written, and the only one read */
    uint16_t flags;   /* written: REC_REQUIRED or 0 */
    uint8_t presence; /* REC_ONCE, REC_MANY or REC_LAST */
    uint8_t group;    /* REC_ONCE: index of its group of alternatives */
    bool compress;    /* compressed when the options ask for it (and it pays) */
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
    return img->memory_external ? 0 : 1;
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
    /* tag, version, flags written, presence, group, compressible, codec, count written */
    { TAG_MODULE, 1, REC_REQUIRED, REC_ONCE, 0, false, rec_module, count_one },
    { TAG_MEMORY, 1, REC_REQUIRED, REC_ONCE, 1, true, rec_mems, count_mems },
    { TAG_MEMORY_LAYOUT, 1, REC_REQUIRED, REC_ONCE, 1, true, rec_meml, count_meml },
    { TAG_TABLES, 1, REC_REQUIRED, REC_ONCE, 2, true, rec_tables, count_one },
    { TAG_GLOBALS, 1, REC_REQUIRED, REC_ONCE, 3, false, rec_globals, count_one },
    { TAG_SEGMENTS, 1, REC_REQUIRED, REC_ONCE, 4, false, rec_segments, count_one },
    { TAG_FRAMES, 1, REC_REQUIRED, REC_ONCE, 5, true, rec_frames, count_one },
    { TAG_EXEC, 1, REC_REQUIRED, REC_ONCE, 6, false, rec_exec, count_one },
    { TAG_EXT, 1, REC_REQUIRED, REC_MANY, 7, true, rec_ext, count_exts },
    { TAG_END, 1, REC_REQUIRED, REC_LAST, 8, false, rec_end, count_one },
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

WAFT_API waft_result waft_store_add_state(waft_store *store, const char *name, uint32_t version,
                                          waft_state_fn save, waft_state_fn load, void *ctx)
{
    if (!store || !name || !save || !load || strlen(name) == 0 || strlen(name) > 32)
        return WAFT_ERR_INVALID_ARG;
    for (uint32_t i = 0; i < store->nexts; i++)
        if (strcmp(store->exts[i].name, name) == 0)
            return WAFT_ERR_INVALID_ARG;
    if (!base_grow(store->alloc, (void **)&store->exts, &store->cap_exts, store->nexts + 1,
                   sizeof *store->exts))
        return WAFT_ERR_NOMEM;
    store_ext *e = &store->exts[store->nexts++];
    memset(e, 0, sizeof *e);
    memcpy(e->name, name, strlen(name));
    e->version = version;
    e->save = save;
    e->load = load;
    e->ctx = ctx;
    return WAFT_OK;
}

WAFT_API void waft_store_remove_state(waft_store *store, const char *name, void *ctx)
{
    if (!store || !name)
        return;
    for (uint32_t i = 0; i < store->nexts; i++) {
        if (strcmp(store->exts[i].name, name) == 0 && store->exts[i].ctx == ctx) {
            memmove(&store->exts[i], &store->exts[i + 1],
                    (store->nexts - i - 1) * sizeof *store->exts);
            store->nexts--;
            return;
        }
    }
}

/* ==== Image lifetime ==== */

static waft_image *image_new(waft_engine *engine)
{
    waft_image *img = base_calloc(&engine->alloc, 1, sizeof *img);
    if (img) {
        img->engine = engine;
        img->alloc = &engine->alloc;
        img->version = WAFT_IMAGE_VERSION;
        img->fuel = UINT64_MAX;
    }
    return img;
}

static bool image_own(waft_image *img, uint8_t *buf)
{
    if (!base_grow(img->alloc, (void **)&img->owned, &img->cap_owned, img->nowned + 1,
                   sizeof *img->owned))
        return false;
    img->owned[img->nowned++] = buf;
    return true;
}

WAFT_API void waft_image_free(waft_image *img)
{
    if (!img)
        return;
    base_alloc *a = img->alloc;
    base_free(a, img->memories); /* bitmaps and chunks point into `owned` */
    for (uint32_t i = 0; img->tables && i < img->ntables; i++)
        base_free(a, img->tables[i].elems);
    base_free(a, img->tables);
    base_free(a, img->globals);
    base_free(a, img->elem_dropped);
    base_free(a, img->data_dropped);
    for (uint32_t i = 0; img->frames && i < img->nframes; i++)
        base_free(a, img->frames[i].slots);
    base_free(a, img->frames);
    for (uint32_t i = 0; img->exts && i < img->nexts; i++) {
        base_free(a, img->exts[i].name);
        base_free(a, img->exts[i].payload);
    }
    base_free(a, img->exts);
    for (uint32_t i = 0; i < img->nowned; i++)
        base_free(a, img->owned[i]);
    base_free(a, img->owned);
#if defined(WAFT_POSIX_FILES)
    if (img->map)
        munmap(img->map, img->map_len);
#endif
    base_free(a, img);
}

WAFT_API void waft_module_hash(const waft_module *module, uint8_t out[32])
{
    base_sha256 h;
#if !defined(__STDC_NO_ATOMICS__)
    /* computed once, by the first caller to claim it (a module's bytes never change);
     * another thread asking meanwhile computes its own copy */
    waft_module *m = (waft_module *)module;
    if (atomic_load_explicit(&m->hash_state, memory_order_acquire) == 2) {
        memcpy(out, m->hash, 32);
        return;
    }
    int expect = 0;
    if (atomic_compare_exchange_strong(&m->hash_state, &expect, 1)) {
        base_sha256_init(&h);
        base_sha256_update(&h, module->bytes, module->len);
        base_sha256_final(&h, m->hash);
        atomic_store_explicit(&m->hash_state, 2, memory_order_release);
        memcpy(out, m->hash, 32);
        return;
    }
#endif
    base_sha256_init(&h);
    base_sha256_update(&h, module->bytes, module->len);
    base_sha256_final(&h, out);
}

/* ==== Capture ==== */

/* Reverse map: store function index -> module function index + 1 (0: not this instance's). */
static uint32_t *func_rev_map(waft_store *s, const waft_instance *inst)
{
    uint32_t *rev = base_calloc(s->alloc, (size_t)s->nfuncs + 1, sizeof *rev);
    if (!rev)
        return NULL;
    for (uint32_t i = inst->module->nfuncs; i-- > 0;)
        rev[inst->func_ids[i]] = i + 1;
    return rev;
}

static waft_result encode_ref(uint8_t type, uint64_t v, const uint32_t *rev, uint64_t *out,
                              const char *where, waft_error *err)
{
    if (v == 0) {
        *out = 0;
        return WAFT_OK;
    }
    if (type == WAFT_EXTERNREF) {
        set_err(err, WAFT_ERR_UNSUPPORTED,
                "%s holds a host reference (externref), which cannot be saved%s", where, "");
        return WAFT_ERR_UNSUPPORTED;
    }
    if (type == WAFT_FUNCREF) {
        if (!rev[v - 1]) {
            set_err(err, WAFT_ERR_UNSUPPORTED, "%s refers to a function of another instance%s",
                    where, "");
            return WAFT_ERR_UNSUPPORTED;
        }
        *out = rev[v - 1];
        return WAFT_OK;
    }
    *out = v;
    return WAFT_OK;
}

static waft_result capture_frames(waft_store *s, const waft_instance *inst, waft_image *img,
                                  const uint32_t *rev, waft_error *err)
{
    const waft_module *m = inst->module;
    uint32_t n = s->suspended ? s->nframes : 0;
    if (!s->suspended && s->nframes) {
        base_error_set(err, WAFT_ERR_STATE, -1, -1,
                       "the store is running; suspend it (interrupt, fuel) before saving");
        return WAFT_ERR_STATE;
    }
    if (n && s->susp_base != 0) {
        base_error_set(err, WAFT_ERR_STATE, -1, -1,
                       "cannot save a call made from inside a host function");
        return WAFT_ERR_STATE;
    }
    img->nframes = n;
    img->frames = base_calloc(img->alloc, n ? n : 1, sizeof *img->frames);
    uint8_t *types = base_malloc(img->alloc, (size_t)s->stack_slots + 1);
    if (!img->frames || !types) {
        base_free(img->alloc, types);
        base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory");
        return WAFT_ERR_NOMEM;
    }
    waft_result r = WAFT_OK;
    for (uint32_t i = 0; i < n && r == WAFT_OK; i++) {
        const store_frame *fr = &s->frames[i];
        const store_func *f = s->funcs[fr->func];
        snap_frame *sf = &img->frames[i];
        if (f->inst != inst) {
            base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1,
                           "frame %u runs a function of another instance", i);
            r = WAFT_ERR_UNSUPPORTED;
            break;
        }
        bool top = i == n - 1;
        sf->func = f->index;
        sf->offset = icode_offset_of(f->code, top ? fr->pc : fr->pc - 1);
        sf->nlocals = f->code->nlocals;
        sf->nvalues = fr->sp - fr->fp - f->code->nlocals;
        uint32_t ntypes;
        r = val_stack_at(m, f->index, sf->offset, types, s->stack_slots, &ntypes);
        if (r != WAFT_OK || ntypes < sf->nvalues) {
            base_error_set(err, WAFT_ERR_STATE, -1, -1,
                           "frame %u (function %u, offset 0x%x) is not at a resumable point", i,
                           sf->func, sf->offset);
            r = WAFT_ERR_STATE;
            break;
        }
        uint64_t nslots = (uint64_t)sf->nlocals + sf->nvalues;
        sf->slots = base_malloc(img->alloc, (size_t)(nslots ? nslots : 1) * sizeof(uint64_t));
        if (!sf->slots) {
            base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory");
            r = WAFT_ERR_NOMEM;
            break;
        }
        const dec_functype *ft = dec_func_type(m, f->index);
        const dec_code *code = &m->codes[f->index - m->nfunc_imports];
        char where[64];
        for (uint64_t k = 0; k < nslots && r == WAFT_OK; k++) {
            uint8_t t;
            if (k < ft->nparams)
                t = ft->types[k];
            else if (k < sf->nlocals)
                t = code->local_types[k - ft->nparams];
            else
                t = types[k - sf->nlocals];
            snprintf(where, sizeof where, "frame %u slot %llu", i, (unsigned long long)k);
            r = encode_ref(t, s->stack[fr->fp + k], rev, &sf->slots[k], where, err);
        }
    }
    base_free(img->alloc, types);
    return r;
}

/* Each registered extension's state (its `save` codec's output) as an EXTN record. */
static waft_result capture_exts(waft_store *s, waft_image *img, waft_error *err)
{
    waft_result r = WAFT_OK;
    base_codec body;
    codec_init_writer(&body, img->alloc);
    img->exts = base_calloc(img->alloc, (size_t)s->nexts + 1, sizeof *img->exts);
    if (!img->exts) {
        r = WAFT_ERR_NOMEM;
        base_error_set(err, r, -1, -1, "out of memory while capturing state");
        goto fail;
    }
    img->cap_exts = s->nexts + 1;
    for (uint32_t i = 0; i < s->nexts; i++) {
        store_ext *e = &s->exts[i];
        codec_init_writer(&body, img->alloc);
        r = e->save(&body, e->ctx);
        if (r != WAFT_OK || body.failed || body.len > UINT32_MAX) {
            const char *why = body.failed    ? body.why
                              : r != WAFT_OK ? waft_result_str(r)
                                             : "state larger than 4 GiB";
            r = r != WAFT_OK ? r : WAFT_ERR_STATE;
            base_error_set(err, r, -1, -1, "saving extension %s: %s", e->name, why);
            goto fail;
        }
        snap_ext *x = &img->exts[img->nexts++];
        x->name_len = (uint32_t)strlen(e->name);
        x->name = base_malloc(img->alloc, (size_t)x->name_len + 1);
        if (!x->name) {
            r = WAFT_ERR_NOMEM;
            base_error_set(err, r, -1, -1, "out of memory while capturing state");
            goto fail;
        }
        memcpy(x->name, e->name, (size_t)x->name_len + 1);
        x->version = e->version;
        x->len = (uint32_t)body.len;
        x->payload = body.buf; /* taken over: the image frees it */
        body.buf = NULL;
        codec_free(&body);
    }
    return WAFT_OK;
fail:
    codec_free(&body);
    return r;
}

static waft_result capture(waft_store *s, const waft_instance *inst, waft_image *img,
                           waft_error *err)
{
    const waft_module *m = inst->module;
    waft_result r = WAFT_OK;
    uint32_t *rev = func_rev_map(s, inst);
    if (!rev)
        goto nomem;
    waft_module_hash(m, img->module_hash);
    img->module_len = m->len;
    img->module_bytes = m->bytes;

    img->nmemories = m->nmemories;
    img->memories = base_calloc(img->alloc, m->nmemories + 1, sizeof *img->memories);
    if (!img->memories)
        goto nomem;
    for (uint32_t i = 0; i < m->nmemories; i++) {
        const store_memory *mem = inst->memories[i];
        img->memories[i].pages = mem->pages;
        img->memories[i].max_pages = mem->max_pages;
        img->memories[i].has_max = mem->has_max;
        img->memories[i].data = mem->data;
    }
    img->ntables = m->ntables;
    img->tables = base_calloc(img->alloc, m->ntables + 1, sizeof *img->tables);
    if (!img->tables)
        goto nomem;
    for (uint32_t i = 0; i < m->ntables && r == WAFT_OK; i++) {
        const store_table *t = inst->tables[i];
        snap_table *st = &img->tables[i];
        st->elem_type = t->elem_type;
        st->size = t->size;
        st->max = t->max;
        st->has_max = t->has_max;
        st->elems = base_malloc(img->alloc, ((size_t)t->size + 1) * sizeof *st->elems);
        if (!st->elems)
            goto nomem;
        char where[48];
        snprintf(where, sizeof where, "table %u", i);
        for (uint32_t k = 0; k < t->size && r == WAFT_OK; k++) {
            uint64_t e = 0;
            r = encode_ref(t->elem_type, t->elems[k], rev, &e, where, err);
            st->elems[k] = (uint32_t)e;
        }
    }
    img->nglobals = m->nglobals;
    img->globals = base_calloc(img->alloc, m->nglobals + 1, sizeof *img->globals);
    if (!img->globals)
        goto nomem;
    for (uint32_t i = 0; i < m->nglobals && r == WAFT_OK; i++) {
        const store_global *g = inst->globals[i];
        char where[48];
        snprintf(where, sizeof where, "global %u", i);
        img->globals[i].type = g->type;
        img->globals[i].mutable_ = g->mutable_;
        r = encode_ref(g->type, g->value, rev, &img->globals[i].value, where, err);
    }
    img->nelems = m->nelems;
    img->ndatas = m->ndatas;
    img->elem_dropped = base_calloc(img->alloc, m->nelems + 1, 1);
    img->data_dropped = base_calloc(img->alloc, m->ndatas + 1, 1);
    if (!img->elem_dropped || !img->data_dropped)
        goto nomem;
    for (uint32_t i = 0; i < m->nelems; i++)
        img->elem_dropped[i] = inst->elems[i].count == 0 && m->elems[i].count != 0;
    for (uint32_t i = 0; i < m->ndatas; i++)
        img->data_dropped[i] = inst->data_dropped[i];
    if (r == WAFT_OK)
        r = capture_frames(s, inst, img, rev, err);
    if (r == WAFT_OK)
        r = capture_exts(s, img, err);
    img->fuel = s->fuel;
    img->steps = s->steps;
    base_free(s->alloc, rev);
    return r;
nomem:
    base_free(s->alloc, rev);
    base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory while capturing state");
    return WAFT_ERR_NOMEM;
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

/* The image being written: a list of byte ranges in order. Small metadata lives in owned
 * buffers; large payloads (linear memory) are referenced in place. */
typedef struct img_out {
    base_alloc *a;
    struct out_iov {
        const uint8_t *p;
        size_t len;
    } * iov;
    uint32_t niov, cap_iov;
    uint8_t **owned;
    uint32_t nowned, cap_owned;
    uint32_t crc_chain; /* over the file header and every record's header and checksum */
    size_t total;
    bool failed;
    char why[160];
} img_out;

static void out_fail(img_out *o, const char *why)
{
    if (!o->failed) {
        o->failed = true;
        snprintf(o->why, sizeof o->why, "%s", why);
    }
}

static bool out_own(img_out *o, uint8_t *buf)
{
    if (!base_grow(o->a, (void **)&o->owned, &o->cap_owned, o->nowned + 1, sizeof *o->owned)) {
        base_free(o->a, buf);
        out_fail(o, "out of memory");
        return false;
    }
    o->owned[o->nowned++] = buf;
    return true;
}

static void out_ref(img_out *o, const uint8_t *p, size_t len)
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
static void out_copy(img_out *o, const void *p, size_t len)
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

static void out_free(img_out *o)
{
    for (uint32_t i = 0; i < o->nowned; i++)
        base_free(o->a, o->owned[i]);
    base_free(o->a, o->owned);
    base_free(o->a, o->iov);
    memset(o, 0, sizeof *o);
}

/* Appends one record: header, the payload's pieces (the codec's buffer is handed over to
 * `o`), its checksum. Compressed records are flattened and compressed first. */
static void put_record(img_out *o, const rec_desc *d, base_codec *payload,
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
    if (d->compress && opt && opt->compress && raw >= 256) {
        uint8_t *flat = base_malloc(o->a, raw);
        size_t bound = ZSTD_compressBound(raw);
        zbuf = flat ? base_malloc(o->a, bound) : NULL;
        if (zbuf) {
            size_t at = 0;
            for (uint32_t i = 0; i < payload->npieces; i++) {
                const codec_piece *pc = &payload->pieces[i];
                memcpy(flat + at, pc->ext ? pc->ext : payload->buf + pc->off, pc->len);
                at += pc->len;
            }
            size_t z = ZSTD_compress(zbuf, bound, flat, raw, opt->level ? opt->level : 1);
            if (!ZSTD_isError(z) && z < raw) {
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
            crc = base_crc32c(crc, p, pc->len);
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

static waft_result encode(waft_image *img, const waft_image_options *opt, img_out *o,
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
            d->codec(&p, img, i);
            put_record(o, d, &p, opt);
            nrecords++;
        }
    }
    if (o->failed) {
        base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "cannot encode image: %s", o->why);
        out_free(o);
        return WAFT_ERR_NOMEM;
    }
    return WAFT_OK;
}

/* Captures and encodes; the image's borrowed pointers (linear memory, module bytes) are
 * referenced by `out`, so the store must not run until `out` is consumed. */
static waft_result encode_store(waft_store *store, const waft_instance *inst,
                                const waft_image_options *opt, img_out *out, waft_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    if (!store || !inst || inst->store != store)
        return WAFT_ERR_INVALID_ARG;
    waft_image *img = image_new(store->engine);
    if (!img)
        return WAFT_ERR_NOMEM;
    waft_result r = capture(store, inst, img, err);
    if (opt && opt->omit_module)
        img->module_bytes = NULL;
    if (opt && opt->omit_memory)
        img->memory_external = true;
    if (r == WAFT_OK)
        r = encode(img, opt, out, err);
    waft_image_free(img); /* its arrays were copied into `out`'s own buffers */
    return r;
}

WAFT_API waft_result waft_image_encode(waft_store *store, const waft_instance *instance,
                                       const waft_image_options *options, uint8_t **out_bytes,
                                       size_t *out_len, waft_error *out_err)
{
    if (!out_bytes || !out_len)
        return WAFT_ERR_INVALID_ARG;
    img_out out;
    waft_result r = encode_store(store, instance, options, &out, out_err);
    if (r != WAFT_OK)
        return r;
    *out_bytes = malloc(out.total ? out.total : 1);
    if (!*out_bytes) {
        out_free(&out);
        return WAFT_ERR_NOMEM;
    }
    size_t at = 0;
    for (uint32_t i = 0; i < out.niov; i++) {
        memcpy(*out_bytes + at, out.iov[i].p, out.iov[i].len);
        at += out.iov[i].len;
    }
    *out_len = out.total;
    out_free(&out);
    return WAFT_OK;
}

#if defined(WAFT_POSIX_FILES)
#include <sys/uio.h>

static waft_result write_iovs(int fd, const img_out *o)
{
    for (uint32_t i = 0; i < o->niov;) {
        struct iovec v[64];
        int n = 0;
        for (; n < 64 && i + (uint32_t)n < o->niov; n++) {
            v[n].iov_base = (void *)o->iov[i + (uint32_t)n].p;
            v[n].iov_len = o->iov[i + (uint32_t)n].len;
        }
        ssize_t w = writev(fd, v, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return WAFT_ERR_IO;
        }
        /* consume whole iovs; a partial one is finished with write() */
        size_t left = (size_t)w;
        while (left && i < o->niov) {
            size_t l = o->iov[i].len;
            if (left >= l) {
                left -= l;
                i++;
                continue;
            }
            const uint8_t *p = o->iov[i].p + left;
            size_t rest = l - left;
            while (rest) {
                ssize_t w2 = write(fd, p, rest);
                if (w2 < 0) {
                    if (errno == EINTR)
                        continue;
                    return WAFT_ERR_IO;
                }
                p += w2;
                rest -= (size_t)w2;
            }
            left = 0;
            i++;
        }
    }
    return WAFT_OK;
}
#endif

WAFT_API waft_result waft_image_save(waft_store *store, const waft_instance *instance,
                                     const char *path, const waft_image_options *options,
                                     waft_error *out_err)
{
    if (!path)
        return WAFT_ERR_INVALID_ARG;
    img_out out;
    waft_result r = encode_store(store, instance, options, &out, out_err);
    if (r != WAFT_OK)
        return r;
    size_t plen = strlen(path);
    char *tmp = base_malloc(store->alloc, plen + 8);
    if (!tmp) {
        out_free(&out);
        return WAFT_ERR_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
#if defined(WAFT_POSIX_FILES)
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", tmp, strerror(errno));
        r = WAFT_ERR_IO;
        goto done;
    }
    bool sync = !(options && options->no_sync);
    r = write_iovs(fd, &out);
    if (r == WAFT_OK && sync && fsync(fd) != 0)
        r = WAFT_ERR_IO;
    if (r != WAFT_OK)
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && r == WAFT_OK) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", tmp, strerror(errno));
        r = WAFT_ERR_IO;
    }
    if (r != WAFT_OK) {
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "rename %s: %s", path, strerror(errno));
        unlink(tmp);
        r = WAFT_ERR_IO;
        goto done;
    }
    /* make the rename itself durable */
    if (sync) {
        char *dir = base_malloc(store->alloc, plen + 2);
        if (dir) {
            memcpy(dir, path, plen + 1);
            char *slash = strrchr(dir, '/');
            if (slash)
                slash[slash == dir ? 1 : 0] = 0;
            else
                strcpy(dir, ".");
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            base_free(store->alloc, dir);
        }
    }
#else
    FILE *f = fopen(tmp, "wb");
    bool ok = f != NULL;
    for (uint32_t i = 0; ok && i < out.niov; i++)
        ok = fwrite(out.iov[i].p, 1, out.iov[i].len, f) == out.iov[i].len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "cannot write %s", path);
        r = WAFT_ERR_IO;
    }
#endif
done:
    base_free(store->alloc, tmp);
    out_free(&out);
    return r;
}

/* ==== Decoding ==== */

static waft_result bad(waft_error *err, const char *what, size_t off)
{
    base_error_set(err, WAFT_ERR_IMAGE, (int64_t)off, -1, "%s", what);
    return WAFT_ERR_IMAGE;
}

/* Fuzzing builds skip checksum verification, so that mutated inputs reach the record
 * parsers and restore instead of stopping at the first checksum. */
#if defined(WAFT_FUZZING)
#define CHECKSUM_BAD(a, b) ((void)(a), (void)(b), false)
#else
#define CHECKSUM_BAD(a, b) ((a) != (b))
#endif

/* Bytes a record's codec may allocate on behalf of `plen` bytes of (uncompressed) payload:
 * every array costs at most 8 bytes of memory per byte of the record that declares it
 * (codec_array), plus a little for the fixed parts. Derived from the record's own contents,
 * never from the file's size, so that a well-compressed record is read like a plain one. */
static size_t record_budget(size_t plen)
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
    if (ZSTD_getFrameContentSize(z, zlen) != raw) {
        why = "the compressed data does not declare the record's size";
        goto fail;
    }
    if (raw > SIZE_MAX / 2) {
        why = "too large for this host uncompressed";
        goto fail;
    }
    size_t cap = raw < ((size_t)1 << 20) ? (size_t)raw : ((size_t)1 << 20);
    buf = base_malloc(img->alloc, cap + 1);
    dctx = ZSTD_createDCtx();
    if (!buf || !dctx) {
        r = WAFT_ERR_NOMEM;
        why = "out of memory";
        goto fail;
    }
    ZSTD_inBuffer in = { z, zlen, 0 };
    ZSTD_outBuffer o = { buf, cap, 0 };
    for (;;) {
        size_t in_was = in.pos, out_was = o.pos;
        size_t left = ZSTD_decompressStream(dctx, &o, &in);
        if (ZSTD_isError(left)) {
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
    ZSTD_freeDCtx(dctx);
    if (!image_own(img, buf)) {
        base_free(img->alloc, buf);
        return bad(err, "out of memory", pos);
    }
    *out = buf;
    img->compressed = true;
    return WAFT_OK;
fail:
    ZSTD_freeDCtx(dctx);
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
 * per group, REC_MANY at most MAX_EXTS times. */
static waft_result check_repeat(const rec_desc *d, const char *tn, uint32_t seen[REC_GROUPS],
                                uint32_t *nmany, size_t pos, waft_error *err)
{
    char other[5];
    if (d->presence == REC_MANY) {
        if (++*nmany > MAX_EXTS) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos, -1, "record %s: more than %u of them",
                           tn, MAX_EXTS);
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

static waft_result decode(waft_image *img, const uint8_t *in, size_t len, waft_error *err)
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
        if (CHECKSUM_BAD(base_crc32c(0, in + body, (size_t)stored), crc)) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)(body + (size_t)stored), -1,
                           "record %s: checksum mismatch", tn);
            return WAFT_ERR_IMAGE;
        }
        if (flags & ~(uint16_t)(REC_REQUIRED | REC_COMPRESSED)) {
            base_error_set(err, WAFT_ERR_IMAGE, (int64_t)pos + 6, -1,
                           "record %s has unknown flags 0x%x", tn, (unsigned)flags);
            return WAFT_ERR_IMAGE;
        }
        const rec_desc *d = record_find(tag);
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
            codec_init_reader(&c, img->alloc, payload, plen, record_budget(plen));
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

WAFT_API waft_result waft_image_decode(waft_engine *engine, const uint8_t *bytes, size_t len,
                                       waft_image **out_image, waft_error *out_err)
{
    if (!engine || !out_image || (!bytes && len))
        return WAFT_ERR_INVALID_ARG;
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    *out_image = NULL;
    waft_image *img = image_new(engine);
    if (!img)
        return WAFT_ERR_NOMEM;
    uint8_t *copy = base_malloc(img->alloc, len ? len : 1);
    if (!copy || !image_own(img, copy)) {
        base_free(img->alloc, copy);
        waft_image_free(img);
        return WAFT_ERR_NOMEM;
    }
    if (len)
        memcpy(copy, bytes, len);
    waft_result r = decode(img, copy, len, out_err);
    if (r != WAFT_OK) {
        waft_image_free(img);
        return r;
    }
    *out_image = img;
    return WAFT_OK;
}

WAFT_API waft_result waft_image_load(waft_engine *engine, const char *path, waft_image **out_image,
                                     waft_error *out_err)
{
    if (!engine || !path || !out_image)
        return WAFT_ERR_INVALID_ARG;
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    *out_image = NULL;
#if defined(WAFT_POSIX_FILES)
    /* map the file and parse it in place: no copy of the (possibly huge) image */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", path, strerror(errno));
        return WAFT_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", path, strerror(errno));
        close(fd);
        return WAFT_ERR_IO;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX / 2) {
        close(fd);
        if (st.st_size == 0 && S_ISREG(st.st_mode))
            return bad(out_err, "not a waft image: empty file", 0);
        if (S_ISREG(st.st_mode)) /* a 32-bit host cannot map it */
            base_error_set(out_err, WAFT_ERR_IO, -1, -1,
                           "%s: %llu bytes is too large for this host", path,
                           (unsigned long long)st.st_size);
        else
            base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: not a regular file", path);
        return WAFT_ERR_IO;
    }
    size_t len = (size_t)st.st_size;
    int flags = MAP_PRIVATE;
#if defined(MAP_POPULATE)
    flags |= MAP_POPULATE;
#endif
    void *map = mmap(NULL, len, PROT_READ, flags, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", path, strerror(errno));
        return WAFT_ERR_IO;
    }
    waft_image *img = image_new(engine);
    if (!img) {
        munmap(map, len);
        return WAFT_ERR_NOMEM;
    }
    img->map = map;
    img->map_len = len;
    waft_result r = decode(img, map, len, out_err);
    if (r != WAFT_OK) {
        waft_image_free(img);
        return r;
    }
    *out_image = img;
    return WAFT_OK;
#else
    FILE *f = fopen(path, "rb");
    if (!f) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: cannot open", path);
        return WAFT_ERR_IO;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    waft_result r = WAFT_OK;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : (1u << 16);
            uint8_t *nb = base_realloc(&engine->alloc, buf, ncap);
            if (!nb) {
                r = WAFT_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: read error", path);
                r = WAFT_ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (r == WAFT_OK)
        r = waft_image_decode(engine, buf, len, out_image, out_err);
    base_free(&engine->alloc, buf);
    return r;
#endif
}

WAFT_API const uint8_t *waft_image_module(const waft_image *image, size_t *out_len)
{
    if (out_len)
        *out_len = image && image->module_bytes ? (size_t)image->module_len : 0;
    return image ? image->module_bytes : NULL;
}

WAFT_API void waft_image_get_info(const waft_image *img, waft_image_info *out)
{
    memset(out, 0, sizeof *out);
    out->version = img->version;
    memcpy(out->module_hash, img->module_hash, 32);
    out->module_size = img->module_len;
    out->module_embedded = img->module_bytes != NULL;
    out->nmemories = img->nmemories;
    for (uint32_t i = 0; i < img->nmemories; i++) {
        out->memory_bytes += (uint64_t)img->memories[i].pages * WAFT_PAGE_SIZE;
        out->memory_bytes_stored += img->memories[i].nstored * SNAP_CHUNK;
    }
    out->ntables = img->ntables;
    out->nglobals = img->nglobals;
    out->nframes = img->nframes;
    out->fuel = img->fuel;
    out->steps = img->steps;
    out->nextensions = img->nexts;
    out->image_size = img->image_size;
    out->compressed = img->compressed;
}

WAFT_API waft_result waft_image_frame(const waft_image *img, uint32_t depth, waft_frame_state *out)
{
    if (!img || !out || depth >= img->nframes)
        return WAFT_ERR_INVALID_ARG;
    const snap_frame *f = &img->frames[img->nframes - 1 - depth];
    memset(out, 0, sizeof *out);
    out->func = f->func;
    out->code_offset = f->offset;
    out->nlocals = f->nlocals;
    out->nvalues = f->nvalues;
    return WAFT_OK;
}

WAFT_API const char *waft_image_extension(const waft_image *img, uint32_t i, uint32_t *out_version,
                                          uint64_t *out_size)
{
    if (!img || i >= img->nexts)
        return NULL;
    if (out_version)
        *out_version = img->exts[i].version;
    if (out_size)
        *out_size = img->exts[i].len;
    return (const char *)img->exts[i].name;
}

/* ==== Restore ==== */

static waft_result restore_fail(waft_error *err, const char *fmt, uint32_t a, uint32_t b)
{
    base_error_set(err, WAFT_ERR_IMAGE, -1, -1, fmt, a, b);
    return WAFT_ERR_IMAGE;
}

static bool decode_ref(const waft_instance *inst, uint8_t type, uint64_t v, uint64_t *out)
{
    if (v == 0) {
        *out = 0;
        return true;
    }
    if (type == WAFT_EXTERNREF)
        return false;
    if (type == WAFT_FUNCREF) {
        if (v > inst->module->nfuncs)
            return false;
        *out = (uint64_t)inst->funcs[v - 1]->self + 1;
        return true;
    }
    *out = v;
    if ((type == WAFT_I32 || type == WAFT_F32) && (v >> 32) != 0)
        return false; /* 32-bit values are zero-extended */
    return true;
}

/* Sets every memory from the image: sizes and contents (MEMS), or the sizes alone (MEML:
 * the contents were written during a migration, and memories grow with zero pages up to
 * the image's size). */
static waft_result restore_memories(const waft_image *img, waft_instance *inst, waft_error *err)
{
    waft_store *s = inst->store;
    if (img->nmemories != inst->module->nmemories)
        return restore_fail(err, "image has %u memories, the module %u", img->nmemories,
                            inst->module->nmemories);
    for (uint32_t i = 0; i < img->nmemories; i++) {
        const snap_memory *sm = &img->memories[i];
        store_memory *m = inst->memories[i];
        if (sm->max_pages != m->max_pages || sm->has_max != m->has_max)
            return restore_fail(err, "memory %u: limits differ from the module's (max %u)", i,
                                m->max_pages);
        if (sm->pages > m->max_pages)
            return restore_fail(err, "memory %u: %u pages exceed the maximum", i, sm->pages);
        uint64_t bytes = (uint64_t)sm->pages * WAFT_PAGE_SIZE;
        if (bytes > SIZE_MAX / 2)
            return restore_fail(err, "memory %u: %u pages do not fit this host", i, sm->pages);
        if (img->memory_external) {
            if (sm->pages < m->pages)
                return restore_fail(err, "memory %u: the image has %u pages, fewer than sent", i,
                                    sm->pages);
            if (sm->pages > m->pages &&
                store_memory_grow(s, m, sm->pages - m->pages) == UINT32_MAX) {
                base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "memory %u: cannot allocate %u pages",
                               i, sm->pages);
                return WAFT_ERR_NOMEM;
            }
            continue;
        }
        if (store_memory_reset(s, m, sm->pages) != WAFT_OK) {
            base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "memory %u: cannot allocate %u pages", i,
                           sm->pages);
            return WAFT_ERR_NOMEM;
        }
        /* only the stored (non-zero) chunks are written: zero pages stay untouched */
        uint64_t nchunks = bytes / SNAP_CHUNK, k2 = 0;
        for (uint64_t k = 0; k < nchunks;) {
            if (!(sm->bitmap[k / 8] & (1u << (k % 8)))) {
                k++;
                continue;
            }
            uint64_t run = k;
            while (run < nchunks && (sm->bitmap[run / 8] & (1u << (run % 8))))
                run++;
            /* the bitmap was counted when the image was read; a mapped file changed since
             * (in place, by someone else) must not make us read past the chunks */
            if (run - k > sm->nstored - k2)
                return restore_fail(err, "memory %u: the image changed while it was read%.0u", i,
                                    0);
            memcpy(m->data + k * SNAP_CHUNK, sm->chunks + k2 * SNAP_CHUNK,
                   (size_t)((run - k) * SNAP_CHUNK));
            k2 += run - k;
            k = run;
        }
    }
    return WAFT_OK;
}

static waft_result restore_tables(const waft_image *img, waft_instance *inst, waft_error *err)
{
    waft_store *s = inst->store;
    if (img->ntables != inst->module->ntables)
        return restore_fail(err, "image has %u tables, the module %u", img->ntables,
                            inst->module->ntables);
    for (uint32_t i = 0; i < img->ntables; i++) {
        const snap_table *st = &img->tables[i];
        store_table *t = inst->tables[i];
        if (st->elem_type != t->elem_type || st->max != t->max || st->has_max != t->has_max)
            return restore_fail(err, "table %u: type or limits differ from the module's%.0u", i, 0);
        if (st->size > t->max || st->size > DEC_MAX_TABLE)
            return restore_fail(err, "table %u: size %u exceeds its maximum", i, st->size);
        if (st->size != t->size) {
            waft_ref *e = base_realloc(s->alloc, t->elems, ((size_t)st->size + 1) * sizeof *e);
            if (!e) {
                base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory");
                return WAFT_ERR_NOMEM;
            }
            t->elems = e;
            t->size = st->size;
        }
        for (uint32_t k = 0; k < st->size; k++) {
            uint64_t v;
            if (!decode_ref(inst, t->elem_type, st->elems[k], &v))
                return restore_fail(err, "table %u element %u is not a valid reference", i, k);
            t->elems[k] = v;
        }
    }
    return WAFT_OK;
}

static waft_result restore_globals(const waft_image *img, waft_instance *inst, waft_error *err)
{
    const waft_module *m = inst->module;
    if (img->nglobals != m->nglobals)
        return restore_fail(err, "image has %u globals, the module %u", img->nglobals, m->nglobals);
    for (uint32_t i = 0; i < img->nglobals; i++) {
        const snap_global *sg = &img->globals[i];
        store_global *g = inst->globals[i];
        if (sg->type != g->type || sg->mutable_ != g->mutable_)
            return restore_fail(err, "global %u: type differs from the module's%.0u", i, 0);
        uint64_t v;
        if (!decode_ref(inst, g->type, sg->value, &v))
            return restore_fail(err, "global %u holds an invalid value%.0u", i, 0);
        if (!g->mutable_ && v != g->value && i >= m->nglobal_imports)
            return restore_fail(err, "immutable global %u differs from its initializer%.0u", i, 0);
        if (g->mutable_)
            g->value = v;
    }
    return WAFT_OK;
}

static waft_result restore_segments(const waft_image *img, waft_instance *inst, waft_error *err)
{
    const waft_module *m = inst->module;
    if (img->nelems != m->nelems || img->ndatas != m->ndatas)
        return restore_fail(err, "image has %u element and %u data segments; the module differs",
                            img->nelems, img->ndatas);
    for (uint32_t i = 0; i < m->nelems; i++)
        inst->elems[i].count = (img->elem_dropped[i] || m->elems[i].mode == DEC_SEG_DECLARATIVE)
                                   ? 0
                                   : m->elems[i].count;
    for (uint32_t i = 0; i < m->ndatas; i++)
        inst->data_dropped[i] = img->data_dropped[i];
    return WAFT_OK;
}

static waft_result restore_frames(const waft_image *img, waft_instance *inst, waft_error *err)
{
    waft_store *s = inst->store;
    const waft_module *m = inst->module;
    if (img->nframes > s->max_frames)
        return restore_fail(err, "%u frames exceed this store's call-depth limit %u", img->nframes,
                            s->max_frames);
    uint8_t *types = base_malloc(s->alloc, (size_t)s->stack_slots + 1);
    if (!types)
        return WAFT_ERR_NOMEM;
    waft_result r = WAFT_OK;
    uint64_t fp = 0;
    for (uint32_t i = 0; i < img->nframes && r == WAFT_OK; i++) {
        const snap_frame *sf = &img->frames[i];
        bool top = i + 1 == img->nframes;
        if (sf->func < m->nfunc_imports || sf->func >= m->nfuncs) {
            r = restore_fail(err, "frame %u: function %u is not defined by the module", i,
                             sf->func);
            break;
        }
        const store_func *f = inst->funcs[sf->func];
        const icode_func *code = f->code;
        if (sf->nlocals != code->nlocals) {
            r = restore_fail(err, "frame %u: %u locals, the function has a different count", i,
                             sf->nlocals);
            break;
        }
        uint32_t pc;
        if (!icode_pc_of(code, sf->offset, &pc)) {
            r = restore_fail(err, "frame %u: offset 0x%x is not a resumable instruction", i,
                             sf->offset);
            break;
        }
        uint32_t ntypes;
        if (val_stack_at(m, sf->func, sf->offset, types, s->stack_slots, &ntypes) != WAFT_OK) {
            r = restore_fail(err, "frame %u: offset 0x%x is not a resumable instruction", i,
                             sf->offset);
            break;
        }
        uint32_t expect = sf->nvalues;
        if (!top) {
            /* a caller stopped at its call: the callee must be what the call names */
            const snap_frame *callee = &img->frames[i + 1];
            const dec_functype *ct = dec_func_type(m, callee->func < m->nfuncs ? callee->func : 0);
            if (code->code[pc] == OP_CALL) {
                if (code->code[pc + 1] != callee->func) {
                    r = restore_fail(err, "frame %u calls function %u, not the next frame's", i,
                                     code->code[pc + 1]);
                    break;
                }
            } else if (code->code[pc] == OP_CALL_INDIRECT) {
                const dec_functype *want = &m->types[code->code[pc + 1]];
                if (callee->func >= m->nfuncs || want->nparams != ct->nparams ||
                    want->nresults != ct->nresults ||
                    memcmp(want->types, ct->types, ct->nparams + ct->nresults) != 0) {
                    r = restore_fail(err, "frame %u: indirect call type does not match frame %u", i,
                                     i + 1);
                    break;
                }
            } else {
                r = restore_fail(err, "frame %u: offset 0x%x is not a call", i, sf->offset);
                break;
            }
            /* before the call: the caller's values, the arguments, and for call_indirect the
             * table index */
            expect = sf->nvalues + ct->nparams + (code->code[pc] == OP_CALL_INDIRECT ? 1 : 0);
            pc += icode_length(code->code + pc);
        }
        if (ntypes != expect) {
            r = restore_fail(err, "frame %u: %u operand values, the code has another height", i,
                             sf->nvalues);
            break;
        }
        if (fp + code->max_height > s->stack_slots) {
            r = restore_fail(err, "frame %u: the stack exceeds this store's %u slots", i,
                             s->stack_slots);
            break;
        }
        const dec_functype *ft = dec_func_type(m, sf->func);
        const dec_code *dc = &m->codes[sf->func - m->nfunc_imports];
        for (uint64_t k = 0; k < (uint64_t)sf->nlocals + sf->nvalues; k++) {
            uint8_t t = k < ft->nparams   ? ft->types[k]
                        : k < sf->nlocals ? dc->local_types[k - ft->nparams]
                                          : types[k - sf->nlocals];
            uint64_t v;
            if (!decode_ref(inst, t, sf->slots[k], &v)) {
                r = restore_fail(err, "frame %u slot %u holds an invalid value", i, (uint32_t)k);
                break;
            }
            s->stack[fp + k] = v;
        }
        if (r != WAFT_OK)
            break;
        if (i > 0) {
            /* the caller's arguments are this frame's first locals */
            const snap_frame *caller = &img->frames[i - 1];
            (void)caller;
        }
        store_frame *fr = &s->frames[i];
        fr->func = f->self;
        fr->pc = pc;
        fr->fp = (uint32_t)fp;
        fr->sp = (uint32_t)(fp + sf->nlocals + sf->nvalues);
        fp = fr->sp;
    }
    base_free(s->alloc, types);
    if (r != WAFT_OK)
        return r;
    s->nframes = img->nframes;
    s->suspended = img->nframes > 0;
    s->susp_base = 0;
    s->susp_func = img->nframes ? s->frames[0].func : 0;
    s->stop = WAFT_STOP_NONE;
    return WAFT_OK;
}

static waft_result restore_exts(const waft_image *img, waft_store *s, waft_error *err)
{
    for (uint32_t i = 0; i < img->nexts; i++) {
        const snap_ext *e = &img->exts[i];
        store_ext *x = NULL;
        for (uint32_t k = 0; k < s->nexts; k++)
            if (strlen(s->exts[k].name) == e->name_len &&
                memcmp(s->exts[k].name, e->name, e->name_len) == 0)
                x = &s->exts[k];
        if (!x) {
            char shown[SNAP_EXT_NAME_SHOWN]; /* the name is the image's: printable only */
            snap_name_escape(e->name, e->name_len, shown);
            base_error_set(err, WAFT_ERR_IMAGE, -1, -1,
                           "image holds \"%s\" state, but nothing here can restore it", shown);
            return WAFT_ERR_IMAGE;
        }
        if (e->version > x->version) {
            base_error_set(err, WAFT_ERR_IMAGE, -1, -1,
                           "image holds %s state version %u; this waft reads up to %u", x->name,
                           e->version, x->version);
            return WAFT_ERR_IMAGE;
        }
        base_codec c;
        codec_init_reader(&c, s->alloc, e->payload, e->len, record_budget(e->len));
        waft_result r = x->load(&c, x->ctx);
        if (r == WAFT_OK && !c.failed && !codec_at_end(&c))
            codec_fail(&c, "trailing bytes");
        if (r != WAFT_OK || c.failed) {
            /* the extension tells a damaged record (WAFT_ERR_IMAGE) from a world that no
             * longer matches it (e.g. a file gone: WAFT_ERR_RESTORE) */
            waft_result code = r != WAFT_OK ? r : WAFT_ERR_IMAGE;
            base_error_set(err, code, -1, -1, "%s: %s", x->name,
                           c.failed ? c.why : waft_result_str(r));
            return code;
        }
    }
    return WAFT_OK;
}

static waft_result check_module(const waft_image *img, const waft_module *module, waft_error *err)
{
    uint8_t hash[32];
    waft_module_hash(module, hash);
    if (memcmp(hash, img->module_hash, 32) != 0) {
        base_error_set(err, WAFT_ERR_IMAGE, -1, -1,
                       "the module is not the one the image was taken from (hash differs)");
        return WAFT_ERR_IMAGE;
    }
    return WAFT_OK;
}

static waft_result instantiate_idle(waft_store *store, const waft_module *module,
                                    const waft_extern *imports, uint32_t nimports,
                                    waft_instance **out, waft_error *err)
{
    if (store->nframes != 0 || store->suspended) {
        base_error_set(err, WAFT_ERR_STATE, -1, -1, "the store is running a call");
        return WAFT_ERR_STATE;
    }
    waft_instance *inst = NULL;
    waft_result r = store_instantiate(store, module, imports, nimports, &inst, err);
    if (r == WAFT_TRAPPED)
        r = WAFT_OK; /* segments are overwritten by the restore; a restore never runs start */
    if (r != WAFT_OK)
        return r;
    if (!inst) {
        base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "cannot instantiate");
        return WAFT_ERR_NOMEM;
    }
    *out = inst;
    return WAFT_OK;
}

/* Everything but instantiation: memories (unless held elsewhere), tables, globals,
 * segments, extensions, frames, fuel. */
static waft_result restore_state(const waft_image *img, waft_instance *inst, waft_error *err)
{
    waft_store *store = inst->store;
    waft_result r = restore_memories(img, inst, err);
    if (r == WAFT_OK)
        r = restore_tables(img, inst, err);
    if (r == WAFT_OK)
        r = restore_globals(img, inst, err);
    if (r == WAFT_OK)
        r = restore_segments(img, inst, err);
    if (r == WAFT_OK)
        r = restore_exts(img, store, err);
    if (r == WAFT_OK)
        r = restore_frames(img, inst, err);
    if (r != WAFT_OK)
        return r;
    store->fuel = img->fuel;
    store->steps = img->steps;
    return WAFT_OK;
}

WAFT_API waft_result waft_image_restore(const waft_image *img, waft_store *store,
                                        const waft_module *module, const waft_extern *imports,
                                        uint32_t nimports, waft_instance **out_instance,
                                        waft_error *out_err)
{
    if (!img || !store || !module || !out_instance || (nimports && !imports))
        return WAFT_ERR_INVALID_ARG;
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    *out_instance = NULL;
    if (img->memory_external) {
        base_error_set(out_err, WAFT_ERR_IMAGE, -1, -1,
                       "the image holds no memory contents (a migration state); it cannot be "
                       "restored on its own");
        return WAFT_ERR_IMAGE;
    }
    waft_result r = check_module(img, module, out_err);
    waft_instance *inst = NULL;
    if (r == WAFT_OK)
        r = instantiate_idle(store, module, imports, nimports, &inst, out_err);
    if (r == WAFT_OK)
        r = restore_state(img, inst, out_err);
    if (r == WAFT_OK)
        *out_instance = inst;
    return r;
}

WAFT_API waft_result waft_instance_prepare(waft_store *store, const waft_module *module,
                                           const waft_extern *imports, uint32_t nimports,
                                           waft_instance **out_instance, waft_error *out_err)
{
    if (!store || !module || !out_instance || (nimports && !imports))
        return WAFT_ERR_INVALID_ARG;
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    *out_instance = NULL;
    waft_instance *inst = NULL;
    waft_result r = instantiate_idle(store, module, imports, nimports, &inst, out_err);
    if (r != WAFT_OK)
        return r;
    /* memories start all zero: the migration sends every page that is not */
    for (uint32_t i = 0; i < module->nmemories; i++) {
        store_memory *m = inst->memories[i];
        if (store_memory_reset(store, m, m->pages) != WAFT_OK) {
            base_error_set(out_err, WAFT_ERR_NOMEM, -1, -1, "memory %u: cannot reset", i);
            return WAFT_ERR_NOMEM;
        }
    }
    *out_instance = inst;
    return WAFT_OK;
}

WAFT_API waft_result waft_image_restore_into(const waft_image *img, waft_instance *instance,
                                             waft_error *out_err)
{
    if (!img || !instance)
        return WAFT_ERR_INVALID_ARG;
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    waft_store *store = instance->store;
    if (store->nframes != 0 || store->suspended) {
        base_error_set(out_err, WAFT_ERR_STATE, -1, -1, "the store is running a call");
        return WAFT_ERR_STATE;
    }
    waft_result r = check_module(img, instance->module, out_err);
    if (r == WAFT_OK)
        r = restore_state(img, instance, out_err);
    return r;
}

WAFT_API uint32_t waft_crc32c(uint32_t crc, const void *data, size_t len)
{
    return base_crc32c(crc, data, len);
}
