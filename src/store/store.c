/* SPDX-License-Identifier: MIT */
/* store.c - store objects, import matching and instantiation (spec 4.5). */
#include "store/store.h"

#include <stdio.h>

#if STORE_MMAP
#include <sys/mman.h>
#define STORE_HUGE_MIN ((uint64_t)32 << 20) /* memories from this size use huge pages */
#endif

/* ==== Store ==== */

waft_result store_new(waft_engine *engine, waft_store **out)
{
    base_alloc *a = &engine->alloc;
    waft_store *s = base_calloc(a, 1, sizeof *s);
    if (!s)
        return WAFT_ERR_NOMEM;
    s->engine = engine;
    s->alloc = a;
    s->stack_slots = engine->config.max_stack_slots;
    s->max_frames = engine->config.max_call_depth;
    /* base_calloc's overflow check without its zeroing: on a 32-bit host a large
     * configured limit must fail here, not wrap to a small block */
    size_t nslots = s->stack_slots, nframes = s->max_frames; /* size_t: no type-limits noise */
    if (nslots <= SIZE_MAX / sizeof *s->stack)
        s->stack = base_malloc(a, nslots * sizeof *s->stack);
    if (nframes <= SIZE_MAX / sizeof *s->frames)
        s->frames = base_malloc(a, nframes * sizeof *s->frames);
    if (!s->stack || !s->frames) {
        store_free(s);
        return WAFT_ERR_NOMEM;
    }
    s->fuel = UINT64_MAX;
    STORE_FLAG_STORE(s->pending, 0);
    *out = s;
    return WAFT_OK;
}

static void free_instance(waft_store *s, waft_instance *inst)
{
    base_alloc *a = s->alloc;
    const waft_module *m = inst->module;
    if (inst->elems) {
        for (uint32_t i = 0; i < m->nelems; i++)
            base_free(a, inst->elems[i].refs);
    }
    base_free(a, inst->elems);
    base_free(a, inst->data_dropped);
    base_free(a, inst->funcs);
    base_free(a, inst->tables);
    base_free(a, inst->memories);
    base_free(a, inst->globals);
    base_free(a, inst->func_ids);
    base_free(a, inst->aot);
    base_free(a, inst->table_ids);
    base_free(a, inst->memory_ids);
    base_free(a, inst->global_ids);
    base_free(a, inst->type_ids);
    base_free(a, inst);
}

/* ==== The wake pipe ==== */

#if defined(__unix__) || defined(__APPLE__) /* every POSIX host, 32-bit ones too */
#define STORE_WAKE_PIPE 1
#include <fcntl.h>
#include <unistd.h>
#else
#define STORE_WAKE_PIPE 0
#endif

/* A blocking host call (WASI poll_oneoff, a read that waits) watches this pipe's read end
 * with its descriptors, and waft_store_interrupt writes a byte to it (write(2) is safe in
 * a signal handler), so an interrupt ends the wait at once instead of at the next
 * time slice. Made on first use; non-blocking both ways, so a full pipe never blocks the
 * interrupter and draining never blocks the waiter. */
int store_wake_fd(waft_store *s)
{
#if STORE_WAKE_PIPE
    if (!s->wake_rd1) {
        int p[2];
        if (pipe(p) != 0)
            return -1;
        for (int k = 0; k < 2; k++) {
            fcntl(p[k], F_SETFL, fcntl(p[k], F_GETFL) | O_NONBLOCK);
            fcntl(p[k], F_SETFD, FD_CLOEXEC);
        }
        s->wake_rd1 = p[0] + 1;
        STORE_FLAG_STORE(s->wake_wr1, p[1] + 1);
    }
    /* bytes of interrupts already served (or about to be: the caller checks pending after
     * this, so an interrupt after the drain leaves its byte and wakes the wait) */
    char junk[64];
    while (read(s->wake_rd1 - 1, junk, sizeof junk) > 0)
        ;
    return s->wake_rd1 - 1;
#else
    (void)s;
    return -1;
#endif
}

void store_wake(waft_store *s)
{
#if STORE_WAKE_PIPE
    int w = STORE_FLAG_LOAD(s->wake_wr1);
    if (w > 0) {
        char b = 1;
        ssize_t r = write(w - 1, &b, 1); /* a full pipe will wake the waiter anyway */
        (void)r;
    }
#else
    (void)s;
#endif
}

