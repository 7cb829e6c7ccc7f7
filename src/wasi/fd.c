/* SPDX-License-Identifier: MIT */
/* fd.c - guest memory checks, blocking waits, and the fd_* functions of preview1.
 *
 * Invariants:
 *  - Every pointer argument is checked (wasi_mem_ok) before the call has any effect, so a
 *    call that fails with EFAULT changed nothing: no byte read from a pipe is lost because
 *    the place for its count was out of bounds.
 *  - Rights are checked first (EBADF, then ENOTCAPABLE), then arguments, then memory.
 *  - Reads and writes on descriptors that can block go through wasi_wait_ready, so an
 *    interrupt of the store suspends the call instead of leaving it stuck in the kernel.
 */
#include "wasi/wasi.h"

#include <string.h>

/* ==== Guest memory ==== */

uint16_t wasi_mem_path(const wasi_ctx *c, uint32_t ptr, uint32_t len, char *buf)
{
    if (!wasi_mem_ok(c, ptr, len))
        return WASI_EFAULT;
    if (len > WASI_PATH_MAX)
        return WASI_ENAMETOOLONG;
    if (memchr(c->mem + ptr, '\0', len) != NULL)
        return WASI_EILSEQ; /* a NUL would cut the path short on the host */
    memcpy(buf, c->mem + ptr, len);
    buf[len] = '\0';
    return 0;
}

uint16_t wasi_mem_iovs(wasi_ctx *c, uint32_t iovs, uint32_t n, size_t *out_n)
{
    uint64_t total = 0;
    size_t used = 0;

    if (!wasi_mem_ok(c, iovs, (uint64_t)n * 8))
        return WASI_EFAULT;
    for (uint32_t i = 0; i < n && used < WASI_IOV_MAX && total < WASI_IO_MAX; i++) {
        const uint8_t *e = c->mem + iovs + (uint64_t)i * 8;
        uint32_t ptr = base_load32(e), len = base_load32(e + 4);
        if (!wasi_mem_ok(c, ptr, len))
            return WASI_EFAULT;
        if (len > WASI_IO_MAX - total)
            len = (uint32_t)(WASI_IO_MAX - total); /* a short transfer, as POSIX allows */
        c->w->iov[used].base = c->mem + ptr;
        c->w->iov[used].len = len;
        used++;
        total += len;
    }
    *out_n = used;
    return 0;
}

static uint64_t iov_total(const waft_wasi *w, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += w->iov[i].len;
    return t;
}

/* ==== Waiting ==== */

static bool may_block(const wasi_fd *f)
{
    return f->filetype != WASI_FILETYPE_REGULAR_FILE && f->filetype != WASI_FILETYPE_DIRECTORY &&
           f->filetype != WASI_FILETYPE_BLOCK_DEVICE;
}

uint32_t wasi_wait_ready(wasi_ctx *c, wasi_fd *f, uint16_t events)
{
    waft_wasi *w = c->w;
    int timeout = 0;

    if (!may_block(f))
        return 0;
    int wakeable = -1; /* asked only once the call has to wait: most transfers do not */
    for (;;) {
        wasi_host_pollfd p[2]; /* the descriptor, and the store's wake pipe */
        size_t ready = 0, np = 1;
        uint16_t err;
        p[0].fd = f->host;
        p[0].events = events;
        p[0].revents = 0;
        int wake = timeout != 0 && wakeable > 0 ? waft_store_wake_fd(w->store) : -1;
        if (wake >= 0) {
            if (waft_store_interrupt_pending(w->store)) /* after the drain: none is lost */
                return WASI_CTL_SUSPEND;
            p[1].fd = wake;
            p[1].events = WASI_POLL_IN;
            p[1].revents = 0;
            np = 2;
        }
        err = w->host->poll(w->host_ud, p, np, timeout, &ready);
        if (err != 0 && err != WASI_EINTR)
            return err;
        if (err == 0 && p[0].revents != 0)
            return 0;
        if (f->fdflags & WASI_FDFLAG_NONBLOCK)
            return WASI_EAGAIN; /* non-blocking is emulated: the host fd is shared */
        if (waft_store_interrupt_pending(w->store))
            return WASI_CTL_SUSPEND;
        if (wakeable < 0)
            wakeable = waft_store_wake_fd(w->store) >= 0;
        timeout = wakeable ? WASI_WAIT_LONG_MS : WASI_WAIT_SLICE_MS;
    }
}

