/* SPDX-License-Identifier: MIT */
/* fuzz_image.c - libFuzzer target: the image reader and restore treat their input as
 * hostile.
 *
 *   make fuzz-image                (clang -fsanitize=fuzzer,address,undefined)
 *
 * For each input: waft_image_decode; if it parses and embeds a module, the module is loaded,
 * every function import is satisfied by a host function returning zeros, the image is
 * restored, and a restored execution runs on a small fuel budget. Nothing may crash, leak or
 * allocate beyond the engine's limit; every byte the engine counted must come back. Every
 * image waft writes must be readable: the restored state, and the state after the run, are
 * saved again (plain or compressed) and must decode.
 *
 * Seeds: tests/fuzz/images/ (images written by the snapshot unit tests' module).
 */
#include <waft/waft.h>
#include <waft/waft_snapshot.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Saves the store's state and reads it back: aborts if waft wrote an image it refuses. */
static void resave(waft_engine *engine, waft_store *store, waft_instance *inst, int compress)
{
    waft_image_options opt;
    memset(&opt, 0, sizeof opt);
    opt.compress = compress;
    uint8_t *bytes = NULL;
    size_t len = 0;
    waft_error err;
    if (waft_image_encode(store, inst, &opt, &bytes, &len, &err) != WAFT_OK)
        return; /* e.g. a state that cannot be saved: refusing to write is fine */
    waft_image *again = NULL;
    waft_result r = waft_image_decode(engine, bytes, len, &again, &err);
    if (r != WAFT_OK && r != WAFT_ERR_NOMEM)
        abort(); /* an image waft wrote does not read back */
    waft_image_free(again);
    free(bytes);
}

static waft_result zero_host(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    const waft_functype *type = env;
    (void)call;
    (void)args;
    for (uint32_t i = 0; i < type->nresults; i++)
        results[i] = 0;
    return WAFT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    waft_config config;
    memset(&config, 0, sizeof config);
    config.memory_limit = (size_t)512 << 20;
    config.max_call_depth = 1000;
    config.max_stack_slots = 1u << 16;
    waft_engine *engine = NULL;
    if (waft_engine_new(&config, &engine) != WAFT_OK)
        return 0;
    size_t baseline = waft_engine_allocated(engine);
    waft_image *image = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_extern *imports = NULL;
    waft_functype *types = NULL;
    waft_error err;
    if (waft_image_decode(engine, data, size, &image, &err) != WAFT_OK) {
        if (err.message[0] == 0)
            abort(); /* a rejection must say why */
        goto done;
    }
    size_t mlen;
    const uint8_t *mbytes = waft_image_module(image, &mlen);
    if (!mbytes || waft_module_new(engine, mbytes, mlen, &module, &err) != WAFT_OK)
        goto done;
    if (waft_store_new(engine, &store) != WAFT_OK)
        goto done;
    uint32_t n = waft_module_import_count(module);
    imports = calloc((size_t)n + 1, sizeof *imports);
    types = calloc((size_t)n + 1, sizeof *types);
    if (!imports || !types)
        goto done;
    for (uint32_t i = 0; i < n; i++) {
        waft_import_desc d;
        waft_module_import(module, i, &d);
        if (d.kind != WAFT_EXTERN_FUNC ||
            waft_module_import_functype(module, i, &types[i]) != WAFT_OK ||
            waft_func_new_host(store, &types[i], zero_host, &types[i], &imports[i]) != WAFT_OK)
            goto done;
    }
    waft_instance *inst;
    if (waft_image_restore(image, store, module, imports, n, &inst, &err) != WAFT_OK) {
        if (err.message[0] == 0)
            abort();
        goto done;
    }
    int compress = size > 0 && (data[size - 1] & 1);
    resave(engine, store, inst, compress);
    if (waft_store_frame_count(store) > 0) {
        waft_val results[64];
        waft_store_set_fuel(store, 20000);
        waft_result r = waft_store_resume(store, results, 64);
        if (r == WAFT_SUSPENDED) {
            resave(engine, store, inst, !compress);
            waft_store_abandon(store);
        }
    }
done:
    waft_store_free(store);
    free(types);
    free(imports);
    waft_module_free(module);
    waft_image_free(image);
    if (waft_engine_allocated(engine) != baseline)
        abort();
    waft_engine_free(engine);
    return 0;
}
