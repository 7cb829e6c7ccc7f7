/* SPDX-License-Identifier: MIT */
/* fuse.c - peephole pass making the fast code: common instruction sequences become one
 * fused instruction (opcodes.def, "fused").
 *
 * Invariants:
 *  - A fused group never contains a branch target except at its first instruction, and a
 *    call is never inside a group, so every pc a frame can hold (loop header, function
 *    entry, call instruction, instruction after a call) is the start of a group and maps
 *    exactly between the two codes (fast_map).
 *  - The fast code keeps the frame layout: fused instructions read locals in place and
 *    push exactly what the group would have pushed; no state lives anywhere else.
 */
#include "interp/interp.h"

typedef struct fuse_ctx {
    base_alloc *a;
    const icode_func *f;
    uint8_t *target; /* per original cell: 1 if some branch jumps there */
    uint32_t *out;
    uint32_t nout, cap_out;
    icode_map *map;
    uint32_t nmap, cap_map;
    uint32_t *fixups; /* cells of `out` holding original-pc targets */
    uint32_t nfix, cap_fix;
    bool failed;
} fuse_ctx;

static void put(fuse_ctx *c, uint32_t x)
{
    if (!base_grow(c->a, (void **)&c->out, &c->cap_out, c->nout + 1, sizeof *c->out)) {
        c->failed = true;
        return;
    }
    c->out[c->nout++] = x;
}

static void put_op(fuse_ctx *c, uint32_t op, uint32_t orig_pc)
{
    if (!base_grow(c->a, (void **)&c->map, &c->cap_map, c->nmap + 1, sizeof *c->map)) {
        c->failed = true;
        return;
    }
    c->map[c->nmap].pc = c->nout;
    c->map[c->nmap].offset = orig_pc;
    c->nmap++;
    put(c, op);
}

/* A branch target cell: written as an original pc now, translated at the end. */
static void put_target(fuse_ctx *c, uint32_t orig_target)
{
    if (!base_grow(c->a, (void **)&c->fixups, &c->cap_fix, c->nfix + 1, sizeof *c->fixups)) {
        c->failed = true;
        return;
    }
    c->fixups[c->nfix++] = c->nout;
    put(c, orig_target);
}

static void mark_targets(fuse_ctx *c)
{
    const uint32_t *code = c->f->code;
    for (uint32_t pc = 0; pc < c->f->len; pc += icode_length(code + pc)) {
        switch (code[pc]) {
        case OP_BR:
        case OP_BR_KEEP:
        case OP_BR_IF:
        case OP_BR_IF_KEEP:
        case OP_BR_UNLESS:
            c->target[code[pc + 1]] = 1;
            break;
        case OP_BR_TABLE:
            for (uint32_t i = 0; i <= code[pc + 1]; i++)
                c->target[code[pc + 2 + 3 * i]] = 1;
            break;
        default:
            break;
        }
    }
}

/* Fused LL/LK forms: original binary op -> its _LL op (the _LK op follows it). */
static uint32_t binop_ll(uint32_t op)
{
    switch (op) {
#define F(base)     \
    case OP_##base: \
        return OP_##base##_LL;
        /* clang-format off */
        F(I32_ADD)
        F(I32_SUB)
        F(I32_MUL)
        F(I32_AND)
        F(I32_OR)
        F(I32_XOR)
        F(I32_SHL)
        F(I32_SHR_S)
        F(I32_SHR_U)
        F(I32_EQ)
        F(I32_NE)
        F(I32_LT_S)
        F(I32_LT_U)
        F(I32_GT_S)
        F(I32_GT_U)
        F(I32_LE_S)
        F(I32_LE_U)
        F(I32_GE_S)
        F(I32_GE_U)
        F(I64_ADD)
        F(I64_SUB)
        F(I64_MUL)
        F(I64_AND)
        F(I64_OR)
        F(I64_XOR)
        F(I64_SHL)
        F(I64_SHR_S)
        F(I64_SHR_U)
        /* clang-format on */
#undef F
    default:
        return 0;
    }
}

static bool is_i64_op(uint32_t op)
{
    return op >= OP_I64_ADD && op <= OP_I64_ROTR;
}

/* Comparison -> BR_IF_<cmp> (then _LL, _LK follow in that order). */
static uint32_t cmp_br(uint32_t op)
{
    switch (op) {
#define F(base)     \
    case OP_##base: \
        return OP_BR_IF_##base;
        /* clang-format off */
        F(I32_EQ)
        F(I32_NE)
        F(I32_LT_S)
        F(I32_LT_U)
        F(I32_GT_S)
        F(I32_GT_U)
        F(I32_LE_S)
        F(I32_LE_U)
        F(I32_GE_S)
        F(I32_GE_U)
        /* clang-format on */
#undef F
    default:
        return 0;
    }
}

