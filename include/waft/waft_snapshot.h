/* SPDX-License-Identifier: MIT */
/* waft_snapshot.h - portable images of a running instance: save, inspect, restore.
 *
 * An image holds one instance at the WebAssembly level: the module's identity (SHA-256 of
 * its bytes, and by default the bytes themselves), every memory, table and global the
 * instance sees, dropped segments, the suspended call stack (per frame: function index,
 * code offset, locals, operand values), fuel, and one record per registered extension
 * (WASI). The format is in docs/image-format.md: little-endian, versioned, checksummed,
 * independent of the host's word size, byte order and struct layout.
 *
 * Invariants:
 *  - Saving needs the store suspended (waft_store_resume would continue it) or idle; it
 *    does not change the store.
 *  - Loading treats the bytes as hostile: every length, index, offset, record version and
 *    the END record's count is checked; a bad image is a clear error (WAFT_ERR_IMAGE with a
 *    message naming the record and offset), never a crash, never an allocation beyond what
 *    the image's records declare and their bytes back (a compressed record's buffer grows
 *    only with the data that actually decompresses; a memory holds at most 4 GiB).
 */
#ifndef WAFT_SNAPSHOT_H
#define WAFT_SNAPSHOT_H

#include <waft/waft.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WAFT_IMAGE_VERSION 1u

/* ==== Codec for extension records ==== */

/* A symmetric codec: the same function serializes (when waft_codec_writing) and parses
 * into the same variables (otherwise). Errors are sticky; reads after an error yield 0. */
typedef struct waft_codec waft_codec;

WAFT_API int waft_codec_writing(const waft_codec *c);
WAFT_API int waft_codec_failed(const waft_codec *c);
/* Fails the codec with a message (first failure wins). */
WAFT_API void waft_codec_fail(waft_codec *c, const char *message);
WAFT_API void waft_codec_u8(waft_codec *c, uint8_t *v);
WAFT_API void waft_codec_u32(waft_codec *c, uint32_t *v);
WAFT_API void waft_codec_u64(waft_codec *c, uint64_t *v);
WAFT_API void waft_codec_i64(waft_codec *c, int64_t *v);
/* A length-prefixed byte string of at most `max` bytes. Reading: *s becomes a
 * NUL-terminated copy from malloc() (the caller frees it with free()), *len its length. */
WAFT_API void waft_codec_string(waft_codec *c, char **s, uint32_t *len, uint32_t max);

/* Reading: bytes left in the record. Writing: 0. */
WAFT_API uint64_t waft_codec_remaining(const waft_codec *c);
/* Reading: skips n bytes (fails if fewer are left). */
WAFT_API void waft_codec_skip(waft_codec *c, uint64_t n);

/* Saves or loads an extension's state. Return WAFT_OK, or an error (the message goes in
 * the codec with waft_codec_fail). */
typedef waft_result (*waft_state_fn)(waft_codec *c, void *ctx);

/* Registers extension state (e.g. WASI) with the store: images saved from this store carry
 * a record `name` (at most 32 bytes) at `version`; a restore into a store calls `load` with
 * that record. An image record for a name nobody registered makes the restore fail. At most
 * 64 registrations per store (an image holds no more): WAFT_ERR_LIMIT beyond;
 * WAFT_ERR_INVALID_ARG for a bad argument or a name already registered. */
WAFT_API waft_result waft_store_add_state(waft_store *store, const char *name, uint32_t version,
                                          waft_state_fn save, waft_state_fn load, void *ctx);

/* Removes the registration `name` made with context `ctx` (no-op if there is none). An
 * extension calls this before its state goes away. */
WAFT_API void waft_store_remove_state(waft_store *store, const char *name, void *ctx);

/* ==== Saving ==== */

/* What a save cost, filled by waft_image_save when the options point at one. */
typedef struct waft_image_stats {
    uint64_t bytes;      /* size of the image */
    uint64_t capture_ns; /* capturing and encoding the state (the store stays suspended) */
    uint64_t write_ns;   /* writing the bytes to the file */
    uint64_t sync_ns;    /* making them durable: the last fsync, the rename, the directory */
} waft_image_stats;

typedef struct waft_image_options {
    int omit_module;         /* 1: store only the module's hash (restore then needs the module) */
    int compress;            /* 1: zstd-compress records (if built with zstd) */
    int level;               /* zstd level; 0 = 1 */
    int no_sync;             /* 1: skip the fsyncs of waft_image_save (benchmarks, scratch files) */
    int omit_memory;         /* 1: store memory sizes only, not contents (live migration sends the
                              * pages itself; see waft_image_restore_into) */
    int plain_write;         /* 1: write everything, then fsync (by default the writeback of each
                              * 16 MiB starts as soon as it is written, so the disk works during
                              * the write and the final fsync is short; benchmarks compare both) */
    waft_image_stats *stats; /* NULL, or filled by waft_image_save */
} waft_image_options;

/* 1 if `compress` works in this process (libzstd is loaded on first use); 0 if not, with
 * the reason in `why` (if not NULL): images are then written uncompressed. */
WAFT_API int waft_image_can_compress(char *why, size_t cap);

