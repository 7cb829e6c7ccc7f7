/* SPDX-License-Identifier: MIT */
/* store.h - the object graph: store, instances, functions, memories, tables, globals, and the
 * execution stack; instantiation and linking (spec 4.5).
 *
 * Invariants:
 *  - The store is the one root: every piece of instance and execution state is reachable
 *    from it, and cross-object references are store indices ([snap]) with pointers kept
 *    only as caches ([derived]).
 *  - A funcref value is (store function index + 1); 0 is null.
 *  - Memory bytes are little-endian wasm memory; `size` is always pages * 64 KiB.
 *  - The value stack and frame array are allocated once at their limits and never move, so
 *    the interpreter may hold pointers into them while running.
 *  - Frames [0, nframes) are wasm activations; `frames[i].pc` and `.sp` are exact for every
 *    frame that is not the running one.
 */
#ifndef WAFT_STORE_H
#define WAFT_STORE_H

#include "validate/validate.h"

#include "aot/abi.h"

/* Linear memory as a reservation of address space (mmap backend): 64-bit POSIX hosts. */
#if (defined(__unix__) || defined(__APPLE__)) && UINTPTR_MAX > 0xffffffffu && !defined(WAFT_NO_MMAP)
#define STORE_MMAP 1
#else
#define STORE_MMAP 0
#endif

#if defined(__STDC_NO_ATOMICS__)
#include <signal.h>
typedef volatile sig_atomic_t store_flag;
#define STORE_FLAG_LOAD(f)     (f)
#define STORE_FLAG_STORE(f, v) ((f) = (v))
#else
#include <stdatomic.h>
typedef _Atomic int store_flag;
#define STORE_FLAG_LOAD(f)     atomic_load_explicit(&(f), memory_order_relaxed)
#define STORE_FLAG_STORE(f, v) atomic_store_explicit(&(f), (v), memory_order_relaxed)
#endif

#define STORE_MAX_TRAP_FRAMES 64

/* Write tracking (live migration): one mark per 4 KiB page, set by the thread running the
 * guest with release order after the write it records, cleared by a reader (another thread)
 * with an acquire exchange before it copies the page. So a page copied after its mark was
 * cleared either holds the write or is marked again. */
#define STORE_TRACK_SHIFT 12u
#if defined(__STDC_NO_ATOMICS__)
typedef volatile uint8_t store_mark;
#define STORE_MARK_SET(m)  ((m) = 1)
#define STORE_MARK_GET(m)  (m)
#define STORE_MARK_TAKE(m) store_mark_take_plain(&(m))
static inline uint8_t store_mark_take_plain(store_mark *m)
{
    uint8_t v = *m;
    *m = 0;
    return v;
}
#else
typedef _Atomic uint8_t store_mark;
#define STORE_MARK_SET(m)  atomic_store_explicit(&(m), 1, memory_order_release)
#define STORE_MARK_GET(m)  atomic_load_explicit(&(m), memory_order_relaxed)
#define STORE_MARK_TAKE(m) atomic_exchange_explicit(&(m), 0, memory_order_acq_rel)
#endif

/* Marks the pages of [ea, ea+n) written (n > 0, inside the memory). */
static inline void store_mark_range(store_mark *marks, uint64_t ea, uint64_t n)
{
    uint64_t last = (ea + n - 1) >> STORE_TRACK_SHIFT;
    for (uint64_t p = ea >> STORE_TRACK_SHIFT; p <= last; p++)
        STORE_MARK_SET(marks[p]);
}

struct waft_engine {
    base_alloc alloc;   /* [derived] */
    waft_config config; /* [derived] */
};

typedef struct store_func {
    uint32_t self;            /* [derived] own store index */
    uint32_t type_id;         /* [derived] canonical type id in this store */
    const dec_functype *type; /* [derived] */
    waft_instance *inst;      /* [derived] owning instance; NULL for host functions */
    const icode_func *code;   /* [derived] wasm functions: lowered body */
    waft_aot_fn aot;          /* [derived] its compiled code (AOT tier), or NULL */
    uint32_t index;           /* [snap] function index in its module */
    waft_host_fn host;        /* [derived] host functions */
    void *env;                /* [derived] */
    dec_functype own_type;    /* [derived] host functions: copied type */
} store_func;

typedef struct store_memory {
    uint8_t *data;           /* [snap] contents; never moves with the mmap backend */
    size_t reserved;         /* [derived] bytes of address space reserved (mmap backend), else 0 */
    uint64_t size;           /* [snap] bytes = pages * 64 KiB */
    uint32_t pages;          /* [snap] */
    uint32_t max_pages;      /* [snap] limit (65536 when the type has none) */
    bool has_max;            /* [snap] */
    store_mark *marks;       /* [derived] write marks while tracking (NULL otherwise) */
    size_t nmarks;           /* [derived] entries: the maximum size in 4 KiB pages */
    bool file_backed;        /* [derived] some pages are mapped from an image file (mapped.c) */
    struct store_lazy *lazy; /* [derived] those pages are checked where first touched */
} store_memory;

