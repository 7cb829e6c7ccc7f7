/* SPDX-License-Identifier: MIT */
/* validate.h - module validation (spec 3) and lowering of function bodies to icode.
 *
 * Validation and lowering are one pass: while type-checking a body the validator knows the
 * exact operand-stack height at every instruction, so it emits internal code ("icode") with
 * branch targets resolved and stack adjustments precomputed. The interpreter executes icode;
 * the AOT tier will translate the same icode. See docs/engine.md, "Internal code".
 *
 * icode layout: an array of 32-bit cells. Each instruction is one opcode cell (an icode_op)
 * followed by its immediates (opcodes.def gives how many):
 *
 *     +--------+--------+--------+
 *     | opcode |  imm0  |  imm1  | ...     branch targets are cell indices in the same array
 *     +--------+--------+--------+
 *
 * Invariants of the output:
 *  - Every wasm instruction lowers to zero or one icode instruction, so every icode
 *    instruction boundary is a wasm instruction boundary; `map` gives, for each icode
 *    instruction, the byte offset (in the module) of the wasm instruction it came from.
 *  - Values live in 64-bit stack slots. i32 and f32 are zero-extended (raw bits), so
 *    reinterpret and i64.extend_i32_u lower to nothing.
 *  - A frame's slots are [params | declared locals | operand stack]; `max_height` bounds the
 *    slots a frame can use, so one check at call time covers the whole activation.
 *  - Loop headers lower to LOOP_POLL (a safepoint); nothing else polls except function entry.
 */
#ifndef WAFT_VALIDATE_H
#define WAFT_VALIDATE_H

#include "decode/decode.h"

typedef enum icode_op {
#define OP(name, nimm)                          OP_##name,
#define NUM(name, wasm, a, b, r)                OP_##name,
#define MEM(name, wasm, t, align, width, store) OP_##name,
#include "validate/opcodes.def"
    OP_COUNT_
} icode_op;

typedef struct icode_map {
    uint32_t pc;     /* cell index of an icode instruction */
    uint32_t offset; /* byte offset of its wasm instruction in the module */
} icode_map;

typedef struct icode_func {
    uint32_t *code; /* cells */
    uint32_t len;
    uint32_t nparams;
    uint32_t nresults;
    uint32_t nlocals;    /* parameters included */
    uint32_t max_height; /* slots: locals + deepest operand stack */
    icode_map *map;      /* sorted by pc and by offset */
    uint32_t nmap;
    /* Filled by the interpreter (src/interp/fuse.c) and freed with the module: the fast
     * code, where common sequences are fused into one instruction. Every fast instruction
     * starts where an original one does; fast_map pairs (fast pc -> pc), sorted. */
    uint32_t *fast;
    uint32_t fast_len;
    icode_map *fast_map; /* .pc = fast pc, .offset = original pc */
    uint32_t nfast_map;
} icode_func;

/* Validates a decoded module and lowers every function body. Returns WAFT_ERR_INVALID (or
 * WAFT_ERR_MALFORMED for byte-level faults inside bodies, WAFT_ERR_NOMEM, WAFT_ERR_LIMIT)
 * with err naming the function, byte offset and rule. */
WAFT_INTERNAL waft_result val_module(waft_module *m, waft_error *err);
/* Operand-stack types just before the instruction at byte `offset` of function `func`
 * (module index space, a defined function): writes up to `cap` types, sets *out_n.
 * WAFT_ERR_NOT_FOUND if `offset` is not an instruction boundary of that body or lies in
 * unreachable code. Used to check and translate saved frames. */
WAFT_INTERNAL waft_result val_stack_at(const waft_module *m, uint32_t func, uint32_t offset,
                                       uint8_t *types, uint32_t cap, uint32_t *out_n);
/* Frees what val_module attached to the module. */
WAFT_INTERNAL void val_module_release(waft_module *m);

/* Length in cells of the instruction at `code`: its opcode and immediates (BR_TABLE is
 * variable). */
WAFT_INTERNAL uint32_t icode_length(const uint32_t *code);
WAFT_INTERNAL const char *icode_name(icode_op op);

/* Wasm byte offset of the icode instruction at cell `pc` (the last map entry at or before
 * pc), or the function's first offset. */
WAFT_INTERNAL uint32_t icode_offset_of(const icode_func *f, uint32_t pc);
/* Cell index of the icode instruction made from the wasm instruction at `offset`; false if
 * no icode instruction starts there. */
WAFT_INTERNAL bool icode_pc_of(const icode_func *f, uint32_t offset, uint32_t *out_pc);

#endif
