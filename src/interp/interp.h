/* SPDX-License-Identifier: MIT */
/* interp.h - the icode interpreter: calls, the dispatch loop, traps, suspension.
 *
 * Invariants:
 *  - Wasm-to-wasm calls never recurse in C: a call pushes a store_frame and the dispatch loop
 *    switches to the callee. Host functions are leaf calls (a host function may call back in,
 *    which nests one C activation of the loop with its own base frame).
 *  - Whenever the loop leaves (return, trap, suspension, host call), the running frame's pc
 *    and sp are written back, so the store describes the execution exactly.
 *  - A suspended execution stops *before* the instruction at its top frame's pc.
 */
#ifndef WAFT_INTERP_H
#define WAFT_INTERP_H

#include "store/store.h"

struct waft_call {
    waft_store *store;
    waft_instance *inst; /* caller's instance */
};

/* Calls store function `func` with `args` (raw slots, nparams of them). On WAFT_OK the
 * results are at s->stack[s->result_slot ...]. May return WAFT_TRAPPED, WAFT_EXITED,
 * WAFT_SUSPENDED (frames stay for interp_resume) or WAFT_ERR_*. */
WAFT_INTERNAL waft_result interp_call(waft_store *s, uint32_t func, const uint64_t *args);

/* Continues the suspended execution whose base frame is s->susp_base. */
WAFT_INTERNAL waft_result interp_resume(waft_store *s);

/* Builds the fast (fused) code of every function of a validated module (fuse.c);
 * interp_release frees it. */
WAFT_INTERNAL waft_result interp_prepare(waft_module *m);
WAFT_INTERNAL void interp_release(waft_module *m);
/* pc translation between the original and the fast code of a function. Exact only at group
 * starts: interp_fast_to_pc gives the group's start in *out_pc and returns whether fast_pc
 * was one; interp_pc_to_fast fails when pc is inside a group. */
WAFT_INTERNAL bool interp_fast_to_pc(const icode_func *f, uint32_t fast_pc, uint32_t *out_pc);
WAFT_INTERNAL bool interp_pc_to_fast(const icode_func *f, uint32_t pc, uint32_t *out_fast);

/* Drops frames down to `base` (abandon). */
WAFT_INTERNAL void interp_unwind(waft_store *s, uint32_t base);

#endif
