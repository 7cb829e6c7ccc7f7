/* SPDX-License-Identifier: MIT */
/* fuzz_module.c - libFuzzer target: decode, validate, instantiate and run any input.
 *
 *   make fuzz                      (builds with clang -fsanitize=fuzzer,address,undefined)
 *
 * For each input: a fresh engine (256 MiB memory limit, call depth 1000, small value
 * stack); waft_module_decode_only and waft_module_new, whose verdicts must be consistent; if the
 * module is valid, a store where every function import is a host function that returns
 * zeros (modules importing tables, memories or globals are not instantiated: the API does
 * not describe their types); then every exported function is called with zero arguments on
 * a budget of FUEL instructions. Everything is freed, and the engine's byte count must be
 * back to where it started. Invariant violations abort(), which libFuzzer reports.
 *
 * Seeds: tests/fuzz/corpus/, written from the hand-assembled modules of
 * tests/cli/modules.sh (source it and call write_module to regenerate one).
 */
#include <waft/waft.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUEL         100000u
#define MAX_CALLS    64 /* exports called per input, to bound the time of one input */
#define MEMORY_LIMIT ((size_t)256 << 20)
#define CALL_DEPTH   1000u
#define STACK_SLOTS  (1u << 16)
#define MAX_VALUES   1024 /* params/results handled per call; larger ones are skipped */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A host function for any type: its results are zeros of the right width. */
static waft_result zero_host(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    const waft_functype *type = env;

    (void)call;
    (void)args;
    for (uint32_t i = 0; i < type->nresults; i++)
        results[i] = 0;
    return WAFT_OK;
}

/* A decoder verdict: malformed, or not (valid or merely invalid). */
static int is_verdict(waft_result r)
{
    return r == WAFT_OK || r == WAFT_ERR_MALFORMED || r == WAFT_ERR_INVALID;
}

/* Fills in func imports; returns 0 if every import could be satisfied. The types are
 * copied into types[] because the host functions keep a pointer to theirs as `env`. */
static int make_imports(waft_store *store, const waft_module *module, uint32_t n,
                        waft_extern *imports, waft_functype *types)
{
    for (uint32_t i = 0; i < n; i++) {
        waft_import_desc desc;
        waft_module_import(module, i, &desc);
        if (desc.kind != WAFT_EXTERN_FUNC)
            return -1;
        if (waft_module_import_functype(module, i, &types[i]) != WAFT_OK)
            abort(); /* the import is a function, so its type must be there */
        if (waft_func_new_host(store, &types[i], zero_host, &types[i], &imports[i]) != WAFT_OK)
            return -1;
    }
    return 0;
}

/* Zero of each parameter type; raw bits of zero are 0, 0.0f, 0.0 and null alike. */
static void zero_args(const waft_functype *type, waft_val *args)
{
    for (uint32_t i = 0; i < type->nparams; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].type = type->params[i];
    }
}

/* Calls each exported function once. */
static void call_exports(waft_store *store, const waft_module *module,
                         const waft_instance *instance)
{
    waft_val args[MAX_VALUES], results[MAX_VALUES];
    uint32_t n = waft_module_export_count(module);
    uint32_t calls = 0;

    for (uint32_t i = 0; i < n && calls < MAX_CALLS; i++) {
        waft_export_desc desc;
        waft_extern func;
        waft_functype type;
        waft_result r;

        waft_module_export(module, i, &desc);
        if (desc.kind != WAFT_EXTERN_FUNC)
            continue;
        if (waft_instance_export(instance, desc.name, desc.name_len, &func) != WAFT_OK)
            abort(); /* the module says it is exported */
        if (waft_func_type(store, func, &type) != WAFT_OK)
            abort();
        if (type.nparams > MAX_VALUES || type.nresults > MAX_VALUES)
            continue;
        zero_args(&type, args);
        waft_store_set_fuel(store, FUEL);
        r = waft_func_call(store, func, args, type.nparams, results, type.nresults);
        if (r == WAFT_SUSPENDED)
            waft_store_abandon(store);
        else if (r == WAFT_TRAPPED && waft_store_trap(store) == NULL)
            abort(); /* a trap must be readable */
        calls++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    waft_config config;
    waft_engine *engine = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_instance *instance = NULL;
    waft_extern *imports = NULL;
    waft_functype *types = NULL;
    waft_error err;
    waft_result decoded, r;
    size_t baseline;
    uint32_t nimports;

    memset(&config, 0, sizeof config);
    config.memory_limit = MEMORY_LIMIT;
    config.max_call_depth = CALL_DEPTH;
    config.max_stack_slots = STACK_SLOTS;
    if (waft_engine_new(&config, &engine) != WAFT_OK)
        return 0;
    baseline = waft_engine_allocated(engine);

    decoded = waft_module_decode_only(engine, data, size, &err);
    r = waft_module_new(engine, data, size, &module, &err);
    /* Both verdicts come from the same decoder: what is malformed for decoding alone is
     * malformed for the full load too. (The converse does not hold: byte-level faults inside
     * function bodies are found while validating them.) */
    if (is_verdict(decoded) && is_verdict(r) && decoded == WAFT_ERR_MALFORMED &&
        r != WAFT_ERR_MALFORMED)
        abort();
    if (r != WAFT_OK)
        goto done;

    if (waft_store_new(engine, &store) != WAFT_OK)
        goto done;
    nimports = waft_module_import_count(module);
    imports = calloc((size_t)nimports + 1, sizeof *imports);
    types = calloc((size_t)nimports + 1, sizeof *types);
    if (imports == NULL || types == NULL)
        goto done;
    if (make_imports(store, module, nimports, imports, types) != 0)
        goto done;
    waft_store_set_fuel(store, FUEL); /* the start function runs on fuel too */
    r = waft_instance_new(store, module, imports, nimports, &instance, &err);
    if (r == WAFT_SUSPENDED)
        waft_store_abandon(store);
    if (r != WAFT_OK)
        goto done;
    call_exports(store, module, instance);

done:
    if (store != NULL)
        waft_store_free(store);
    free(types);
    free(imports);
    if (module != NULL)
        waft_module_free(module);
    if (waft_engine_allocated(engine) != baseline)
        abort(); /* every byte counted by the engine must have come back */
    waft_engine_free(engine);
    return 0;
}
