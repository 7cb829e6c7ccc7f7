/* SPDX-License-Identifier: MIT */
/* emit.c - the AOT translator: a validated module's icode to one C file.
 *
 * Each defined function becomes one C function over the slots of its interpreter frame
 * (abi.h): slot i is the variable v<i>, so locals and operand values are C variables the C
 * compiler keeps in registers, branches are gotos, br_table a switch. The numeric and
 * memory instructions are written from the same table the interpreter's handlers are made
 * of (interp/semantics.def, stringified here), with the same helpers (interp/numeric.h,
 * copied into the output), so the tiers compute the same bits.
 *
 * Invariants:
 *  - The translation reads icode only (the counting code, never the fused one): every pc
 *    the output names is an interpreter pc of the same function, so an unwound frame is an
 *    interpreter frame.
 *  - Operand heights are recomputed from the code: linear order, branch targets recorded
 *    when a live branch reaches them; code no live path reaches is not emitted.
 *  - Anything the output does not do itself (a trap, table instructions, memory.init, calls
 *    the runtime cannot make directly) becomes a handoff: the frame unwinds to exactly
 *    before that instruction and the interpreter executes it.
 */
#include "aot/aot.h"

#include "base/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "aot_prelude.h" /* generated: static const char aot_prelude[] (Makefile) */

/* ==== The semantic table, as text ==== */

enum sem_kind {
    K_NONE,
    K_LOAD,
    K_STORE,
    K_UN,
    K_BIN,
    K_CMP,
    K_FBIN,
    K_DBIN,
    K_FCMP,
    K_DCMP,
    K_FUN,
    K_DUN,
    K_CHECKED,
    K_TRUNC,
    K_TRUNC_SAT,
    K_DEMOTE,
    K_PROMOTE
};

typedef struct sem_entry {
    uint8_t kind;
    uint8_t width;  /* loads and stores */
    const char *t;  /* operand type */
    const char *r;  /* result type (UN) */
    const char *ex; /* expression, statement, helper name or kind */
} sem_entry;

/* Filled at compile time (designated initializers), so threads can share it. */
static const sem_entry sems[OP_COUNT_] = {
#define LOAD(name, w, expr)   [OP_##name] = { K_LOAD, w, NULL, NULL, #expr },
#define STORE(name, w, stmt)  [OP_##name] = { K_STORE, w, NULL, NULL, #stmt },
#define UN(name, T, R, expr)  [OP_##name] = { K_UN, 0, #T, #R, #expr },
#define BIN(name, T, expr)    [OP_##name] = { K_BIN, 0, #T, NULL, #expr },
#define CMP(name, T, expr)    [OP_##name] = { K_CMP, 0, #T, NULL, #expr },
#define FBIN(name, expr)      [OP_##name] = { K_FBIN, 0, NULL, NULL, #expr },
#define DBIN(name, expr)      [OP_##name] = { K_DBIN, 0, NULL, NULL, #expr },
#define FCMP(name, expr)      [OP_##name] = { K_FCMP, 0, NULL, NULL, #expr },
#define DCMP(name, expr)      [OP_##name] = { K_DCMP, 0, NULL, NULL, #expr },
#define FUN(name, expr)       [OP_##name] = { K_FUN, 0, NULL, NULL, #expr },
#define DUN(name, expr)       [OP_##name] = { K_DUN, 0, NULL, NULL, #expr },
#define CHECKED(name, fn)     [OP_##name] = { K_CHECKED, 0, NULL, NULL, #fn },
#define TRUNC(name, kind)     [OP_##name] = { K_TRUNC, 0, NULL, NULL, #kind },
#define TRUNC_SAT(name, kind) [OP_##name] = { K_TRUNC_SAT, 0, NULL, NULL, #kind },
#define DEMOTE(name, expr)    [OP_##name] = { K_DEMOTE, 0, NULL, NULL, #expr },
#define PROMOTE(name, expr)   [OP_##name] = { K_PROMOTE, 0, NULL, NULL, #expr },
#include "interp/semantics.def"
};

void aot_translator_digest(base_sha256 *h)
{
    base_sha256_update(h, aot_prelude, strlen(aot_prelude));
    base_sha256_update(h, aot_translator_id, strlen(aot_translator_id));
    for (size_t i = 0; i < OP_COUNT_; i++) {
        const sem_entry *e = &sems[i];
        uint8_t head[2] = { e->kind, e->width };
        base_sha256_update(h, head, 2);
        const char *texts[3] = { e->t, e->r, e->ex };
        for (int k = 0; k < 3; k++)
            if (texts[k])
                base_sha256_update(h, texts[k], strlen(texts[k]) + 1);
    }
}

/* ==== Output buffer ==== */

typedef struct out {
    base_alloc *a;
    char *p;
    size_t len, cap;
    bool failed;
} out;

static void put(out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if (o->p && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap ? o->cap : 1 << 16;
        while (cap - o->len <= (size_t)n)
            cap *= 2;
        char *np = base_realloc(o->a, o->p, cap);
        if (!np) {
            o->failed = true;
            return;
        }
        o->p = np;
        o->cap = cap;
    }
}

/* ==== Heights ==== */

#define NO_HEIGHT UINT32_MAX
/* Slots times reachable instructions above which a function keeps its slots in its frame
 * rather than in C variables (see emit_func). */
