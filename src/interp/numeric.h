/* SPDX-License-Identifier: MIT */
/* numeric.h - what WebAssembly's numeric instructions compute, as C: raw-bit conversions,
 * canonical NaNs, bit counts, shifts, rotations, min/max, division and truncation with
 * their traps. With semantics.def it is the one statement of these operations: the
 * interpreter (loop.inc) includes both, and the AOT tier copies both, as text, into every
 * C file it generates (src/aot/), so the tiers cannot compute different answers.
 *
 * Self-contained on purpose (C11, <stdint.h>, <string.h>, <math.h> only): generated code
 * includes no waft header.
 *
 * Invariants:
 *  - Values are raw bits in a uint64_t; i32 and f32 are zero-extended.
 *  - Float arithmetic results go through NUM_PUT_F32/NUM_PUT_F64 (one canonical NaN);
 *    moves, neg, abs, copysign and reinterpretations keep every bit.
 *  - The checked operations return a trap (NUM_TRAP_*, 0 = none) and leave their result
 *    untouched on a trap.
 */
#ifndef WAFT_NUMERIC_H
#define WAFT_NUMERIC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define NUM_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* An empty asm statement keeps the compiler from turning a rare branch into a select. */
#define NUM_NO_SELECT() __asm__ volatile("")
#else
#define NUM_UNLIKELY(x) (x)
#define NUM_NO_SELECT() ((void)0)
#endif

/* Traps of the checked operations; the same numbers as waft_trap_code (interp.c checks). */
#define NUM_TRAP_NONE           0
#define NUM_TRAP_INT_OVERFLOW   5
#define NUM_TRAP_DIV_ZERO       4
#define NUM_TRAP_BAD_CONVERSION 6

