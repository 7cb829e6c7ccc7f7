/* SPDX-License-Identifier: MIT */
/* fuzz_diff.c - differential check of the three ways waft runs code: the fast loop (fused
 * internal code), the counting loop (fuel on), and the counting loop stopped every k
 * instructions, saved to an image, restored into a fresh store and resumed.
 *
 *   make fuzz-diff FUZZ_TIME=60     libFuzzer target (clang, ASan+UBSan)
 *   make diff                        waft-diff: DIFF_SEEDS generated inputs, in make check
 *   build/waft-diff [N [FIRST]]      seeds FIRST..FIRST+N-1; a failure writes the module
 *                                    to diff-failed.wasm in the current directory
 *
 * The input bytes are not a module: they are the choices of a generator that always builds
 * a valid one (generate() below): a few functions whose bodies are random typed expression
 * trees over every MVP numeric operation plus sign extension and saturating conversions,
 * with locals, globals, loads and stores, select, if/else, br_if out of blocks, counted
 * loops and calls to earlier functions, and constants chosen among the edge cases (NaNs
 * with payloads, infinities, -0, INT_MIN, values at the edges of every conversion). Each
 * exported function is then called in each of the three modes, in a fresh instance each
 * time, and these must agree bit for bit: how the call ends (results, or which trap at
 * which code offset), the results' raw bits, the memory's size and contents, every global,
 * and the number of instructions counted (the counting and the stopped runs). Every other
 * checkpoint is compressed when the build has zstd.
 *
 * Invariants: the generator's output always validates (a module that does not is a failure
 * of this file, reported as such); the work of one input is bounded (loops run at most 15
 * times, calls only go to earlier functions, the counting run has a fuel cap and a
 * function over it is skipped in every mode).
 */
#include <waft/waft.h>
#include <waft/waft_snapshot.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FUNCS    4
#define MAX_PARAMS   3
#define MAX_LOCALS   4   /* declared locals beside the parameters and the loop counters */
#define MAX_LOOPS    2   /* loop nesting; each level has its own counter local */
#define MAX_DEPTH    6   /* expression depth */
#define MAX_NODES    120 /* expressions per function */
#define FUEL_CAP     2000000u
#define MAX_RESTORES 60 /* checkpoints per stopped run: the stride grows to fit */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ==== Choices and output bytes ==== */

typedef struct choices {
    const uint8_t *p;
    size_t n, i;
} choices;

/* A choice in [0, n); an exhausted input gives 0 (the generator's 0 is always a leaf). */
static unsigned pick(choices *c, unsigned n)
{
    unsigned v;

    if (n <= 1 || c->i >= c->n)
        return 0;
    v = c->p[c->i++];
    if (n > 256 && c->i < c->n)
        v = v << 8 | c->p[c->i++];
    return v % n;
}

static uint64_t pick64(choices *c)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | pick(c, 256);
    return v;
}

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, uint8_t v)
{
    if (b->len == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL)
            abort();
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = v;
}

static void put_bytes(bytes *b, const void *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(b, ((const uint8_t *)src)[i]);
}

static void put_uleb(bytes *b, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        put(b, (uint8_t)(byte | (v ? 0x80 : 0)));
    } while (v);
}

static void put_sleb(bytes *b, int64_t v)
{
    for (;;) {
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7; /* arithmetic shift: implementation-defined, but every compiler we use */
        if ((v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40))) {
            put(b, byte);
            return;
        }
        put(b, byte | 0x80);
    }
}

static void put_le(bytes *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        put(b, (uint8_t)(v >> (8 * i)));
}

/* A section: id, then the size of `body`, then body. */
static void put_section(bytes *out, uint8_t id, const bytes *body)
{
    put(out, id);
    put_uleb(out, body->len);
    put_bytes(out, body->p, body->len);
}

/* ==== Generator ==== */

enum {
    T_I32 = 0x7f,
    T_I64 = 0x7e,
    T_F32 = 0x7d,
    T_F64 = 0x7c
};
static const uint8_t all_types[4] = { T_I32, T_I64, T_F32, T_F64 };

/* Edge-case constants, as raw bits. */
static const uint32_t k32[] = { 0,  1,  0xffffffff, 0x80000000, 0x7fffffff, 2,
                                31, 32, 0xff,       0x8000,     0xfffe,     100 };
static const uint32_t kf32[] = { 0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000,
                                 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001, 0xffc00000,
                                 0x7f7fffff, 0x00000001, 0x4f000000, 0xcf000000, 0x4f800000,
                                 0x3fc00000, 0x40200000, 0x5f000000 };
static const uint64_t k64[] = { 0,
                                1,
                                UINT64_MAX,
                                0x8000000000000000ull,
                                0x7fffffffffffffffull,
                                0xffffffffull,
                                0x100000000ull,
                                63,
                                64,
                                0x80000000ull };