#define AOT_REGISTER_BUDGET 250000u

typedef struct fn_info {
    const waft_module *m;
    const icode_func *f;
    uint32_t *height; /* per cell: operand height before the instruction there, or NO_HEIGHT */
    bool *target;     /* per cell: some branch jumps here */
    const char *const *const *lconv; /* per local: NULL (raw bits) or local_f64/local_f32 */
    uint32_t fid;                    /* its module function index */
} fn_info;

/* Float locals are float C variables, so float code through locals stays in float
 * registers; the frame and operand slots hold raw bits, converted where they meet (moves
 * keep every bit, NaN payloads included). One entry per kind: C type, from bits, to bits. */
static const char *const local_f64[3] = { "double", "f64_of", "bits_f64" };
static const char *const local_f32[3] = { "float", "f32_of", "bits_f32" };

/* v<i> as raw bits, for a slot or local i. */
static void put_bits(out *o, const fn_info *fi, uint32_t i)
{
    const char *const *k = fi->lconv && i < fi->f->nlocals ? fi->lconv[i] : NULL;
    if (k)
        put(o, "%s(v%u)", k[2], i);
    else
        put(o, "v%u", i);
}

static const dec_functype *type_of_call(const waft_module *m, const uint32_t *ins)
{
    if (ins[0] == OP_CALL)
        return dec_func_type(m, ins[1]);
    return &m->types[ins[1]];
}

/* Operands an instruction of the semantic table pops; it pushes one result, but a store. */
static uint32_t sem_pops(uint8_t kind)
{
    switch (kind) {
    case K_STORE:
    case K_BIN:
    case K_CMP:
    case K_FBIN:
    case K_DBIN:
    case K_FCMP:
    case K_DCMP:
    case K_CHECKED:
        return 2;
    default:
        return 1; /* loads and unary operations */
    }
}

/* Records that a live branch reaches `target` with height h. */
static void reach(fn_info *fi, uint32_t target, uint32_t h)
{
    if (target < fi->f->len) {
        fi->target[target] = true;
        if (fi->height[target] == NO_HEIGHT)
            fi->height[target] = h;
    }
}

/* Height after the instruction at pc (entered at height h), recording branch targets;
 * NO_HEIGHT after an unconditional transfer. */
static uint32_t step(fn_info *fi, uint32_t pc, uint32_t h)
{
    const uint32_t *ins = fi->f->code + pc;
    icode_op op = (icode_op)ins[0];
    const sem_entry *se = &sems[op];
    switch (op) {
    case OP_UNREACHABLE:
    case OP_RETURN:
        return NO_HEIGHT;
    case OP_BR:
        reach(fi, ins[1], h);
        return NO_HEIGHT;
    case OP_BR_KEEP:
        reach(fi, ins[1], h - ins[3]);
        return NO_HEIGHT;
    case OP_BR_IF:
    case OP_BR_UNLESS:
        reach(fi, ins[1], h - 1);
        return h - 1;
    case OP_BR_IF_KEEP:
        reach(fi, ins[1], h - 1 - ins[3]);
        return h - 1;
    case OP_BR_TABLE:
        for (uint32_t i = 0; i <= ins[1]; i++)
            reach(fi, ins[2 + 3 * i], h - 1 - ins[2 + 3 * i + 2]);
        return NO_HEIGHT;
    case OP_CALL:
    case OP_CALL_INDIRECT: {
        const dec_functype *t = type_of_call(fi->m, ins);
        return h - (op == OP_CALL_INDIRECT) - t->nparams + t->nresults;
    }
    case OP_LOOP_POLL:
        fi->target[pc] = true; /* the interpreter may hand the activation back here */
        return h;
    case OP_LOCAL_TEE:
    case OP_TABLE_GET:
    case OP_MEMORY_GROW:
    case OP_DATA_DROP:
    case OP_ELEM_DROP:
    case OP_REF_IS_NULL:
        return h;
    case OP_DROP:
    case OP_LOCAL_SET:
    case OP_GLOBAL_SET:
    case OP_TABLE_GROW:
        return h - 1;
    case OP_SELECT:
    case OP_TABLE_SET:
        return h - 2;
    case OP_LOCAL_GET:
    case OP_GLOBAL_GET:
    case OP_CONST32:
    case OP_CONST64:
    case OP_MEMORY_SIZE:
    case OP_TABLE_SIZE:
    case OP_REF_FUNC:
        return h + 1;
    case OP_MEMORY_INIT:
    case OP_MEMORY_COPY:
    case OP_MEMORY_FILL:
    case OP_TABLE_INIT:
    case OP_TABLE_COPY:
    case OP_TABLE_FILL:
        return h - 3;
    default:
        break;
    }
    return h - sem_pops(se->kind) + (se->kind != K_STORE);
}

/* ==== Emission of one function ==== */

#define V(i) (i)

static void handoff(out *o, uint32_t pc, uint32_t live)
{
    put(o, "{ hp = %u; hn = %u; goto spill; }", pc, live);
}

/* The handoff of a caller whose callee unwound: the callee set the frame count. */
static void handoff_after_call(out *o, uint32_t pc, uint32_t live)
{
    put(o, "{ hp = %u; hn = %u; goto spill_caller; }", pc, live);
}

