/* SPDX-License-Identifier: MIT */
/* interp.c - icode interpreter: numeric helpers, entry/resume, traps and backtraces.
 *
 * The dispatch loop itself is in loop.inc, instantiated twice below (fast and fuel-counting)
 * so that the common case pays nothing for fuel.
 */
#include "interp/interp.h"

#include "aot/aot.h"

#include <float.h>
#include <math.h>

/* Wasm float arithmetic is IEEE-754, rounded once to the operation's type. Evaluating in
 * double (FLT_EVAL_METHOD 1, GCC's s390x) is still exact for f32 (a double holds more than
 * twice f32's precision, so rounding twice is harmless); x87's 80-bit registers (method 2,
 * 32-bit x86 without SSE) round f64 results twice and get them wrong. */
#if !defined(FLT_EVAL_METHOD) || (FLT_EVAL_METHOD != 0 && FLT_EVAL_METHOD != 1)
#error "float arithmetic with excess precision: on 32-bit x86 build with -msse2 -mfpmath=sse"
#endif

#if defined(__GNUC__) && !defined(WAFT_NO_JUMPTABLE)
#define WAFT_USE_JUMPTABLE 1
#else
#define WAFT_USE_JUMPTABLE 0
#endif

static const char *const trap_texts[WAFT_TRAP_COUNT_] = {
    [WAFT_TRAP_NONE] = "no trap",
    [WAFT_TRAP_UNREACHABLE] = "unreachable",
    [WAFT_TRAP_MEMORY_OOB] = "out of bounds memory access",
    [WAFT_TRAP_TABLE_OOB] = "out of bounds table access",
    [WAFT_TRAP_DIV_ZERO] = "integer divide by zero",
    [WAFT_TRAP_INT_OVERFLOW] = "integer overflow",
    [WAFT_TRAP_BAD_CONVERSION] = "invalid conversion to integer",
    [WAFT_TRAP_UNDEFINED_ELEMENT] = "undefined element",
    [WAFT_TRAP_UNINITIALIZED_ELEMENT] = "uninitialized element",
    [WAFT_TRAP_INDIRECT_TYPE_MISMATCH] = "indirect call type mismatch",
    [WAFT_TRAP_STACK_EXHAUSTED] = "call stack exhausted",
    [WAFT_TRAP_FUEL_EXHAUSTED] = "all fuel consumed",
    [WAFT_TRAP_HOST] = "host function trapped",
};

const char *waft_trap_str(waft_trap_code code)
{
    return (unsigned)code < WAFT_TRAP_COUNT_ ? trap_texts[code] : "unknown trap";
}

#include "interp/numeric.h"

#define PUT_F32 NUM_PUT_F32
#define PUT_F64 NUM_PUT_F64

/* The checked operations' traps are waft's trap codes. */
_Static_assert(NUM_TRAP_DIV_ZERO == WAFT_TRAP_DIV_ZERO, "numeric.h trap numbers");
_Static_assert(NUM_TRAP_INT_OVERFLOW == WAFT_TRAP_INT_OVERFLOW, "numeric.h trap numbers");
_Static_assert(NUM_TRAP_BAD_CONVERSION == WAFT_TRAP_BAD_CONVERSION, "numeric.h trap numbers");

/* sem_NAME(a, b): the integer binary operations and comparisons of the table as functions,
 * for the fused handlers (loop.inc), which take their operands from locals and constants. */
#define LOAD(name, width, expr)
#define STORE(name, width, stmt)
#define UN(name, T, R, expr)
#define BIN(name, T, expr)               \
    static inline T sem_##name(T a, T b) \
    {                                    \
        return (T)(expr);                \
    }
#define CMP(name, T, expr)                      \
    static inline uint32_t sem_##name(T a, T b) \
    {                                           \
        return (uint32_t)(expr);                \
    }
#define FBIN(name, expr)
#define DBIN(name, expr)
#define FCMP(name, expr)
#define DCMP(name, expr)
#define FUN(name, expr)
#define DUN(name, expr)
#define CHECKED(name, fn)
#define TRUNC(name, kind)
#define TRUNC_SAT(name, kind)
#define DEMOTE(name, expr)
#define PROMOTE(name, expr)
#include "interp/semantics.def"

/* ==== Frames ==== */

void interp_unwind(waft_store *s, uint32_t base)
{
    if (s->nframes > base)
        s->nframes = base;
}

/* The original pc of the instruction that trapped at fast pc `fast_pc`: the last of its fused
 * group, since only that one can trap (fused groups end in their load or store; calls are
 * never fused). */
