/* SPDX-License-Identifier: MIT */
/* stream.c - the byte stream of stream.h: descriptor, socket and memory backends.
 *
 * Invariants: see stream.h. Every byte that crosses a backend goes through `moved`, which
 * keeps the count and the running checksum, so no backend can forget either.
 */
#define _GNU_SOURCE /* sync_file_range */
#include "base/stream.h"

#include "base/codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <fcntl.h> /* sync_file_range */
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#define STREAM_POSIX 1
#endif

#define GATHER_MAX 64 /* pieces per writev/sendmsg (IOV_MAX is at least 16, Linux 1024) */

void stream_init_fd(base_stream *s, int fd, enum stream_kind kind)
{
    memset(s, 0, sizeof *s);
    s->kind = kind == STREAM_SOCKET ? STREAM_SOCKET : STREAM_FILE;
    s->fd = fd;
}

void stream_write_behind(base_stream *s, uint64_t window)
{
    if (s->kind == STREAM_FILE)
        s->behind = window;
}

/* Starts writeback of every full window written so far and waits for the one before it. */
static void behind(base_stream *s)
{
#if defined(__linux__)
    while (s->bytes - s->kicked >= s->behind) {
        uint64_t at = s->kicked;
        sync_file_range(s->fd, (off_t)at, (off_t)s->behind, SYNC_FILE_RANGE_WRITE);
        s->kicked += s->behind;
        if (at >= s->behind)
            sync_file_range(s->fd, (off_t)(at - s->behind), (off_t)s->behind,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER);
    }
#else
    (void)s;
#endif
}

void stream_init_mem_writer(base_stream *s, base_alloc *a)
{
    memset(s, 0, sizeof *s);
    s->kind = STREAM_MEM_WRITER;
    s->fd = -1;
    s->alloc = a;
}

void stream_init_mem_reader(base_stream *s, const void *p, size_t len)
{
    memset(s, 0, sizeof *s);
    s->kind = STREAM_MEM_READER;
    s->fd = -1;
    s->buf = (uint8_t *)p;
    s->len = p ? len : 0;
}

static void release(base_alloc *a, void *p)
{
    if (a)
        base_free(a, p);
    else
        free(p);
}

void stream_free(base_stream *s)
{
    if (s->kind == STREAM_MEM_WRITER)
        release(s->alloc, s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
}

bool stream_fail(base_stream *s, int err_no, const char *fmt, ...)
{
    if (s->failed)
        return false;
    s->failed = true;
    s->err_no = err_no;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    return false;
}

/* Accounts for n bytes at p that crossed the backend. */
static void moved(base_stream *s, const void *p, size_t n)
{
    s->bytes += n;
    if (s->summing)
        s->sum = base_crc32c(s->sum, p, n);
}

void stream_sum_begin(base_stream *s, uint32_t seed)
{
    s->summing = true;
    s->sum = seed;
}

uint32_t stream_sum_end(base_stream *s)
{
    s->summing = false;
    return s->sum;
}

/* ==== Memory ==== */

static bool mem_reserve(base_stream *s, size_t more)
{
    if (more <= s->cap - s->len)
        return true;
    if (more > SIZE_MAX / 2 - s->len)
        return stream_fail(s, ENOMEM, "out of memory (%zu bytes)", more);
    size_t cap = s->cap ? s->cap : 4096;
    while (cap - s->len < more)
        cap *= 2;
    uint8_t *b = s->alloc ? base_realloc(s->alloc, s->buf, cap) : realloc(s->buf, cap);
    if (!b)
        return stream_fail(s, ENOMEM, "out of memory (%zu bytes)", cap);
    s->buf = b;
    s->cap = cap;
    return true;
}

uint8_t *stream_take(base_stream *s, size_t *out_len)
{
    if (s->failed || s->kind != STREAM_MEM_WRITER) {
        *out_len = 0;
        return NULL;
    }
    if (!s->buf && !mem_reserve(s, 1)) { /* an empty output is still a buffer */
        *out_len = 0;
        return NULL;
    }
    uint8_t *b = s->buf;
    *out_len = s->len;
    s->buf = NULL;
    s->len = s->cap = 0;
    return b;
}

/* ==== Descriptors ==== */

#if defined(STREAM_POSIX)
/* Reason for a failed write or read on the descriptor. */
static bool io_fail(base_stream *s, const char *what)
{
    int e = errno;
    if (s->kind == STREAM_SOCKET && (e == EAGAIN || e == EWOULDBLOCK))
        return stream_fail(s, e, "%s failed: timed out waiting for the peer", what);
    return stream_fail(s, e, "%s failed: %s", what, strerror(e));
}

/* Gathers up to GATHER_MAX pieces into one system call; returns bytes written or -1. */
static ssize_t put(base_stream *s, struct iovec *v, int n)
{
    if (s->kind == STREAM_SOCKET) {
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = v;
        mh.msg_iovlen = (size_t)n;
        /* MSG_NOSIGNAL: a peer that went away is an error here, not a SIGPIPE */
        return sendmsg(s->fd, &mh, MSG_NOSIGNAL);
    }
    return writev(s->fd, v, n);
}
#endif

bool stream_writev(base_stream *s, const stream_piece *pieces, size_t n)
{
    if (s->failed)
        return false;
    if (s->kind == STREAM_MEM_READER)
        return stream_fail(s, EBADF, "write to a read-only stream");
    if (s->kind == STREAM_MEM_WRITER) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            if (pieces[i].len > SIZE_MAX / 2 - total)
                return stream_fail(s, ENOMEM, "write too large");
            total += pieces[i].len;
        }
        if (!mem_reserve(s, total))
            return false;
        for (size_t i = 0; i < n; i++) {
            if (!pieces[i].len)
                continue;
            memcpy(s->buf + s->len, pieces[i].p, pieces[i].len);
            moved(s, pieces[i].p, pieces[i].len);
            s->len += pieces[i].len;
        }
        return true;
    }