/* ==== Reading and writing ==== */

/* Shared body of fd_read and fd_write: `out_ptr` gets the byte count. */
static uint32_t transfer(wasi_ctx *c, const uint64_t *args, bool writing)
{
    waft_wasi *w = c->w;
    uint32_t fd = wasi_arg32(args, 0), iovs = wasi_arg32(args, 1), n = wasi_arg32(args, 2);
    uint32_t out_ptr = wasi_arg32(args, 3);
    uint16_t err;
    size_t niov = 0, done = 0;
    wasi_fd *f = wasi_fd_get(w, fd, writing ? WASI_RIGHT_FD_WRITE : WASI_RIGHT_FD_READ, &err);

    if (f == NULL)
        return err;
    if (!wasi_mem_ok(c, out_ptr, 4))
        return WASI_EFAULT;
    err = wasi_mem_iovs(c, iovs, n, &niov);
    if (err != 0)
        return err;
    if (iov_total(w, niov) > 0) {
        for (;;) {
            uint32_t r = wasi_wait_ready(c, f, writing ? WASI_POLL_OUT : WASI_POLL_IN);
            if (r != 0)
                return r;
            if (writing)
                err = w->host->writev(w->host_ud, f->host, w->iov, niov, &done);
            else
                err = w->host->readv(w->host_ud, f->host, w->iov, niov, &done);
            /* a host fd that is non-blocking behind our back: wait again */
            if (err == WASI_EAGAIN && !(f->fdflags & WASI_FDFLAG_NONBLOCK) && may_block(f))
                continue;
            break;
        }
        if (err != 0)
            return err;
    }
    base_store32(c->mem + out_ptr, (uint32_t)done);
    return 0;
}

uint32_t wasi_call_fd_read(wasi_ctx *c, const uint64_t *args)
{
    return transfer(c, args, false);
}

uint32_t wasi_call_fd_write(wasi_ctx *c, const uint64_t *args)
{
    return transfer(c, args, true);
}

/* fd_pread / fd_pwrite: (fd, iovs, n, offset, out_ptr). */
static uint32_t transfer_at(wasi_ctx *c, const uint64_t *args, bool writing)
{
    waft_wasi *w = c->w;
    uint32_t fd = wasi_arg32(args, 0), iovs = wasi_arg32(args, 1), n = wasi_arg32(args, 2);
    uint64_t off = wasi_arg64(args, 3);
    uint32_t out_ptr = wasi_arg32(args, 4);
    uint16_t err;
    size_t niov = 0, done = 0;
    wasi_fd *f = wasi_fd_get(
        w, fd, (writing ? WASI_RIGHT_FD_WRITE : WASI_RIGHT_FD_READ) | WASI_RIGHT_FD_SEEK, &err);

    if (f == NULL)
        return err;
    if (!wasi_mem_ok(c, out_ptr, 4))
        return WASI_EFAULT;
    err = wasi_mem_iovs(c, iovs, n, &niov);
    if (err != 0)
        return err;
    if (f->filetype == WASI_FILETYPE_DIRECTORY)
        return WASI_EISDIR;
    if (writing)
        err = w->host->pwritev(w->host_ud, f->host, w->iov, niov, off, &done);
    else
        err = w->host->preadv(w->host_ud, f->host, w->iov, niov, off, &done);
    if (err != 0)
        return err;
    base_store32(c->mem + out_ptr, (uint32_t)done);
    return 0;
}

uint32_t wasi_call_fd_pread(wasi_ctx *c, const uint64_t *args)
{
    return transfer_at(c, args, false);
}

uint32_t wasi_call_fd_pwrite(wasi_ctx *c, const uint64_t *args)
{
    return transfer_at(c, args, true);
}

/* ==== Offsets ==== */