static uint32_t trap_pc_from_fast(const icode_func *f, uint32_t fast_pc)
{
    uint32_t lo = 0, hi = f->nfast_map;
    while (lo < hi) { /* the first fast instruction after fast_pc */
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->fast_map[mid].pc <= fast_pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t next = lo < f->nfast_map ? f->fast_map[lo].offset : f->len;
    return next ? next - 1 : 0; /* icode_offset_of finds the instruction holding this cell */
}

/* Records the wasm backtrace of frames [base, nframes) into the store's trap. `fast`: the
 * frames' pcs are in fast-code coordinates. */
static void interp_backtrace(waft_store *s, uint32_t base, bool fast)
{
    uint32_t n = 0;
    for (uint32_t i = s->nframes; i-- > base && n < STORE_MAX_TRAP_FRAMES;) {
        const store_frame *fr = &s->frames[i];
        const store_func *f = s->funcs[fr->func];
        waft_frame_info *fi = &s->trap_frames[n++];
        const waft_module *m = f->inst->module;
        /* callers stopped after their call instruction: look up the one before */
        uint32_t pc = (i == s->nframes - 1 || fr->pc == 0) ? fr->pc : fr->pc - 1;
        if (fast && i == s->nframes - 1)
            pc = trap_pc_from_fast(f->code, pc);
        else if (fast)
            interp_fast_to_pc(f->code, pc, &pc); /* the start of pc's group */
        fi->func = f->index;
        fi->code_offset = icode_offset_of(f->code, pc);
        uint32_t len;
        fi->name = dec_func_name(m, f->index, &len);
        fi->name_len = len;
    }
    s->trap.nframes = n;
    s->trap.total_frames = s->nframes - base;
    s->trap.frames = s->trap_frames;
}

/* ==== The loop, twice ==== */

/* run_fast's result when compiled code unwound (not a waft_result callers ever see). */
#define INTERP_AOT_UNWOUND ((waft_result)(WAFT_RESULT_COUNT_ + 1))

#define RUN_NAME run_fast
#define COUNTING 0
#include "interp/loop.inc"
#undef RUN_NAME
#undef COUNTING

#define RUN_NAME run_counted
#define COUNTING 1
#include "interp/loop.inc"
#undef RUN_NAME
#undef COUNTING

/* Translates the pcs of frames [base, nframes) between the codes. Returns false (changing
 * nothing) if some pc is not at a group start. */
static bool frames_to_fast(waft_store *s, uint32_t base)
{
    for (uint32_t i = base; i < s->nframes; i++) {
        uint32_t x;
        if (!interp_pc_to_fast(s->funcs[s->frames[i].func]->code, s->frames[i].pc, &x))
            return false;
    }
    for (uint32_t i = base; i < s->nframes; i++)
        interp_pc_to_fast(s->funcs[s->frames[i].func]->code, s->frames[i].pc, &s->frames[i].pc);
    return true;
}

static void frames_from_fast(waft_store *s, uint32_t base, uint32_t end)
{
    for (uint32_t i = base; i < end; i++) {
        const icode_func *f = s->funcs[s->frames[i].func]->code;
        uint32_t pc = s->frames[i].pc, orig;
        bool exact = interp_fast_to_pc(f, pc, &orig);
        WAFT_ASSERT(exact); /* suspension points are group starts (fuse.c) */
        (void)exact;
        s->frames[i].pc = orig;
    }
}

/* After compiled code unwound (frames [base, s->aot_base) in fast pcs, the rest in original
 * ones): every frame back to original pcs, then what the unwinding asks for. Returns
 * INTERP_AOT_UNWOUND to go on interpreting, or the call's result. */
static waft_result aot_unwound(waft_store *s, uint32_t base, uint32_t fast_end)
{
    frames_from_fast(s, base, fast_end);
    const waft_aot_ctx *c = aot_ctx_of(s->funcs[s->aot_entered]);
    if (!c || c->status == WAFT_AOT_HANDOFF)
        return INTERP_AOT_UNWOUND; /* the interpreter goes on at the top frame's pc */
    waft_result r = (waft_result)c->host_result;
    if (r == WAFT_SUSPENDED) { /* as the loop does: the call is re-issued on resume */
        if (s->stop != WAFT_STOP_INTERRUPT)
            s->stop = WAFT_STOP_HOST;
        return r;
    }
    if (r == WAFT_TRAPPED) {
        interp_backtrace(s, base, false);
        interp_unwind(s, base);
        return r;
    }
    interp_unwind(s, base); /* exited, or an error from the host */
    return r;
}

/* Runs in the fast loop; if the top frame stopped inside a fused group (a counted run can
 * stop anywhere), first steps with the counted loop until every frame is at a group start.
 * Compiled code entered from the fast loop may unwind back into interpreter frames: then
 * the same again from where it stopped. Between runs, frames are always in original
 * coordinates. */
static waft_result run_uncounted(waft_store *s, uint32_t base)
{
    for (;;) {
        while (!frames_to_fast(s, base)) {
            uint64_t steps = s->steps;
            s->fuel = 1;
            waft_result r = run_counted(s, base);
            s->fuel = UINT64_MAX;
            s->steps = steps;
            if (r != WAFT_SUSPENDED || s->stop != WAFT_STOP_FUEL)
                return r;
        }
        waft_result r = run_fast(s, base);
        if (r == INTERP_AOT_UNWOUND) {
            r = aot_unwound(s, base, s->aot_base);
            if (r != INTERP_AOT_UNWOUND)
                return r;
            /* compiled code unwound because of an interrupt: served right here, before
             * the instruction it stopped at (frames are in original pcs, as after any
             * stop), rather than wherever the interpreter polls next */
            if (STORE_FLAG_LOAD(s->pending)) {
                STORE_FLAG_STORE(s->pending, 0);
                s->stop = WAFT_STOP_INTERRUPT;
                return WAFT_SUSPENDED;
            }
            continue;
        }
        if (r == WAFT_SUSPENDED)
            frames_from_fast(s, base, s->nframes);
        return r;
    }
}

static void mark_suspended(waft_store *s, uint32_t base)
{
    s->suspended = true;
    s->susp_base = base;
    s->susp_func = s->frames[base].func;
}

static waft_result run(waft_store *s, uint32_t base)
{
    waft_result r = s->fuel != UINT64_MAX ? run_counted(s, base) : run_uncounted(s, base);
    if (r == WAFT_SUSPENDED)
        mark_suspended(s, base);
    return r;
}

waft_result interp_call(waft_store *s, uint32_t func, const uint64_t *args)
{
    const store_func *f = s->funcs[func];
    uint32_t base = s->nframes;
    uint32_t sp0 = base ? s->frames[base - 1].sp : 0;
    uint32_t np = f->type->nparams;
    s->stop = WAFT_STOP_NONE;
    if (f->host) {
        if ((uint64_t)sp0 + np + f->type->nresults > s->stack_slots) {
            store_set_trap(s, WAFT_TRAP_STACK_EXHAUSTED, NULL);
            return WAFT_TRAPPED;
        }
        /* a results buffer of our own: a call back in from the host function would use the
         * stack from sp0 up */
        uint32_t nr = f->type->nresults;
        uint64_t local[16];
        uint64_t *res = nr <= 16 ? local : base_malloc(s->alloc, (size_t)nr * sizeof *res);
        if (!res)
            return WAFT_ERR_NOMEM;
        waft_call ctx = { s, NULL };
        waft_result r = f->host(&ctx, args, res, f->env);
        if (r == WAFT_OK) {
            const uint8_t *rt = f->type->types + np;
            for (uint32_t k = 0; k < nr; k++)
                s->stack[sp0 + k] =
                    rt[k] == WAFT_I32 || rt[k] == WAFT_F32 ? (uint32_t)res[k] : res[k];
            s->result_slot = sp0;
        } else if (r == WAFT_SUSPENDED) {
            r = WAFT_ERR_STATE; /* nothing to resume: no wasm frame */
        }
        if (res != local)
            base_free(s->alloc, res);
        return r;
    }
    const icode_func *cf = f->code;
    if (base >= s->max_frames || (uint64_t)sp0 + cf->max_height > s->stack_slots) {
        store_set_trap(s, WAFT_TRAP_STACK_EXHAUSTED, NULL);
        return WAFT_TRAPPED;
    }
    uint64_t *fp = s->stack + sp0;
    if (np)
        memcpy(fp, args, (size_t)np * sizeof *fp);
    if (cf->nlocals > np)
        memset(fp + np, 0, (size_t)(cf->nlocals - np) * sizeof *fp);
    store_frame *fr = &s->frames[s->nframes++];
    fr->func = func;
    fr->pc = 0;
    fr->fp = sp0;
    fr->sp = sp0 + cf->nlocals;
    /* function entry: safepoint (the loop polls the entries of the functions it calls) */
    if (STORE_FLAG_LOAD(s->pending)) {
        STORE_FLAG_STORE(s->pending, 0);
        s->stop = WAFT_STOP_INTERRUPT;
        mark_suspended(s, base);
        return WAFT_SUSPENDED;
    }
    if (f->aot && s->fuel == UINT64_MAX) {
        if (aot_enter(s, f, sp0, 0) == WAFT_AOT_RETURNED) {
            s->result_slot = sp0;
            return WAFT_OK;
        }
        s->aot_entered = func;
        waft_result r = aot_unwound(s, base, base); /* no fast frames yet */
        if (r == INTERP_AOT_UNWOUND && STORE_FLAG_LOAD(s->pending)) {
            STORE_FLAG_STORE(s->pending, 0); /* as in run_uncounted */
            s->stop = WAFT_STOP_INTERRUPT;
            r = WAFT_SUSPENDED;
        }
        if (r != INTERP_AOT_UNWOUND) {
            if (r == WAFT_SUSPENDED)
                mark_suspended(s, base);
            return r;
        }
    }
    return run(s, base);
}

waft_result interp_resume(waft_store *s)
{
    s->suspended = false;
    s->stop = WAFT_STOP_NONE;
    return run(s, s->susp_base);
}
