/* SPDX-License-Identifier: MIT */
/* snapshot.h - the image: a portable, WebAssembly-level copy of one instance's state.
 *
 * The public surface is include/waft/waft_snapshot.h; this header describes the in-memory
 * form of a decoded image and the contract between the files of src/snapshot/:
 *   capture.c  store -> waft_image (snap_capture), extension registry
 *   records.c  waft_image <-> bytes: record codecs, the record table, writer and reader
 *   file.c     buffers and files: encode, atomic save, decode, load, image lifetime
 *   restore.c  waft_image -> store, checked against the module
 * Layout on the wire: docs/image-format.md.
 *
 * Invariants:
 *  - A snap_image read from bytes has passed every structural check: checksums, lengths,
 *    record versions, END's count, counts within the bytes present, booleans 0/1, no
 *    trailing bytes in any record. Semantic checks against the module happen at restore.
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

/* MEMA: pages are checked by the MiB (granule), each against its own checksum, so that a
 * mapped memory is verified where it is touched, without reading the rest */
#define SNAP_GRANULE_SHIFT  20u
#define SNAP_GRANULE_CHUNKS (1u << (SNAP_GRANULE_SHIFT - SNAP_CHUNK_SHIFT))

/* Fuzzing builds skip checksum verification, so that mutated inputs reach the record
 * parsers and restore instead of stopping at the first checksum. */
#if defined(WAFT_FUZZING)
#define SNAP_CHECKSUM_BAD(a, b) ((void)(a), (void)(b), false)
#else
#define SNAP_CHECKSUM_BAD(a, b) ((a) != (b))
#endif

#define SNAP_MAX_EXTS       64u /* extensions a store registers, EXTN records an image holds */
#define SNAP_EXT_NAME_MAX   32u /* bytes of an extension's name */
#define SNAP_EXT_NAME_SHOWN (4u * SNAP_EXT_NAME_MAX + 1) /* escaped: \xNN per byte, NUL */

/* The in-memory form of an image's records. [snap]: on the wire, in the record named;
 * [derived]: computed while reading or writing, or bookkeeping of this process. */
typedef struct snap_memory {
    uint32_t pages;              /* [snap] MEMS/MEML */
    uint32_t max_pages;          /* [snap] MEMS/MEML */
    bool has_max;                /* [snap] MEMS/MEML */
    const uint8_t *data;         /* [derived] saving: the live memory (pages * 64 KiB bytes) */
    uint8_t *bitmap;             /* [snap] MEMS/MEMA: one bit per 4 KiB chunk: stored (non-zero) */
    const uint8_t *chunks;       /* [snap] MEMS/MEMA, loading: the stored chunks, back to back */
    uint64_t nstored;            /* [derived] chunks stored (bits set in the bitmap) */
    const uint8_t *granule_crcs; /* [snap] MEMA, loading: u32 CRC-32C per MiB of memory, of
                                  * its stored chunks (little-endian on the wire) */
    uint64_t chunks_at;          /* [derived] MEMA, loading: file offset of `chunks` */
    uint32_t *chunk_crc;         /* [derived] MEMA, saving: CRC-32C of each stored chunk */
} snap_memory;

typedef struct snap_table {
    uint8_t elem_type; /* [snap] TABL */
    uint32_t size;     /* [snap] TABL */
    uint32_t max;      /* [snap] TABL */
    bool has_max;      /* [snap] TABL */
    uint32_t *elems;   /* [snap] TABL: encoded references */
} snap_table;

typedef struct snap_global {
    uint8_t type;   /* [snap] GLOB */
    bool mutable_;  /* [snap] GLOB */
    uint64_t value; /* [snap] GLOB: raw bits; funcref encoded */
} snap_global;

typedef struct snap_frame {
    uint32_t func;    /* [snap] STAK: module function index */
    uint32_t offset;  /* [snap] STAK: byte offset in the module: next instruction, or
                       * (callers) the call */
    uint32_t nlocals; /* [snap] STAK */
    uint32_t nvalues; /* [snap] STAK */
    uint64_t *slots;  /* [snap] STAK: nlocals locals, then nvalues operand values; funcrefs
                       * encoded */
} snap_frame;

typedef struct snap_ext {
    uint8_t *name;     /* [snap] EXTN (owned, NUL-terminated) */
    uint32_t name_len; /* [snap] EXTN */
    uint32_t version;  /* [snap] EXTN: the extension's own version of its payload */
    uint8_t *payload;  /* [snap] EXTN: owned copy */
    uint32_t len;      /* [snap] EXTN */
} snap_ext;

struct waft_image {
    waft_engine *engine; /* [derived] */
    base_alloc *alloc;   /* [derived] the engine's */
    uint32_t version;    /* [snap] file header */
    uint64_t image_size; /* [derived] bytes read */
    bool compressed;     /* [derived] a record was compressed */

    uint8_t module_hash[32];     /* [snap] MODL */
    uint64_t module_len;         /* [snap] MODL */
    const uint8_t *module_bytes; /* [snap] MODL: into `owned` when loaded; NULL if not
                                  * embedded */