void store_wake_close(waft_store *s)
{
#if STORE_WAKE_PIPE
    int w = STORE_FLAG_LOAD(s->wake_wr1);
    STORE_FLAG_STORE(s->wake_wr1, 0);
    if (w > 0)
        close(w - 1);
    if (s->wake_rd1 > 0)
        close(s->wake_rd1 - 1);
    s->wake_rd1 = 0;
#else
    (void)s;
#endif
}

void store_free(waft_store *s)
{
    if (!s)
        return;
    base_alloc *a = s->alloc;
    for (uint32_t i = 0; i < s->ninstances; i++)
        free_instance(s, s->instances[i]);
    for (uint32_t i = 0; i < s->nfuncs; i++) {
        base_free(a, s->funcs[i]->own_type.types);
        base_free(a, s->funcs[i]->own_type.api_types);
        base_free(a, s->funcs[i]);
    }
    for (uint32_t i = 0; i < s->nmemories; i++) {
        store_memory_release(s, s->memories[i]);
        base_free(a, s->memories[i]);
    }
    for (uint32_t i = 0; i < s->ntables; i++) {
        base_free(a, s->tables[i]->elems);
        base_free(a, s->tables[i]);
    }
    for (uint32_t i = 0; i < s->nglobals; i++)
        base_free(a, s->globals[i]);
    base_free(a, s->instances);
    base_free(a, s->funcs);
    base_free(a, s->memories);
    base_free(a, s->tables);
    base_free(a, s->globals);
    base_free(a, s->types);
    base_free(a, s->exts);
    base_free(a, s->stack);
    base_free(a, s->frames);
    store_wake_close(s);
    base_free(a, s);
}

void store_set_trap(waft_store *s, waft_trap_code code, const char *message)
{
    s->trap.code = code;
    snprintf(s->trap_message, sizeof s->trap_message, "%s",
             message ? message : waft_trap_str(code));
    s->trap.message = s->trap_message;
    s->trap.nframes = 0;
    s->trap.total_frames = 0;
    s->trap.frames = s->trap_frames;
}

static bool same_type(const dec_functype *a, const dec_functype *b)
{
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           (a->nparams + a->nresults == 0 ||
            memcmp(a->types, b->types, a->nparams + a->nresults) == 0);
}

waft_result store_type_id(waft_store *s, const dec_functype *t, uint32_t *out)
{
    for (uint32_t i = 0; i < s->ntypes; i++) {
        if (same_type(s->types[i], t)) {
            *out = i;
            return WAFT_OK;
        }
    }
    if (!base_grow(s->alloc, (void **)&s->types, &s->cap_types, s->ntypes + 1, sizeof *s->types))
        return WAFT_ERR_NOMEM;
    s->types[s->ntypes] = t;
    *out = s->ntypes++;
    return WAFT_OK;
}

/* Appends a separately allocated object to one of the store's arrays. */
static void *add_object(waft_store *s, void ***arr, uint32_t *n, uint32_t *cap, size_t size)
{
    if (!base_grow(s->alloc, (void **)arr, cap, *n + 1, sizeof(void *)))
        return NULL;
    void *obj = base_calloc(s->alloc, 1, size);
    if (!obj)
        return NULL;
    (*arr)[(*n)++] = obj;
    return obj;
}

waft_result store_add_host_func(waft_store *s, const waft_functype *type, waft_host_fn fn,
                                void *env, uint32_t *out)
{
    for (uint32_t i = 0; i < type->nparams + type->nresults; i++) {
        uint8_t t =
            (uint8_t)(i < type->nparams ? type->params[i] : type->results[i - type->nparams]);
        if (!dec_is_valtype(t))
            return WAFT_ERR_INVALID_ARG;
    }
    if (type->nparams > DEC_MAX_PARAMS || type->nresults > DEC_MAX_PARAMS)
        return WAFT_ERR_LIMIT;
    uint32_t idx = s->nfuncs;
    store_func *f = add_object(s, (void ***)&s->funcs, &s->nfuncs, &s->cap_funcs, sizeof *f);
    if (!f)
        return WAFT_ERR_NOMEM;
    f->self = idx;
    f->host = fn;
    f->env = env;
    f->own_type.nparams = type->nparams;
    f->own_type.nresults = type->nresults;
    f->own_type.types = base_malloc(s->alloc, type->nparams + type->nresults + 1);
    if (!f->own_type.types)
        return WAFT_ERR_NOMEM;
    f->own_type.api_types =
        base_malloc(s->alloc, (type->nparams + type->nresults + 1) * sizeof(waft_valtype));
    if (!f->own_type.api_types)
        return WAFT_ERR_NOMEM;
    for (uint32_t i = 0; i < type->nparams; i++)
        f->own_type.types[i] = (uint8_t)type->params[i];
    for (uint32_t i = 0; i < type->nresults; i++)
        f->own_type.types[type->nparams + i] = (uint8_t)type->results[i];
    for (uint32_t i = 0; i < type->nparams + type->nresults; i++)
        f->own_type.api_types[i] = (waft_valtype)f->own_type.types[i];
    f->type = &f->own_type;
    waft_result r = store_type_id(s, f->type, &f->type_id);
    if (r != WAFT_OK)
        return r;
    *out = idx;
    return WAFT_OK;
}

