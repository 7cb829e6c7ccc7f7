/* SPDX-License-Identifier: MIT */
/* test_errors.c - decode and validation errors: malformed vs invalid, messages and offsets;
 * argument checks of the API gateway. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

/* A valid module, laid out by hand so that each test knows the offset of what it breaks:
 *
 *   offset  bytes                 meaning
 *    0      00 61 73 6d           magic
 *    4      01 00 00 00           version
 *    8      01 05                 type section, 5 bytes
 *   10      01 60 00 01 7f        1 type: [] -> [i32]
 *   15      03 02 01 00           function section: 1 function of type 0
 *   19      0a 06                 code section, 6 bytes
 *   21      01 04 00              1 body of 4 bytes, 0 local declarations
 *   24      41 2a                 i32.const 42
 *   26      0b                    end
 *   27      (end of module)
 */
static const uint8_t good_module[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
    0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b,
};

#define TYPE_SECTION_AT 8
#define TYPE_COUNT_AT   10
#define CODE_SECTION_AT 19
#define BODY_AT         23 /* the local-declarations count */
#define CONST_OP_AT     24
#define MODULE_END      27

/* Decodes `bytes` and checks that it fails with `want`, a message, and an offset in [lo, hi].
 * waft_module_decode_only must agree, except on faults inside function bodies, which only
 * the validator reads (validate.h): `in_body`. */
static void expect_error_at(const uint8_t *bytes, size_t len, waft_result want, int64_t lo,
                            int64_t hi, bool in_body)
{
    waft_engine *engine;
    REQUIRE_RESULT(waft_engine_new(NULL, &engine), WAFT_OK);
    size_t baseline = waft_engine_allocated(engine);

    waft_module *module = (waft_module *)&module; /* must be set to NULL on failure */
    waft_error err;
    memset(&err, 0x55, sizeof err);
    CHECK_RESULT(waft_module_new(engine, bytes, len, &module, &err), want);
    CHECK(module == NULL);
    CHECK_RESULT(err.code, want);
    CHECK(err.message[0] != '\0');
    CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
    CHECK(err.offset >= lo);
    CHECK(err.offset <= hi);
    if (err.offset < lo || err.offset > hi)
        fprintf(stderr, "    offset %lld outside [%lld, %lld]: %s\n", (long long)err.offset,
                (long long)lo, (long long)hi, err.message);

    waft_error err2;
    memset(&err2, 0x55, sizeof err2);
    waft_result r2 = waft_module_decode_only(engine, bytes, len, &err2);
    if (in_body) {
        CHECK(r2 == WAFT_OK || r2 == want);
    } else if (want == WAFT_ERR_MALFORMED) {
        CHECK_RESULT(r2, WAFT_ERR_MALFORMED);
        CHECK_EQ(err2.offset, err.offset);
        CHECK(strcmp(err2.message, err.message) == 0);
    } else {
        CHECK_RESULT(r2, WAFT_OK); /* it decodes; only validation rejects it */
    }

    CHECK_EQ(waft_engine_allocated(engine), baseline);
    waft_engine_free(engine);
}

static void expect_error(const uint8_t *bytes, size_t len, waft_result want, int64_t lo, int64_t hi)
{
    expect_error_at(bytes, len, want, lo, hi, false);
}

void test_errors_bad_magic(void)
{
    uint8_t m[sizeof good_module];

    /* the unbroken module is accepted (so the failures below are due to the edits) */
    waft_engine *engine;
    REQUIRE_RESULT(waft_engine_new(NULL, &engine), WAFT_OK);
    waft_module *module = NULL;
    CHECK_RESULT(waft_module_new(engine, good_module, sizeof good_module, &module, NULL), WAFT_OK);
    waft_module_free(module);
    waft_engine_free(engine);

    memcpy(m, good_module, sizeof m);
    m[1] = 'A'; /* "\0Asm" */
    expect_error(m, sizeof m, WAFT_ERR_MALFORMED, 0, 3);

    memcpy(m, good_module, sizeof m);
    m[4] = 2; /* version 2 */
    expect_error(m, sizeof m, WAFT_ERR_MALFORMED, 4, 7);

    expect_error(good_module, 3, WAFT_ERR_MALFORMED, 0, 3); /* cut inside the magic */
    expect_error(good_module, 0, WAFT_ERR_MALFORMED, 0, 0); /* empty input */
}

void test_errors_truncated_section(void)
{
    /* cut the module in the middle of the type section's contents */
    expect_error(good_module, 13, WAFT_ERR_MALFORMED, TYPE_SECTION_AT, 13);

    /* cut in the middle of the code section's body */
    expect_error(good_module, 25, WAFT_ERR_MALFORMED, CODE_SECTION_AT, 25);

    /* a section size larger than what is left */
    uint8_t m[sizeof good_module];
    memcpy(m, good_module, sizeof m);
    m[CODE_SECTION_AT + 1] = 0x07; /* code section claims 7 bytes, 6 are left */
    expect_error(m, sizeof m, WAFT_ERR_MALFORMED, CODE_SECTION_AT, MODULE_END);

    /* a section size smaller than its contents: the body runs past the section end */
    memcpy(m, good_module, sizeof m);
    m[TYPE_SECTION_AT + 1] = 0x04; /* type section claims 4 bytes, its type needs 5 */
    expect_error(m, sizeof m, WAFT_ERR_MALFORMED, TYPE_SECTION_AT, TYPE_SECTION_AT + 2 + 5);
}