/* Moves `keep` values from the top down by `drop` (t: one past the top slot). */
static void moves(out *o, uint32_t t, uint32_t keep, uint32_t drop)
{
    if (!drop)
        return;
    for (uint32_t i = 0; i < keep; i++)
        put(o, " v%u = v%u;", t - drop - keep + i, t - keep + i);
}

/* Before a call whose callee's frame starts at slot k and uses `maxh` slots (a C
 * expression): the interpreter makes it (and traps) when the frame stack or the value
 * stack would overflow, with the interpreter's own limits. */
static void emit_call_check(out *o, uint32_t pc, uint32_t t, uint32_t k, const char *maxh)
{
    put(o,
        "        if (WAFT_AOT_UNLIKELY(fi + 1 >= c->max_frames || (uint64_t)(c->stack_end - S) < "
        "%uu + (uint64_t)(%s)))\n            ",
        k, maxh);
    handoff(o, pc, t);
}

/* A call of a compiled function: `fn` is a C expression naming it, `maxh` its slots; `t`
 * one past the top slot before the instruction (the arguments start at k). */
static void emit_direct_call(out *o, uint32_t pc, uint32_t after, uint32_t t, uint32_t k,
                             const dec_functype *ty, const char *fn, const char *maxh,
                             const char *func_id)
{
    put(o, "    {\n        uint32_t n_ = fi + 1, cfp_ = (uint32_t)(S - c->stack) + %u;\n", k);
    emit_call_check(o, pc, t, k, maxh);
    put(o, "\n       ");
    for (uint32_t i = 0; i < ty->nparams; i++)
        put(o, " S[%u] = v%u;", k + i, k + i);
    put(o, "\n        c->frames[n_].func = %s;\n        c->frames[n_].fp = cfp_;\n", func_id);
    put(o, "        c->frames[n_].pc = 0;\n        c->frames[n_].sp = cfp_;\n");
    put(o, "        *c->nframes = n_ + 1;\n");
    put(o, "        if (WAFT_AOT_UNLIKELY(%s(c, S + %u, 0) != WAFT_AOT_RETURNED))\n            ",
        fn, k);
    handoff_after_call(o, after, k);
    put(o, "\n       ");
    for (uint32_t i = 0; i < ty->nresults; i++)
        put(o, " v%u = S[%u];", k + i, k + i);
    put(o, "\n        RELOAD();\n    }\n");
}

/* A call of defined function `d` through its direct entry (dN): arguments and the first
 * result in registers, the status with the result. Nothing is written to the frame stack:
 * the callee writes its frame, and the frame count, only if it unwinds (spill). */
static void emit_fast_call(out *o, const waft_module *m, uint32_t pc, uint32_t after, uint32_t t,
                           uint32_t k, const dec_functype *ty, uint32_t d)
{
    char maxh[16];
    snprintf(maxh, sizeof maxh, "%uu", m->icode[d].max_height);
    put(o, "    {\n");
    emit_call_check(o, pc, t, k, maxh);
    put(o, "\n        waft_aot_ret r_ = d%u(c, S + %u, fi + 1", d, k);
    for (uint32_t i = 0; i < ty->nparams; i++)
        put(o, ", v%u", k + i);
    put(o, ");\n        if (WAFT_AOT_UNLIKELY(r_.status != WAFT_AOT_RETURNED))\n            ");
    handoff_after_call(o, after, k);
    put(o, "\n       ");
    if (ty->nresults)
        put(o, " v%u = r_.value;", k);
    for (uint32_t i = 1; i < ty->nresults; i++)
        put(o, " v%u = S[%u];", k + i, k + i);
    put(o, "\n        RELOAD();\n    }\n");
}

/* ==== NaNs nobody can see ====
 *
 * A float result is canonicalized (NUM_PUT_F32/F64) so that a NaN's bits are the same on
 * every host. Only its consumer can look at those bits, and some consumers cannot: another
 * float operation whose own result is canonicalized (any NaN in, the canonical NaN out),
 * a float comparison, a saturating truncation. When the value reaches such a consumer with
 * nothing in between that could stop the code (no branch, label, call, trap or handoff, so
 * the value is never written to the frame either), the producer skips the step: the
 * results, and every frame an image can hold, are the interpreter's. */

/* How many operands an instruction of the straight-line kinds pops, or -1 for any other
 * instruction (the scan below stops there). */
static int pure_pops(const uint32_t *ins)
{
    switch ((icode_op)ins[0]) {
    case OP_LOCAL_GET:
    case OP_GLOBAL_GET:
    case OP_CONST32:
    case OP_CONST64:
        return 0;
    default:
        break;
    }
    uint8_t kind = sems[ins[0]].kind;
    bool may_stop = kind == K_NONE || kind == K_LOAD || kind == K_STORE || kind == K_CHECKED ||
                    kind == K_TRUNC; /* traps, or not in the table */
    return may_stop ? -1 : (int)sem_pops(kind);
}

static bool nan_blind(uint8_t kind)
{
    return kind == K_FBIN || kind == K_DBIN || kind == K_FUN || kind == K_DUN || kind == K_DEMOTE ||
           kind == K_PROMOTE || kind == K_FCMP || kind == K_DCMP || kind == K_TRUNC_SAT;
}

