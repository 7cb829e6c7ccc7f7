/* SPDX-License-Identifier: MIT */
/* objects.c - wasm.h functions, globals, tables, memories and externs over libwaft handles.
 *
 * Invariants: every handle is a capi_obj naming a waft_extern of its store; values cross
 * to libwaft as raw bits (f32/f64 through memcpy, so NaN payloads survive); a funcref is
 * a wasm_func_t of the same store and an externref a wasm_foreign_t of the same store
 * (its waft_ref is the foreign's index + 1).
 */
#include "capi/capi.h"

#include <stdio.h>

struct wasm_func_t {
    capi_obj o;
};
struct wasm_global_t {
    capi_obj o;
};
struct wasm_table_t {
    capi_obj o;
};
struct wasm_memory_t {
    capi_obj o;
};
struct wasm_extern_t {
    capi_obj o;
};

/* ==== Handles ==== */

static capi_kind kind_of(waft_extern_kind k)
{
    switch (k) {
    case WAFT_EXTERN_FUNC:
        return CAPI_FUNC;
    case WAFT_EXTERN_TABLE:
        return CAPI_TABLE;
    case WAFT_EXTERN_MEMORY:
        return CAPI_MEMORY;
    default:
        return CAPI_GLOBAL;
    }
}

WAFT_INTERNAL wasm_extern_t *capi_extern_new(wasm_store_t *s, waft_extern x)
{
    capi_obj *o = calloc(1, sizeof *o);
    if (o) {
        o->ref.kind = kind_of(x.kind);
        o->store = s;
        o->x = x;
    }
    return (wasm_extern_t *)o;
}

WAFT_API wasm_externkind_t wasm_extern_kind(const wasm_extern_t *e)
{
    return (wasm_externkind_t)e->o.ref.kind; /* CAPI_FUNC.. are the wasm.h kinds */
}

static wasm_externtype_t *type_of(const capi_obj *o)
{
    waft_externtype t;
    bool ok = waft_extern_type(o->store->store, o->x, &t) == WAFT_OK;
    return ok ? capi_externtype_from(&t) : NULL;
}

WAFT_API wasm_externtype_t *wasm_extern_type(const wasm_extern_t *e)
{
    return type_of(&e->o);
}

