/* SPDX-License-Identifier: MIT */
/* capi.h - the wasm.h layer's objects, shared by src/capi/types.c and src/capi/runtime.c.
 *
 * Invariants:
 *  - The layer uses libwaft's public API only (include/waft/waft.h), as any embedder would.
 *  - Every reference object (wasm_ref_t and what converts to it) begins with a capi_ref
 *    header, so the wasm_X_as_ref / wasm_ref_as_X conversions are pointer casts checked by
 *    the header's kind.
 *  - A handle (func, global, table, memory, extern) is a capi_obj: a waft_extern of a store.
 *    Deleting the handle never frees the object; wasm_store_delete frees everything.
 *  - Memory comes from malloc, not from an engine's allocator: wasm.h frees vectors and
 *    types without naming an engine.
 */
#ifndef WAFT_CAPI_H
#define WAFT_CAPI_H

#include "wasm.h"

#include <stdlib.h>
#include <string.h>

#ifndef WAFT_INTERNAL
#define WAFT_INTERNAL
#endif

/* What a reference object is. */
typedef enum capi_kind {
    CAPI_FUNC = WASM_EXTERN_FUNC,
    CAPI_GLOBAL = WASM_EXTERN_GLOBAL,
    CAPI_TABLE = WASM_EXTERN_TABLE,
    CAPI_MEMORY = WASM_EXTERN_MEMORY,
    CAPI_TRAP,
    CAPI_FOREIGN,
    CAPI_MODULE,
    CAPI_INSTANCE
} capi_kind;

typedef struct capi_ref {
    capi_kind kind;
    void *host_info;
    void (*finalizer)(void *);
} capi_ref;

/* A host function's callback and environment; owned by its store. */
typedef struct capi_host {
    struct capi_host *next;
    wasm_store_t *store;
    wasm_func_callback_t cb;
    wasm_func_callback_with_env_t cb_env;
    void *env;
    void (*finalizer)(void *);
} capi_host;

/* A foreign object's shared part; owned by its store. Its waft_ref (externref value) is
 * its position + 1. */
typedef struct capi_foreign_rec {
    void *host_info;
    void (*finalizer)(void *);
} capi_foreign_rec;

struct wasm_config_t {
    int unused; /* no options yet */
};

struct wasm_engine_t {
    waft_engine *engine;
};

struct wasm_store_t {
    wasm_engine_t *engine;
    waft_store *store;
    capi_host *hosts;
    capi_foreign_rec *foreigns;
    size_t nforeigns, foreigns_cap;
    wasm_module_t **modules; /* modules instantiated here: they must outlive the store */
    size_t nmodules, modules_cap;
};

/* func, global, table, memory and extern handles are all this. */
typedef struct capi_obj {
    capi_ref ref;
    wasm_store_t *store;
    waft_extern x;
} capi_obj;

struct wasm_foreign_t {
    capi_ref ref;
    wasm_store_t *store;
    size_t index;
};

struct wasm_frame_t {
    uint32_t func;
    size_t module_offset;
};

struct wasm_trap_t {
    capi_ref ref;
    wasm_message_t message; /* ends with NUL */
    wasm_frame_vec_t trace;
};

struct wasm_module_t {
    capi_ref ref;
    size_t refs; /* handles + stores that instantiated it */
    waft_module *module;
};

struct wasm_shared_module_t {
    wasm_byte_vec_t binary;
};

struct wasm_instance_t {
    capi_ref ref;
    wasm_store_t *store;
    waft_instance *instance;
};

/* ==== types.c: the type objects' layout ==== */

struct wasm_valtype_t {
    wasm_valkind_t kind;
};

/* One struct for the four extern types, so the casts are free. */
struct wasm_externtype_t {
    wasm_externkind_t kind;
    wasm_valtype_vec_t params, results; /* FUNC */
    wasm_valtype_t *content;            /* GLOBAL: value type; TABLE: element type */
    wasm_mutability_t mutability;       /* GLOBAL */
    wasm_limits_t limits;               /* TABLE, MEMORY */
};

struct wasm_importtype_t {
    wasm_name_t module, name;
    wasm_externtype_t *type;
};

struct wasm_exporttype_t {
    wasm_name_t name;
    wasm_externtype_t *type;
};

/* ==== Shared helpers ==== */

/* wasm_valkind_t <-> waft_valtype; capi_valtype returns 0 for an unknown kind. */
WAFT_INTERNAL waft_valtype capi_valtype(wasm_valkind_t k);
WAFT_INTERNAL wasm_valkind_t capi_valkind(waft_valtype t);
/* A new wasm.h extern type from a libwaft one (NULL if out of memory). */
WAFT_INTERNAL wasm_externtype_t *capi_externtype_from(const waft_externtype *t);
/* A new trap with a copy of `message` and, if `from` is not NULL, its backtrace. */
WAFT_INTERNAL wasm_trap_t *capi_trap_new(const char *message, const waft_trap *from);
/* A new handle (own) of store object `x`; NULL if out of memory. */
WAFT_INTERNAL wasm_extern_t *capi_extern_new(wasm_store_t *s, waft_extern x);
/* Runs a handle's host-info finalizer. */
WAFT_INTERNAL void capi_ref_finalize(capi_ref *r);

#endif
