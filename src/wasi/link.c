/* SPDX-License-Identifier: MIT */
/* link.c - the preview1 function list, the one host-call trampoline, and import
 * resolution (waft_wasi_imports / waft_wasi_import).
 *
 * Invariants:
 *  - Every guest call into WASI passes through `trampoline`, which fetches the caller's
 *    memory, runs the implementation and turns its outcome into the engine's result (the
 *    single place where a record/replay layer or tracing would hook in).
 *  - A host function is created at most once per name per waft_wasi, with exactly the
 *    preview1 type; an import with any other type is a link error here, before
 *    instantiation.
 */
#include "wasi/wasi.h"

#include <stdio.h>
#include <string.h>

/* ==== The function list ==== */

typedef struct func_desc {
    const char *name;
    const char *params; /* 'i' i32, 'I' i64 */
    uint8_t has_result; /* an i32 errno */
    wasi_impl impl;
} func_desc;

static const func_desc funcs[] = {
#define WASI_X_DESC(name, params, has_result) { #name, params, has_result, wasi_call_##name },
    WASI_FUNC_LIST(WASI_X_DESC)
#undef WASI_X_DESC
};

_Static_assert(sizeof funcs / sizeof funcs[0] == WASI_NFUNCS, "WASI_NFUNCS is out of date");

/* ==== The trampoline ==== */

static waft_result trampoline(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    const wasi_binding *b = env;
    const func_desc *d = &funcs[b->index];
    wasi_ctx c;
    uint32_t r;

    c.w = b->wasi;
    c.call = call;
    c.mem_size = 0;
    c.mem = waft_call_memory(call, &c.mem_size);
    if (c.mem == NULL)
        c.mem_size = 0; /* no memory: every pointer is out of bounds */
    c.tracked = waft_call_memory_tracked(call);
    c.nranges = 0;
    c.exit_code = 0;
    r = d->impl(&c, args);
    if (c.nranges) {
        /* after the writes (guest code or the kernel, e.g. read(2), made them): see
         * waft_memory_track for why the mark must come after */
        if (c.nranges <= 8)
            for (uint32_t i = 0; i < c.nranges; i++)
                waft_call_memory_written(call, c.range_ptr[i], c.range_len[i]);
        else
            waft_call_memory_written(call, c.span_lo, c.span_hi - c.span_lo);
    }
    if (r == WASI_CTL_SUSPEND)
        return waft_call_suspend(call);
    if (r == WASI_CTL_EXIT)
        return waft_call_exit(call, c.exit_code);
    if (d->has_result)
        results[0] = r; /* the errno, an i32 in the low bits */
    return WAFT_OK;
}

/* ==== Types ==== */

static void type_of(const func_desc *d, waft_valtype *params, waft_valtype *result,
                    waft_functype *out)
{
    uint32_t n = (uint32_t)strlen(d->params);

    for (uint32_t i = 0; i < n; i++)
        params[i] = d->params[i] == 'I' ? WAFT_I64 : WAFT_I32;
    result[0] = WAFT_I32;
    out->nparams = n;
    out->params = params;
    out->nresults = d->has_result ? 1 : 0;
    out->results = result;
}

static int same_type(const waft_functype *a, const waft_functype *b)
{
    if (a->nparams != b->nparams || a->nresults != b->nresults)
        return 0;
    for (uint32_t i = 0; i < a->nparams; i++)
        if (a->params[i] != b->params[i])
            return 0;
    for (uint32_t i = 0; i < a->nresults; i++)
        if (a->results[i] != b->results[i])
            return 0;
    return 1;
}

/* Writes "(i32 i64) -> i32" for a type. */
static void type_text(const waft_functype *t, char *buf, size_t cap)
{
    size_t at = 0;

    at += (size_t)snprintf(buf + at, cap - at, "(");
    for (uint32_t i = 0; i < t->nparams && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i > 0 ? " " : "",
                               t->params[i] == WAFT_I32   ? "i32"
                               : t->params[i] == WAFT_I64 ? "i64"
                               : t->params[i] == WAFT_F32 ? "f32"
                               : t->params[i] == WAFT_F64 ? "f64"
                                                          : "ref");
    if (at < cap)
        at += (size_t)snprintf(buf + at, cap - at, ")");
    if (at < cap)
        snprintf(buf + at, cap - at, " -> %s",
                 t->nresults == 0            ? "()"
                 : t->nresults > 1           ? "(several)"
                 : t->results[0] == WAFT_I32 ? "i32"
                 : t->results[0] == WAFT_I64 ? "i64"
                                             : "other");
}

