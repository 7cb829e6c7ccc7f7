/* SPDX-License-Identifier: MIT */
/* test_alloc.c - the allocation hook: failing the Nth allocation anywhere in load,
 * instantiate and call gives clean errors and no leaks; byte accounting is exact and returns
 * to its baseline. Uses host.wat and fuel.wat. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== A counting allocator that can fail ==== */

typedef struct fail_alloc {
    unsigned long count;   /* allocations and reallocations asked for */
    unsigned long fail_at; /* 1-based number of the one to fail; 0 = none */
    bool sticky;           /* also fail every one after it */
    unsigned long failed;  /* how many were failed */
    size_t live;           /* bytes held, as told by the engine's sizes */
    long blocks;           /* blocks held */
    bool bad_free;         /* a free or resize named a size other than the block's */
} fail_alloc;

typedef union block_header {
    size_t size;
    max_align_t align_;
} block_header;

static void *fail_alloc_fn(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    fail_alloc *fa = ud;
    block_header *h = ptr ? (block_header *)ptr - 1 : NULL;
    if (h && h->size != old_size)
        fa->bad_free = true;
    if (new_size == 0) {
        if (h) {
            fa->live -= h->size;
            fa->blocks--;
            free(h);
        }
        return NULL;
    }
    fa->count++;
    if (fa->fail_at && (fa->count == fa->fail_at || (fa->sticky && fa->count > fa->fail_at))) {
        fa->failed++;
        return NULL;
    }
    size_t old = h ? h->size : 0;
    block_header *nh = realloc(h, sizeof *nh + new_size);
    if (!nh)
        return NULL;
    if (!h)
        fa->blocks++;
    fa->live = fa->live - old + new_size;
    nh->size = new_size;
    return nh + 1;
}

static waft_config fail_config(fail_alloc *fa)
{
    waft_config c;
    memset(&c, 0, sizeof c);
    c.alloc = fail_alloc_fn;
    c.alloc_ud = fa;
    c.max_stack_slots = 4096; /* keep the store small: the loop below makes many */
    c.max_call_depth = 100;
    return c;
}

/* ==== Host functions for host.wasm (only what the scenario calls) ==== */

static waft_result h_roundtrip(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)call;
    (void)env;
    results[0] = args[3];
    results[1] = args[2];
    results[2] = args[1];
    results[3] = args[0];
    return WAFT_OK;
}

static waft_result h_unused(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)args;
    (void)results;
    (void)env;
    return waft_call_trap(call, "not used here");
}

static waft_result h_plus_one(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)call;
    (void)env;
    results[0] = (uint32_t)(args[0] + 1);
    return WAFT_OK;
}

/* reenter: calls the wasm function in *env (square) and adds one */
static waft_result h_reenter(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    waft_val arg = unit_i32((uint32_t)args[0]), res;
    waft_result r = waft_func_call(waft_call_store(call), *(waft_extern *)env, &arg, 1, &res, 1);
    if (r != WAFT_OK)
        return waft_call_trap(call, "nested call failed");
    results[0] = (uint32_t)(res.of.i32 + 1);
    return WAFT_OK;
}

static const waft_valtype T_I32[] = { WAFT_I32 };
static const waft_valtype T_RT_PARAMS[] = { WAFT_I32, WAFT_I64, WAFT_F32, WAFT_F64 };
static const waft_valtype T_RT_RESULTS[] = { WAFT_F64, WAFT_F32, WAFT_I64, WAFT_I32 };

/* Creates host function `i` of host.wat's imports. */
static waft_result make_import(waft_store *store, int i, waft_extern *square, waft_extern *out)
{
    static const waft_functype types[7] = {
        { 4, 4, T_RT_PARAMS, T_RT_RESULTS },
        { 1, 0, T_I32, NULL },
        { 1, 0, T_I32, NULL },
        { 1, 1, T_I32, T_I32 },
        { 1, 1, T_I32, T_I32 },
        { 0, 1, NULL, T_I32 },
        { 1, 1, T_I32, T_I32 },
    };
    waft_host_fn fn = i == 0 ? h_roundtrip : i == 3 ? h_plus_one : i == 4 ? h_reenter : h_unused;
    return waft_func_new_host(store, &types[i], fn, square, out);
}

/* ==== The scenario ==== */

/* A step that may fail only for lack of memory. If it did, the allocator stops failing and
 * the step is tried once more, which must work: a failed step leaves nothing broken. */
#define STEP(expr)                                                           \
    do {                                                                     \
        waft_result r_ = (expr);                                             \
        if (r_ != WAFT_OK) {                                                 \
            if (!CHECK_RESULT(r_, WAFT_ERR_NOMEM) || !CHECK(fa->failed > 0)) \
                goto out;                                                    \
            fa->fail_at = 0;                                                 \
            if (!CHECK_RESULT((expr), WAFT_OK))                              \
                goto out;                                                    \
        }                                                                    \
    } while (0)

