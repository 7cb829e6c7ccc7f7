/* SPDX-License-Identifier: MIT */
/* rt.c - the runtime of compiled code: its per-instance context, the services it calls
 * (abi.h: waft_aot_rt) and its entry from the interpreter.
 *
 * Invariants:
 *  - The context's memory fields equal memory 0's data, size and marks whenever compiled
 *    code reads them: they are refreshed on entry and after every service that may change
 *    them (a host call, memory.grow).
 *  - A service that cannot complete a call makes compiled code unwind before the call; the
 *    interpreter then makes it (and traps, suspends or continues as it would have).
 */
/* pthread_getattr_np (the calling thread's stack bounds) is a GNU extension */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif
#include "aot/aot.h"

#include "interp/interp.h"

#include <stddef.h>

#if defined(__GLIBC__)
#include <pthread.h>
#endif

/* C stack compiled code may use below its entry before it hands the deeper calls to the
 * interpreter (which does not recurse in C): at most this, and at most half of what the
 * thread has left; AOT_CSTACK_UNKNOWN when the thread's stack bounds are unknown. */
#define AOT_CSTACK_BUDGET  (1u << 20)
#define AOT_CSTACK_UNKNOWN (128u << 10)

/* Lowest address of the calling thread's stack, or NULL. */
static const char *stack_low(void)
{
#if defined(__GLIBC__)
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return NULL;
    int e = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    return e == 0 ? addr : NULL;
#else
    return NULL;
#endif
}

/* The floor below which compiled code entered at `here` unwinds. */
static const char *cstack_floor(waft_aot_ctx *c, const char *here)
{
    static _Thread_local char thread_marker; /* its address names the thread */
    if (c->stack_thread != &thread_marker) {
        c->stack_thread = &thread_marker;
        c->stack_lo = stack_low();
    }
    size_t budget = AOT_CSTACK_UNKNOWN;
    if (c->stack_lo && here > c->stack_lo) {
        size_t left = (size_t)(here - c->stack_lo) / 2;
        budget = left < AOT_CSTACK_BUDGET ? left : AOT_CSTACK_BUDGET;
    }
    return (uintptr_t)here > budget ? here - budget : NULL;
}

_Static_assert(sizeof(waft_aot_frame) == sizeof(store_frame), "abi.h frame layout");
_Static_assert(offsetof(waft_aot_frame, func) == offsetof(store_frame, func), "frame.func");
_Static_assert(offsetof(waft_aot_frame, pc) == offsetof(store_frame, pc), "frame.pc");
_Static_assert(offsetof(waft_aot_frame, fp) == offsetof(store_frame, fp), "frame.fp");
_Static_assert(offsetof(waft_aot_frame, sp) == offsetof(store_frame, sp), "frame.sp");
_Static_assert(sizeof(store_flag) == sizeof(int), "the attention word is an int");
_Static_assert(sizeof(store_mark) == 1, "one mark byte per page");

static void refresh(waft_aot_ctx *c)
{
    const store_memory *m = ((waft_instance *)c->inst)->mem0;
    c->mem = m ? m->data : NULL;
    c->memsize = m ? m->size : 0;
    c->marks = m ? (uint8_t *)m->marks : NULL;
}

static uint32_t rt_call(waft_aot_ctx *c, uint32_t func, uint64_t *args, uint32_t pc)
{
    waft_instance *inst = c->inst;
    waft_store *s = inst->store;
    const store_func *f = inst->funcs[func];
    c->status = WAFT_AOT_HANDOFF;
    if (!f->host)
        return WAFT_AOT_UNWOUND; /* a wasm function of another instance: the interpreter */
    uint32_t np = f->type->nparams, nr = f->type->nresults;
    uint64_t *res = args + np;
    if ((size_t)(c->stack_end - res) < nr)
        return WAFT_AOT_UNWOUND; /* the interpreter traps: stack exhausted */
    /* as the interpreter leaves its frame during a host call: after the call, the results'
     * slots in use (a host that calls back in runs above them) */
    waft_aot_frame *fr = &c->frames[*c->nframes - 1];
    fr->pc = pc + 2; /* OP_CALL has one immediate */
    fr->sp = (uint32_t)(res + nr - c->stack);
    waft_call call = { s, inst };
    waft_result r = f->host(&call, args, res, f->env);
    refresh(c);
    if (r == WAFT_OK) {
        const uint8_t *rt = f->type->types + np;
        for (uint32_t k = 0; k < nr; k++)
            args[k] = rt[k] == WAFT_I32 || rt[k] == WAFT_F32 ? (uint32_t)res[k] : res[k];
        c->status = WAFT_AOT_HANDOFF; /* whatever a call back in left there */
        return WAFT_AOT_RETURNED;
    }
    c->status = WAFT_AOT_HOST;
    c->host_result = (int32_t)r;
    return WAFT_AOT_UNWOUND;
}