/* ==== Linear memory storage ====
 *
 * Two backends. With the default allocator on 64-bit POSIX hosts: the memory's maximum size
 * is reserved as address space (PROT_NONE) and committed as it grows (mprotect), so the
 * memory never moves and new pages come zeroed from the kernel, with transparent huge pages
 * where offered (page faults are most of the cost of touching fresh memory in VMs).
 * Otherwise (a custom allocator, 32-bit hosts, no mmap): the engine's allocator, realloc.
 * Both count committed bytes against the engine's limit. */

#if STORE_MMAP
static bool charge(waft_store *s, size_t delta)
{
    base_alloc *a = s->alloc;
    if (a->limit && (delta > a->limit || a->used > a->limit - delta))
        return false;
    a->used += delta;
    return true;
}

static bool use_mmap(const waft_store *s)
{
    return s->engine->config.alloc == NULL;
}
#endif

/* Commits [m->size, bytes) (grows) with zeroed pages. */
static bool mem_extend(waft_store *s, store_memory *m, uint64_t bytes)
{
#if STORE_MMAP
    if (m->reserved) {
        if (bytes > m->reserved || !charge(s, (size_t)(bytes - m->size)))
            return false;
        if (mprotect(m->data + m->size, (size_t)(bytes - m->size), PROT_READ | PROT_WRITE) != 0) {
            s->alloc->used -= (size_t)(bytes - m->size);
            return false;
        }
#if defined(MADV_HUGEPAGE)
        /* huge pages pay off for big memories (far fewer page faults); small ones would
         * only grow the resident size */
        if (bytes >= STORE_HUGE_MIN && m->size < STORE_HUGE_MIN)
            madvise(m->data, m->reserved, MADV_HUGEPAGE);
#endif
        m->size = bytes;
        return true;
    }
#endif
    uint8_t *d = base_realloc(s->alloc, m->data, (size_t)bytes);
    if (!d)
        return false;
    memset(d + m->size, 0, (size_t)(bytes - m->size));
    m->data = d;
    m->size = bytes;
    return true;
}

/* Sets up storage for a new memory of `min` pages (its maximum `max_pages`). */
static bool mem_create(waft_store *s, store_memory *m, uint32_t min)
{
    uint64_t max_bytes = (uint64_t)m->max_pages * WAFT_PAGE_SIZE;
    (void)max_bytes;
#if STORE_MMAP
    if (use_mmap(s) && max_bytes > 0) {
        void *p = mmap(NULL, (size_t)max_bytes, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            m->data = p;
            m->reserved = (size_t)max_bytes;
        }
    }
#endif
    return min == 0 || mem_extend(s, m, (uint64_t)min * WAFT_PAGE_SIZE);
}

waft_result store_memory_track(waft_store *s, store_memory *m, bool on)
{
    if (!on) {
        if (m->marks) {
#if STORE_MMAP
            munmap((void *)m->marks, m->nmarks);
#else
            base_free(s->alloc, (void *)m->marks);
#endif
        }
        m->marks = NULL;
        m->nmarks = 0;
        return WAFT_OK;
    }
    if (m->marks)
        return WAFT_OK;
    size_t n = (size_t)(((uint64_t)m->max_pages * WAFT_PAGE_SIZE) >> STORE_TRACK_SHIFT);
    if (n == 0)
        n = 1;
#if STORE_MMAP
    /* address space only: the kernel gives zero pages as marks are first set */
    void *p =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return WAFT_ERR_NOMEM;
#else
    void *p = base_calloc(s->alloc, n, 1);
    if (!p)
        return WAFT_ERR_NOMEM;
#endif
    (void)s;
    m->marks = p;
    m->nmarks = n;
    return WAFT_OK;
}

