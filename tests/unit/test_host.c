/* SPDX-License-Identifier: MIT */
/* test_host.c - host functions: values both ways, trap, exit, suspend and resume, calls back
 * into wasm (also under fuel). Uses host.wat. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

enum {
    F_CALL_FAIL = 8,
    F_CALL_BLOCKING = 10,
    F_CALL_BLOCKING_INDIRECT = 11
};

#define NIMPORTS 7
#define SNAN32   0x7fa00001u
#define SNAN64   0x7ff4000000000001ull

/* What the host functions see and do; one per test. */
typedef struct host_state {
    int roundtrip_calls;
    bool args_clean; /* i32/f32 arguments had zero upper bits */
    int blocking_calls;
    int suspend_times; /* `blocking` suspends this many times before it answers */
    int reenter_calls;
    waft_extern target; /* what `reenter` calls back */
    int chain;          /* ... but first this many times call_reenter (`self`) */
    waft_extern self;
    bool write_first;   /* `reenter` writes its result before calling back */
    waft_result nested; /* what the call back returned */
    uint32_t nested_value;
    uint64_t narrow_bits; /* what `narrow` returns, as a raw slot */
    uint64_t peek_size;   /* memory size `peek` saw */
} host_state;

static waft_result h_roundtrip(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    host_state *st = env;
    (void)call;
    st->roundtrip_calls++;
    st->args_clean = (args[0] >> 32) == 0 && (args[2] >> 32) == 0;
    results[0] = args[3];
    results[1] = args[2];
    results[2] = args[1] ^ 0xff;
    results[3] = (uint32_t)(args[0] + 1);
    return WAFT_OK;
}

static waft_result h_fail(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)results;
    (void)env;
    char msg[64]; /* on the stack: the engine must copy it */
    snprintf(msg, sizeof msg, "host failure %d", (int)(int32_t)args[0]);
    waft_result r = waft_call_trap(call, msg);
    memset(msg, 'X', sizeof msg - 1);
    return r;
}

static waft_result h_exit(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)results;
    (void)env;
    return waft_call_exit(call, (int32_t)args[0]);
}

static waft_result h_blocking(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    host_state *st = env;
    if (++st->blocking_calls <= st->suspend_times)
        return waft_call_suspend(call);
    results[0] = (uint32_t)(args[0] + 1);
    return WAFT_OK;
}

static waft_result h_reenter(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    host_state *st = env;
    st->reenter_calls++;
    if (st->write_first)
        results[0] = 0x1234;
    waft_val arg = unit_i32((uint32_t)args[0]), res;
    memset(&res, 0, sizeof res);
    waft_extern target = st->target;
    if (st->chain > 0) { /* call back into call_reenter, which calls this again */
        st->chain--;
        target = st->self;
    }
    st->nested = waft_func_call(waft_call_store(call), target, &arg, 1, &res, 1);
    if (st->nested != WAFT_OK)
        return waft_call_trap(call, "nested call failed");
    st->nested_value = res.of.i32;
    if (!st->write_first)
        results[0] = (uint32_t)(res.of.i32 + 1);
    return WAFT_OK;
}

static waft_result h_narrow(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    (void)call;
    (void)args;
    results[0] = ((host_state *)env)->narrow_bits;
    return WAFT_OK;
}

static waft_result h_peek(waft_call *call, const uint64_t *args, uint64_t *results, void *env)
{
    host_state *st = env;
    uint8_t *mem = waft_call_memory(call, &st->peek_size);
    uint32_t at = (uint32_t)args[0];
    if (!mem || at >= st->peek_size)
        return waft_call_trap(call, "peek out of bounds");
    results[0] = mem[at];
    return WAFT_OK;
}

static const waft_valtype T_I32[] = { WAFT_I32 };
static const waft_valtype T_RT_PARAMS[] = { WAFT_I32, WAFT_I64, WAFT_F32, WAFT_F64 };
static const waft_valtype T_RT_RESULTS[] = { WAFT_F64, WAFT_F32, WAFT_I64, WAFT_I32 };

