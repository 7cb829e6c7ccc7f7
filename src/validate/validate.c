/* SPDX-License-Identifier: MIT */
/* validate.c - module validation (spec 3.4) and function bodies to icode (spec 3.3, appendix
 * "validation algorithm").
 *
 * Invariants while lowering a body:
 *  - The type stack `vals` mirrors the physical operand stack exactly while the current
 *    block is reachable; code is emitted only then (`live`).
 *  - Forward branches to a block form a linked list threaded through their target cells
 *    (`patch`), resolved when the block's `end` is reached.
 */
#include "validate/validate.h"

#include <stdio.h>

#define NO_PATCH  UINT32_MAX
#define T_UNKNOWN 0 /* polymorphic stack entry (spec: Unknown) */

enum {
    CTL_BLOCK,
    CTL_LOOP,
    CTL_IF,
    CTL_ELSE,
    CTL_FUNC
};

typedef struct ctl {
    uint8_t kind;
    bool unreachable; /* rest of this block is unreachable (stack polymorphic) */
    bool dead;        /* whole block is inside unreachable code: emit nothing */
    uint32_t nparams;
    uint32_t nresults;
    const uint8_t *params;
    const uint8_t *results;
    uint32_t height;   /* operand height below the block's params */
    uint32_t start_pc; /* loop: branch target */
    uint32_t patch;    /* forward branches waiting for `end` */
    uint32_t if_patch; /* if: the BR_UNLESS target cell */
} ctl;

typedef struct vctx {
    waft_module *m;
    base_alloc *a;
    waft_error *err;
    waft_result result;
    int64_t func;
    base_reader r;
    uint32_t instr_off;

    uint8_t *vals;
    uint32_t nvals, cap_vals, max_vals;
    ctl *ctls;
    uint32_t nctls, cap_ctls;
    uint8_t *scratch;
    uint32_t cap_scratch;

    uint32_t *code;
    uint32_t ncode, cap_code;
    icode_map *map;
    uint32_t nmap, cap_map;

    uint32_t nlocals;
    uint8_t *local_types;
    uint32_t cap_locals;

    uint32_t stop_at; /* val_stack_at: stop before the instruction at this offset */
    bool stopped;
} vctx;

/* Value types used as one-element result lists of block types. */
static const uint8_t single_types[] = { WAFT_I32,  WAFT_I64,     WAFT_F32,      WAFT_F64,
                                        WAFT_V128, WAFT_FUNCREF, WAFT_EXTERNREF };

static const char *type_name(uint8_t t)
{
    switch (t) {
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
    default:
        return "unknown";
    }
}

/* ==== Errors ==== */

static bool failed(const vctx *v)
{
    return v->result != WAFT_OK;
}

static void fail_code(vctx *v, waft_result code, const char *why)
{
    if (failed(v))
        return;
    v->result = code;
    if (v->func >= 0)
        base_error_set(v->err, code, v->instr_off, v->func, "code section: function %lld: %s",
                       (long long)v->func, why);
    else
        base_error_set(v->err, code, v->instr_off, -1, "%s", why);
    base_reader_fail(&v->r, why);
}

static void invalid(vctx *v, const char *why)
{
    fail_code(v, WAFT_ERR_INVALID, why);
}

static void malformed(vctx *v, const char *why)
{
    fail_code(v, WAFT_ERR_MALFORMED, why);
}

static void nomem(vctx *v)
{
    fail_code(v, WAFT_ERR_NOMEM, "out of memory");
}

/* Turns a reader failure into a malformed error at its position. */
static bool reader_ok(vctx *v)
{
    if (v->r.failed && !failed(v)) {
        v->result = WAFT_ERR_MALFORMED;
        base_error_set(v->err, WAFT_ERR_MALFORMED, (int64_t)v->r.fail_at, v->func,
                       "code section: function %lld: %s", (long long)v->func, v->r.why);
    }
    return !failed(v);
}

/* ==== Type stack ==== */

static void push(vctx *v, uint8_t t)
{
    if (!base_grow(v->a, (void **)&v->vals, &v->cap_vals, v->nvals + 1, 1)) {
        nomem(v);
        return;
    }
    v->vals[v->nvals++] = t;
    if (v->nvals > v->max_vals)
        v->max_vals = v->nvals;
}

static uint8_t pop(vctx *v)
{
    ctl *c = &v->ctls[v->nctls - 1];
    if (v->nvals == c->height) {
        if (!c->unreachable)
            invalid(v, "type mismatch: operand stack underflow");
        return T_UNKNOWN;
    }
    return v->vals[--v->nvals];
}

static uint8_t pop_expect(vctx *v, uint8_t want)
{
    uint8_t got = pop(v);
    if (got != want && got != T_UNKNOWN && want != T_UNKNOWN && !failed(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "type mismatch: expected %s, found %s", type_name(want),
                 type_name(got));
        invalid(v, msg);
    }
    return got;
}

static void pop_list(vctx *v, const uint8_t *types, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;)
        pop_expect(v, types[i]);
}

static void push_list(vctx *v, const uint8_t *types, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        push(v, types[i]);
}

static void set_unreachable(vctx *v)
{
    ctl *c = &v->ctls[v->nctls - 1];
    v->nvals = c->height;
    c->unreachable = true;
}

static bool live(const vctx *v)
{
    const ctl *c = &v->ctls[v->nctls - 1];
    return !c->unreachable && !c->dead && !failed(v);
}

/* ==== Emission ==== */

static void emit_cell(vctx *v, uint32_t x)
{
    if (!base_grow(v->a, (void **)&v->code, &v->cap_code, v->ncode + 1, sizeof *v->code)) {
        nomem(v);
        return;
    }
    v->code[v->ncode++] = x;
}

static void emit_op(vctx *v, icode_op op)
{
    if (!base_grow(v->a, (void **)&v->map, &v->cap_map, v->nmap + 1, sizeof *v->map)) {
        nomem(v);
        return;
    }
    v->map[v->nmap].pc = v->ncode;
    v->map[v->nmap].offset = v->instr_off;
    v->nmap++;
    emit_cell(v, (uint32_t)op);
}