void test_errors_bad_leb(void)
{
    /* the type count as a 6-byte LEB128 (u32 allows at most 5 bytes) */
    static const uint8_t too_long[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* header */
        0x01, 0x0a,                                     /* type section, 10 bytes */
        0x81, 0x80, 0x80, 0x80, 0x80, 0x00,             /* count 1, overlong */
        0x60, 0x00, 0x01, 0x7f,
    };
    expect_error(too_long, sizeof too_long, WAFT_ERR_MALFORMED, 10, 16);

    /* 5th byte of a u32 with bits above bit 31 set */
    static const uint8_t too_big[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* header */
        0x01, 0x09,                                     /* type section, 9 bytes */
        0x81, 0x80, 0x80, 0x80, 0x70,                   /* count 1 | unused bits set */
        0x60, 0x00, 0x01, 0x7f,
    };
    expect_error(too_big, sizeof too_big, WAFT_ERR_MALFORMED, 10, 15);

    /* a LEB whose continuation bit runs off the end of its section */
    static const uint8_t unterminated[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* header */
        0x01, 0x02,                                     /* type section, 2 bytes */
        0x81, 0x80,                                     /* count, unterminated */
        0x03, 0x02, 0x01, 0x00,                         /* a function section after it */
    };
    expect_error(unterminated, sizeof unterminated, WAFT_ERR_MALFORMED, 10, 12);

    /* an overlong LEB inside a function body (i32.const immediate) */
    static const uint8_t in_body[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00,
        0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x0b, 0x01, 0x09, 0x00, 0x41, /* 24 */
        0x80, 0x80, 0x80, 0x80, 0x80, 0x00,                                     /* 25..30 */
        0x0b,
    };
    expect_error_at(in_body, sizeof in_body, WAFT_ERR_MALFORMED, 24, 31, true);
}

void test_errors_type_mismatch(void)
{
    uint8_t m[sizeof good_module];

    /* i64.const 42 where the function returns i32 */
    memcpy(m, good_module, sizeof m);
    m[CONST_OP_AT] = 0x42;
    expect_error(m, sizeof m, WAFT_ERR_INVALID, BODY_AT, MODULE_END - 1);

    /* the error names the function */
    waft_engine *engine;
    REQUIRE_RESULT(waft_engine_new(NULL, &engine), WAFT_OK);
    waft_module *module = NULL;
    waft_error err;
    CHECK_RESULT(waft_module_new(engine, m, sizeof m, &module, &err), WAFT_ERR_INVALID);
    CHECK_EQ(err.func, 0);
    waft_engine_free(engine);

    /* i32.add with one operand: operand stack underflow */
    static const uint8_t underflow[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00,
        0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x07, 0x01, 0x05, 0x00, 0x41, 0x01, /* 24 */
        0x6a,                                                                         /* 26 add */
        0x0b,
    };
    expect_error(underflow, sizeof underflow, WAFT_ERR_INVALID, 26, 27);
}

void test_errors_module_level_offset(void)
{
    /* a function type index out of range is invalid, not malformed; the offset points into
     * the function section, where the index is */
    uint8_t m[sizeof good_module];
    memcpy(m, good_module, sizeof m);
    m[18] = 0x01; /* function 0 has type 1; there is one type */
    expect_error(m, sizeof m, WAFT_ERR_INVALID, 15, 19);

    /* an export of a function that does not exist: the offset is in the export section */
    static const uint8_t bad_export[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* header */
        0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x03,       /* 8: export "f" = function 3 */
    };
    expect_error(bad_export, sizeof bad_export, WAFT_ERR_INVALID, 8, 15);
}

void test_errors_api_arguments(void)
{
    waft_engine *engine;
    REQUIRE_RESULT(waft_engine_new(NULL, &engine), WAFT_OK);
    waft_module *module = NULL;
    CHECK_RESULT(waft_module_new(NULL, good_module, sizeof good_module, &module, NULL),
                 WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_module_new(engine, NULL, 5, &module, NULL), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_module_new(engine, good_module, sizeof good_module, NULL, NULL),
                 WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_engine_new(NULL, NULL), WAFT_ERR_INVALID_ARG);
    CHECK_RESULT(waft_store_new(engine, NULL), WAFT_ERR_INVALID_ARG);
    CHECK(strcmp(waft_result_str(WAFT_ERR_MALFORMED), "malformed module") == 0);
    CHECK(waft_result_str((waft_result)1000) != NULL);
    CHECK(waft_trap_str((waft_trap_code)1000) != NULL);
    waft_engine_free(engine);
}
