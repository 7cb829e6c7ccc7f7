/* SPDX-License-Identifier: MIT */
/* capi_test.c - tests of the standard C API (include/wasm.h) as libwaft implements it.
 *
 * Usage: waft-capi-test DIR, where DIR holds main.wasm and start_trap.wasm (built from the
 * .wat files next to this one). Prints each failed check, then `capi: N passed, N failed`;
 * exits 1 if any failed. It uses wasm.h only, as an embedder would.
 */
#include <wasm.h>

#include <stdio.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (cond) {                                                         \
            passed++;                                                       \
        } else {                                                            \
            failed++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                   \
    } while (0)

static bool read_file(const char *dir, const char *name, wasm_byte_vec_t *out)
{
    char path[4096];
    bool ok = false;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    wasm_byte_vec_new_empty(out);
    if (!f)
        goto done;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    wasm_byte_vec_new_uninitialized(out, (size_t)n);
    ok = fread(out->data, 1, out->size, f) == out->size;
    fclose(f);
done:
    if (!ok)
        fprintf(stderr, "cannot read %s\n", path);
    return ok;
}

/* Whether a trap's message (NUL-terminated) contains `text`; deletes the trap. */
static bool trap_says(wasm_trap_t *trap, const char *text)
{
    if (!trap)
        return false;
    wasm_message_t msg;
    wasm_trap_message(trap, &msg);
    bool ok = msg.size > 0 && msg.data[msg.size - 1] == '\0' && strstr(msg.data, text) != NULL;
    if (!ok)
        fprintf(stderr, "  trap message: %.*s\n", (int)msg.size, msg.data);
    wasm_byte_vec_delete(&msg);
    wasm_trap_delete(trap);
    return ok;
}

static bool name_is(const wasm_name_t *n, const char *s)
{
    return n->size == strlen(s) && memcmp(n->data, s, n->size) == 0;
}

/* ==== Host functions ==== */

typedef struct host_env {
    int calls;
    int finalized;
    wasm_func_t *div; /* the instance's export, for the re-entrant call */
} host_env;

static wasm_trap_t *host_add(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results)
{
    host_env *e = env;
    e->calls++;
    results->data[0].kind = WASM_I32;
    results->data[0].of.i32 = args->data[0].of.i32 + args->data[1].of.i32;
    if (e->div && args->data[0].of.i32 == 100) {
        /* re-enter wasm from the host: 100 + div(b, 2) */
        wasm_val_t in[2] = { WASM_I32_VAL(args->data[1].of.i32), WASM_I32_VAL(2) };
        wasm_val_t out[1] = { WASM_INIT_VAL };
        wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
        wasm_trap_t *t = wasm_func_call(e->div, &a, &r);
        if (t)
            return t;
        results->data[0].of.i32 = 100 + out[0].of.i32;
    }
    return NULL;
}

static void host_finalize(void *env)
{
    ((host_env *)env)->finalized++;
}

static wasm_store_t *fail_store; /* for host_fail's trap */

static wasm_trap_t *host_fail(const wasm_val_vec_t *args, wasm_val_vec_t *results)
{
    (void)args;
    (void)results;
    wasm_message_t msg;
    wasm_name_new_from_string_nt(&msg, "boom from the host");
    wasm_trap_t *t = wasm_trap_new(fail_store, &msg);
    wasm_byte_vec_delete(&msg);
    return t;
}

static wasm_trap_t *host_bad_result(const wasm_val_vec_t *args, wasm_val_vec_t *results)
{
    (void)args;
    results->data[0].kind = WASM_F64; /* declared i32 */
    results->data[0].of.f64 = 1.0;
    return NULL;
}

/* ==== Helpers over exports ==== */

typedef struct exports {
    wasm_extern_vec_t all;
    wasm_exporttype_vec_t types;
} exports;

static wasm_extern_t *export_named(const exports *x, const char *name)
{
    for (size_t i = 0; i < x->types.size; i++)
        if (name_is(wasm_exporttype_name(x->types.data[i]), name))
            return x->all.data[i];
    fprintf(stderr, "no export %s\n", name);
    return NULL;
}

static wasm_func_t *func_named(const exports *x, const char *name)
{
    return wasm_extern_as_func(export_named(x, name));
}

