/* SPDX-License-Identifier: MIT */
/* wasm.h - the standard WebAssembly C API (github.com/WebAssembly/wasm-c-api), as libwaft
 * implements it (src/capi/). Written for waft: programs written against the wasm.h that
 * wasmtime, WAMR or wasmer ship compile against this one and behave the same, within the
 * limits listed here.
 *
 * Conventions (those of the C API):
 *  - `own` marks a pointer or vector that the receiver owns and must delete; every other
 *    pointer is borrowed for the duration of the call.
 *  - Vectors are {size, data}. wasm_X_vec_new takes the elements (`own`), _copy copies them
 *    deeply, _delete deletes them and the array.
 *  - Objects of a store (func, global, table, memory, extern, instance, trap, foreign) are
 *    handles: deleting a handle frees the handle only; the object lives in its store until
 *    wasm_store_delete. Handles of one store must be used by one thread at a time.
 *  - A module may be deleted once instantiated: the store keeps what its instances need.
 *
 * What waft does not support (the calls return NULL / false, or as described):
 *  - wasm_frame_instance() returns NULL and wasm_frame_func_offset() returns 0: waft's
 *    backtraces give the function index and the byte offset in the module only.
 *  - wasm_module_serialize() writes the module's own binary, and wasm_module_deserialize()
 *    compiles it again: there is no precompiled form.
 *  - Reference values: funcref is fully supported (wasm_func_t as wasm_ref_t). An externref
 *    value must be a wasm_foreign_t of the same store (wasm_foreign_as_ref); any other
 *    reference passed as externref is refused (the call traps, wasm_table_set returns
 *    false). Reading an externref gives a new wasm_foreign_t handle of that foreign.
 *  - host_info set on a handle belongs to that handle (its finalizer runs when the handle is
 *    deleted), except for foreigns, whose host_info is shared by all handles of the foreign
 *    and finalized with the store.
 *  - wasm_config_t has no options yet; wasm_engine_new_with_config only takes it.
 *  - Finalizers given to wasm_func_new_with_env run when the store is deleted.
 */
#ifndef WAFT_WASM_H
#define WAFT_WASM_H

#include <assert.h> /* programs written for other runtimes' wasm.h expect these two */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "waft/waft.h" /* WAFT_API */

#ifdef __cplusplus
extern "C" {
#endif

/* Ownership marker: documentation only. */
#ifndef own
#define own
#endif

typedef char byte_t;
typedef float float32_t;
typedef double float64_t;

/* ==== Declaration helpers ====
 *
 * WASM_DECL_OWN(n): the opaque type wasm_n_t and its destructor.
 * WASM_DECL_VEC(n, ptr): the vector wasm_n_vec_t of `wasm_n_t ptr` elements and its five
 * functions (ptr is `*` for vectors of owned objects, empty for vectors of values). */

#define WASM_DECL_OWN(n)                      \
    typedef struct wasm_##n##_t wasm_##n##_t; \
    WAFT_API void wasm_##n##_delete(own wasm_##n##_t *);

#define WASM_DECL_VEC(n, ptr)                                                                  \
    typedef struct wasm_##n##_vec_t {                                                          \
        size_t size;                                                                           \
        wasm_##n##_t ptr *data;                                                                \
    } wasm_##n##_vec_t;                                                                        \
    WAFT_API void wasm_##n##_vec_new_empty(own wasm_##n##_vec_t *out);                         \
    WAFT_API void wasm_##n##_vec_new_uninitialized(own wasm_##n##_vec_t *out, size_t size);    \
    WAFT_API void wasm_##n##_vec_new(own wasm_##n##_vec_t *out, size_t size,                   \
                                     own wasm_##n##_t ptr const data[]);                       \
    WAFT_API void wasm_##n##_vec_copy(own wasm_##n##_vec_t *out, const wasm_##n##_vec_t *src); \
    WAFT_API void wasm_##n##_vec_delete(own wasm_##n##_vec_t *);

/* A type object: owned, copyable, with a vector type. */
#define WASM_DECL_TYPE(n) \
    WASM_DECL_OWN(n)      \
    WASM_DECL_VEC(n, *)   \
    WAFT_API own wasm_##n##_t *wasm_##n##_copy(const wasm_##n##_t *);