static uint32_t load_l(uint32_t op)
{
    switch (op) {
    case OP_I32_LOAD:
    case OP_F32_LOAD:
        return OP_I32_LOAD_L;
    case OP_I64_LOAD:
    case OP_F64_LOAD:
        return OP_I64_LOAD_L;
    case OP_I32_LOAD8_U:
        return OP_I32_LOAD8_U_L;
    case OP_I32_LOAD8_S:
        return OP_I32_LOAD8_S_L;
    case OP_I32_LOAD16_U:
        return OP_I32_LOAD16_U_L;
    default:
        return 0;
    }
}

static uint32_t store_ll(uint32_t op)
{
    switch (op) {
    case OP_I32_STORE:
    case OP_F32_STORE:
        return OP_I32_STORE_LL;
    case OP_I64_STORE:
    case OP_F64_STORE:
        return OP_I64_STORE_LL;
    case OP_I32_STORE8:
        return OP_I32_STORE8_LL;
    default:
        return 0;
    }
}

/* A 32-bit immediate that stands for the constant at `p` as an operand of `op`: CONST32
 * for i32 ops, CONST64 whose value sign-extends from 32 bits for i64 ops. */
static bool const_k(const uint32_t *p, uint32_t op, uint32_t *k)
{
    if (is_i64_op(op)) {
        if (p[0] != OP_CONST64)
            return false;
        uint64_t v = (uint64_t)p[1] | ((uint64_t)p[2] << 32);
        if ((uint64_t)(int64_t)(int32_t)p[1] != v)
            return false;
        *k = p[1];
        return true;
    }
    if (p[0] != OP_CONST32)
        return false;
    *k = p[1];
    return true;
}

/* Tries to fuse the group starting at pc; returns the original cells consumed (0 if none). */
static uint32_t try_fuse(fuse_ctx *c, uint32_t pc)
{
    const uint32_t *code = c->f->code;
    uint32_t len = c->f->len;
    /* up to four instructions i0..i3, stopping at the end or at a branch target */
    uint32_t at[4], n = 0;
    for (uint32_t p = pc; n < 4 && p < len; p += icode_length(code + p)) {
        if (n > 0 && c->target[p])
            break;
        at[n++] = p;
    }
    if (n < 2)
        return 0;
    const uint32_t *i0 = code + at[0], *i1 = code + at[1];
    const uint32_t *i2 = n > 2 ? code + at[2] : NULL, *i3 = n > 3 ? code + at[3] : NULL;
    uint32_t end2 = at[1] + icode_length(i1);
    uint32_t end3 = i2 ? at[2] + icode_length(i2) : 0;
    uint32_t end4 = i3 ? at[3] + icode_length(i3) : 0;
    uint32_t k, op;

    if (i0[0] == OP_LOCAL_GET) {
        uint32_t a = i0[1];
        /* local.get a; local.get b; op [; br_if] */
        if (i1[0] == OP_LOCAL_GET && i2) {
            uint32_t b = i1[1];
            if ((op = cmp_br(i2[0])) != 0 && i3 && i3[0] == OP_BR_IF) {
                put_op(c, op + 1, pc);
                put(c, a);
                put(c, b);
                put_target(c, i3[1]);
                return end4 - pc;
            }
            if ((op = binop_ll(i2[0])) != 0) {
                put_op(c, op, pc);
                put(c, a);
                put(c, b);
                return end3 - pc;
            }
            if ((op = store_ll(i2[0])) != 0) {
                put_op(c, op, pc);
                put(c, a);
                put(c, b);
                put(c, i2[1]);
                return end3 - pc;
            }
        }
        /* local.get a; const k; op [; br_if | local.set d] */
        if (i2 && (op = binop_ll(i2[0])) != 0 && const_k(i1, i2[0], &k)) {
            uint32_t br;
            if ((br = cmp_br(i2[0])) != 0 && i3 && i3[0] == OP_BR_IF) {
                put_op(c, br + 2, pc);
                put(c, a);
                put(c, k);
                put_target(c, i3[1]);
                return end4 - pc;
            }
            if (i2[0] == OP_I32_ADD && i3 && i3[0] == OP_LOCAL_SET) {
                put_op(c, OP_I32_ADD_LK_SET, pc);
                put(c, a);
                put(c, k);
                put(c, i3[1]);
                return end4 - pc;
            }
            put_op(c, op + 1, pc);
            put(c, a);
            put(c, k);
            return end3 - pc;
        }
        if (i1[0] == OP_LOCAL_SET) {
            put_op(c, OP_LOCAL_COPY, pc);
            put(c, a);
            put(c, i1[1]);
            return end2 - pc;
        }
        if (i1[0] == OP_BR_IF) {
            put_op(c, OP_BR_IF_L, pc);
            put(c, a);
            put_target(c, i1[1]);
            return end2 - pc;
        }
        if ((op = load_l(i1[0])) != 0) {
            put_op(c, op, pc);
            put(c, a);
            put(c, i1[1]);
            return end2 - pc;
        }
        return 0;
    }
    if (i0[0] == OP_LOCAL_TEE && i1[0] == OP_LOCAL_GET && i1[1] == i0[1]) {
        put_op(c, OP_LOCAL_TEE_GET, pc);
        put(c, i0[1]);
        return end2 - pc;
    }
    if (i0[0] == OP_F64_MUL && i1[0] == OP_F64_ADD) {
        put_op(c, OP_F64_MUL_ADD, pc);
        return end2 - pc;
    }
    if (i0[0] == OP_F32_MUL && i1[0] == OP_F32_ADD) {
        put_op(c, OP_F32_MUL_ADD, pc);
        return end2 - pc;
    }
    if ((op = cmp_br(i0[0])) != 0 && i1[0] == OP_BR_IF) {
        put_op(c, op, pc);
        put_target(c, i1[1]);
        return end2 - pc;
    }
    if (i0[0] == OP_I32_EQZ && i1[0] == OP_BR_IF) {
        put_op(c, OP_BR_UNLESS, pc);
        put_target(c, i1[1]);
        return end2 - pc;
    }
    if (i0[0] == OP_CONST32 && i1[0] == OP_LOCAL_SET) {
        put_op(c, OP_LOCAL_SET_K32, pc);
        put(c, i1[1]);
        put(c, i0[1]);
        return end2 - pc;
    }
    if (i0[0] == OP_CONST64 && i1[0] == OP_LOCAL_SET) {
        put_op(c, OP_LOCAL_SET_K64, pc);
        put(c, i1[1]);
        put(c, i0[1]);
        put(c, i0[2]);
        return end2 - pc;
    }
    return 0;
}

