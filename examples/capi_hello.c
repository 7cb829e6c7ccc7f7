/* SPDX-License-Identifier: MIT */
/* capi_hello.c - embedding libwaft through the standard C API (wasm.h).
 *
 * Build against an installed waft:
 *     cc capi_hello.c -o capi_hello $(pkg-config --cflags --libs waft)
 * Run: ./capi_hello [MODULE.wasm]. Without an argument it uses the module below, built in
 * as bytes; a module given instead must import env.report (i32, i32) and export
 * sum_squares (i32) -> i64. The host function `report` prints each step and stops the guest
 * (a trap) once the sum passes a limit; `make example-capi` checks this program's output.
 */
#include <wasm.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* (module
 *   (import "env" "report" (func $report (param i32 i32)))
 *   (func (export "sum_squares") (param $n i32) (result i64) (local $i i32) (local $acc i64)
 *     (block $done (loop $next
 *       (br_if $done (i32.gt_s (local.get $i) (local.get $n)))
 *       (local.set $acc (i64.add (local.get $acc)
 *                                (i64.extend_i32_s (i32.mul (local.get $i) (local.get $i)))))
 *       (call $report (local.get $i) (i32.wrap_i64 (local.get $acc)))
 *       (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *       (br $next)))
 *     (local.get $acc))) */
static const unsigned char builtin[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0b, 0x02, 0x60, 0x02, 0x7f, 0x7f, 0x00,
    0x60, 0x01, 0x7f, 0x01, 0x7e, 0x02, 0x0e, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x72, 0x65, 0x70,
    0x6f, 0x72, 0x74, 0x00, 0x00, 0x03, 0x02, 0x01, 0x01, 0x07, 0x0f, 0x01, 0x0b, 0x73, 0x75, 0x6d,
    0x5f, 0x73, 0x71, 0x75, 0x61, 0x72, 0x65, 0x73, 0x00, 0x01, 0x0a, 0x32, 0x01, 0x30, 0x02, 0x01,
    0x7f, 0x01, 0x7e, 0x02, 0x40, 0x03, 0x40, 0x20, 0x01, 0x20, 0x00, 0x4a, 0x0d, 0x01, 0x20, 0x02,
    0x20, 0x01, 0x20, 0x01, 0x6c, 0xac, 0x7c, 0x21, 0x02, 0x20, 0x01, 0x20, 0x02, 0xa7, 0x10, 0x00,
    0x20, 0x01, 0x41, 0x01, 0x6a, 0x21, 0x01, 0x0c, 0x00, 0x0b, 0x0b, 0x20, 0x02, 0x0b,
};

/* The host's state, reached through the function's env. */
typedef struct host {
    wasm_store_t *store;
    int32_t limit; /* report traps once the running sum is above this */
    int calls;
} host;

static wasm_trap_t *report(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results)
{
    host *h = env;
    (void)results;
    h->calls++;
    printf("  report: i=%d sum=%d\n", args->data[0].of.i32, args->data[1].of.i32);
    if (args->data[1].of.i32 > h->limit) {
        wasm_message_t msg;
        wasm_name_new_from_string_nt(&msg, "sum over the host's limit");
        wasm_trap_t *trap = wasm_trap_new(h->store, &msg);
        wasm_name_delete(&msg);
        return trap;
    }
    return NULL;
}

static int load(const char *path, wasm_byte_vec_t *out)
{
    if (!path) {
        wasm_byte_vec_new(out, sizeof builtin, (const wasm_byte_t *)builtin);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    wasm_byte_vec_new_uninitialized(out, n > 0 ? (size_t)n : 0);
    size_t got = fread(out->data, 1, out->size, f);
    fclose(f);
    return got == out->size ? 0 : -1;
}

/* Calls sum_squares(n) and prints the result or the trap. */
static void call(wasm_func_t *f, int32_t n)
{
    wasm_val_t in[1] = { WASM_I32_VAL(n) };
    wasm_val_t out[1] = { WASM_INIT_VAL };
    wasm_val_vec_t args = WASM_ARRAY_VEC(in), results = WASM_ARRAY_VEC(out);
    printf("sum_squares(%d):\n", n);
    wasm_trap_t *trap = wasm_func_call(f, &args, &results);
    if (trap) {
        wasm_message_t msg;
        wasm_trap_message(trap, &msg);
        printf("  trap: %s\n", msg.data);
        wasm_byte_vec_delete(&msg);
        wasm_trap_delete(trap);
        return;
    }
    printf("  = %" PRId64 "\n", out[0].of.i64);
}

int main(int argc, char **argv)
{
    int status = 1;
    wasm_byte_vec_t binary = WASM_EMPTY_VEC;
    wasm_engine_t *engine = wasm_engine_new();
    wasm_store_t *store = engine ? wasm_store_new(engine) : NULL;
    wasm_module_t *module = NULL;
    wasm_functype_t *type = NULL;
    wasm_func_t *fn = NULL;
    wasm_instance_t *instance = NULL;
    wasm_extern_vec_t exports = WASM_EMPTY_VEC;
    host h = { store, 100, 0 };

    if (!store || load(argc > 1 ? argv[1] : NULL, &binary) != 0) {
        fprintf(stderr, "capi_hello: cannot set up (engine, store or module file)\n");
        goto done;
    }
    module = wasm_module_new(store, &binary);
    if (!module) {
        fprintf(stderr, "capi_hello: the module does not compile\n");
        goto done;
    }

    /* the import: env.report (i32, i32) -> () */
    type = wasm_functype_new_2_0(wasm_valtype_new_i32(), wasm_valtype_new_i32());
    fn = wasm_func_new_with_env(store, type, report, &h, NULL);
    wasm_extern_t *imports_of[1] = { wasm_func_as_extern(fn) };
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(imports_of);
    wasm_trap_t *trap = NULL;
    instance = wasm_instance_new(store, module, &imports, &trap);
    if (!instance) {
        wasm_message_t msg = WASM_EMPTY_VEC;
        if (trap)
            wasm_trap_message(trap, &msg);
        fprintf(stderr, "capi_hello: cannot instantiate: %s\n", msg.size ? msg.data : "?");
        wasm_byte_vec_delete(&msg);
        wasm_trap_delete(trap);
        goto done;
    }

    wasm_instance_exports(instance, &exports);
    wasm_func_t *sum = exports.size ? wasm_extern_as_func(exports.data[0]) : NULL;
    if (!sum || wasm_func_param_arity(sum) != 1 || wasm_func_result_arity(sum) != 1) {
        fprintf(stderr, "capi_hello: export 0 is not sum_squares (i32) -> i64\n");
        goto done;
    }
    call(sum, 3);
    call(sum, 10);
    printf("report was called %d times\n", h.calls);
    status = 0;
done:
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    wasm_func_delete(fn);
    wasm_functype_delete(type);
    wasm_module_delete(module);
    wasm_byte_vec_delete(&binary);
    wasm_store_delete(store);
    wasm_engine_delete(engine);
    return status;
}