#define CAPI_EXTERN_CASTS(n, KIND)                                                  \
    WAFT_API wasm_extern_t *wasm_##n##_as_extern(wasm_##n##_t *p)                   \
    {                                                                               \
        return (wasm_extern_t *)p;                                                  \
    }                                                                               \
    WAFT_API const wasm_extern_t *wasm_##n##_as_extern_const(const wasm_##n##_t *p) \
    {                                                                               \
        return (const wasm_extern_t *)p;                                            \
    }                                                                               \
    WAFT_API wasm_##n##_t *wasm_extern_as_##n(wasm_extern_t *e)                     \
    {                                                                               \
        return e && e->o.ref.kind == KIND ? (wasm_##n##_t *)e : NULL;               \
    }                                                                               \
    WAFT_API const wasm_##n##_t *wasm_extern_as_##n##_const(const wasm_extern_t *e) \
    {                                                                               \
        return e && e->o.ref.kind == KIND ? (const wasm_##n##_t *)e : NULL;         \
    }

CAPI_EXTERN_CASTS(func, CAPI_FUNC)
CAPI_EXTERN_CASTS(global, CAPI_GLOBAL)
CAPI_EXTERN_CASTS(table, CAPI_TABLE)
CAPI_EXTERN_CASTS(memory, CAPI_MEMORY)

/* ==== Values ==== */

/* The waft_ref of a wasm.h reference of type `t`; false if it is not one (wrong kind or
 * another store). */
static bool ref_in(wasm_store_t *s, const wasm_ref_t *r, waft_valtype t, waft_ref *out)
{
    const capi_ref *h = (const capi_ref *)r;
    *out = WAFT_REF_NULL;
    if (!h)
        return true;
    if (t == WAFT_FUNCREF && h->kind == CAPI_FUNC && ((const capi_obj *)h)->store == s) {
        *out = waft_func_ref(s->store, ((const capi_obj *)h)->x);
        return *out != WAFT_REF_NULL;
    }
    if (t == WAFT_EXTERNREF && h->kind == CAPI_FOREIGN && ((const wasm_foreign_t *)h)->store == s) {
        *out = (waft_ref)((const wasm_foreign_t *)h)->index + 1;
        return true;
    }
    return false;
}

/* A new wasm.h reference (own) for a waft_ref; NULL for null (or if out of memory). */
static wasm_ref_t *ref_out(wasm_store_t *s, waft_valtype t, waft_ref r)
{
    if (r == WAFT_REF_NULL)
        return NULL;
    if (t == WAFT_FUNCREF) {
        waft_extern x;
        if (waft_ref_func(s->store, r, &x) != WAFT_OK)
            return NULL;
        return (wasm_ref_t *)capi_extern_new(s, x);
    }
    wasm_foreign_t *f = calloc(1, sizeof *f);
    if (f) {
        f->ref.kind = CAPI_FOREIGN;
        f->store = s;
        f->index = (size_t)(r - 1);
    }
    return (wasm_ref_t *)f;
}

/* A wasm.h value as a libwaft one of type `t`; false if its kind or reference differs. */
static bool val_in(wasm_store_t *s, const wasm_val_t *v, waft_valtype t, waft_val *out)
{
    out->type = t;
    out->of.i64 = 0;
    if (capi_valtype(v->kind) != t)
        return false;
    switch (t) {
    case WAFT_I32:
        out->of.i32 = (uint32_t)v->of.i32;
        return true;
    case WAFT_I64:
        out->of.i64 = (uint64_t)v->of.i64;
        return true;
    case WAFT_F32:
        memcpy(&out->of.f32_bits, &v->of.f32, 4);
        return true;
    case WAFT_F64:
        memcpy(&out->of.f64_bits, &v->of.f64, 8);
        return true;
    default:
        return ref_in(s, v->of.ref, t, &out->of.ref);
    }
}

/* A libwaft value as a wasm.h one (a reference is a new handle, own). */
static void val_out(wasm_store_t *s, const waft_val *v, wasm_val_t *out)
{
    out->kind = capi_valkind(v->type);
    out->of.i64 = 0;
    switch (v->type) {
    case WAFT_I32:
        out->of.i32 = (int32_t)v->of.i32;
        break;
    case WAFT_I64:
        out->of.i64 = (int64_t)v->of.i64;
        break;
    case WAFT_F32:
        memcpy(&out->of.f32, &v->of.f32_bits, 4);
        break;
    case WAFT_F64:
        memcpy(&out->of.f64, &v->of.f64_bits, 8);
        break;
    default:
        out->of.ref = ref_out(s, v->type, v->of.ref);
        break;
    }
}

/* A 64-bit slot of a host call (waft_host_fn) as a value of type t, and back. */
static waft_val slot_val(waft_valtype t, uint64_t slot)
{
    waft_val v;
    v.type = t;
    v.of.i64 = 0;
    if (t == WAFT_I32 || t == WAFT_F32)
        v.of.i32 = (uint32_t)slot;
    else
        v.of.i64 = slot;
    return v;
}

static uint64_t val_slot(const waft_val *v)
{
    return v->type == WAFT_I32 || v->type == WAFT_F32 ? v->of.i32 : v->of.i64;
}

/* ==== Functions ==== */

/* A host function's record: the callback and its type (types[0..nparams) are the
 * parameters, then the results). */
typedef struct host_rec {
    capi_host h;
    uint32_t nparams, nresults;
    waft_valtype types[];
} host_rec;

/* Called by libwaft for every call of a wasm.h host function: converts the arguments, calls
 * the callback, converts its results back, and turns a returned trap into a wasm trap. */
static waft_result trampoline(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    host_rec *rec = env;
    wasm_store_t *s = rec->h.store;
    wasm_val_vec_t in, out;
    wasm_trap_t *trap = NULL;
    waft_result r = WAFT_OK;
    const char *why = NULL;
    wasm_val_vec_new_uninitialized(&in, rec->nparams);
    wasm_val_vec_new_uninitialized(&out, rec->nresults);
    if (in.size != rec->nparams || out.size != rec->nresults) {
        why = "out of memory";
        goto done;
    }
    for (uint32_t i = 0; i < rec->nparams; i++) {
        waft_val v = slot_val(rec->types[i], args[i]);
        val_out(s, &v, &in.data[i]);
    }
    trap = rec->h.cb ? rec->h.cb(&in, &out) : rec->h.cb_env(rec->h.env, &in, &out);
    if (trap) {
        r = waft_call_trap(call, (const char *)trap->message.data);
        goto done;
    }
    for (uint32_t i = 0; i < rec->nresults; i++) {
        waft_val v;
        if (!val_in(s, &out.data[i], rec->types[rec->nparams + i], &v)) {
            why = "host function returned a value of the wrong type";
            goto done;
        }
        results[i] = val_slot(&v);
    }
done:
    if (why)
        r = waft_call_trap(call, why);
    wasm_trap_delete(trap);
    wasm_val_vec_delete(&in);
    wasm_val_vec_delete(&out);
    return r;
}

static wasm_func_t *func_new(wasm_store_t *s, const wasm_functype_t *type, wasm_func_callback_t cb,
                             wasm_func_callback_with_env_t cb_env, void *env,
                             void (*finalizer)(void *))
{
    const wasm_valtype_vec_t *ps = wasm_functype_params(type), *rs = wasm_functype_results(type);
    size_t n = ps->size + rs->size;
    host_rec *rec = calloc(1, sizeof *rec + n * sizeof rec->types[0]);
    wasm_extern_t *e = NULL;
    waft_extern x;
    if (!rec)
        goto fail;
    rec->h.store = s;
    rec->h.cb = cb;
    rec->h.cb_env = cb_env;
    rec->h.env = env;
    rec->nparams = (uint32_t)ps->size;
    rec->nresults = (uint32_t)rs->size;
    for (size_t i = 0; i < n; i++) {
        const wasm_valtype_t *t = i < ps->size ? ps->data[i] : rs->data[i - ps->size];
        rec->types[i] = capi_valtype(wasm_valtype_kind(t));
    }
    waft_functype ft = { rec->nparams, rec->nresults, rec->types, rec->types + rec->nparams };
    if (waft_func_new_host(s->store, &ft, trampoline, rec, &x) != WAFT_OK)
        goto fail;
    /* from here the store calls through rec: it lives (and is finalized) with the store */
    rec->h.finalizer = finalizer;
    rec->h.next = s->hosts;
    s->hosts = &rec->h;
    e = capi_extern_new(s, x);
    return (wasm_func_t *)e;
fail:
    free(rec);
    return NULL;
}

WAFT_API wasm_func_t *wasm_func_new(wasm_store_t *s, const wasm_functype_t *type,
                                    wasm_func_callback_t cb)
{
    return s && type && cb ? func_new(s, type, cb, NULL, NULL, NULL) : NULL;
}

WAFT_API wasm_func_t *wasm_func_new_with_env(wasm_store_t *s, const wasm_functype_t *type,
                                             wasm_func_callback_with_env_t cb, void *env,
                                             void (*finalizer)(void *))
{
    return s && type && cb ? func_new(s, type, NULL, cb, env, finalizer) : NULL;
}

WAFT_API wasm_functype_t *wasm_func_type(const wasm_func_t *f)
{
    return (wasm_functype_t *)type_of(&f->o);
}

WAFT_API size_t wasm_func_param_arity(const wasm_func_t *f)
{
    waft_functype t;
    return waft_func_type(f->o.store->store, f->o.x, &t) == WAFT_OK ? t.nparams : 0;
}

WAFT_API size_t wasm_func_result_arity(const wasm_func_t *f)
{
    waft_functype t;
    return waft_func_type(f->o.store->store, f->o.x, &t) == WAFT_OK ? t.nresults : 0;
}

/* The trap for the outcome `r` of a call that did not return WAFT_OK. */
static wasm_trap_t *call_trap(wasm_store_t *s, waft_result r)
{
    char msg[64];
    if (r == WAFT_TRAPPED) {
        const waft_trap *t = waft_store_trap(s->store);
        return capi_trap_new(t->message, t);
    }
    if (r == WAFT_EXITED) {
        snprintf(msg, sizeof msg, "exited with code %d", (int)waft_store_exit_code(s->store));
        return capi_trap_new(msg, NULL);
    }
    if (r == WAFT_SUSPENDED) /* a host function asked to suspend: not resumable here */
        waft_store_abandon(s->store);
    return capi_trap_new(waft_result_str(r), NULL);
}

WAFT_API wasm_trap_t *wasm_func_call(const wasm_func_t *f, const wasm_val_vec_t *args,
                                     wasm_val_vec_t *results)
{
    wasm_store_t *s = f->o.store;
    waft_functype t;
    waft_val *vals = NULL;
    wasm_trap_t *trap = NULL;
    char msg[96];
    size_t nargs = args ? args->size : 0, nres = results ? results->size : 0;
    if (waft_func_type(s->store, f->o.x, &t) != WAFT_OK) {
        trap = capi_trap_new("not a function", NULL);
        goto done;
    }
    /* Too little room for the results is not an error: programs written for other runtimes
     * pass an empty vector to a function whose results they ignore (and expect its trap). */
    if (nargs != t.nparams) {
        snprintf(msg, sizeof msg, "wrong arity: %zu arguments given, %u expected", nargs,
                 t.nparams);
        trap = capi_trap_new(msg, NULL);
        goto done;
    }
    vals = calloc((size_t)t.nparams + t.nresults + 1, sizeof *vals);
    if (!vals) {
        trap = capi_trap_new("out of memory", NULL);
        goto done;
    }
    for (uint32_t i = 0; i < t.nparams; i++) {
        if (!val_in(s, &args->data[i], t.params[i], &vals[i])) {
            snprintf(msg, sizeof msg, "argument %u has the wrong type", i);
            trap = capi_trap_new(msg, NULL);
            goto done;
        }
    }
    waft_val *out = vals + t.nparams;
    waft_result r = waft_func_call(s->store, f->o.x, vals, t.nparams, out, t.nresults);
    if (r != WAFT_OK) {
        trap = call_trap(s, r);
        goto done;
    }
    for (uint32_t i = 0; i < t.nresults && i < nres; i++)
        val_out(s, &out[i], &results->data[i]);
done:
    free(vals);
    return trap;
}

/* ==== Globals ==== */

WAFT_API wasm_global_t *wasm_global_new(wasm_store_t *s, const wasm_globaltype_t *type,
                                        const wasm_val_t *val)
{
    waft_val v;
    waft_extern x;
    wasm_global_t *g = NULL;
    waft_valtype t = capi_valtype(wasm_valtype_kind(wasm_globaltype_content(type)));
    int mut = wasm_globaltype_mutability(type) == WASM_VAR;
    if (val_in(s, val, t, &v) && waft_global_new(s->store, v, mut, &x) == WAFT_OK)
        g = (wasm_global_t *)capi_extern_new(s, x);
    return g;
}

WAFT_API wasm_globaltype_t *wasm_global_type(const wasm_global_t *g)
{
    return (wasm_globaltype_t *)type_of(&g->o);
}

WAFT_API void wasm_global_get(const wasm_global_t *g, wasm_val_t *out)
{
    waft_val v;
    if (waft_global_get(g->o.store->store, g->o.x, &v) != WAFT_OK) {
        out->kind = WASM_I32;
        out->of.i64 = 0;
        return;
    }
    val_out(g->o.store, &v, out);
}

WAFT_API void wasm_global_set(wasm_global_t *g, const wasm_val_t *val)
{
    waft_externtype t;
    waft_val v;
    if (waft_extern_type(g->o.store->store, g->o.x, &t) == WAFT_OK &&
        val_in(g->o.store, val, t.type, &v))
        waft_global_set(g->o.store->store, g->o.x, v); /* refuses an immutable global */
}

/* ==== Tables ==== */

WAFT_API wasm_table_t *wasm_table_new(wasm_store_t *s, const wasm_tabletype_t *type,
                                      wasm_ref_t *init)
{
    waft_valtype t = capi_valtype(wasm_valtype_kind(wasm_tabletype_element(type)));
    const wasm_limits_t *l = wasm_tabletype_limits(type);
    waft_ref r;
    waft_extern x;
    wasm_table_t *table = NULL;
    if (ref_in(s, init, t, &r) && waft_table_new(s->store, t, l->min, l->max, r, &x) == WAFT_OK)
        table = (wasm_table_t *)capi_extern_new(s, x);
    return table;
}

WAFT_API wasm_tabletype_t *wasm_table_type(const wasm_table_t *t)
{
    return (wasm_tabletype_t *)type_of(&t->o);
}

/* The element type of a table handle (0 if it is not one). */
static waft_valtype elem_type(const wasm_table_t *t)
{
    waft_externtype ty;
    return waft_extern_type(t->o.store->store, t->o.x, &ty) == WAFT_OK ? ty.type : (waft_valtype)0;
}

WAFT_API wasm_ref_t *wasm_table_get(const wasm_table_t *t, wasm_table_size_t index)
{
    waft_ref r;
    bool ok = waft_table_get(t->o.store->store, t->o.x, index, &r) == WAFT_OK;
    return ok ? ref_out(t->o.store, elem_type(t), r) : NULL; /* NULL: null or out of bounds */
}

WAFT_API bool wasm_table_set(wasm_table_t *t, wasm_table_size_t index, wasm_ref_t *ref)
{
    waft_ref r;
    return ref_in(t->o.store, ref, elem_type(t), &r) &&
           waft_table_set(t->o.store->store, t->o.x, index, r) == WAFT_OK;
}

WAFT_API wasm_table_size_t wasm_table_size(const wasm_table_t *t)
{
    uint32_t n = 0;
    waft_table_size(t->o.store->store, t->o.x, &n);
    return n;
}

WAFT_API bool wasm_table_grow(wasm_table_t *t, wasm_table_size_t delta, wasm_ref_t *init)
{
    waft_ref r;
    return ref_in(t->o.store, init, elem_type(t), &r) &&
           waft_table_grow(t->o.store->store, t->o.x, delta, r, NULL) == WAFT_OK;
}

/* ==== Memories ==== */

WAFT_API wasm_memory_t *wasm_memory_new(wasm_store_t *s, const wasm_memorytype_t *type)
{
    const wasm_limits_t *l = wasm_memorytype_limits(type);
    waft_extern x;
    wasm_memory_t *m = NULL;
    if (waft_memory_new(s->store, l->min, l->max, &x) == WAFT_OK)
        m = (wasm_memory_t *)capi_extern_new(s, x);
    return m;
}

WAFT_API wasm_memorytype_t *wasm_memory_type(const wasm_memory_t *m)
{
    return (wasm_memorytype_t *)type_of(&m->o);
}

WAFT_API byte_t *wasm_memory_data(wasm_memory_t *m)
{
    return (byte_t *)waft_memory_data(m->o.store->store, m->o.x, NULL);
}

WAFT_API size_t wasm_memory_data_size(const wasm_memory_t *m)
{
    uint64_t size = 0;
    waft_memory_data(m->o.store->store, m->o.x, &size);
    return (size_t)size;
}

WAFT_API wasm_memory_pages_t wasm_memory_size(const wasm_memory_t *m)
{
    return (wasm_memory_pages_t)(wasm_memory_data_size(m) / MEMORY_PAGE_SIZE);
}

WAFT_API bool wasm_memory_grow(wasm_memory_t *m, wasm_memory_pages_t delta)
{
    return waft_memory_grow(m->o.store->store, m->o.x, delta, NULL) == WAFT_OK;
}