/* Calls an i32 function of up to 3 i32 arguments; stores the trap (own) or NULL. */
static int32_t call_i32(wasm_func_t *f, int n, int32_t a, int32_t b, int32_t c, wasm_trap_t **trap)
{
    wasm_val_t in[3] = { WASM_I32_VAL(a), WASM_I32_VAL(b), WASM_I32_VAL(c) };
    wasm_val_t out[1] = { WASM_I32_VAL(0) };
    wasm_val_vec_t args = { (size_t)n, in }, results = WASM_ARRAY_VEC(out);
    *trap = wasm_func_call(f, &args, &results);
    return out[0].of.i32;
}

/* ==== Tests ==== */

static void test_types(void)
{
    wasm_functype_t *ft = wasm_functype_new_2_1(wasm_valtype_new_i32(), wasm_valtype_new_f64(),
                                                wasm_valtype_new_i64());
    CHECK(wasm_functype_params(ft)->size == 2);
    CHECK(wasm_valtype_kind(wasm_functype_params(ft)->data[1]) == WASM_F64);
    CHECK(wasm_valtype_kind(wasm_functype_results(ft)->data[0]) == WASM_I64);
    wasm_functype_t *copy = wasm_functype_copy(ft);
    CHECK(copy && wasm_functype_results(copy)->size == 1);
    wasm_externtype_t *et = wasm_functype_as_externtype(copy);
    CHECK(wasm_externtype_kind(et) == WASM_EXTERN_FUNC);
    CHECK(wasm_externtype_as_functype(et) == copy);
    CHECK(wasm_externtype_as_memorytype(et) == NULL);
    wasm_functype_delete(copy);
    wasm_functype_delete(ft);

    wasm_globaltype_t *gt = wasm_globaltype_new(wasm_valtype_new_f32(), WASM_VAR);
    CHECK(wasm_valtype_kind(wasm_globaltype_content(gt)) == WASM_F32);
    CHECK(wasm_globaltype_mutability(gt) == WASM_VAR);
    wasm_globaltype_delete(gt);

    wasm_limits_t lim = { 3, wasm_limits_max_default };
    wasm_tabletype_t *tt = wasm_tabletype_new(wasm_valtype_new_funcref(), &lim);
    CHECK(wasm_tabletype_limits(tt)->min == 3 && wasm_tabletype_limits(tt)->max == 0xffffffffu);
    CHECK(wasm_valtype_is_ref(wasm_tabletype_element(tt)));
    wasm_tabletype_delete(tt);

    CHECK(wasm_valtype_new(77) == NULL); /* not a value kind */

    wasm_byte_vec_t v, c;
    wasm_name_new_from_string(&v, "abc");
    CHECK(v.size == 3);
    wasm_byte_vec_copy(&c, &v);
    CHECK(c.size == 3 && c.data != v.data && memcmp(c.data, "abc", 3) == 0);
    wasm_byte_vec_delete(&c);
    wasm_byte_vec_delete(&v);
    CHECK(v.size == 0 && v.data == NULL);

    wasm_valtype_t *vts[2] = { wasm_valtype_new_i32(), wasm_valtype_new_externref() };
    wasm_valtype_vec_t tv, tc;
    wasm_valtype_vec_new(&tv, 2, vts);
    wasm_valtype_vec_copy(&tc, &tv);
    CHECK(tc.size == 2 && tc.data[1] != tv.data[1] &&
          wasm_valtype_kind(tc.data[1]) == WASM_EXTERNREF);
    wasm_valtype_vec_delete(&tc);
    wasm_valtype_vec_delete(&tv);
}

