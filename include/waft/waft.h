/* SPDX-License-Identifier: MIT */
/* waft.h - public API of libwaft: engine, module, store, instance, calls, errors.
 *
 * Invariants of this interface:
 *  - Every object is opaque and created/freed in pairs (`_new` / `_free`).
 *  - A function that fails returns a waft_result other than WAFT_OK and, where it has a
 *    `waft_error *out_err` parameter, fills it with the code, a one-line message, the byte
 *    offset in the module (or -1) and the function index (or -1).
 *  - Traps (wasm-level outcomes) are not errors: a call that traps returns WAFT_TRAPPED and
 *    the trap is read with waft_store_trap().
 *  - Values cross the API as raw bits (floats included), so NaN payloads survive.
 *  - Objects of one store must be used by one thread at a time. The only call that is safe
 *    from another thread or from a signal handler is waft_store_interrupt().
 */
#ifndef WAFT_WAFT_H
#define WAFT_WAFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(WAFT_STATIC_ONLY)
#define WAFT_API __attribute__((visibility("default")))
#else
#define WAFT_API
#endif

#define WAFT_VERSION_STRING "0.1.0"
#define WAFT_PAGE_SIZE      65536u

/* ==== Results ==== */

/* One list of results; 0 is success. X(name, text). */
#define WAFT_RESULT_LIST(X)                                  \
    X(WAFT_OK, "ok")                                         \
    X(WAFT_TRAPPED, "trapped")                               \
    X(WAFT_SUSPENDED, "suspended")                           \
    X(WAFT_EXITED, "exited")                                 \
    X(WAFT_ERR_INVALID_ARG, "invalid argument")              \
    X(WAFT_ERR_NOMEM, "out of memory")                       \
    X(WAFT_ERR_MALFORMED, "malformed module")                \
    X(WAFT_ERR_INVALID, "invalid module")                    \
    X(WAFT_ERR_LINK, "link error")                           \
    X(WAFT_ERR_LIMIT, "implementation limit exceeded")       \
    X(WAFT_ERR_NOT_FOUND, "not found")                       \
    X(WAFT_ERR_STATE, "operation not allowed in this state") \
    X(WAFT_ERR_IO, "i/o error")                              \
    X(WAFT_ERR_IMAGE, "bad image")                           \
    X(WAFT_ERR_RESTORE, "cannot restore")                    \
    X(WAFT_ERR_UNSUPPORTED, "unsupported")

typedef enum waft_result {
#define WAFT_X_ENUM(name, text) name,
    WAFT_RESULT_LIST(WAFT_X_ENUM)
#undef WAFT_X_ENUM
    WAFT_RESULT_COUNT_
} waft_result;

/* Static text for a result code; never NULL. */
WAFT_API const char *waft_result_str(waft_result r);

/* Detail of an error. Filled by functions that take `waft_error *out_err` (which may be
 * NULL). `offset` is a byte offset in the module binary, or -1; `func` a function index
 * (in the module's function index space), or -1. */
typedef struct waft_error {
    waft_result code;
    int64_t offset;
    int64_t func;
    char message[200];
} waft_error;

/* ==== Values and types ==== */

typedef enum waft_valtype {
    WAFT_I32 = 0x7F,
    WAFT_I64 = 0x7E,
    WAFT_F32 = 0x7D,
    WAFT_F64 = 0x7C,
    WAFT_V128 = 0x7B, /* reserved for SIMD; not accepted yet */
    WAFT_FUNCREF = 0x70,
    WAFT_EXTERNREF = 0x6F
} waft_valtype;

/* A reference value. 0 is the null reference of either reference type. For externref the
 * value is whatever non-zero number the host chose; waft only stores and compares it. For
 * funcref it is an opaque handle of the store (see waft_func_ref()). */
typedef uint64_t waft_ref;
#define WAFT_REF_NULL ((waft_ref)0)

/* A typed value. f32/f64 are carried as raw IEEE-754 bits. */
typedef struct waft_val {
    waft_valtype type;
    union {
        uint32_t i32;
        uint64_t i64;
        uint32_t f32_bits;
        uint64_t f64_bits;
        waft_ref ref;
    } of;
} waft_val;

/* A function type as seen through the API: borrowed arrays owned by the module or store. */
typedef struct waft_functype {
    uint32_t nparams;
    uint32_t nresults;
    const waft_valtype *params;
    const waft_valtype *results;
} waft_functype;

