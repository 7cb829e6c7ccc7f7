/* SPDX-License-Identifier: MIT */
/* test_values.c - calls with typed values; float bits (NaN payloads) survive exactly. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define SNAN32     0x7fa00001u /* signalling NaN, payload 0x200001 */
#define SNAN32_NEG 0xffa00001u
#define QNAN32_PAY 0x7fc12345u
#define SNAN64     0x7ff4000000000001ull
#define SNAN64_NEG 0xfff4000000000001ull
#define QNAN64_PAY 0xfff8000000abcdefull

void test_values_typed_calls(void)
{
    unit_env env;
    if (!unit_env_open(&env, "values.wasm", NULL, NULL, 0))
        return;

    waft_val args[4] = { unit_i32(0xfffffffeu), unit_i64(0x8000000000000001ull),
                         unit_f32_bits(0x3fc00000u), unit_f64_bits(0xc004000000000000ull) };
    waft_val res[4];
    memset(res, 0, sizeof res);
    waft_extern swap4 = unit_export(&env, "swap4");
    REQUIRE_RESULT(waft_func_call(env.store, swap4, args, 4, res, 4), WAFT_OK);
    CHECK_EQ(res[0].type, WAFT_F64);
    CHECK_EQ(res[0].of.f64_bits, 0xc004000000000000ull);
    CHECK_EQ(res[1].type, WAFT_F32);
    CHECK_EQ(res[1].of.f32_bits, 0x3fc00000u);
    CHECK_EQ(res[2].type, WAFT_I64);
    CHECK_EQ(res[2].of.i64, 0x8000000000000001ull);
    CHECK_EQ(res[3].type, WAFT_I32);
    CHECK_EQ(res[3].of.i32, 0xfffffffeu);

    /* the function type seen through the API */
    waft_functype ft;
    REQUIRE_RESULT(waft_func_type(env.store, swap4, &ft), WAFT_OK);
    CHECK_EQ(ft.nparams, 4);
    CHECK_EQ(ft.nresults, 4);
    CHECK_EQ(ft.params[1], WAFT_I64);
    CHECK_EQ(ft.results[0], WAFT_F64);

    waft_extern arith = unit_export(&env, "arith");
    waft_val a2[2] = { unit_i32(5), unit_i64((uint64_t)-7) };
    CHECK_RESULT(waft_func_call(env.store, arith, a2, 2, res, 2), WAFT_OK);
    CHECK_EQ(res[0].of.i32, (uint32_t)-5);
    CHECK_EQ(res[1].of.i64, (uint64_t)-21);

    /* room for more results than needed is fine; the extra ones are left alone */
    res[2] = unit_i32(77);
    CHECK_RESULT(waft_func_call(env.store, arith, a2, 2, res, 3), WAFT_OK);
    CHECK_EQ(res[2].of.i32, 77);

    /* mismatches are argument errors and run nothing */
    waft_val wrong[2] = { unit_i64(5), unit_i64(1) };
    CHECK_RESULT(waft_func_call(env.store, arith, wrong, 2, res, 2), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_func_call(env.store, arith, a2, 1, res, 2), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_func_call(env.store, arith, a2, 3, res, 2), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_func_call(env.store, arith, a2, 2, res, 1), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_func_call(env.store, arith, a2, 2, NULL, 2), WAFT_ERR_INVALID_ARG);
    waft_extern bogus = { WAFT_EXTERN_FUNC, 100000 };
    CHECK_RESULT(waft_func_call(env.store, bogus, NULL, 0, NULL, 0), WAFT_ERR_INVALID_ARG);
    waft_extern not_func = unit_export(&env, "g32");
    CHECK_EQ(not_func.kind, WAFT_EXTERN_GLOBAL);
    CHECK_RESULT(waft_func_call(env.store, not_func, NULL, 0, NULL, 0), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "nothing"), NULL, 0, NULL, 0),
                 WAFT_OK);

    waft_extern x;
    CHECK_RESULT(waft_instance_export(env.inst, "no such", 7, &x), WAFT_ERR_NOT_FOUND);
    CHECK_RESULT(waft_instance_export(env.inst, "swap4", 4, &x), WAFT_ERR_NOT_FOUND);

    unit_env_close(&env);
}

/* Calls a one-parameter, one-result function and returns the result's bits (or a marker). */
static uint64_t call1(unit_env *env, const char *name, waft_val arg)
{
    waft_val res[2];
    memset(res, 0, sizeof res);
    waft_result r = waft_func_call(env->store, unit_export(env, name), &arg, 1, res, 2);
    if (!CHECK_RESULT(r, WAFT_OK))
        return 0xdeadull;
    CHECK_EQ(res[0].type, arg.type == WAFT_I64 ? WAFT_F64 : arg.type);
    return res[0].type == WAFT_F32 ? res[0].of.f32_bits : res[0].of.f64_bits;
}