static const uint64_t kf64[] = { 0,
                                 0x8000000000000000ull,
                                 0x3ff0000000000000ull,
                                 0xbff0000000000000ull,
                                 0x3fe0000000000000ull,
                                 0x7ff0000000000000ull,
                                 0xfff0000000000000ull,
                                 0x7ff8000000000000ull,
                                 0x7ff4000000000001ull,
                                 0xfff8000000000000ull,
                                 0x7fefffffffffffffull,
                                 0x0000000000000001ull,
                                 0x41e0000000000000ull,
                                 0xc1e0000000000000ull,
                                 0x41f0000000000000ull,
                                 0x43e0000000000000ull,
                                 0x43f0000000000000ull,
                                 0x3ff8000000000000ull,
                                 0x4004000000000000ull };
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Operations by result type: binary (same operand type), unary (same), comparisons (to
 * i32, operand type given), conversions (from a given type). */
static const uint8_t bin_i32[] = { 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71,
                                   0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78 };
static const uint8_t bin_i64[] = { 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83,
                                   0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a };
static const uint8_t bin_f32[] = { 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98 };
static const uint8_t bin_f64[] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6 };
static const uint8_t un_i32[] = { 0x67, 0x68, 0x69, 0x45, 0xc0, 0xc1 };
static const uint8_t un_i64[] = { 0x79, 0x7a, 0x7b, 0xc2, 0xc3, 0xc4 };
static const uint8_t un_f32[] = { 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91 };
static const uint8_t un_f64[] = { 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f };

typedef struct conv {
    uint8_t to, from;
    uint8_t op;  /* the opcode, or 0xfc for the saturating ones */
    uint8_t sub; /* the 0xfc sub-opcode */
} conv;
static const conv convs[] = {
    { T_I32, T_I64, 0xa7, 0 }, { T_I32, T_F32, 0xa8, 0 }, { T_I32, T_F32, 0xa9, 0 },
    { T_I32, T_F64, 0xaa, 0 }, { T_I32, T_F64, 0xab, 0 }, { T_I32, T_F32, 0xbc, 0 },
    { T_I32, T_F32, 0xfc, 0 }, { T_I32, T_F32, 0xfc, 1 }, { T_I32, T_F64, 0xfc, 2 },
    { T_I32, T_F64, 0xfc, 3 }, { T_I64, T_I32, 0xac, 0 }, { T_I64, T_I32, 0xad, 0 },
    { T_I64, T_F32, 0xae, 0 }, { T_I64, T_F32, 0xaf, 0 }, { T_I64, T_F64, 0xb0, 0 },
    { T_I64, T_F64, 0xb1, 0 }, { T_I64, T_F64, 0xbd, 0 }, { T_I64, T_F32, 0xfc, 4 },
    { T_I64, T_F32, 0xfc, 5 }, { T_I64, T_F64, 0xfc, 6 }, { T_I64, T_F64, 0xfc, 7 },
    { T_F32, T_I32, 0xb2, 0 }, { T_F32, T_I32, 0xb3, 0 }, { T_F32, T_I64, 0xb4, 0 },
    { T_F32, T_I64, 0xb5, 0 }, { T_F32, T_F64, 0xb6, 0 }, { T_F32, T_I32, 0xbe, 0 },
    { T_F64, T_I32, 0xb7, 0 }, { T_F64, T_I32, 0xb8, 0 }, { T_F64, T_I64, 0xb9, 0 },
    { T_F64, T_I64, 0xba, 0 }, { T_F64, T_F32, 0xbb, 0 }, { T_F64, T_I64, 0xbf, 0 },
};

typedef struct loadop {
    uint8_t type, op, size;
} loadop;
static const loadop loads[] = {
    { T_I32, 0x28, 4 }, { T_I64, 0x29, 8 }, { T_F32, 0x2a, 4 }, { T_F64, 0x2b, 8 },
    { T_I32, 0x2c, 1 }, { T_I32, 0x2d, 1 }, { T_I32, 0x2e, 2 }, { T_I32, 0x2f, 2 },
    { T_I64, 0x30, 1 }, { T_I64, 0x31, 1 }, { T_I64, 0x32, 2 }, { T_I64, 0x33, 2 },
    { T_I64, 0x34, 4 }, { T_I64, 0x35, 4 },
};
static const loadop stores[] = {
    { T_I32, 0x36, 4 }, { T_I64, 0x37, 8 }, { T_F32, 0x38, 4 },
    { T_F64, 0x39, 8 }, { T_I32, 0x3a, 1 }, { T_I32, 0x3b, 2 },
    { T_I64, 0x3c, 1 }, { T_I64, 0x3d, 2 }, { T_I64, 0x3e, 4 },
};

typedef struct func_sig {
    uint32_t nparams;
    uint8_t params[MAX_PARAMS];
    uint8_t result;
} func_sig;

