/* SPDX-License-Identifier: MIT */
/* test_traps.c - trap codes and messages, backtraces (indices, offsets, names), and the
 * call-depth and stack-slot limits. Uses traps.wat. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

enum {
    F_INNER = 0,
    F_MIDDLE = 1,
    F_OUTER = 2,
    F_COUNT = 5,
    F_FOREVER = 6,
    F_FAT = 8
};

/* Calls `name` with one i32 argument (or none if `nargs` is 0) expecting a trap of `code`. */
static const waft_trap *expect_trap(unit_env *env, const char *name, waft_val arg, uint32_t nargs,
                                    waft_trap_code code)
{
    waft_val res;
    waft_result r = waft_func_call(env->store, unit_export(env, name), &arg, nargs, &res, 1);
    if (!CHECK_RESULT(r, WAFT_TRAPPED))
        return NULL;
    const waft_trap *t = waft_store_trap(env->store);
    if (!CHECK(t != NULL))
        return NULL;
    CHECK_EQ(t->code, code);
    CHECK(t->message != NULL && strcmp(t->message, waft_trap_str(code)) == 0);
    CHECK_EQ(waft_store_frame_count(env->store), 0); /* nothing left to resume */
    return t;
}

static bool name_is(const waft_frame_info *fi, const char *name)
{
    return fi->name && fi->name_len == strlen(name) && memcmp(fi->name, name, fi->name_len) == 0;
}

void test_traps_codes_and_messages(void)
{
    unit_env env;
    if (!unit_env_open(&env, "traps.wasm", NULL, NULL, 0))
        return;
    expect_trap(&env, "outer", unit_i32(0), 1, WAFT_TRAP_DIV_ZERO);
    expect_trap(&env, "unreach", unit_i32(0), 0, WAFT_TRAP_UNREACHABLE);
    expect_trap(&env, "load", unit_i32(65533), 1, WAFT_TRAP_MEMORY_OOB);
    expect_trap(&env, "load", unit_i32(0xffffffffu), 1, WAFT_TRAP_MEMORY_OOB);
    expect_trap(&env, "indirect", unit_i32(0), 0, WAFT_TRAP_UNINITIALIZED_ELEMENT);
    expect_trap(&env, "bad_conv", unit_f32_bits(0x7fc00000u), 1, WAFT_TRAP_BAD_CONVERSION);
    expect_trap(&env, "bad_conv", unit_f32_bits(0x4f000000u), 1, WAFT_TRAP_INT_OVERFLOW);

    /* the store runs normally after each trap */
    waft_val arg = unit_i32(4), res;
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "outer"), &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 26);
    arg = unit_i32(65532);
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "load"), &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 0);
    unit_env_close(&env);
}