typedef enum waft_extern_kind {
    WAFT_EXTERN_FUNC = 0,
    WAFT_EXTERN_TABLE = 1,
    WAFT_EXTERN_MEMORY = 2,
    WAFT_EXTERN_GLOBAL = 3
} waft_extern_kind;

/* A handle to an object of a store: its kind and its index in that store. Handles are plain
 * values, valid as long as the store lives. */
typedef struct waft_extern {
    waft_extern_kind kind;
    uint32_t index;
} waft_extern;

/* ==== Engine ==== */

typedef struct waft_engine waft_engine;

/* Allocation hook, realloc-style: (ud, NULL, 0, n) allocates, (ud, p, old, 0) frees and
 * returns NULL, otherwise resizes. Must return NULL on failure. */
typedef void *(*waft_alloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);

typedef struct waft_config {
    waft_alloc_fn alloc;      /* NULL: libc malloc/realloc/free */
    void *alloc_ud;           /* passed to alloc */
    size_t memory_limit;      /* bytes the engine may hold in all; 0 = no limit */
    uint32_t max_call_depth;  /* wasm frames; 0 = default (WAFT_DEFAULT_CALL_DEPTH) */
    uint32_t max_stack_slots; /* value-stack slots (8 bytes each); 0 = default; at least 1024 */
} waft_config;

#define WAFT_DEFAULT_CALL_DEPTH  10000u
#define WAFT_DEFAULT_STACK_SLOTS (1u << 20)

/* Creates an engine. `config` is copied; NULL means all defaults. */
WAFT_API waft_result waft_engine_new(const waft_config *config, waft_engine **out_engine);
/* Frees an engine. Every module and store made from it must be freed first. */
WAFT_API void waft_engine_free(waft_engine *engine);
/* Bytes currently allocated through the engine's allocator. */
WAFT_API size_t waft_engine_allocated(const waft_engine *engine);

/* ==== Module ==== */

typedef struct waft_module waft_module;

/* Decodes and validates a binary module. `bytes` is copied. On failure *out_module is NULL
 * and out_err names the section, byte offset and rule: WAFT_ERR_MALFORMED for a binary
 * that does not decode, WAFT_ERR_INVALID for one that does not validate. */
WAFT_API waft_result waft_module_new(waft_engine *engine, const uint8_t *bytes, size_t len,
                                     waft_module **out_module, waft_error *out_err);
/* Like waft_module_new but stops after decoding the sections (no validation, nothing to
 * instantiate). Function bodies are only read by the validator, so a byte-level fault inside
 * a body (bad LEB, unknown opcode) is reported by waft_module_new, not here. */
WAFT_API waft_result waft_module_decode_only(waft_engine *engine, const uint8_t *bytes, size_t len,
                                             waft_error *out_err);
WAFT_API void waft_module_free(waft_module *module);

/* Imports and exports, in module order. Names are (pointer, length), may contain any byte
 * including NUL, and are borrowed from the module. */
typedef struct waft_import_desc {
    const char *module;
    size_t module_len;
    const char *name;
    size_t name_len;
    waft_extern_kind kind;
} waft_import_desc;

typedef struct waft_export_desc {
    const char *name;
    size_t name_len;
    waft_extern_kind kind;
    uint32_t index; /* in the module's index space of that kind */
} waft_export_desc;

/* The module's bytes (the engine's own copy, valid while the module lives). */
WAFT_API const uint8_t *waft_module_bytes(const waft_module *module, size_t *out_len);
WAFT_API uint32_t waft_module_import_count(const waft_module *module);
WAFT_API void waft_module_import(const waft_module *module, uint32_t i, waft_import_desc *out);
/* Type of the i-th import if it is a function; WAFT_ERR_INVALID_ARG otherwise. */
WAFT_API waft_result waft_module_import_functype(const waft_module *module, uint32_t i,
                                                 waft_functype *out);
/* Name of function `func` (module index space) from the name section, or NULL; borrowed
 * from the module. */
WAFT_API const char *waft_module_func_name(const waft_module *module, uint32_t func,
                                           size_t *out_len);
WAFT_API uint32_t waft_module_export_count(const waft_module *module);
WAFT_API void waft_module_export(const waft_module *module, uint32_t i, waft_export_desc *out);

/* ==== Ahead-of-time compilation (docs/aot.md) ==== */