/* Copies one original instruction, translating its branch targets. */
static void copy_one(fuse_ctx *c, uint32_t pc)
{
    const uint32_t *i = c->f->code + pc;
    uint32_t n = icode_length(i);
    put_op(c, i[0], pc);
    switch (i[0]) {
    case OP_BR:
    case OP_BR_IF:
    case OP_BR_UNLESS:
    case OP_BR_KEEP:
    case OP_BR_IF_KEEP:
        put_target(c, i[1]);
        for (uint32_t k = 2; k < n; k++)
            put(c, i[k]);
        return;
    case OP_BR_TABLE:
        put(c, i[1]);
        for (uint32_t e = 0; e <= i[1]; e++) {
            put_target(c, i[2 + 3 * e]);
            put(c, i[3 + 3 * e]);
            put(c, i[4 + 3 * e]);
        }
        return;
    default:
        for (uint32_t k = 1; k < n; k++)
            put(c, i[k]);
        return;
    }
}

static bool fuse_function(base_alloc *a, icode_func *f)
{
    fuse_ctx c = { .a = a, .f = f };
    c.target = base_calloc(a, (size_t)f->len + 1, 1);
    if (!c.target)
        return false;
    mark_targets(&c);
    for (uint32_t pc = 0; pc < f->len && !c.failed;) {
        uint32_t used = try_fuse(&c, pc);
        if (!used) {
            copy_one(&c, pc);
            used = icode_length(f->code + pc);
        }
        pc += used;
    }
    /* translate targets: original pc -> fast pc (every target starts a group) */
    for (uint32_t i = 0; i < c.nfix && !c.failed; i++) {
        uint32_t orig = c.out[c.fixups[i]];
        uint32_t lo = 0, hi = c.nmap;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (c.map[mid].offset < orig)
                lo = mid + 1;
            else
                hi = mid;
        }
        WAFT_ASSERT(lo < c.nmap && c.map[lo].offset == orig);
        c.out[c.fixups[i]] = c.map[lo].pc;
    }
    base_free(a, c.target);
    base_free(a, c.fixups);
    if (c.failed) {
        base_free(a, c.out);
        base_free(a, c.map);
        return false;
    }
    f->fast = c.out;
    f->fast_len = c.nout;
    f->fast_map = c.map;
    f->nfast_map = c.nmap;
    return true;
}

waft_result interp_prepare(waft_module *m)
{
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++)
        if (!fuse_function(m->alloc, &m->icode[i]))
            return WAFT_ERR_NOMEM;
    return WAFT_OK;
}

void interp_release(waft_module *m)
{
    if (!m->icode)
        return;
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) {
        base_free(m->alloc, m->icode[i].fast);
        base_free(m->alloc, m->icode[i].fast_map);
        m->icode[i].fast = NULL;
        m->icode[i].fast_map = NULL;
    }
}

/* ==== pc translation ==== */

bool interp_fast_to_pc(const icode_func *f, uint32_t fast_pc, uint32_t *out_pc)
{
    uint32_t lo = 0, hi = f->nfast_map;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->fast_map[mid].pc <= fast_pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    *out_pc = f->fast_map[lo - 1].offset;
    return f->fast_map[lo - 1].pc == fast_pc;
}

bool interp_pc_to_fast(const icode_func *f, uint32_t pc, uint32_t *out_fast)
{
    if (pc == f->len) {
        *out_fast = f->fast_len;
        return true;
    }
    uint32_t lo = 0, hi = f->nfast_map;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->fast_map[mid].offset < pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < f->nfast_map && f->fast_map[lo].offset == pc) {
        *out_fast = f->fast_map[lo].pc;
        return true;
    }
    return false;
}