void test_traps_backtrace(void)
{
    unit_env env;
    if (!unit_env_open(&env, "traps.wasm", NULL, NULL, 0))
        return;
    const waft_trap *t = expect_trap(&env, "outer", unit_i32(0), 1, WAFT_TRAP_DIV_ZERO);
    REQUIRE(t != NULL);
    REQUIRE_EQ(t->nframes, 3);
    REQUIRE(t->frames != NULL);

    static const uint32_t funcs[3] = { F_INNER, F_MIDDLE, F_OUTER };
    static const char *const names[3] = { "inner", "middle", "outer" };
    static const uint8_t opcodes[3] = { 0x6d /* i32.div_s */, 0x10 /* call */, 0x10 };
    for (uint32_t i = 0; i < 3; i++) {
        const waft_frame_info *fi = &t->frames[i];
        CHECK_EQ(fi->func, funcs[i]);
        CHECK(name_is(fi, names[i]));
        uint32_t start = 0, end = 0;
        CHECK(unit_func_body(env.module, env.bytes, env.len, funcs[i], &start, &end));
        CHECK(fi->code_offset > start && fi->code_offset < end);
        /* the offset is that of the trapping instruction, or of the pending call */
        REQUIRE(fi->code_offset < env.len);
        CHECK_EQ(env.bytes[fi->code_offset], opcodes[i]);
        if (i > 0) /* functions are laid out in index order: inner < middle < outer */
            CHECK(fi->code_offset > t->frames[i - 1].code_offset);
    }

    /* a trap in the outermost function: one frame */
    t = expect_trap(&env, "unreach", unit_i32(0), 0, WAFT_TRAP_UNREACHABLE);
    REQUIRE(t != NULL);
    REQUIRE_EQ(t->nframes, 1);
    CHECK_EQ(t->frames[0].func, 3);
    CHECK(name_is(&t->frames[0], "unreach"));
    CHECK_EQ(env.bytes[t->frames[0].code_offset], 0x00);

    /* the offset is that of the faulting instruction whichever loop runs (the fast loop runs
     * fused code, where `local.get; i32.load` is one instruction) */
    for (int counted = 0; counted < 2; counted++) {
        waft_store_set_fuel(env.store, counted ? 1000000 : UINT64_MAX);
        t = expect_trap(&env, "load", unit_i32(65535), 1, WAFT_TRAP_MEMORY_OOB);
        if (t && CHECK_EQ(t->nframes, 1)) {
            CHECK_EQ(t->frames[0].func, 4);
            CHECK_EQ(env.bytes[t->frames[0].code_offset], 0x28); /* i32.load */
        }
    }
    waft_store_set_fuel(env.store, UINT64_MAX);

    /* a deep backtrace is truncated, innermost first, and stays consistent */
    t = expect_trap(&env, "forever", unit_i32(0), 1, WAFT_TRAP_STACK_EXHAUSTED);
    REQUIRE(t != NULL);
    CHECK(t->nframes >= 2);
    for (uint32_t i = 0; i < t->nframes; i++) {
        CHECK_EQ(t->frames[i].func, F_FOREVER);
        CHECK_EQ(env.bytes[t->frames[i].code_offset], 0x10);
        CHECK(name_is(&t->frames[i], "forever"));
    }
    unit_env_close(&env);
}

void test_depth_limit(void)
{
    waft_config config;
    memset(&config, 0, sizeof config);
    config.max_call_depth = 50;
    unit_env env;
    if (!unit_env_open(&env, "traps.wasm", &config, NULL, 0))
        return;
    waft_extern count = unit_export(&env, "count");
    waft_val arg, res;

    /* count(n) needs n + 1 frames: 50 fit, 51 do not */
    arg = unit_i32(49);
    CHECK_RESULT(waft_func_call(env.store, count, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 49);
    const waft_trap *t = expect_trap(&env, "count", unit_i32(50), 1, WAFT_TRAP_STACK_EXHAUSTED);
    if (t) {
        CHECK_EQ(t->nframes, 50);
        CHECK_EQ(t->frames[0].func, F_COUNT);
    }
    t = expect_trap(&env, "forever", unit_i32(0), 1, WAFT_TRAP_STACK_EXHAUSTED);

    /* the store is usable afterwards, at full depth again */
    arg = unit_i32(49);
    CHECK_RESULT(waft_func_call(env.store, count, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 49);
    arg = unit_i32(4);
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "outer"), &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 26);
    unit_env_close(&env);
}

void test_depth_stack_slots(void)
{
    waft_config config;
    memset(&config, 0, sizeof config);
    config.max_stack_slots = 1024; /* the smallest the engine accepts */
    unit_env env;
    if (!unit_env_open(&env, "traps.wasm", &config, NULL, 0))
        return;
    /* each `fat` frame holds 17 locals: 1000 of them cannot fit in 1024 slots */
    const waft_trap *t = expect_trap(&env, "fat", unit_i32(1000), 1, WAFT_TRAP_STACK_EXHAUSTED);
    if (t && CHECK(t->nframes > 0))
        CHECK_EQ(t->frames[0].func, F_FAT);
    waft_val arg = unit_i32(10), res;
    CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "fat"), &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 10);
    unit_env_close(&env);
}
