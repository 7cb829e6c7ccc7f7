/* SPDX-License-Identifier: MIT */
/* capture.c - an image's contents taken from a store: memories, tables, globals, segments,
 * the suspended call stack and every registered extension's state; and the registry of
 * extension state (waft_store_add_state).
 *
 * Invariants:
 *  - Capture does not change the store; the image borrows linear memory and the module's
 *    bytes (they are written out before the store runs again).
 *  - References are translated to module function indices + 1; a reference that cannot be
 *    saved (externref, another instance's function) fails the capture with a message.
 */
#include "snapshot/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(waft_error *err, waft_result code, const char *fmt, const char *a,
                    const char *b)
{
    base_error_set(err, code, -1, -1, fmt, a, b);
}

WAFT_API waft_result waft_store_add_state(waft_store *store, const char *name, uint32_t version,
                                          waft_state_fn save, waft_state_fn load, void *ctx)
{
    if (!store || !name || !save || !load || strlen(name) == 0 || strlen(name) > 32)
        return WAFT_ERR_INVALID_ARG;
    for (uint32_t i = 0; i < store->nexts; i++)
        if (strcmp(store->exts[i].name, name) == 0)
            return WAFT_ERR_INVALID_ARG;
    if (store->nexts >= SNAP_MAX_EXTS)
        return WAFT_ERR_LIMIT; /* the reader takes no more: its images would not restore */
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

waft_result snap_capture(waft_store *s, const waft_instance *inst, waft_image *img, waft_error *err)
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
