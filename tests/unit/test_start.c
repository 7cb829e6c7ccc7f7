/* SPDX-License-Identifier: MIT */
/* test_start.c - a start function that runs out of fuel stays suspended: waft_instance_new
 * returns WAFT_SUSPENDED with the instance set, and waft_store_resume finishes the start
 * function, after which the instance works (issue 11, defect 7: it used to be dropped and
 * reported as WAFT_ERR_STATE). Uses start.wat. */
#include "harness.h"

#include <stdlib.h>

void test_start_suspend_resume(void)
{
    unit_env env;
    if (!unit_env_open_store(&env, NULL))
        return;
    env.bytes = unit_read_wasm("start.wasm", &env.len);
    waft_error err;
    if (env.bytes &&
        CHECK_RESULT(waft_module_new(env.engine, env.bytes, env.len, &env.module, &err), WAFT_OK)) {
        waft_store_set_fuel(env.store, 100);
        waft_result r = waft_instance_new(env.store, env.module, NULL, 0, &env.inst, &err);
        CHECK_RESULT(r, WAFT_SUSPENDED);
        CHECK(env.inst != NULL);
        CHECK_EQ(waft_store_stop_reason(env.store), WAFT_STOP_FUEL);
        CHECK(waft_store_frame_count(env.store) > 0);
        if (r == WAFT_SUSPENDED && env.inst) {
            waft_store_set_fuel(env.store, UINT64_MAX);
            CHECK_RESULT(waft_store_resume(env.store, NULL, 0), WAFT_OK);
            waft_val got;
            CHECK_RESULT(waft_func_call(env.store, unit_export(&env, "count"), NULL, 0, &got, 1),
                         WAFT_OK);
            CHECK_EQ(got.of.i32, 1000);
        }
    }
    unit_env_close(&env);
}
