/* SPDX-License-Identifier: MIT */
/* main.c - waft-unit: runs the unit tests listed in harness.h and implements the harness.
 *
 * Invariants: see harness.h. The harness keeps its state in file-level variables; that is
 * fine for a test program (the library's no-globals rule is about instance state).
 */
#include "harness.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *wasm_dir = ".";
static bool test_failed; /* some check of the running test failed */
static const char *test_name = "";

/* ==== Checks ==== */

bool unit_check(bool ok, const char *file, int line, const char *text)
{
    if (!ok) {
        fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", file, line, test_name, text);
        test_failed = true;
    }
    return ok;
}

bool unit_check_eq(uint64_t a, uint64_t b, const char *file, int line, const char *ta,
                   const char *tb)
{
    if (a != b) {
        fprintf(stderr,
                "%s:%d: [%s] CHECK_EQ failed: %s == %s\n    left:  %" PRIu64 " (0x%" PRIx64
                ", signed %" PRId64 ")\n    right: %" PRIu64 " (0x%" PRIx64 ", signed %" PRId64
                ")\n",
                file, line, test_name, ta, tb, a, a, (int64_t)a, b, b, (int64_t)b);
        test_failed = true;
        return false;
    }
    return true;
}

bool unit_check_result(waft_result got, waft_result want, const char *file, int line,
                       const char *text)
{
    if (got != want) {
        fprintf(stderr, "%s:%d: [%s] CHECK_RESULT failed: %s is %d (%s), expected %d (%s)\n", file,
                line, test_name, text, (int)got, waft_result_str(got), (int)want,
                waft_result_str(want));
        test_failed = true;
        return false;
    }
    return true;
}

/* ==== Fixtures ==== */

uint8_t *unit_read_wasm(const char *name, size_t *out_len)
{
    char path[1024];
    *out_len = 0;
    int n = snprintf(path, sizeof path, "%s/%s", wasm_dir, name);
    if (!CHECK(n > 0 && (size_t)n < sizeof path))
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "waft-unit: cannot open %s (run through `make unit`)\n", path);
        CHECK(f != NULL);
        return NULL;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    uint8_t *buf = size >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)size + 1) : NULL;
    size_t len = buf ? fread(buf, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!CHECK(buf != NULL && len == (size_t)size)) {
        free(buf);
        return NULL;
    }
    *out_len = len;
    return buf;
}

bool unit_env_open_store(unit_env *env, const waft_config *config)
{
    memset(env, 0, sizeof *env);
    if (!CHECK_RESULT(waft_engine_new(config, &env->engine), WAFT_OK))
        return false;
    env->baseline = waft_engine_allocated(env->engine);
    if (!CHECK_RESULT(waft_store_new(env->engine, &env->store), WAFT_OK)) {
        waft_engine_free(env->engine);
        env->engine = NULL;
        return false;
    }
    return true;
}

bool unit_env_instantiate(unit_env *env, const char *wasm_name, const waft_extern *imports,
                          uint32_t nimports)
{
    env->bytes = unit_read_wasm(wasm_name, &env->len);
    if (!env->bytes)
        return false;
    waft_error err;
    waft_result r = waft_module_new(env->engine, env->bytes, env->len, &env->module, &err);
    if (!CHECK_RESULT(r, WAFT_OK)) {
        fprintf(stderr, "    %s: %s\n", wasm_name, err.message);
        return false;
    }
    r = waft_instance_new(env->store, env->module, imports, nimports, &env->inst, &err);
    if (!CHECK_RESULT(r, WAFT_OK)) {
        fprintf(stderr, "    %s: %s\n", wasm_name, err.message);
        return false;
    }
    return true;
}

bool unit_env_open(unit_env *env, const char *wasm_name, const waft_config *config,
                   const waft_extern *imports, uint32_t nimports)
{
    if (!unit_env_open_store(env, config))
        return false;
    if (!unit_env_instantiate(env, wasm_name, imports, nimports)) {
        unit_env_close(env);
        return false;
    }
    return true;
}

void unit_env_close(unit_env *env)
{
    waft_store_free(env->store);
    waft_module_free(env->module);
    if (env->engine)
        CHECK_EQ(waft_engine_allocated(env->engine), env->baseline);
    waft_engine_free(env->engine);
    free(env->bytes);
    memset(env, 0, sizeof *env);
}

