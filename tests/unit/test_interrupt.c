/* SPDX-License-Identifier: MIT */
/* test_interrupt.c - waft_store_interrupt from another thread and before a call; abandon.
 * Uses fuel.wat. */
#include "harness.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
    F_SUM = 0,
    F_SPIN = 4,
    F_LEAF = 5,
    F_CALLER = 6
};

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void *interrupt_later(void *store)
{
    sleep_ms(30);
    waft_store_interrupt(store);
    return NULL;
}

/* Code offset of the first instruction of `func` (after its locals declarations, which are
 * one byte `00` for these functions). */
static uint32_t first_instruction(const unit_env *env, uint32_t func)
{
    uint32_t start = 0, end = 0;
    CHECK(unit_func_body(env->module, env->bytes, env->len, func, &start, &end));
    CHECK_EQ(env->bytes[start], 0x00); /* no locals */
    return start + 1;
}

static int64_t spins(const unit_env *env)
{
    waft_val v;
    CHECK_RESULT(waft_global_get(env->store, unit_export(env, "spins"), &v), WAFT_OK);
    return (int64_t)v.of.i64;
}

void test_interrupt_from_thread(void)
{
    unit_env env;
    if (!unit_env_open(&env, "fuel.wasm", NULL, NULL, 0))
        return;
    waft_extern spin = unit_export(&env, "spin");

    pthread_t th;
    REQUIRE_EQ(pthread_create(&th, NULL, interrupt_later, env.store), 0);
    waft_result r = waft_func_call(env.store, spin, NULL, 0, NULL, 0);
    pthread_join(th, NULL);
    REQUIRE_RESULT(r, WAFT_SUSPENDED);
    CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_INTERRUPT);
    CHECK_EQ(waft_store_frame_count(env.store), 1);
    waft_frame_state fs;
    REQUIRE_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK);
    CHECK_EQ(fs.func, F_SPIN);
    CHECK_EQ(env.bytes[fs.code_offset], 0x03); /* stopped at the loop header */
    CHECK_EQ(fs.nvalues, 0);
    int64_t first = spins(&env);

    /* it can go on, and be interrupted again */
    REQUIRE_EQ(pthread_create(&th, NULL, interrupt_later, env.store), 0);
    r = waft_store_resume(env.store, NULL, 0);
    pthread_join(th, NULL);
    REQUIRE_RESULT(r, WAFT_SUSPENDED);
    CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_INTERRUPT);
    CHECK(spins(&env) >= first); /* usually more, unless this thread lost 30 ms */
    REQUIRE_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK);
    CHECK_EQ(fs.func, F_SPIN);
    CHECK_EQ(env.bytes[fs.code_offset], 0x03);

    /* a new call is refused until the suspended one is abandoned */
    waft_val arg = unit_i32(10), res;
    waft_extern sum = unit_export(&env, "sum");
    CHECK_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_ERR_STATE);
    waft_store_abandon(env.store);
    CHECK_EQ(waft_store_frame_count(env.store), 0);
    CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_NONE);
    CHECK_RESULT(waft_store_resume(env.store, NULL, 0), WAFT_ERR_STATE);
    res.of.i32 = 0;
    CHECK_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 45);
    unit_env_close(&env);
}

void test_interrupt_before_call_loop(void)
{
    unit_env env;
    if (!unit_env_open(&env, "fuel.wasm", NULL, NULL, 0))
        return;
    waft_extern sum = unit_export(&env, "sum");
    waft_val arg = unit_i32(10), res;

    waft_store_interrupt(env.store);
    REQUIRE_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_SUSPENDED);
    CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_INTERRUPT);
    REQUIRE_EQ(waft_store_frame_count(env.store), 1);
    waft_frame_state fs;
    REQUIRE_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK);
    CHECK_EQ(fs.func, F_SUM);
    CHECK_EQ(env.bytes[fs.code_offset], 0x03); /* the first loop header */
    CHECK_EQ(fs.nlocals, 3);
    CHECK_EQ(fs.locals[0], 10);
    CHECK_EQ(fs.locals[1], 0);
    CHECK_EQ(fs.locals[2], 0);
    CHECK_EQ(fs.nvalues, 0);
    res.of.i32 = 0;
    CHECK_RESULT(waft_store_resume(env.store, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 45);

    /* the request was used up: the next call runs through */
    CHECK_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 45);

    /* with fuel counting on, too */
    waft_store_set_fuel(env.store, 1000000);
    waft_store_interrupt(env.store);
    REQUIRE_RESULT(waft_func_call(env.store, sum, &arg, 1, &res, 1), WAFT_SUSPENDED);
    CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_INTERRUPT);
    REQUIRE_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK);
    CHECK_EQ(env.bytes[fs.code_offset], 0x03);
    CHECK_RESULT(waft_store_resume(env.store, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 45);
    unit_env_close(&env);
}

