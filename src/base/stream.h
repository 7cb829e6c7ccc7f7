/* SPDX-License-Identifier: MIT */
/* stream.h - one byte stream for images and the migration wire: a reader/writer over a
 * file descriptor, a socket or a memory buffer, with a sticky error and an optional running
 * CRC-32C of the bytes that pass through it.
 *
 * Images (src/snapshot/file.c) are written through it to a file or to memory; migration
 * frames (src/migrate/proto.c) are sent and received through it over a socket. The callers
 * say what they move; the backend decides how (writev/sendmsg, EINTR, partial writes,
 * SIGPIPE, timeouts, growing a buffer).
 *
 * Invariants:
 *  - Errors are sticky: after the first failure every call is a no-op that returns false,
 *    and the first failure's one-line reason (stream_error) and errno are kept.
 *  - A read either fills all `n` bytes or fails ("truncated" for memory, "connection closed
 *    by the peer" / "unexpected end of file" for descriptors); there are no short reads.
 *  - While summing (stream_sum_begin), every byte written or read is added, in order, to
 *    the running CRC-32C, whatever the backend and however the bytes were split.
 *  - `bytes` counts every byte moved since init, summing or not.
 *  - A memory writer owns its buffer (from its allocator) until stream_take or stream_free;
 *    a memory reader only borrows its input.
 */
#ifndef WAFT_STREAM_H
#define WAFT_STREAM_H

#include "base/base.h"

enum stream_kind {
    STREAM_FILE,       /* read(2)/write(2) on a descriptor: a file or a pipe */
    STREAM_SOCKET,     /* recv(2)/sendmsg(2) without SIGPIPE; EAGAIN = timed out */
    STREAM_MEM_WRITER, /* a growing buffer */
    STREAM_MEM_READER  /* a borrowed buffer */
};

/* One piece of a gathered write. */
typedef struct stream_piece {
    const void *p;
    size_t len;
} stream_piece;

typedef struct base_stream {
    enum stream_kind kind;
    int fd;            /* FILE, SOCKET */
    base_alloc *alloc; /* MEM_WRITER */
    uint8_t *buf;      /* MEM_*: the bytes; the writer's grow to `cap` */
    size_t len, cap;   /* MEM_WRITER: bytes written; MEM_READER: input size */
    size_t pos;        /* MEM_READER: next byte */
    uint64_t bytes;    /* bytes moved since init */
    size_t max_io;     /* at most this many bytes per system call, 0 = no limit (tests) */
    uint64_t behind;   /* FILE: write-behind window in bytes, 0 = off (stream_write_behind) */
    uint64_t kicked;   /* FILE: bytes whose writeback has been started */
    bool summing;
    uint32_t sum; /* running CRC-32C while summing */
    bool failed;
    int err_no; /* errno of the failure, 0 if it was not a system call's */
    char why[160];
} base_stream;

WAFT_INTERNAL void stream_init_fd(base_stream *s, int fd, enum stream_kind kind);
/* A file written from offset 0 onwards: starts the writeback of each `window` bytes as soon
 * as they are written and, before writing more, waits for the window before it, so the disk
 * writes while memory is still being copied, dirty pages stay under two windows and the
 * final stream_sync has at most that much left to flush (Linux: sync_file_range; elsewhere
 * a no-op). Errors surface at stream_sync. */
WAFT_INTERNAL void stream_write_behind(base_stream *s, uint64_t window);
WAFT_INTERNAL void stream_init_mem_writer(base_stream *s, base_alloc *a);
WAFT_INTERNAL void stream_init_mem_reader(base_stream *s, const void *p, size_t len);
/* Frees a memory writer's buffer (descriptors are the caller's to close). */
WAFT_INTERNAL void stream_free(base_stream *s);
/* Marks the stream failed with a reason (first call wins); returns false. */
WAFT_INTERNAL bool stream_fail(base_stream *s, int err_no, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

WAFT_INTERNAL bool stream_write(base_stream *s, const void *p, size_t n);
/* Writes the pieces in order, gathered (one writev/sendmsg for up to 64 pieces). */
WAFT_INTERNAL bool stream_writev(base_stream *s, const stream_piece *pieces, size_t n);
/* Reads exactly n bytes. */
WAFT_INTERNAL bool stream_read(base_stream *s, void *p, size_t n);
/* Makes what was written durable (fsync for a file; nothing for the others). */
WAFT_INTERNAL bool stream_sync(base_stream *s);

/* Starts summing from `seed` (0, or the CRC of bytes that came before). */
WAFT_INTERNAL void stream_sum_begin(base_stream *s, uint32_t seed);
/* The CRC so far; stops summing. */
WAFT_INTERNAL uint32_t stream_sum_end(base_stream *s);

/* The first failure's reason ("" if none). */
static inline const char *stream_error(const base_stream *s)
{
    return s->why;
}
/* Memory writer: hands its buffer (s->len bytes, base_free with its allocator) to the
 * caller; the stream is empty afterwards. NULL if failed. */
WAFT_INTERNAL uint8_t *stream_take(base_stream *s, size_t *out_len);

#endif
