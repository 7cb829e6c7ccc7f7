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

static void rec_module(base_codec *c, waft_image *img)
{
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

static void rec_tables(base_codec *c, waft_image *img)
{
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

static void rec_globals(base_codec *c, waft_image *img)
{
    codec_u32(c, &img->nglobals);
    img->globals =
        codec_array(c, img->alloc, img->globals, img->nglobals, sizeof *img->globals, 10);
    for (uint32_t i = 0; i < img->nglobals && !c->failed; i++) {
        codec_u8(c, &img->globals[i].type);
        codec_bool(c, &img->globals[i].mutable_);
        codec_u64(c, &img->globals[i].value);
    }
}

static void rec_segments(base_codec *c, waft_image *img)
{
    codec_u32(c, &img->nelems);
    img->elem_dropped = codec_array(c, img->alloc, img->elem_dropped, img->nelems, 1, 1);
    for (uint32_t i = 0; i < img->nelems && !c->failed; i++)
        codec_bool(c, &img->elem_dropped[i]);
    codec_u32(c, &img->ndatas);
    img->data_dropped = codec_array(c, img->alloc, img->data_dropped, img->ndatas, 1, 1);
    for (uint32_t i = 0; i < img->ndatas && !c->failed; i++)
        codec_bool(c, &img->data_dropped[i]);
}

static void rec_frames(base_codec *c, waft_image *img)
{
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

static void rec_exec(base_codec *c, waft_image *img)
{
    codec_u64(c, &img->fuel);
    codec_u64(c, &img->steps);
}

static void rec_ext(base_codec *c, snap_ext *e)
{
    codec_blob(c, &e->name, &e->name_len, 32);
    codec_u32(c, &e->version);
    codec_blob(c, &e->payload, &e->len, UINT32_MAX);
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
static void put_record(img_out *o, uint32_t tag, uint16_t flags, base_codec *payload,
                       const waft_image_options *opt)
{
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
    if (opt && opt->compress && raw >= 256) {
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
    base_store32(head, tag);
    base_store16(head + 4, 1);
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

typedef void (*rec_fn)(base_codec *c, waft_image *img);

static void put_simple(img_out *o, uint32_t tag, rec_fn fn, waft_image *img,
                       const waft_image_options *opt)
{
    base_codec p;
    codec_init_writer(&p, o->a);
    fn(&p, img);
    put_record(o, tag, REC_REQUIRED, &p, opt);
}

static waft_result encode(waft_store *s, waft_image *img, const waft_image_options *opt, img_out *o,
                          waft_error *err)
{
    memset(o, 0, sizeof *o);
    o->a = s->alloc;
    uint8_t head[HEADER_SIZE] = { 0 };
    memcpy(head, image_magic, 8);
    base_store32(head + 8, WAFT_IMAGE_VERSION);
    base_store32(head + 12, ORDER_PROBE);
    base_store64(head + 16, F64_PROBE);
    base_store32(head + 24, base_crc32c(0, head, 24));
    out_copy(o, head, sizeof head);
    o->crc_chain = base_crc32c(0, head, sizeof head);

    put_simple(o, TAG_MODULE, rec_module, img, NULL);
    put_simple(o, img->memory_external ? TAG_MEMORY_LAYOUT : TAG_MEMORY, rec_memories, img, opt);
    put_simple(o, TAG_TABLES, rec_tables, img, opt);
    put_simple(o, TAG_GLOBALS, rec_globals, img, NULL);
    put_simple(o, TAG_SEGMENTS, rec_segments, img, NULL);
    put_simple(o, TAG_FRAMES, rec_frames, img, opt);
    put_simple(o, TAG_EXEC, rec_exec, img, NULL);
    uint32_t nrecords = 7;
    for (uint32_t i = 0; i < s->nexts && !o->failed; i++) {
        store_ext *e = &s->exts[i];
        base_codec body;
        codec_init_writer(&body, s->alloc);
        waft_result r = e->save(&body, e->ctx);
        if (r != WAFT_OK && !body.failed)
            codec_fail(&body, "%s: %s", e->name, waft_result_str(r));
        if (body.failed || body.len > UINT32_MAX) {
            base_error_set(err, r != WAFT_OK ? r : WAFT_ERR_STATE, -1, -1,
                           "saving extension %s: %s", e->name,
                           body.failed ? body.why : "state larger than 4 GiB");
            codec_free(&body);
            out_free(o);
            return r != WAFT_OK ? r : WAFT_ERR_STATE;
        }
        snap_ext x = { .name = (uint8_t *)e->name,
                       .name_len = (uint32_t)strlen(e->name),
                       .version = e->version,
                       .payload = body.buf,
                       .len = (uint32_t)body.len };
        base_codec p;
        codec_init_writer(&p, s->alloc);
        rec_ext(&p, &x);
        codec_free(&body);
        put_record(o, TAG_EXT, REC_REQUIRED, &p, opt);
        nrecords++;
    }
    /* END: checksum of everything before it */
    base_codec p;
    codec_init_writer(&p, s->alloc);
    uint32_t all = o->crc_chain;
    codec_u32(&p, &all);
    codec_u32(&p, &nrecords);
    put_record(o, TAG_END, REC_REQUIRED, &p, NULL);
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
        r = encode(store, img, opt, out, err);
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
    /* budget for allocations the image can cause: proportional to its size, plus the
     * memory it describes (pages are checked separately against 4 GiB each) */
    size_t budget = len * 4 + (1u << 20);
    uint32_t seen = 0, nrecords = 0;
    size_t pos = HEADER_SIZE;
    /* the END checksum covers the file header and every earlier record's header and
     * checksum (each payload being covered by its own checksum) */
    uint32_t chain = base_crc32c(0, in, HEADER_SIZE);
    bool ended = false;
    while (!ended) {
        if (len - pos < RECORD_HEAD)
            return bad(err, "truncated: record header expected", pos);
        const uint8_t *h = in + pos;
        uint32_t tag = base_load32(h);
        uint16_t flags = base_load16(h + 6);
        uint64_t stored = base_load64(h + 8), raw = base_load64(h + 16);
        char tn[5];
        tag_name(tag, tn);
        size_t body = pos + RECORD_HEAD;
        if (stored > len - body || len - body - (size_t)stored < RECORD_TAIL) {
            char msg[96];
            snprintf(msg, sizeof msg, "record %s: truncated (%llu bytes declared)", tn,
                     (unsigned long long)stored);
            return bad(err, msg, pos);
        }
        uint32_t crc = base_load32(in + body + stored);
        if (CHECKSUM_BAD(base_crc32c(0, in + body, (size_t)stored), crc)) {
            char msg[64];
            snprintf(msg, sizeof msg, "record %s: checksum mismatch", tn);
            return bad(err, msg, body + (size_t)stored);
        }
        const uint8_t *payload = in + body;
        size_t plen = (size_t)stored;
        if (flags & REC_COMPRESSED) {
#if defined(WAFT_HAVE_ZSTD)
            if (raw > budget || raw > (uint64_t)SIZE_MAX / 2) {
                char msg[80];
                snprintf(msg, sizeof msg, "record %s: implausible uncompressed size", tn);
                return bad(err, msg, pos);
            }
            uint8_t *z = base_malloc(img->alloc, (size_t)raw + 1);
            if (!z || !image_own(img, z)) {
                base_free(img->alloc, z);
                return bad(err, "out of memory", pos);
            }
            budget -= (size_t)raw;
            size_t got = ZSTD_decompress(z, (size_t)raw, payload, plen);
            if (ZSTD_isError(got) || got != raw) {
                char msg[80];
                snprintf(msg, sizeof msg, "record %s: bad compressed data", tn);
                return bad(err, msg, pos);
            }
            payload = z;
            plen = (size_t)raw;
            img->compressed = true;
#else
            return bad(err, "compressed image, but this waft was built without zstd", pos);
#endif
        } else if (raw != stored) {
            return bad(err, "record sizes disagree", pos);
        }
        if (flags & ~(uint16_t)(REC_REQUIRED | REC_COMPRESSED))
            return bad(err, "record has unknown flags", pos + 6);
        base_codec c;
        codec_init_reader(&c, img->alloc, payload, plen, budget);
        uint32_t bit = 0;
        switch (tag) {
        case TAG_MODULE:
            rec_module(&c, img);
            bit = 1;
            break;
        case TAG_MEMORY:
        case TAG_MEMORY_LAYOUT:
            img->memory_external = tag == TAG_MEMORY_LAYOUT;
            rec_memories(&c, img);
            bit = 2;
            break;
        case TAG_TABLES:
            rec_tables(&c, img);
            bit = 4;
            break;
        case TAG_GLOBALS:
            rec_globals(&c, img);
            bit = 8;
            break;
        case TAG_SEGMENTS:
            rec_segments(&c, img);
            bit = 16;
            break;
        case TAG_FRAMES:
            rec_frames(&c, img);
            bit = 32;
            break;
        case TAG_EXEC:
            rec_exec(&c, img);
            bit = 64;
            break;
        case TAG_EXT: {
            if (img->nexts >= MAX_EXTS)
                return bad(err, "too many extension records", pos);
            if (!base_grow(img->alloc, (void **)&img->exts, &(uint32_t){ img->nexts },
                           img->nexts + 1, sizeof *img->exts))
                return bad(err, "out of memory", pos);
            snap_ext *e = &img->exts[img->nexts++];
            memset(e, 0, sizeof *e);
            rec_ext(&c, e);
            break;
        }
        case TAG_END:
            codec_u32(&c, &crc);
            codec_u32(&c, &nrecords);
            if (!c.failed && CHECKSUM_BAD(crc, chain))
                return bad(err, "image checksum mismatch", pos);
            ended = true;
            break;
        default:
            if (flags & REC_REQUIRED) {
                char msg[80];
                snprintf(msg, sizeof msg, "unknown required record %s", tn);
                return bad(err, msg, pos);
            }
            c.pos = c.in_len; /* optional: skip */
            break;
        }
        if (bit && (seen & bit)) {
            char msg[64];
            snprintf(msg, sizeof msg, "record %s appears twice", tn);
            return bad(err, msg, pos);
        }
        seen |= bit;
        if (c.failed) {
            char msg[200];
            snprintf(msg, sizeof msg, "record %s: %s", tn, c.why);
            return bad(err, msg, body + c.fail_pos);
        }
        if (!codec_at_end(&c)) {
            char msg[64];
            snprintf(msg, sizeof msg, "record %s: trailing bytes", tn);
            return bad(err, msg, body + c.pos);
        }
        budget = c.alloc_budget;
        chain = base_crc32c(chain, in + pos, RECORD_HEAD);
        chain = base_crc32c(chain, in + body + (size_t)stored, RECORD_TAIL);
        pos = body + (size_t)stored + RECORD_TAIL;
    }
    if (pos != len)
        return bad(err, "bytes after the END record", pos);
    if (seen != 127)
        return bad(err, "a required record is missing", pos);
    (void)nrecords;
    return WAFT_OK;
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
            base_error_set(err, WAFT_ERR_IMAGE, -1, -1,
                           "image holds %s state, but nothing here can restore it",
                           (const char *)e->name);
            return WAFT_ERR_IMAGE;
        }
        if (e->version > x->version) {
            base_error_set(err, WAFT_ERR_IMAGE, -1, -1,
                           "image holds %s state version %u; this waft reads up to %u", x->name,
                           e->version, x->version);
            return WAFT_ERR_IMAGE;
        }
        base_codec c;
        codec_init_reader(&c, s->alloc, e->payload, e->len, (size_t)e->len * 4 + (1u << 20));
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