static void check_module_types(const wasm_module_t *module)
{
    wasm_importtype_vec_t imps;
    wasm_module_imports(module, &imps);
    CHECK(imps.size == 5);
    if (imps.size == 5) {
        CHECK(name_is(wasm_importtype_module(imps.data[0]), "host"));
        CHECK(name_is(wasm_importtype_name(imps.data[0]), "add"));
        const wasm_functype_t *ft =
            wasm_externtype_as_functype_const(wasm_importtype_type(imps.data[0]));
        CHECK(ft && wasm_functype_params(ft)->size == 2 && wasm_functype_results(ft)->size == 1);
        const wasm_memorytype_t *mt =
            wasm_externtype_as_memorytype_const(wasm_importtype_type(imps.data[2]));
        CHECK(mt && wasm_memorytype_limits(mt)->min == 1 && wasm_memorytype_limits(mt)->max == 4);
        const wasm_globaltype_t *gt =
            wasm_externtype_as_globaltype_const(wasm_importtype_type(imps.data[3]));
        CHECK(gt && wasm_globaltype_mutability(gt) == WASM_VAR &&
              wasm_valtype_kind(wasm_globaltype_content(gt)) == WASM_I32);
        const wasm_tabletype_t *tt =
            wasm_externtype_as_tabletype_const(wasm_importtype_type(imps.data[4]));
        CHECK(tt && wasm_tabletype_limits(tt)->min == 2 &&
              wasm_tabletype_limits(tt)->max == wasm_limits_max_default &&
              wasm_valtype_kind(wasm_tabletype_element(tt)) == WASM_FUNCREF);
    }
    wasm_importtype_vec_delete(&imps);

    wasm_exporttype_vec_t exps;
    wasm_module_exports(module, &exps);
    CHECK(exps.size == 17);
    if (exps.size == 17) {
        CHECK(name_is(wasm_exporttype_name(exps.data[0]), "cg"));
        const wasm_globaltype_t *gt =
            wasm_externtype_as_globaltype_const(wasm_exporttype_type(exps.data[0]));
        CHECK(gt && wasm_globaltype_mutability(gt) == WASM_CONST &&
              wasm_valtype_kind(wasm_globaltype_content(gt)) == WASM_I64);
        CHECK(wasm_externtype_kind(wasm_exporttype_type(exps.data[15])) == WASM_EXTERN_TABLE);
        CHECK(wasm_externtype_kind(wasm_exporttype_type(exps.data[16])) == WASM_EXTERN_MEMORY);
    }
    wasm_exporttype_vec_delete(&exps);
}

