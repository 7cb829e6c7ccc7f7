/* SPDX-License-Identifier: MIT */
/* runtime.c - wasm.h engine, store, references, traps, foreigns, modules and instances.
 *
 * Invariants: a store owns its host-function records, its foreign records and one
 * reference to every module it instantiated (libwaft requires the module to outlive its
 * instances, and a failed instantiation to outlive the store); a module's handles and those
 * store references are counted in wasm_module_t.refs and the last one frees it.
 */
#include "capi/capi.h"

#include <stdio.h>

/* ==== Engine and store ==== */

WAFT_API wasm_config_t *wasm_config_new(void)
{
    return calloc(1, sizeof(wasm_config_t));
}

WAFT_API void wasm_config_delete(wasm_config_t *c)
{
    free(c);
}

WAFT_API wasm_engine_t *wasm_engine_new_with_config(wasm_config_t *config)
{
    wasm_engine_t *e = calloc(1, sizeof *e);
    if (!e)
        goto fail;
    if (waft_engine_new(NULL, &e->engine) != WAFT_OK)
        goto fail;
    wasm_config_delete(config);
    return e;
fail:
    free(e);
    wasm_config_delete(config); /* taken whether it succeeds or not */
    return NULL;
}

WAFT_API wasm_engine_t *wasm_engine_new(void)
{
    return wasm_engine_new_with_config(NULL);
}

WAFT_API void wasm_engine_delete(wasm_engine_t *e)
{
    if (!e)
        return;
    waft_engine_free(e->engine);
    free(e);
}

WAFT_API wasm_store_t *wasm_store_new(wasm_engine_t *engine)
{
    wasm_store_t *s = engine ? calloc(1, sizeof *s) : NULL;
    if (!s)
        goto fail;
    s->engine = engine;
    if (waft_store_new(engine->engine, &s->store) != WAFT_OK)
        goto fail;
    return s;
fail:
    free(s);
    return NULL;
}

static void module_release(wasm_module_t *m);

WAFT_API void wasm_store_delete(wasm_store_t *s)
{
    if (!s)
        return;
    waft_store_free(s->store);
    for (capi_host *h = s->hosts, *next; h; h = next) {
        next = h->next;
        if (h->finalizer)
            h->finalizer(h->env);
        free(h);
    }
    for (size_t i = 0; i < s->nforeigns; i++)
        if (s->foreigns[i].finalizer)
            s->foreigns[i].finalizer(s->foreigns[i].host_info);
    free(s->foreigns);
    for (size_t i = 0; i < s->nmodules; i++)
        module_release(s->modules[i]); /* after the store: its instances used them */
    free(s->modules);
    free(s);
}

/* ==== References: the common part ==== */

struct wasm_ref_t {
    capi_ref h;
};

WAFT_INTERNAL void capi_ref_finalize(capi_ref *r)
{
    if (r->finalizer)
        r->finalizer(r->host_info);
    r->finalizer = NULL;
    r->host_info = NULL;
}

static bool is_obj(capi_kind k)
{
    return k == CAPI_FUNC || k == CAPI_GLOBAL || k == CAPI_TABLE || k == CAPI_MEMORY;
}

static void ref_delete(capi_ref *r)
{
    if (!r)
        return;
    switch (r->kind) {
    case CAPI_MODULE:
        module_release((wasm_module_t *)r); /* finalizes with the last reference */
        return;
    case CAPI_TRAP: {
        wasm_trap_t *t = (wasm_trap_t *)r;
        wasm_byte_vec_delete(&t->message);
        wasm_frame_vec_delete(&t->trace);
        break;
    }
    case CAPI_FOREIGN:
        break; /* host info lives in the store's record */
    default:
        capi_ref_finalize(r);
        break;
    }
    free(r);
}

