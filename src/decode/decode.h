/* SPDX-License-Identifier: MIT */
/* decode.h - the binary format to an immutable module IR (structural checks only).
 *
 * Invariants of a decoded module:
 *  - Indices stored in the IR (type, function, table, memory, global, element, data) are
 *    NOT range-checked here: an out-of-range index is a validation error (spec 3), checked
 *    by validate before anything dereferences it. Counts that must agree between sections
 *    (function/code, data count/data) are checked here: their mismatch is malformed.
 *  - Function index space = imported functions first, then defined ones (likewise for
 *    tables, memories and globals).
 *  - Names point into the module's own copy of the bytes.
 *  - Function bodies and constant expressions are kept as byte ranges of that copy.
 */
#ifndef WAFT_DECODE_H
#define WAFT_DECODE_H

#include "base/base.h"

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#endif

/* Limits of this implementation (spec allows more; we reject with WAFT_ERR_LIMIT). */
#define DEC_MAX_PARAMS 1000u
#define DEC_MAX_LOCALS 50000u
#define DEC_MAX_FUNCS  1000000u
#define DEC_MAX_TABLE  10000000u
#define DEC_MAX_PAGES  65536u

typedef struct dec_functype {
    uint32_t nparams;
    uint32_t nresults;
    uint8_t *types;          /* nparams params then nresults results (waft_valtype bytes) */
    waft_valtype *api_types; /* the same as waft_valtype values, for the public API */
} dec_functype;

typedef struct dec_limits {
    uint32_t min;
    uint32_t max;
    bool has_max;
} dec_limits;

typedef struct dec_table {
    uint8_t elem_type; /* WAFT_FUNCREF / WAFT_EXTERNREF */
    dec_limits limits;
} dec_table;

typedef struct dec_global {
    uint8_t type;
    bool mutable_;
    uint32_t init_off; /* constant expression (defined globals only) */
    uint32_t init_len;
} dec_global;

typedef struct dec_import {
    const char *module;
    uint32_t module_len;
    const char *name;
    uint32_t name_len;
    uint8_t kind;   /* waft_extern_kind */
    uint32_t index; /* index in the space of that kind */
    uint32_t off;   /* byte offset of the entry (for errors) */
} dec_import;

typedef struct dec_export {
    const char *name;
    uint32_t name_len;
    uint8_t kind;
    uint32_t index;
    uint32_t off; /* byte offset of the entry (for errors) */
} dec_export;

enum {
    DEC_SEG_ACTIVE = 0,
    DEC_SEG_PASSIVE = 1,
    DEC_SEG_DECLARATIVE = 2
};

typedef struct dec_elem {
    uint8_t mode;
    uint8_t type;        /* reference type of the elements */
    uint32_t table;      /* active only */
    uint32_t offset_off; /* active only: offset constant expression */
    uint32_t offset_len;
    uint32_t count;
    bool exprs;         /* false: `funcs` holds function indices; true: `expr_off` ranges */
    uint32_t *funcs;    /* count indices (when !exprs) */
    uint32_t *expr_off; /* count (offset, length) pairs, 2*count entries (when exprs) */
} dec_elem;

typedef struct dec_data {
    uint8_t mode; /* active or passive */
    uint32_t memory;
    uint32_t offset_off;
    uint32_t offset_len;
    uint32_t data_off; /* bytes in the module */
    uint32_t data_len;
} dec_data;

typedef struct dec_code {
    uint32_t body_off;    /* first byte after the locals declarations */
    uint32_t body_end;    /* one past the final `end` */
    uint32_t nlocals;     /* declared locals (parameters not included) */
    uint8_t *local_types; /* nlocals types */
} dec_code;

typedef struct dec_name {
    uint32_t func;
    const char *name;
    uint32_t len;
} dec_name;

struct icode_func; /* lowered code, produced by validate */

struct waft_module {
    waft_engine *engine;
    base_alloc *alloc;
    uint8_t *bytes; /* own copy */
    size_t len;
    uint8_t hash[32]; /* SHA-256 of bytes, once hash_state is 2 (waft_module_hash) */
#if !defined(__STDC_NO_ATOMICS__)
    _Atomic int hash_state; /* 0 none, 1 being computed, 2 done */
#endif

    uint32_t ntypes;
    dec_functype *types;
    uint32_t nimports;
    dec_import *imports;

    uint32_t nfuncs; /* imported + defined */
    uint32_t nfunc_imports;
    uint32_t *func_types; /* type index per function */

    uint32_t ntables;
    uint32_t ntable_imports;
    dec_table *tables;

    uint32_t nmemories;
    uint32_t nmemory_imports;
    dec_limits *memories;

    uint32_t nglobals;
    uint32_t nglobal_imports;
    dec_global *globals;

    uint32_t nexports;
    dec_export *exports;

    bool has_start;
    uint32_t start;

    uint32_t nelems;
    dec_elem *elems;

    bool has_data_count;
    uint32_t data_count;
    uint32_t ndatas;
    dec_data *datas;

    dec_code *codes;          /* nfuncs - nfunc_imports entries */
    uint32_t *func_type_off;  /* byte offset of each function's type index (for errors) */
    uint32_t section_off[13]; /* start of each section's contents, 0 if absent */

    uint32_t nnames;
    dec_name *names; /* sorted by func */

    /* set by validate */
    bool validated;
    bool *func_declared;      /* per function: may be named by ref.func in bodies */
    struct icode_func *icode; /* one per defined function */

    /* set by the AOT tier (src/aot/): compiled code, loaded once and kept with the module */
    const struct waft_aot_module *aot; /* NULL: interpreter only */
    void *aot_handle;                  /* dlopen handle */
};

/* Decodes `bytes` (copied) into a new module. On failure returns WAFT_ERR_MALFORMED (or
 * WAFT_ERR_NOMEM / WAFT_ERR_LIMIT) with err set, and *out is NULL. */
WAFT_INTERNAL waft_result dec_module(waft_engine *engine, base_alloc *alloc, const uint8_t *bytes,
                                     size_t len, waft_module **out, waft_error *err);
/* Frees a module and everything it owns (including the validator's output). */
WAFT_INTERNAL void dec_module_free(waft_module *m);
/* Name of function `func` from the name section, or NULL. */
WAFT_INTERNAL const char *dec_func_name(const waft_module *m, uint32_t func, uint32_t *out_len);

static inline const dec_functype *dec_func_type(const waft_module *m, uint32_t func)
{
    return &m->types[m->func_types[func]];
}

static inline bool dec_is_reftype(uint8_t t)
{
    return t == WAFT_FUNCREF || t == WAFT_EXTERNREF;
}

static inline bool dec_is_valtype(uint8_t t)
{
    return t == WAFT_I32 || t == WAFT_I64 || t == WAFT_F32 || t == WAFT_F64 || dec_is_reftype(t);
}

#endif