/* A reference object: owned, copyable, comparable, with host info. */
#define WASM_DECL_REF_BASE(n)                                                  \
    WASM_DECL_OWN(n)                                                           \
    WAFT_API own wasm_##n##_t *wasm_##n##_copy(const wasm_##n##_t *);          \
    WAFT_API bool wasm_##n##_same(const wasm_##n##_t *, const wasm_##n##_t *); \
    WAFT_API void *wasm_##n##_get_host_info(const wasm_##n##_t *);             \
    WAFT_API void wasm_##n##_set_host_info(wasm_##n##_t *, void *);            \
    WAFT_API void wasm_##n##_set_host_info_with_finalizer(wasm_##n##_t *, void *, void (*)(void *));

/* A reference object that also converts to and from wasm_ref_t (same object). */
#define WASM_DECL_REF(n)                                                      \
    WASM_DECL_REF_BASE(n)                                                     \
    WAFT_API wasm_ref_t *wasm_##n##_as_ref(wasm_##n##_t *);                   \
    WAFT_API wasm_##n##_t *wasm_ref_as_##n(wasm_ref_t *);                     \
    WAFT_API const wasm_ref_t *wasm_##n##_as_ref_const(const wasm_##n##_t *); \
    WAFT_API const wasm_##n##_t *wasm_ref_as_##n##_const(const wasm_ref_t *);

/* A reference object that can be shared between threads (wasm_n_share / wasm_n_obtain). */
#define WASM_DECL_SHARABLE_REF(n)                                             \
    WASM_DECL_REF(n)                                                          \
    WASM_DECL_OWN(shared_##n)                                                 \
    WAFT_API own wasm_shared_##n##_t *wasm_##n##_share(const wasm_##n##_t *); \
    WAFT_API own wasm_##n##_t *wasm_##n##_obtain(wasm_store_t *, const wasm_shared_##n##_t *);

/* ==== Bytes and names ==== */

typedef byte_t wasm_byte_t;
WASM_DECL_VEC(byte, )

typedef wasm_byte_vec_t wasm_name_t;
#define wasm_name                   wasm_byte_vec
#define wasm_name_new               wasm_byte_vec_new
#define wasm_name_new_empty         wasm_byte_vec_new_empty
#define wasm_name_new_uninitialized wasm_byte_vec_new_uninitialized
#define wasm_name_copy              wasm_byte_vec_copy
#define wasm_name_delete            wasm_byte_vec_delete

/* A name from a C string, without its terminating NUL. */
static inline void wasm_name_new_from_string(own wasm_name_t *out, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    wasm_name_new(out, n, s);
}

/* A name from a C string, with its terminating NUL (trap messages are built this way). */
static inline void wasm_name_new_from_string_nt(own wasm_name_t *out, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    wasm_name_new(out, n + 1, s);
}

/* ==== Runtime environment ==== */

/* Options for an engine; waft has none through this API yet. */
WASM_DECL_OWN(config)
WAFT_API own wasm_config_t *wasm_config_new(void);

/* An engine: compiles modules. Delete every store and module made from it first. */
WASM_DECL_OWN(engine)
WAFT_API own wasm_engine_t *wasm_engine_new(void);
WAFT_API own wasm_engine_t *wasm_engine_new_with_config(own wasm_config_t *);

/* A store: holds instances and every function, global, table and memory. */
WASM_DECL_OWN(store)
WAFT_API own wasm_store_t *wasm_store_new(wasm_engine_t *);

/* ==== Types ==== */

typedef uint8_t wasm_mutability_t;
enum wasm_mutability_enum {
    WASM_CONST,
    WASM_VAR
};

typedef struct wasm_limits_t {
    uint32_t min;
    uint32_t max;
} wasm_limits_t;
/* `max` of limits without a maximum. */
static const uint32_t wasm_limits_max_default = 0xffffffff;

WASM_DECL_TYPE(valtype)

typedef uint8_t wasm_valkind_t;
enum wasm_valkind_enum {
    WASM_I32,
    WASM_I64,
    WASM_F32,
    WASM_F64,
    WASM_EXTERNREF = 128,
    WASM_FUNCREF
};
#define WASM_ANYREF WASM_EXTERNREF /* older name of the same kind */

WAFT_API own wasm_valtype_t *wasm_valtype_new(wasm_valkind_t);
WAFT_API wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t *);