uint32_t wasi_call_fd_seek(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t fd = wasi_arg32(args, 0);
    int64_t off = (int64_t)wasi_arg64(args, 1);
    uint32_t whence = wasi_arg32(args, 2), out_ptr = wasi_arg32(args, 3);
    uint64_t rights =
        (off == 0 && whence == WASI_WHENCE_CUR) ? WASI_RIGHT_FD_TELL : WASI_RIGHT_FD_SEEK;
    uint64_t pos = 0;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, fd, rights, &err);

    if (f == NULL)
        return err;
    if (whence > WASI_WHENCE_END)
        return WASI_EINVAL;
    if (!wasi_mem_ok(c, out_ptr, 8))
        return WASI_EFAULT;
    err = w->host->seek(w->host_ud, f->host, off, (int)whence, &pos);
    if (err != 0)
        return err;
    base_store64(c->mem + out_ptr, pos);
    return 0;
}

uint32_t wasi_call_fd_tell(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t out_ptr = wasi_arg32(args, 1);
    uint64_t pos = 0;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_TELL, &err);

    if (f == NULL)
        return err;
    if (!wasi_mem_ok(c, out_ptr, 8))
        return WASI_EFAULT;
    err = w->host->seek(w->host_ud, f->host, 0, WASI_WHENCE_CUR, &pos);
    if (err != 0)
        return err;
    base_store64(c->mem + out_ptr, pos);
    return 0;
}

/* ==== Descriptor status ==== */

uint32_t wasi_call_fd_fdstat_get(wasi_ctx *c, const uint64_t *args)
{
    uint32_t out_ptr = wasi_arg32(args, 1);
    uint16_t err;
    wasi_fd *f = wasi_fd_get(c->w, wasi_arg32(args, 0), 0, &err);
    uint8_t *p;

    if (f == NULL)
        return err;
    if (!wasi_mem_ok(c, out_ptr, 24))
        return WASI_EFAULT;
    p = c->mem + out_ptr;
    memset(p, 0, 24);
    p[0] = f->filetype;
    base_store16(p + 2, f->fdflags);
    base_store64(p + 8, f->rights_base);
    base_store64(p + 16, f->rights_inheriting);
    return 0;
}

uint32_t wasi_call_fd_fdstat_set_flags(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t flags = wasi_arg32(args, 1);
    const uint32_t sync = WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &err);

    if (f == NULL)
        return err;
    if (flags & ~(uint32_t)(WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK | sync))
        return WASI_EINVAL;
    if ((flags & sync) != (f->fdflags & sync))
        return WASI_ENOTSUP; /* POSIX cannot change the sync mode of an open file */
    if ((flags ^ f->fdflags) & WASI_FDFLAG_APPEND) {
        err = w->host->set_append(w->host_ud, f->host, (flags & WASI_FDFLAG_APPEND) != 0);
        if (err != 0)
            return err;
    }
    f->fdflags = (uint16_t)flags;
    return 0;
}

uint32_t wasi_call_fd_fdstat_set_rights(wasi_ctx *c, const uint64_t *args)
{
    uint64_t base = wasi_arg64(args, 1), inheriting = wasi_arg64(args, 2);
    uint16_t err;
    wasi_fd *f = wasi_fd_get(c->w, wasi_arg32(args, 0), 0, &err);

    if (f == NULL)
        return err;
    if ((base & ~f->rights_base) != 0 || (inheriting & ~f->rights_inheriting) != 0)
        return WASI_ENOTCAPABLE; /* rights can only be dropped */
    f->rights_base = base;
    f->rights_inheriting = inheriting;
    return 0;
}

void wasi_put_filestat(uint8_t *p, const wasi_host_stat *st)
{
    memset(p, 0, 64);
    base_store64(p + 0, st->dev);
    base_store64(p + 8, st->ino);
    p[16] = st->filetype;
    base_store64(p + 24, st->nlink);
    base_store64(p + 32, st->size);
    base_store64(p + 40, st->atim);
    base_store64(p + 48, st->mtim);
    base_store64(p + 56, st->ctim);
}

