/* SPDX-License-Identifier: MIT */
/* test_link.c - one instance imports another's memory, table, globals and function; import
 * mismatches are link errors. Uses link_a.wat and link_b.wat. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    NB_IMPORTS = 5
};

/* The exports of instance A in link_b's import order. */
static void a_exports(unit_env *a, waft_extern *out)
{
    static const char *const names[NB_IMPORTS] = { "mem", "tab", "counter", "konst", "double" };
    for (int i = 0; i < NB_IMPORTS; i++)
        out[i] = unit_export(a, names[i]);
}

static uint32_t call_a(unit_env *a, const char *name, uint32_t nargs, uint32_t x, uint32_t y)
{
    waft_val args[2] = { unit_i32(x), unit_i32(y) }, res;
    memset(&res, 0, sizeof res);
    CHECK_RESULT(waft_func_call(a->store, unit_export(a, name), args, nargs, &res, 1), WAFT_OK);
    return res.of.i32;
}

static waft_module *load_b(unit_env *a)
{
    size_t len;
    uint8_t *bytes = unit_read_wasm("link_b.wasm", &len);
    if (!bytes)
        return NULL;
    waft_module *m = NULL;
    CHECK_RESULT(waft_module_new(a->engine, bytes, len, &m, NULL), WAFT_OK);
    free(bytes); /* copied by the module */
    return m;
}