typedef struct gen {
    choices *c;
    bytes *code;
    func_sig sigs[MAX_FUNCS];
    uint32_t nfuncs;
    /* the function being generated */
    uint32_t self;
    uint8_t local_types[MAX_PARAMS + MAX_LOCALS];
    uint32_t nlocals;  /* parameters and declared value locals */
    uint32_t counters; /* index of the first loop counter local */
    uint32_t loops;    /* loops open around the current point */
    uint32_t nodes;
} gen;

static void gen_expr(gen *g, uint8_t type, int depth);

/* A constant of `type` as raw bits: an edge case three times in four. */
static uint64_t pick_value(choices *c, uint8_t type)
{
    int edge = pick(c, 4) != 0;

    switch (type) {
    case T_I32:
        return edge ? k32[pick(c, COUNT(k32))] : (uint32_t)pick64(c);
    case T_I64:
        return edge ? k64[pick(c, COUNT(k64))] : pick64(c);
    case T_F32:
        return edge ? kf32[pick(c, COUNT(kf32))] : (uint32_t)pick64(c);
    default:
        return edge ? kf64[pick(c, COUNT(kf64))] : pick64(c);
    }
}

static void gen_const(gen *g, uint8_t type)
{
    uint64_t v = pick_value(g->c, type);

    switch (type) {
    case T_I32:
        put(g->code, 0x41);
        put_sleb(g->code, (int32_t)(uint32_t)v);
        break;
    case T_I64:
        put(g->code, 0x42);
        put_sleb(g->code, (int64_t)v);
        break;
    case T_F32:
        put(g->code, 0x43);
        put_le(g->code, v, 4);
        break;
    default:
        put(g->code, 0x44);
        put_le(g->code, v, 8);
        break;
    }
}

/* A local of `type` chosen at random, or -1 if there is none. */
static int pick_local(gen *g, uint8_t type)
{
    uint32_t found[MAX_PARAMS + MAX_LOCALS], n = 0;

    for (uint32_t i = 0; i < g->nlocals; i++)
        if (g->local_types[i] == type)
            found[n++] = i;
    return n ? (int)found[pick(g->c, n)] : -1;
}

static int type_index(uint8_t type)
{
    for (int i = 0; i < 4; i++)
        if (all_types[i] == type)
            return i;
    abort();
}

static uint8_t pick_type(gen *g)
{
    return all_types[pick(g->c, 4)];
}

/* An i32 address: usually small and in bounds, sometimes at the edge or beyond. */
static void gen_address(gen *g, int depth)
{
    gen_expr(g, T_I32, depth);
    put(g->code, 0x41);
    put_sleb(g->code, pick(g->c, 8) ? 0x7f : 0x1ffff); /* the mask */
    put(g->code, 0x71);                                /* i32.and */
}

static void gen_memarg(gen *g, unsigned size)
{
    unsigned align = 0;
    while ((1u << (align + 1)) <= size && pick(g->c, 2))
        align++;
    put_uleb(g->code, align);
    put_uleb(g->code, pick(g->c, 4) ? pick(g->c, 16) : 65530);
}

static void put_local(gen *g, uint8_t op, int local)
{
    put(g->code, op);
    put_uleb(g->code, (uint32_t)local);
}

static uint8_t pick_binop(gen *g, uint8_t type)
{
    switch (type) {
    case T_I32:
        return bin_i32[pick(g->c, COUNT(bin_i32))];
    case T_I64:
        return bin_i64[pick(g->c, COUNT(bin_i64))];
    case T_F32:
        return bin_f32[pick(g->c, COUNT(bin_f32))];
    default:
        return bin_f64[pick(g->c, COUNT(bin_f64))];
    }
}

/* An i32 condition: often a comparison of a local with a local or a constant, the shapes
 * the fast loop fuses with the br_if that follows. */
static void gen_condition(gen *g, int depth)
{
    int a = pick_local(g, T_I32), b = pick_local(g, T_I32);

    if (a < 0 || pick(g->c, 3) == 0) {
        gen_expr(g, T_I32, depth);
        return;
    }
    put_local(g, 0x20, a);
    switch (pick(g->c, 3)) {
    case 0:
        put(g->code, 0x45); /* i32.eqz */
        return;
    case 1:
        if (b >= 0) {
            put_local(g, 0x20, b);
            break;
        }
        /* fall through */
    default:
        gen_const(g, T_I32);
        break;
    }
    put(g->code, (uint8_t)(0x46 + pick(g->c, 10)));
}

/* Expressions in the shapes that fuse.c turns into fused instructions: the fused handlers
 * restate each operation's semantics, so they are where the loops can drift apart. */