static void test_instance(wasm_engine_t *engine, const char *dir)
{
    wasm_store_t *store = wasm_store_new(engine);
    fail_store = store;
    host_env env = { 0, 0, NULL };
    wasm_byte_vec_t bin;
    CHECK(read_file(dir, "main.wasm", &bin));
    CHECK(wasm_module_validate(store, &bin));
    wasm_module_t *module = wasm_module_new(store, &bin);
    CHECK(module != NULL);
    if (!module) {
        wasm_byte_vec_delete(&bin);
        wasm_store_delete(store);
        return;
    }
    check_module_types(module);

    /* the host's objects */
    wasm_functype_t *add_t = wasm_functype_new_2_1(wasm_valtype_new_i32(), wasm_valtype_new_i32(),
                                                   wasm_valtype_new_i32());
    wasm_func_t *add = wasm_func_new_with_env(store, add_t, host_add, &env, host_finalize);
    wasm_functype_t *fail_t = wasm_functype_new_0_0();
    wasm_func_t *fail = wasm_func_new(store, fail_t, host_fail);
    wasm_limits_t mem_lim = { 1, 4 };
    wasm_memorytype_t *mem_t = wasm_memorytype_new(&mem_lim);
    wasm_memory_t *mem = wasm_memory_new(store, mem_t);
    wasm_globaltype_t *g_t = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_VAR);
    wasm_val_t g_init = WASM_I32_VAL(41);
    wasm_global_t *g = wasm_global_new(store, g_t, &g_init);
    wasm_limits_t tab_lim = { 2, 10 };
    wasm_tabletype_t *tab_t = wasm_tabletype_new(wasm_valtype_new_funcref(), &tab_lim);
    wasm_table_t *tab = wasm_table_new(store, tab_t, NULL);
    CHECK(add && fail && mem && g && tab);
    CHECK(wasm_func_param_arity(add) == 2 && wasm_func_result_arity(add) == 1);
    CHECK(wasm_memory_size(mem) == 1 && wasm_memory_data_size(mem) == 65536);

    /* a host function called directly, without wasm */
    wasm_trap_t *trap = NULL;
    CHECK(call_i32(add, 2, 20, 22, 0, &trap) == 42 && trap == NULL);
    CHECK(env.calls == 1);

    /* link errors: too few imports, then a wrong kind */
    wasm_extern_t *few[1] = { wasm_func_as_extern(add) };
    wasm_extern_vec_t few_v = WASM_ARRAY_VEC(few);
    CHECK(wasm_instance_new(store, module, &few_v, &trap) == NULL);
    CHECK(trap_says(trap, "imports"));
    wasm_extern_t *wrong[5] = { wasm_func_as_extern(add), wasm_func_as_extern(fail),
                                wasm_global_as_extern(g), wasm_global_as_extern(g),
                                wasm_table_as_extern(tab) };
    wasm_extern_vec_t wrong_v = WASM_ARRAY_VEC(wrong);
    trap = NULL;
    CHECK(wasm_instance_new(store, module, &wrong_v, &trap) == NULL);
    CHECK(trap != NULL);
    wasm_trap_delete(trap);

    wasm_extern_t *ims[5] = { wasm_func_as_extern(add), wasm_func_as_extern(fail),
                              wasm_memory_as_extern(mem), wasm_global_as_extern(g),
                              wasm_table_as_extern(tab) };
    wasm_extern_vec_t ims_v = WASM_ARRAY_VEC(ims);
    trap = NULL;
    wasm_instance_t *inst = wasm_instance_new(store, module, &ims_v, &trap);
    CHECK(inst != NULL && trap == NULL);
    if (!inst) {
        wasm_trap_delete(trap);
        goto out;
    }
    /* the module may go once instantiated */
    wasm_module_delete(module);
    module = NULL;

    exports x;
    wasm_instance_exports(inst, &x.all);
    wasm_module_t *again = wasm_module_new(store, &bin);
    wasm_module_exports(again, &x.types);
    CHECK(x.all.size == x.types.size && x.all.size == 17);

    /* host import, and wasm -> host -> wasm */
    env.div = func_named(&x, "div");
    CHECK(call_i32(func_named(&x, "call_add"), 2, 5, 7, 0, &trap) == 12 && !trap);
    CHECK(call_i32(func_named(&x, "call_add"), 2, 100, 9, 0, &trap) == 104 && !trap);
    CHECK(env.calls == 3);

    /* a trap returned by the host traps the wasm caller with its message */
    wasm_val_vec_t none = WASM_EMPTY_VEC;
    CHECK(
        trap_says(wasm_func_call(func_named(&x, "call_fail"), &none, &none), "boom from the host"));

    /* traps from wasm: message, origin, trace */
    call_i32(func_named(&x, "div"), 2, 1, 0, 0, &trap);
    CHECK(trap != NULL);
    if (trap) {
        wasm_frame_t *origin = wasm_trap_origin(trap);
        CHECK(origin && wasm_frame_func_index(origin) == 4 && wasm_frame_module_offset(origin) > 0);
        wasm_frame_delete(origin);
        CHECK(trap_says(trap, "divide by zero"));
    }
    trap = wasm_func_call(func_named(&x, "deep"), &none, &none);
    CHECK(trap != NULL);
    if (trap) {
        wasm_frame_vec_t trace;
        wasm_trap_trace(trap, &trace);
        CHECK(trace.size == 2);
        if (trace.size == 2)
            CHECK(wasm_frame_func_index(trace.data[0]) == 10 &&
                  wasm_frame_func_index(trace.data[1]) == 9);
        wasm_frame_vec_delete(&trace);
        CHECK(trap_says(trap, "unreachable"));
    }
    /* the store is usable after a trap */
    CHECK(call_i32(func_named(&x, "div"), 2, 9, 2, 0, &trap) == 4 && !trap);
    /* arity and type mismatches are traps, not crashes */
    CHECK(trap_says(wasm_func_call(func_named(&x, "div"), &none, &none), "arity"));
    /* too little room for the results: the call runs, the results are dropped */
    {
        wasm_val_t in[2] = { WASM_I32_VAL(9), WASM_I32_VAL(2) };
        wasm_val_vec_t a = WASM_ARRAY_VEC(in);
        CHECK(wasm_func_call(func_named(&x, "div"), &a, &none) == NULL);
        in[1].of.i32 = 0;
        CHECK(trap_says(wasm_func_call(func_named(&x, "div"), &a, &none), "divide by zero"));
    }
    {
        wasm_val_t in[2] = { WASM_I32_VAL(1), WASM_F64_VAL(2.0) };
        wasm_val_t out[1] = { WASM_INIT_VAL };
        wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
        CHECK(trap_says(wasm_func_call(func_named(&x, "div"), &a, &r), "wrong type"));
    }

    /* memory shared by host and wasm */
    wasm_memory_t *xmem = wasm_extern_as_memory(export_named(&x, "memory"));
    CHECK(xmem && wasm_memory_same(xmem, mem));
    call_i32(func_named(&x, "store"), 2, 8, 0x12345678, 0, &trap);
    CHECK(!trap);
    const byte_t *d = wasm_memory_data(mem);
    CHECK(d[8] == 0x78 && d[9] == 0x56 && d[10] == 0x34 && d[11] == 0x12); /* little-endian */
    wasm_memory_data(mem)[16] = 0x2a;
    CHECK(call_i32(func_named(&x, "load"), 1, 16, 0, 0, &trap) == 0x2a && !trap);
    CHECK(wasm_memory_grow(mem, 2));
    CHECK(wasm_memory_size(xmem) == 3);
    CHECK(call_i32(func_named(&x, "memsize"), 0, 0, 0, 0, &trap) == 3 && !trap);
    CHECK(!wasm_memory_grow(mem, 2)); /* over the maximum of 4 */
    wasm_memorytype_t *mt = wasm_memory_type(xmem);
    CHECK(wasm_memorytype_limits(mt)->min == 3 && wasm_memorytype_limits(mt)->max == 4);
    wasm_memorytype_delete(mt);

    /* globals: imported mutable, exported const, exported mutable f64 */
    CHECK(call_i32(func_named(&x, "inc_g"), 0, 0, 0, 0, &trap) == 42 && !trap);
    wasm_val_t v;
    wasm_global_get(g, &v);
    CHECK(v.kind == WASM_I32 && v.of.i32 == 42);
    wasm_val_t hundred = WASM_I32_VAL(100);
    wasm_global_set(g, &hundred);
    CHECK(call_i32(func_named(&x, "inc_g"), 0, 0, 0, 0, &trap) == 101 && !trap);
    wasm_global_t *cg = wasm_extern_as_global(export_named(&x, "cg"));
    wasm_global_get(cg, &v);
    CHECK(v.kind == WASM_I64 && v.of.i64 == 77);
    wasm_val_t other = WASM_I64_VAL(5);
    wasm_global_set(cg, &other); /* immutable: ignored */
    wasm_global_get(cg, &v);
    CHECK(v.of.i64 == 77);
    wasm_globaltype_t *cgt = wasm_global_type(cg);
    CHECK(wasm_globaltype_mutability(cgt) == WASM_CONST);
    wasm_globaltype_delete(cgt);
    wasm_global_t *mg = wasm_extern_as_global(export_named(&x, "mg"));
    wasm_val_t f = WASM_F64_VAL(2.25);
    wasm_global_set(mg, &f);
    wasm_global_get(mg, &v);
    CHECK(v.kind == WASM_F64 && v.of.f64 == 2.25);

    /* tables: the element segment wrote div into the imported table; the host adds `add` */
    wasm_table_t *xtab = wasm_extern_as_table(export_named(&x, "table"));
    CHECK(xtab && wasm_table_same(xtab, tab) && wasm_table_size(tab) == 2);
    wasm_ref_t *r0 = wasm_table_get(tab, 0);
    wasm_func_t *f0 = wasm_ref_as_func(r0);
    CHECK(f0 && wasm_func_same(f0, func_named(&x, "div")));
    CHECK(wasm_table_get(tab, 1) == NULL); /* null element */
    CHECK(wasm_table_get(tab, 99) == NULL);
    wasm_ref_delete(r0);
    CHECK(call_i32(func_named(&x, "call_ind"), 3, 0, 7, 2, &trap) == 3 && !trap);
    CHECK(wasm_table_set(tab, 1, wasm_func_as_ref(add)));
    CHECK(call_i32(func_named(&x, "call_ind"), 3, 1, 2, 3, &trap) == 5 && !trap);
    CHECK(!wasm_table_set(tab, 2, NULL));
    CHECK(wasm_table_grow(tab, 3, wasm_func_as_ref(add)) && wasm_table_size(xtab) == 5);
    CHECK(call_i32(func_named(&x, "call_ind"), 3, 4, 1, 1, &trap) == 2 && !trap);
    CHECK(!wasm_table_grow(tab, 6, NULL)); /* over the maximum of 10 */
    call_i32(func_named(&x, "call_ind"), 3, 9, 1, 1, &trap);
    CHECK(trap_says(trap, "undefined"));

    /* values: f32 NaN payload, multi-value, funcref and externref */
    {
        uint32_t bits = 0x7fa00001u, back = 0;
        wasm_val_t in[1] = { { .kind = WASM_F32 } }, out[1] = { WASM_INIT_VAL };
        memcpy(&in[0].of.f32, &bits, 4);
        wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
        CHECK(wasm_func_call(func_named(&x, "f32id"), &a, &r) == NULL);
        memcpy(&back, &out[0].of.f32, 4);
        CHECK(out[0].kind == WASM_F32 && back == bits);
    }
    {
        wasm_val_t in[1] = { WASM_I64_VAL(-5) }, out[2] = { WASM_INIT_VAL, WASM_INIT_VAL };
        wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
        CHECK(wasm_func_call(func_named(&x, "multi"), &a, &r) == NULL);
        CHECK(out[0].kind == WASM_I64 && out[0].of.i64 == -5 && out[1].of.i32 == 7);
    }
    {
        wasm_foreign_t *fo = wasm_foreign_new(store);
        static int marker;
        wasm_foreign_set_host_info(fo, &marker);
        wasm_val_t in[1] = { WASM_REF_VAL(wasm_foreign_as_ref(fo)) }, out[1] = { WASM_INIT_VAL };
        wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
        CHECK(wasm_func_call(func_named(&x, "ref_id"), &a, &r) == NULL);
        wasm_foreign_t *back = wasm_ref_as_foreign(out[0].of.ref);
        CHECK(out[0].kind == WASM_EXTERNREF && back && wasm_foreign_same(back, fo));
        CHECK(back && wasm_foreign_get_host_info(back) == &marker);
        wasm_val_delete(&out[0]);
        /* a func is not an externref */
        in[0].of.ref = wasm_func_as_ref(add);
        CHECK(trap_says(wasm_func_call(func_named(&x, "ref_id"), &a, &r), "wrong type"));
        wasm_foreign_delete(fo);
        wasm_val_t fin[1] = { { .kind = WASM_FUNCREF, .of = { .ref = NULL } } };
        wasm_val_t fout[1] = { WASM_INIT_VAL };
        wasm_val_vec_t fa = WASM_ARRAY_VEC(fin), fr = WASM_ARRAY_VEC(fout);
        CHECK(wasm_func_call(func_named(&x, "is_null"), &fa, &fr) == NULL && fout[0].of.i32 == 1);
        fin[0].of.ref = wasm_func_as_ref(add);
        CHECK(wasm_func_call(func_named(&x, "is_null"), &fa, &fr) == NULL && fout[0].of.i32 == 0);
    }

    /* externs: kinds, types, casts */
    wasm_extern_t *e_div = export_named(&x, "div");
    CHECK(wasm_extern_kind(e_div) == WASM_EXTERN_FUNC);
    CHECK(wasm_extern_as_memory(e_div) == NULL && wasm_extern_as_global(e_div) == NULL);
    CHECK(wasm_extern_kind(export_named(&x, "cg")) == WASM_EXTERN_GLOBAL);
    wasm_externtype_t *et = wasm_extern_type(e_div);
    CHECK(et && wasm_externtype_kind(et) == WASM_EXTERN_FUNC &&
          wasm_functype_params(wasm_externtype_as_functype(et))->size == 2);
    wasm_externtype_delete(et);
    wasm_extern_t *copy = wasm_extern_copy(e_div);
    CHECK(copy && copy != e_div && wasm_extern_same(copy, e_div));
    wasm_extern_delete(copy);

    /* a host function returning the wrong type traps its caller */
    {
        wasm_functype_t *bt = wasm_functype_new_0_1(wasm_valtype_new_i32());
        wasm_func_t *bad = wasm_func_new(store, bt, host_bad_result);
        wasm_val_t out[1] = { WASM_INIT_VAL };
        wasm_val_vec_t r = WASM_ARRAY_VEC(out);
        CHECK(trap_says(wasm_func_call(bad, &none, &r), "wrong type"));
        wasm_func_delete(bad);
        wasm_functype_delete(bt);
    }

    /* serialize / deserialize give a working module */
    {
        wasm_byte_vec_t ser;
        wasm_module_serialize(again, &ser);
        CHECK(ser.size == bin.size && memcmp(ser.data, bin.data, bin.size) == 0);
        wasm_module_t *de = wasm_module_deserialize(store, &ser);
        wasm_extern_vec_t des_ims = WASM_ARRAY_VEC(ims);
        wasm_instance_t *i2 = de ? wasm_instance_new(store, de, &des_ims, NULL) : NULL;
        CHECK(i2 != NULL);
        wasm_instance_delete(i2);
        wasm_module_delete(de);
        wasm_byte_vec_delete(&ser);
    }

    wasm_exporttype_vec_delete(&x.types);
    wasm_extern_vec_delete(&x.all);
    wasm_module_delete(again);
    wasm_instance_delete(inst);