/* True if the float result the instruction at pc leaves in slot r (one past: r + 1 is the
 * height after it) is consumed by a NaN-blind instruction through straight-line code. */
static bool result_unseen(const fn_info *fi, uint32_t pc, uint32_t r)
{
    const icode_func *f = fi->f;
    uint32_t h = r + 1;
    for (uint32_t q = pc + icode_length(f->code + pc); q < f->len; q += icode_length(f->code + q)) {
        if (fi->target[q])
            return false;
        int pops = pure_pops(f->code + q);
        if (pops < 0)
            return false;
        if (h - (uint32_t)pops <= r)
            return nan_blind(sems[f->code[q]].kind);
        h = h - (uint32_t)pops + 1;
    }
    return false;
}

static void emit_sem(out *o, const fn_info *fi, const sem_entry *se, const uint32_t *ins,
                     uint32_t pc, uint32_t t)
{
    uint32_t a = t - 1; /* unary operand / binary right operand */
    const uint32_t nl = fi->f->nlocals;
    /* where the result goes: the left operand's slot (binary) or the operand's (unary) */
    uint32_t dst = se->kind == K_FBIN || se->kind == K_DBIN ? a - 1 : a;
    if ((se->kind == K_FBIN || se->kind == K_DBIN || se->kind == K_FUN || se->kind == K_DUN ||
         se->kind == K_DEMOTE || se->kind == K_PROMOTE) &&
        result_unseen(fi, pc, dst - nl)) {
        bool f32 = se->kind == K_FBIN || se->kind == K_FUN || se->kind == K_DEMOTE;
        const char *in =
            se->kind == K_FBIN || se->kind == K_FUN || se->kind == K_PROMOTE ? "float" : "double";
        const char *of = in[0] == 'f' ? "f32_of" : "f64_of";
        if (se->kind == K_FBIN || se->kind == K_DBIN)
            put(o, "    { %s b = %s(v%u), a = %s(v%u); v%u = bits_%s(%s); }\n", in, of, a, of,
                a - 1, dst, f32 ? "f32" : "f64", se->ex);
        else
            put(o, "    { %s a = %s(v%u); v%u = bits_%s(%s); }\n", in, of, a, dst,
                f32 ? "f32" : "f64", se->ex);
        return;
    }
    switch (se->kind) {
    case K_LOAD:
        put(o,
            "    { uint64_t ea = (uint64_t)(uint32_t)v%u + %uu; if (WAFT_AOT_UNLIKELY(ea + %u > "
            "memsize)) ",
            a, ins[1], se->width);
        handoff(o, pc, t);
        put(o, " const uint8_t *p = mem + ea; v%u = (%s); }\n", a, se->ex);
        break;
    case K_STORE:
        put(o,
            "    { uint64_t v = v%u; uint64_t ea = (uint64_t)(uint32_t)v%u + %uu; if "
            "(WAFT_AOT_UNLIKELY(ea + %u > memsize)) ",
            a, a - 1, ins[1], se->width);
        handoff(o, pc, t);
        put(o,
            " uint8_t *p = mem + ea; %s; if (WAFT_AOT_UNLIKELY(marks != NULL)) "
            "waft_aot_mark(marks, ea, %u); }\n",
            se->ex, se->width);
        break;
    case K_UN:
        put(o, "    { %s a = (%s)v%u; v%u = (%s)(%s); }\n", se->t, se->t, a, a, se->r, se->ex);
        break;
    case K_BIN:
        put(o, "    { %s b = (%s)v%u, a = (%s)v%u; v%u = (%s)(%s); }\n", se->t, se->t, a, se->t,
            a - 1, a - 1, se->t, se->ex);
        break;
    case K_CMP:
        put(o, "    { %s b = (%s)v%u, a = (%s)v%u; v%u = (uint32_t)(%s); }\n", se->t, se->t, a,
            se->t, a - 1, a - 1, se->ex);
        break;
    case K_FBIN:
        put(o, "    { float b = f32_of(v%u), a = f32_of(v%u); NUM_PUT_F32(&v%u, %s); }\n", a, a - 1,
            a - 1, se->ex);
        break;
    case K_DBIN:
        put(o, "    { double b = f64_of(v%u), a = f64_of(v%u); NUM_PUT_F64(&v%u, %s); }\n", a,
            a - 1, a - 1, se->ex);
        break;
    case K_FCMP:
        put(o, "    { float b = f32_of(v%u), a = f32_of(v%u); v%u = (uint32_t)(%s); }\n", a, a - 1,
            a - 1, se->ex);
        break;
    case K_DCMP:
        put(o, "    { double b = f64_of(v%u), a = f64_of(v%u); v%u = (uint32_t)(%s); }\n", a, a - 1,
            a - 1, se->ex);
        break;
    case K_FUN:
        put(o, "    { float a = f32_of(v%u); NUM_PUT_F32(&v%u, %s); }\n", a, a, se->ex);
        break;
    case K_DUN:
        put(o, "    { double a = f64_of(v%u); NUM_PUT_F64(&v%u, %s); }\n", a, a, se->ex);
        break;
    case K_CHECKED:
        put(o, "    if (WAFT_AOT_UNLIKELY(%s(v%u, v%u, &v%u) != NUM_TRAP_NONE)) ", se->ex, a - 1, a,
            a - 1);
        handoff(o, pc, t);
        put(o, "\n");
        break;
    case K_TRUNC:
        put(o, "    if (WAFT_AOT_UNLIKELY(num_trunc(%s, v%u, &v%u) != NUM_TRAP_NONE)) ", se->ex, a,
            a);
        handoff(o, pc, t);
        put(o, "\n");
        break;
    case K_TRUNC_SAT:
        put(o, "    v%u = num_trunc_sat(%s, v%u);\n", a, se->ex, a);
        break;
    case K_DEMOTE:
        put(o, "    { double a = f64_of(v%u); NUM_PUT_F32(&v%u, %s); }\n", a, a, se->ex);
        break;
    case K_PROMOTE:
        put(o, "    { float a = f32_of(v%u); NUM_PUT_F64(&v%u, %s); }\n", a, a, se->ex);
        break;
    default:
        handoff(o, pc, t);
        put(o, "\n");
        break;
    }
}