/* Label types: what a branch to ctl `c` carries (spec 3.3.5). */
static void label_types(const ctl *c, const uint8_t **types, uint32_t *n)
{
    if (c->kind == CTL_LOOP) {
        *types = c->params;
        *n = c->nparams;
    } else {
        *types = c->results;
        *n = c->nresults;
    }
}

/* Emits a branch target triple (target, keep, drop) for label `c` at the current height;
 * with `with_keep` false only the target cell. */
static void emit_target(vctx *v, ctl *c, bool with_keep)
{
    const uint8_t *t;
    uint32_t keep;
    label_types(c, &t, &keep);
    uint32_t at = v->ncode;
    if (c->kind == CTL_LOOP) {
        emit_cell(v, c->start_pc);
    } else {
        emit_cell(v, c->patch);
        c->patch = at;
    }
    if (with_keep) {
        emit_cell(v, keep);
        emit_cell(v, v->nvals - keep - c->height);
    }
}

static uint32_t branch_drop(const vctx *v, const ctl *c)
{
    const uint8_t *t;
    uint32_t keep;
    label_types(c, &t, &keep);
    return v->nvals - keep - c->height;
}

static void resolve_patches(vctx *v, uint32_t head, uint32_t target)
{
    while (head != NO_PATCH) {
        uint32_t next = v->code[head];
        v->code[head] = target;
        head = next;
    }
}

/* ==== Control ==== */

static void read_blocktype(vctx *v, ctl *c)
{
    c->nparams = c->nresults = 0;
    c->params = c->results = NULL;
    if (base_reader_left(&v->r) && *v->r.p == 0x40) {
        v->r.p++;
        return;
    }
    if (base_reader_left(&v->r) && dec_is_valtype(*v->r.p)) {
        uint8_t t = *v->r.p++;
        for (size_t i = 0; i < sizeof single_types; i++)
            if (single_types[i] == t)
                c->results = &single_types[i];
        c->nresults = 1;
        return;
    }
    int64_t idx = base_read_s33(&v->r);
    if (!reader_ok(v))
        return;
    if (idx < 0 || (uint64_t)idx >= v->m->ntypes) {
        invalid(v, idx < 0 ? "malformed block type" : "unknown type");
        return;
    }
    const dec_functype *ft = &v->m->types[idx];
    c->nparams = ft->nparams;
    c->nresults = ft->nresults;
    c->params = ft->types;
    c->results = ft->types + ft->nparams;
}

static ctl *push_ctl(vctx *v, uint8_t kind, const ctl *shape, bool dead)
{
    if (!base_grow(v->a, (void **)&v->ctls, &v->cap_ctls, v->nctls + 1, sizeof *v->ctls)) {
        nomem(v);
        return NULL;
    }
    ctl *c = &v->ctls[v->nctls++];
    *c = *shape;
    c->kind = kind;
    c->unreachable = false;
    c->dead = dead;
    c->height = v->nvals;
    c->patch = NO_PATCH;
    c->if_patch = NO_PATCH;
    c->start_pc = v->ncode;
    push_list(v, c->params, c->nparams);
    return c;
}

/* Checks the block's results at `else` / `end` (spec: pop_vals(results) and height check). */
static void check_block_end(vctx *v, ctl *c)
{
    pop_list(v, c->results, c->nresults);
    if (v->nvals != c->height && !failed(v))
        invalid(v, "type mismatch: values remain on the stack at end of block");
}

static bool memory_ok(vctx *v, uint32_t idx)
{
    if (idx >= v->m->nmemories) {
        invalid(v, "unknown memory");
        return false;
    }
    return true;
}

static const dec_table *table_at(vctx *v, uint32_t idx)
{
    if (idx >= v->m->ntables) {
        invalid(v, "unknown table");
        return NULL;
    }
    return &v->m->tables[idx];
}

/* ==== Numeric tables from opcodes.def ==== */

typedef struct num_info {
    uint16_t op;
    uint8_t a, b, r;
} num_info;

typedef struct mem_info {
    uint16_t op;
    uint8_t type, align, store;
} mem_info;

static const mem_info mem_table[] = {
#define MEM(name, wasm, t, align, width, store) { OP_##name, t, align, store },
#include "validate/opcodes.def"
};

static const num_info num_table[256] = {
#define NUM(name, wasm, a, b, r) [wasm] = { OP_##name, a, b, r },
#define NUMFC(name, sub, a, b, r)
#include "validate/opcodes.def"
};

static const num_info num_fc_table[8] = {
#define NUMFC(name, sub, a, b, r) [sub] = { OP_##name, a, b, r },
#include "validate/opcodes.def"
};

static void do_numeric(vctx *v, const num_info *ni)
{
    if (ni->b)
        pop_expect(v, ni->b);
    pop_expect(v, ni->a);
    if (live(v))
        emit_op(v, (icode_op)ni->op);
    push(v, ni->r);
}

static void do_memarg(vctx *v, uint8_t opcode)
{
    const mem_info *mi = &mem_table[opcode - 0x28];
    uint32_t align = base_read_u32(&v->r);
    uint32_t offset = base_read_u32(&v->r);
    if (!reader_ok(v))
        return;
    if (align >= 32) {
        /* 2^32 and beyond cannot be an alignment; bit 6 would name a memory (multi-memory) */
        malformed(v, "malformed memop flags");
        return;
    }
    if (!memory_ok(v, 0))
        return;
    if (align > mi->align) {
        invalid(v, "alignment must not be larger than natural");
        return;
    }
    if (mi->store) {
        pop_expect(v, mi->type);
        pop_expect(v, WAFT_I32);
    } else {
        pop_expect(v, WAFT_I32);
    }
    if (live(v)) {
        emit_op(v, (icode_op)mi->op);
        emit_cell(v, offset);
    }
    if (!mi->store)
        push(v, mi->type);
}

static void zero_byte(vctx *v)
{
    uint8_t b = base_read_u8(&v->r);
    if (reader_ok(v) && b != 0)
        malformed(v, "zero byte expected");
}

/* ==== Instructions ==== */

static void do_branch(vctx *v, uint32_t depth, icode_op plain, icode_op keep_op)
{
    ctl *c = &v->ctls[v->nctls - 1 - depth];
    if (!live(v))
        return;
    bool keep = branch_drop(v, c) != 0;
    emit_op(v, keep ? keep_op : plain);
    emit_target(v, c, keep);
}