void test_interrupt_before_call_entry(void)
{
    unit_env env;
    if (!unit_env_open(&env, "fuel.wasm", NULL, NULL, 0))
        return;
    waft_val arg = unit_i32(4), res;

    /* no loops: the function entry is the next safepoint. The call stops before the first
     * instruction of the called function. */
    waft_store_interrupt(env.store);
    waft_result r = waft_func_call(env.store, unit_export(&env, "caller"), &arg, 1, &res, 1);
    if (CHECK_RESULT(r, WAFT_SUSPENDED)) {
        CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_INTERRUPT);
        waft_frame_state fs;
        CHECK_EQ(waft_store_frame_count(env.store), 1);
        if (CHECK_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK)) {
            CHECK_EQ(fs.func, F_CALLER);
            CHECK_EQ(fs.code_offset, first_instruction(&env, F_CALLER));
            CHECK_EQ(fs.nvalues, 0);
            CHECK_EQ(fs.locals[0], 4);
        }
        r = waft_store_resume(env.store, &res, 1);
    }
    CHECK_RESULT(r, WAFT_OK);
    CHECK_EQ(res.of.i32, 50);

    /* a leaf function: the same; and the request does not outlive the call */
    waft_store_interrupt(env.store);
    r = waft_func_call(env.store, unit_export(&env, "leaf"), &arg, 1, &res, 1);
    if (CHECK_RESULT(r, WAFT_SUSPENDED)) {
        waft_frame_state fs;
        if (CHECK_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK)) {
            CHECK_EQ(fs.func, F_LEAF);
            CHECK_EQ(fs.code_offset, first_instruction(&env, F_LEAF));
        }
        r = waft_store_resume(env.store, &res, 1);
    }
    CHECK_RESULT(r, WAFT_OK);
    CHECK_EQ(res.of.i32, 5);
    arg = unit_i32(10);
    r = waft_func_call(env.store, unit_export(&env, "sum"), &arg, 1, &res, 1);
    CHECK_RESULT(r, WAFT_OK);
    waft_store_abandon(env.store);

    /* interrupt at the entry of a callee (the caller's entry already passed): via fuel
     * suspension right after the caller's first instruction, then an interrupt */
    waft_store_set_fuel(env.store, 1);
    arg = unit_i32(4);
    r = waft_func_call(env.store, unit_export(&env, "caller"), &arg, 1, &res, 1);
    REQUIRE_RESULT(r, WAFT_SUSPENDED); /* after local.get, before call */
    waft_store_set_fuel(env.store, UINT64_MAX);
    waft_store_interrupt(env.store);
    r = waft_store_resume(env.store, &res, 1);
    REQUIRE_RESULT(r, WAFT_SUSPENDED);
    CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_INTERRUPT);
    REQUIRE_EQ(waft_store_frame_count(env.store), 2);
    waft_frame_state fs;
    REQUIRE_RESULT(waft_store_frame(env.store, 0, &fs), WAFT_OK);
    CHECK_EQ(fs.func, F_LEAF);
    CHECK_EQ(fs.code_offset, first_instruction(&env, F_LEAF));
    CHECK_EQ(fs.locals[0], 4);
    REQUIRE_RESULT(waft_store_frame(env.store, 1, &fs), WAFT_OK);
    CHECK_EQ(fs.func, F_CALLER);
    CHECK_EQ(env.bytes[fs.code_offset], 0x10);
    CHECK_RESULT(waft_store_resume(env.store, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 50);
    unit_env_close(&env);
}

static bool readable(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* waft_store_wake_fd: readable once an interrupt is requested (also from another thread,
 * ending a wait at once), drained by the next call while the request stays pending; the
 * same descriptor every time. */
void test_interrupt_wake_fd(void)
{
    unit_env env;
    if (!unit_env_open(&env, "fuel.wasm", NULL, NULL, 0))
        return;
    int fd = waft_store_wake_fd(env.store);
    REQUIRE(fd >= 0);
    CHECK(!readable(fd));
    waft_store_interrupt(env.store);
    waft_store_interrupt(env.store);
    CHECK(readable(fd));
    CHECK_EQ(waft_store_wake_fd(env.store), fd); /* drains */
    CHECK(!readable(fd));
    CHECK(waft_store_interrupt_pending(env.store));
    /* a wait ended by an interrupt from another thread */
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, interrupt_later, env.store) == 0);
    struct pollfd p = { fd, POLLIN, 0 };
    CHECK_EQ(poll(&p, 1, 10000), 1);
    pthread_join(t, NULL);
    CHECK(waft_store_wake_fd(NULL) == -1);
    unit_env_close(&env);
}