typedef struct waft_aot_options {
    const char *cache_dir; /* NULL: $WAFT_CACHE_DIR, else $XDG_CACHE_HOME/waft, else
                            * $HOME/.cache/waft */
    const char *cc;        /* C compiler; NULL: $WAFT_CC, else "cc" */
    int force;             /* 1: compile even if the cache has the code */
    int verbose;           /* 1: one line on stderr saying what was compiled or reused */
} waft_aot_options;

/* Compiles the module's functions to native code: translates them to C, compiles that with
 * the system C compiler into a shared object kept in the cache (keyed by the module's hash,
 * the translator and the compiler), and loads it. Instances made from the module afterwards
 * run compiled code wherever the interpreter is not counting fuel; they still stop,
 * checkpoint and restore like interpreted ones (compiled frames unwind into interpreter
 * frames). WAFT_ERR_UNSUPPORTED (with the reason in out_err) when there is no working C
 * compiler or this host cannot load code: the module then runs in the interpreter. Calling
 * it again is a no-op. Not thread-safe against other uses of the same module. */
WAFT_API waft_result waft_module_compile(waft_module *module, const waft_aot_options *options,
                                         waft_error *out_err);
/* 1 if the module has compiled code. */
WAFT_API int waft_module_is_compiled(const waft_module *module);

/* ==== Store ==== */

typedef struct waft_store waft_store;

/* A store owns instances and every function, table, memory and global, plus the execution
 * stack. Objects from different stores never mix. */
WAFT_API waft_result waft_store_new(waft_engine *engine, waft_store **out_store);
/* Frees the store and everything in it. */
WAFT_API void waft_store_free(waft_store *store);

/* ==== Host functions ==== */

/* Context of a host call: gives the calling instance's memory and lets the host trap. */
typedef struct waft_call waft_call;

/* A host function. `args` holds nparams values and `results` room for nresults, both as
 * raw 64-bit slots (i32 in the low 32 bits, f32 as bits in the low 32 bits). Return
 * WAFT_OK, or the result of waft_call_trap() / waft_call_exit(). */
typedef waft_result (*waft_host_fn)(waft_call *call, const uint64_t *args, uint64_t *results,
                                    void *env);

/* Creates a host function of the given type in the store. The type is copied; `env` is
 * borrowed for the life of the store. */
WAFT_API waft_result waft_func_new_host(waft_store *store, const waft_functype *type,
                                        waft_host_fn fn, void *env, waft_extern *out_func);

/* Linear memory 0 of the instance that made the call, or NULL/0 if it has none. The pointer
 * is valid until the guest runs again (memory.grow may move it). */
WAFT_API uint8_t *waft_call_memory(waft_call *call, uint64_t *out_size);
/* The store of the call. */
WAFT_API waft_store *waft_call_store(waft_call *call);
/* Makes the host call trap with a message (copied); returns WAFT_TRAPPED to be returned. */
WAFT_API waft_result waft_call_trap(waft_call *call, const char *message);
/* Ends the whole run with an exit code (WASI proc_exit); returns WAFT_EXITED. */
WAFT_API waft_result waft_call_exit(waft_call *call, int32_t code);
/* Asks to suspend the run *before* this host call; on resume the call is made again. Used by
 * blocking calls that a checkpoint interrupts. If an interrupt is pending
 * (waft_store_interrupt_pending), this suspension serves it: the request is cleared and
 * the stop reason is WAFT_STOP_INTERRUPT; otherwise it is WAFT_STOP_HOST. Returns
 * WAFT_SUSPENDED. */
WAFT_API waft_result waft_call_suspend(waft_call *call);

/* ==== Other objects ==== */

/* Creates a standalone memory (e.g. for the spectest host module). max_pages = UINT32_MAX
 * means no maximum. */
WAFT_API waft_result waft_memory_new(waft_store *store, uint32_t min_pages, uint32_t max_pages,
                                     waft_extern *out_memory);
WAFT_API waft_result waft_table_new(waft_store *store, waft_valtype elem_type, uint32_t min,
                                    uint32_t max, waft_ref init, waft_extern *out_table);
WAFT_API waft_result waft_global_new(waft_store *store, waft_val value, int mutable_,
                                     waft_extern *out_global);

/* ==== Instances ==== */

typedef struct waft_instance waft_instance;