static inline float f32_of(uint64_t v)
{
    uint32_t b = (uint32_t)v;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline double f64_of(uint64_t v)
{
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static inline uint64_t bits_f32(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static inline uint64_t bits_f64(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

/* Results of float arithmetic. A NaN becomes the canonical one (positive, quiet, no
 * payload), because hosts disagree on the NaN they make: x86 gives the NaN of an invalid
 * operation (0/0, inf-inf, sqrt(-1)) the sign bit, Arm and s390x do not, and with two NaN
 * operands they may keep different payloads. With one answer on every host, a run moved to
 * another architecture goes on exactly as it would have where it started. The spec allows
 * it: the canonical NaN is an arithmetic NaN. Moves, loads, stores, neg, abs, copysign and
 * reinterpretations never come here: they keep every bit. */
#define CANON_F32 0x7fc00000u
#define CANON_F64 0x7ff8000000000000ull
/* Stores an arithmetic result into *slot. The NaN test is a branch (almost never taken)
 * rather than a select, so the result is stored without waiting for it: a select would put
 * the test on every dependency chain of float code. */
#define NUM_PUT_F32(slot, expr)       \
    do {                              \
        float r_ = (expr);            \
        *(slot) = bits_f32(r_);       \
        if (NUM_UNLIKELY(r_ != r_)) { \
            NUM_NO_SELECT();          \
            *(slot) = CANON_F32;      \
        }                             \
    } while (0)
#define NUM_PUT_F64(slot, expr)       \
    do {                              \
        double r_ = (expr);           \
        *(slot) = bits_f64(r_);       \
        if (NUM_UNLIKELY(r_ != r_)) { \
            NUM_NO_SELECT();          \
            *(slot) = CANON_F64;      \
        }                             \
    } while (0)

static inline uint32_t clz32(uint32_t x)
{
#if defined(__GNUC__)
    return x ? (uint32_t)__builtin_clz(x) : 32;
#else
    uint32_t n = 0;
    if (!x)
        return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

static inline uint32_t ctz32(uint32_t x)
{
#if defined(__GNUC__)
    return x ? (uint32_t)__builtin_ctz(x) : 32;
#else
    uint32_t n = 0;
    if (!x)
        return 32;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

static inline uint64_t clz64(uint64_t x)
{
#if defined(__GNUC__)
    return x ? (uint64_t)__builtin_clzll(x) : 64;
#else
    return (x >> 32) ? clz32((uint32_t)(x >> 32)) : 32 + clz32((uint32_t)x);
#endif
}

static inline uint64_t ctz64(uint64_t x)
{
#if defined(__GNUC__)
    return x ? (uint64_t)__builtin_ctzll(x) : 64;
#else
    return (uint32_t)x ? ctz32((uint32_t)x) : 32 + ctz32((uint32_t)(x >> 32));
#endif
}

static inline uint64_t popcnt64(uint64_t x)
{
#if defined(__GNUC__)
    return (uint64_t)__builtin_popcountll(x);
#else
    uint64_t n = 0;
    while (x) {
        x &= x - 1;
        n++;
    }
    return n;
#endif
}

/* Arithmetic shift right without relying on implementation-defined >> of negatives. */
static inline int32_t shr_s32(int32_t a, uint32_t n)
{
    return a < 0 ? ~(int32_t)(~(uint32_t)a >> n) : (int32_t)((uint32_t)a >> n);
}

static inline int64_t shr_s64(int64_t a, uint32_t n)
{
    return a < 0 ? ~(int64_t)(~(uint64_t)a >> n) : (int64_t)((uint64_t)a >> n);
}

static inline uint32_t rotl32(uint32_t a, uint32_t n)
{
    n &= 31;
    return n ? (a << n) | (a >> (32 - n)) : a;
}

static inline uint32_t rotr32(uint32_t a, uint32_t n)
{
    n &= 31;
    return n ? (a >> n) | (a << (32 - n)) : a;
}

static inline uint64_t rotl64(uint64_t a, uint64_t n)
{
    n &= 63;
    return n ? (a << n) | (a >> (64 - n)) : a;
}

static inline uint64_t rotr64(uint64_t a, uint64_t n)
{
    n &= 63;
    return n ? (a >> n) | (a << (64 - n)) : a;
}

/* fmin/fmax per spec 4.3.3: NaN in -> NaN out; -0 < +0. */
static inline float fmin32(float a, float b)
{
    if (a != a || b != b)
        return a + b;
    if (a == b)
        return f32_of(bits_f32(a) | bits_f32(b));
    return a < b ? a : b;
}

static inline float fmax32(float a, float b)
{
    if (a != a || b != b)
        return a + b;
    if (a == b)
        return f32_of(bits_f32(a) & bits_f32(b));
    return a > b ? a : b;
}

static inline double fmin64(double a, double b)
{
    if (a != a || b != b)
        return a + b;
    if (a == b)
        return f64_of(bits_f64(a) | bits_f64(b));
    return a < b ? a : b;
}

static inline double fmax64(double a, double b)
{
    if (a != a || b != b)
        return a + b;
    if (a == b)
        return f64_of(bits_f64(a) & bits_f64(b));
    return a > b ? a : b;
}

static inline float u64_to_f32(uint64_t a)
{
    return (float)a;
}

static inline double u64_to_f64(uint64_t a)
{
    return (double)a;
}

/* ==== Division and remainder (checked) ==== */

static inline int num_div_s32(uint64_t a, uint64_t b, uint64_t *r)
{
    int32_t x = (int32_t)(uint32_t)a, y = (int32_t)(uint32_t)b;
    if (NUM_UNLIKELY(y == 0))
        return NUM_TRAP_DIV_ZERO;
    if (NUM_UNLIKELY(x == INT32_MIN && y == -1))
        return NUM_TRAP_INT_OVERFLOW;
    *r = (uint32_t)(x / y);
    return NUM_TRAP_NONE;
}

static inline int num_div_u32(uint64_t a, uint64_t b, uint64_t *r)
{
    if (NUM_UNLIKELY((uint32_t)b == 0))
        return NUM_TRAP_DIV_ZERO;
    *r = (uint32_t)a / (uint32_t)b;
    return NUM_TRAP_NONE;
}

static inline int num_rem_s32(uint64_t a, uint64_t b, uint64_t *r)
{
    int32_t x = (int32_t)(uint32_t)a, y = (int32_t)(uint32_t)b;
    if (NUM_UNLIKELY(y == 0))
        return NUM_TRAP_DIV_ZERO;
    *r = y == -1 ? 0 : (uint32_t)(x % y);
    return NUM_TRAP_NONE;
}

static inline int num_rem_u32(uint64_t a, uint64_t b, uint64_t *r)
{
    if (NUM_UNLIKELY((uint32_t)b == 0))
        return NUM_TRAP_DIV_ZERO;
    *r = (uint32_t)a % (uint32_t)b;
    return NUM_TRAP_NONE;
}

static inline int num_div_s64(uint64_t a, uint64_t b, uint64_t *r)
{
    int64_t x = (int64_t)a, y = (int64_t)b;
    if (NUM_UNLIKELY(y == 0))
        return NUM_TRAP_DIV_ZERO;
    if (NUM_UNLIKELY(x == INT64_MIN && y == -1))
        return NUM_TRAP_INT_OVERFLOW;
    *r = (uint64_t)(x / y);
    return NUM_TRAP_NONE;
}

static inline int num_div_u64(uint64_t a, uint64_t b, uint64_t *r)
{
    if (NUM_UNLIKELY(b == 0))
        return NUM_TRAP_DIV_ZERO;
    *r = a / b;
    return NUM_TRAP_NONE;
}

static inline int num_rem_s64(uint64_t a, uint64_t b, uint64_t *r)
{
    int64_t x = (int64_t)a, y = (int64_t)b;
    if (NUM_UNLIKELY(y == 0))
        return NUM_TRAP_DIV_ZERO;
    *r = y == -1 ? 0 : (uint64_t)(x % y);
    return NUM_TRAP_NONE;
}

static inline int num_rem_u64(uint64_t a, uint64_t b, uint64_t *r)
{
    if (NUM_UNLIKELY(b == 0))
        return NUM_TRAP_DIV_ZERO;
    *r = a % b;
    return NUM_TRAP_NONE;
}

/* ==== Truncation to integers ==== */

/* What a truncation converts: NUM_TK_F32 (source f32, else f64), NUM_TK_64 (to i64, else
 * i32), NUM_TK_S (signed). */
#define NUM_TK_F32 1
#define NUM_TK_64  2
#define NUM_TK_S   4

/* The source as a double (exact for f32). */
static inline double num_trunc_source(int kind, uint64_t v)
{
    return (kind & NUM_TK_F32) ? (double)f32_of(v) : f64_of(v);
}

/* Valid iff lo < x < hi, with exact double bounds. */
static inline double num_trunc_lo(int kind)
{
    if (!(kind & NUM_TK_S))
        return -1.0;
    return (kind & NUM_TK_64) ? -9223372036854777856.0 /* next double below -2^63 */
                              : -2147483649.0;
}

static inline double num_trunc_hi(int kind)
{
    if (kind & NUM_TK_64)
        return (kind & NUM_TK_S) ? 9223372036854775808.0 : 18446744073709551616.0;
    return (kind & NUM_TK_S) ? 2147483648.0 : 4294967296.0;
}

static inline uint64_t num_trunc_value(int kind, double x)
{
    if (kind & NUM_TK_64)
        return (kind & NUM_TK_S) ? (uint64_t)(int64_t)x : (uint64_t)x;
    return (kind & NUM_TK_S) ? (uint32_t)(int32_t)x : (uint32_t)x;
}

/* iNN.trunc_fMM_x: the trap, or 0 with *r set. */
static inline int num_trunc(int kind, uint64_t v, uint64_t *r)
{
    double x = num_trunc_source(kind, v);
    if (x != x)
        return NUM_TRAP_BAD_CONVERSION;
    if (!(x > num_trunc_lo(kind) && x < num_trunc_hi(kind)))
        return NUM_TRAP_INT_OVERFLOW;
    *r = num_trunc_value(kind, x);
    return NUM_TRAP_NONE;
}

/* iNN.trunc_sat_fMM_x */
static inline uint64_t num_trunc_sat(int kind, uint64_t v)
{
    double x = num_trunc_source(kind, v);
    if (x != x)
        return 0;
    if (!(x > num_trunc_lo(kind))) {
        if (!(kind & NUM_TK_S))
            return 0;
        return (kind & NUM_TK_64) ? (uint64_t)INT64_MIN : (uint32_t)INT32_MIN;
    }
    if (!(x < num_trunc_hi(kind))) {
        if (kind & NUM_TK_64)
            return (kind & NUM_TK_S) ? (uint64_t)INT64_MAX : UINT64_MAX;
        return (kind & NUM_TK_S) ? (uint32_t)INT32_MAX : UINT32_MAX;
    }
    return num_trunc_value(kind, x);
}

#endif