static inline bool wasm_valkind_is_num(wasm_valkind_t k)
{
    return k < WASM_EXTERNREF;
}
static inline bool wasm_valkind_is_ref(wasm_valkind_t k)
{
    return k >= WASM_EXTERNREF;
}
static inline bool wasm_valtype_is_num(const wasm_valtype_t *t)
{
    return wasm_valkind_is_num(wasm_valtype_kind(t));
}
static inline bool wasm_valtype_is_ref(const wasm_valtype_t *t)
{
    return wasm_valkind_is_ref(wasm_valtype_kind(t));
}

WASM_DECL_TYPE(functype)
WAFT_API own wasm_functype_t *wasm_functype_new(own wasm_valtype_vec_t *params,
                                                own wasm_valtype_vec_t *results);
WAFT_API const wasm_valtype_vec_t *wasm_functype_params(const wasm_functype_t *);
WAFT_API const wasm_valtype_vec_t *wasm_functype_results(const wasm_functype_t *);

WASM_DECL_TYPE(globaltype)
WAFT_API own wasm_globaltype_t *wasm_globaltype_new(own wasm_valtype_t *, wasm_mutability_t);
WAFT_API const wasm_valtype_t *wasm_globaltype_content(const wasm_globaltype_t *);
WAFT_API wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t *);

WASM_DECL_TYPE(tabletype)
WAFT_API own wasm_tabletype_t *wasm_tabletype_new(own wasm_valtype_t *, const wasm_limits_t *);
WAFT_API const wasm_valtype_t *wasm_tabletype_element(const wasm_tabletype_t *);
WAFT_API const wasm_limits_t *wasm_tabletype_limits(const wasm_tabletype_t *);

WASM_DECL_TYPE(memorytype)
WAFT_API own wasm_memorytype_t *wasm_memorytype_new(const wasm_limits_t *);
WAFT_API const wasm_limits_t *wasm_memorytype_limits(const wasm_memorytype_t *);

/* Any of the four above; the conversions return the same object (NULL if of another kind). */
WASM_DECL_TYPE(externtype)

typedef uint8_t wasm_externkind_t;
enum wasm_externkind_enum {
    WASM_EXTERN_FUNC,
    WASM_EXTERN_GLOBAL,
    WASM_EXTERN_TABLE,
    WASM_EXTERN_MEMORY
};

WAFT_API wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t *);

#define WASM_DECL_EXTERNTYPE_CASTS(n)                                                       \
    WAFT_API wasm_externtype_t *wasm_##n##_as_externtype(wasm_##n##_t *);                   \
    WAFT_API const wasm_externtype_t *wasm_##n##_as_externtype_const(const wasm_##n##_t *); \
    WAFT_API wasm_##n##_t *wasm_externtype_as_##n(wasm_externtype_t *);                     \
    WAFT_API const wasm_##n##_t *wasm_externtype_as_##n##_const(const wasm_externtype_t *);
WASM_DECL_EXTERNTYPE_CASTS(functype)
WASM_DECL_EXTERNTYPE_CASTS(globaltype)
WASM_DECL_EXTERNTYPE_CASTS(tabletype)
WASM_DECL_EXTERNTYPE_CASTS(memorytype)
#undef WASM_DECL_EXTERNTYPE_CASTS

WASM_DECL_TYPE(importtype)
WAFT_API own wasm_importtype_t *wasm_importtype_new(own wasm_name_t *module, own wasm_name_t *name,
                                                    own wasm_externtype_t *);
WAFT_API const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *);
WAFT_API const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *);
WAFT_API const wasm_externtype_t *wasm_importtype_type(const wasm_importtype_t *);

WASM_DECL_TYPE(exporttype)
WAFT_API own wasm_exporttype_t *wasm_exporttype_new(own wasm_name_t *, own wasm_externtype_t *);
WAFT_API const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *);
WAFT_API const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *);

/* ==== Values ==== */

struct wasm_ref_t;

/* A value. For the reference kinds, `ref` is owned by the value (NULL is the null
 * reference): wasm_val_delete deletes it, wasm_val_copy copies it. */
typedef struct wasm_val_t {
    wasm_valkind_t kind;
    union {
        int32_t i32;
        int64_t i64;
        float32_t f32;
        float64_t f64;
        struct wasm_ref_t *ref;
    } of;
} wasm_val_t;

WAFT_API void wasm_val_delete(own wasm_val_t *v);
WAFT_API void wasm_val_copy(own wasm_val_t *out, const wasm_val_t *);

WASM_DECL_VEC(val, )

/* ==== References ==== */

WASM_DECL_REF_BASE(ref)

/* ==== Frames and traps ==== */

