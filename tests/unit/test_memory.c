/* SPDX-License-Identifier: MIT */
/* test_memory.c - host access to linear memory with bounds checks; memory.grow seen from the
 * host; the engine's memory_limit. Uses memory.wat and memory_nomax.wat. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

static uint32_t call_grow(unit_env *env, uint32_t delta)
{
    waft_val arg = unit_i32(delta), res;
    memset(&res, 0, sizeof res);
    CHECK_RESULT(waft_func_call(env->store, unit_export(env, "grow"), &arg, 1, &res, 1), WAFT_OK);
    return res.of.i32;
}

static uint32_t call_load(unit_env *env, uint32_t addr)
{
    waft_val arg = unit_i32(addr), res;
    memset(&res, 0, sizeof res);
    CHECK_RESULT(waft_func_call(env->store, unit_export(env, "load"), &arg, 1, &res, 1), WAFT_OK);
    return res.of.i32;
}

void test_memory_api_bounds(void)
{
    unit_env env;
    if (!unit_env_open(&env, "memory.wasm", NULL, NULL, 0))
        return;
    waft_extern mem = unit_export(&env, "mem");
    REQUIRE_EQ(mem.kind, WAFT_EXTERN_MEMORY);
    waft_extern mem0;
    CHECK_RESULT(waft_instance_memory(env.inst, &mem0), WAFT_OK);
    CHECK_EQ(mem0.index, mem.index);

    const uint64_t size = WAFT_PAGE_SIZE;
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8];

    /* in bounds, up to the last byte */
    CHECK_RESULT(waft_memory_write(env.store, mem, size - 4, buf, 4), WAFT_OK);
    CHECK_EQ(call_load(&env, (uint32_t)size - 4), 0x04030201u);
    memset(back, 0, sizeof back);
    CHECK_RESULT(waft_memory_read(env.store, mem, size - 4, back, 4), WAFT_OK);
    CHECK(memcmp(back, buf, 4) == 0);
    CHECK_RESULT(waft_memory_write(env.store, mem, size, buf, 0), WAFT_OK); /* empty, at end */
    CHECK_RESULT(waft_memory_read(env.store, mem, size, back, 0), WAFT_OK);

    /* out of bounds by one byte, past the end, and with offsets that would wrap */
    uint8_t before[8];
    CHECK_RESULT(waft_memory_read(env.store, mem, size - 8, before, 8), WAFT_OK);
    CHECK_RESULT(waft_memory_write(env.store, mem, size - 3, buf, 4), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_memory_write(env.store, mem, size + 1, buf, 0), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_memory_write(env.store, mem, UINT64_MAX, buf, 1), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_memory_write(env.store, mem, 1, buf, SIZE_MAX), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_memory_read(env.store, mem, size - 3, back, 4), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_memory_read(env.store, mem, UINT64_MAX - 2, back, 4), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_memory_read(env.store, mem, 4, back, SIZE_MAX - 2), WAFT_ERR_INVALID_ARG);
    uint8_t after[8];
    CHECK_RESULT(waft_memory_read(env.store, mem, size - 8, after, 8), WAFT_OK);
    CHECK(memcmp(before, after, 8) == 0); /* failed writes wrote nothing */

    /* wrong handles */
    waft_extern bogus = { WAFT_EXTERN_MEMORY, 999 };
    CHECK_RESULT(waft_memory_read(env.store, bogus, 0, back, 1), WAFT_ERR_INVALID_ARG);
    waft_extern func = unit_export(&env, "load");
    CHECK_RESULT(waft_memory_write(env.store, func, 0, buf, 1), WAFT_ERR_INVALID_ARG);
    uint64_t sz = 123;
    CHECK(waft_memory_data(env.store, bogus, &sz) == NULL);
    CHECK_EQ(sz, 0);

    /* the data pointer and the API see the same bytes */
    uint8_t *data = waft_memory_data(env.store, mem, &sz);
    REQUIRE(data != NULL);
    CHECK_EQ(sz, size);
    CHECK_EQ(data[size - 4], 1);
    data[0] = 0x99;
    CHECK_EQ(call_load(&env, 0), 0x99);
    unit_env_close(&env);
}