typedef struct store_table {
    uint8_t elem_type; /* [snap] */
    uint32_t size;     /* [snap] */
    uint32_t max;      /* [snap] UINT32_MAX when none */
    bool has_max;      /* [snap] */
    waft_ref *elems;   /* [snap] size entries */
} store_table;

typedef struct store_global {
    uint8_t type;   /* [snap] */
    bool mutable_;  /* [snap] */
    uint64_t value; /* [snap] raw bits */
} store_global;

typedef struct store_segment {
    uint32_t count; /* [snap] 0 once dropped */
    waft_ref *refs; /* [derived] element segments: evaluated references */
} store_segment;

struct waft_instance {
    waft_store *store;         /* [derived] */
    const waft_module *module; /* [snap] by module hash */
    uint32_t index;            /* [derived] position in the store */
    store_func **funcs;        /* [derived] by module function index */
    store_table **tables;      /* [derived] */
    store_memory **memories;   /* [derived] */
    store_global **globals;    /* [derived] */
    uint32_t *func_ids;        /* [snap] store indices of funcs */
    uint32_t *table_ids;       /* [snap] */
    uint32_t *memory_ids;      /* [snap] */
    uint32_t *global_ids;      /* [snap] */
    uint32_t *type_ids;        /* [derived] canonical id per module type */
    store_segment *elems;      /* [snap] (dropped state) */
    bool *data_dropped;        /* [snap] */
    store_memory *mem0;        /* [derived] memory 0 or NULL */
    waft_aot_ctx *aot;         /* [derived] context of its compiled code (src/aot/), or NULL */
};

typedef struct store_frame {
    uint32_t func; /* [snap] store function index */
    uint32_t pc;   /* [snap] cell index: next instruction (callers: after their call) */
    uint32_t fp;   /* [snap] slot index of local 0 */
    uint32_t sp;   /* [snap] slot index one past the operand stack top */
} store_frame;

struct waft_codec;
typedef waft_result (*store_state_fn)(struct waft_codec *c, void *ctx);

/* State an extension (WASI) saves into images through its own codec hooks. */
typedef struct store_ext {
    char name[33];       /* [derived] record name */
    uint32_t version;    /* [derived] */
    store_state_fn save; /* [derived] */
    store_state_fn load; /* [derived] */
    void *ctx;           /* [derived] */
} store_ext;

struct waft_store {
    waft_engine *engine; /* [derived] */
    base_alloc *alloc;   /* [derived] */

    store_func **funcs; /* [snap] */
    uint32_t nfuncs, cap_funcs;
    store_memory **memories; /* [snap] */
    uint32_t nmemories, cap_memories;
    store_table **tables; /* [snap] */
    uint32_t ntables, cap_tables;
    store_global **globals; /* [snap] */
    uint32_t nglobals, cap_globals;
    waft_instance **instances; /* [snap] */
    uint32_t ninstances, cap_instances;
    const dec_functype **types; /* [derived] canonical function types */
    uint32_t ntypes, cap_types;

    /* execution */
    uint64_t *stack;       /* [snap] slots [0, top frame's sp) */
    uint32_t stack_slots;  /* [derived] capacity */
    store_frame *frames;   /* [snap] */
    uint32_t nframes;      /* [snap] */
    uint32_t max_frames;   /* [derived] */
    store_flag pending;    /* [derived] interrupt request */
    store_flag wake_wr1;   /* [derived] write end of the wake pipe + 1; 0: none yet */
    int wake_rd1;          /* [derived] its read end + 1 (waft_store_wake_fd) */
    uint64_t fuel;         /* [snap] UINT64_MAX = not counting */
    uint64_t steps;        /* [snap] instructions counted */
    waft_stop_reason stop; /* [snap] */
    bool suspended;        /* [snap] */
    uint32_t susp_base;    /* [snap] frame index where the suspended call started */
    uint32_t susp_func;    /* [snap] store index of the called function */
    uint32_t result_slot;  /* [derived] where the last finished call left its results */
    uint32_t aot_base;     /* [derived] after compiled code unwound: frames from this index
                            * up are in original (not fast) pcs */
    uint32_t aot_entered;  /* [derived] the compiled function that was entered */
    int32_t exit_code;     /* [snap] */

    store_ext *exts; /* [derived] registered extension state hooks */
    uint32_t nexts, cap_exts;

    /* last trap */
    waft_trap trap;                                     /* [derived] */
    waft_frame_info trap_frames[STORE_MAX_TRAP_FRAMES]; /* [derived] */
    char trap_message[160];                             /* [derived] */
};

/* Creates/frees a store. */
WAFT_INTERNAL waft_result store_new(waft_engine *engine, waft_store **out);
/* The wake pipe of blocking host calls (store.c): its read end, drained (-1 if there is
 * none on this host); a byte for it; closing both ends. */
