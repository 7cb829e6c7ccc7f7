/* SPDX-License-Identifier: MIT */
/* test_fuel.c - fuel: suspension, step counting, frame inspection, resume; stopping between
 * any two instructions gives the same result as a straight run. Uses fuel.wat. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    F_SUM = 0,
    F_CLASSIFY = 1,
    F_MIX = 2,
    F_WORK = 3
};

#define PLENTY (UINT64_C(1) << 40)

/* The body of $sum in fuel.wat as wat2wasm encodes it. The tests check this first, then use
 * offsets relative to the body start to know what a suspended frame must hold. */
static const uint8_t sum_body[] = {
    0x01, 0x02, 0x7f, /*  0: locals: 2 x i32 ($i, $acc) */
    0x02, 0x40,       /*  3: block $done */
    0x03, 0x40,       /*  5: loop $top */
    0x20, 0x01,       /*  7: local.get $i */
    0x20, 0x00,       /*  9: local.get $n */
    0x4f,             /* 11: i32.ge_u */
    0x0d, 0x01,       /* 12: br_if $done */
    0x20, 0x02,       /* 14: local.get $acc */
    0x20, 0x01,       /* 16: local.get $i */
    0x6a,             /* 18: i32.add */
    0x21, 0x02,       /* 19: local.set $acc */
    0x20, 0x01,       /* 21: local.get $i */
    0x41, 0x01,       /* 23: i32.const 1 */
    0x6a,             /* 25: i32.add */
    0x21, 0x01,       /* 26: local.set $i */
    0x0c, 0x00,       /* 28: br $top */
    0x0b,             /* 30: end (loop) */
    0x0b,             /* 31: end (block) */
    0x20, 0x02,       /* 32: local.get $acc */
    0x0b,             /* 34: end (function) */
};

/* Offsets of the instructions a suspension may stop before (not block/end, which cost no
 * fuel and have no instruction of their own... except the function's final end). */
static const uint32_t sum_stops[] = { 5, 7, 9, 11, 12, 14, 16, 18, 19, 21, 23, 25, 26, 28, 32, 34 };
#define NSTOPS (sizeof sum_stops / sizeof sum_stops[0])

static uint32_t tri(uint32_t i) /* 0 + 1 + ... + (i - 1) */
{
    return i * (i - 1) / 2;
}

/* Checks the suspended $sum frame (depth 0) against what the code at its offset implies.
 * Returns the index in sum_stops of where it stopped, or NSTOPS. */
static size_t check_sum_frame(const unit_env *env, uint32_t body_start, uint32_t n)
{
    waft_frame_state fs;
    if (!CHECK_RESULT(waft_store_frame(env->store, 0, &fs), WAFT_OK))
        return NSTOPS;
    CHECK(fs.instance == env->inst);
    CHECK_EQ(fs.func, F_SUM);
    CHECK_EQ(fs.nlocals, 3);
    if (!CHECK(fs.code_offset >= body_start && fs.code_offset < body_start + sizeof sum_body))
        return NSTOPS;
    uint32_t rel = fs.code_offset - body_start;
    size_t k = 0;
    while (k < NSTOPS && sum_stops[k] != rel)
        k++;
    if (!CHECK(k < NSTOPS)) { /* not an instruction that can be stopped before */
        fprintf(stderr, "    stopped at body offset %u\n", rel);
        return NSTOPS;
    }
    CHECK_EQ(fs.locals[0], n);
    uint32_t i = (uint32_t)fs.locals[1], acc = (uint32_t)fs.locals[2];
    CHECK(i <= n);
    CHECK_EQ(fs.locals[1] >> 32, 0); /* i32 locals are zero-extended */
    const uint64_t *v = fs.values;
    switch (rel) {
    case 5:  /* loop header */
    case 7:  /* local.get $i */
    case 14: /* after the exit test */
    case 28: /* after i++ */
        CHECK_EQ(fs.nvalues, 0);
        CHECK_EQ(acc, tri(i));
        break;
    case 9:
        CHECK_EQ(fs.nvalues, 1);
        CHECK_EQ(v[0], i);
        CHECK_EQ(acc, tri(i));
        break;
    case 11:
        CHECK_EQ(fs.nvalues, 2);
        CHECK_EQ(v[0], i);
        CHECK_EQ(v[1], n);
        break;
    case 12:
        CHECK_EQ(fs.nvalues, 1);
        CHECK_EQ(v[0], i >= n);
        break;
    case 16:
        CHECK_EQ(fs.nvalues, 1);
        CHECK_EQ(v[0], acc);
        CHECK_EQ(acc, tri(i));
        break;
    case 18:
        CHECK_EQ(fs.nvalues, 2);
        CHECK_EQ(v[0], acc);
        CHECK_EQ(v[1], i);
        break;
    case 19:
        CHECK_EQ(fs.nvalues, 1);
        CHECK_EQ(v[0], acc + i);
        break;
    case 21: /* acc updated, i not yet */
        CHECK_EQ(fs.nvalues, 0);
        CHECK_EQ(acc, tri(i + 1));
        break;
    case 23:
        CHECK_EQ(fs.nvalues, 1);
        CHECK_EQ(v[0], i);
        break;
    case 25:
        CHECK_EQ(fs.nvalues, 2);
        CHECK_EQ(v[0], i);
        CHECK_EQ(v[1], 1);
        break;
    case 26:
        CHECK_EQ(fs.nvalues, 1);
        CHECK_EQ(v[0], i + 1);
        break;
    case 32: /* loop left */
        CHECK_EQ(fs.nvalues, 0);
        CHECK_EQ(i, n);
        CHECK_EQ(acc, tri(n));
        break;
    case 34: /* the final end: the result is on the stack */
        CHECK_EQ(fs.nvalues, 1);
        CHECK_EQ(v[0], tri(n));
        break;
    }
    return k;
}