void store_memory_release(waft_store *s, store_memory *m)
{
    store_memory_track(s, m, false);
#if STORE_MMAP
    store_memory_unmap_file(m, false);
    if (m->reserved) {
        munmap(m->data, m->reserved);
        s->alloc->used -= (size_t)m->size;
        m->data = NULL;
        m->reserved = 0;
        m->size = 0;
        return;
    }
#endif
    base_free(s->alloc, m->data);
    m->data = NULL;
    m->size = 0;
}

waft_result store_memory_reset(waft_store *s, store_memory *m, uint32_t pages)
{
    uint64_t bytes = (uint64_t)pages * WAFT_PAGE_SIZE;
    if (pages > m->max_pages || bytes > SIZE_MAX / 2)
        return WAFT_ERR_NOMEM;
#if STORE_MMAP
    /* pages mapped from an image file would come back as the file's, not as zeros */
    if (m->file_backed && !store_memory_unmap_file(m, true))
        return WAFT_ERR_NOMEM;
    if (m->reserved) {
        if (bytes > m->size) {
            if (!mem_extend(s, m, bytes))
                return WAFT_ERR_NOMEM;
        } else if (bytes < m->size) {
            mprotect(m->data + bytes, (size_t)(m->size - bytes), PROT_NONE);
            s->alloc->used -= (size_t)(m->size - bytes);
            m->size = bytes;
        }
        /* give every page back: they read as zero again, lazily */
        if (m->reserved)
            madvise(m->data, m->reserved, MADV_DONTNEED);
        m->pages = pages;
        return WAFT_OK;
    }
#endif
    if (bytes != m->size) {
        uint8_t *d = base_realloc(s->alloc, m->data, (size_t)(bytes ? bytes : 1));
        if (!d)
            return WAFT_ERR_NOMEM;
        m->data = d;
        m->size = bytes;
    }
    if (bytes)
        memset(m->data, 0, (size_t)bytes);
    m->pages = pages;
    return WAFT_OK;
}

waft_result store_add_memory(waft_store *s, uint32_t min, uint32_t max, bool has_max, uint32_t *out)
{
    if (min > DEC_MAX_PAGES || (has_max && (max > DEC_MAX_PAGES || max < min)))
        return WAFT_ERR_INVALID_ARG;
    uint32_t idx = s->nmemories;
    store_memory *m =
        add_object(s, (void ***)&s->memories, &s->nmemories, &s->cap_memories, sizeof *m);
    if (!m)
        return WAFT_ERR_NOMEM;
    m->has_max = has_max;
    m->max_pages = has_max ? max : DEC_MAX_PAGES;
    if ((uint64_t)min * WAFT_PAGE_SIZE > SIZE_MAX / 2 || !mem_create(s, m, min))
        return WAFT_ERR_NOMEM;
    m->pages = min;
    *out = idx;
    return WAFT_OK;
}

waft_result store_add_table(waft_store *s, uint8_t elem_type, uint32_t min, uint32_t max,
                            bool has_max, waft_ref init, uint32_t *out)
{
    if (!dec_is_reftype(elem_type) || (has_max && max < min))
        return WAFT_ERR_INVALID_ARG;
    if (min > DEC_MAX_TABLE)
        return WAFT_ERR_LIMIT;
    uint32_t idx = s->ntables;
    store_table *t = add_object(s, (void ***)&s->tables, &s->ntables, &s->cap_tables, sizeof *t);
    if (!t)
        return WAFT_ERR_NOMEM;
    t->elem_type = elem_type;
    t->has_max = has_max;
    t->max = has_max ? max : UINT32_MAX;
    if (min) {
        t->elems = base_malloc(s->alloc, (size_t)min * sizeof *t->elems);
        if (!t->elems)
            return WAFT_ERR_NOMEM;
        for (uint32_t i = 0; i < min; i++)
            t->elems[i] = init;
    }
    t->size = min;
    *out = idx;
    return WAFT_OK;
}

