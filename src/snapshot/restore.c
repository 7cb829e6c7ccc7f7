/* SPDX-License-Identifier: MIT */
/* restore.c - an image put back into a store: instantiation without the start function,
 * then memories, tables, globals, segments, extensions and the suspended call stack, each
 * checked against the module.
 *
 * Invariants:
 *  - Nothing from the image is used before it was checked against the module (counts,
 *    types, limits, instruction boundaries, operand heights and types, call targets,
 *    reference ranges); a failed restore leaves a store that must be freed.
 */
#include "snapshot/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif

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

/* ==== Memory from a MEMA record ==== */

/* More runs of stored pages than this in one memory are copied rather than mapped: each
 * run is a mapping of its own, and a process has a few tens of thousands. */
#define MAP_RUNS_MAX 16384u

static bool stored_at(const snap_memory *sm, uint64_t k)
{
    return (sm->bitmap[k / 8] >> (k % 8)) & 1u;
}

static uint64_t count_runs(const snap_memory *sm, uint64_t nchunks)
{
    uint64_t runs = 0;
    for (uint64_t k = 0; k < nchunks; k++)
        runs += stored_at(sm, k) && (k == 0 || !stored_at(sm, k - 1));
    return runs;
}

/* Checks memory i's stored pages (back to back at sm->chunks) MiB by MiB against MEMA's
 * checksums; with `dst`, copies them into place as it goes; with `drop`, gives the pages of
 * the image's own mapping back once checked (the resident size stays small). */
static waft_result check_pages(const snap_memory *sm, uint32_t i, uint8_t *dst, bool drop,
                               waft_error *err)
{
    uint64_t nchunks = (uint64_t)sm->pages * (WAFT_PAGE_SIZE / SNAP_CHUNK), k2 = 0;
    uint64_t ngran = (nchunks + SNAP_GRANULE_CHUNKS - 1) / SNAP_GRANULE_CHUNKS;
    for (uint64_t g = 0; g < ngran; g++) {
        uint64_t end = (g + 1) * SNAP_GRANULE_CHUNKS, from = k2;
        uint32_t crc = 0;
        if (end > nchunks)
            end = nchunks;
        for (uint64_t k = g * SNAP_GRANULE_CHUNKS; k < end;) {
            if (!stored_at(sm, k)) {
                k++;
                continue;
            }
            uint64_t run = k;
            while (run < end && stored_at(sm, run))
                run++;
            if (run - k > sm->nstored - k2)
                return restore_fail(err, "memory %u: the image changed while it was read%.0u", i,
                                    0);
            const uint8_t *src = sm->chunks + k2 * SNAP_CHUNK;
            size_t len = (size_t)((run - k) * SNAP_CHUNK);
            crc = base_crc32c(crc, src, len);
            if (dst)
                memcpy(dst + k * SNAP_CHUNK, src, len);
            k2 += run - k;
            k = run;
        }
        if (SNAP_CHECKSUM_BAD(crc, base_load32(sm->granule_crcs + 4 * g))) {
            base_error_set(err, WAFT_ERR_IMAGE, -1, -1,
                           "memory %u: bytes 0x%llx-0x%llx do not match their checksum (the "
                           "image is damaged)",
                           i, (unsigned long long)(g << SNAP_GRANULE_SHIFT),
                           (unsigned long long)(((g + 1) << SNAP_GRANULE_SHIFT) - 1));
            return WAFT_ERR_IMAGE;
        }
#if defined(MADV_DONTNEED)
        if (drop && k2 > from)
            madvise((void *)(sm->chunks + from * SNAP_CHUNK), (size_t)((k2 - from) * SNAP_CHUNK),
                    MADV_DONTNEED);
#else
        (void)drop, (void)from;
#endif
    }
    return WAFT_OK;
}

/* Maps memory i's stored pages from the image file (copy-on-write), checked up front or
 * (`lazy`) where first touched. False if it could not be mapped: the memory is then
 * reset to zeros for the caller to copy into. */
static waft_result map_pages(const waft_image *img, const snap_memory *sm, uint32_t i,
                             waft_store *s, store_memory *m, waft_error *err, bool *out_mapped)
{
    *out_mapped = false;
    uint64_t nchunks = (uint64_t)sm->pages * (WAFT_PAGE_SIZE / SNAP_CHUNK);
    uint64_t ngran = (nchunks + SNAP_GRANULE_CHUNKS - 1) / SNAP_GRANULE_CHUNKS;
    bool lazy = false;
    if (img->memory_restore == WAFT_MEMORY_MAP_LAZY) {
        uint32_t *crcs = base_malloc(img->alloc, (size_t)ngran * sizeof *crcs + 1);
        if (crcs) {
            for (uint64_t g = 0; g < ngran; g++)
                crcs[g] = base_load32(sm->granule_crcs + 4 * g);
            lazy = store_memory_lazy(m, sm->bitmap, crcs, ngran, img->path);
            base_free(img->alloc, crcs);
        }
    }
    if (!lazy) {
        waft_result r = check_pages(sm, i, NULL, img->map != NULL, err);
        if (r != WAFT_OK)
            return r;
    }
    uint64_t k2 = 0;
    for (uint64_t k = 0; k < nchunks;) {
        if (!stored_at(sm, k)) {
            k++;
            continue;
        }
        uint64_t run = k;
        while (run < nchunks && stored_at(sm, run))
            run++;
        if (run - k > sm->nstored - k2 ||
            !store_memory_map_file(m, k * SNAP_CHUNK, (run - k) * SNAP_CHUNK, img->fd,
                                   sm->chunks_at + k2 * SNAP_CHUNK, lazy)) {
            /* back to zero anonymous memory: the caller copies */
            if (store_memory_reset(s, m, sm->pages) != WAFT_OK) {
                base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "memory %u: cannot allocate %u pages",
                               i, sm->pages);
                return WAFT_ERR_NOMEM;
            }
            return WAFT_OK;
        }
        k2 += run - k;
        k = run;
    }
    *out_mapped = true;
    return WAFT_OK;
}

/* MEMA: memory i's pages mapped from the file where that can be done, else copied; checked
 * either way (img->memory_restore). */
static waft_result restore_pages(const waft_image *img, const snap_memory *sm, uint32_t i,
                                 waft_store *s, store_memory *m, waft_error *err)
{
    uint64_t nchunks = (uint64_t)sm->pages * (WAFT_PAGE_SIZE / SNAP_CHUNK);
    if (img->memory_restore != WAFT_MEMORY_COPY && img->fd >= 0 && sm->nstored &&
        sm->chunks_at % SNAP_CHUNK == 0 && store_memory_can_map(m) &&
        count_runs(sm, nchunks) <= MAP_RUNS_MAX) {
        bool mapped;
        waft_result r = map_pages(img, sm, i, s, m, err, &mapped);
        if (r != WAFT_OK || mapped)
            return r;
    }
    /* copied: the image's pages are given back as they are copied (reading them again
     * reads the file: they were never written) */
    return check_pages(sm, i, m->data, img->map != NULL, err);
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
        if (img->memory_aligned) {
            waft_result r = restore_pages(img, sm, i, s, m, err);
            if (r != WAFT_OK)
                return r;
            continue;
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
        codec_init_reader(&c, s->alloc, e->payload, e->len, snap_record_budget(e->len));
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