/* Opens fuel.wasm and checks that $sum is encoded as sum_body expects. */
static bool open_fuel(unit_env *env, uint32_t *sum_start)
{
    if (!unit_env_open(env, "fuel.wasm", NULL, NULL, 0))
        return false;
    uint32_t end;
    if (!CHECK(unit_func_body(env->module, env->bytes, env->len, F_SUM, sum_start, &end)) ||
        !CHECK_EQ(end - *sum_start, sizeof sum_body) ||
        !CHECK(memcmp(env->bytes + *sum_start, sum_body, sizeof sum_body) == 0)) {
        unit_env_close(env);
        return false;
    }
    return true;
}

void test_fuel_suspend_inspect_resume(void)
{
    unit_env env;
    uint32_t start;
    if (!open_fuel(&env, &start))
        return;
    waft_extern sum = unit_export(&env, "sum");
    waft_val arg = unit_i32(1000), res;

    /* reference: a straight run without fuel, then one with fuel to count its steps */
    CHECK_EQ(waft_store_fuel(env.store), UINT64_MAX); /* the default: not counting */
    REQUIRE_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, tri(1000));
    CHECK_EQ(waft_store_steps(env.store), 0);
    waft_store_set_fuel(env.store, PLENTY);
    REQUIRE_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_OK);
    uint64_t total = waft_store_steps(env.store);
    CHECK(total > 10 * 1000); /* at least ten instructions per iteration */
    CHECK_EQ(waft_store_fuel(env.store), PLENTY - total);

    /* fuel 0: suspends before the first instruction, nothing executed */
    uint64_t steps0 = waft_store_steps(env.store);
    waft_store_set_fuel(env.store, 0);
    REQUIRE_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_SUSPENDED);
    CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_FUEL);
    CHECK_EQ(waft_store_steps(env.store), steps0);
    CHECK_EQ(waft_store_frame_count(env.store), 1);
    CHECK_EQ(check_sum_frame(&env, start, 1000), 0); /* the loop header */
    waft_frame_state fs;
    REQUIRE_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK);
    CHECK_EQ(fs.locals[1], 0);
    CHECK_EQ(fs.locals[2], 0);
    CHECK_RESULT(waft_store_frame(env.store, 1, &fs), WAFT_ERR_INVALID_ARG);
    /* another call while one is suspended is refused */
    CHECK_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_ERR_STATE);
    waft_store_abandon(env.store);
    CHECK_EQ(waft_store_frame_count(env.store), 0);

    /* a long loop runs out of fuel part-way */
    steps0 = waft_store_steps(env.store);
    waft_store_set_fuel(env.store, 1000);
    REQUIRE_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_SUSPENDED);
    CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_FUEL);
    CHECK_EQ(waft_store_fuel(env.store), 0);
    CHECK_EQ(waft_store_steps(env.store) - steps0, 1000);
    CHECK_EQ(waft_store_frame_count(env.store), 1);
    check_sum_frame(&env, start, 1000);
    REQUIRE_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK);
    CHECK(fs.locals[1] > 10 && fs.locals[1] < 1000);

    /* one instruction at a time for a while: every stop is consistent, and each one is
     * one instruction further */
    bool seen[NSTOPS] = { false };
    for (int k = 0; k < 40; k++) {
        size_t at = check_sum_frame(&env, start, 1000);
        if (at < NSTOPS)
            seen[at] = true;
        uint64_t before = waft_store_steps(env.store);
        waft_store_set_fuel(env.store, 1);
        REQUIRE_RESULT(waft_store_resume(env.store, &res, 1), WAFT_SUSPENDED);
        CHECK_EQ(waft_store_steps(env.store) - before, 1);
        CHECK_EQ(waft_store_fuel(env.store), 0);
    }
    for (size_t k = 0; k < NSTOPS; k++) /* the loop body is 14 instructions: all were seen */
        if (sum_stops[k] != 32 && sum_stops[k] != 34)
            CHECK(seen[k]);

    /* the rest in one go: same result and same total as the straight run */
    waft_store_set_fuel(env.store, PLENTY);
    res.of.i32 = 0;
    REQUIRE_RESULT(waft_store_resume(env.store, &res, 1), WAFT_OK);
    CHECK_EQ(res.type, WAFT_I32);
    CHECK_EQ(res.of.i32, tri(1000));
    CHECK_EQ(waft_store_steps(env.store) - steps0, total);
    CHECK_EQ(waft_store_frame_count(env.store), 0);
    CHECK_RESULT(waft_store_resume(env.store, &res, 1), WAFT_ERR_STATE); /* nothing left */

    /* back to not counting */
    waft_store_set_fuel(env.store, UINT64_MAX);
    uint64_t steps1 = waft_store_steps(env.store);
    arg = unit_i32(10);
    CHECK_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 45);
    CHECK_EQ(waft_store_steps(env.store), steps1);
    unit_env_close(&env);
}