/* Creates the seven host functions host.wat imports, in import order. */
static bool make_host_funcs(waft_store *store, host_state *st, waft_extern *out)
{
    static const struct {
        waft_host_fn fn;
        waft_functype type;
    } defs[NIMPORTS] = {
        { h_roundtrip, { 4, 4, T_RT_PARAMS, T_RT_RESULTS } },
        { h_fail, { 1, 0, T_I32, NULL } },
        { h_exit, { 1, 0, T_I32, NULL } },
        { h_blocking, { 1, 1, T_I32, T_I32 } },
        { h_reenter, { 1, 1, T_I32, T_I32 } },
        { h_narrow, { 0, 1, NULL, T_I32 } },
        { h_peek, { 1, 1, T_I32, T_I32 } },
    };
    for (int i = 0; i < NIMPORTS; i++) {
        if (!CHECK_RESULT(waft_func_new_host(store, &defs[i].type, defs[i].fn, st, &out[i]),
                          WAFT_OK))
            return false;
        CHECK_EQ(out[i].kind, WAFT_EXTERN_FUNC);
    }
    return true;
}

static bool open_host(unit_env *env, host_state *st, waft_extern *funcs, const waft_config *config)
{
    memset(st, 0, sizeof *st);
    if (!unit_env_open_store(env, config))
        return false;
    if (!make_host_funcs(env->store, st, funcs) ||
        !unit_env_instantiate(env, "host.wasm", funcs, NIMPORTS)) {
        unit_env_close(env);
        return false;
    }
    return true;
}

static waft_result call_i32(unit_env *env, const char *name, uint32_t x, uint32_t *out)
{
    waft_val arg = unit_i32(x), res;
    memset(&res, 0, sizeof res);
    waft_result r = waft_func_call(env->store, unit_export(env, name), &arg, 1, &res, 1);
    *out = res.of.i32;
    return r;
}

void test_host_args_results(void)
{
    unit_env env;
    host_state st;
    waft_extern funcs[NIMPORTS];
    if (!open_host(&env, &st, funcs, NULL))
        return;

    waft_val args[4] = { unit_i32(0xfffffff0u), unit_i64(0x0123456789abcdefull),
                         unit_f32_bits(SNAN32), unit_f64_bits(SNAN64) };
    waft_val res[4];
    memset(res, 0, sizeof res);
    /* from wasm */
    REQUIRE_RESULT(waft_func_call(env.store, unit_export(&env, "call_roundtrip"), args, 4, res, 4),
                   WAFT_OK);
    CHECK_EQ(st.roundtrip_calls, 1);
    CHECK(st.args_clean);
    CHECK_EQ(res[0].type, WAFT_F64);
    CHECK_EQ(res[0].of.f64_bits, SNAN64);
    CHECK_EQ(res[1].type, WAFT_F32);
    CHECK_EQ(res[1].of.f32_bits, SNAN32);
    CHECK_EQ(res[2].of.i64, 0x0123456789abcd10ull);
    CHECK_EQ(res[3].of.i32, 0xfffffff1u);

    /* directly from the API */
    memset(res, 0, sizeof res);
    REQUIRE_RESULT(waft_func_call(env.store, funcs[0], args, 4, res, 4), WAFT_OK);
    CHECK_EQ(st.roundtrip_calls, 2);
    CHECK(st.args_clean);
    CHECK_EQ(res[0].of.f64_bits, SNAN64);
    CHECK_EQ(res[1].of.f32_bits, SNAN32);
    CHECK_EQ(res[2].of.i64, 0x0123456789abcd10ull);
    CHECK_EQ(res[3].of.i32, 0xfffffff1u);
    waft_functype ft;
    CHECK_RESULT(waft_func_type(env.store, funcs[0], &ft), WAFT_OK);
    CHECK_EQ(ft.nparams, 4);
    CHECK_EQ(ft.results[0], WAFT_F64);

    /* the host sees the caller's memory */
    waft_val pp[2] = { unit_i32(100), unit_i32(0xab) };
    REQUIRE_RESULT(waft_func_call(env.store, unit_export(&env, "poke_peek"), pp, 2, res, 1),
                   WAFT_OK);
    CHECK_EQ(res[0].of.i32, 0xab);
    CHECK_EQ(st.peek_size, WAFT_PAGE_SIZE);

    /* a host function of an unknown value type is refused */
    static const waft_valtype bad[] = { (waft_valtype)0x42 };
    waft_functype bt = { 1, 0, bad, NULL };
    waft_extern x;
    CHECK_RESULT(waft_func_new_host(env.store, &bt, h_exit, NULL, &x), WAFT_ERR_INVALID_ARG);
    unit_env_close(&env);
}