    uint32_t nmemories;    /* [snap] MEMS/MEML */
    snap_memory *memories; /* [snap] MEMS/MEML */
    bool memory_external;  /* [snap] the tag: MEML, sizes only, contents sent separately */
    bool memory_aligned;   /* [snap] the tag: MEMA, pages 4 KiB-aligned in the file, checked
                            * by the MiB (written for uncompressed images) */
    uint32_t ntables;      /* [snap] TABL */
    snap_table *tables;    /* [snap] TABL */
    uint32_t nglobals;     /* [snap] GLOB */
    snap_global *globals;  /* [snap] GLOB */
    uint32_t nelems;       /* [snap] SEGS */
    bool *elem_dropped;    /* [snap] SEGS */
    uint32_t ndatas;       /* [snap] SEGS */
    bool *data_dropped;    /* [snap] SEGS */
    uint32_t nframes;      /* [snap] STAK */
    snap_frame *frames;    /* [snap] STAK: outermost first */
    uint64_t fuel;         /* [snap] EXEC */
    uint64_t steps;        /* [snap] EXEC */
    uint32_t nexts;        /* [snap] one EXTN record each */
    snap_ext *exts;        /* [snap] EXTN */
    uint32_t cap_exts;     /* [derived] */
    uint32_t end_crc;      /* [snap] END: CRC-32C chain of everything before it */
    uint32_t end_count;    /* [snap] END: records before it */

    uint8_t **owned;            /* [derived] buffers the spans point into (input copy, decompressed
                                 * records) */
    uint32_t nowned, cap_owned; /* [derived] */
    void *map;      /* [derived] the image file, mapped read-only (waft_image_load), or NULL */
    size_t map_len; /* [derived] */
    int fd;         /* [derived] the image file (waft_image_load), kept to map memory from, or
                     * -1 */
    char path[256]; /* [derived] the file's name (or "image"), for messages */
    uint8_t memory_restore; /* [derived] waft_memory_restore: how restore sets memory */
    uint64_t wire_at;       /* [derived] file offset of the payload being written or read */
    uint32_t rec_crc;       /* [derived] reading MEMA: the record's checksum (rec_mema checks
                             * it from the page checksums, without reading the pages) */
};

/* The image being written: a list of byte ranges in order. Small metadata lives in owned
 * buffers; large payloads (linear memory) are referenced in place. */
typedef struct snap_out {
    base_alloc *a;
    struct snap_out_iov {
        const uint8_t *p;
        size_t len;
    } * iov;
    uint32_t niov, cap_iov;
    uint8_t **owned;
    uint32_t nowned, cap_owned;
    uint32_t crc_chain; /* over the file header and every record's header and checksum */
    size_t total;
    bool failed;
    char why[160];
} snap_out;

/* Makes an empty image for `engine` (NULL if out of memory). */
WAFT_INTERNAL waft_image *snap_image_new(waft_engine *engine);
/* Hands `buf` (from the image's allocator) to the image, which frees it with itself; false
 * (and `buf` not taken) if out of memory. */
WAFT_INTERNAL bool snap_image_own(waft_image *img, uint8_t *buf);

/* Fills `img` from the instance's state; the image borrows linear memory and the module's
 * bytes. WAFT_ERR_STATE (running, or a call made from a host function), WAFT_ERR_UNSUPPORTED
 * (a reference that cannot be saved) or WAFT_ERR_NOMEM, with a message in `err`. */
WAFT_INTERNAL waft_result snap_capture(waft_store *s, const waft_instance *inst, waft_image *img,
                                       waft_error *err);

/* Writes `img` as the byte ranges of `o` (initialized here; release with snap_out_free),
 * following the record table. WAFT_ERR_NOMEM with a message on failure (`o` freed). */
WAFT_INTERNAL waft_result snap_encode(waft_image *img, const waft_image_options *opt, snap_out *o,
                                      waft_error *err);
WAFT_INTERNAL void snap_out_free(snap_out *o);

/* Reads `len` bytes into `img` (whose spans then point into `in`, which must live as long
 * as the image). Hostile input: WAFT_ERR_IMAGE with a message naming the record and the
 * byte offset, or WAFT_ERR_NOMEM. On failure `img` must still be freed. */
WAFT_INTERNAL waft_result snap_decode(waft_image *img, const uint8_t *in, size_t len,
                                      waft_error *err);

/* Bytes a reading codec may allocate on behalf of `plen` bytes of record payload. */
WAFT_INTERNAL size_t snap_record_budget(size_t plen);

/* Writes `len` bytes of an extension record's name (at most SNAP_EXT_NAME_MAX: hostile input)
 * into `out` as printable ASCII: '\\' and bytes outside 0x20..0x7e become \xNN, so a name
 * can neither move the cursor of a terminal nor break a line of a message. */
WAFT_INTERNAL void snap_name_escape(const uint8_t *name, uint32_t len,
                                    char out[SNAP_EXT_NAME_SHOWN]);

#endif