waft_extern unit_export(const unit_env *env, const char *name)
{
    waft_extern x = { WAFT_EXTERN_FUNC, 0 };
    waft_result r = waft_instance_export(env->inst, name, strlen(name), &x);
    if (!CHECK_RESULT(r, WAFT_OK))
        fprintf(stderr, "    missing export \"%s\"\n", name);
    return x;
}

waft_val unit_i32(uint32_t v)
{
    waft_val x;
    memset(&x, 0, sizeof x);
    x.type = WAFT_I32;
    x.of.i32 = v;
    return x;
}

waft_val unit_i64(uint64_t v)
{
    waft_val x;
    memset(&x, 0, sizeof x);
    x.type = WAFT_I64;
    x.of.i64 = v;
    return x;
}

waft_val unit_f32_bits(uint32_t bits)
{
    waft_val x;
    memset(&x, 0, sizeof x);
    x.type = WAFT_F32;
    x.of.f32_bits = bits;
    return x;
}

waft_val unit_f64_bits(uint64_t bits)
{
    waft_val x;
    memset(&x, 0, sizeof x);
    x.type = WAFT_F64;
    x.of.f64_bits = bits;
    return x;
}

/* ==== A minimal walk of the binary (independent of the library's decoder) ==== */

static bool read_leb(const uint8_t *bytes, size_t len, size_t *pos, uint32_t *out)
{
    uint32_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (*pos >= len)
            return false;
        uint8_t b = bytes[(*pos)++];
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

bool unit_func_body(const waft_module *module, const uint8_t *bytes, size_t len, uint32_t func,
                    uint32_t *out_start, uint32_t *out_end)
{
    uint32_t nimported = 0;
    for (uint32_t i = 0; i < waft_module_import_count(module); i++) {
        waft_import_desc d;
        waft_module_import(module, i, &d);
        nimported += d.kind == WAFT_EXTERN_FUNC;
    }
    if (func < nimported)
        return false;
    size_t pos = 8; /* magic, version */
    while (pos < len) {
        uint8_t id = bytes[pos++];
        uint32_t size;
        if (!read_leb(bytes, len, &pos, &size) || size > len - pos)
            return false;
        if (id != 10) {
            pos += size;
            continue;
        }
        uint32_t count;
        if (!read_leb(bytes, len, &pos, &count) || func - nimported >= count)
            return false;
        for (uint32_t i = 0;; i++) {
            uint32_t body;
            if (!read_leb(bytes, len, &pos, &body) || body > len - pos)
                return false;
            if (i == func - nimported) {
                *out_start = (uint32_t)pos;
                *out_end = (uint32_t)(pos + body);
                return true;
            }
            pos += body;
        }
    }
    return false;
}

/* ==== Main ==== */

typedef struct unit_test {
    const char *name;
    void (*fn)(void);
} unit_test;

static const unit_test tests[] = {
#define UNIT_ENTRY(name) { #name, test_##name },
    UNIT_TEST_LIST(UNIT_ENTRY)
#undef UNIT_ENTRY
};

typedef struct unit_known {
    const char *name;
    const char *why;
} unit_known;

static const unit_known known_failures[] = {
#define UNIT_KNOWN(name, why) { #name, why },
    UNIT_KNOWN_FAILURES(UNIT_KNOWN)
#undef UNIT_KNOWN
        { NULL, NULL } /* end; the list may be empty */
};

static const char *known_failure(const char *name)
{
    for (size_t i = 0; known_failures[i].name; i++)
        if (strcmp(known_failures[i].name, name) == 0)
            return known_failures[i].why;
    return NULL;
}

static bool selected(const char *name, int argc, char **argv)
{
    if (argc <= 2)
        return true;
    for (int i = 2; i < argc; i++)
        if (strstr(name, argv[i]))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: waft-unit WASM_DIR [NAME...]\n");
        return 2;
    }
    wasm_dir = argv[1];
    unsigned passed = 0, failed = 0, known = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        test_name = tests[i].name;
        test_failed = false;
        tests[i].fn();
        const char *why = known_failure(test_name);
        if (test_failed && why) {
            fprintf(stderr, "KNOWN FAILURE %s (%s)\n", test_name, why);
            known++;
        } else if (test_failed) {
            fprintf(stderr, "FAIL %s\n", test_name);
            failed++;
        } else if (why) {
            fprintf(stderr, "FAIL %s: passes now, take it off UNIT_KNOWN_FAILURES\n", test_name);
            failed++;
        } else {
            passed++;
        }
    }
    if (known)
        printf("known failures (not counted): %u\n", known);
    printf("unit: %u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