void test_host_i32_result_upper_bits(void)
{
    unit_env env;
    host_state st;
    waft_extern funcs[NIMPORTS];
    if (!open_host(&env, &st, funcs, NULL))
        return;
    /* an i32 result lives in the low 32 bits of its slot; whatever the host leaves above
     * must not leak into the wasm value (i64.extend_i32_u of it) */
    static const uint64_t slots[] = { 0xffffffff00000005ull, (uint64_t)(int64_t)-5, 7 };
    static const uint64_t want[] = { 5, 0xfffffffbull, 7 };
    for (int i = 0; i < 3; i++) {
        st.narrow_bits = slots[i];
        waft_val res;
        memset(&res, 0, sizeof res);
        CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "call_narrow"), NULL, 0, &res, 1),
                     WAFT_OK);
        CHECK_EQ(res.of.i64, want[i]);
    }
    unit_env_close(&env);
}

void test_host_trap(void)
{
    unit_env env;
    host_state st;
    waft_extern funcs[NIMPORTS];
    if (!open_host(&env, &st, funcs, NULL))
        return;
    uint32_t v;
    REQUIRE_RESULT(call_i32(&env, "call_fail", 7, &v), WAFT_TRAPPED);
    const waft_trap *t = waft_store_trap(env.store);
    CHECK_EQ(t->code, WAFT_TRAP_HOST);
    CHECK(t->message && strcmp(t->message, "host failure 7") == 0);
    REQUIRE_EQ(t->nframes, 1);
    CHECK_EQ(t->frames[0].func, F_CALL_FAIL);
    CHECK(t->frames[0].name && t->frames[0].name_len == 9 &&
          memcmp(t->frames[0].name, "call_fail", 9) == 0);
    CHECK_EQ(env.bytes[t->frames[0].code_offset], 0x10); /* the call of the host function */
    CHECK_EQ(waft_store_frame_count(env.store), 0);

    /* called directly: the same trap, no wasm frames */
    waft_val arg = unit_i32((uint32_t)-3);
    CHECK_RESULT(waft_func_call(env.store, funcs[1], &arg, 1, NULL, 0), WAFT_TRAPPED);
    t = waft_store_trap(env.store);
    CHECK_EQ(t->code, WAFT_TRAP_HOST);
    CHECK(t->message && strcmp(t->message, "host failure -3") == 0);
    CHECK_EQ(t->nframes, 0);

    CHECK_RESULT(call_i32(&env, "square", 5, &v), WAFT_OK);
    CHECK_EQ(v, 25);
    unit_env_close(&env);
}