/* Loads host.wasm and fuel.wasm, instantiates both, calls into them, frees everything.
 * Returns false if a check failed. */
static bool scenario(fail_alloc *fa, const uint8_t *host_bytes, size_t host_len,
                     const uint8_t *fuel_bytes, size_t fuel_len)
{
    waft_config config = fail_config(fa);
    waft_engine *engine = NULL;
    waft_store *store = NULL;
    waft_module *hm = NULL, *fm = NULL;
    waft_instance *hi = NULL, *fi = NULL;
    waft_extern square = { WAFT_EXTERN_FUNC, 0 }, imports[7];
    waft_error err;
    bool ok = false;
    size_t baseline = 0;

    STEP(waft_engine_new(&config, &engine));
    baseline = waft_engine_allocated(engine);
    CHECK_EQ(baseline, fa->live);
    STEP(waft_module_new(engine, host_bytes, host_len, &hm, &err));
    STEP(waft_module_new(engine, fuel_bytes, fuel_len, &fm, &err));
    STEP(waft_store_new(engine, &store));
    for (int i = 0; i < 7; i++)
        STEP(make_import(store, i, &square, &imports[i]));
    STEP(waft_instance_new(store, hm, imports, 7, &hi, &err));
    STEP(waft_instance_new(store, fm, NULL, 0, &fi, &err));
    if (!CHECK_RESULT(waft_instance_export(hi, "square", 6, &square), WAFT_OK))
        goto out;

    waft_val arg = unit_i32(9), res[4];
    waft_extern f;
    CHECK_RESULT(waft_instance_export(hi, "call_reenter", 12, &f), WAFT_OK);
    CHECK_RESULT(waft_func_call(store, f, &arg, 1, res, 1), WAFT_OK);
    CHECK_EQ(res[0].of.i32, 100000 + 81 + 1);
    CHECK_RESULT(waft_instance_export(hi, "call_blocking", 13, &f), WAFT_OK);
    CHECK_RESULT(waft_func_call(store, f, &arg, 1, res, 1), WAFT_OK);
    CHECK_EQ(res[0].of.i32, 1010);
    waft_val rt[4] = { unit_i32(1), unit_i64(2), unit_f32_bits(3), unit_f64_bits(4) };
    CHECK_RESULT(waft_instance_export(hi, "call_roundtrip", 14, &f), WAFT_OK);
    CHECK_RESULT(waft_func_call(store, f, rt, 4, res, 4), WAFT_OK);
    CHECK_EQ(res[3].of.i32, 1);
    CHECK_EQ(res[0].of.f64_bits, 4);
    arg = unit_i32(20);
    CHECK_RESULT(waft_instance_export(fi, "work", 4, &f), WAFT_OK);
    CHECK_RESULT(waft_func_call(store, f, &arg, 1, res, 1), WAFT_OK);
    ok = true;

out:
    waft_store_free(store);
    waft_module_free(hm);
    waft_module_free(fm);
    if (engine) {
        ok &= CHECK_EQ(waft_engine_allocated(engine), baseline);
        ok &= CHECK_EQ(waft_engine_allocated(engine), fa->live);
        waft_engine_free(engine);
    }
    ok &= CHECK_EQ(fa->live, 0);
    ok &= CHECK_EQ(fa->blocks, 0);
    ok &= CHECK(!fa->bad_free);
    return ok;
}

void test_alloc_failure_injection(void)
{
    size_t host_len, fuel_len;
    uint8_t *host_bytes = unit_read_wasm("host.wasm", &host_len);
    uint8_t *fuel_bytes = unit_read_wasm("fuel.wasm", &fuel_len);
    if (!host_bytes || !fuel_bytes)
        goto done;

    /* how many allocations a run makes */
    fail_alloc fa;
    memset(&fa, 0, sizeof fa);
    if (!scenario(&fa, host_bytes, host_len, fuel_bytes, fuel_len))
        goto done;
    unsigned long total = fa.count;
    CHECK(total > 20);

    /* fail each one in turn: alone, then with every later one failing too */
    for (int sticky = 0; sticky < 2; sticky++) {
        for (unsigned long n = 1; n <= total; n++) {
            memset(&fa, 0, sizeof fa);
            fa.fail_at = n;
            fa.sticky = sticky != 0;
            if (!scenario(&fa, host_bytes, host_len, fuel_bytes, fuel_len)) {
                fprintf(stderr, "    (failing allocation %lu of %lu%s)\n", n, total,
                        sticky ? " and all later ones" : "");
                goto done;
            }
            CHECK(fa.failed > 0);
        }
    }
    /* past the end nothing fails */
    memset(&fa, 0, sizeof fa);
    fa.fail_at = total + 1;
    CHECK(scenario(&fa, host_bytes, host_len, fuel_bytes, fuel_len));
    CHECK_EQ(fa.failed, 0);

done:
    free(host_bytes);
    free(fuel_bytes);
}

/* ==== Accounting ==== */