static void gen_shape(gen *g, uint8_t type, int depth)
{
    int a = pick_local(g, type), b = pick_local(g, type);

    switch (pick(g->c, 4)) {
    case 0:
        if (type == T_F32 || type == T_F64) {
            /* a + b*c: the fused multiply-add */
            gen_expr(g, type, depth);
            gen_expr(g, type, depth);
            gen_expr(g, type, depth);
            put(g->code, type == T_F32 ? 0x94 : 0xa2);
            put(g->code, type == T_F32 ? 0x92 : 0xa0);
            return;
        }
        /* fall through */
    case 1:
        if (a >= 0) {
            /* local op local, local op constant */
            put_local(g, 0x20, a);
            if (b >= 0 && pick(g->c, 2))
                put_local(g, 0x20, b);
            else
                gen_const(g, type);
            put(g->code, pick_binop(g, type));
            return;
        }
        break;
    case 2:
        if (a >= 0) {
            /* tee then get of the same local */
            gen_expr(g, type, depth);
            put_local(g, 0x22, a);
            put_local(g, 0x20, a);
            put(g->code, pick_binop(g, type));
            return;
        }
        break;
    default: {
        /* a load from an address in a local */
        int addr = pick_local(g, T_I32);
        const loadop *matching[COUNT(loads)];
        unsigned n = 0;
        if (addr < 0)
            break;
        for (size_t i = 0; i < COUNT(loads); i++)
            if (loads[i].type == type)
                matching[n++] = &loads[i];
        const loadop *l = matching[pick(g->c, n)];
        put_local(g, 0x20, addr);
        put(g->code, l->op);
        gen_memarg(g, l->size);
        return;
    }
    }
    gen_expr(g, type, depth);
}

/* A statement: leaves the operand stack as it was. */
static void gen_stmt(gen *g, int depth)
{
    uint8_t type = pick_type(g);
    int local;

    switch (pick(g->c, 6)) {
    case 5:
        /* local.set from a local, a constant, or local + constant */
        local = pick_local(g, type);
        if (local >= 0) {
            int from = pick_local(g, type);
            switch (pick(g->c, 3)) {
            case 0:
                put_local(g, 0x20, from);
                break;
            case 1:
                gen_const(g, type);
                break;
            default:
                put_local(g, 0x20, from);
                gen_const(g, type);
                put(g->code, type == T_I32 ? 0x6a : pick_binop(g, type));
                break;
            }
            put_local(g, 0x21, local);
            break;
        }
        /* fall through */
    case 0:
        local = pick_local(g, type);
        if (local >= 0) {
            gen_expr(g, type, depth);
            put(g->code, 0x21);
            put_uleb(g->code, (uint32_t)local);
            break;
        }
        /* fall through */
    case 1: {
        const loadop *s = &stores[pick(g->c, COUNT(stores))];
        int addr = pick_local(g, T_I32), value = pick_local(g, s->type);
        if (addr >= 0 && value >= 0 && pick(g->c, 2)) {
            put_local(g, 0x20, addr); /* local address, local value: fused */
            put_local(g, 0x20, value);
        } else {
            gen_address(g, depth);
            gen_expr(g, s->type, depth);
        }
        put(g->code, s->op);
        gen_memarg(g, s->size);
        break;
    }
    case 2:
        gen_expr(g, type, depth);
        put(g->code, 0x24); /* global.set: global i holds all_types[i] */
        put_uleb(g->code, (uint32_t)type_index(type));
        break;
    case 3:
        gen_expr(g, type, depth);
        put(g->code, 0x1a); /* drop */
        break;
    default:
        /* memory.fill: a few bytes within the page, or past it (a trap) */
        put(g->code, 0x41);
        put_sleb(g->code, pick(g->c, 4) ? pick(g->c, 256) : 65530);
        gen_expr(g, T_I32, depth);
        put(g->code, 0x41);
        put_sleb(g->code, pick(g->c, 16));
        put(g->code, 0xfc);
        put_uleb(g->code, 11);
        put(g->code, 0);
        break;
    }
}