/* One frame of a trap's backtrace. */
WASM_DECL_OWN(frame)
WASM_DECL_VEC(frame, *)
WAFT_API own wasm_frame_t *wasm_frame_copy(const wasm_frame_t *);

struct wasm_instance_t;
/* NULL in waft (see the top of this file). */
WAFT_API struct wasm_instance_t *wasm_frame_instance(const wasm_frame_t *);
WAFT_API uint32_t wasm_frame_func_index(const wasm_frame_t *);
/* 0 in waft (see the top of this file). */
WAFT_API size_t wasm_frame_func_offset(const wasm_frame_t *);
/* Byte offset of the instruction in the module binary. */
WAFT_API size_t wasm_frame_module_offset(const wasm_frame_t *);

/* A trap message is a name that ends with a NUL byte (wasm_name_new_from_string_nt). */
typedef wasm_name_t wasm_message_t;

WASM_DECL_REF(trap)
/* A trap with a copy of `message`: returned by a host function, it traps its wasm caller. */
WAFT_API own wasm_trap_t *wasm_trap_new(wasm_store_t *store, const wasm_message_t *);
WAFT_API void wasm_trap_message(const wasm_trap_t *, own wasm_message_t *out);
/* The innermost frame, or NULL for a trap without frames (host-made, link error). */
WAFT_API own wasm_frame_t *wasm_trap_origin(const wasm_trap_t *);
/* The frames, innermost first (at most 64). */
WAFT_API void wasm_trap_trace(const wasm_trap_t *, own wasm_frame_vec_t *out);

/* ==== Foreign objects (externref values) ==== */

WASM_DECL_REF(foreign)
WAFT_API own wasm_foreign_t *wasm_foreign_new(wasm_store_t *);

/* ==== Modules ==== */

WASM_DECL_SHARABLE_REF(module)

/* Compiles (decodes and validates) a binary module; NULL if it is malformed or invalid. */
WAFT_API own wasm_module_t *wasm_module_new(wasm_store_t *, const wasm_byte_vec_t *binary);
WAFT_API bool wasm_module_validate(wasm_store_t *, const wasm_byte_vec_t *binary);
WAFT_API void wasm_module_imports(const wasm_module_t *, own wasm_importtype_vec_t *out);
WAFT_API void wasm_module_exports(const wasm_module_t *, own wasm_exporttype_vec_t *out);
/* The module's binary (waft has no precompiled form). */
WAFT_API void wasm_module_serialize(const wasm_module_t *, own wasm_byte_vec_t *out);
/* wasm_module_new of a serialized module. */
WAFT_API own wasm_module_t *wasm_module_deserialize(wasm_store_t *, const wasm_byte_vec_t *);

/* ==== Functions ==== */

WASM_DECL_REF(func)

/* A host function. `args` are borrowed; `results` has room for the result arity and the
 * callback sets each value (kind included). Returning a trap (own) traps the wasm caller
 * with its message; NULL means success. */
typedef own wasm_trap_t *(*wasm_func_callback_t)(const wasm_val_vec_t *args,
                                                 own wasm_val_vec_t *results);
typedef own wasm_trap_t *(*wasm_func_callback_with_env_t)(void *env, const wasm_val_vec_t *args,
                                                          own wasm_val_vec_t *results);

WAFT_API own wasm_func_t *wasm_func_new(wasm_store_t *, const wasm_functype_t *,
                                        wasm_func_callback_t);
/* `finalizer` (may be NULL) is called with `env` when the store is deleted. */
WAFT_API own wasm_func_t *wasm_func_new_with_env(wasm_store_t *, const wasm_functype_t *type,
                                                 wasm_func_callback_with_env_t, void *env,
                                                 void (*finalizer)(void *));
WAFT_API own wasm_functype_t *wasm_func_type(const wasm_func_t *);
WAFT_API size_t wasm_func_param_arity(const wasm_func_t *);
WAFT_API size_t wasm_func_result_arity(const wasm_func_t *);

/* Calls the function. `args` must match its parameters (else a trap); results are written
 * to `results` as far as it has room (the rest are dropped). Returns NULL, or the trap
 * (own): a wasm trap, a host function's trap, or a wrong number or type of arguments. */
WAFT_API own wasm_trap_t *wasm_func_call(const wasm_func_t *, const wasm_val_vec_t *args,
                                         wasm_val_vec_t *results);

/* ==== Globals ==== */