out:
    wasm_module_delete(module);
    wasm_functype_delete(add_t);
    wasm_functype_delete(fail_t);
    wasm_memorytype_delete(mem_t);
    wasm_globaltype_delete(g_t);
    wasm_tabletype_delete(tab_t);
    wasm_func_delete(add);
    wasm_func_delete(fail);
    wasm_memory_delete(mem);
    wasm_global_delete(g);
    wasm_table_delete(tab);
    wasm_byte_vec_delete(&bin);
    CHECK(env.finalized == 0);
    wasm_store_delete(store);
    CHECK(env.finalized == 1); /* the env finalizer runs with the store */
}

/* Host-made objects on their own: bad arguments refused, externref tables, link checks. */
static void test_objects(wasm_engine_t *engine, const char *dir)
{
    wasm_store_t *store = wasm_store_new(engine);
    wasm_limits_t bad = { 5, 2 };
    wasm_memorytype_t *mt = wasm_memorytype_new(&bad);
    CHECK(wasm_memory_new(store, mt) == NULL); /* min > max */
    wasm_memorytype_delete(mt);
    wasm_globaltype_t *gt = wasm_globaltype_new(wasm_valtype_new_i64(), WASM_CONST);
    wasm_val_t wrong = WASM_F32_VAL(1.0f);
    CHECK(wasm_global_new(store, gt, &wrong) == NULL); /* value of another type */
    wasm_val_t seven = WASM_I64_VAL(7);
    wasm_global_t *g = wasm_global_new(store, gt, &seven);
    CHECK(g != NULL);
    wasm_globaltype_delete(gt);

    /* an externref table filled with a foreign, read back as the same foreign */
    wasm_foreign_t *fo = wasm_foreign_new(store);
    wasm_limits_t lim = { 2, 3 };
    wasm_tabletype_t *tt = wasm_tabletype_new(wasm_valtype_new_externref(), &lim);
    wasm_table_t *t = wasm_table_new(store, tt, wasm_foreign_as_ref(fo));
    CHECK(t != NULL);
    if (t) {
        wasm_ref_t *r = wasm_table_get(t, 1);
        CHECK(r && wasm_ref_as_foreign(r) && wasm_foreign_same(wasm_ref_as_foreign(r), fo));
        wasm_ref_delete(r);
        CHECK(wasm_table_set(t, 1, NULL) && wasm_table_get(t, 1) == NULL);
        CHECK(!wasm_table_set(t, 0, wasm_global_as_ref(g))); /* not a foreign */
        CHECK(wasm_table_grow(t, 1, NULL) && !wasm_table_grow(t, 1, NULL));
        wasm_table_delete(t);
    }
    CHECK(wasm_table_new(store, tt, wasm_global_as_ref(g)) == NULL);
    wasm_tabletype_delete(tt);

    /* main.wasm imports a mutable i32 global: a constant i64 one does not link */
    wasm_byte_vec_t bin;
    CHECK(read_file(dir, "main.wasm", &bin));
    wasm_module_t *m = wasm_module_new(store, &bin);
    if (m) {
        wasm_functype_t *ft = wasm_functype_new_0_0();
        wasm_func_t *f = wasm_func_new(store, ft, host_fail);
        wasm_limits_t ml = { 1, 4 }, tl = { 2, wasm_limits_max_default };
        wasm_memorytype_t *mty = wasm_memorytype_new(&ml);
        wasm_memory_t *mem = wasm_memory_new(store, mty);
        wasm_tabletype_t *tty = wasm_tabletype_new(wasm_valtype_new_funcref(), &tl);
        wasm_table_t *tab = wasm_table_new(store, tty, NULL);
        wasm_extern_t *ims[5] = { wasm_func_as_extern(f), wasm_func_as_extern(f),
                                  wasm_memory_as_extern(mem), wasm_global_as_extern(g),
                                  wasm_table_as_extern(tab) };
        wasm_extern_vec_t v = WASM_ARRAY_VEC(ims);
        wasm_trap_t *trap = NULL;
        CHECK(wasm_instance_new(store, m, &v, &trap) == NULL && trap != NULL);
        wasm_trap_delete(trap);
        CHECK(wasm_instance_new(store, m, &v, NULL) == NULL); /* no trap wanted: none made */
        wasm_table_delete(tab);
        wasm_tabletype_delete(tty);
        wasm_memory_delete(mem);
        wasm_memorytype_delete(mty);
        wasm_func_delete(f);
        wasm_functype_delete(ft);
        wasm_module_delete(m);
    }
    wasm_byte_vec_delete(&bin);
    wasm_foreign_delete(fo);
    wasm_global_delete(g);
    wasm_store_delete(store);
}