/* An expression of `type`: pushes exactly one value of it. */
static void gen_expr(gen *g, uint8_t type, int depth)
{
    unsigned what;
    int local;

    g->nodes++;
    what = (depth <= 0 || g->nodes > MAX_NODES) ? pick(g->c, 2) : pick(g->c, 20);
    if (what >= 18) {
        gen_shape(g, type, depth - 1);
        return;
    }
    if (what >= 16)
        what = 3; /* binary operations are the commonest code */
    switch (what) {
    case 0:
        gen_const(g, type);
        return;
    case 1:
    case 2:
        local = pick_local(g, type);
        if (local < 0) {
            put(g->code, 0x23); /* global.get */
            put_uleb(g->code, (uint32_t)type_index(type));
            return;
        }
        put(g->code, 0x20);
        put_uleb(g->code, (uint32_t)local);
        return;
    case 3:
    case 4:
        gen_expr(g, type, depth - 1);
        gen_expr(g, type, depth - 1);
        put(g->code, pick_binop(g, type));
        return;
    case 5: {
        const uint8_t *ops = type == T_I32   ? un_i32
                             : type == T_I64 ? un_i64
                             : type == T_F32 ? un_f32
                                             : un_f64;
        gen_expr(g, type, depth - 1);
        put(g->code, ops[pick(g->c, 6)]);
        return;
    }
    case 6:
        if (type == T_I32) {
            /* a comparison of two values of any type */
            uint8_t t = pick_type(g);
            static const uint8_t first[4] = { 0x46, 0x51, 0x5b, 0x61 };
            static const uint8_t count[4] = { 10, 10, 6, 6 };
            int ti = type_index(t);
            gen_expr(g, t, depth - 1);
            if (t == T_I64 && pick(g->c, 8) == 0) {
                put(g->code, 0x50); /* i64.eqz */
                return;
            }
            gen_expr(g, t, depth - 1);
            put(g->code, (uint8_t)(first[ti] + pick(g->c, count[ti])));
            return;
        }
        /* fall through */
    case 7: {
        const conv *matching[COUNT(convs)], *cv;
        unsigned n = 0;
        for (size_t i = 0; i < COUNT(convs); i++)
            if (convs[i].to == type)
                matching[n++] = &convs[i];
        cv = matching[pick(g->c, n)];
        gen_expr(g, cv->from, depth - 1);
        put(g->code, cv->op);
        if (cv->op == 0xfc)
            put_uleb(g->code, cv->sub);
        return;
    }
    case 8:
        gen_expr(g, type, depth - 1);
        gen_expr(g, type, depth - 1);
        gen_expr(g, T_I32, depth - 1);
        put(g->code, 0x1b); /* select */
        return;
    case 9:
        gen_condition(g, depth - 1);
        put(g->code, 0x04);
        put(g->code, type);
        gen_expr(g, type, depth - 1);
        put(g->code, 0x05);
        gen_expr(g, type, depth - 1);
        put(g->code, 0x0b);
        return;
    case 10: {
        const loadop *matching[COUNT(loads)], *l;
        unsigned n = 0;
        for (size_t i = 0; i < COUNT(loads); i++)
            if (loads[i].type == type)
                matching[n++] = &loads[i];
        l = matching[pick(g->c, n)];
        gen_address(g, depth - 1);
        put(g->code, l->op);
        gen_memarg(g, l->size);
        return;
    }
    case 11:
        local = pick_local(g, type);
        if (local >= 0) {
            gen_expr(g, type, depth - 1);
            put(g->code, 0x22); /* local.tee */
            put_uleb(g->code, (uint32_t)local);
            return;
        }
        gen_const(g, type);
        return;
    case 12:
        /* block (result T): a value, maybe taken out by br_if, else dropped for another */
        put(g->code, 0x02);
        put(g->code, type);
        gen_expr(g, type, depth - 1);
        gen_condition(g, depth - 1);
        put(g->code, 0x0d);
        put_uleb(g->code, 0);
        put(g->code, 0x1a);
        gen_expr(g, type, depth - 1);
        put(g->code, 0x0b);
        return;
    case 13:
        if (g->loops < MAX_LOOPS) {
            /* counter = 0; loop { statements; br_if (++counter < K) }; then a value */
            uint32_t counter = g->counters + g->loops;
            unsigned n = 1 + pick(g->c, 3);
            put(g->code, 0x41);
            put_sleb(g->code, 0);
            put(g->code, 0x21);
            put_uleb(g->code, counter);
            put(g->code, 0x03);
            put(g->code, 0x40);
            g->loops++;
            for (unsigned i = 0; i < n; i++)
                gen_stmt(g, depth - 1);
            g->loops--;
            put(g->code, 0x20);
            put_uleb(g->code, counter);
            put(g->code, 0x41);
            put_sleb(g->code, 1);
            put(g->code, 0x6a);
            put(g->code, 0x22);
            put_uleb(g->code, counter);
            put(g->code, 0x41);
            put_sleb(g->code, 1 + pick(g->c, 15));
            put(g->code, 0x49); /* i32.lt_u */
            put(g->code, 0x0d);
            put_uleb(g->code, 0);
            put(g->code, 0x0b);
        }
        gen_expr(g, type, depth - 1);
        return;
    case 14:
        /* a call to an earlier function with this result type (not inside a loop, so the
         * work stays bounded) */
        if (g->loops == 0) {
            for (uint32_t f = 0; f < g->self; f++) {
                if (g->sigs[f].result == type && pick(g->c, 2) == 0) {
                    for (uint32_t i = 0; i < g->sigs[f].nparams; i++)
                        gen_expr(g, g->sigs[f].params[i], depth - 1);
                    put(g->code, 0x10);
                    put_uleb(g->code, f);
                    return;
                }
            }
        }
        gen_const(g, type);
        return;
    default:
        gen_stmt(g, depth - 1);
        gen_expr(g, type, depth - 1);
        return;
    }
}