waft_result store_add_global(waft_store *s, uint8_t type, bool mutable_, uint64_t value,
                             uint32_t *out)
{
    if (!dec_is_valtype(type))
        return WAFT_ERR_INVALID_ARG;
    uint32_t idx = s->nglobals;
    store_global *g =
        add_object(s, (void ***)&s->globals, &s->nglobals, &s->cap_globals, sizeof *g);
    if (!g)
        return WAFT_ERR_NOMEM;
    g->type = type;
    g->mutable_ = mutable_;
    g->value = value;
    *out = idx;
    return WAFT_OK;
}

uint32_t store_memory_grow(waft_store *s, store_memory *m, uint32_t delta)
{
    uint32_t old = m->pages;
    if (delta == 0)
        return old;
    if (delta > m->max_pages - old)
        return UINT32_MAX;
    uint64_t bytes = (uint64_t)(old + delta) * WAFT_PAGE_SIZE;
    if (bytes > SIZE_MAX / 2 || !mem_extend(s, m, bytes))
        return UINT32_MAX;
    m->pages = old + delta;
    return old;
}

uint32_t store_table_grow(waft_store *s, store_table *t, uint32_t delta, waft_ref init)
{
    uint32_t old = t->size;
    if (delta == 0)
        return old;
    if (delta > t->max - old || old + delta > DEC_MAX_TABLE)
        return UINT32_MAX;
    waft_ref *e = base_realloc(s->alloc, t->elems, (size_t)(old + delta) * sizeof *e);
    if (!e)
        return UINT32_MAX;
    for (uint32_t i = old; i < old + delta; i++)
        e[i] = init;
    t->elems = e;
    t->size = old + delta;
    return old;
}

/* ==== Instantiation ==== */

static waft_result link_error(waft_error *err, const waft_module *m, const dec_import *im,
                              const char *why)
{
    (void)m;
    base_error_set(err, WAFT_ERR_LINK, -1, -1, "import \"%.*s\" \"%.*s\": %s",
                   (int)(im->module_len > 60 ? 60 : im->module_len), im->module,
                   (int)(im->name_len > 60 ? 60 : im->name_len), im->name, why);
    return WAFT_ERR_LINK;
}

/* Limits matching (spec 4.5.2.1: import limits {min, max} accept actual {n, m} when
 * n >= min and, if max is given, m is given and m <= max). */
static bool limits_match(uint32_t n, bool has_m, uint32_t m, const dec_limits *want)
{
    if (n < want->min)
        return false;
    if (want->has_max && (!has_m || m > want->max))
        return false;
    return true;
}

static waft_result check_import(waft_store *s, const waft_module *m, const dec_import *im,
                                waft_extern ex, waft_error *err)
{
    if (ex.kind != (waft_extern_kind)im->kind)
        return link_error(err, m, im, "incompatible import type (wrong kind)");
    switch (ex.kind) {
    case WAFT_EXTERN_FUNC:
        if (ex.index >= s->nfuncs)
            return link_error(err, m, im, "unknown function handle");
        if (!same_type(s->funcs[ex.index]->type, dec_func_type(m, im->index)))
            return link_error(err, m, im, "incompatible import type (function signature)");
        break;
    case WAFT_EXTERN_TABLE: {
        if (ex.index >= s->ntables)
            return link_error(err, m, im, "unknown table handle");
        const store_table *t = s->tables[ex.index];
        const dec_table *want = &m->tables[im->index];
        if (t->elem_type != want->elem_type ||
            !limits_match(t->size, t->has_max, t->max, &want->limits))
            return link_error(err, m, im, "incompatible import type (table)");
        break;
    }
    case WAFT_EXTERN_MEMORY: {
        if (ex.index >= s->nmemories)
            return link_error(err, m, im, "unknown memory handle");
        const store_memory *mem = s->memories[ex.index];
        if (!limits_match(mem->pages, mem->has_max, mem->max_pages, &m->memories[im->index]))
            return link_error(err, m, im, "incompatible import type (memory limits)");
        break;
    }
    case WAFT_EXTERN_GLOBAL: {
        if (ex.index >= s->nglobals)
            return link_error(err, m, im, "unknown global handle");
        const store_global *g = s->globals[ex.index];
        const dec_global *want = &m->globals[im->index];
        if (g->type != want->type || g->mutable_ != want->mutable_)
            return link_error(err, m, im, "incompatible import type (global)");
        break;
    }
    }
    return WAFT_OK;
}

