/* SPDX-License-Identifier: MIT */
/* types.c - wasm.h vectors, types and values (no store involved).
 *
 * Invariants: a vector's size is 0 whenever its data is NULL (an allocation that fails
 * leaves an empty vector, which the C API has no other way to report); the four extern
 * types share struct wasm_externtype_t, so casting between them is the identity.
 */
#include "capi/capi.h"

/* ==== Vectors ==== */

/* The five functions of vector n of ELEM, given how to copy and delete one element (both
 * take pointers to elements). */
#define CAPI_VEC_IMPL(n, ELEM, COPY, DELETE)                                                \
    WAFT_API void wasm_##n##_vec_new_empty(wasm_##n##_vec_t *out)                           \
    {                                                                                       \
        out->size = 0;                                                                      \
        out->data = NULL;                                                                   \
    }                                                                                       \
    WAFT_API void wasm_##n##_vec_new_uninitialized(wasm_##n##_vec_t *out, size_t size)      \
    {                                                                                       \
        out->data = size ? calloc(size, sizeof *out->data) : NULL;                          \
        out->size = out->data ? size : 0;                                                   \
    }                                                                                       \
    WAFT_API void wasm_##n##_vec_new(wasm_##n##_vec_t *out, size_t size, ELEM const data[]) \
    {                                                                                       \
        wasm_##n##_vec_new_uninitialized(out, size);                                        \
        if (out->size)                                                                      \
            memcpy(out->data, data, size * sizeof *out->data);                              \
    }                                                                                       \
    WAFT_API void wasm_##n##_vec_copy(wasm_##n##_vec_t *out, const wasm_##n##_vec_t *src)   \
    {                                                                                       \
        wasm_##n##_vec_new_uninitialized(out, src->size);                                   \
        for (size_t i = 0; i < out->size; i++)                                              \
            COPY(&out->data[i], &src->data[i]);                                             \
    }                                                                                       \
    WAFT_API void wasm_##n##_vec_delete(wasm_##n##_vec_t *v)                                \
    {                                                                                       \
        if (!v)                                                                             \
            return;                                                                         \
        for (size_t i = 0; i < v->size && v->data; i++)                                     \
            DELETE(&v->data[i]);                                                            \
        free(v->data);                                                                      \
        v->data = NULL;                                                                     \
        v->size = 0;                                                                        \
    }

#define COPY_PLAIN(d, s)  (*(d) = *(s))
#define DELETE_PLAIN(e)   ((void)(e))
#define COPY_VAL(d, s)    wasm_val_copy(d, s)
#define DELETE_VAL(e)     wasm_val_delete(e)
#define PTR_COPY(n, d, s) (*(d) = *(s) ? wasm_##n##_copy(*(s)) : NULL)

#define COPY_valtype(d, s)    PTR_COPY(valtype, d, s)
#define COPY_functype(d, s)   PTR_COPY(functype, d, s)
#define COPY_globaltype(d, s) PTR_COPY(globaltype, d, s)
#define COPY_tabletype(d, s)  PTR_COPY(tabletype, d, s)
#define COPY_memorytype(d, s) PTR_COPY(memorytype, d, s)
#define COPY_externtype(d, s) PTR_COPY(externtype, d, s)
#define COPY_importtype(d, s) PTR_COPY(importtype, d, s)
#define COPY_exporttype(d, s) PTR_COPY(exporttype, d, s)
#define COPY_frame(d, s)      PTR_COPY(frame, d, s)
#define COPY_extern(d, s)     PTR_COPY(extern, d, s)

#define DELETE_valtype(e)    wasm_valtype_delete(*(e))
#define DELETE_functype(e)   wasm_functype_delete(*(e))
#define DELETE_globaltype(e) wasm_globaltype_delete(*(e))
#define DELETE_tabletype(e)  wasm_tabletype_delete(*(e))
#define DELETE_memorytype(e) wasm_memorytype_delete(*(e))
#define DELETE_externtype(e) wasm_externtype_delete(*(e))
#define DELETE_importtype(e) wasm_importtype_delete(*(e))
#define DELETE_exporttype(e) wasm_exporttype_delete(*(e))
#define DELETE_frame(e)      wasm_frame_delete(*(e))
#define DELETE_extern(e)     wasm_extern_delete(*(e))