WAFT_INTERNAL int store_wake_fd(waft_store *s);
WAFT_INTERNAL void store_wake(waft_store *s);
WAFT_INTERNAL void store_wake_close(waft_store *s);
WAFT_INTERNAL void store_free(waft_store *s);

/* Canonical id of a function type in this store (structural equality); adds it if new.
 * The type must outlive the store (module types do, since modules outlive instances). */
WAFT_INTERNAL waft_result store_type_id(waft_store *s, const dec_functype *t, uint32_t *out);

WAFT_INTERNAL waft_result store_add_host_func(waft_store *s, const waft_functype *type,
                                              waft_host_fn fn, void *env, uint32_t *out);
WAFT_INTERNAL waft_result store_add_memory(waft_store *s, uint32_t min, uint32_t max, bool has_max,
                                           uint32_t *out);
WAFT_INTERNAL waft_result store_add_table(waft_store *s, uint8_t elem_type, uint32_t min,
                                          uint32_t max, bool has_max, waft_ref init, uint32_t *out);
WAFT_INTERNAL waft_result store_add_global(waft_store *s, uint8_t type, bool mutable_,
                                           uint64_t value, uint32_t *out);

/* Frees a memory's storage. */
WAFT_INTERNAL void store_memory_release(waft_store *s, store_memory *m);
/* Sets the memory to `pages` pages, all zero (used by restore). WAFT_ERR_NOMEM on failure
 * (the memory is then unchanged). */
WAFT_INTERNAL waft_result store_memory_reset(waft_store *s, store_memory *m, uint32_t pages);
/* Starts (on) or stops write tracking of a memory; starting clears no marks it already has.
 * WAFT_ERR_NOMEM if the map cannot be had. */
WAFT_INTERNAL waft_result store_memory_track(waft_store *s, store_memory *m, bool on);
/* ==== Memory mapped from an image file (mapped.c) ==== */

/* Whether pages of `m` can be mapped from a file: the mmap backend, 4 KiB host pages. */
WAFT_INTERNAL bool store_memory_can_map(const store_memory *m);
/* Maps bytes [at, at + len) of the memory privately (copy-on-write) from `fd` at file offset
 * `off` (both 4 KiB-aligned), readable and writable, or inaccessible (`lazy`: until
 * store_memory_lazy checks them). False (errno set) on failure. */
WAFT_INTERNAL bool store_memory_map_file(store_memory *m, uint64_t at, uint64_t len, int fd,
                                         uint64_t off, bool lazy);
/* Lazy checking of the file-mapped pages: every MiB g of the memory with stored pages
 * (bits of `bitmap`, one per 4 KiB) is inaccessible until first touched; the fault handler
 * then computes the CRC-32C of its stored pages, compares it with crcs[g] and opens the MiB,
 * or, on a mismatch, prints one line naming `what` and the bytes, and ends the process
 * (status 1): the program never reads damaged bytes. The bitmap and checksums are copied.
 * False if no more regions can be watched (the caller then checks eagerly). */
WAFT_INTERNAL bool store_memory_lazy(store_memory *m, const uint8_t *bitmap, const uint32_t *crcs,
                                     uint64_t ngran, const char *what);
/* Opens every lazily checked MiB of [at, at + len) (in bounds): each is checked now, as a
 * touch by the program would. */
WAFT_INTERNAL void store_memory_touch(store_memory *m, uint64_t at, uint64_t len);
/* Gives up the file mappings: with `fresh`, the whole reservation becomes zero anonymous
 * memory again (accessible up to the memory's size); otherwise (the memory is about to be
 * unmapped) only the lazy check stops. False if the fresh mapping fails. */
WAFT_INTERNAL bool store_memory_unmap_file(store_memory *m, bool fresh);

/* memory.grow: returns the old page count, or -1 (as UINT32_MAX) if it cannot grow. */
WAFT_INTERNAL uint32_t store_memory_grow(waft_store *s, store_memory *m, uint32_t delta);
/* table.grow: the same for tables, new entries set to `init`. */
WAFT_INTERNAL uint32_t store_table_grow(waft_store *s, store_table *t, uint32_t delta,
                                        waft_ref init);

/* Instantiates (spec 4.5.4) up to but not including the start function. Link errors return
 * WAFT_ERR_LINK with err set and leave no instance. A segment out of bounds returns
 * WAFT_TRAPPED with the store's trap set; the instance stays in the store (its functions
 * may already sit in imported tables) and *out is still set. */
WAFT_INTERNAL waft_result store_instantiate(waft_store *s, const waft_module *m,
                                            const waft_extern *imports, uint32_t nimports,
                                            waft_instance **out, waft_error *err);

/* Sets the store's trap record (no backtrace frames). */
WAFT_INTERNAL void store_set_trap(waft_store *s, waft_trap_code code, const char *message);

#endif