uint32_t wasi_call_fd_filestat_get(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t out_ptr = wasi_arg32(args, 1);
    wasi_host_stat st;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_FILESTAT_GET, &err);

    if (f == NULL)
        return err;
    if (!wasi_mem_ok(c, out_ptr, 64))
        return WASI_EFAULT;
    err = w->host->fstat(w->host_ud, f->host, &st);
    if (err != 0)
        return err;
    wasi_put_filestat(c->mem + out_ptr, &st);
    return 0;
}

uint32_t wasi_call_fd_filestat_set_size(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_FILESTAT_SET_SIZE, &err);

    if (f == NULL)
        return err;
    return w->host->ftruncate(w->host_ud, f->host, wasi_arg64(args, 1));
}

uint16_t wasi_times_from_flags(uint64_t atim, uint64_t mtim, uint32_t fst, wasi_host_times *t)
{
    if (fst & ~(uint32_t)(WASI_FST_ATIM | WASI_FST_ATIM_NOW | WASI_FST_MTIM | WASI_FST_MTIM_NOW))
        return WASI_EINVAL;
    if (((fst & WASI_FST_ATIM) && (fst & WASI_FST_ATIM_NOW)) ||
        ((fst & WASI_FST_MTIM) && (fst & WASI_FST_MTIM_NOW)))
        return WASI_EINVAL;
    t->atim = atim;
    t->mtim = mtim;
    t->atim_mode = (fst & WASI_FST_ATIM_NOW) ? WASI_TIME_NOW
                   : (fst & WASI_FST_ATIM)   ? WASI_TIME_SET
                                             : WASI_TIME_OMIT;
    t->mtim_mode = (fst & WASI_FST_MTIM_NOW) ? WASI_TIME_NOW
                   : (fst & WASI_FST_MTIM)   ? WASI_TIME_SET
                                             : WASI_TIME_OMIT;
    return 0;
}

uint32_t wasi_call_fd_filestat_set_times(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    wasi_host_times t;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_FILESTAT_SET_TIMES, &err);

    if (f == NULL)
        return err;
    err = wasi_times_from_flags(wasi_arg64(args, 1), wasi_arg64(args, 2), wasi_arg32(args, 3), &t);
    if (err != 0)
        return err;
    return w->host->futimens(w->host_ud, f->host, &t);
}

/* ==== Hints, space, durability ==== */

uint32_t wasi_call_fd_advise(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t advice = wasi_arg32(args, 3);
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_ADVISE, &err);

    if (f == NULL)
        return err;
    if (advice > 5)
        return WASI_EINVAL;
    return w->host->advise(w->host_ud, f->host, wasi_arg64(args, 1), wasi_arg64(args, 2),
                           (int)advice);
}

uint32_t wasi_call_fd_allocate(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_ALLOCATE, &err);

    if (f == NULL)
        return err;
    if (f->filetype != WASI_FILETYPE_REGULAR_FILE)
        return f->filetype == WASI_FILETYPE_DIRECTORY ? WASI_EISDIR : WASI_ESPIPE;
    return w->host->allocate(w->host_ud, f->host, wasi_arg64(args, 1), wasi_arg64(args, 2));
}

uint32_t wasi_call_fd_datasync(wasi_ctx *c, const uint64_t *args)
{
    uint16_t err;
    wasi_fd *f = wasi_fd_get(c->w, wasi_arg32(args, 0), WASI_RIGHT_FD_DATASYNC, &err);

    if (f == NULL)
        return err;
    return c->w->host->sync(c->w->host_ud, f->host, 1);
}

uint32_t wasi_call_fd_sync(wasi_ctx *c, const uint64_t *args)
{
    uint16_t err;
    wasi_fd *f = wasi_fd_get(c->w, wasi_arg32(args, 0), WASI_RIGHT_FD_SYNC, &err);

    if (f == NULL)
        return err;
    return c->w->host->sync(c->w->host_ud, f->host, 0);
}

/* ==== Table operations ==== */