CAPI_VEC_IMPL(byte, wasm_byte_t, COPY_PLAIN, DELETE_PLAIN)
CAPI_VEC_IMPL(val, wasm_val_t, COPY_VAL, DELETE_VAL)
CAPI_VEC_IMPL(valtype, wasm_valtype_t *, COPY_valtype, DELETE_valtype)
CAPI_VEC_IMPL(functype, wasm_functype_t *, COPY_functype, DELETE_functype)
CAPI_VEC_IMPL(globaltype, wasm_globaltype_t *, COPY_globaltype, DELETE_globaltype)
CAPI_VEC_IMPL(tabletype, wasm_tabletype_t *, COPY_tabletype, DELETE_tabletype)
CAPI_VEC_IMPL(memorytype, wasm_memorytype_t *, COPY_memorytype, DELETE_memorytype)
CAPI_VEC_IMPL(externtype, wasm_externtype_t *, COPY_externtype, DELETE_externtype)
CAPI_VEC_IMPL(importtype, wasm_importtype_t *, COPY_importtype, DELETE_importtype)
CAPI_VEC_IMPL(exporttype, wasm_exporttype_t *, COPY_exporttype, DELETE_exporttype)
CAPI_VEC_IMPL(frame, wasm_frame_t *, COPY_frame, DELETE_frame)
CAPI_VEC_IMPL(extern, wasm_extern_t *, COPY_extern, DELETE_extern)

/* ==== Value types ==== */

WAFT_INTERNAL waft_valtype capi_valtype(wasm_valkind_t k)
{
    switch (k) {
    case WASM_I32:
        return WAFT_I32;
    case WASM_I64:
        return WAFT_I64;
    case WASM_F32:
        return WAFT_F32;
    case WASM_F64:
        return WAFT_F64;
    case WASM_EXTERNREF:
        return WAFT_EXTERNREF;
    case WASM_FUNCREF:
        return WAFT_FUNCREF;
    default:
        return (waft_valtype)0;
    }
}

WAFT_INTERNAL wasm_valkind_t capi_valkind(waft_valtype t)
{
    switch (t) {
    case WAFT_I64:
        return WASM_I64;
    case WAFT_F32:
        return WASM_F32;
    case WAFT_F64:
        return WASM_F64;
    case WAFT_EXTERNREF:
        return WASM_EXTERNREF;
    case WAFT_FUNCREF:
        return WASM_FUNCREF;
    default:
        return WASM_I32;
    }
}

WAFT_API wasm_valtype_t *wasm_valtype_new(wasm_valkind_t kind)
{
    wasm_valtype_t *t = NULL;
    if (capi_valtype(kind) == 0) /* not a kind of this API: no type to make */
        goto done;
    t = malloc(sizeof *t);
    if (t)
        t->kind = kind;
done:
    return t;
}

WAFT_API void wasm_valtype_delete(wasm_valtype_t *t)
{
    free(t);
}

WAFT_API wasm_valtype_t *wasm_valtype_copy(const wasm_valtype_t *t)
{
    return wasm_valtype_new(t->kind);
}

WAFT_API wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t *t)
{
    return t->kind;
}

/* ==== Extern types ==== */

static wasm_externtype_t *externtype_alloc(wasm_externkind_t kind)
{
    wasm_externtype_t *t = calloc(1, sizeof *t);
    if (t)
        t->kind = kind;
    return t;
}

WAFT_API void wasm_externtype_delete(wasm_externtype_t *t)
{
    if (!t)
        return;
    wasm_valtype_vec_delete(&t->params);
    wasm_valtype_vec_delete(&t->results);
    wasm_valtype_delete(t->content);
    free(t);
}

WAFT_API wasm_externtype_t *wasm_externtype_copy(const wasm_externtype_t *src)
{
    wasm_externtype_t *t = externtype_alloc(src->kind);
    if (!t)
        goto fail;
    *t = *src;
    wasm_valtype_vec_copy(&t->params, &src->params);
    wasm_valtype_vec_copy(&t->results, &src->results);
    t->content = src->content ? wasm_valtype_copy(src->content) : NULL;
    if (t->params.size != src->params.size || t->results.size != src->results.size ||
        (src->content && !t->content))
        goto fail;
    return t;
fail:
    wasm_externtype_delete(t); /* every field is its own copy or empty by now */
    return NULL;
}

WAFT_API wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t *t)
{
    return t->kind;
}

