/* SPDX-License-Identifier: MIT */
/* snapshot.h - the image: a portable, WebAssembly-level copy of one instance's state.
 *
 * The public surface is include/waft/waft_snapshot.h; this header only describes the
 * in-memory form of a decoded image, shared by the capture, codec and restore code of
 * snapshot.c. Layout on the wire: docs/image-format.md.
 *
 * Invariants:
 *  - A snap_image read from bytes has passed every structural check: checksums, lengths,
 *    counts within the bytes present, booleans 0/1, no trailing bytes in any record.
 *    Semantic checks against the module happen at restore.
 *  - Function references inside an image are module function indices + 1 (0 = null), never
 *    store indices, so they mean the same thing in any process.
 */
#ifndef WAFT_SNAPSHOT_INTERNAL_H
#define WAFT_SNAPSHOT_INTERNAL_H

#include "base/codec.h"
#include "interp/interp.h"

#include <waft/waft_snapshot.h>

#define SNAP_CHUNK_SHIFT 12u /* zero-page elision granularity: 4 KiB */
#define SNAP_CHUNK       (1u << SNAP_CHUNK_SHIFT)

#define SNAP_EXT_NAME_MAX   32u                          /* bytes of an extension's name */
#define SNAP_EXT_NAME_SHOWN (4u * SNAP_EXT_NAME_MAX + 1) /* escaped: \xNN per byte, NUL */

typedef struct snap_memory {
    uint32_t pages;
    uint32_t max_pages;
    bool has_max;
    const uint8_t *data;   /* saving: the live memory (pages * 64 KiB bytes) */
    uint8_t *bitmap;       /* one bit per 4 KiB chunk: stored (non-zero) */
    const uint8_t *chunks; /* loading: the stored chunks, back to back */
    uint64_t nstored;      /* chunks stored */
} snap_memory;

typedef struct snap_table {
    uint8_t elem_type;
    uint32_t size;
    uint32_t max;
    bool has_max;
    uint32_t *elems; /* encoded references */
} snap_table;

typedef struct snap_global {
    uint8_t type;
    bool mutable_;
    uint64_t value; /* raw bits; funcref encoded */
} snap_global;

typedef struct snap_frame {
    uint32_t func;   /* module function index */
    uint32_t offset; /* byte offset in the module: next instruction, or (callers) the call */
    uint32_t nlocals;
    uint32_t nvalues;
    uint64_t *slots; /* nlocals locals, then nvalues operand values; funcrefs encoded */
} snap_frame;

typedef struct snap_ext {
    uint8_t *name;
    uint32_t name_len;
    uint32_t version;
    uint8_t *payload; /* owned copy */
    uint32_t len;
} snap_ext;

struct waft_image {
    waft_engine *engine;
    base_alloc *alloc;
    uint32_t version;
    uint64_t image_size;
    bool compressed;

    uint8_t module_hash[32];
    uint64_t module_len;
    const uint8_t *module_bytes; /* into `owned` when loaded; NULL if not embedded */

    uint32_t nmemories;
    snap_memory *memories;
    bool memory_external; /* MEML: sizes only, contents sent separately (migration) */
    uint32_t ntables;
    snap_table *tables;
    uint32_t nglobals;
    snap_global *globals;
    uint32_t nelems;
    bool *elem_dropped;
    uint32_t ndatas;
    bool *data_dropped;
    uint32_t nframes;
    snap_frame *frames; /* outermost first */
    uint64_t fuel;
    uint64_t steps;
    uint32_t nexts;
    snap_ext *exts;
    uint32_t cap_exts;  /* [derived] */
    uint32_t end_crc;   /* [snap] END: CRC-32C chain of everything before it */
    uint32_t end_count; /* [snap] END: records before it */

    uint8_t **owned; /* buffers the spans point into (input copy, decompressed records) */
    uint32_t nowned, cap_owned;
    void *map; /* the image file, mapped read-only (waft_image_load), or NULL */
    size_t map_len;
};

/* Writes `len` bytes of an extension record's name (at most SNAP_EXT_NAME_MAX: hostile input)
 * into `out` as printable ASCII: '\\' and bytes outside 0x20..0x7e become \xNN, so a name
 * can neither move the cursor of a terminal nor break a line of a message. */
WAFT_INTERNAL void snap_name_escape(const uint8_t *name, uint32_t len,
                                    char out[SNAP_EXT_NAME_SHOWN]);

#endif