uint32_t wasi_call_fd_close(wasi_ctx *c, const uint64_t *args)
{
    uint32_t fd = wasi_arg32(args, 0);
    uint16_t err;

    if (wasi_fd_get(c->w, fd, 0, &err) == NULL)
        return err;
    wasi_fd_release(c->w, fd);
    return 0;
}

uint32_t wasi_call_fd_renumber(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t from = wasi_arg32(args, 0), to = wasi_arg32(args, 1);
    uint16_t err;

    if (wasi_fd_get(w, from, 0, &err) == NULL || wasi_fd_get(w, to, 0, &err) == NULL)
        return err; /* both must be open, as in wasmtime and uvwasi */
    if (from == to)
        return 0;
    wasi_fd_release(w, to);
    if (w->nfds <= to)
        w->nfds = to + 1; /* release may have trimmed the table below `to` */
    w->fds[to] = w->fds[from];
    memset(&w->fds[from], 0, sizeof w->fds[from]);
    w->fds[from].host = -1;
    while (w->nfds > 0 && w->fds[w->nfds - 1].kind == WASI_KIND_FREE)
        w->nfds--;
    return 0;
}

/* ==== Preopens ==== */

uint32_t wasi_call_fd_prestat_get(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t out_ptr = wasi_arg32(args, 1);
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), 0, &err);
    uint8_t *p;

    if (f == NULL)
        return err;
    if (f->kind != WASI_KIND_PREOPEN)
        return WASI_EBADF;
    if (!wasi_mem_ok(c, out_ptr, 8))
        return WASI_EFAULT;
    p = c->mem + out_ptr;
    memset(p, 0, 8);
    p[0] = 0; /* preopentype dir */
    base_store32(p + 4, (uint32_t)strlen(w->preopens[f->origin].guest_path));
    return 0;
}

uint32_t wasi_call_fd_prestat_dir_name(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t ptr = wasi_arg32(args, 1), len = wasi_arg32(args, 2);
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), 0, &err);
    const char *name;
    size_t n;

    if (f == NULL)
        return err;
    if (f->kind != WASI_KIND_PREOPEN)
        return WASI_EBADF;
    if (!wasi_mem_ok(c, ptr, len))
        return WASI_EFAULT;
    name = w->preopens[f->origin].guest_path;
    n = strlen(name);
    if (len < n)
        return WASI_ENAMETOOLONG;
    memcpy(c->mem + ptr, name, n);
    return 0;
}

/* ==== Directories ==== */

uint32_t wasi_call_fd_readdir(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t buf = wasi_arg32(args, 1), len = wasi_arg32(args, 2);
    uint64_t cookie = wasi_arg64(args, 3);
    uint32_t out_ptr = wasi_arg32(args, 4);
    uint32_t used = 0;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_READDIR, &err);

    if (f == NULL)
        return err;
    if (f->filetype != WASI_FILETYPE_DIRECTORY)
        return WASI_ENOTDIR;
    if (!wasi_mem_ok(c, buf, len) || !wasi_mem_ok(c, out_ptr, 4))
        return WASI_EFAULT;
    while (used < len) {
        wasi_host_dirent e;
        uint8_t head[24];
        uint32_t n;
        int end = 0;
        err = w->host->dir_read(w->host_ud, f->host, &f->dir_cursor, cookie, &e, &end);
        if (err != 0)
            return err;
        if (end)
            break;
        if (e.name_len > UINT32_MAX - 24)
            return WASI_ENAMETOOLONG;
        /* dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8, then the name; an entry
         * that does not fit is cut short and the guest asks again from its cookie */
        base_store64(head, cookie + 1);
        base_store64(head + 8, e.ino);
        base_store32(head + 16, (uint32_t)e.name_len);
        head[20] = e.filetype;
        head[21] = head[22] = head[23] = 0;
        n = len - used < 24 ? len - used : 24;
        memcpy(c->mem + buf + used, head, n);
        used += n;
        n = len - used < e.name_len ? len - used : (uint32_t)e.name_len;
        memcpy(c->mem + buf + used, e.name, n);
        used += n;
        cookie++;
    }
    f->dir_cookie = cookie;
    base_store32(c->mem + out_ptr, used);
    return 0;
}