static bool read_label(vctx *v, uint32_t *out)
{
    uint32_t l = base_read_u32(&v->r);
    if (!reader_ok(v))
        return false;
    if (l >= v->nctls) {
        invalid(v, "unknown label");
        return false;
    }
    *out = l;
    return true;
}

static void do_br_table(vctx *v)
{
    uint32_t n = base_read_u32(&v->r);
    if (!reader_ok(v))
        return;
    if (n > base_reader_left(&v->r)) {
        malformed(v, "unexpected end");
        return;
    }
    const uint8_t *labels = v->r.p;
    for (uint32_t i = 0; i <= n && !failed(v); i++)
        base_read_u32(&v->r);
    if (!reader_ok(v))
        return;
    pop_expect(v, WAFT_I32);
    bool emit = live(v);
    if (emit) {
        emit_op(v, OP_BR_TABLE);
        emit_cell(v, n);
    }
    /* default label arity first (spec) */
    base_reader lr;
    base_reader_init(&lr, v->r.base, labels, v->r.p);
    uint32_t dflt;
    {
        base_reader tmp = lr;
        for (uint32_t i = 0; i < n; i++)
            base_read_u32(&tmp);
        dflt = base_read_u32(&tmp);
    }
    if (dflt >= v->nctls) {
        invalid(v, "unknown label");
        return;
    }
    const uint8_t *dt;
    uint32_t arity;
    label_types(&v->ctls[v->nctls - 1 - dflt], &dt, &arity);
    for (uint32_t i = 0; i <= n && !failed(v); i++) {
        uint32_t l = base_read_u32(&lr);
        if (l >= v->nctls) {
            invalid(v, "unknown label");
            return;
        }
        ctl *c = &v->ctls[v->nctls - 1 - l];
        const uint8_t *t;
        uint32_t k;
        label_types(c, &t, &k);
        if (k != arity) {
            invalid(v, "type mismatch: br_table labels have different arities");
            return;
        }
        if (i < n) {
            /* push_vals(pop_vals(label_types)) */
            if (!base_grow(v->a, (void **)&v->scratch, &v->cap_scratch, k + 1, 1)) {
                nomem(v);
                return;
            }
            for (uint32_t j = k; j-- > 0;)
                v->scratch[j] = pop_expect(v, t[j]);
            for (uint32_t j = 0; j < k; j++)
                push(v, v->scratch[j]);
        } else {
            pop_list(v, t, k);
            push_list(v, t, k); /* restore for the drop computation below */
        }
        if (emit)
            emit_target(v, c, true);
    }
    if (failed(v))
        return;
    pop_list(v, dt, arity);
    set_unreachable(v);
}

