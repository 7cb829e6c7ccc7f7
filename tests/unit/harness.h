/* SPDX-License-Identifier: MIT */
/* harness.h - the unit-test harness: test registration, checks, and fixtures shared by the
 * test files in tests/unit/.
 *
 * Usage: waft-unit WASM_DIR [NAME...]
 *   WASM_DIR holds the modules compiled from tests/unit/wat/NAME.wat (the Makefile passes
 *   $(BUILD)/tests/unit/wat); with NAMEs, only the tests whose name contains one of them run.
 *
 * Invariants:
 *  - Tests use only the public API (<waft/waft.h>), like any other client.
 *  - Every test is listed once in UNIT_TEST_LIST below and defined as `void test_<name>(void)`
 *    in some test_NAME.c file; main.c runs them in list order.
 *  - A failed CHECK prints `FILE:LINE: ...` and the test goes on; REQUIRE also returns from
 *    the test function (use it where going on would dereference NULL).
 *  - A test passes iff none of its checks failed. The run ends with exactly one summary line
 *    `unit: N passed, N failed` (tests, not checks) and exits non-zero iff a test failed.
 *    Tests in UNIT_KNOWN_FAILURES are the exception: see there.
 */
#ifndef WAFT_UNIT_HARNESS_H
#define WAFT_UNIT_HARNESS_H

#include <waft/waft.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== Registration ==== */

/* X(name): every test, in the order they run. */
#define UNIT_TEST_LIST(X)             \
    X(errors_bad_magic)               \
    X(errors_truncated_section)       \
    X(errors_bad_leb)                 \
    X(errors_type_mismatch)           \
    X(errors_module_level_offset)     \
    X(errors_api_arguments)           \
    X(values_typed_calls)             \
    X(values_nan_payloads)            \
    X(values_nan_canonical)           \
    X(values_i32_upper_bits)          \
    X(traps_codes_and_messages)       \
    X(traps_backtrace)                \
    X(depth_limit)                    \
    X(depth_stack_slots)              \
    X(fuel_suspend_inspect_resume)    \
    X(fuel_split_anywhere)            \
    X(fuel_single_step)               \
    X(fuel_with_host_reentry)         \
    X(interrupt_from_thread)          \
    X(interrupt_before_call_loop)     \
    X(interrupt_before_call_entry)    \
    X(interrupt_wake_fd)              \
    X(host_args_results)              \
    X(host_i32_result_upper_bits)     \
    X(host_trap)                      \
    X(host_exit)                      \
    X(host_suspend)                   \
    X(host_reentry)                   \
    X(host_results_survive_reentry)   \
    X(memory_api_bounds)              \
    X(memory_grow_from_wasm)          \
    X(memory_limit)                   \
    X(alloc_failure_injection)        \
    X(alloc_limits_fit_the_host)      \
    X(link_two_instances)             \
    X(link_mismatch)                  \
    X(engine_allocated_baseline)      \
    X(snapshot_roundtrip_many_steps)  \
    X(snapshot_chain_and_idempotence) \
    X(snapshot_hostile_images)        \
    X(snapshot_record_versions)       \
    X(snapshot_duplicate_records)     \
    X(snapshot_large_memory)          \
    X(snapshot_compressed)            \
    X(snapshot_extension_limit)       \
    X(track_marks)                    \
    X(migrate_two_step_restore)       \
    X(start_suspend_resume)

/* X(name, why): tests that fail because of a library bug that is known and not fixed yet.
 * They run and their failed checks are printed, but they are reported as known failures
 * instead of being counted; one that passes is counted as failed, so that it is taken off
 * this list. */
#define UNIT_KNOWN_FAILURES(X)

#define UNIT_DECLARE(name) void test_##name(void);
UNIT_TEST_LIST(UNIT_DECLARE)
#undef UNIT_DECLARE

/* ==== Checks ==== */

/* Records the outcome of one check; on failure prints `file:line: CHECK failed: text`.
 * Returns `ok`. */
bool unit_check(bool ok, const char *file, int line, const char *text);
/* Equality of two integers (any integer type, compared as 64-bit patterns); on failure prints
 * both sides in decimal and hex. */
bool unit_check_eq(uint64_t a, uint64_t b, const char *file, int line, const char *ta,
                   const char *tb);
/* A waft_result equals the expected one; on failure prints both names. */
bool unit_check_result(waft_result got, waft_result want, const char *file, int line,
                       const char *text);

#define CHECK(cond)        unit_check((cond) != 0, __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b)     unit_check_eq((uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_RESULT(r, w) unit_check_result((r), (w), __FILE__, __LINE__, #r)
/* Like CHECK / CHECK_EQ / CHECK_RESULT, but return from the (void) test function on failure. */
#define REQUIRE(cond)     \
    do {                  \
        if (!CHECK(cond)) \
            return;       \
    } while (0)
#define REQUIRE_EQ(a, b)     \
    do {                     \
        if (!CHECK_EQ(a, b)) \
            return;          \
    } while (0)
#define REQUIRE_RESULT(r, w)     \
    do {                         \
        if (!CHECK_RESULT(r, w)) \
            return;              \
    } while (0)

/* ==== Fixtures ==== */

/* Reads `name` (e.g. "traps.wasm") from the module directory into a malloc'ed buffer that the
 * caller frees. Returns NULL (after a failed check) if it cannot. */
uint8_t *unit_read_wasm(const char *name, size_t *out_len);

/* An engine, a store and one instance of one module: the common setup of a test. */
typedef struct unit_env {
    waft_engine *engine;
    waft_store *store;
    waft_module *module;
    waft_instance *inst;
    uint8_t *bytes; /* the module binary, for checking code offsets */
    size_t len;
    size_t baseline; /* waft_engine_allocated() right after the engine was made */
} unit_env;

/* Makes engine (with `config`, may be NULL), store, module and instance. On failure a check
 * has failed, whatever was made is freed, and it returns false. */
bool unit_env_open(unit_env *env, const char *wasm_name, const waft_config *config,
                   const waft_extern *imports, uint32_t nimports);
/* Makes engine and store only (for tests that make imports first). */
bool unit_env_open_store(unit_env *env, const waft_config *config);
/* Then loads the module and instantiates it in the store. On failure a check has failed and
 * the caller still closes `env`. */
bool unit_env_instantiate(unit_env *env, const char *wasm_name, const waft_extern *imports,
                          uint32_t nimports);
/* Frees instance's store, module and engine, checking on the way that the engine's allocated
 * bytes are back to `baseline` once store and module are gone. */
void unit_env_close(unit_env *env);
/* Export `name` of the instance; a failed check (and a zero handle) if it is missing. */
waft_extern unit_export(const unit_env *env, const char *name);

/* Typed values. */
waft_val unit_i32(uint32_t v);
waft_val unit_i64(uint64_t v);
waft_val unit_f32_bits(uint32_t bits);
waft_val unit_f64_bits(uint64_t bits);

/* Byte range [*out_start, *out_end) of the body (locals declarations included) of function
 * `func` (module index space, imports first) of `module`, whose binary is bytes[0, len): found
 * by walking the binary's sections. False if there is no such defined function. */
bool unit_func_body(const waft_module *module, const uint8_t *bytes, size_t len, uint32_t func,
                    uint32_t *out_start, uint32_t *out_end);

#endif