static capi_ref *ref_copy(const capi_ref *r)
{
    capi_ref *c = NULL;
    if (!r)
        goto done;
    switch (r->kind) {
    case CAPI_MODULE:
        ((wasm_module_t *)r)->refs++;
        c = (capi_ref *)r; /* handles of a module are counted references */
        goto done;
    case CAPI_TRAP: {
        const wasm_trap_t *t = (const wasm_trap_t *)r;
        wasm_trap_t *n = calloc(1, sizeof *n);
        if (!n)
            goto done;
        n->ref.kind = CAPI_TRAP;
        wasm_byte_vec_copy(&n->message, &t->message);
        wasm_frame_vec_copy(&n->trace, &t->trace);
        c = &n->ref;
        goto done;
    }
    case CAPI_FOREIGN: {
        wasm_foreign_t *f = malloc(sizeof *f);
        if (f)
            *f = *(const wasm_foreign_t *)r;
        c = f ? &f->ref : NULL;
        goto done;
    }
    case CAPI_INSTANCE: {
        wasm_instance_t *i = malloc(sizeof *i);
        if (i) {
            *i = *(const wasm_instance_t *)r;
            i->ref.host_info = NULL; /* host info belongs to a handle */
            i->ref.finalizer = NULL;
        }
        c = i ? &i->ref : NULL;
        goto done;
    }
    default: {
        capi_obj *o = malloc(sizeof *o);
        if (o) {
            *o = *(const capi_obj *)r;
            o->ref.host_info = NULL;
            o->ref.finalizer = NULL;
        }
        c = o ? &o->ref : NULL;
        goto done;
    }
    }
done:
    return c;
}

static bool ref_same(const capi_ref *a, const capi_ref *b)
{
    if (!a || !b || a->kind != b->kind)
        return a == b;
    if (is_obj(a->kind)) {
        const capi_obj *x = (const capi_obj *)a, *y = (const capi_obj *)b;
        return x->store == y->store && x->x.kind == y->x.kind && x->x.index == y->x.index;
    }
    switch (a->kind) {
    case CAPI_FOREIGN:
        return ((const wasm_foreign_t *)a)->store == ((const wasm_foreign_t *)b)->store &&
               ((const wasm_foreign_t *)a)->index == ((const wasm_foreign_t *)b)->index;
    case CAPI_INSTANCE:
        return ((const wasm_instance_t *)a)->instance == ((const wasm_instance_t *)b)->instance;
    default:
        return a == b;
    }
}

/* Where a reference's host info lives: a foreign's is shared through its store. */
static void **host_info_slot(capi_ref *r, void (***out_fin)(void *))
{
    if (r->kind == CAPI_FOREIGN) {
        wasm_foreign_t *f = (wasm_foreign_t *)r;
        capi_foreign_rec *rec = &f->store->foreigns[f->index];
        *out_fin = &rec->finalizer;
        return &rec->host_info;
    }
    *out_fin = &r->finalizer;
    return &r->host_info;
}

static void *ref_get_host_info(const capi_ref *r)
{
    void (**fin)(void *);
    return r ? *host_info_slot((capi_ref *)r, &fin) : NULL;
}

static void ref_set_host_info(capi_ref *r, void *info, void (*finalizer)(void *))
{
    if (!r)
        return;
    void (**fin)(void *);
    void **slot = host_info_slot(r, &fin);
    *slot = info;
    *fin = finalizer;
}

/* The reference functions of type n; IS(kind) says which reference kinds are an n. */
#define CAPI_REF_BASE_IMPL(n)                                                          \
    WAFT_API void wasm_##n##_delete(wasm_##n##_t *p)                                   \
    {                                                                                  \
        ref_delete((capi_ref *)p);                                                     \
    }                                                                                  \
    WAFT_API wasm_##n##_t *wasm_##n##_copy(const wasm_##n##_t *p)                      \
    {                                                                                  \
        return (wasm_##n##_t *)ref_copy((const capi_ref *)p);                          \
    }                                                                                  \
    WAFT_API bool wasm_##n##_same(const wasm_##n##_t *a, const wasm_##n##_t *b)        \
    {                                                                                  \
        return ref_same((const capi_ref *)a, (const capi_ref *)b);                     \
    }                                                                                  \
    WAFT_API void *wasm_##n##_get_host_info(const wasm_##n##_t *p)                     \
    {                                                                                  \
        return ref_get_host_info((const capi_ref *)p);                                 \
    }                                                                                  \
    WAFT_API void wasm_##n##_set_host_info(wasm_##n##_t *p, void *info)                \
    {                                                                                  \
        ref_set_host_info((capi_ref *)p, info, NULL);                                  \
    }                                                                                  \
    WAFT_API void wasm_##n##_set_host_info_with_finalizer(wasm_##n##_t *p, void *info, \
                                                          void (*fin)(void *))         \
    {                                                                                  \
        ref_set_host_info((capi_ref *)p, info, fin);                                   \
    }