/* One instruction. Returns false at the end of the function body. */
static bool step(vctx *v)
{
    v->instr_off = (uint32_t)base_reader_offset(&v->r);
    uint8_t op = base_read_u8(&v->r);
    if (!reader_ok(v))
        return false;
    waft_module *m = v->m;
    ctl *top = &v->ctls[v->nctls - 1];
    switch (op) {
    case 0x00: /* unreachable */
        if (live(v))
            emit_op(v, OP_UNREACHABLE);
        set_unreachable(v);
        break;
    case 0x01: /* nop */
        break;
    case 0x02: /* block */
    case 0x03: /* loop */
    case 0x04: /* if */ {
        ctl shape;
        read_blocktype(v, &shape);
        if (failed(v))
            return false;
        bool dead = !live(v);
        uint32_t if_cell = NO_PATCH;
        if (op == 0x04) {
            pop_expect(v, WAFT_I32);
            if (live(v)) {
                emit_op(v, OP_BR_UNLESS);
                if_cell = v->ncode;
                emit_cell(v, NO_PATCH);
            }
        }
        pop_list(v, shape.params, shape.nparams);
        ctl *c = push_ctl(v, op == 0x02 ? CTL_BLOCK : op == 0x03 ? CTL_LOOP : CTL_IF, &shape, dead);
        if (!c)
            return false;
        c->if_patch = if_cell;
        if (op == 0x03 && !dead) {
            c->start_pc = v->ncode;
            emit_op(v, OP_LOOP_POLL);
        }
        break;
    }
    case 0x05: /* else */
        if (top->kind != CTL_IF) {
            invalid(v, "else without matching if");
            return false;
        }
        check_block_end(v, top);
        if (live(v)) {
            emit_op(v, OP_BR);
            emit_target(v, top, false);
        }
        if (top->if_patch != NO_PATCH)
            v->code[top->if_patch] = v->ncode;
        top->if_patch = NO_PATCH;
        top->kind = CTL_ELSE;
        top->unreachable = false;
        v->nvals = top->height;
        push_list(v, top->params, top->nparams);
        break;
    case 0x0B: /* end */ {
        check_block_end(v, top);
        if (failed(v))
            return false;
        if (top->kind == CTL_IF) {
            /* no else: the false path carries the params through, so they must be the
             * results (spec 3.3.8.5) */
            if (top->nparams != top->nresults ||
                (top->nparams && memcmp(top->params, top->results, top->nparams) != 0)) {
                invalid(v, "type mismatch: if without else must have matching params and results");
                return false;
            }
            if (top->if_patch != NO_PATCH)
                v->code[top->if_patch] = v->ncode;
        }
        resolve_patches(v, top->patch, v->ncode);
        ctl done = *top;
        if (done.kind == CTL_FUNC) {
            if (!done.dead)
                emit_op(v, OP_RETURN), emit_cell(v, done.nresults);
            v->nctls--;
            return false;
        }
        v->nctls--;
        push_list(v, done.results, done.nresults);
        break;
    }
    case 0x0C: /* br */ {
        uint32_t l;
        if (!read_label(v, &l))
            return false;
        const uint8_t *t;
        uint32_t k;
        label_types(&v->ctls[v->nctls - 1 - l], &t, &k);
        pop_list(v, t, k);
        push_list(v, t, k);
        do_branch(v, l, OP_BR, OP_BR_KEEP);
        pop_list(v, t, k);
        set_unreachable(v);
        break;
    }
    case 0x0D: /* br_if */ {
        uint32_t l;
        if (!read_label(v, &l))
            return false;
        pop_expect(v, WAFT_I32);
        const uint8_t *t;
        uint32_t k;
        label_types(&v->ctls[v->nctls - 1 - l], &t, &k);
        pop_list(v, t, k);
        push_list(v, t, k);
        do_branch(v, l, OP_BR_IF, OP_BR_IF_KEEP);
        break;
    }
    case 0x0E: /* br_table */
        do_br_table(v);
        break;
    case 0x0F: /* return */ {
        ctl *f = &v->ctls[0];
        pop_list(v, f->results, f->nresults);
        if (live(v)) {
            emit_op(v, OP_RETURN);
            emit_cell(v, f->nresults);
        }
        set_unreachable(v);
        break;
    }
    case 0x10: /* call */ {
        uint32_t f = base_read_u32(&v->r);
        if (!reader_ok(v))
            return false;
        if (f >= m->nfuncs) {
            invalid(v, "unknown function");
            return false;
        }
        const dec_functype *ft = dec_func_type(m, f);
        pop_list(v, ft->types, ft->nparams);
        if (live(v)) {
            emit_op(v, OP_CALL);
            emit_cell(v, f);
        }
        push_list(v, ft->types + ft->nparams, ft->nresults);
        break;
    }
    case 0x11: /* call_indirect */ {
        uint32_t ti = base_read_u32(&v->r);
        uint32_t tab = base_read_u32(&v->r);
        if (!reader_ok(v))
            return false;
        const dec_table *t = table_at(v, tab);
        if (!t)
            return false;
        if (t->elem_type != WAFT_FUNCREF) {
            invalid(v, "type mismatch: call_indirect needs a funcref table");
            return false;
        }
        if (ti >= m->ntypes) {
            invalid(v, "unknown type");
            return false;
        }
        pop_expect(v, WAFT_I32);
        const dec_functype *ft = &m->types[ti];
        pop_list(v, ft->types, ft->nparams);
        if (live(v)) {
            emit_op(v, OP_CALL_INDIRECT);
            emit_cell(v, ti);
            emit_cell(v, tab);
        }
        push_list(v, ft->types + ft->nparams, ft->nresults);
        break;
    }
    case 0x1A: /* drop */
        pop(v);
        if (live(v))
            emit_op(v, OP_DROP);
        break;
    case 0x1B: /* select */ {
        pop_expect(v, WAFT_I32);
        uint8_t t1 = pop(v);
        uint8_t t2 = pop(v);
        if (dec_is_reftype(t1) || dec_is_reftype(t2)) {
            invalid(v, "type mismatch: select without type needs numeric operands");
            return false;
        }
        if (t1 != t2 && t1 != T_UNKNOWN && t2 != T_UNKNOWN) {
            invalid(v, "type mismatch: select operands differ");
            return false;
        }
        if (live(v))
            emit_op(v, OP_SELECT);
        push(v, t1 == T_UNKNOWN ? t2 : t1);
        break;
    }
    case 0x1C: /* select t* */ {
        uint32_t n = base_read_u32(&v->r);
        if (!reader_ok(v))
            return false;
        if (n != 1) {
            invalid(v, "invalid result arity");
            return false;
        }
        uint8_t t = base_read_u8(&v->r);
        if (!reader_ok(v))
            return false;
        if (!dec_is_valtype(t)) {
            malformed(v, "malformed value type");
            return false;
        }
        pop_expect(v, WAFT_I32);
        pop_expect(v, t);
        pop_expect(v, t);
        if (live(v))
            emit_op(v, OP_SELECT);
        push(v, t);
        break;
    }
    case 0x20: /* local.get */
    case 0x21: /* local.set */
    case 0x22: /* local.tee */ {
        uint32_t i = base_read_u32(&v->r);
        if (!reader_ok(v))
            return false;
        if (i >= v->nlocals) {
            invalid(v, "unknown local");
            return false;
        }
        uint8_t t = v->local_types[i];
        if (op != 0x20)
            pop_expect(v, t);
        if (live(v)) {
            emit_op(v, op == 0x20 ? OP_LOCAL_GET : op == 0x21 ? OP_LOCAL_SET : OP_LOCAL_TEE);
            emit_cell(v, i);
        }
        if (op != 0x21)
            push(v, t);
        break;
    }
    case 0x23: /* global.get */
    case 0x24: /* global.set */ {
        uint32_t i = base_read_u32(&v->r);
        if (!reader_ok(v))
            return false;
        if (i >= m->nglobals) {
            invalid(v, "unknown global");
            return false;
        }
        const dec_global *g = &m->globals[i];
        if (op == 0x24) {
            if (!g->mutable_) {
                invalid(v, "global is immutable");
                return false;
            }
            pop_expect(v, g->type);
        }
        if (live(v)) {
            emit_op(v, op == 0x23 ? OP_GLOBAL_GET : OP_GLOBAL_SET);
            emit_cell(v, i);
        }
        if (op == 0x23)
            push(v, g->type);
        break;
    }
    case 0x25: /* table.get */
    case 0x26: /* table.set */ {
        uint32_t i = base_read_u32(&v->r);
        if (!reader_ok(v))
            return false;
        const dec_table *t = table_at(v, i);
        if (!t)
            return false;
        if (op == 0x26)
            pop_expect(v, t->elem_type);
        pop_expect(v, WAFT_I32);
        if (live(v)) {
            emit_op(v, op == 0x25 ? OP_TABLE_GET : OP_TABLE_SET);
            emit_cell(v, i);
        }
        if (op == 0x25)
            push(v, t->elem_type);
        break;
    }
    case 0x28:
    case 0x29:
    case 0x2A:
    case 0x2B:
    case 0x2C:
    case 0x2D:
    case 0x2E:
    case 0x2F:
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35:
    case 0x36:
    case 0x37:
    case 0x38:
    case 0x39:
    case 0x3A:
    case 0x3B:
    case 0x3C:
    case 0x3D:
    case 0x3E:
        do_memarg(v, op);
        break;
    case 0x3F: /* memory.size */
    case 0x40: /* memory.grow */
        zero_byte(v);
        if (failed(v) || !memory_ok(v, 0))
            return false;
        if (op == 0x40)
            pop_expect(v, WAFT_I32);
        if (live(v))
            emit_op(v, op == 0x3F ? OP_MEMORY_SIZE : OP_MEMORY_GROW);
        push(v, WAFT_I32);
        break;
    case 0x41: { /* i32.const */
        int32_t x = base_read_s32(&v->r);
        if (!reader_ok(v))
            return false;
        if (live(v)) {
            emit_op(v, OP_CONST32);
            emit_cell(v, (uint32_t)x);
        }
        push(v, WAFT_I32);
        break;
    }
    case 0x42: { /* i64.const */
        uint64_t x = (uint64_t)base_read_s64(&v->r);
        if (!reader_ok(v))
            return false;
        if (live(v)) {
            emit_op(v, OP_CONST64);
            emit_cell(v, (uint32_t)x);
            emit_cell(v, (uint32_t)(x >> 32));
        }
        push(v, WAFT_I64);
        break;
    }
    case 0x43: { /* f32.const */
        uint32_t x = base_read_fixed32(&v->r);
        if (!reader_ok(v))
            return false;
        if (live(v)) {
            emit_op(v, OP_CONST32);
            emit_cell(v, x);
        }
        push(v, WAFT_F32);
        break;
    }
    case 0x44: { /* f64.const */
        uint64_t x = base_read_fixed64(&v->r);
        if (!reader_ok(v))
            return false;
        if (live(v)) {
            emit_op(v, OP_CONST64);
            emit_cell(v, (uint32_t)x);
            emit_cell(v, (uint32_t)(x >> 32));
        }
        push(v, WAFT_F64);
        break;
    }
    /* conversions that are no-ops on raw zero-extended bits */
    case 0xAD: /* i64.extend_i32_u */
        pop_expect(v, WAFT_I32);
        push(v, WAFT_I64);
        break;
    case 0xBC: /* i32.reinterpret_f32 */
        pop_expect(v, WAFT_F32);
        push(v, WAFT_I32);
        break;
    case 0xBD: /* i64.reinterpret_f64 */
        pop_expect(v, WAFT_F64);
        push(v, WAFT_I64);
        break;
    case 0xBE: /* f32.reinterpret_i32 */
        pop_expect(v, WAFT_I32);
        push(v, WAFT_F32);
        break;
    case 0xBF: /* f64.reinterpret_i64 */
        pop_expect(v, WAFT_I64);
        push(v, WAFT_F64);
        break;
    case 0xD0: { /* ref.null t */
        uint8_t t = base_read_u8(&v->r);
        if (!reader_ok(v))
            return false;
        if (!dec_is_reftype(t)) {
            malformed(v, "malformed reference type");
            return false;
        }
        if (live(v)) {
            emit_op(v, OP_CONST32);
            emit_cell(v, 0);
        }
        push(v, t);
        break;
    }
    case 0xD1: { /* ref.is_null */
        uint8_t t = pop(v);
        if (t != T_UNKNOWN && !dec_is_reftype(t)) {
            invalid(v, "type mismatch: ref.is_null needs a reference");
            return false;
        }
        if (live(v))
            emit_op(v, OP_REF_IS_NULL);
        push(v, WAFT_I32);
        break;
    }
    case 0xD2: { /* ref.func */
        uint32_t f = base_read_u32(&v->r);
        if (!reader_ok(v))
            return false;
        if (f >= m->nfuncs) {
            invalid(v, "unknown function");
            return false;
        }
        if (!m->func_declared[f]) {
            invalid(v, "undeclared function reference");
            return false;
        }
        if (live(v)) {
            emit_op(v, OP_REF_FUNC);
            emit_cell(v, f);
        }
        push(v, WAFT_FUNCREF);
        break;
    }
    case 0xFC: {
        uint32_t sub = base_read_u32(&v->r);
        if (!reader_ok(v))
            return false;
        if (sub <= 7) {
            do_numeric(v, &num_fc_table[sub]);
            break;
        }
        switch (sub) {
        case 8: /* memory.init */
        case 9: /* data.drop */ {
            uint32_t seg = base_read_u32(&v->r);
            if (sub == 8)
                zero_byte(v);
            if (!reader_ok(v))
                return false;
            if (!m->has_data_count) {
                malformed(v, "data count section required");
                return false;
            }
            if (sub == 8 && !memory_ok(v, 0))
                return false;
            if (seg >= m->data_count) {
                invalid(v, "unknown data segment");
                return false;
            }
            if (sub == 8) {
                pop_expect(v, WAFT_I32);
                pop_expect(v, WAFT_I32);
                pop_expect(v, WAFT_I32);
            }
            if (live(v)) {
                emit_op(v, sub == 8 ? OP_MEMORY_INIT : OP_DATA_DROP);
                emit_cell(v, seg);
            }
            break;
        }
        case 10: /* memory.copy */
        case 11: /* memory.fill */
            zero_byte(v);
            if (sub == 10)
                zero_byte(v);
            if (failed(v) || !memory_ok(v, 0))
                return false;
            pop_expect(v, WAFT_I32);
            pop_expect(v, sub == 10 ? WAFT_I32 : WAFT_I32);
            pop_expect(v, WAFT_I32);
            if (live(v))
                emit_op(v, sub == 10 ? OP_MEMORY_COPY : OP_MEMORY_FILL);
            break;
        case 12: /* table.init elem table */ {
            uint32_t seg = base_read_u32(&v->r);
            uint32_t tab = base_read_u32(&v->r);
            if (!reader_ok(v))
                return false;
            const dec_table *t = table_at(v, tab);
            if (!t)
                return false;
            if (seg >= m->nelems) {
                invalid(v, "unknown elem segment");
                return false;
            }
            if (m->elems[seg].type != t->elem_type) {
                invalid(v, "type mismatch: element segment and table types differ");
                return false;
            }
            pop_expect(v, WAFT_I32);
            pop_expect(v, WAFT_I32);
            pop_expect(v, WAFT_I32);
            if (live(v)) {
                emit_op(v, OP_TABLE_INIT);
                emit_cell(v, tab);
                emit_cell(v, seg);
            }
            break;
        }
        case 13: /* elem.drop */ {
            uint32_t seg = base_read_u32(&v->r);
            if (!reader_ok(v))
                return false;
            if (seg >= m->nelems) {
                invalid(v, "unknown elem segment");
                return false;
            }
            if (live(v)) {
                emit_op(v, OP_ELEM_DROP);
                emit_cell(v, seg);
            }
            break;
        }
        case 14: /* table.copy dst src */ {
            uint32_t dst = base_read_u32(&v->r);
            uint32_t src = base_read_u32(&v->r);
            if (!reader_ok(v))
                return false;
            const dec_table *td = table_at(v, dst);
            const dec_table *ts = td ? table_at(v, src) : NULL;
            if (!ts)
                return false;
            if (td->elem_type != ts->elem_type) {
                invalid(v, "type mismatch: table.copy between tables of different types");
                return false;
            }
            pop_expect(v, WAFT_I32);
            pop_expect(v, WAFT_I32);
            pop_expect(v, WAFT_I32);
            if (live(v)) {
                emit_op(v, OP_TABLE_COPY);
                emit_cell(v, dst);
                emit_cell(v, src);
            }
            break;
        }
        case 15: /* table.grow */
        case 16: /* table.size */
        case 17: /* table.fill */ {
            uint32_t tab = base_read_u32(&v->r);
            if (!reader_ok(v))
                return false;
            const dec_table *t = table_at(v, tab);
            if (!t)
                return false;
            if (sub == 15) {
                pop_expect(v, WAFT_I32);
                pop_expect(v, t->elem_type);
            } else if (sub == 17) {
                pop_expect(v, WAFT_I32);
                pop_expect(v, t->elem_type);
                pop_expect(v, WAFT_I32);
            }
            if (live(v)) {
                emit_op(v, sub == 15 ? OP_TABLE_GROW : sub == 16 ? OP_TABLE_SIZE : OP_TABLE_FILL);
                emit_cell(v, tab);
            }
            if (sub != 17)
                push(v, WAFT_I32);
            break;
        }
        default:
            malformed(v, "illegal opcode");
            return false;
        }
        break;
    }
    default:
        if (num_table[op].r) {
            do_numeric(v, &num_table[op]);
            break;
        }
        malformed(v, "illegal opcode");
        return false;
    }
    return !failed(v);
}