/* Instantiates `module` in `store`. `imports` has one entry per module import, in import
 * order. Returns WAFT_ERR_LINK (with out_err) if an import has the wrong kind or type,
 * WAFT_TRAPPED if a segment is out of bounds or the start function traps (effects on
 * imported objects made before the trap remain, as the spec requires; the trap is read with
 * waft_store_trap()); then *out_instance is NULL, but the half-made instance stays in the
 * store, because its functions may already sit in imported tables. The module must outlive
 * the instance, and, once an instantiation has failed part-way, the store.
 * WAFT_SUSPENDED: the start function ran out of fuel or was interrupted; it stays suspended
 * on the store and *out_instance is set, but the instance is usable only once
 * waft_store_resume has run the start function to WAFT_OK (or drop it: waft_store_abandon).
 * Do not save an image of a store suspended there: restoring it would resume the start
 * function only. */
WAFT_API waft_result waft_instance_new(waft_store *store, const waft_module *module,
                                       const waft_extern *imports, uint32_t nimports,
                                       waft_instance **out_instance, waft_error *out_err);

/* Looks up an export by name (byte-wise, `len` bytes). */
WAFT_API waft_result waft_instance_export(const waft_instance *inst, const char *name, size_t len,
                                          waft_extern *out);
/* Memory 0 of the instance, if any. */
WAFT_API waft_result waft_instance_memory(const waft_instance *inst, waft_extern *out);
/* The module an instance was made from. */
WAFT_API const waft_module *waft_instance_module(const waft_instance *inst);

/* ==== Functions, globals, memories, tables ==== */

WAFT_API waft_result waft_func_type(const waft_store *store, waft_extern func, waft_functype *out);
/* The funcref value that designates `func` (for tables and arguments). */
WAFT_API waft_ref waft_func_ref(const waft_store *store, waft_extern func);

/* Calls a function. `args` must match its parameter types exactly; `results` has room for
 * nresults values. Returns WAFT_OK, WAFT_TRAPPED (see waft_store_trap), WAFT_EXITED (see
 * waft_store_exit_code), WAFT_SUSPENDED (fuel ran out or an interrupt arrived: the
 * execution stays on the store and continues with waft_store_resume), or an error. */
WAFT_API waft_result waft_func_call(waft_store *store, waft_extern func, const waft_val *args,
                                    uint32_t nargs, waft_val *results, uint32_t nresults);

WAFT_API waft_result waft_global_get(const waft_store *store, waft_extern global, waft_val *out);
WAFT_API waft_result waft_global_set(waft_store *store, waft_extern global, waft_val value);

/* Memory data and size in bytes. The pointer is valid until the memory grows. */
WAFT_API uint8_t *waft_memory_data(waft_store *store, waft_extern memory, uint64_t *out_size);
/* Copies between host and linear memory with bounds checks (WAFT_ERR_INVALID_ARG if out). */
WAFT_API waft_result waft_memory_read(waft_store *store, waft_extern memory, uint64_t offset,
                                      void *dst, size_t len);
WAFT_API waft_result waft_memory_write(waft_store *store, waft_extern memory, uint64_t offset,
                                       const void *src, size_t len);
WAFT_API waft_result waft_memory_grow(waft_store *store, waft_extern memory, uint32_t delta,
                                      uint32_t *out_old_pages);

/* ==== Write tracking (live migration) ====
 *
 * While tracking is on, every write to the memory sets the mark of each 4 KiB page it
 * touches: wasm stores, memory.init/copy/fill, waft_memory_write, and host functions that
 * report their writes with waft_call_memory_written (the WASI functions do). Another thread
 * may read and clear marks while the guest runs: a page whose mark it cleared (with
 * waft_memory_take_mark) before copying it either holds every write made before the clear
 * or is marked again. Turn tracking on or off only while no call runs on the store. */
#define WAFT_TRACK_PAGE 4096u

/* Starts (on = 1, all marks clear) or stops (on = 0) tracking writes to `memory`. */
WAFT_API waft_result waft_memory_track(waft_store *store, waft_extern memory, int on);
/* Copies the marks of pages [first, first + n) into out[0..n) (1 = written since its mark
 * was last taken) without clearing them; returns how many are set. Pages past the map read
 * as 0. Safe while the guest runs on another thread. */
WAFT_API uint64_t waft_memory_marks(waft_store *store, waft_extern memory, uint64_t first,
                                    uint64_t n, uint8_t *out);
/* Whether the memory's bytes stay at one address for its whole life (reserved address
 * space): only then may another thread read them while the guest runs and grows it. */