/* One instruction at pc, entered with `t` = one past the top slot. */
static void emit_ins(out *o, const fn_info *fi, uint32_t pc, uint32_t t)
{
    const waft_module *m = fi->m;
    const uint32_t *ins = fi->f->code + pc;
    icode_op op = (icode_op)ins[0];
    uint32_t after = pc + icode_length(ins);
    switch (op) {
    case OP_UNREACHABLE:
    case OP_TABLE_GET:
    case OP_TABLE_SET:
    case OP_TABLE_INIT:
    case OP_TABLE_COPY:
    case OP_TABLE_GROW:
    case OP_TABLE_SIZE:
    case OP_TABLE_FILL:
    case OP_ELEM_DROP:
    case OP_MEMORY_INIT:
    case OP_DATA_DROP:
        put(o, "    ");
        handoff(o, pc, t); /* the interpreter does these (or traps) */
        put(o, "\n");
        return;
    case OP_BR:
        put(o, "    goto L%u;\n", ins[1]);
        return;
    case OP_BR_KEEP:
        put(o, "   ");
        moves(o, t, ins[2], ins[3]);
        put(o, " goto L%u;\n", ins[1]);
        return;
    case OP_BR_IF:
        put(o, "    if ((uint32_t)v%u) goto L%u;\n", t - 1, ins[1]);
        return;
    case OP_BR_UNLESS:
        put(o, "    if (!(uint32_t)v%u) goto L%u;\n", t - 1, ins[1]);
        return;
    case OP_BR_IF_KEEP:
        put(o, "    if ((uint32_t)v%u) {", t - 1);
        moves(o, t - 1, ins[2], ins[3]);
        put(o, " goto L%u; }\n", ins[1]);
        return;
    case OP_BR_TABLE: {
        uint32_t n = ins[1];
        put(o, "    switch ((uint32_t)v%u) {\n", t - 1);
        for (uint32_t i = 0; i <= n; i++) {
            const uint32_t *e = ins + 2 + 3 * i;
            if (i < n)
                put(o, "    case %u:", i);
            else
                put(o, "    default:");
            moves(o, t - 1, e[1], e[2]);
            put(o, " goto L%u;\n", e[0]);
        }
        put(o, "    }\n");
        return;
    }
    case OP_RETURN: {
        /* the first result with the status, the others in the slots */
        uint32_t n = ins[1];
        if (n)
            put(o, "    { uint64_t r_ = v%u;", t - n);
        else
            put(o, "    { uint64_t r_ = 0;");
        for (uint32_t i = 1; i < n; i++)
            put(o, " S[%u] = v%u;", i, t - n + i);
        put(o, " return (waft_aot_ret){ r_, WAFT_AOT_RETURNED }; }\n");
        return;
    }
    case OP_CALL: {
        const dec_functype *ty = dec_func_type(m, ins[1]);
        uint32_t k = t - ty->nparams;
        if (ins[1] < m->nfunc_imports) {
            /* the host sees this frame on top, as the interpreter leaves it (rt_call) */
            put(o,
                "    *c->nframes = fi + 1; c->frames[fi].func = c->func_ids[%u];"
                " c->frames[fi].fp = (uint32_t)(S - c->stack);\n   ",
                fi->fid);
            for (uint32_t i = 0; i < ty->nparams; i++)
                put(o, " S[%u] = v%u;", k + i, k + i);
            put(o, "\n    if (c->rt->call(c, %u, S + %u, %u) != WAFT_AOT_RETURNED) ", ins[1], k,
                pc);
            handoff(o, pc, t);
            put(o, "\n   ");
            for (uint32_t i = 0; i < ty->nresults; i++)
                put(o, " v%u = S[%u];", k + i, k + i);
            put(o, "\n    RELOAD();\n");
            return;
        }
        emit_fast_call(o, m, pc, after, t, k, ty, ins[1] - m->nfunc_imports);
        return;
    }
    case OP_CALL_INDIRECT: {
        const dec_functype *ty = &m->types[ins[1]];
        uint32_t k = t - 1 - ty->nparams;
        put(o, "    {\n        int64_t g_ = c->rt->resolve(c, %u, %u, (uint32_t)v%u);\n", ins[2],
            ins[1], t - 1);
        put(o, "        if (g_ < 0) ");
        handoff(o, pc, t);
        put(o, "\n        uint32_t d_ = (uint32_t)g_ - c->nimports;\n");
        emit_direct_call(o, pc, after, t, k, ty, "c->fns[d_]", "c->max_heights[d_]",
                         "c->func_ids[g_]");
        put(o, "    }\n");
        return;
    }
    case OP_LOOP_POLL:
        put(o, "    if (WAFT_AOT_UNLIKELY(WAFT_AOT_PENDING(c))) ");
        handoff(o, pc, t);
        put(o, "\n");
        return;
    case OP_DROP:
        return;
    case OP_SELECT:
        put(o, "    if (!(uint32_t)v%u) v%u = v%u;\n", t - 1, t - 3, t - 2);
        return;
    case OP_LOCAL_GET:
        put(o, "    v%u = ", t);
        put_bits(o, fi, ins[1]);
        put(o, ";\n");
        return;
    case OP_LOCAL_SET:
    case OP_LOCAL_TEE:
        if (fi->lconv && fi->lconv[ins[1]])
            put(o, "    v%u = %s(v%u);\n", ins[1], fi->lconv[ins[1]][1], t - 1);
        else
            put(o, "    v%u = v%u;\n", ins[1], t - 1);
        return;
    case OP_GLOBAL_GET:
        put(o, "    v%u = *c->globals[%u];\n", t, ins[1]);
        return;
    case OP_GLOBAL_SET:
        put(o, "    *c->globals[%u] = v%u;\n", ins[1], t - 1);
        return;
    case OP_CONST32:
        put(o, "    v%u = %uu;\n", t, ins[1]);
        return;
    case OP_CONST64:
        put(o, "    v%u = ((uint64_t)%uu << 32) | %uu;\n", t, ins[2], ins[1]);
        return;
    case OP_MEMORY_SIZE:
        put(o, "    v%u = memsize >> 16;\n", t);
        return;
    case OP_MEMORY_GROW:
        put(o, "    v%u = c->rt->memory_grow(c, (uint32_t)v%u); RELOAD();\n", t - 1, t - 1);
        return;
    case OP_MEMORY_FILL:
        put(o, "    if (!waft_aot_fill(mem, memsize, marks, v%u, v%u, v%u)) ", t - 3, t - 2, t - 1);
        handoff(o, pc, t);
        put(o, "\n");
        return;
    case OP_MEMORY_COPY:
        put(o, "    if (!waft_aot_copy(mem, memsize, marks, v%u, v%u, v%u)) ", t - 3, t - 2, t - 1);
        handoff(o, pc, t);
        put(o, "\n");
        return;
    case OP_REF_IS_NULL:
        put(o, "    v%u = v%u == 0;\n", t - 1, t - 1);
        return;
    case OP_REF_FUNC:
        put(o, "    v%u = (uint64_t)c->func_ids[%u] + 1;\n", t, ins[1]);
        return;
    default:
        emit_sem(o, fi, &sems[op], ins, pc, t);
        return;
    }
}