void test_memory_grow_from_wasm(void)
{
    unit_env env;
    if (!unit_env_open(&env, "memory.wasm", NULL, NULL, 0))
        return;
    waft_extern mem = unit_export(&env, "mem");
    uint64_t sz = 0;
    CHECK(waft_memory_data(env.store, mem, &sz) != NULL);
    CHECK_EQ(sz, WAFT_PAGE_SIZE);

    uint8_t mark[4] = { 0xde, 0xad, 0xbe, 0xef };
    CHECK_RESULT(waft_memory_write(env.store, mem, 100, mark, 4), WAFT_OK);

    CHECK_EQ(call_grow(&env, 2), 1);
    uint8_t *data = waft_memory_data(env.store, mem, &sz);
    REQUIRE(data != NULL);
    CHECK_EQ(sz, 3ull * WAFT_PAGE_SIZE);
    CHECK(memcmp(data + 100, mark, 4) == 0);   /* contents kept */
    CHECK_EQ(data[3 * WAFT_PAGE_SIZE - 1], 0); /* new pages zeroed */

    /* the new pages are usable from both sides */
    uint32_t at = 2 * WAFT_PAGE_SIZE + 16;
    CHECK_RESULT(waft_memory_write(env.store, mem, at, mark, 4), WAFT_OK);
    CHECK_EQ(call_load(&env, at), 0xefbeadde);
    CHECK_RESULT(waft_memory_write(env.store, mem, 3ull * WAFT_PAGE_SIZE - 4, mark, 4), WAFT_OK);
    CHECK_RESULT(waft_memory_write(env.store, mem, 3ull * WAFT_PAGE_SIZE - 3, mark, 4),
                 WAFT_ERR_INVALID_ARG);

    /* beyond the maximum of 4 pages: -1 and nothing changes */
    CHECK_EQ(call_grow(&env, 2), 0xffffffffu);
    CHECK_EQ(call_grow(&env, 0x10000), 0xffffffffu);
    CHECK_EQ(call_grow(&env, 0xffffffffu), 0xffffffffu);
    waft_memory_data(env.store, mem, &sz);
    CHECK_EQ(sz, 3ull * WAFT_PAGE_SIZE);
    CHECK_EQ(call_grow(&env, 0), 3);
    CHECK_EQ(call_grow(&env, 1), 3);
    waft_memory_data(env.store, mem, &sz);
    CHECK_EQ(sz, 4ull * WAFT_PAGE_SIZE);

    /* from the host, against the same maximum */
    uint32_t old = 0;
    CHECK_RESULT(waft_memory_grow(env.store, mem, 1, &old), WAFT_ERR_LIMIT);
    CHECK_RESULT(waft_memory_grow(env.store, mem, 0, &old), WAFT_OK);
    CHECK_EQ(old, 4);
    unit_env_close(&env);
}

void test_memory_limit(void)
{
    waft_config config;
    memset(&config, 0, sizeof config);
    config.memory_limit = 4u << 20;
    config.max_stack_slots = 1024;
    config.max_call_depth = 100;
    unit_env env;
    if (!unit_env_open(&env, "memory_nomax.wasm", &config, NULL, 0))
        return;
    waft_extern mem = unit_export(&env, "mem");

    /* 1000 pages (62.5 MiB) do not fit in 4 MiB: memory.grow says -1, nothing breaks */
    CHECK_EQ(call_grow(&env, 1000), 0xffffffffu);
    uint64_t sz = 0;
    uint8_t *data = waft_memory_data(env.store, mem, &sz);
    CHECK(data != NULL);
    CHECK_EQ(sz, WAFT_PAGE_SIZE);
    CHECK_EQ(call_grow(&env, 65535), 0xffffffffu);
    CHECK_EQ(call_grow(&env, 64), 0xffffffffu); /* 65 pages are just over 4 MiB */

    /* what fits still grows */
    CHECK_EQ(call_grow(&env, 16), 1);
    data = waft_memory_data(env.store, mem, &sz);
    CHECK_EQ(sz, 17ull * WAFT_PAGE_SIZE);
    CHECK_EQ(call_load(&env, 17 * WAFT_PAGE_SIZE - 4), 0);
    CHECK(waft_engine_allocated(env.engine) <= config.memory_limit);

    /* the same from the host, and for new objects */
    uint32_t old;
    CHECK_RESULT(waft_memory_grow(env.store, mem, 1000, &old), WAFT_ERR_LIMIT);
    waft_extern big;
    CHECK_RESULT(waft_memory_new(env.store, 100, UINT32_MAX, &big), WAFT_ERR_NOMEM);
    CHECK(waft_engine_allocated(env.engine) <= config.memory_limit);

    /* and the instance still runs */
    CHECK_EQ(call_grow(&env, 0), 17);
    unit_env_close(&env);
}