WAFT_API int waft_memory_fixed(const waft_store *store, waft_extern memory);
/* Clears the mark of page `page` and returns what it was (0 or 1). */
WAFT_API int waft_memory_take_mark(waft_store *store, waft_extern memory, uint64_t page);
/* For host functions that write the caller's memory through waft_call_memory: records a
 * write of [offset, offset + len) (no-op unless tracked, or if out of bounds). */
WAFT_API void waft_call_memory_written(waft_call *call, uint64_t offset, uint64_t len);
/* Whether the caller's memory is tracked (so a host may skip computing what it wrote). */
WAFT_API int waft_call_memory_tracked(waft_call *call);

/* ==== Memory mapped from an image (waft_image_restore, waft_snapshot.h) ==== */

/* Whether some of the memory's pages are mapped from an image file: such a page holds data
 * although the kernel reports it untouched (/proc/self/pagemap) until it is read. */
WAFT_API int waft_memory_file_backed(const waft_store *store, waft_extern memory);
/* For host functions that hand [offset, offset + len) of the caller's memory to the kernel
 * (read(2), write(2), ...): pages still mapped lazily from an image (WAFT_MEMORY_MAP_LAZY)
 * are checked and opened first, since the kernel would fail on them (EFAULT) rather than
 * fault. No-op otherwise, or if out of bounds. The WASI functions call it. */
WAFT_API void waft_call_memory_touch(waft_call *call, uint64_t offset, uint64_t len);

WAFT_API waft_result waft_table_size(const waft_store *store, waft_extern table,
                                     uint32_t *out_size);
WAFT_API waft_result waft_table_get(const waft_store *store, waft_extern table, uint32_t i,
                                    waft_ref *out);
WAFT_API waft_result waft_table_set(waft_store *store, waft_extern table, uint32_t i,
                                    waft_ref value);

/* ==== Traps, fuel, interrupts, suspension ==== */

typedef enum waft_trap_code {
    WAFT_TRAP_NONE = 0,
    WAFT_TRAP_UNREACHABLE,
    WAFT_TRAP_MEMORY_OOB,
    WAFT_TRAP_TABLE_OOB,
    WAFT_TRAP_DIV_ZERO,
    WAFT_TRAP_INT_OVERFLOW,
    WAFT_TRAP_BAD_CONVERSION,
    WAFT_TRAP_UNDEFINED_ELEMENT,
    WAFT_TRAP_UNINITIALIZED_ELEMENT,
    WAFT_TRAP_INDIRECT_TYPE_MISMATCH,
    WAFT_TRAP_STACK_EXHAUSTED,
    WAFT_TRAP_FUEL_EXHAUSTED,
    WAFT_TRAP_HOST,
    WAFT_TRAP_COUNT_
} waft_trap_code;

/* Text of a trap code, e.g. "integer divide by zero". */
WAFT_API const char *waft_trap_str(waft_trap_code code);

/* One frame of a trap backtrace, innermost first. */
typedef struct waft_frame_info {
    uint32_t func;        /* function index in its module's index space */
    uint32_t code_offset; /* byte offset of the instruction in the module binary */
    const char *name;     /* from the name section, or NULL; borrowed from the module */
    size_t name_len;
} waft_frame_info;

typedef struct waft_trap {
    waft_trap_code code;
    const char *message; /* host message for WAFT_TRAP_HOST, else the code's text */
    uint32_t nframes;    /* frames in backtrace: the innermost ones, at most 64 */
    const waft_frame_info *frames;
    uint32_t total_frames; /* frames that were active when it trapped (>= nframes) */
} waft_trap;

/* The last trap of this store; valid until the next call. */
WAFT_API const waft_trap *waft_store_trap(const waft_store *store);
/* Exit code after WAFT_EXITED. */
WAFT_API int32_t waft_store_exit_code(const waft_store *store);

/* Fuel: an instruction budget. One unit is one instruction of the interpreter's internal
 * code (about one wasm instruction; block, end and nop are free). When it runs out the run
 * suspends (WAFT_SUSPENDED, reason WAFT_STOP_FUEL). UINT64_MAX (the default) disables
 * counting, which keeps the fast path. */
WAFT_API void waft_store_set_fuel(waft_store *store, uint64_t fuel);
WAFT_API uint64_t waft_store_fuel(const waft_store *store);
/* Instructions executed (counted only while fuel is enabled). */
WAFT_API uint64_t waft_store_steps(const waft_store *store);