/* Runs work(n) straight (fuel off) and returns the result and a copy of memory [0, 2048). */
static uint64_t work_straight(unit_env *env, uint32_t n, uint8_t *mem_out)
{
    waft_store_set_fuel(env->store, UINT64_MAX);
    waft_val arg = unit_i32(n), res;
    memset(&res, 0, sizeof res);
    CHECK_RESULT(waft_func_call(env->store, unit_export(env, "work"), &arg, 1, &res, 1), WAFT_OK);
    waft_extern mem;
    CHECK_RESULT(waft_instance_memory(env->inst, &mem), WAFT_OK);
    CHECK_RESULT(waft_memory_read(env->store, mem, 0, mem_out, 2048), WAFT_OK);
    return res.of.i64;
}

static bool memory_is(unit_env *env, const uint8_t *want)
{
    uint8_t now[2048];
    waft_extern mem;
    CHECK_RESULT(waft_instance_memory(env->inst, &mem), WAFT_OK);
    CHECK_RESULT(waft_memory_read(env->store, mem, 0, now, sizeof now), WAFT_OK);
    return memcmp(now, want, sizeof now) == 0;
}

#define WORK_N 24

void test_fuel_split_anywhere(void)
{
    unit_env env;
    uint32_t start;
    if (!open_fuel(&env, &start))
        return;
    static uint8_t mem_ref[2048];
    uint64_t want = work_straight(&env, WORK_N, mem_ref);
    waft_extern work = unit_export(&env, "work");
    waft_val arg = unit_i32(WORK_N), res;

    waft_store_set_fuel(env.store, PLENTY);
    uint64_t s0 = waft_store_steps(env.store);
    REQUIRE_RESULT(waft_func_call(env.store, work, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i64, want);
    uint64_t total = waft_store_steps(env.store) - s0;
    REQUIRE(total > 500);

    /* stop after exactly k instructions, for every k, then finish */
    unsigned bad = 0;
    for (uint64_t k = 0; k <= total && bad < 5; k++) {
        s0 = waft_store_steps(env.store);
        waft_store_set_fuel(env.store, k);
        waft_result r = waft_func_call(env.store, work, &arg, 1, &res, 1);
        if (k == total) {
            bad += !CHECK_RESULT(r, WAFT_OK); /* exactly enough fuel */
        } else {
            bad += !CHECK_RESULT(r, WAFT_SUSPENDED);
            bad += !CHECK_EQ(waft_store_steps(env.store) - s0, k);
            bad += !CHECK(waft_store_frame_count(env.store) >= 1);
            /* finish counting, or in the fast loop (odd k), which must first leave any fused
             * group the stop fell into */
            waft_store_set_fuel(env.store, k % 2 ? UINT64_MAX : PLENTY);
            r = waft_store_resume(env.store, &res, 1);
            bad += !CHECK_RESULT(r, WAFT_OK);
        }
        bad += !CHECK_EQ(res.of.i64, want);
        if (k % 2 == 0 || k == total) /* uncounted runs count no steps */
            bad += !CHECK_EQ(waft_store_steps(env.store) - s0, total);
        else
            bad += !CHECK_EQ(waft_store_steps(env.store) - s0, k);
        bad += !CHECK(memory_is(&env, mem_ref));
        if (bad)
            fprintf(stderr, "    (split after %llu of %llu instructions)\n", (unsigned long long)k,
                    (unsigned long long)total);
    }
    unit_env_close(&env);
}

void test_fuel_single_step(void)
{
    unit_env env;
    uint32_t start;
    if (!open_fuel(&env, &start))
        return;
    static uint8_t mem_ref[2048];
    uint64_t want = work_straight(&env, WORK_N, mem_ref);
    waft_extern work = unit_export(&env, "work");
    waft_val arg = unit_i32(WORK_N), res;

    waft_store_set_fuel(env.store, PLENTY);
    uint64_t s0 = waft_store_steps(env.store);
    REQUIRE_RESULT(waft_func_call(env.store, work, &arg, 1, &res, 1), WAFT_OK);
    uint64_t total = waft_store_steps(env.store) - s0;

    uint32_t body[4][2];
    for (uint32_t f = 0; f < 4; f++)
        REQUIRE(unit_func_body(env.module, env.bytes, env.len, f, &body[f][0], &body[f][1]));

    /* fuel 1 at a time, from the call to the end; inspect every stop */
    s0 = waft_store_steps(env.store);
    waft_store_set_fuel(env.store, 1);
    waft_result r = waft_func_call(env.store, work, &arg, 1, &res, 1);
    uint64_t stops = 0;
    unsigned bad = 0;
    uint32_t max_depth = 0;
    bool seen_func[4] = { false };
    while (r == WAFT_SUSPENDED && bad < 5) {
        stops++;
        bad += !CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_FUEL);
        bad += !CHECK_EQ(waft_store_steps(env.store) - s0, stops);
        uint32_t depth = waft_store_frame_count(env.store);
        bad += !CHECK(depth >= 1 && depth <= 3); /* work -> mix -> classify */
        if (depth > max_depth)
            max_depth = depth;
        for (uint32_t d = 0; d < depth; d++) {
            waft_frame_state fs;
            if (!CHECK_RESULT(waft_store_frame(env.store, d, &fs), WAFT_OK)) {
                bad++;
                break;
            }
            bad += !CHECK(fs.func >= F_CLASSIFY && fs.func <= F_WORK);
            if (fs.func > F_WORK)
                break;
            seen_func[fs.func] = true;
            bad += !CHECK(fs.code_offset > body[fs.func][0] && fs.code_offset < body[fs.func][1]);
            if (d == depth - 1) { /* the outermost frame is work(n) */
                bad += !CHECK_EQ(fs.func, F_WORK);
                bad += !CHECK_EQ(fs.locals[0], WORK_N);
            }
            if (d > 0) /* callers wait at their call instruction */
                bad +=
                    !CHECK(env.bytes[fs.code_offset] == 0x10 || env.bytes[fs.code_offset] == 0x11);
        }
        waft_store_set_fuel(env.store, 1);
        r = waft_store_resume(env.store, &res, 1);
    }
    CHECK_RESULT(r, WAFT_OK);
    CHECK_EQ(res.of.i64, want);
    CHECK_EQ(stops, total - 1); /* one stop between each two instructions */
    CHECK_EQ(waft_store_steps(env.store) - s0, total);
    CHECK(memory_is(&env, mem_ref));
    CHECK_EQ(max_depth, 3);
    CHECK(seen_func[F_CLASSIFY] && seen_func[F_MIX] && seen_func[F_WORK]);

    /* the same for $sum, checking every stop against the code */
    arg = unit_i32(7);
    waft_store_set_fuel(env.store, 1);
    r = waft_func_call(env.store, unit_export(&env, "sum"), &arg, 1, &res, 1);
    bool seen[NSTOPS] = { false };
    while (r == WAFT_SUSPENDED) {
        size_t at = check_sum_frame(&env, start, 7);
        if (at >= NSTOPS)
            break;
        seen[at] = true;
        waft_store_set_fuel(env.store, 1);
        r = waft_store_resume(env.store, &res, 1);
    }
    CHECK_RESULT(r, WAFT_OK);
    CHECK_EQ(res.of.i32, 21);
    for (size_t k = 0; k < NSTOPS; k++) /* every instruction was stopped before */
        CHECK(seen[k]);
    unit_env_close(&env);
}