#define CAPI_REF_IMPL(n, IS)                                                  \
    CAPI_REF_BASE_IMPL(n)                                                     \
    WAFT_API wasm_ref_t *wasm_##n##_as_ref(wasm_##n##_t *p)                   \
    {                                                                         \
        return (wasm_ref_t *)p;                                               \
    }                                                                         \
    WAFT_API const wasm_ref_t *wasm_##n##_as_ref_const(const wasm_##n##_t *p) \
    {                                                                         \
        return (const wasm_ref_t *)p;                                         \
    }                                                                         \
    WAFT_API wasm_##n##_t *wasm_ref_as_##n(wasm_ref_t *r)                     \
    {                                                                         \
        return r && IS(r->h.kind) ? (wasm_##n##_t *)r : NULL;                 \
    }                                                                         \
    WAFT_API const wasm_##n##_t *wasm_ref_as_##n##_const(const wasm_ref_t *r) \
    {                                                                         \
        return r && IS(r->h.kind) ? (const wasm_##n##_t *)r : NULL;           \
    }

#define IS_TRAP(k)     ((k) == CAPI_TRAP)
#define IS_FOREIGN(k)  ((k) == CAPI_FOREIGN)
#define IS_MODULE(k)   ((k) == CAPI_MODULE)
#define IS_INSTANCE(k) ((k) == CAPI_INSTANCE)
#define IS_FUNC(k)     ((k) == CAPI_FUNC)
#define IS_GLOBAL(k)   ((k) == CAPI_GLOBAL)
#define IS_TABLE(k)    ((k) == CAPI_TABLE)
#define IS_MEMORY(k)   ((k) == CAPI_MEMORY)
#define IS_EXTERN(k)   is_obj(k)

CAPI_REF_BASE_IMPL(ref)
CAPI_REF_IMPL(trap, IS_TRAP)
CAPI_REF_IMPL(foreign, IS_FOREIGN)
CAPI_REF_IMPL(module, IS_MODULE)
CAPI_REF_IMPL(instance, IS_INSTANCE)
CAPI_REF_IMPL(func, IS_FUNC)
CAPI_REF_IMPL(global, IS_GLOBAL)
CAPI_REF_IMPL(table, IS_TABLE)
CAPI_REF_IMPL(memory, IS_MEMORY)
CAPI_REF_IMPL(extern, IS_EXTERN)

/* ==== Traps ==== */

/* A message vector that ends with exactly one NUL, from `len` bytes. */
static void message_new(wasm_message_t *out, const char *text, size_t len)
{
    while (len && text[len - 1] == '\0')
        len--;
    wasm_byte_vec_new_uninitialized(out, len + 1);
    if (out->size) {
        memcpy(out->data, text, len);
        out->data[len] = '\0';
    }
}

WAFT_INTERNAL wasm_trap_t *capi_trap_new(const char *message, const waft_trap *from)
{
    wasm_trap_t *t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    t->ref.kind = CAPI_TRAP;
    message_new(&t->message, message, strlen(message));
    if (!t->message.size)
        goto fail;
    uint32_t n = from ? from->nframes : 0;
    wasm_frame_vec_new_uninitialized(&t->trace, n);
    if (t->trace.size != n)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        wasm_frame_t *f = malloc(sizeof *f);
        if (!f)
            goto fail;
        f->func = from->frames[i].func;
        f->module_offset = from->frames[i].code_offset;
        t->trace.data[i] = f;
    }
    return t;
fail:
    wasm_trap_delete(t);
    return NULL;
}

WAFT_API wasm_trap_t *wasm_trap_new(wasm_store_t *store, const wasm_message_t *message)
{
    (void)store; /* a trap holds no store object */
    wasm_trap_t *t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    t->ref.kind = CAPI_TRAP;
    message_new(&t->message, message && message->data ? message->data : "",
                message && message->data ? message->size : 0);
    if (!t->message.size)
        goto fail;
    return t;
fail:
    free(t);
    return NULL;
}

WAFT_API void wasm_trap_message(const wasm_trap_t *t, wasm_message_t *out)
{
    wasm_byte_vec_copy(out, &t->message);
}

WAFT_API wasm_frame_t *wasm_trap_origin(const wasm_trap_t *t)
{
    return t->trace.size ? wasm_frame_copy(t->trace.data[0]) : NULL;
}

WAFT_API void wasm_trap_trace(const wasm_trap_t *t, wasm_frame_vec_t *out)
{
    wasm_frame_vec_copy(out, &t->trace);
}

/* ==== Foreign objects ==== */

WAFT_API wasm_foreign_t *wasm_foreign_new(wasm_store_t *s)
{
    wasm_foreign_t *f = s ? calloc(1, sizeof *f) : NULL;
    if (!f)
        goto fail;
    if (s->nforeigns == s->foreigns_cap) {
        size_t cap = s->foreigns_cap ? 2 * s->foreigns_cap : 8;
        capi_foreign_rec *recs = realloc(s->foreigns, cap * sizeof *recs);
        if (!recs)
            goto fail;
        s->foreigns = recs;
        s->foreigns_cap = cap;
    }
    f->ref.kind = CAPI_FOREIGN;
    f->store = s;
    f->index = s->nforeigns++;
    s->foreigns[f->index] = (capi_foreign_rec){ NULL, NULL };
    return f;
fail:
    free(f);
    return NULL;
}

/* ==== Modules ==== */

static void module_release(wasm_module_t *m)
{
    if (!m || --m->refs > 0)
        return;
    capi_ref_finalize(&m->ref);
    waft_module_free(m->module);
    free(m);
}

WAFT_API wasm_module_t *wasm_module_new(wasm_store_t *s, const wasm_byte_vec_t *binary)
{
    wasm_module_t *m = s && binary ? calloc(1, sizeof *m) : NULL;
    if (!m)
        goto fail;
    m->ref.kind = CAPI_MODULE;
    m->refs = 1;
    if (waft_module_new(s->engine->engine, (const uint8_t *)binary->data, binary->size, &m->module,
                        NULL) != WAFT_OK)
        goto fail;
    return m;
fail:
    free(m);
    return NULL;
}

WAFT_API bool wasm_module_validate(wasm_store_t *s, const wasm_byte_vec_t *binary)
{
    wasm_module_t *m = wasm_module_new(s, binary);
    bool ok = m != NULL;
    wasm_module_delete(m);
    return ok;
}

static wasm_name_t name_of(const char *p, size_t len)
{
    wasm_name_t n;
    wasm_byte_vec_new(&n, len, p);
    return n;
}

WAFT_API void wasm_module_imports(const wasm_module_t *m, wasm_importtype_vec_t *out)
{
    uint32_t n = waft_module_import_count(m->module);
    wasm_importtype_vec_new_uninitialized(out, n);
    for (uint32_t i = 0; i < out->size; i++) {
        waft_import_desc d;
        waft_externtype wt;
        waft_module_import(m->module, i, &d);
        waft_module_import_type(m->module, i, &wt);
        wasm_name_t module = name_of(d.module, d.module_len), name = name_of(d.name, d.name_len);
        out->data[i] = wasm_importtype_new(&module, &name, capi_externtype_from(&wt));
    }
}

WAFT_API void wasm_module_exports(const wasm_module_t *m, wasm_exporttype_vec_t *out)
{
    uint32_t n = waft_module_export_count(m->module);
    wasm_exporttype_vec_new_uninitialized(out, n);
    for (uint32_t i = 0; i < out->size; i++) {
        waft_export_desc d;
        waft_externtype wt;
        waft_module_export(m->module, i, &d);
        waft_module_export_type(m->module, i, &wt);
        wasm_name_t name = name_of(d.name, d.name_len);
        out->data[i] = wasm_exporttype_new(&name, capi_externtype_from(&wt));
    }
}

WAFT_API void wasm_module_serialize(const wasm_module_t *m, wasm_byte_vec_t *out)
{
    size_t len = 0;
    const uint8_t *bytes = waft_module_bytes(m->module, &len);
    wasm_byte_vec_new(out, len, (const wasm_byte_t *)bytes);
}

WAFT_API wasm_module_t *wasm_module_deserialize(wasm_store_t *s, const wasm_byte_vec_t *bytes)
{
    return wasm_module_new(s, bytes); /* the serialized form is the binary itself */
}

WAFT_API wasm_shared_module_t *wasm_module_share(const wasm_module_t *m)
{
    wasm_shared_module_t *sh = malloc(sizeof *sh);
    if (sh)
        wasm_module_serialize(m, &sh->binary);
    return sh;
}

WAFT_API wasm_module_t *wasm_module_obtain(wasm_store_t *s, const wasm_shared_module_t *sh)
{
    return sh ? wasm_module_new(s, &sh->binary) : NULL;
}

WAFT_API void wasm_shared_module_delete(wasm_shared_module_t *sh)
{
    if (!sh)
        return;
    wasm_byte_vec_delete(&sh->binary);
    free(sh);
}

/* ==== Instances ==== */

/* Makes the store hold a reference to `m` (once). */
static bool store_keep_module(wasm_store_t *s, wasm_module_t *m)
{
    for (size_t i = 0; i < s->nmodules; i++)
        if (s->modules[i] == m)
            return true;
    if (s->nmodules == s->modules_cap) {
        size_t cap = s->modules_cap ? 2 * s->modules_cap : 4;
        wasm_module_t **mods = realloc(s->modules, cap * sizeof *mods);
        if (!mods)
            return false;
        s->modules = mods;
        s->modules_cap = cap;
    }
    m->refs++;
    s->modules[s->nmodules++] = m;
    return true;
}

static void set_trap(wasm_trap_t **out, const char *message, const waft_trap *from)
{
    if (out)
        *out = capi_trap_new(message, from);
}

WAFT_API wasm_instance_t *wasm_instance_new(wasm_store_t *s, const wasm_module_t *m,
                                            const wasm_extern_vec_t *imports, wasm_trap_t **trap)
{
    wasm_instance_t *inst = NULL;
    waft_extern *xs = NULL;
    char msg[256];
    if (trap)
        *trap = NULL;
    uint32_t n = waft_module_import_count(m->module);
    size_t given = imports ? imports->size : 0;
    if (given != n) {
        snprintf(msg, sizeof msg, "link error: the module has %u imports, %zu given", n, given);
        set_trap(trap, msg, NULL);
        goto fail;
    }
    xs = calloc(n ? n : 1, sizeof *xs);
    inst = calloc(1, sizeof *inst);
    /* the store must keep the module even if instantiation fails part-way (waft.h) */
    if (!xs || !inst || !store_keep_module(s, (wasm_module_t *)m)) {
        set_trap(trap, "out of memory", NULL);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        const capi_obj *o = (const capi_obj *)imports->data[i];
        if (!o || o->store != s) {
            snprintf(msg, sizeof msg, "link error: import %u is missing or of another store", i);
            set_trap(trap, msg, NULL);
            goto fail;
        }
        xs[i] = o->x;
    }
    waft_error err;
    waft_result r = waft_instance_new(s->store, m->module, xs, n, &inst->instance, &err);
    if (r == WAFT_SUSPENDED) /* no fuel or interrupt through this API: not expected */
        waft_store_abandon(s->store);
    if (r == WAFT_TRAPPED) {
        const waft_trap *t = waft_store_trap(s->store);
        set_trap(trap, t->message, t);
        goto fail;
    }
    if (r != WAFT_OK) {
        set_trap(trap, err.message[0] ? err.message : waft_result_str(r), NULL);
        goto fail;
    }
    inst->ref.kind = CAPI_INSTANCE;
    inst->store = s;
    free(xs);
    return inst;
fail:
    free(xs);
    free(inst);
    return NULL;
}

WAFT_API void wasm_instance_exports(const wasm_instance_t *inst, wasm_extern_vec_t *out)
{
    const waft_module *m = waft_instance_module(inst->instance);
    uint32_t n = waft_module_export_count(m);
    wasm_extern_vec_new_uninitialized(out, n);
    for (uint32_t i = 0; i < out->size; i++) {
        waft_export_desc d;
        waft_extern x;
        waft_module_export(m, i, &d);
        out->data[i] = waft_instance_export(inst->instance, d.name, d.name_len, &x) == WAFT_OK
                           ? capi_extern_new(inst->store, x)
                           : NULL;
    }
}