/* The same object under each name: delete, copy, and the two casts each way. */
#define CAPI_EXTERNTYPE_ALIAS(n, KIND)                                                      \
    WAFT_API void wasm_##n##_delete(wasm_##n##_t *t)                                        \
    {                                                                                       \
        wasm_externtype_delete((wasm_externtype_t *)t);                                     \
    }                                                                                       \
    WAFT_API wasm_##n##_t *wasm_##n##_copy(const wasm_##n##_t *t)                           \
    {                                                                                       \
        return (wasm_##n##_t *)wasm_externtype_copy((const wasm_externtype_t *)t);          \
    }                                                                                       \
    WAFT_API wasm_externtype_t *wasm_##n##_as_externtype(wasm_##n##_t *t)                   \
    {                                                                                       \
        return (wasm_externtype_t *)t;                                                      \
    }                                                                                       \
    WAFT_API const wasm_externtype_t *wasm_##n##_as_externtype_const(const wasm_##n##_t *t) \
    {                                                                                       \
        return (const wasm_externtype_t *)t;                                                \
    }                                                                                       \
    WAFT_API wasm_##n##_t *wasm_externtype_as_##n(wasm_externtype_t *t)                     \
    {                                                                                       \
        return t && t->kind == KIND ? (wasm_##n##_t *)t : NULL;                             \
    }                                                                                       \
    WAFT_API const wasm_##n##_t *wasm_externtype_as_##n##_const(const wasm_externtype_t *t) \
    {                                                                                       \
        return t && t->kind == KIND ? (const wasm_##n##_t *)t : NULL;                       \
    }

struct wasm_functype_t {
    wasm_externtype_t t;
};
struct wasm_globaltype_t {
    wasm_externtype_t t;
};
struct wasm_tabletype_t {
    wasm_externtype_t t;
};
struct wasm_memorytype_t {
    wasm_externtype_t t;
};

CAPI_EXTERNTYPE_ALIAS(functype, WASM_EXTERN_FUNC)
CAPI_EXTERNTYPE_ALIAS(globaltype, WASM_EXTERN_GLOBAL)
CAPI_EXTERNTYPE_ALIAS(tabletype, WASM_EXTERN_TABLE)
CAPI_EXTERNTYPE_ALIAS(memorytype, WASM_EXTERN_MEMORY)

WAFT_API wasm_functype_t *wasm_functype_new(wasm_valtype_vec_t *params, wasm_valtype_vec_t *results)
{
    wasm_externtype_t *t = externtype_alloc(WASM_EXTERN_FUNC);
    if (!t) {
        wasm_valtype_vec_delete(params);
        wasm_valtype_vec_delete(results);
        return NULL;
    }
    t->params = *params; /* taken */
    t->results = *results;
    return (wasm_functype_t *)t;
}

WAFT_API const wasm_valtype_vec_t *wasm_functype_params(const wasm_functype_t *t)
{
    return &t->t.params;
}

WAFT_API const wasm_valtype_vec_t *wasm_functype_results(const wasm_functype_t *t)
{
    return &t->t.results;
}

WAFT_API wasm_globaltype_t *wasm_globaltype_new(wasm_valtype_t *content, wasm_mutability_t mut)
{
    wasm_externtype_t *t = content ? externtype_alloc(WASM_EXTERN_GLOBAL) : NULL;
    if (!t) {
        wasm_valtype_delete(content);
        return NULL;
    }
    t->content = content;
    t->mutability = mut;
    return (wasm_globaltype_t *)t;
}

WAFT_API const wasm_valtype_t *wasm_globaltype_content(const wasm_globaltype_t *t)
{
    return t->t.content;
}

WAFT_API wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t *t)
{
    return t->t.mutability;
}

WAFT_API wasm_tabletype_t *wasm_tabletype_new(wasm_valtype_t *elem, const wasm_limits_t *limits)
{
    wasm_externtype_t *t = elem ? externtype_alloc(WASM_EXTERN_TABLE) : NULL;
    if (!t) {
        wasm_valtype_delete(elem);
        return NULL;
    }
    t->content = elem;
    t->limits = *limits;
    return (wasm_tabletype_t *)t;
}

WAFT_API const wasm_valtype_t *wasm_tabletype_element(const wasm_tabletype_t *t)
{
    return t->t.content;
}

WAFT_API const wasm_limits_t *wasm_tabletype_limits(const wasm_tabletype_t *t)
{
    return &t->t.limits;
}

WAFT_API wasm_memorytype_t *wasm_memorytype_new(const wasm_limits_t *limits)
{
    wasm_externtype_t *t = externtype_alloc(WASM_EXTERN_MEMORY);
    if (t)
        t->limits = *limits;
    return (wasm_memorytype_t *)t;
}

WAFT_API const wasm_limits_t *wasm_memorytype_limits(const wasm_memorytype_t *t)
{
    return &t->t.limits;
}

/* A valtype vector of a libwaft type list; false if out of memory. */
static bool valtypes_from(wasm_valtype_vec_t *out, uint32_t n, const waft_valtype *types)
{
    wasm_valtype_vec_new_uninitialized(out, n);
    if (out->size != n)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        out->data[i] = wasm_valtype_new(capi_valkind(types[i]));
        if (!out->data[i])
            return false; /* the caller deletes the partial vector */
    }
    return true;
}

WAFT_INTERNAL wasm_externtype_t *capi_externtype_from(const waft_externtype *w)
{
    wasm_externtype_t *t = NULL;
    switch (w->kind) {
    case WAFT_EXTERN_FUNC:
        t = externtype_alloc(WASM_EXTERN_FUNC);
        if (!t || !valtypes_from(&t->params, w->func.nparams, w->func.params) ||
            !valtypes_from(&t->results, w->func.nresults, w->func.results))
            goto fail;
        break;
    case WAFT_EXTERN_GLOBAL:
    case WAFT_EXTERN_TABLE:
        t = externtype_alloc(w->kind == WAFT_EXTERN_GLOBAL ? WASM_EXTERN_GLOBAL
                                                           : WASM_EXTERN_TABLE);
        if (!t)
            goto fail;
        t->content = wasm_valtype_new(capi_valkind(w->type));
        if (!t->content)
            goto fail;
        t->mutability = w->mutable_ ? WASM_VAR : WASM_CONST;
        t->limits.min = w->min;
        t->limits.max = w->max;
        break;
    case WAFT_EXTERN_MEMORY:
        t = externtype_alloc(WASM_EXTERN_MEMORY);
        if (!t)
            goto fail;
        t->limits.min = w->min;
        t->limits.max = w->max;
        break;
    }
    return t;
fail:
    wasm_externtype_delete(t);
    return NULL;
}

/* ==== Import and export types ==== */

WAFT_API wasm_importtype_t *wasm_importtype_new(wasm_name_t *module, wasm_name_t *name,
                                                wasm_externtype_t *type)
{
    wasm_importtype_t *t = calloc(1, sizeof *t);
    if (!t) {
        wasm_name_delete(module);
        wasm_name_delete(name);
        wasm_externtype_delete(type);
        return NULL;
    }
    t->module = *module;
    t->name = *name;
    t->type = type;
    return t;
}

WAFT_API void wasm_importtype_delete(wasm_importtype_t *t)
{
    if (!t)
        return;
    wasm_name_delete(&t->module);
    wasm_name_delete(&t->name);
    wasm_externtype_delete(t->type);
    free(t);
}

WAFT_API wasm_importtype_t *wasm_importtype_copy(const wasm_importtype_t *src)
{
    wasm_name_t module, name;
    wasm_name_copy(&module, &src->module);
    wasm_name_copy(&name, &src->name);
    return wasm_importtype_new(&module, &name, wasm_externtype_copy(src->type));
}

WAFT_API const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *t)
{
    return &t->module;
}