void test_host_exit(void)
{
    unit_env env;
    host_state st;
    waft_extern funcs[NIMPORTS];
    if (!open_host(&env, &st, funcs, NULL))
        return;
    uint32_t v;
    CHECK_RESULT(call_i32(&env, "call_exit", 42, &v), WAFT_EXITED);
    CHECK_EQ(waft_store_exit_code(env.store), 42);
    CHECK_EQ(waft_store_frame_count(env.store), 0);
    CHECK_RESULT(waft_store_resume(env.store, NULL, 0), WAFT_ERR_STATE);

    CHECK_RESULT(call_i32(&env, "square", 6, &v), WAFT_OK);
    CHECK_EQ(v, 36);

    waft_val arg = unit_i32((uint32_t)-1);
    CHECK_RESULT(waft_func_call(env.store, funcs[2], &arg, 1, NULL, 0), WAFT_EXITED);
    CHECK_EQ(waft_store_exit_code(env.store), -1);
    unit_env_close(&env);
}

/* Checks a suspension at the host call of call_blocking(_indirect) with argument 5. */
static void check_blocked_frame(unit_env *env, uint32_t func, uint32_t nvalues)
{
    CHECK_EQ(waft_store_stop_reason(env->store), WAFT_STOP_HOST);
    CHECK_EQ(waft_store_frame_count(env->store), 1);
    waft_frame_state fs;
    if (!CHECK_RESULT(waft_store_frame(env->store, 0, &fs), WAFT_OK))
        return;
    CHECK_EQ(fs.func, func);
    CHECK_EQ(env->bytes[fs.code_offset], func == F_CALL_BLOCKING ? 0x10 : 0x11);
    CHECK_EQ(fs.locals[0], 5);
    /* the operands of the call are still there: 1000, the argument (and the table index) */
    if (CHECK_EQ(fs.nvalues, nvalues)) {
        CHECK_EQ(fs.values[0], 1000);
        CHECK_EQ(fs.values[1], 5);
        if (nvalues == 3)
            CHECK_EQ(fs.values[2], 0);
    }
}