static void link_error(waft_error *err, const waft_import_desc *d, const char *why)
{
    int n;

    if (err == NULL)
        return;
    err->code = WAFT_ERR_LINK;
    err->offset = -1;
    err->func = -1;
    n = snprintf(err->message, sizeof err->message, "import \"%s\".\"", WAFT_WASI_MODULE_NAME);
    for (size_t i = 0; i < d->name_len && n >= 0 && (size_t)n + 5 < sizeof err->message; i++) {
        unsigned char ch = (unsigned char)d->name[i];
        err->message[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    if (n >= 0 && (size_t)n < sizeof err->message)
        snprintf(err->message + n, sizeof err->message - (size_t)n, "\": %s", why);
}

/* ==== Resolution ==== */

static int is_wasi_module(const waft_import_desc *d)
{
    size_t n = strlen(WAFT_WASI_MODULE_NAME);
    return d->module_len == n && memcmp(d->module, WAFT_WASI_MODULE_NAME, n) == 0;
}

waft_result waft_wasi_import(waft_wasi *w, const waft_module *module, uint32_t i, waft_extern *out,
                             waft_error *out_err)
{
    waft_import_desc d;
    waft_functype want, got;
    waft_valtype params[16], result[1];
    uint32_t k;
    waft_result r;

    if (w == NULL || module == NULL || out == NULL || i >= waft_module_import_count(module))
        return WAFT_ERR_INVALID_ARG;
    waft_module_import(module, i, &d);
    if (!is_wasi_module(&d))
        return WAFT_ERR_NOT_FOUND;
    for (k = 0; k < WASI_NFUNCS; k++)
        if (strlen(funcs[k].name) == d.name_len && memcmp(funcs[k].name, d.name, d.name_len) == 0)
            break;
    if (k == WASI_NFUNCS) {
        link_error(out_err, &d, "not a preview1 function");
        return WAFT_ERR_LINK;
    }
    if (d.kind != WAFT_EXTERN_FUNC) {
        link_error(out_err, &d, "imported as something other than a function");
        return WAFT_ERR_LINK;
    }
    type_of(&funcs[k], params, result, &want);
    r = waft_module_import_functype(module, i, &got);
    if (r != WAFT_OK)
        return r;
    if (!same_type(&want, &got)) {
        char a[80], b[80], why[180];
        type_text(&got, a, sizeof a);
        type_text(&want, b, sizeof b);
        snprintf(why, sizeof why, "type %s, preview1 has %s", a, b);
        link_error(out_err, &d, why);
        return WAFT_ERR_LINK;
    }
    if (!w->have_func[k]) {
        r = waft_func_new_host(w->store, &want, trampoline, &w->bindings[k], &w->funcs[k]);
        if (r != WAFT_OK) {
            if (out_err != NULL) {
                out_err->code = r;
                out_err->offset = -1;
                out_err->func = -1;
                snprintf(out_err->message, sizeof out_err->message,
                         "cannot create host function %s", funcs[k].name);
            }
            return r;
        }
        w->have_func[k] = 1;
    }
    *out = w->funcs[k];
    return WAFT_OK;
}

waft_result waft_wasi_imports(waft_wasi *w, const waft_module *module, waft_extern *imports,
                              waft_error *out_err)
{
    uint32_t n;

    if (w == NULL || module == NULL)
        return WAFT_ERR_INVALID_ARG;
    n = waft_module_import_count(module);
    if (n > 0 && imports == NULL)
        return WAFT_ERR_INVALID_ARG;
    for (uint32_t i = 0; i < n; i++) {
        waft_result r = waft_wasi_import(w, module, i, &imports[i], out_err);
        if (r != WAFT_OK && r != WAFT_ERR_NOT_FOUND)
            return r;
    }
    return WAFT_OK;
}