/* ==== Function bodies ==== */

static waft_result lower_function(vctx *v, uint32_t defined, icode_func *out)
{
    waft_module *m = v->m;
    uint32_t fidx = m->nfunc_imports + defined;
    const dec_functype *ft = dec_func_type(m, fidx);
    const dec_code *code = &m->codes[defined];
    v->func = fidx;
    v->nvals = v->max_vals = 0;
    v->nctls = 0;
    v->ncode = 0;
    v->nmap = 0;
    v->nlocals = ft->nparams + code->nlocals;
    if (!base_grow(v->a, (void **)&v->local_types, &v->cap_locals, v->nlocals + 1, 1)) {
        nomem(v);
        return v->result;
    }
    if (ft->nparams)
        memcpy(v->local_types, ft->types, ft->nparams);
    if (code->nlocals)
        memcpy(v->local_types + ft->nparams, code->local_types, code->nlocals);
    base_reader_init(&v->r, m->bytes, m->bytes + code->body_off, m->bytes + code->body_end);
    v->instr_off = code->body_off;

    ctl shape = { 0 };
    shape.nresults = ft->nresults;
    shape.results = ft->types + ft->nparams;
    push_ctl(v, CTL_FUNC, &shape, false);
    for (;;) {
        if (v->stop_at == (uint32_t)base_reader_offset(&v->r) && !failed(v)) {
            v->stopped = true;
            return WAFT_OK;
        }
        if (failed(v) || !step(v) || v->nctls == 0)
            break;
    }
    if (failed(v))
        return v->result;
    if (v->nctls != 0) {
        malformed(v, "unexpected end of function body (END opcode expected)");
        return v->result;
    }
    if (v->r.p != v->r.end) {
        malformed(v, "section size mismatch: bytes after the function's final end");
        return v->result;
    }
    out->nparams = ft->nparams;
    out->nresults = ft->nresults;
    out->nlocals = v->nlocals;
    uint64_t height = (uint64_t)v->nlocals + v->max_vals + 1;
    if (height > UINT32_MAX / 2) {
        fail_code(v, WAFT_ERR_LIMIT, "function needs too many stack slots");
        return v->result;
    }
    out->max_height = (uint32_t)height;
    out->len = v->ncode;
    out->code = base_malloc(v->a, (size_t)v->ncode * sizeof *out->code);
    out->nmap = v->nmap;
    out->map = base_malloc(v->a, (size_t)(v->nmap ? v->nmap : 1) * sizeof *out->map);
    if (!out->code || !out->map) {
        nomem(v);
        return v->result;
    }
    memcpy(out->code, v->code, (size_t)v->ncode * sizeof *out->code);
    if (v->nmap)
        memcpy(out->map, v->map, (size_t)v->nmap * sizeof *out->map);
    return WAFT_OK;
}