void test_host_suspend(void)
{
    unit_env env;
    host_state st;
    waft_extern funcs[NIMPORTS];
    if (!open_host(&env, &st, funcs, NULL))
        return;
    uint32_t v = 0;
    waft_val res;

    st.suspend_times = 1;
    REQUIRE_RESULT(call_i32(&env, "call_blocking", 5, &v), WAFT_SUSPENDED);
    CHECK_EQ(st.blocking_calls, 1);
    check_blocked_frame(&env, F_CALL_BLOCKING, 2);
    CHECK_RESULT(call_i32(&env, "square", 2, &v), WAFT_ERR_STATE);
    CHECK_EQ(st.blocking_calls, 1);
    memset(&res, 0, sizeof res);
    CHECK_RESULT(waft_store_resume(env.store, &res, 1), WAFT_OK);
    CHECK_EQ(st.blocking_calls, 2); /* called again */
    CHECK_EQ(res.of.i32, 1006);

    /* several times in a row */
    st.blocking_calls = 0;
    st.suspend_times = 3;
    waft_result r = call_i32(&env, "call_blocking", 5, &v);
    int suspensions = 0;
    while (r == WAFT_SUSPENDED && suspensions < 10) {
        suspensions++;
        check_blocked_frame(&env, F_CALL_BLOCKING, 2);
        r = waft_store_resume(env.store, &res, 1);
    }
    CHECK_RESULT(r, WAFT_OK);
    CHECK_EQ(suspensions, 3);
    CHECK_EQ(st.blocking_calls, 4);
    CHECK_EQ(res.of.i32, 1006);

    /* through call_indirect: the table index is back on the stack for the retry */
    st.blocking_calls = 0;
    st.suspend_times = 1;
    REQUIRE_RESULT(call_i32(&env, "call_blocking_indirect", 5, &v), WAFT_SUSPENDED);
    check_blocked_frame(&env, F_CALL_BLOCKING_INDIRECT, 3);
    memset(&res, 0, sizeof res);
    CHECK_RESULT(waft_store_resume(env.store, &res, 1), WAFT_OK);
    CHECK_EQ(st.blocking_calls, 2);
    CHECK_EQ(res.of.i32, 1006);

    /* with fuel on: same */
    st.blocking_calls = 0;
    st.suspend_times = 1;
    waft_store_set_fuel(env.store, 1000);
    REQUIRE_RESULT(call_i32(&env, "call_blocking", 5, &v), WAFT_SUSPENDED);
    check_blocked_frame(&env, F_CALL_BLOCKING, 2);
    CHECK_RESULT(waft_store_resume(env.store, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 1006);
    waft_store_set_fuel(env.store, UINT64_MAX);

    /* abandoned: the host function is not called again; a new call works */
    st.blocking_calls = 0;
    st.suspend_times = 1;
    REQUIRE_RESULT(call_i32(&env, "call_blocking", 5, &v), WAFT_SUSPENDED);
    waft_store_abandon(env.store);
    CHECK_EQ(waft_store_frame_count(env.store), 0);
    CHECK_EQ(st.blocking_calls, 1);
    CHECK_RESULT(call_i32(&env, "call_blocking", 8, &v), WAFT_OK);
    CHECK_EQ(v, 1009);
    CHECK_EQ(st.blocking_calls, 2);

    /* called directly, there is no wasm frame to stop at: an error, and no suspension left */
    st.blocking_calls = 0;
    st.suspend_times = 1;
    waft_val arg = unit_i32(1);
    CHECK(waft_func_call(env.store, funcs[3], &arg, 1, &res, 1) != WAFT_OK);
    CHECK_EQ(waft_store_frame_count(env.store), 0);
    CHECK_RESULT(call_i32(&env, "square", 3, &v), WAFT_OK);
    CHECK_EQ(v, 9);
    unit_env_close(&env);
}

void test_host_reentry(void)
{
    unit_env env;
    host_state st;
    waft_extern funcs[NIMPORTS];
    waft_config config;
    memset(&config, 0, sizeof config);
    config.max_call_depth = 200;
    if (!open_host(&env, &st, funcs, &config))
        return;
    uint32_t v = 0;
    st.self = unit_export(&env, "call_reenter");

    st.target = unit_export(&env, "square");
    CHECK_RESULT(call_i32(&env, "call_reenter", 7, &v), WAFT_OK);
    CHECK_EQ(st.reenter_calls, 1);
    CHECK_RESULT(st.nested, WAFT_OK);
    CHECK_EQ(v, 100050);

    /* nested three deep: call_reenter -> reenter -> call_reenter -> reenter -> square */
    st.reenter_calls = 0;
    st.chain = 1;
    CHECK_RESULT(call_i32(&env, "call_reenter", 3, &v), WAFT_OK);
    CHECK_EQ(st.reenter_calls, 2);
    CHECK_EQ(v, 100000 + (100000 + 9 + 1) + 1);

    /* endless re-entry stops at the call-depth limit (wasm frames of all levels count) */
    st.reenter_calls = 0;
    st.chain = 1000000;
    CHECK_RESULT(call_i32(&env, "call_reenter", 3, &v), WAFT_TRAPPED);
    CHECK_EQ(waft_store_trap(env.store)->code, WAFT_TRAP_HOST);
    CHECK(st.reenter_calls > 2 && st.reenter_calls <= 200);
    CHECK_EQ(waft_store_frame_count(env.store), 0);
    st.chain = 0;

    /* a trap in the nested call comes back to the host, which traps in turn */
    st.reenter_calls = 0;
    st.target = unit_export(&env, "divide");
    CHECK_RESULT(call_i32(&env, "call_reenter", 0, &v), WAFT_TRAPPED);
    CHECK_RESULT(st.nested, WAFT_TRAPPED);
    const waft_trap *t = waft_store_trap(env.store);
    CHECK_EQ(t->code, WAFT_TRAP_HOST);
    CHECK(t->message && strcmp(t->message, "nested call failed") == 0);
    CHECK_EQ(t->nframes, 1); /* only call_reenter's frame: the nested one was unwound */
    CHECK_RESULT(call_i32(&env, "call_reenter", 7, &v), WAFT_OK);
    CHECK_EQ(v, 100002);

    /* the nested call cannot stay suspended (the host's C frame is in the way) */
    st.target = unit_export(&env, "call_blocking");
    st.blocking_calls = 0;
    st.suspend_times = 1;
    CHECK_RESULT(call_i32(&env, "call_reenter", 5, &v), WAFT_TRAPPED);
    CHECK(st.nested != WAFT_OK && st.nested != WAFT_SUSPENDED);
    CHECK_EQ(waft_store_frame_count(env.store), 0);
    CHECK_RESULT(call_i32(&env, "call_reenter", 5, &v), WAFT_OK); /* blocking answers now */
    CHECK_EQ(v, 100000 + 1006 + 1);

    /* the stack is intact after all that */
    CHECK_RESULT(call_i32(&env, "sum_to", 10, &v), WAFT_OK);
    CHECK_EQ(v, 45);
    unit_env_close(&env);
}

void test_host_results_survive_reentry(void)
{
    unit_env env;
    host_state st;
    waft_extern funcs[NIMPORTS];
    if (!open_host(&env, &st, funcs, NULL))
        return;
    uint32_t v = 0;
    /* reenter writes its result first, then calls back into wasm, which calls another host
     * function (blocking) that writes its own result: reenter's must not change */
    st.write_first = true;
    st.target = unit_export(&env, "call_blocking");
    CHECK_RESULT(call_i32(&env, "call_reenter", 5, &v), WAFT_OK);
    CHECK_RESULT(st.nested, WAFT_OK);
    CHECK_EQ(st.nested_value, 1006);
    CHECK_EQ(v, 100000 + 0x1234);

    /* the same when the outer host function is called directly */
    waft_val arg = unit_i32(5), res;
    memset(&res, 0, sizeof res);
    CHECK_RESULT(waft_func_call(env.store, funcs[4], &arg, 1, &res, 1), WAFT_OK);
    CHECK_EQ(res.of.i32, 0x1234);
    unit_env_close(&env);
}

void test_fuel_with_host_reentry(void)
{
    unit_env env;
    host_state st;
    waft_extern funcs[NIMPORTS];
    if (!open_host(&env, &st, funcs, NULL))
        return;
    uint32_t v = 0;
    const uint64_t plenty = UINT64_C(1) << 40;

    /* steps of the nested part alone */
    waft_store_set_fuel(env.store, plenty);
    uint64_t s0 = waft_store_steps(env.store);
    REQUIRE_RESULT(call_i32(&env, "sum_to", 1000, &v), WAFT_OK);
    uint64_t nested_steps = waft_store_steps(env.store) - s0;
    CHECK_EQ(plenty - waft_store_fuel(env.store), nested_steps);

    /* the whole: every instruction, nested ones included, is paid from the one budget */
    st.target = unit_export(&env, "sum_to");
    waft_store_set_fuel(env.store, plenty);
    s0 = waft_store_steps(env.store);
    REQUIRE_RESULT(call_i32(&env, "call_reenter", 1000, &v), WAFT_OK);
    CHECK_EQ(v, 100000 + 499500 + 1);
    uint64_t total = waft_store_steps(env.store) - s0;
    CHECK(total > nested_steps);
    CHECK_EQ(plenty - waft_store_fuel(env.store), total);

    /* a budget one short of the whole must not be enough */
    waft_store_set_fuel(env.store, total - 1);
    s0 = waft_store_steps(env.store);
    waft_result r = call_i32(&env, "call_reenter", 1000, &v);
    CHECK(r != WAFT_OK);
    CHECK(waft_store_steps(env.store) - s0 <= total - 1);
    waft_store_abandon(env.store);
    waft_store_set_fuel(env.store, UINT64_MAX);
    CHECK_RESULT(call_i32(&env, "square", 4, &v), WAFT_OK);
    CHECK_EQ(v, 16);
    unit_env_close(&env);
}