/* The head of function d's direct entry: its frame index and resume point in fx (fi, and
 * at << 32: at as in abi.h's waft_aot_fn), its parameters as arguments. */
static void emit_direct_head(out *o, uint32_t d, uint32_t nparams)
{
    put(o, "WAFT_AOT_FN waft_aot_ret d%u(waft_aot_ctx *c, uint64_t *S, uint64_t fx", d);
    for (uint32_t i = 0; i < nparams; i++)
        put(o, ", uint64_t p%u", i);
    put(o, ")");
}

static waft_result emit_func(out *o, const waft_module *m, uint32_t d, base_alloc *a)
{
    const icode_func *f = &m->icode[d];
    fn_info fi = { m, f, NULL, NULL, NULL, m->nfunc_imports + d };
    fi.height = base_malloc(a, (size_t)(f->len + 1) * sizeof *fi.height);
    fi.target = base_calloc(a, (size_t)f->len + 1, sizeof *fi.target);
    if (!fi.height || !fi.target) {
        base_free(a, fi.height);
        base_free(a, fi.target);
        return WAFT_ERR_NOMEM;
    }
    for (uint32_t i = 0; i <= f->len; i++)
        fi.height[i] = NO_HEIGHT;
    /* pass 1: heights and targets */
    uint32_t h = 0, nreach = 0;
    for (uint32_t pc = 0; pc < f->len; pc += icode_length(f->code + pc)) {
        if (h == NO_HEIGHT)
            h = fi.height[pc];
        else if (fi.height[pc] == NO_HEIGHT)
            fi.height[pc] = h;
        if (h != NO_HEIGHT) {
            h = step(&fi, pc, h);
            nreach++;
        }
    }
    /* pass 2: the C function. Its slots are C variables, unless the function has so many
     * slots and instructions that the C compiler would spend minutes merging them at every
     * unwinding point: then they stay in the frame (S[i]) and unwinding writes nothing. */
    uint32_t nl = f->nlocals, maxh = f->max_height;
    bool in_frame = (uint64_t)maxh * nreach > AOT_REGISTER_BUDGET;
    if (in_frame)
        for (uint32_t i = 0; i < maxh; i++)
            put(o, "#define v%u S[%u]\n", i, i);
    const char *const **lconv = NULL;
    if (!in_frame && nl) {
        lconv = base_calloc(a, nl, sizeof *lconv);
        if (!lconv) {
            base_free(a, fi.height);
            base_free(a, fi.target);
            return WAFT_ERR_NOMEM;
        }
        const dec_functype *ty = dec_func_type(m, m->nfunc_imports + d);
        for (uint32_t i = 0; i < nl; i++) {
            uint8_t vt = i < ty->nparams ? ty->types[i] : m->codes[d].local_types[i - ty->nparams];
            lconv[i] = vt == WAFT_F64 ? local_f64 : vt == WAFT_F32 ? local_f32 : NULL;
        }
        fi.lconv = lconv;
    }
    emit_direct_head(o, d, f->nparams);
    put(o, "\n{\n");
    for (uint32_t i = 0; !in_frame && i < maxh; i++) {
        const char *const *k = i < nl ? lconv[i] : NULL;
        if (k && i < f->nparams)
            put(o, "    %s v%u = %s(p%u);\n", k[0], i, k[1], i);
        else if (k)
            put(o, "    %s v%u = 0;\n", k[0], i);
        else
            put(o, i < f->nparams ? "    uint64_t v%u = p%u;\n" : "    uint64_t v%u = 0;\n", i, i);
    }
    put(o, "    uint8_t *mem = c->mem, *marks = c->marks;\n    uint64_t memsize = c->memsize;\n");
    put(o, "    uint32_t fi = (uint32_t)fx, at = (uint32_t)(fx >> 32), hp, hn;\n");
    if (in_frame && f->nparams) {
        put(o, "    if (at == 0) {");
        for (uint32_t i = 0; i < f->nparams; i++)
            put(o, " S[%u] = p%u;", i, i);
        put(o, " }\n");
    }
    /* back from the interpreter at a loop header: every slot from the stack */
    put(o, "    if (WAFT_AOT_UNLIKELY(at != 0)) {\n       ");
    for (uint32_t i = 0; !in_frame && i < maxh; i++) {
        if (i < nl && lconv[i])
            put(o, " v%u = %s(S[%u]);", i, lconv[i][1], i);
        else
            put(o, " v%u = S[%u];", i, i);
    }
    put(o, "\n        switch (at - 1) {\n");
    for (uint32_t pc = 0; pc < f->len; pc += icode_length(f->code + pc))
        if (f->code[pc] == OP_LOOP_POLL && fi.height[pc] != NO_HEIGHT)
            put(o, "        case %u: goto L%u;\n", pc, pc);
    /* the interpreter hands back only at loop headers; anything else (a translator bug)
     * leaves the frame where the interpreter was, in original pcs like any unwind */
    put(o, "        default: c->frames[fi].pc = at - 1; return (waft_aot_ret){ 0, WAFT_AOT_UNWOUND "
           "};\n"
           "        }\n    }\n");
    for (uint32_t i = f->nparams; in_frame && i < nl; i++)
        put(o, "    S[%u] = 0;\n", i);
    put(o, "    if (WAFT_AOT_UNLIKELY(WAFT_AOT_PENDING(c) || WAFT_AOT_CSTACK_LOW(c))) ");
    handoff(o, 0, nl);
    put(o, "\n");
    h = 0;
    for (uint32_t pc = 0; pc < f->len; pc += icode_length(f->code + pc)) {
        if (h == NO_HEIGHT)
            h = fi.height[pc];
        if (h == NO_HEIGHT)
            continue; /* no live path reaches it */
        if (fi.target[pc])
            put(o, "L%u:;\n", pc);
        emit_ins(o, &fi, pc, nl + h);
        h = step(&fi, pc, h);
    }
    /* every live path ends in a return, a branch or a handoff. Unwinding writes the slots
     * [0, hn) and the whole frame, which no one else has written (direct calls push
     * nothing); the innermost activation that unwinds also sets the frame count */
    put(o, "spill:\n    *c->nframes = fi + 1;\nspill_caller:\n");
    if (!in_frame) {
        put(o, "    switch (hn) {\n");
        for (uint32_t i = maxh; i > 0; i--) {
            put(o, "    case %u: S[%u] = ", i, i - 1);
            put_bits(o, &fi, i - 1);
            put(o, "; /* fall through */\n");
        }
        put(o, "    default: break;\n    }\n");
    }
    put(o, "    c->frames[fi].func = c->func_ids[%u];\n", fi.fid);
    put(o, "    c->frames[fi].fp = (uint32_t)(S - c->stack);\n");
    put(o, "    c->frames[fi].pc = hp;\n    c->frames[fi].sp = (uint32_t)(S - c->stack) + hn;\n");
    put(o, "    return (waft_aot_ret){ 0, WAFT_AOT_UNWOUND };\n}\n");
    for (uint32_t i = 0; in_frame && i < maxh; i++)
        put(o, "#undef v%u\n", i);
    /* the entry of libwaft and indirect calls (abi.h): arguments and results in the slots */
    put(o, "WAFT_AOT_FN uint32_t f%u(waft_aot_ctx *c, uint64_t *S, uint32_t at)\n{\n", d);
    put(o, "    uint32_t fi = *c->nframes - 1;\n");
    put(o, "    waft_aot_ret r = d%u(c, S, (uint64_t)fi | (uint64_t)at << 32", d);
    for (uint32_t i = 0; i < f->nparams; i++)
        put(o, ", S[%u]", i);
    put(o, ");\n    if (r.status == WAFT_AOT_RETURNED) {\n        *c->nframes = fi;\n");
    if (dec_func_type(m, m->nfunc_imports + d)->nresults)
        put(o, "        S[0] = r.value;\n");
    put(o, "    }\n");
    put(o, "    return (uint32_t)r.status;\n}\n\n");
    base_free(a, fi.height);
    base_free(a, fi.target);
    base_free(a, lconv);
    return WAFT_OK;
}