/* Calls a function without parameters and returns its first result's raw bits. */
static uint64_t call0(unit_env *env, const char *name)
{
    waft_val res;
    memset(&res, 0, sizeof res);
    if (!CHECK_RESULT(waft_func_call(env->store, unit_export(env, name), NULL, 0, &res, 1),
                      WAFT_OK))
        return 0xdeadull;
    return res.type == WAFT_F32 ? res.of.f32_bits : res.of.f64_bits;
}

void test_values_nan_payloads(void)
{
    unit_env env;
    if (!unit_env_open(&env, "values.wasm", NULL, NULL, 0))
        return;

    static const uint32_t f32s[] = { SNAN32, SNAN32_NEG, QNAN32_PAY, 0x7f800001u, 0x80000000u };
    static const uint64_t f64s[] = { SNAN64, SNAN64_NEG, QNAN64_PAY, 0x7ff0000000000001ull,
                                     0x8000000000000000ull };
    for (size_t i = 0; i < sizeof f32s / sizeof f32s[0]; i++) {
        uint32_t b = f32s[i];
        CHECK_EQ(call1(&env, "id_f32", unit_f32_bits(b)), b);
        CHECK_EQ(call1(&env, "neg_f32", unit_f32_bits(b)), b ^ 0x80000000u);
        CHECK_EQ(call1(&env, "via_g32", unit_f32_bits(b)), b);

        /* the global holds the bits: read through wasm and through the API */
        CHECK_EQ(call0(&env, "get_g32"), b);
        waft_val g;
        CHECK_RESULT(waft_global_get(env.store, unit_export(&env, "g32"), &g), WAFT_OK);
        CHECK_EQ(g.type, WAFT_F32);
        CHECK_EQ(g.of.f32_bits, b);

        /* memory round trip, and the stored bytes */
        waft_val res[2];
        waft_val arg = unit_f32_bits(b);
        CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "via_mem_f32"), &arg, 1, res, 2),
                     WAFT_OK);
        CHECK_EQ(res[0].of.f32_bits, b);
        CHECK_EQ(res[1].of.i32, b);
        waft_extern mem;
        CHECK_RESULT(waft_instance_memory(env.inst, &mem), WAFT_OK);
        uint8_t bytes[4];
        CHECK_RESULT(waft_memory_read(env.store, mem, 8, bytes, 4), WAFT_OK);
        CHECK_EQ(bytes[0] | bytes[1] << 8 | bytes[2] << 16 | (uint32_t)bytes[3] << 24, b);

        arg = unit_f32_bits(b);
        CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "bits_f32"), &arg, 1, res, 1),
                     WAFT_OK);
        CHECK_EQ(res[0].of.i32, b);
    }
    for (size_t i = 0; i < sizeof f64s / sizeof f64s[0]; i++) {
        uint64_t b = f64s[i];
        CHECK_EQ(call1(&env, "id_f64", unit_f64_bits(b)), b);
        CHECK_EQ(call1(&env, "neg_f64", unit_f64_bits(b)), b ^ 0x8000000000000000ull);
        CHECK_EQ(call1(&env, "via_g64", unit_f64_bits(b)), b);
        CHECK_EQ(call1(&env, "from_bits_f64", unit_i64(b)), b);
        waft_val g;
        CHECK_RESULT(waft_global_get(env.store, unit_export(&env, "g64"), &g), WAFT_OK);
        CHECK_EQ(g.of.f64_bits, b);

        waft_val res[2];
        waft_val arg = unit_f64_bits(b);
        CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "via_mem_f64"), &arg, 1, res, 2),
                     WAFT_OK);
        CHECK_EQ(res[0].of.f64_bits, b);
        CHECK_EQ(res[1].of.i64, b);
    }

    /* a NaN set through the API is what wasm reads */
    waft_extern g32 = unit_export(&env, "g32");
    CHECK_RESULT(waft_global_set(env.store, g32, unit_f32_bits(SNAN32)), WAFT_OK);
    CHECK_EQ(call0(&env, "get_g32"), SNAN32);
    CHECK_RESULT(waft_global_set(env.store, g32, unit_f64_bits(SNAN64)), WAFT_ERR_INVALID_ARG);
    waft_extern g64 = unit_export(&env, "g64");
    CHECK_RESULT(waft_global_set(env.store, g64, unit_f64_bits(SNAN64_NEG)), WAFT_OK);
    CHECK_EQ(call0(&env, "get_g64"), SNAN64_NEG);

    /* a standalone global made by the host keeps the bits too */
    waft_extern hg;
    CHECK_RESULT(waft_global_new(env.store, unit_f32_bits(SNAN32_NEG), 0, &hg), WAFT_OK);
    waft_val v;
    CHECK_RESULT(waft_global_get(env.store, hg, &v), WAFT_OK);
    CHECK_EQ(v.of.f32_bits, SNAN32_NEG);
    CHECK_RESULT(waft_global_set(env.store, hg, unit_f32_bits(0)), WAFT_ERR_INVALID_ARG);

    unit_env_close(&env);
}