void test_link_two_instances(void)
{
    unit_env a;
    if (!unit_env_open(&a, "link_a.wasm", NULL, NULL, 0))
        return;
    waft_module *mb = load_b(&a);
    waft_extern imports[NB_IMPORTS];
    a_exports(&a, imports);
    waft_instance *b = NULL;
    waft_error err;
    if (mb)
        CHECK_RESULT(waft_instance_new(a.store, mb, imports, NB_IMPORTS, &b, &err), WAFT_OK);
    if (!b)
        goto done;

    /* b's segments went into a's memory and table */
    CHECK_EQ(call_a(&a, "peek", 1, 100, 0), 42);
    CHECK_EQ(call_a(&a, "call_slot", 2, 0, 5), 10); /* a's own double */
    CHECK_EQ(call_a(&a, "call_slot", 2, 1, 5), 15); /* b's triple */
    waft_ref slot1 = 0;
    CHECK_RESULT(waft_table_get(a.store, imports[1], 1, &slot1), WAFT_OK);
    CHECK(slot1 != WAFT_REF_NULL);

    /* b changes a's global and memory and calls a's function */
    waft_extern run;
    REQUIRE_RESULT(waft_instance_export(b, "run", 3, &run), WAFT_OK);
    waft_val arg = unit_i32(21), res;
    CHECK_RESULT(waft_func_call(a.store, run, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 42); /* a's table slot 0 is a's double */
    CHECK_EQ(call_a(&a, "get_counter", 0, 0, 0), 11);
    CHECK_EQ(call_a(&a, "peek", 1, 200, 0), 42);
    waft_val g;
    CHECK_RESULT(waft_global_get(a.store, imports[2], &g), WAFT_OK);
    CHECK_EQ(g.of.i32, 11);

    /* the host sets a's global; b sees it */
    CHECK_RESULT(waft_global_set(a.store, imports[2], unit_i32(500)), WAFT_OK);
    CHECK_RESULT(waft_func_call(a.store, run, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(call_a(&a, "get_counter", 0, 0, 0), 501);

    waft_extern konst;
    REQUIRE_RESULT(waft_instance_export(b, "konst", 5, &konst), WAFT_OK);
    CHECK_RESULT(waft_func_call(a.store, konst, NULL, 0, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i64, 77);

    /* one memory: b grows it, a sees the new size */
    waft_extern bmem;
    CHECK_RESULT(waft_instance_memory(b, &bmem), WAFT_OK);
    CHECK_EQ(bmem.index, imports[0].index);
    waft_extern grow;
    REQUIRE_RESULT(waft_instance_export(b, "grow", 4, &grow), WAFT_OK);
    CHECK_RESULT(waft_func_call(a.store, grow, NULL, 0, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 1);
    uint64_t sz = 0;
    waft_memory_data(a.store, imports[0], &sz);
    CHECK_EQ(sz, 2ull * WAFT_PAGE_SIZE);
    CHECK_RESULT(waft_func_call(a.store, grow, NULL, 0, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 0xffffffffu); /* a's memory has max 2 */

done:
    waft_store_free(a.store); /* instances first, then both modules */
    a.store = NULL;
    waft_module_free(mb);
    unit_env_close(&a);
}

/* Instantiates b with `imports` and expects a link error that names `what`. */
static void expect_link_error(unit_env *a, waft_module *mb, const waft_extern *imports, uint32_t n,
                              const char *what)
{
    waft_instance *b = (waft_instance *)&b;
    waft_error err;
    memset(&err, 0, sizeof err);
    CHECK_RESULT(waft_instance_new(a->store, mb, imports, n, &b, &err), WAFT_ERR_LINK);
    CHECK(b == NULL);
    CHECK_RESULT(err.code, WAFT_ERR_LINK);
    CHECK(err.message[0] != '\0');
    if (what && !CHECK(strstr(err.message, what) != NULL))
        fprintf(stderr, "    message: %s\n", err.message);
}

static waft_result h_nothing(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)call;
    (void)args;
    (void)env;
    results[0] = 0;
    return WAFT_OK;
}

void test_link_mismatch(void)
{
    unit_env a;
    if (!unit_env_open(&a, "link_a.wasm", NULL, NULL, 0))
        return;
    waft_module *mb = load_b(&a);
    if (!mb)
        goto done;
    waft_extern good[NB_IMPORTS], im[NB_IMPORTS];
    a_exports(&a, good);

    /* the module describes its imports */
    CHECK_EQ(waft_module_import_count(mb), NB_IMPORTS);
    waft_import_desc d;
    waft_module_import(mb, 4, &d);
    CHECK_EQ(d.kind, WAFT_EXTERN_FUNC);
    CHECK(d.name_len == 6 && memcmp(d.name, "double", 6) == 0);
    waft_functype ft;
    CHECK_RESULT(waft_module_import_functype(mb, 4, &ft), WAFT_OK);
    CHECK_EQ(ft.nparams, 1);
    CHECK_RESULT(waft_module_import_functype(mb, 0, &ft), WAFT_ERR_INVALID_ARG);

    /* a function of another type: () -> i32 for (i32) -> i32 */
    memcpy(im, good, sizeof im);
    im[4] = unit_export(&a, "get_counter");
    expect_link_error(&a, mb, im, NB_IMPORTS, "double");

    /* a host function of another type: (i32) -> i64 */
    static const waft_valtype p[] = { WAFT_I32 }, r64[] = { WAFT_I64 };
    waft_functype wrong = { 1, 1, p, r64 };
    CHECK_RESULT(waft_func_new_host(a.store, &wrong, h_nothing, NULL, &im[4]), WAFT_OK);
    expect_link_error(&a, mb, im, NB_IMPORTS, "double");

    /* the wrong kind: a memory where a function goes, a function where a memory goes */
    memcpy(im, good, sizeof im);
    im[4] = good[0];
    expect_link_error(&a, mb, im, NB_IMPORTS, "double");
    memcpy(im, good, sizeof im);
    im[0] = good[4];
    expect_link_error(&a, mb, im, NB_IMPORTS, "mem");

    /* globals: immutable for mutable, and the wrong value type */
    memcpy(im, good, sizeof im);
    im[2] = good[3];
    expect_link_error(&a, mb, im, NB_IMPORTS, "counter");
    CHECK_RESULT(waft_global_new(a.store, unit_i64(1), 1, &im[2]), WAFT_OK);
    expect_link_error(&a, mb, im, NB_IMPORTS, "counter");

    /* limits: a memory of 0 pages for one of at least 1, a table of 2 for one of 4 */
    memcpy(im, good, sizeof im);
    CHECK_RESULT(waft_memory_new(a.store, 0, UINT32_MAX, &im[0]), WAFT_OK);
    expect_link_error(&a, mb, im, NB_IMPORTS, "mem");
    memcpy(im, good, sizeof im);
    CHECK_RESULT(waft_table_new(a.store, WAFT_FUNCREF, 2, UINT32_MAX, 0, &im[1]), WAFT_OK);
    expect_link_error(&a, mb, im, NB_IMPORTS, "tab");
    CHECK_RESULT(waft_table_new(a.store, WAFT_EXTERNREF, 4, UINT32_MAX, 0, &im[1]), WAFT_OK);
    expect_link_error(&a, mb, im, NB_IMPORTS, "tab");

    /* handles that do not exist, and the wrong number of imports */
    memcpy(im, good, sizeof im);
    im[4].index = 12345;
    expect_link_error(&a, mb, im, NB_IMPORTS, "double");
    expect_link_error(&a, mb, good, NB_IMPORTS - 1, NULL);

    /* none of that changed a: b's segments were not applied */
    CHECK_EQ(call_a(&a, "peek", 1, 100, 0), 0);
    waft_ref slot1 = 1;
    CHECK_RESULT(waft_table_get(a.store, good[1], 1, &slot1), WAFT_OK);
    CHECK_EQ(slot1, WAFT_REF_NULL);

    /* and the right imports still work */
    waft_instance *b = NULL;
    CHECK_RESULT(waft_instance_new(a.store, mb, good, NB_IMPORTS, &b, NULL), WAFT_OK);
    CHECK_EQ(call_a(&a, "peek", 1, 100, 0), 42);

done:
    waft_store_free(a.store);
    a.store = NULL;
    waft_module_free(mb);
    unit_env_close(&a);
}