/* ==== Module-level rules ==== */

static void check_limits(vctx *v, const dec_limits *l, uint64_t bound, const char *what)
{
    char msg[120];
    if (l->min > bound || (l->has_max && l->max > bound)) {
        if (bound == DEC_MAX_PAGES)
            snprintf(msg, sizeof msg, "memory size must be at most 65536 pages (4GiB)");
        else
            snprintf(msg, sizeof msg, "%s size must be at most %llu", what,
                     (unsigned long long)bound);
        invalid(v, msg);
        return;
    }
    if (l->has_max && l->min > l->max)
        invalid(v, "size minimum must not be greater than maximum");
}

/* True if `op` starts some instruction of the supported feature set. */
static bool known_opcode(uint8_t op)
{
    if (num_table[op].r)
        return true;
    return op <= 0x05 || (op >= 0x0B && op <= 0x11) || (op >= 0x1A && op <= 0x1C) ||
           (op >= 0x20 && op <= 0x26) || (op >= 0x28 && op <= 0x44) || op == 0xAD ||
           (op >= 0xBC && op <= 0xBF) || (op >= 0xD0 && op <= 0xD2) || op == 0xFC;
}

/* Validates a constant expression of type `want` (spec 3.3.10 with 2.0's context C': only
 * imported globals are visible). */