static waft_result h_suspend(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)args;
    (void)results;
    (void)env;
    return waft_call_suspend(call);
}

void test_engine_allocated_baseline(void)
{
    fail_alloc fa;
    memset(&fa, 0, sizeof fa);
    waft_config config = fail_config(&fa);
    unit_env env;
    if (!unit_env_open_store(&env, &config))
        return;
    CHECK(env.baseline > 0);
    CHECK(waft_engine_allocated(env.engine) > env.baseline); /* the store */
    CHECK_EQ(waft_engine_allocated(env.engine), fa.live);    /* exactly what it holds */

    /* host.wasm with imports that suspend, so that a suspension can be abandoned */
    waft_extern imports[7];
    for (int i = 0; i < 7; i++) {
        static const waft_valtype t_i32[] = { WAFT_I32 };
        static const waft_valtype rp[] = { WAFT_I32, WAFT_I64, WAFT_F32, WAFT_F64 };
        static const waft_valtype rr[] = { WAFT_F64, WAFT_F32, WAFT_I64, WAFT_I32 };
        waft_functype t = { 1, 1, t_i32, t_i32 };
        if (i == 0)
            t = (waft_functype){ 4, 4, rp, rr };
        else if (i == 1 || i == 2)
            t.nresults = 0;
        else if (i == 5)
            t.nparams = 0;
        CHECK_RESULT(waft_func_new_host(env.store, &t, h_suspend, NULL, &imports[i]), WAFT_OK);
    }
    if (!unit_env_instantiate(&env, "host.wasm", imports, 7))
        goto done;
    CHECK_EQ(waft_engine_allocated(env.engine), fa.live);

    /* a second module in the same store, objects made by the host, growth */
    size_t len;
    uint8_t *bytes = unit_read_wasm("memory_nomax.wasm", &len);
    waft_module *m2 = NULL;
    waft_instance *i2 = NULL;
    if (bytes) {
        CHECK_RESULT(waft_module_new(env.engine, bytes, len, &m2, NULL), WAFT_OK);
        free(bytes);
    }
    if (m2)
        CHECK_RESULT(waft_instance_new(env.store, m2, NULL, 0, &i2, NULL), WAFT_OK);
    if (i2) {
        size_t before = waft_engine_allocated(env.engine);
        waft_extern grow;
        CHECK_RESULT(waft_instance_export(i2, "grow", 4, &grow), WAFT_OK);
        waft_val arg = unit_i32(3), res;
        CHECK_RESULT(waft_func_call(env.store, grow, &arg, 1, &res, 1), WAFT_OK);
        CHECK_EQ(waft_engine_allocated(env.engine), before + 3 * WAFT_PAGE_SIZE);
    }
    waft_extern x;
    CHECK_RESULT(waft_memory_new(env.store, 2, 10, &x), WAFT_OK);
    CHECK_RESULT(waft_memory_grow(env.store, x, 1, NULL), WAFT_OK);
    CHECK_RESULT(waft_table_new(env.store, WAFT_EXTERNREF, 100, UINT32_MAX, 7, &x), WAFT_OK);
    CHECK_RESULT(waft_global_new(env.store, unit_i64(1), 1, &x), WAFT_OK);
    CHECK_EQ(waft_engine_allocated(env.engine), fa.live);

    /* a trap, a suspension left behind, an exit-free run */
    waft_val arg = unit_i32(0), res;
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "divide"), &arg, 1, &res, 1),
                 WAFT_TRAPPED);
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "call_blocking"), &arg, 1, &res, 1),
                 WAFT_SUSPENDED);
    waft_store_abandon(env.store);
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "call_blocking"), &arg, 1, &res, 1),
                 WAFT_SUSPENDED); /* and one not abandoned: freeing the store drops it */

    waft_store_free(env.store);
    env.store = NULL;
    waft_module_free(m2);

done:
    unit_env_close(&env); /* checks allocated == baseline */
    CHECK_EQ(fa.live, 0);
    CHECK_EQ(fa.blocks, 0);
    CHECK(!fa.bad_free);
}

/* Limits whose byte size does not fit a 32-bit size_t (found by the i386 cross tests): the
 * store must refuse them, not allocate a wrapped, tiny value stack. Only a 32-bit host can
 * tell; a 64-bit one would reserve gigabytes here, so it skips the check. */
void test_alloc_limits_fit_the_host(void)
{
    if (SIZE_MAX > 0xffffffffu)
        return;
    waft_config config;
    memset(&config, 0, sizeof config);
    config.max_stack_slots = 0x20000001u; /* 8 bytes each: 2^32 + 8 */
    waft_engine *engine;
    REQUIRE_RESULT(waft_engine_new(&config, &engine), WAFT_OK);
    waft_store *store = NULL;
    CHECK_RESULT(waft_store_new(engine, &store), WAFT_ERR_NOMEM);
    waft_store_free(store);
    waft_engine_free(engine);
}