/* Requests that the running guest stop at its next safepoint (loop header or function
 * entry) and suspend with reason WAFT_STOP_INTERRUPT. Async-signal-safe and
 * thread-safe; the only function that may be called concurrently with a running call. */
WAFT_API void waft_store_interrupt(waft_store *store);

/* Whether waft_store_interrupt() was called and no safepoint or suspension has served the
 * request yet. For host functions that block: they poll this while they wait and, when it
 * is set, return waft_call_suspend(). Safe from any thread. */
WAFT_API int waft_store_interrupt_pending(const waft_store *store);

/* For host functions that block: a descriptor that becomes readable when
 * waft_store_interrupt() is called, to watch (poll) beside their own, so an interrupt ends
 * the wait at once. Call it before each wait, then check waft_store_interrupt_pending: the
 * call drains bytes of interrupts already served. Owned by the store (do not close it);
 * -1 where the host has none. Call it from the thread running the store. */
WAFT_API int waft_store_wake_fd(waft_store *store);

typedef enum waft_stop_reason {
    WAFT_STOP_NONE = 0,
    WAFT_STOP_FUEL,
    WAFT_STOP_INTERRUPT,
    WAFT_STOP_HOST /* a host function asked with waft_call_suspend */
} waft_stop_reason;

/* Why the last call suspended. */
WAFT_API waft_stop_reason waft_store_stop_reason(const waft_store *store);
/* Continues a suspended execution. Results land in the `results` of this call (room for the
 * outermost function's result count). Same returns as waft_func_call. */
WAFT_API waft_result waft_store_resume(waft_store *store, waft_val *results, uint32_t nresults);
/* Drops a suspended execution, unwinding every frame. */
WAFT_API void waft_store_abandon(waft_store *store);

/* ==== Execution state at the WebAssembly level ==== */

/* Number of wasm frames of a suspended execution (0 if none), and frame `depth` (0 =
 * innermost): function, code offset, and its locals and operand values as raw 64-bit slots
 * (borrowed until the store runs again). The caller frames' code offset is that of their
 * pending call instruction. */
typedef struct waft_frame_state {
    const waft_instance *instance;
    uint32_t func;        /* function index in its module */
    uint32_t code_offset; /* byte offset in the module binary */
    uint32_t nlocals;     /* parameters included */
    uint32_t nvalues;     /* operand stack height of this frame */
    const uint64_t *locals;
    const uint64_t *values;
} waft_frame_state;

WAFT_API uint32_t waft_store_frame_count(const waft_store *store);
WAFT_API waft_result waft_store_frame(const waft_store *store, uint32_t depth,
                                      waft_frame_state *out);

/* ==== Types of imports, exports and store objects ====
 *
 * What an embedding API (wasm.h, src/capi) needs to describe an object without knowing its
 * kind in advance. */

/* The type of an object of any kind. Only the fields of `kind` are meaningful. */
typedef struct waft_externtype {
    waft_extern_kind kind;
    waft_functype func; /* FUNC: borrowed from the module or store */
    waft_valtype type;  /* GLOBAL: its value type; TABLE: its element type */
    int mutable_;       /* GLOBAL: 1 if mutable */
    uint32_t min;       /* TABLE: elements; MEMORY: pages */
    uint32_t max;       /* the same; UINT32_MAX when the type has no maximum */
} waft_externtype;

/* The declared type of import `i` / export `i` of the module (WAFT_ERR_INVALID_ARG if `i` is
 * out of range). Borrowed parts live as long as the module. */
WAFT_API waft_result waft_module_import_type(const waft_module *module, uint32_t i,
                                             waft_externtype *out);
WAFT_API waft_result waft_module_export_type(const waft_module *module, uint32_t i,
                                             waft_externtype *out);
/* The current type of a store object: a table's or memory's `min` is its current size. */
WAFT_API waft_result waft_extern_type(const waft_store *store, waft_extern x, waft_externtype *out);
/* table.grow from the host: new entries are `init`; WAFT_ERR_LIMIT if it cannot grow. */
WAFT_API waft_result waft_table_grow(waft_store *store, waft_extern table, uint32_t delta,
                                     waft_ref init, uint32_t *out_old_size);
/* The function a non-null funcref designates (the inverse of waft_func_ref);
 * WAFT_ERR_INVALID_ARG for the null reference or one not of this store. */
WAFT_API waft_result waft_ref_func(const waft_store *store, waft_ref ref, waft_extern *out_func);

#ifdef __cplusplus
}
#endif
#endif