void test_values_i32_upper_bits(void)
{
    unit_env env;
    if (!unit_env_open(&env, "values.wasm", NULL, NULL, 0))
        return;
    /* a waft_val whose union holds garbage above its i32: only the i32 is the value */
    waft_val arg;
    memset(&arg, 0, sizeof arg);
    arg.of.i64 = 0xdeadbeef00000000ull;
    arg.type = WAFT_I32;
    arg.of.i32 = 0x80000001u;
    waft_val res;
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "extend_u"), &arg, 1, &res, 1),
                 WAFT_OK);
    CHECK_EQ(res.of.i64, 0x80000001ull);

    arg.of.i64 = 0xffffffff00000000ull;
    arg.type = WAFT_F32;
    arg.of.f32_bits = SNAN32;
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "bits_f32"), &arg, 1, &res, 1),
                 WAFT_OK);
    CHECK_EQ(res.of.i32, SNAN32);
    unit_env_close(&env);
}

/* NaN results of arithmetic are the canonical NaN (positive, quiet, no payload) whatever
 * the host makes: x86 gives 0/0 the sign bit, Arm and s390x do not. So a run gives the same
 * bits on every host, before and after a move (docs/engine.md, "Values and frames"). */
#define CANON32 0x7fc00000u
#define CANON64 0x7ff8000000000000ull

static bool is_nan32(uint32_t b)
{
    return (b & 0x7fffffffu) > 0x7f800000u;
}

static bool is_nan64(uint64_t b)
{
    return (b & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}

void test_values_nan_canonical(void)
{
    unit_env env;
    if (!unit_env_open(&env, "values.wasm", NULL, NULL, 0))
        return;
    /* operands, and which of add sub mul div min max sqrt(a) are NaN (bit k = result k) */
    static const struct {
        uint32_t a32, b32;
        uint64_t a64, b64;
        unsigned nan;
    } cases[] = {
        { 0, 0, 0, 0, 1u << 3 }, /* 0/0 */
        { 0x7f800000u, 0x7f800000u, 0x7ff0000000000000ull, 0x7ff0000000000000ull,
          1u << 1 | 1u << 3 },                                                /* inf-inf, inf/inf */
        { 0, 0x7f800000u, 0, 0x7ff0000000000000ull, 1u << 2 },                /* 0*inf */
        { 0xbf800000u, 0, 0xbff0000000000000ull, 0, 1u << 6 },                /* sqrt(-1) */
        { SNAN32_NEG, 0x3f800000u, SNAN64_NEG, 0x3ff0000000000000ull, 0x7f }, /* sNaN, 1 */
        { 0xffc12345u, SNAN32, QNAN64_PAY, SNAN64, 0x7f },                    /* qNaN, sNaN */
        { 0x3f800000u, QNAN32_PAY, 0x3ff0000000000000ull, QNAN64_PAY, 0x3f }, /* 1, qNaN */
    };
    waft_extern f32 = unit_export(&env, "arith_f32"), f64 = unit_export(&env, "arith_f64");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        waft_val args[2], res[7];
        args[0] = unit_f32_bits(cases[i].a32);
        args[1] = unit_f32_bits(cases[i].b32);
        REQUIRE_RESULT(waft_func_call(env.store, f32, args, 2, res, 7), WAFT_OK);
        for (unsigned k = 0; k < 7; k++) {
            if (cases[i].nan & (1u << k)) {
                if (!CHECK_EQ(res[k].of.f32_bits, CANON32))
                    fprintf(stderr, "    f32 case %zu result %u\n", i, k);
            } else {
                CHECK(!is_nan32(res[k].of.f32_bits));
            }
        }
        args[0] = unit_f64_bits(cases[i].a64);
        args[1] = unit_f64_bits(cases[i].b64);
        REQUIRE_RESULT(waft_func_call(env.store, f64, args, 2, res, 7), WAFT_OK);
        for (unsigned k = 0; k < 7; k++) {
            if (cases[i].nan & (1u << k)) {
                if (!CHECK_EQ(res[k].of.f64_bits, CANON64))
                    fprintf(stderr, "    f64 case %zu result %u\n", i, k);
            } else {
                CHECK(!is_nan64(res[k].of.f64_bits));
            }
        }
    }
    /* rounding and conversions of a NaN: canonical too */
    waft_val args[2] = { unit_f32_bits(SNAN32_NEG), unit_f64_bits(QNAN64_PAY) }, res[10];
    REQUIRE_RESULT(waft_func_call(env.store, unit_export(&env, "round_nan"), args, 2, res, 10),
                   WAFT_OK);
    for (unsigned k = 0; k < 4; k++)
        CHECK_EQ(res[k].of.f32_bits, CANON32);
    for (unsigned k = 4; k < 8; k++)
        CHECK_EQ(res[k].of.f64_bits, CANON64);
    CHECK_EQ(res[8].of.f32_bits, CANON32);
    CHECK_EQ(res[9].of.f64_bits, CANON64);
    unit_env_close(&env);
}