WAFT_API const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *t)
{
    return &t->name;
}

WAFT_API const wasm_externtype_t *wasm_importtype_type(const wasm_importtype_t *t)
{
    return t->type;
}

WAFT_API wasm_exporttype_t *wasm_exporttype_new(wasm_name_t *name, wasm_externtype_t *type)
{
    wasm_exporttype_t *t = calloc(1, sizeof *t);
    if (!t) {
        wasm_name_delete(name);
        wasm_externtype_delete(type);
        return NULL;
    }
    t->name = *name;
    t->type = type;
    return t;
}

WAFT_API void wasm_exporttype_delete(wasm_exporttype_t *t)
{
    if (!t)
        return;
    wasm_name_delete(&t->name);
    wasm_externtype_delete(t->type);
    free(t);
}

WAFT_API wasm_exporttype_t *wasm_exporttype_copy(const wasm_exporttype_t *src)
{
    wasm_name_t name;
    wasm_name_copy(&name, &src->name);
    return wasm_exporttype_new(&name, wasm_externtype_copy(src->type));
}

WAFT_API const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *t)
{
    return &t->name;
}

WAFT_API const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *t)
{
    return t->type;
}

/* ==== Values ==== */

WAFT_API void wasm_val_delete(wasm_val_t *v)
{
    if (v && wasm_valkind_is_ref(v->kind) && v->of.ref) {
        wasm_ref_delete(v->of.ref);
        v->of.ref = NULL;
    }
}

WAFT_API void wasm_val_copy(wasm_val_t *out, const wasm_val_t *v)
{
    *out = *v;
    if (wasm_valkind_is_ref(v->kind) && v->of.ref)
        out->of.ref = wasm_ref_copy(v->of.ref);
}

/* ==== Frames ==== */

WAFT_API void wasm_frame_delete(wasm_frame_t *f)
{
    free(f);
}

WAFT_API wasm_frame_t *wasm_frame_copy(const wasm_frame_t *f)
{
    wasm_frame_t *c = malloc(sizeof *c);
    if (c)
        *c = *f;
    return c;
}

WAFT_API struct wasm_instance_t *wasm_frame_instance(const wasm_frame_t *f)
{
    (void)f; /* waft's backtraces do not name the instance */
    return NULL;
}

WAFT_API uint32_t wasm_frame_func_index(const wasm_frame_t *f)
{
    return f->func;
}

WAFT_API size_t wasm_frame_func_offset(const wasm_frame_t *f)
{
    (void)f; /* unknown: waft's backtraces give the module offset only */
    return 0;
}

WAFT_API size_t wasm_frame_module_offset(const wasm_frame_t *f)
{
    return f->module_offset;
}