/* Encodes the state of `instance` into a new malloc()ed buffer. */
WAFT_API waft_result waft_image_encode(waft_store *store, const waft_instance *instance,
                                       const waft_image_options *options, uint8_t **out_bytes,
                                       size_t *out_len, waft_error *out_err);
/* Saves to `path` atomically: writes `path`.tmp, flushes it to disk, renames it over `path`
 * and flushes the directory, so a crash leaves either the old or the new image. */
WAFT_API waft_result waft_image_save(waft_store *store, const waft_instance *instance,
                                     const char *path, const waft_image_options *options,
                                     waft_error *out_err);

/* ==== Loading and restoring ==== */

typedef struct waft_image waft_image;

/* Parses and checks an image (structure, checksums, lengths). The bytes are copied. */
WAFT_API waft_result waft_image_decode(waft_engine *engine, const uint8_t *bytes, size_t len,
                                       waft_image **out_image, waft_error *out_err);
WAFT_API waft_result waft_image_load(waft_engine *engine, const char *path, waft_image **out_image,
                                     waft_error *out_err);
WAFT_API void waft_image_free(waft_image *image);

/* How waft_image_restore sets linear memory from an image that waft_image_load read from a
 * file and whose pages are aligned in it (every uncompressed image waft writes). Memory
 * is checked by the MiB against the image's checksums in every mode. */
typedef enum waft_memory_restore {
    /* the default: pages are mapped from the file (copy-on-write) and read when the program
     * touches them; every MiB is checked before waft_image_restore returns */
    WAFT_MEMORY_MAP_CHECKED = 0,
    /* mapped, and each MiB is checked when it is first touched (by the program or the
     * host): nothing is read up front. A damaged MiB found then cannot be reported to a
     * caller: waft prints one line naming the image and the bytes and ends the process
     * (status 1), before the program reads them */
    WAFT_MEMORY_MAP_LAZY = 1,
    /* copied into anonymous memory and checked, as compressed images always are */
    WAFT_MEMORY_COPY = 2
} waft_memory_restore;
WAFT_API void waft_image_set_memory_restore(waft_image *image, waft_memory_restore how);

/* The embedded module bytes (NULL if the image has only the hash). */
WAFT_API const uint8_t *waft_image_module(const waft_image *image, size_t *out_len);
/* SHA-256 of a module's bytes, as images record it. */
WAFT_API void waft_module_hash(const waft_module *module, uint8_t out[32]);

/* Restores the image into `store`: instantiates `module` (whose hash must match the
 * image's) with `imports` but without running its start function, sets every memory,
 * table, global and segment, calls each registered extension's `load`, and rebuilds the
 * suspended call stack, so waft_store_resume() continues where the image was taken. Every
 * frame is checked against the module (function, instruction boundary, operand count and
 * types). On failure the store must be freed. */
WAFT_API waft_result waft_image_restore(const waft_image *image, waft_store *store,
                                        const waft_module *module, const waft_extern *imports,
                                        uint32_t nimports, waft_instance **out_instance,
                                        waft_error *out_err);

/* Restoring in two steps, for live migration: waft_instance_prepare instantiates `module`
 * without running its start function and with every memory all zero; the caller then
 * writes the memory contents (waft_memory_data, waft_memory_grow) while they arrive, and
 * waft_image_restore_into sets the rest from an image (saved with omit_memory, or a full
 * one, whose memory then replaces the contents). An image saved with omit_memory can only
 * be restored this way. On failure the store must be freed. */
WAFT_API waft_result waft_instance_prepare(waft_store *store, const waft_module *module,
                                           const waft_extern *imports, uint32_t nimports,
                                           waft_instance **out_instance, waft_error *out_err);
WAFT_API waft_result waft_image_restore_into(const waft_image *image, waft_instance *instance,
                                             waft_error *out_err);

/* CRC-32C (Castagnoli) of `len` bytes, continuing from `crc` (0 to start); the checksum of
 * image records, offered for protocols that carry images. */
WAFT_API uint32_t waft_crc32c(uint32_t crc, const void *data, size_t len);

typedef struct waft_image_info {
    uint32_t version;
    uint8_t module_hash[32];
    uint64_t module_size;
    int module_embedded;
    uint32_t nmemories;
    uint64_t memory_bytes;        /* sum of memory sizes */
    uint64_t memory_bytes_stored; /* non-zero 4 KiB pages actually stored */
    uint32_t ntables;
    uint32_t nglobals;
    uint32_t nframes;
    uint64_t fuel; /* UINT64_MAX: not counting */
    uint64_t steps;
    uint32_t nextensions;
    uint64_t image_size;
    int compressed;
} waft_image_info;

WAFT_API void waft_image_get_info(const waft_image *image, waft_image_info *out);
/* Frame `depth` (0 = innermost): function index, code offset, number of locals and operand
 * values. The value pointers are NULL (use a restored store for the values). */
WAFT_API waft_result waft_image_frame(const waft_image *image, uint32_t depth,
                                      waft_frame_state *out);
/* Name, version and payload size of extension record i. */
WAFT_API const char *waft_image_extension(const waft_image *image, uint32_t i,
                                          uint32_t *out_version, uint64_t *out_size);

#ifdef __cplusplus
}
#endif
#endif