static void test_failures(wasm_engine_t *engine, const char *dir)
{
    wasm_store_t *store = wasm_store_new(engine);
    /* the smallest module is valid, and has no imports or exports */
    wasm_byte_vec_t empty;
    wasm_byte_vec_new(&empty, 8, "\0asm\1\0\0\0");
    CHECK(wasm_module_validate(store, &empty));
    wasm_module_t *em = wasm_module_new(store, &empty);
    wasm_importtype_vec_t no_imports;
    if (em) {
        wasm_module_imports(em, &no_imports);
        CHECK(no_imports.size == 0);
        wasm_importtype_vec_delete(&no_imports);
    }
    wasm_module_delete(em);
    wasm_byte_vec_delete(&empty);
    /* a malformed and an invalid module */
    wasm_byte_vec_t junk;
    wasm_byte_vec_new(&junk, 8, "\0asm\2\0\0\0");
    CHECK(!wasm_module_validate(store, &junk));
    CHECK(wasm_module_new(store, &junk) == NULL);
    wasm_byte_vec_delete(&junk);
    /* (module (func (result i32))): no value left for the result */
    static const char invalid[] = "\0asm\1\0\0\0\1\5\1\x60\0\1\x7f\3\2\1\0\n\4\1\2\0\x0b";
    wasm_byte_vec_new(&junk, sizeof invalid - 1, invalid);
    CHECK(!wasm_module_validate(store, &junk));
    wasm_byte_vec_delete(&junk);

    /* a start function that traps */
    wasm_byte_vec_t bin;
    CHECK(read_file(dir, "start_trap.wasm", &bin));
    wasm_module_t *m = wasm_module_new(store, &bin);
    CHECK(m != NULL);
    if (m) {
        wasm_trap_t *trap = NULL;
        wasm_extern_vec_t none = WASM_EMPTY_VEC;
        CHECK(wasm_instance_new(store, m, &none, &trap) == NULL);
        CHECK(trap_says(trap, "divide by zero"));
        wasm_module_delete(m); /* the store keeps what the half-made instance needs */
    }
    wasm_byte_vec_delete(&bin);
    wasm_store_delete(store);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR-WITH-WASM\n", argv[0]);
        return 2;
    }
    test_types();
    wasm_engine_t *engine = wasm_engine_new_with_config(wasm_config_new());
    CHECK(engine != NULL);
    if (engine) {
        test_instance(engine, argv[1]);
        test_objects(engine, argv[1]);
        test_failures(engine, argv[1]);
        wasm_engine_delete(engine);
    }
    printf("capi: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