static void const_expr(vctx *v, uint32_t off, uint32_t len, uint8_t want)
{
    waft_module *m = v->m;
    base_reader_init(&v->r, m->bytes, m->bytes + off, m->bytes + off + len);
    uint8_t stack[4];
    uint32_t n = 0;
    for (;;) {
        v->instr_off = (uint32_t)base_reader_offset(&v->r);
        uint8_t op = base_read_u8(&v->r);
        if (!reader_ok(v))
            return;
        uint8_t t = 0;
        switch (op) {
        case 0x0B:
            if (n != 1 || (stack[0] != want)) {
                invalid(v, "type mismatch in constant expression");
            }
            if (v->r.p != v->r.end && !failed(v))
                malformed(v, "unexpected end in constant expression");
            return;
        case 0x41:
            base_read_s32(&v->r);
            t = WAFT_I32;
            break;
        case 0x42:
            base_read_s64(&v->r);
            t = WAFT_I64;
            break;
        case 0x43:
            base_read_fixed32(&v->r);
            t = WAFT_F32;
            break;
        case 0x44:
            base_read_fixed64(&v->r);
            t = WAFT_F64;
            break;
        case 0xD0:
            t = base_read_u8(&v->r);
            if (reader_ok(v) && !dec_is_reftype(t)) {
                malformed(v, "malformed reference type");
                return;
            }
            break;
        case 0xD2: {
            uint32_t f = base_read_u32(&v->r);
            if (reader_ok(v) && f >= m->nfuncs) {
                invalid(v, "unknown function");
                return;
            }
            t = WAFT_FUNCREF;
            break;
        }
        case 0x23: {
            uint32_t g = base_read_u32(&v->r);
            if (!reader_ok(v))
                return;
            if (g >= m->nglobal_imports) {
                invalid(v, "unknown global");
                return;
            }
            if (m->globals[g].mutable_) {
                invalid(v, "constant expression required");
                return;
            }
            t = m->globals[g].type;
            break;
        }
        default:
            if (known_opcode(op))
                invalid(v, "constant expression required");
            else
                malformed(v, "illegal opcode");
            return;
        }
        if (!reader_ok(v))
            return;
        if (n == sizeof stack) {
            invalid(v, "type mismatch in constant expression");
            return;
        }
        stack[n++] = t;
    }
}

/* Marks function indices referenced outside function bodies (spec 3.4.10: C.refs). */
static void collect_refs(vctx *v)
{
    waft_module *m = v->m;
    m->func_declared = base_calloc(v->a, m->nfuncs ? m->nfuncs : 1, 1);
    if (!m->func_declared) {
        nomem(v);
        return;
    }
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == WAFT_EXTERN_FUNC && m->exports[i].index < m->nfuncs)
            m->func_declared[m->exports[i].index] = true;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const dec_elem *e = &m->elems[i];
        for (uint32_t k = 0; k < e->count; k++) {
            if (!e->exprs) {
                if (e->funcs[k] < m->nfuncs)
                    m->func_declared[e->funcs[k]] = true;
                continue;
            }
            const uint8_t *p = m->bytes + e->expr_off[2 * k];
            if (e->expr_off[2 * k + 1] >= 2 && p[0] == 0xD2) {
                base_reader r;
                base_reader_init(&r, m->bytes, p + 1, p + e->expr_off[2 * k + 1]);
                uint32_t f = base_read_u32(&r);
                if (!r.failed && f < m->nfuncs)
                    m->func_declared[f] = true;
            }
        }
    }
    for (uint32_t g = m->nglobal_imports; g < m->nglobals; g++) {
        const uint8_t *p = m->bytes + m->globals[g].init_off;
        if (m->globals[g].init_len >= 2 && p[0] == 0xD2) {
            base_reader r;
            base_reader_init(&r, m->bytes, p + 1, p + m->globals[g].init_len);
            uint32_t f = base_read_u32(&r);
            if (!r.failed && f < m->nfuncs)
                m->func_declared[f] = true;
        }
    }
}

static void module_rules(vctx *v)
{
    waft_module *m = v->m;
    for (uint32_t i = 0; i < m->nimports && !failed(v); i++) {
        v->instr_off = m->imports[i].off;
        if (m->imports[i].kind == WAFT_EXTERN_FUNC &&
            m->func_types[m->imports[i].index] >= m->ntypes)
            invalid(v, "unknown type");
    }
    for (uint32_t f = m->nfunc_imports; f < m->nfuncs && !failed(v); f++) {
        v->instr_off = m->func_type_off[f - m->nfunc_imports];
        if (m->func_types[f] >= m->ntypes)
            invalid(v, "unknown type");
    }
    v->instr_off = m->section_off[4];
    for (uint32_t i = 0; i < m->ntables && !failed(v); i++)
        check_limits(v, &m->tables[i].limits, UINT32_MAX, "table");
    v->instr_off = m->section_off[5];
    if (m->nmemories > 1)
        invalid(v, "multiple memories");
    for (uint32_t i = 0; i < m->nmemories && !failed(v); i++)
        check_limits(v, &m->memories[i], DEC_MAX_PAGES, "memory");
    for (uint32_t g = m->nglobal_imports; g < m->nglobals && !failed(v); g++)
        const_expr(v, m->globals[g].init_off, m->globals[g].init_len, m->globals[g].type);
    for (uint32_t i = 0; i < m->nexports && !failed(v); i++) {
        const dec_export *e = &m->exports[i];
        v->instr_off = e->off;
        uint32_t bound = e->kind == WAFT_EXTERN_FUNC     ? m->nfuncs
                         : e->kind == WAFT_EXTERN_TABLE  ? m->ntables
                         : e->kind == WAFT_EXTERN_MEMORY ? m->nmemories
                                                         : m->nglobals;
        if (e->index >= bound) {
            static const char *const what[] = { "unknown function", "unknown table",
                                                "unknown memory", "unknown global" };
            invalid(v, what[e->kind]);
        }
        for (uint32_t k = 0; k < i && !failed(v); k++)
            if (m->exports[k].name_len == e->name_len &&
                memcmp(m->exports[k].name, e->name, e->name_len) == 0)
                invalid(v, "duplicate export name");
    }
    v->instr_off = m->section_off[8];
    if (m->has_start && !failed(v)) {
        if (m->start >= m->nfuncs)
            invalid(v, "unknown function");
        else if (dec_func_type(m, m->start)->nparams || dec_func_type(m, m->start)->nresults)
            invalid(v, "start function must have type [] -> []");
    }
    for (uint32_t i = 0; i < m->nelems && !failed(v); i++) {
        const dec_elem *e = &m->elems[i];
        v->instr_off = e->mode == DEC_SEG_ACTIVE ? e->offset_off : m->section_off[9];
        if (e->mode == DEC_SEG_ACTIVE) {
            if (e->table >= m->ntables) {
                invalid(v, "unknown table");
                break;
            }
            if (m->tables[e->table].elem_type != e->type) {
                invalid(v, "type mismatch: element segment and table types differ");
                break;
            }
            const_expr(v, e->offset_off, e->offset_len, WAFT_I32);
        }
        for (uint32_t k = 0; k < e->count && !failed(v); k++) {
            if (e->exprs)
                const_expr(v, e->expr_off[2 * k], e->expr_off[2 * k + 1], e->type);
            else if (e->funcs[k] >= m->nfuncs)
                invalid(v, "unknown function");
        }
    }
    for (uint32_t i = 0; i < m->ndatas && !failed(v); i++) {
        const dec_data *d = &m->datas[i];
        if (d->mode != DEC_SEG_ACTIVE)
            continue;
        v->instr_off = d->offset_off;
        if (d->memory >= m->nmemories) {
            invalid(v, "unknown memory");
            break;
        }
        const_expr(v, d->offset_off, d->offset_len, WAFT_I32);
    }
}