WASM_DECL_REF(global)
WAFT_API own wasm_global_t *wasm_global_new(wasm_store_t *, const wasm_globaltype_t *,
                                            const wasm_val_t *);
WAFT_API own wasm_globaltype_t *wasm_global_type(const wasm_global_t *);
WAFT_API void wasm_global_get(const wasm_global_t *, own wasm_val_t *out);
/* Ignored (as the C API has no way to fail here) if the global is immutable or the value of
 * another type. */
WAFT_API void wasm_global_set(wasm_global_t *, const wasm_val_t *);

/* ==== Tables ==== */

WASM_DECL_REF(table)

typedef uint32_t wasm_table_size_t;

/* `init` (NULL: null) fills every element: a wasm_func_t of this store (wasm_func_as_ref)
 * for funcref tables, a wasm_foreign_t of this store for externref ones. */
WAFT_API own wasm_table_t *wasm_table_new(wasm_store_t *, const wasm_tabletype_t *,
                                          wasm_ref_t *init);
WAFT_API own wasm_tabletype_t *wasm_table_type(const wasm_table_t *);
/* NULL for a null element or an index out of bounds. */
WAFT_API own wasm_ref_t *wasm_table_get(const wasm_table_t *, wasm_table_size_t index);
WAFT_API bool wasm_table_set(wasm_table_t *, wasm_table_size_t index, wasm_ref_t *);
WAFT_API wasm_table_size_t wasm_table_size(const wasm_table_t *);
WAFT_API bool wasm_table_grow(wasm_table_t *, wasm_table_size_t delta, wasm_ref_t *init);

/* ==== Memories ==== */

WASM_DECL_REF(memory)

typedef uint32_t wasm_memory_pages_t;
static const size_t MEMORY_PAGE_SIZE = 0x10000;

WAFT_API own wasm_memory_t *wasm_memory_new(wasm_store_t *, const wasm_memorytype_t *);
WAFT_API own wasm_memorytype_t *wasm_memory_type(const wasm_memory_t *);
/* The bytes; valid until the memory grows (waft may then move them). */
WAFT_API byte_t *wasm_memory_data(wasm_memory_t *);
WAFT_API size_t wasm_memory_data_size(const wasm_memory_t *);
WAFT_API wasm_memory_pages_t wasm_memory_size(const wasm_memory_t *);
WAFT_API bool wasm_memory_grow(wasm_memory_t *, wasm_memory_pages_t delta);

/* ==== Externals ==== */

WASM_DECL_REF(extern)
WASM_DECL_VEC(extern, *)

WAFT_API wasm_externkind_t wasm_extern_kind(const wasm_extern_t *);
WAFT_API own wasm_externtype_t *wasm_extern_type(const wasm_extern_t *);

/* The conversions return the same object (NULL if it is of another kind). */
#define WASM_DECL_EXTERN_CASTS(n)                                                   \
    WAFT_API wasm_extern_t *wasm_##n##_as_extern(wasm_##n##_t *);                   \
    WAFT_API const wasm_extern_t *wasm_##n##_as_extern_const(const wasm_##n##_t *); \
    WAFT_API wasm_##n##_t *wasm_extern_as_##n(wasm_extern_t *);                     \
    WAFT_API const wasm_##n##_t *wasm_extern_as_##n##_const(const wasm_extern_t *);
WASM_DECL_EXTERN_CASTS(func)
WASM_DECL_EXTERN_CASTS(global)
WASM_DECL_EXTERN_CASTS(table)
WASM_DECL_EXTERN_CASTS(memory)
#undef WASM_DECL_EXTERN_CASTS

/* ==== Instances ==== */

WASM_DECL_REF(instance)

/* Instantiates `module` with one import per module import, in order. On a link error or a
 * trap (segment out of bounds, start function) it returns NULL and, if `trap` is not NULL,
 * stores a trap (own) that says why. */
WAFT_API own wasm_instance_t *wasm_instance_new(wasm_store_t *, const wasm_module_t *,
                                                const wasm_extern_vec_t *imports,
                                                own wasm_trap_t **trap);
/* The exports, in module order (own handles). */
WAFT_API void wasm_instance_exports(const wasm_instance_t *, own wasm_extern_vec_t *out);

/* ==== Convenience ==== */