/* Builds a valid module from the choices into *out. */
static void generate(choices *c, bytes *out)
{
    static const uint8_t header[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
    bytes sec = { 0 }, body = { 0 };
    gen g;

    memset(&g, 0, sizeof g);
    g.c = c;
    g.nfuncs = 1 + pick(c, MAX_FUNCS);
    for (uint32_t f = 0; f < g.nfuncs; f++) {
        g.sigs[f].nparams = pick(c, MAX_PARAMS + 1);
        for (uint32_t i = 0; i < g.sigs[f].nparams; i++)
            g.sigs[f].params[i] = pick_type(&g);
        g.sigs[f].result = pick_type(&g);
    }
    put_bytes(out, header, sizeof header);

    /* types: one per function */
    put_uleb(&sec, g.nfuncs);
    for (uint32_t f = 0; f < g.nfuncs; f++) {
        put(&sec, 0x60);
        put_uleb(&sec, g.sigs[f].nparams);
        put_bytes(&sec, g.sigs[f].params, g.sigs[f].nparams);
        put_uleb(&sec, 1);
        put(&sec, g.sigs[f].result);
    }
    put_section(out, 1, &sec);
    sec.len = 0;
    put_uleb(&sec, g.nfuncs);
    for (uint32_t f = 0; f < g.nfuncs; f++)
        put_uleb(&sec, f);
    put_section(out, 3, &sec);
    /* memory: 1 page, at most 2 */
    sec.len = 0;
    put_bytes(&sec, "\x01\x01\x01\x02", 4);
    put_section(out, 5, &sec);
    /* globals: one mutable global of each type */
    sec.len = 0;
    put_uleb(&sec, 4);
    for (int i = 0; i < 4; i++) {
        put(&sec, all_types[i]);
        put(&sec, 1);
        g.code = &sec;
        gen_const(&g, all_types[i]);
        put(&sec, 0x0b);
    }
    put_section(out, 6, &sec);
    /* exports: f0.., the memory, g0..g3 */
    sec.len = 0;
    put_uleb(&sec, g.nfuncs + 5);
    for (uint32_t f = 0; f < g.nfuncs; f++) {
        char name[8];
        int n = snprintf(name, sizeof name, "f%u", (unsigned)f);
        put_uleb(&sec, (uint64_t)n);
        put_bytes(&sec, name, (size_t)n);
        put(&sec, 0);
        put_uleb(&sec, f);
    }
    put_bytes(&sec, "\x03mem\x02\x00", 6);
    for (int i = 0; i < 4; i++) {
        put_bytes(&sec, "\x02g", 2);
        put(&sec, (uint8_t)('0' + i));
        put(&sec, 3);
        put_uleb(&sec, (uint64_t)i);
    }
    put_section(out, 7, &sec);
    /* data count, then code */
    sec.len = 0;
    put_uleb(&sec, 1);
    put_section(out, 12, &sec);
    sec.len = 0;
    put_uleb(&sec, g.nfuncs);
    for (uint32_t f = 0; f < g.nfuncs; f++) {
        uint32_t ndeclared = pick(c, MAX_LOCALS + 1);
        g.self = f;
        g.nlocals = g.sigs[f].nparams + ndeclared;
        memcpy(g.local_types, g.sigs[f].params, g.sigs[f].nparams);
        for (uint32_t i = 0; i < ndeclared; i++)
            g.local_types[g.sigs[f].nparams + i] = pick_type(&g);
        g.counters = g.nlocals;
        g.loops = 0;
        g.nodes = 0;
        body.len = 0;
        /* locals: one group per declared local, then the counters */
        put_uleb(&body, ndeclared + 1);
        for (uint32_t i = 0; i < ndeclared; i++) {
            put_uleb(&body, 1);
            put(&body, g.local_types[g.sigs[f].nparams + i]);
        }
        put_uleb(&body, MAX_LOOPS);
        put(&body, T_I32);
        g.code = &body;
        gen_expr(&g, g.sigs[f].result, MAX_DEPTH);
        put(&body, 0x0b);
        put_uleb(&sec, body.len);
        put_bytes(&sec, body.p, body.len);
    }
    put_section(out, 10, &sec);
    /* data: 64 bytes at 0, so loads see varied values */
    sec.len = 0;
    put_bytes(&sec, "\x01\x00\x41\x00\x0b\x40", 6);
    for (int i = 0; i < 64; i++)
        put(&sec, (uint8_t)pick(c, 256));
    put_section(out, 11, &sec);
    free(sec.p);
    free(body.p);
}

/* ==== Running ==== */

enum {
    MODE_FAST,
    MODE_COUNTED,
    MODE_STOPPED,
    MODE_COUNT
};
static const char *const mode_names[MODE_COUNT] = { "fast", "counting", "stopped+restored" };

typedef struct outcome {
    int skipped; /* over the fuel cap */
    waft_result result;
    int trap;             /* waft_trap_code when trapped */
    uint64_t trap_offset; /* code offset of the innermost frame of the backtrace */
    uint64_t bits;
    uint64_t memsize;
    uint64_t memhash;
    uint64_t globals[4];
    uint64_t steps;
    char error[260];
} outcome;

static void observe(waft_store *store, const waft_instance *inst, const waft_val *res,
                    waft_result r, outcome *o)
{
    waft_extern mem, g;
    uint8_t *data;

    o->result = r;
    if (r == WAFT_TRAPPED) {
        const waft_trap *t = waft_store_trap(store);
        o->trap = t ? (int)t->code : -1;
        o->trap_offset = t && t->nframes ? t->frames[0].code_offset : UINT64_MAX;
    } else if (r == WAFT_OK) {
        o->bits = res->type == WAFT_I32 || res->type == WAFT_F32 ? res->of.i32 : res->of.i64;
    }
    if (waft_instance_memory(inst, &mem) == WAFT_OK) {
        data = waft_memory_data(store, mem, &o->memsize);
        o->memhash = data ? waft_crc32c(0, data, (size_t)o->memsize) : 0;
    }
    for (int i = 0; i < 4; i++) {
        waft_val v;
        const char name[2] = { 'g', (char)('0' + i) };
        if (waft_instance_export(inst, name, 2, &g) == WAFT_OK &&
            waft_global_get(store, g, &v) == WAFT_OK)
            o->globals[i] = v.type == WAFT_I32 || v.type == WAFT_F32 ? v.of.i32 : v.of.i64;
    }
}

/* Runs export `fname` of `module` in `mode`, in a fresh store. */
static void run_mode(waft_engine *engine, const waft_module *module, const char *fname,
                     const waft_val *args, uint32_t nargs, int mode, uint64_t stride, outcome *o)
{
    waft_store *store = NULL;
    waft_instance *inst = NULL;
    waft_extern fn;
    waft_val res;
    waft_error err;
    waft_result r;
    int restores = 0;

    memset(o, 0, sizeof *o);
    memset(&res, 0, sizeof res);
    if (waft_store_new(engine, &store) != WAFT_OK ||
        waft_instance_new(store, module, NULL, 0, &inst, &err) != WAFT_OK ||
        waft_instance_export(inst, fname, strlen(fname), &fn) != WAFT_OK) {
        snprintf(o->error, sizeof o->error, "cannot instantiate");
        o->result = WAFT_ERR_RESTORE;
        goto done;
    }
    if (mode == MODE_COUNTED)
        waft_store_set_fuel(store, FUEL_CAP);
    else if (mode == MODE_STOPPED)
        waft_store_set_fuel(store, stride);
    r = waft_func_call(store, fn, args, nargs, &res, 1);
    while (r == WAFT_SUSPENDED && mode == MODE_STOPPED && restores++ < MAX_RESTORES + 2) {
        /* save, then continue in a new store from the image alone */
        uint8_t *img = NULL;
        size_t len = 0;
        waft_image *image = NULL;
        waft_store *next = NULL;
        waft_instance *ninst = NULL;
        waft_image_options opt;
        memset(&opt, 0, sizeof opt);
        opt.compress = restores & 1;
        if (waft_image_encode(store, inst, &opt, &img, &len, &err) != WAFT_OK ||
            waft_image_decode(engine, img, len, &image, &err) != WAFT_OK ||
            waft_store_new(engine, &next) != WAFT_OK ||
            waft_image_restore(image, next, module, NULL, 0, &ninst, &err) != WAFT_OK) {
            snprintf(o->error, sizeof o->error, "checkpoint %d: %s", restores, err.message);
            free(img);
            if (image)
                waft_image_free(image);
            if (next)
                waft_store_free(next);
            o->result = WAFT_ERR_IMAGE;
            goto done;
        }
        free(img);
        waft_image_free(image);
        waft_store_abandon(store);
        waft_store_free(store);
        store = next;
        inst = ninst;
        waft_store_set_fuel(store, stride);
        r = waft_store_resume(store, &res, 1);
    }
    if (r == WAFT_SUSPENDED && mode == MODE_COUNTED) {
        o->skipped = 1;
        waft_store_abandon(store);
        goto done;
    }
    observe(store, inst, &res, r, o);
    if (mode != MODE_FAST)
        o->steps = waft_store_steps(store);
    if (r == WAFT_SUSPENDED)
        waft_store_abandon(store);

done:
    if (store)
        waft_store_free(store);
}

static int same(const outcome *a, const outcome *b, int steps)
{
    return a->result == b->result && a->trap == b->trap && a->trap_offset == b->trap_offset &&
           a->bits == b->bits && a->memsize == b->memsize && a->memhash == b->memhash &&
           !memcmp(a->globals, b->globals, sizeof a->globals) && (!steps || a->steps == b->steps) &&
           !a->error[0] && !b->error[0];
}

static void describe(const char *mode, const outcome *o)
{
    fprintf(stderr,
            "  %-17s %s trap %d at 0x%" PRIx64 " bits 0x%016" PRIx64 " mem %" PRIu64 "/%016" PRIx64
            " globals %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " steps %" PRIu64 " %s\n",
            mode, waft_result_str(o->result), o->trap, o->trap_offset, o->bits, o->memsize,
            o->memhash, o->globals[0], o->globals[1], o->globals[2], o->globals[3], o->steps,
            o->error);
}

/* The check of one input: 0 if every mode agrees (or the input was skipped), -1 if not. */
static int check_input(const uint8_t *data, size_t size)
{
    choices c = { data, size, 0 };
    bytes wasm = { 0 };
    waft_engine *engine = NULL;
    waft_module *module = NULL;
    waft_error err;
    int status = 0;

    generate(&c, &wasm);
    if (waft_engine_new(NULL, &engine) != WAFT_OK)
        abort();
    if (waft_module_new(engine, wasm.p, wasm.len, &module, &err) != WAFT_OK) {
        fprintf(stderr, "diff: generated module rejected: %s (offset %" PRId64 ")\n", err.message,
                err.offset);
        status = -1;
        goto done;
    }
    for (uint32_t e = 0; e < waft_module_export_count(module); e++) {
        waft_export_desc desc;
        waft_val args[MAX_PARAMS];
        outcome o[MODE_COUNT];
        const waft_valtype *params;
        waft_functype type;
        waft_store *probe = NULL;
        waft_instance *pinst = NULL;
        waft_extern fn;
        char fname[16];
        uint64_t stride;

        waft_module_export(module, e, &desc);
        if (desc.kind != WAFT_EXTERN_FUNC || desc.name_len >= sizeof fname)
            continue;
        memcpy(fname, desc.name, desc.name_len);
        fname[desc.name_len] = 0;
        /* the parameter types, through a throwaway instance */
        if (waft_store_new(engine, &probe) != WAFT_OK ||
            waft_instance_new(probe, module, NULL, 0, &pinst, &err) != WAFT_OK ||
            waft_instance_export(pinst, fname, desc.name_len, &fn) != WAFT_OK ||
            waft_func_type(probe, fn, &type) != WAFT_OK) {
            if (probe)
                waft_store_free(probe);
            continue;
        }
        params = type.params;
        for (uint32_t i = 0; i < type.nparams; i++) {
            uint64_t v = pick_value(&c, (uint8_t)params[i]);
            args[i].type = params[i];
            if (params[i] == WAFT_I32 || params[i] == WAFT_F32)
                args[i].of.i32 = (uint32_t)v;
            else
                args[i].of.i64 = v;
        }
        run_mode(engine, module, fname, args, type.nparams, MODE_COUNTED, 0, &o[MODE_COUNTED]);
        waft_store_free(probe);
        if (o[MODE_COUNTED].skipped)
            continue;
        run_mode(engine, module, fname, args, type.nparams, MODE_FAST, 0, &o[MODE_FAST]);
        stride = 1 + pick(&c, 40);
        if (o[MODE_COUNTED].steps / stride > MAX_RESTORES)
            stride = o[MODE_COUNTED].steps / MAX_RESTORES + 1;
        run_mode(engine, module, fname, args, type.nparams, MODE_STOPPED, stride, &o[MODE_STOPPED]);
        if (!same(&o[MODE_FAST], &o[MODE_COUNTED], 0) ||
            !same(&o[MODE_COUNTED], &o[MODE_STOPPED], 1)) {
            fprintf(stderr, "diff: export %s differs (stopped every %" PRIu64 " steps):\n", fname,
                    stride);
            for (int m = 0; m < MODE_COUNT; m++)
                describe(mode_names[m], &o[m]);
            status = -1;
        }
    }

done:
    if (status != 0) {
        FILE *f = fopen("diff-failed.wasm", "wb");
        if (f) {
            fwrite(wasm.p, 1, wasm.len, f);
            fclose(f);
            fprintf(stderr, "diff: module written to diff-failed.wasm\n");
        }
    }
    if (module)
        waft_module_free(module);
    waft_engine_free(engine);
    free(wasm.p);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (check_input(data, size) != 0)
        abort();
    return 0;
}

#ifdef WAFT_DIFF_MAIN
/* splitmix64: the bytes of seed s are the same on every host */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 500;
    unsigned long first = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
    unsigned passed = 0, failed = 0;
    uint8_t buf[1024];

    for (unsigned long s = first; s < first + n; s++) {
        uint64_t state = s;
        size_t len = 64 + (size_t)(next_random(&state) % (sizeof buf - 64));
        for (size_t i = 0; i < len; i += 8) {
            uint64_t r = next_random(&state);
            for (size_t k = 0; k < 8 && i + k < len; k++)
                buf[i + k] = (uint8_t)(r >> (8 * k));
        }
        if (check_input(buf, len) == 0) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "diff: seed %lu failed (rerun: waft-diff 1 %lu)\n", s, s);
        }
    }
    printf("diff: %u passed, %u failed\n", passed, failed);
    return failed != 0;
}
#endif
