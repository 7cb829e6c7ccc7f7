/* SPDX-License-Identifier: MIT */
/* aot.h - the AOT tier inside libwaft: translation (emit.c), compilation, caching and loading
 * (build.c), and the runtime that compiled code calls and is entered through (rt.c).
 *
 * Invariants:
 *  - A module's compiled code is loaded once (waft_module_compile) and stays until the
 *    module is freed; store functions made from it afterwards point at it (store_func.aot).
 *  - Compiled code is entered only from the interpreter's uncounted run (aot_enter), with
 *    the callee's frame already pushed; it leaves either returned (frame popped) or unwound
 *    (every frame it pushed is an exact interpreter frame, pcs in original coordinates).
 */
#ifndef WAFT_AOT_H
#define WAFT_AOT_H

#include "store/store.h"

/* Part `part` of `nparts` of the C text of module `m` (validated): the functions of that
 * part (contiguous, of about equal code size), every function's prototype, and in part 0
 * the module's tables with `key`. *out_text is allocated from `a`. */
WAFT_INTERNAL waft_result aot_emit(const waft_module *m, const char *key, uint32_t part,
                                   uint32_t nparts, base_alloc *a, char **out_text,
                                   size_t *out_len);

struct base_sha256;
/* Adds to `h` everything the generated C depends on besides the module: the copied headers,
 * the semantic table and the translator's own source (part of the cache key, so that
 * changing any of them recompiles). */
WAFT_INTERNAL void aot_translator_digest(struct base_sha256 *h);

/* Runs compiled function `f` whose frame (index s->nframes - 1) starts at slot `fp`: from
 * its entry (at 0) or from the loop header at original pc at - 1, its slots in the stack.
 * Returns WAFT_AOT_RETURNED or WAFT_AOT_UNWOUND; after an unwind, the instance's context
 * says why (status, host_result). */
WAFT_INTERNAL uint32_t aot_enter(waft_store *s, const store_func *f, uint32_t fp, uint32_t at);
/* The context of f's instance after aot_enter returned WAFT_AOT_UNWOUND. */
static inline const waft_aot_ctx *aot_ctx_of(const store_func *f)
{
    return f->inst->aot;
}

/* Unloads the module's compiled code (with the module). */
WAFT_INTERNAL void aot_release(waft_module *m);

#endif