static inline own wasm_valtype_t *wasm_valtype_new_i32(void)
{
    return wasm_valtype_new(WASM_I32);
}
static inline own wasm_valtype_t *wasm_valtype_new_i64(void)
{
    return wasm_valtype_new(WASM_I64);
}
static inline own wasm_valtype_t *wasm_valtype_new_f32(void)
{
    return wasm_valtype_new(WASM_F32);
}
static inline own wasm_valtype_t *wasm_valtype_new_f64(void)
{
    return wasm_valtype_new(WASM_F64);
}
static inline own wasm_valtype_t *wasm_valtype_new_externref(void)
{
    return wasm_valtype_new(WASM_EXTERNREF);
}
static inline own wasm_valtype_t *wasm_valtype_new_anyref(void)
{
    return wasm_valtype_new(WASM_EXTERNREF);
}
static inline own wasm_valtype_t *wasm_valtype_new_funcref(void)
{
    return wasm_valtype_new(WASM_FUNCREF);
}

/* wasm_functype_new_P_R(params..., results...): P params and R results (0 to 3 each). */
static inline own wasm_functype_t *
wasm_functype_new_of_(size_t np, size_t nr, own wasm_valtype_t *a, own wasm_valtype_t *b,
                      own wasm_valtype_t *c, own wasm_valtype_t *d, own wasm_valtype_t *e,
                      own wasm_valtype_t *f)
{
    wasm_valtype_t *all[6] = { a, b, c, d, e, f };
    wasm_valtype_vec_t params, results;
    wasm_valtype_vec_new(&params, np, all);
    wasm_valtype_vec_new(&results, nr, all + np);
    return wasm_functype_new(&params, &results);
}
#define WASM_FT_(np, nr, ...)                wasm_functype_new_of_(np, nr, __VA_ARGS__)
#define wasm_functype_new_0_0()              WASM_FT_(0, 0, NULL, NULL, NULL, NULL, NULL, NULL)
#define wasm_functype_new_1_0(p)             WASM_FT_(1, 0, p, NULL, NULL, NULL, NULL, NULL)
#define wasm_functype_new_2_0(p, q)          WASM_FT_(2, 0, p, q, NULL, NULL, NULL, NULL)
#define wasm_functype_new_3_0(p, q, s)       WASM_FT_(3, 0, p, q, s, NULL, NULL, NULL)
#define wasm_functype_new_0_1(r)             WASM_FT_(0, 1, r, NULL, NULL, NULL, NULL, NULL)
#define wasm_functype_new_1_1(p, r)          WASM_FT_(1, 1, p, r, NULL, NULL, NULL, NULL)
#define wasm_functype_new_2_1(p, q, r)       WASM_FT_(2, 1, p, q, r, NULL, NULL, NULL)
#define wasm_functype_new_3_1(p, q, s, r)    WASM_FT_(3, 1, p, q, s, r, NULL, NULL)
#define wasm_functype_new_0_2(r, t)          WASM_FT_(0, 2, r, t, NULL, NULL, NULL, NULL)
#define wasm_functype_new_1_2(p, r, t)       WASM_FT_(1, 2, p, r, t, NULL, NULL, NULL)
#define wasm_functype_new_2_2(p, q, r, t)    WASM_FT_(2, 2, p, q, r, t, NULL, NULL)
#define wasm_functype_new_3_2(p, q, s, r, t) WASM_FT_(3, 2, p, q, s, r, t, NULL)

/* Vector and value initializers. */
#define WASM_EMPTY_VEC \
    {                  \
        0, NULL        \
    }
#define WASM_ARRAY_VEC(array)                   \
    {                                           \
        sizeof(array) / sizeof(*(array)), array \
    }
#define WASM_I32_VAL(x)                     \
    {                                       \
        .kind = WASM_I32, .of = {.i32 = x } \
    }
#define WASM_I64_VAL(x)                     \
    {                                       \
        .kind = WASM_I64, .of = {.i64 = x } \
    }
#define WASM_F32_VAL(x)                     \
    {                                       \
        .kind = WASM_F32, .of = {.f32 = x } \
    }
#define WASM_F64_VAL(x)                     \
    {                                       \
        .kind = WASM_F64, .of = {.f64 = x } \
    }
#define WASM_REF_VAL(x)                           \
    {                                             \
        .kind = WASM_EXTERNREF, .of = {.ref = x } \
    }
#define WASM_INIT_VAL                                \
    {                                                \
        .kind = WASM_EXTERNREF, .of = {.ref = NULL } \
    }

#ifdef __cplusplus
}
#endif
#endif