#if defined(STREAM_POSIX)
    size_t i = 0, skip = 0; /* next piece, and how much of it already went out */
    while (i < n) {
        struct iovec v[GATHER_MAX];
        int nv = 0;
        size_t room = s->max_io ? s->max_io : SIZE_MAX;
        if (s->behind) /* up to the end of the current window */
            room = (size_t)(s->behind - (s->bytes - s->kicked)) < room
                       ? (size_t)(s->behind - (s->bytes - s->kicked))
                       : room;
        for (size_t j = i; j < n && nv < GATHER_MAX && room; j++) {
            size_t off = j == i ? skip : 0;
            if (pieces[j].len == off)
                continue;
            size_t len = pieces[j].len - off;
            if (len > room)
                len = room;
            v[nv].iov_base = (uint8_t *)pieces[j].p + off;
            v[nv].iov_len = len;
            room -= len;
            nv++;
        }
        if (nv == 0)
            break;
        ssize_t w = put(s, v, nv);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return io_fail(s, s->kind == STREAM_SOCKET ? "send" : "write");
        }
        if (w == 0)
            return stream_fail(s, EIO, "write made no progress");
        /* account for what went out, piece by piece */
        size_t left = (size_t)w;
        while (left && i < n) {
            size_t rest = pieces[i].len - skip;
            size_t take = left < rest ? left : rest;
            moved(s, (const uint8_t *)pieces[i].p + skip, take);
            left -= take;
            skip += take;
            if (skip == pieces[i].len) {
                i++;
                skip = 0;
            }
        }
        while (i < n && pieces[i].len == 0)
            i++;
        if (s->behind)
            behind(s);
    }
    return true;
#else
    return stream_fail(s, ENOSYS, "descriptor streams are not supported on this host");
#endif
}

bool stream_write(base_stream *s, const void *p, size_t n)
{
    stream_piece one = { p, n };
    return stream_writev(s, &one, 1);
}

bool stream_read(base_stream *s, void *p, size_t n)
{
    if (s->failed)
        return false;
    if (s->kind == STREAM_MEM_WRITER)
        return stream_fail(s, EBADF, "read from a write-only stream");
    if (s->kind == STREAM_MEM_READER) {
        if (n > s->len - s->pos)
            return stream_fail(s, 0, "truncated: %zu bytes wanted at offset %zu, %zu left", n,
                               s->pos, s->len - s->pos);
        if (n) {
            memcpy(p, s->buf + s->pos, n);
            moved(s, s->buf + s->pos, n);
        }
        s->pos += n;
        return true;
    }
#if defined(STREAM_POSIX)
    uint8_t *at = p;
    while (n) {
        ssize_t r = read(s->fd, at, s->max_io && n > s->max_io ? s->max_io : n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return io_fail(s, s->kind == STREAM_SOCKET ? "receive" : "read");
        if (r == 0)
            return stream_fail(s, 0, "%s",
                               s->kind == STREAM_SOCKET ? "connection closed by the peer"
                                                        : "unexpected end of file");
        moved(s, at, (size_t)r);
        at += r;
        n -= (size_t)r;
    }
    return true;
#else
    (void)p;
    return stream_fail(s, ENOSYS, "descriptor streams are not supported on this host");
#endif
}

bool stream_sync(base_stream *s)
{
    if (s->failed)
        return false;
#if defined(STREAM_POSIX)
    if (s->kind == STREAM_FILE && fsync(s->fd) != 0)
        return io_fail(s, "fsync");
#endif
    return true;
}