static int64_t rt_resolve(waft_aot_ctx *c, uint32_t table, uint32_t type, uint32_t elem)
{
    waft_instance *inst = c->inst;
    const store_table *t = inst->tables[table];
    if (elem >= t->size || t->elems[elem] == 0)
        return -1;
    const store_func *f = inst->store->funcs[t->elems[elem] - 1];
    if (f->type_id != inst->type_ids[type] || f->inst != inst || !f->aot)
        return -1;
    return f->index;
}

static uint32_t rt_memory_grow(waft_aot_ctx *c, uint32_t delta)
{
    waft_instance *inst = c->inst;
    uint32_t r = store_memory_grow(inst->store, inst->mem0, delta);
    refresh(c);
    return r;
}

static const waft_aot_rt runtime = { rt_call, rt_resolve, rt_memory_grow };

/* The instance's context, made on first use. NULL if out of memory. */
static waft_aot_ctx *ctx_of(waft_store *s, waft_instance *inst)
{
    if (inst->aot)
        return inst->aot;
    const waft_module *m = inst->module;
    size_t size = sizeof(waft_aot_ctx) + (size_t)m->nglobals * sizeof(uint64_t *);
    waft_aot_ctx *c = base_calloc(s->alloc, 1, size);
    if (!c)
        return NULL;
    uint64_t **globals = (uint64_t **)(c + 1);
    for (uint32_t i = 0; i < m->nglobals; i++)
        globals[i] = &inst->globals[i]->value;
    c->stack = s->stack;
    c->frames = (waft_aot_frame *)s->frames;
    c->nframes = &s->nframes;
    c->max_frames = s->max_frames;
    c->stack_end = s->stack + s->stack_slots;
    c->pending = (const int *)&s->pending;
    c->globals = globals;
    c->func_ids = inst->func_ids;
    c->fns = m->aot->fns;
    c->max_heights = m->aot->max_heights;
    c->nimports = m->nfunc_imports;
    c->rt = &runtime;
    c->inst = inst;
    inst->aot = c;
    return c;
}

uint32_t aot_enter(waft_store *s, const store_func *f, uint32_t fp, uint32_t at)
{
    waft_aot_ctx *c = ctx_of(s, f->inst);
    if (!c) {
        /* no context (out of memory): this instance's functions run in the interpreter
         * from now on; the frame says where, in original pcs like any unwound frame */
        waft_instance *inst = f->inst;
        for (uint32_t i = inst->module->nfunc_imports; i < inst->module->nfuncs; i++)
            inst->funcs[i]->aot = NULL;
        store_frame *fr = &s->frames[s->nframes - 1];
        if (at == 0) {
            fr->pc = 0;
            fr->sp = fp + f->code->nlocals;
        } else {
            fr->pc = at - 1;
        }
        return WAFT_AOT_UNWOUND;
    }
    refresh(c);
    /* a host function called from compiled code may call back in: the outer activation
     * keeps its own stack floor and status */
    uint32_t saved_status = c->status;
    const char *saved_floor = c->cstack_floor;
    c->status = WAFT_AOT_HANDOFF;
#if defined(__GNUC__)
    const char *here = __builtin_frame_address(0);
#else
    char probe;
    const char *here = &probe;
#endif
    c->cstack_floor = cstack_floor(c, here);
    if (saved_floor && saved_floor > c->cstack_floor)
        c->cstack_floor = saved_floor; /* nested: the outer budget still bounds it */
    uint32_t r = f->aot(c, s->stack + fp, at);
    c->cstack_floor = saved_floor; /* NULL again once the outermost entry is left */
    if (r == WAFT_AOT_RETURNED)
        c->status = saved_status;
    return r;
}