waft_result aot_emit(const waft_module *m, const char *key, uint32_t part, uint32_t nparts,
                     base_alloc *a, char **out_text, size_t *out_len)
{
    out o = { a, NULL, 0, 0, false };
    uint32_t nd = m->nfuncs - m->nfunc_imports;
    /* which functions this part holds: [first, end) */
    uint32_t first = nd, end = nd;
    {
        uint64_t total = 0, acc = 0;
        for (uint32_t i = 0; i < nd; i++)
            total += m->icode[i].len;
        bool started = false;
        for (uint32_t i = 0; i < nd; i++) {
            uint32_t p = total ? (uint32_t)(acc * nparts / total) : 0;
            if (p >= nparts)
                p = nparts - 1;
            if (p == part && !started) {
                first = i;
                started = true;
            }
            if (p > part && started) {
                end = i;
                break;
            }
            acc += m->icode[i].len;
        }
        if (!started)
            first = end = nd;
    }
    put(&o, "/* generated by waft's AOT translator: do not edit */\n");
    put(&o, "%s", aot_prelude);
    put(&o, "%s",
        "#define WAFT_AOT_UNLIKELY(x) __builtin_expect(!!(x), 0)\n"
        "#define WAFT_AOT_FN __attribute__((visibility(\"hidden\")))\n"
        "#define WAFT_AOT_PENDING(c) __atomic_load_n((c)->pending, __ATOMIC_RELAXED)\n"
        "#define WAFT_AOT_CSTACK_LOW(c) \\\n"
        "    ((const char *)__builtin_frame_address(0) < (c)->cstack_floor)\n"
        "#define RELOAD() (mem = c->mem, memsize = c->memsize, marks = c->marks)\n"
        "static inline void waft_aot_mark(uint8_t *marks, uint64_t ea, uint64_t n)\n"
        "{\n"
        "    for (uint64_t p = ea >> 12; p <= (ea + n - 1) >> 12; p++)\n"
        "        __atomic_store_n(&marks[p], 1, __ATOMIC_RELEASE);\n"
        "}\n"
        "static inline int waft_aot_fill(uint8_t *mem, uint64_t size, uint8_t *marks, uint64_t d,\n"
        "                                uint64_t v, uint64_t n)\n"
        "{\n"
        "    d = (uint32_t)d;\n"
        "    n = (uint32_t)n;\n"
        "    if (d + n > size)\n"
        "        return 0;\n"
        "    if (n) {\n"
        "        memset(mem + d, (int)(uint8_t)v, n);\n"
        "        if (marks)\n"
        "            waft_aot_mark(marks, d, n);\n"
        "    }\n"
        "    return 1;\n"
        "}\n"
        "static inline int waft_aot_copy(uint8_t *mem, uint64_t size, uint8_t *marks, uint64_t d,\n"
        "                                uint64_t s, uint64_t n)\n"
        "{\n"
        "    d = (uint32_t)d;\n"
        "    s = (uint32_t)s;\n"
        "    n = (uint32_t)n;\n"
        "    if (d + n > size || s + n > size)\n"
        "        return 0;\n"
        "    if (n) {\n"
        "        memmove(mem + d, mem + s, n);\n"
        "        if (marks)\n"
        "            waft_aot_mark(marks, d, n);\n"
        "    }\n"
        "    return 1;\n"
        "}\n\n");
    /* every function is known to every part; the object's symbols stay hidden */
    for (uint32_t d = 0; d < nd; d++) {
        put(&o, "WAFT_AOT_FN uint32_t f%u(waft_aot_ctx *c, uint64_t *S, uint32_t at);\n", d);
        emit_direct_head(&o, d, m->icode[d].nparams);
        put(&o, ";\n");
    }
    put(&o, "\n");
    for (uint32_t d = first; d < end && !o.failed; d++) {
        waft_result r = emit_func(&o, m, d, a);
        if (r != WAFT_OK) {
            base_free(a, o.p);
            return r;
        }
    }
    if (part != 0)
        goto done;
    put(&o, "static const waft_aot_fn fns[%u] = {", nd ? nd : 1);
    for (uint32_t d = 0; d < nd; d++)
        put(&o, "%s f%u", d ? "," : "", d);
    put(&o, " };\nstatic const uint32_t max_heights[%u] = {", nd ? nd : 1);
    for (uint32_t d = 0; d < nd; d++)
        put(&o, "%s %uu", d ? "," : "", m->icode[d].max_height);
    put(&o, " };\n");
    put(&o,
        "__attribute__((visibility(\"default\"))) const waft_aot_module waft_aot_entry = { "
        "%uu, %uu, fns, max_heights, \"%s\" };\n",
        WAFT_AOT_ABI, nd, key);
done:
    if (o.failed) {
        base_free(a, o.p);
        return WAFT_ERR_NOMEM;
    }
    *out_text = o.p;
    *out_len = o.len;
    return WAFT_OK;
}