/* Evaluates a validated constant expression (one instruction then end). */
static uint64_t eval_const(const waft_instance *inst, uint32_t off)
{
    const waft_module *m = inst->module;
    base_reader r;
    base_reader_init(&r, m->bytes, m->bytes + off, m->bytes + m->len);
    uint8_t op = base_read_u8(&r);
    switch (op) {
    case 0x41:
        return (uint32_t)base_read_s32(&r);
    case 0x42:
        return (uint64_t)base_read_s64(&r);
    case 0x43:
        return base_read_fixed32(&r);
    case 0x44:
        return base_read_fixed64(&r);
    case 0xD0:
        return 0;
    case 0xD2:
        return (uint64_t)inst->funcs[base_read_u32(&r)]->self + 1;
    case 0x23:
        return inst->globals[base_read_u32(&r)]->value;
    default:
        WAFT_ASSERT(!"unvalidated constant expression");
        return 0;
    }
}

#define ALLOC_ARRAY(p, n)                                        \
    do {                                                         \
        (p) = base_calloc(s->alloc, (n) ? (n) : 1, sizeof *(p)); \
        if (!(p))                                                \
            goto nomem;                                          \
    } while (0)

waft_result store_instantiate(waft_store *s, const waft_module *m, const waft_extern *imports,
                              uint32_t nimports, waft_instance **out, waft_error *err)
{
    *out = NULL;
    if (!m->validated) {
        base_error_set(err, WAFT_ERR_INVALID_ARG, -1, -1, "module was not validated");
        return WAFT_ERR_INVALID_ARG;
    }
    if (nimports != m->nimports) {
        base_error_set(err, WAFT_ERR_LINK, -1, -1, "module needs %u imports, %u given", m->nimports,
                       nimports);
        return WAFT_ERR_LINK;
    }
    for (uint32_t i = 0; i < nimports; i++) {
        waft_result r = check_import(s, m, &m->imports[i], imports[i], err);
        if (r != WAFT_OK)
            return r;
    }
    if (!base_grow(s->alloc, (void **)&s->instances, &s->cap_instances, s->ninstances + 1,
                   sizeof *s->instances))
        goto nomem_noinst;
    waft_instance *inst = base_calloc(s->alloc, 1, sizeof *inst);
    if (!inst)
        goto nomem_noinst;
    inst->store = s;
    inst->module = m;
    inst->index = s->ninstances;
    s->instances[s->ninstances++] = inst;

    ALLOC_ARRAY(inst->funcs, m->nfuncs);
    ALLOC_ARRAY(inst->func_ids, m->nfuncs);
    ALLOC_ARRAY(inst->tables, m->ntables);
    ALLOC_ARRAY(inst->table_ids, m->ntables);
    ALLOC_ARRAY(inst->memories, m->nmemories);
    ALLOC_ARRAY(inst->memory_ids, m->nmemories);
    ALLOC_ARRAY(inst->globals, m->nglobals);
    ALLOC_ARRAY(inst->global_ids, m->nglobals);
    ALLOC_ARRAY(inst->type_ids, m->ntypes);
    ALLOC_ARRAY(inst->elems, m->nelems);
    ALLOC_ARRAY(inst->data_dropped, m->ndatas);

    for (uint32_t i = 0; i < m->ntypes; i++)
        if (store_type_id(s, &m->types[i], &inst->type_ids[i]) != WAFT_OK)
            goto nomem;

    /* imports */
    for (uint32_t i = 0; i < nimports; i++) {
        const dec_import *im = &m->imports[i];
        uint32_t x = imports[i].index, k = im->index;
        switch (im->kind) {
        case WAFT_EXTERN_FUNC:
            inst->func_ids[k] = x;
            break;
        case WAFT_EXTERN_TABLE:
            inst->table_ids[k] = x;
            break;
        case WAFT_EXTERN_MEMORY:
            inst->memory_ids[k] = x;
            break;
        case WAFT_EXTERN_GLOBAL:
            inst->global_ids[k] = x;
            break;
        }
    }
    /* defined functions */
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        uint32_t idx = s->nfuncs;
        store_func *f = add_object(s, (void ***)&s->funcs, &s->nfuncs, &s->cap_funcs, sizeof *f);
        if (!f)
            goto nomem;
        f->self = idx;
        f->type = dec_func_type(m, i);
        f->type_id = inst->type_ids[m->func_types[i]];
        f->inst = inst;
        f->code = &m->icode[i - m->nfunc_imports];
        f->aot = m->aot ? m->aot->fns[i - m->nfunc_imports] : NULL;
        f->index = i;
        inst->func_ids[i] = idx;
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        const dec_table *t = &m->tables[i];
        waft_result r = store_add_table(s, t->elem_type, t->limits.min, t->limits.max,
                                        t->limits.has_max, 0, &inst->table_ids[i]);
        if (r != WAFT_OK) {
            base_error_set(err, r, -1, -1, "table %u: cannot allocate %u elements", i,
                           t->limits.min);
            return r;
        }
    }
    for (uint32_t i = m->nmemory_imports; i < m->nmemories; i++) {
        const dec_limits *l = &m->memories[i];
        waft_result r = store_add_memory(s, l->min, l->max, l->has_max, &inst->memory_ids[i]);
        if (r != WAFT_OK) {
            base_error_set(err, r, -1, -1, "memory %u: cannot allocate %u pages", i, l->min);
            return r;
        }
    }
    /* resolve caches (globals need funcs for ref.func and imported globals) */
    for (uint32_t i = 0; i < m->nfuncs; i++)
        inst->funcs[i] = s->funcs[inst->func_ids[i]];
    for (uint32_t i = 0; i < m->ntables; i++)
        inst->tables[i] = s->tables[inst->table_ids[i]];
    for (uint32_t i = 0; i < m->nmemories; i++)
        inst->memories[i] = s->memories[inst->memory_ids[i]];
    inst->mem0 = m->nmemories ? inst->memories[0] : NULL;
    for (uint32_t i = 0; i < m->nglobal_imports; i++)
        inst->globals[i] = s->globals[inst->global_ids[i]];
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        const dec_global *g = &m->globals[i];
        if (store_add_global(s, g->type, g->mutable_, eval_const(inst, g->init_off),
                             &inst->global_ids[i]) != WAFT_OK)
            goto nomem;
        inst->globals[i] = s->globals[inst->global_ids[i]];
    }
    /* element segments: evaluate every reference now (spec 4.5.4 step 8) */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const dec_elem *e = &m->elems[i];
        store_segment *seg = &inst->elems[i];
        ALLOC_ARRAY(seg->refs, e->count);
        for (uint32_t k = 0; k < e->count; k++)
            seg->refs[k] = e->exprs ? eval_const(inst, e->expr_off[2 * k])
                                    : (waft_ref)inst->funcs[e->funcs[k]]->self + 1;
        seg->count = e->mode == DEC_SEG_DECLARATIVE ? 0 : e->count;
    }
    *out = inst;
    /* active element segments, in order, then data segments (spec 4.5.4 steps 14-15);
     * a failing segment traps, leaving the effects of earlier ones */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const dec_elem *e = &m->elems[i];
        if (e->mode != DEC_SEG_ACTIVE)
            continue;
        store_table *t = inst->tables[e->table];
        uint32_t off = (uint32_t)eval_const(inst, e->offset_off);
        if ((uint64_t)off + e->count > t->size) {
            store_set_trap(s, WAFT_TRAP_TABLE_OOB, NULL);
            return WAFT_TRAPPED;
        }
        if (e->count)
            memcpy(t->elems + off, inst->elems[i].refs, (size_t)e->count * sizeof(waft_ref));
        inst->elems[i].count = 0; /* elem.drop */
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const dec_data *d = &m->datas[i];
        if (d->mode != DEC_SEG_ACTIVE)
            continue;
        store_memory *mem = inst->memories[d->memory];
        uint32_t off = (uint32_t)eval_const(inst, d->offset_off);
        if ((uint64_t)off + d->data_len > mem->size) {
            store_set_trap(s, WAFT_TRAP_MEMORY_OOB, NULL);
            return WAFT_TRAPPED;
        }
        if (d->data_len)
            memcpy(mem->data + off, m->bytes + d->data_off, d->data_len);
        inst->data_dropped[i] = true;
    }
    return WAFT_OK;

nomem:
    /* the instance stays registered in the store (freed with it) */
    *out = NULL;
nomem_noinst:
    base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory while instantiating");
    return WAFT_ERR_NOMEM;
}
