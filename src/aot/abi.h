/* SPDX-License-Identifier: MIT */
/* abi.h - the contract between libwaft and the C code the AOT tier generates (emit.c).
 *
 * Generated code includes no waft header: emit.c copies this file, base/le.h and
 * interp/numeric.h into every C file it writes, and libwaft includes this file too, so both
 * sides compile the same declarations. Change anything here and WAFT_AOT_ABI must change
 * (it is part of the cache key).
 *
 * The state model (docs/aot.md):
 *  - A compiled function runs on the interpreter's frame stack: its frame (function, fp) is
 *    pushed by its caller when it is entered through fN, its slots are the interpreter's
 *    slots [fp, fp + max_height), and slot i lives in the C variable v<i> while it runs.
 *    Through its entry fN (waft_aot_fn: libwaft, call_indirect) arguments and results
 *    pass through the slots, as in the interpreter; through its direct entry dN (calls
 *    between compiled functions) they are C arguments and the first result comes back in
 *    waft_aot_ret; its caller pushes nothing, and it writes its whole frame only if it
 *    unwinds (the innermost also the frame count) or, function and fp, before a host call.
 *  - It returns WAFT_AOT_RETURNED (fN: its frame popped, results in slots [fp, fp +
 *    nresults); dN: the first result in waft_aot_ret, the others in the slots)
 *    or WAFT_AOT_UNWOUND: then it has written every live slot to the stack and its frame's
 *    pc and sp, so the frame is exactly an interpreter frame stopped at that icode pc, and
 *    the interpreter carries on from there (a "handoff"). It unwinds at a loop header or
 *    function entry when the attention word (the store's interrupt flag) is set, before
 *    any instruction that would trap (the interpreter then traps, with its message and
 *    backtrace), before an instruction it leaves to the interpreter, and when its callee
 *    unwound (then its frame stops after the call, like any interpreter caller).
 *  - Nothing of a compiled activation lives only on the C stack once it has unwound.
 */
#ifndef WAFT_AOT_ABI_H
#define WAFT_AOT_ABI_H

#include <stddef.h>
#include <stdint.h>

#define WAFT_AOT_ABI 5u

#define WAFT_AOT_RETURNED 0u
#define WAFT_AOT_UNWOUND  1u

/* Why a compiled activation chain unwound (waft_aot_ctx.status). */
#define WAFT_AOT_HANDOFF 0u /* the interpreter continues at the top frame's pc */
#define WAFT_AOT_HOST    1u /* a host function returned host_result (not OK) */

/* One frame: the same layout as the interpreter's store_frame (store.h checks it). */
typedef struct waft_aot_frame {
    uint32_t func; /* store function index */
    uint32_t pc;   /* icode cell index: next instruction (callers: after their call) */
    uint32_t fp;   /* slot index of local 0 */
    uint32_t sp;   /* slot index one past the operand stack top */
} waft_aot_frame;

/* What a function's direct entry returns: its first result and WAFT_AOT_RETURNED, or
 * WAFT_AOT_UNWOUND. Two words, so both come back in registers (rax:rdx, x0:x1). */
typedef struct waft_aot_ret {
    uint64_t value;
    uint64_t status;
} waft_aot_ret;

typedef struct waft_aot_ctx waft_aot_ctx;
/* Runs a function whose frame is on top. `at` 0: from its entry (parameters in its slots).
 * `at` = pc + 1 of a loop header (LOOP_POLL): from there, every slot read from the stack
 * (the interpreter went that far and hands the activation back). */
typedef uint32_t (*waft_aot_fn)(waft_aot_ctx *c, uint64_t *slots, uint32_t at);

/* Services of libwaft for generated code; each returns WAFT_AOT_RETURNED or, to make the
 * caller unwind before the instruction, WAFT_AOT_UNWOUND. */
typedef struct waft_aot_rt {
    /* Calls module function `func` (an import, or a function without compiled code) with
     * its arguments at `args`; results replace them. `pc`: the call instruction. */
    uint32_t (*call)(waft_aot_ctx *c, uint32_t func, uint64_t *args, uint32_t pc);
    /* call_indirect: the module function index of the compiled function of this instance
     * that table `table`'s element `elem` names, if its type is module type `type`; -1 when
     * the interpreter must do the call (a trap, another instance, a host function). */
    int64_t (*resolve)(waft_aot_ctx *c, uint32_t table, uint32_t type, uint32_t elem);
    /* memory.grow of memory 0: old size in pages or UINT32_MAX; refreshes mem/memsize. */
    uint32_t (*memory_grow)(waft_aot_ctx *c, uint32_t delta);
} waft_aot_rt;

/* Per instance; libwaft fills it (rt.c) and refreshes the memory fields whenever they may
 * have changed (entry from the interpreter, after calls into libwaft). */
struct waft_aot_ctx {
    uint64_t *stack;        /* the store's slots */
    uint64_t *stack_end;    /* one past them */
    waft_aot_frame *frames; /* the store's frames */
    uint32_t *nframes;      /* the store's frame count */
    uint32_t max_frames;
    const int *pending;          /* attention: the store's interrupt flag (read relaxed) */
    uint8_t *mem;                /* memory 0 (NULL if none) */
    uint64_t memsize;            /* its size in bytes */
    uint8_t *marks;              /* its write marks while tracking (one byte per 4 KiB), or NULL */
    uint64_t **globals;          /* per module global: where its value lives */
    const uint32_t *func_ids;    /* per module function: store index */
    const waft_aot_fn *fns;      /* per defined function (module index - imports) */
    const uint32_t *max_heights; /* per defined function: slots its frame may use */
    uint32_t nimports;           /* imported functions (the first module indices) */
    const char *cstack_floor;    /* compiled code unwinds below this C stack address */
    const waft_aot_rt *rt;
    void *inst;          /* the waft_instance */
    uint32_t status;     /* WAFT_AOT_HANDOFF / WAFT_AOT_HOST, once unwound */
    int32_t host_result; /* status HOST: the host function's waft_result */
    /* libwaft's own (generated code does not use them): the C stack of the thread that
     * last entered, to size cstack_floor */
    const void *stack_thread; /* a thread-local address of that thread */
    const char *stack_lo;     /* its lowest stack address, NULL if unknown */
};

/* What a compiled module exports (symbol "waft_aot_entry"). */
typedef struct waft_aot_module {
    uint32_t abi;           /* WAFT_AOT_ABI */
    uint32_t nfuncs;        /* defined functions */
    const waft_aot_fn *fns; /* nfuncs entries */
    const uint32_t *max_heights;
    const char *key; /* the cache key it was made for */
} waft_aot_module;

#endif