waft_result val_module(waft_module *m, waft_error *err)
{
    vctx v = {
        .m = m, .a = m->alloc, .err = err, .result = WAFT_OK, .func = -1, .stop_at = UINT32_MAX
    };
    base_reader_init(&v.r, m->bytes, m->bytes, m->bytes);
    module_rules(&v);
    if (!failed(&v))
        collect_refs(&v);
    uint32_t ndefined = m->nfuncs - m->nfunc_imports;
    if (!failed(&v) && ndefined) {
        m->icode = base_calloc(v.a, ndefined, sizeof *m->icode);
        if (!m->icode)
            nomem(&v);
    }
    for (uint32_t i = 0; i < ndefined && !failed(&v); i++)
        lower_function(&v, i, &m->icode[i]);
    base_free(v.a, v.vals);
    base_free(v.a, v.ctls);
    base_free(v.a, v.scratch);
    base_free(v.a, v.code);
    base_free(v.a, v.map);
    base_free(v.a, v.local_types);
    if (!failed(&v))
        m->validated = true;
    return v.result;
}

waft_result val_stack_at(const waft_module *m, uint32_t func, uint32_t offset, uint8_t *types,
                         uint32_t cap, uint32_t *out_n)
{
    *out_n = 0;
    if (!m->validated || func < m->nfunc_imports || func >= m->nfuncs)
        return WAFT_ERR_INVALID_ARG;
    const dec_code *code = &m->codes[func - m->nfunc_imports];
    if (offset < code->body_off || offset >= code->body_end)
        return WAFT_ERR_NOT_FOUND;
    /* lowering does not modify the module; it only reads it */
    vctx v = { .m = (waft_module *)m,
               .a = m->alloc,
               .err = NULL,
               .result = WAFT_OK,
               .func = (int64_t)func,
               .stop_at = offset };
    icode_func scratch = { 0 };
    waft_result r = lower_function(&v, func - m->nfunc_imports, &scratch);
    waft_result out = WAFT_OK;
    if (r != WAFT_OK || !v.stopped)
        out = WAFT_ERR_NOT_FOUND; /* not an instruction boundary */
    else if (!live(&v))
        out = WAFT_ERR_NOT_FOUND; /* unreachable code: no execution can stop there */
    else if (v.nvals > cap)
        out = WAFT_ERR_LIMIT;
    else {
        if (v.nvals)
            memcpy(types, v.vals, v.nvals);
        *out_n = v.nvals;
    }
    base_free(v.a, scratch.code);
    base_free(v.a, scratch.map);
    base_free(v.a, v.vals);
    base_free(v.a, v.ctls);
    base_free(v.a, v.scratch);
    base_free(v.a, v.code);
    base_free(v.a, v.map);
    base_free(v.a, v.local_types);
    return out;
}

void val_module_release(waft_module *m)
{
    if (!m->icode)
        return;
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) {
        base_free(m->alloc, m->icode[i].code);
        base_free(m->alloc, m->icode[i].map);
    }
    base_free(m->alloc, m->icode);
    m->icode = NULL;
}

/* ==== icode helpers ==== */

static const int8_t op_imms[] = {
#define OP(name, nimm)                          nimm,
#define NUM(name, wasm, a, b, r)                0,
#define MEM(name, wasm, t, align, width, store) 1,
#include "validate/opcodes.def"
};

static const char *const op_names[] = {
#define OP(name, nimm)                          #name,
#define NUM(name, wasm, a, b, r)                #name,
#define MEM(name, wasm, t, align, width, store) #name,
#include "validate/opcodes.def"
};

uint32_t icode_length(const uint32_t *code)
{
    if (code[0] == OP_BR_TABLE)
        return 2 + 3 * (code[1] + 1);
    return 1 + (uint32_t)op_imms[code[0]];
}

const char *icode_name(icode_op op)
{
    return (unsigned)op < OP_COUNT_ ? op_names[op] : "?";
}

uint32_t icode_offset_of(const icode_func *f, uint32_t pc)
{
    uint32_t lo = 0, hi = f->nmap;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->map[mid].pc <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? f->map[lo - 1].offset : (f->nmap ? f->map[0].offset : 0);
}

bool icode_pc_of(const icode_func *f, uint32_t offset, uint32_t *out_pc)
{
    uint32_t lo = 0, hi = f->nmap;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->map[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < f->nmap && f->map[lo].offset == offset) {
        *out_pc = f->map[lo].pc;
        return true;
    }
    return false;
}
