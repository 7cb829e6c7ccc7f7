/* SPDX-License-Identifier: MIT */
/* value.c - command-line text <-> waft_val for `waft run --invoke`.
 *
 * Invariants: parsing never accepts a partial string (trailing junk is an error) and never
 * depends on the locale (the CLI does not call setlocale, so strtod reads '.' decimals).
 * Floats travel as raw bits, so a NaN payload given on the command line reaches the guest.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *cli_valtype_name(waft_valtype type)
{
    switch (type) {
    case WAFT_I32:
        return "i32";
    case WAFT_I64:
        return "i64";
    case WAFT_F32:
        return "f32";
    case WAFT_F64:
        return "f64";
    case WAFT_V128:
        return "v128";
    case WAFT_FUNCREF:
        return "funcref";
    case WAFT_EXTERNREF:
        return "externref";
    }
    return "?";
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses an unsigned decimal or 0x-hex magnitude (no sign) that must fill the whole string.
 * '_' may separate digits, as in the text format. */
static int parse_magnitude(const char *s, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;
    int ndigits = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (; *s != '\0'; s++) {
        int d;
        if (*s == '_' && ndigits > 0 && s[1] != '\0')
            continue;
        d = digit_value(*s);
        if (d < 0 || (unsigned)d >= base)
            return -1;
        if (v > (UINT64_MAX - (unsigned)d) / base)
            return -1; /* overflow of 64 bits */
        v = v * base + (unsigned)d;
        ndigits++;
    }
    if (ndigits == 0)
        return -1;
    *out = v;
    return 0;
}

/* An integer of `bits` (32 or 64) bits, accepted in the signed or the unsigned range. */
static int parse_int(const char *s, unsigned bits, uint64_t *out)
{
    const uint64_t max_unsigned = bits == 32 ? UINT32_MAX : UINT64_MAX;
    const uint64_t max_negative = (uint64_t)1 << (bits - 1);
    int negative = 0;
    uint64_t v;

    if (*s == '-' || *s == '+') {
        negative = *s == '-';
        s++;
    }
    if (parse_magnitude(s, &v) != 0)
        return -1;
    if (negative) {
        if (v > max_negative)
            return -1;
        v = (0 - v) & max_unsigned; /* two's complement, unsigned arithmetic wraps */
    } else if (v > max_unsigned) {
        return -1;
    }
    *out = v;
    return 0;
}

/* "[+-]nan:0xPAYLOAD": a NaN with the given payload (non-zero, fits the mantissa). */
static int parse_nan_payload(const char *s, unsigned mantissa_bits, uint64_t *out_bits)
{
    uint64_t sign = 0;
    uint64_t payload;
    const unsigned total_bits = mantissa_bits == 23 ? 32 : 64;
    const uint64_t exponent = (total_bits == 32 ? (uint64_t)0xff : (uint64_t)0x7ff)
                              << mantissa_bits;

    if (*s == '-' || *s == '+') {
        sign = *s == '-' ? (uint64_t)1 << (total_bits - 1) : 0;
        s++;
    }
    if (strncmp(s, "nan:0x", 6) != 0 && strncmp(s, "nan:0X", 6) != 0)
        return -1;
    if (parse_magnitude(s + 4, &payload) != 0)
        return -1;
    if (payload == 0 || payload >> mantissa_bits != 0)
        return -1;
    *out_bits = sign | exponent | payload;
    return 0;
}

int cli_parse_val(waft_valtype type, const char *text, waft_val *out)
{
    char *end = NULL;
    uint64_t bits;

    memset(out, 0, sizeof *out);
    out->type = type;
    switch (type) {
    case WAFT_I32:
        if (parse_int(text, 32, &bits) != 0)
            return -1;
        out->of.i32 = (uint32_t)bits;
        return 0;
    case WAFT_I64:
        if (parse_int(text, 64, &bits) != 0)
            return -1;
        out->of.i64 = bits;
        return 0;
    case WAFT_F32: {
        float f;
        if (parse_nan_payload(text, 23, &bits) == 0) {
            out->of.f32_bits = (uint32_t)bits;
            return 0;
        }
        f = strtof(text, &end); /* strtof, not strtod: a double rounding could differ */
        if (end == text || *end != '\0')
            return -1;
        memcpy(&out->of.f32_bits, &f, sizeof f);
        return 0;
    }
    case WAFT_F64: {
        double d;
        if (parse_nan_payload(text, 52, &bits) == 0) {
            out->of.f64_bits = bits;
            return 0;
        }
        d = strtod(text, &end);
        if (end == text || *end != '\0')
            return -1;
        memcpy(&out->of.f64_bits, &d, sizeof d);
        return 0;
    }
    case WAFT_FUNCREF:
        if (strcmp(text, "null") != 0)
            return -1;
        out->of.ref = WAFT_REF_NULL;
        return 0;
    case WAFT_EXTERNREF:
        if (strcmp(text, "null") == 0) {
            out->of.ref = WAFT_REF_NULL;
            return 0;
        }
        if (parse_magnitude(text, &bits) != 0 || bits == 0)
            return -1;
        out->of.ref = bits;
        return 0;
    case WAFT_V128:
        return -1; /* not accepted by the engine yet */
    }
    return -1;
}

/* Prints the `bits`-bit two's complement value v as signed decimal, without the
 * implementation-defined conversion of a large unsigned value to a signed type. */
static void put_signed(FILE *out, uint64_t v, unsigned bits)
{
    const uint64_t mask = bits == 32 ? UINT32_MAX : UINT64_MAX;

    if ((v >> (bits - 1)) & 1)
        fprintf(out, "-%" PRIu64 "\n", (0 - v) & mask);
    else
        fprintf(out, "%" PRIu64 "\n", v);
}

void cli_print_val(FILE *out, const waft_val *val)
{
    switch (val->type) {
    case WAFT_I32:
        put_signed(out, val->of.i32, 32);
        return;
    case WAFT_I64:
        put_signed(out, val->of.i64, 64);
        return;
    case WAFT_F32: {
        float f;
        memcpy(&f, &val->of.f32_bits, sizeof f);
        fprintf(out, "%.9g\n", (double)f);
        return;
    }
    case WAFT_F64: {
        double d;
        memcpy(&d, &val->of.f64_bits, sizeof d);
        fprintf(out, "%.17g\n", d);
        return;
    }
    case WAFT_FUNCREF:
    case WAFT_EXTERNREF:
        fputs(val->of.ref == WAFT_REF_NULL ? "null\n" : "ref\n", out);
        return;
    case WAFT_V128:
        break;
    }
    fprintf(out, "<%s value>\n", cli_valtype_name(val->type));
}
