/* SPDX-License-Identifier: MIT */
/* misc.c - preview1 functions outside the file system: arguments and environment, clocks,
 * randomness, poll_oneoff, the process, scheduling and sockets.
 *
 * Invariants:
 *  - Clocks are read through wasi_clock_now, so monotonic and CPU clocks never go back,
 *    also across a restore.
 *  - poll_oneoff watches the store's wake pipe beside its descriptors (slices of
 *    WASI_WAIT_LONG_MS; WASI_WAIT_SLICE_MS where there is no pipe) and suspends (the call is
 *    issued again on resume) as soon as the store has an interrupt pending.
 */
#include "wasi/wasi.h"

#include <string.h>

/* ==== Arguments and environment ==== */

/* Writes `n` strings as a pointer array at `ptrs` and their bytes at `buf`. */
static uint32_t put_strings(wasi_ctx *c, char *const *v, uint32_t n, uint32_t size, uint32_t ptrs,
                            uint32_t buf)
{
    uint32_t at = buf;

    if (!wasi_mem_ok(c, ptrs, (uint64_t)n * 4) || !wasi_mem_ok(c, buf, size))
        return WASI_EFAULT;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        base_store32(c->mem + ptrs + (uint64_t)i * 4, at);
        memcpy(c->mem + at, v[i], len);
        at += (uint32_t)len;
    }
    return 0;
}

static uint32_t put_sizes(wasi_ctx *c, uint32_t count, uint32_t size, uint32_t count_ptr,
                          uint32_t size_ptr)
{
    if (!wasi_mem_ok(c, count_ptr, 4) || !wasi_mem_ok(c, size_ptr, 4))
        return WASI_EFAULT;
    base_store32(c->mem + count_ptr, count);
    base_store32(c->mem + size_ptr, size);
    return 0;
}

uint32_t wasi_call_args_get(wasi_ctx *c, const uint64_t *args)
{
    return put_strings(c, c->w->args, c->w->nargs, c->w->args_size, wasi_arg32(args, 0),
                       wasi_arg32(args, 1));
}

uint32_t wasi_call_args_sizes_get(wasi_ctx *c, const uint64_t *args)
{
    return put_sizes(c, c->w->nargs, c->w->args_size, wasi_arg32(args, 0), wasi_arg32(args, 1));
}

uint32_t wasi_call_environ_get(wasi_ctx *c, const uint64_t *args)
{
    return put_strings(c, c->w->env, c->w->nenv, c->w->env_size, wasi_arg32(args, 0),
                       wasi_arg32(args, 1));
}

uint32_t wasi_call_environ_sizes_get(wasi_ctx *c, const uint64_t *args)
{
    return put_sizes(c, c->w->nenv, c->w->env_size, wasi_arg32(args, 0), wasi_arg32(args, 1));
}

/* ==== Clocks and randomness ==== */

uint32_t wasi_call_clock_res_get(wasi_ctx *c, const uint64_t *args)
{
    uint32_t id = wasi_arg32(args, 0), out_ptr = wasi_arg32(args, 1);
    uint64_t res = 0;
    uint16_t err;

    if (id >= WASI_NCLOCKS)
        return WASI_EINVAL;
    if (!wasi_mem_ok(c, out_ptr, 8))
        return WASI_EFAULT;
    err = c->w->host->clock_res(c->w->host_ud, id, &res);
    if (err != 0)
        return err;
    base_store64(c->mem + out_ptr, res);
    return 0;
}

uint32_t wasi_call_clock_time_get(wasi_ctx *c, const uint64_t *args)
{
    uint32_t id = wasi_arg32(args, 0), out_ptr = wasi_arg32(args, 2);
    uint64_t now = 0;
    uint16_t err;

    /* args[1] is the precision the guest can accept; every reading is as precise as the
     * host makes it */
    if (id >= WASI_NCLOCKS)
        return WASI_EINVAL;
    if (!wasi_mem_ok(c, out_ptr, 8))
        return WASI_EFAULT;
    err = wasi_clock_now(c->w, id, &now);
    if (err != 0)
        return err;
    base_store64(c->mem + out_ptr, now);
    return 0;
}

uint32_t wasi_call_random_get(wasi_ctx *c, const uint64_t *args)
{
    uint32_t buf = wasi_arg32(args, 0), len = wasi_arg32(args, 1);

    if (!wasi_mem_ok(c, buf, len))
        return WASI_EFAULT;
    if (len == 0)
        return 0;
    return c->w->host->random(c->w->host_ud, c->mem + buf, len);
}

/* ==== poll_oneoff ==== */

/* subscription (48 bytes): userdata u64 @0, tag u8 @8, then at 16 either
 *   clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40
 *   fd_read / fd_write: fd u32 @16
 * event (32 bytes): userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16,
 *   flags u16 @24 */
#define SUB_SIZE   48u
#define EVENT_SIZE 32u

static void put_event(uint8_t *p, uint64_t userdata, uint16_t error, uint8_t type, uint64_t nbytes,
                      uint16_t flags)
{
    memset(p, 0, EVENT_SIZE);
    base_store64(p, userdata);
    base_store16(p + 8, error);
    p[10] = type;
    base_store64(p + 16, nbytes);
    base_store16(p + 24, flags);
}

/* Waits for at most the next deadline, the wait slice, or not at all. Returns the
 * milliseconds to pass to poll (rounded up so a deadline is never missed by waking early
 * in a loop). */
static int wait_ms(uint64_t remaining_ns, int slice)
{
    uint64_t ms = (remaining_ns + 999999u) / 1000000u;
    return ms > (uint64_t)slice ? slice : (int)ms;
}

uint32_t wasi_call_poll_oneoff(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t in = wasi_arg32(args, 0), out = wasi_arg32(args, 1), n = wasi_arg32(args, 2);
    uint32_t nevents_ptr = wasi_arg32(args, 3);
    uint64_t deadline[64];
    wasi_host_pollfd pfd[65]; /* the subscriptions' descriptors, then the wake pipe */
    uint32_t pfd_sub[64];
    size_t npfd = 0;
    uint32_t nevents = 0;
    int timeout = 0;

    if (n == 0)
        return WASI_EINVAL;
    if (!wasi_mem_ok(c, in, (uint64_t)n * SUB_SIZE) ||
        !wasi_mem_ok(c, out, (uint64_t)n * EVENT_SIZE) || !wasi_mem_ok(c, nevents_ptr, 4))
        return WASI_EFAULT;
    if (n > 64)
        return WASI_ENOTSUP; /* more subscriptions than this host watches at once */

    /* First pass: deadlines, descriptors, and events that are due at once. */
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = c->mem + in + (uint64_t)i * SUB_SIZE;
        uint64_t userdata = base_load64(s);
        uint8_t tag = s[8];
        deadline[i] = UINT64_MAX;
        if (tag == WASI_EVENT_CLOCK) {
            uint32_t id = base_load32(s + 16);
            uint64_t timeout_ns = base_load64(s + 24), now = 0;
            uint16_t flags = base_load16(s + 40);
            uint16_t err = wasi_clock_now(w, id, &now);
            if (err != 0) {
                put_event(c->mem + out + (uint64_t)nevents++ * EVENT_SIZE, userdata, err, tag, 0,
                          0);
                continue;
            }
            if (flags & WASI_SUBCLOCK_ABSTIME)
                deadline[i] = timeout_ns;
            else
                deadline[i] = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
        } else if (tag == WASI_EVENT_FD_READ || tag == WASI_EVENT_FD_WRITE) {
            uint16_t err;
            wasi_fd *f = wasi_fd_get(w, base_load32(s + 16), WASI_RIGHT_POLL_FD_READWRITE, &err);
            if (f == NULL) {
                put_event(c->mem + out + (uint64_t)nevents++ * EVENT_SIZE, userdata, err, tag, 0,
                          0);
                continue;
            }
            pfd[npfd].fd = f->host;
            pfd[npfd].events = tag == WASI_EVENT_FD_READ ? WASI_POLL_IN : WASI_POLL_OUT;
            pfd[npfd].revents = 0;
            pfd_sub[npfd] = i;
            npfd++;
        } else {
            put_event(c->mem + out + (uint64_t)nevents++ * EVENT_SIZE, userdata, WASI_EINVAL, tag,
                      0, 0);
        }
    }

    int wakeable = -1; /* asked only once the call has to wait */
    for (;;) {
        size_t ready = 0;
        uint64_t soonest = UINT64_MAX;
        uint16_t err;

        if (nevents > 0)
            timeout = 0; /* something is due already: only collect what else is ready */
        /* the store's wake pipe ends the wait when an interrupt comes; checked for pending
         * after it is drained, so none is lost */
        int wake = timeout != 0 && wakeable > 0 ? waft_store_wake_fd(w->store) : -1;
        if (wake >= 0 && waft_store_interrupt_pending(w->store))
            return WASI_CTL_SUSPEND;
        if (wake >= 0) {
            pfd[npfd].fd = wake;
            pfd[npfd].events = WASI_POLL_IN;
            pfd[npfd].revents = 0;
        }
        /* with no descriptor to watch this is a plain sleep */
        err = w->host->poll(w->host_ud, pfd, npfd + (wake >= 0), timeout, &ready);
        if (err != 0 && err != WASI_EINTR)
            return err;
        if (err == 0 && ready > 0) {
            for (size_t k = 0; k < npfd; k++) {
                const uint8_t *s = c->mem + in + (uint64_t)pfd_sub[k] * SUB_SIZE;
                uint16_t ev = pfd[k].revents, error = 0, flags = 0;
                uint64_t nbytes = 0;
                if (ev == 0)
                    continue;
                if (ev & WASI_POLL_HUP)
                    flags |= WASI_EVENT_HANGUP;
                if ((ev & WASI_POLL_ERR) && !(ev & (WASI_POLL_IN | WASI_POLL_OUT)))
                    error = WASI_EIO;
                if (s[8] == WASI_EVENT_FD_READ && error == 0)
                    w->host->nread(w->host_ud, pfd[k].fd, &nbytes);
                put_event(c->mem + out + (uint64_t)nevents++ * EVENT_SIZE, base_load64(s), error,
                          s[8], nbytes, flags);
                pfd[k].revents = 0;
            }
        }
        /* clocks that are due */
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *s = c->mem + in + (uint64_t)i * SUB_SIZE;
            uint64_t now = 0;
            if (s[8] != WASI_EVENT_CLOCK || deadline[i] == UINT64_MAX)
                continue;
            if (wasi_clock_now(w, base_load32(s + 16), &now) != 0)
                continue;
            if (now >= deadline[i]) {
                put_event(c->mem + out + (uint64_t)nevents++ * EVENT_SIZE, base_load64(s), 0,
                          WASI_EVENT_CLOCK, 0, 0);
                deadline[i] = UINT64_MAX; /* reported once */
            } else if (deadline[i] - now < soonest) {
                soonest = deadline[i] - now;
            }
        }
        if (nevents > 0)
            break;
        if (waft_store_interrupt_pending(w->store))
            return WASI_CTL_SUSPEND; /* nothing was reported: the call can be made again */
        if (wakeable < 0)
            wakeable = waft_store_wake_fd(w->store) >= 0;
        int slice = wakeable ? WASI_WAIT_LONG_MS : WASI_WAIT_SLICE_MS;
        timeout = soonest == UINT64_MAX ? slice : wait_ms(soonest, slice);
    }
    base_store32(c->mem + nevents_ptr, nevents);
    return 0;
}

/* ==== Process and scheduling ==== */

uint32_t wasi_call_proc_exit(wasi_ctx *c, const uint64_t *args)
{
    c->w->exited = true;
    c->w->exit_code = (int32_t)wasi_arg32(args, 0);
    c->exit_code = c->w->exit_code;
    return WASI_CTL_EXIT;
}

uint32_t wasi_call_proc_raise(wasi_ctx *c, const uint64_t *args)
{
    (void)c;
    (void)args;
    return WASI_ENOSYS; /* signals are not part of the guest's world */
}

uint32_t wasi_call_sched_yield(wasi_ctx *c, const uint64_t *args)
{
    (void)args;
    return c->w->host->yield(c->w->host_ud);
}

/* ==== Sockets ==== */

/* Whether `f` is a socket. Standard streams hold the stream rights (socket rights included)
 * whatever they are, so the socket calls look at the type found when the descriptor was
 * made: a pipe or terminal answers ENOTSOCK at once, as natively, instead of waiting. */
static bool is_socket(const wasi_fd *f)
{
    return f->filetype == WASI_FILETYPE_SOCKET_STREAM || f->filetype == WASI_FILETYPE_SOCKET_DGRAM;
}

uint32_t wasi_call_sock_accept(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t fd = wasi_arg32(args, 0), flags = wasi_arg32(args, 1), out_ptr = wasi_arg32(args, 2);
    uint32_t new_fd, r;
    uint16_t err;
    int host = -1;
    wasi_fd *f = wasi_fd_get(w, fd, WASI_RIGHT_SOCK_ACCEPT, &err);

    if (f == NULL)
        return err;
    if (!is_socket(f))
        return WASI_ENOTSOCK;
    if (flags & ~(uint32_t)WASI_FDFLAG_NONBLOCK)
        return WASI_EINVAL;
    if (!wasi_mem_ok(c, out_ptr, 4))
        return WASI_EFAULT;
    err = wasi_fd_alloc(w, &new_fd);
    if (err != 0)
        return err;
    f = &w->fds[fd]; /* the table may have moved */
    for (;;) {
        r = wasi_wait_ready(c, f, WASI_POLL_IN);
        if (r != 0) {
            wasi_fd_release(w, new_fd);
            return r;
        }
        err = w->host->accept(w->host_ud, f->host, &host);
        if (err == WASI_EAGAIN && !(f->fdflags & WASI_FDFLAG_NONBLOCK))
            continue; /* another process took the connection first */
        break;
    }
    if (err != 0) {
        wasi_fd_release(w, new_fd);
        return err;
    }
    {
        wasi_fd *n = &w->fds[new_fd];
        n->kind = WASI_KIND_ACCEPTED;
        n->filetype = WASI_FILETYPE_SOCKET_STREAM;
        n->host = host;
        n->fdflags = (uint16_t)flags;
        n->origin = UINT32_MAX;
        n->rights_base = WASI_RIGHTS_STREAM & ~WASI_RIGHT_SOCK_ACCEPT;
        n->rights_inheriting = 0;
    }
    base_store32(c->mem + out_ptr, new_fd);
    return 0;
}

uint32_t wasi_call_sock_recv(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t iovs = wasi_arg32(args, 1), n = wasi_arg32(args, 2), ri = wasi_arg32(args, 3);
    uint32_t len_ptr = wasi_arg32(args, 4), flags_ptr = wasi_arg32(args, 5);
    size_t niov = 0, got = 0;
    int trunc = 0;
    uint32_t r;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_READ, &err);

    if (f == NULL)
        return err;
    if (!is_socket(f))
        return WASI_ENOTSOCK;
    if (ri & ~(uint32_t)(WASI_RECV_PEEK | WASI_RECV_WAITALL))
        return WASI_EINVAL;
    if (!wasi_mem_ok(c, len_ptr, 4) || !wasi_mem_ok(c, flags_ptr, 2))
        return WASI_EFAULT;
    err = wasi_mem_iovs(c, iovs, n, &niov);
    if (err != 0)
        return err;
    for (;;) {
        r = wasi_wait_ready(c, f, WASI_POLL_IN);
        if (r != 0)
            return r;
        err = w->host->recv(w->host_ud, f->host, w->iov, niov, (int)ri, &got, &trunc);
        if (err == WASI_EAGAIN && !(f->fdflags & WASI_FDFLAG_NONBLOCK))
            continue;
        break;
    }
    if (err != 0)
        return err;
    base_store32(c->mem + len_ptr, (uint32_t)got);
    base_store16(c->mem + flags_ptr, trunc ? WASI_RECV_DATA_TRUNCATED : 0);
    return 0;
}

uint32_t wasi_call_sock_send(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t iovs = wasi_arg32(args, 1), n = wasi_arg32(args, 2), si = wasi_arg32(args, 3);
    uint32_t len_ptr = wasi_arg32(args, 4);
    size_t niov = 0, put = 0;
    uint32_t r;
    uint16_t err;
    wasi_fd *f = wasi_fd_get(w, wasi_arg32(args, 0), WASI_RIGHT_FD_WRITE, &err);

    if (f == NULL)
        return err;
    if (!is_socket(f))
        return WASI_ENOTSOCK;
    if (si != 0)
        return WASI_EINVAL; /* preview1 defines no send flags */
    if (!wasi_mem_ok(c, len_ptr, 4))
        return WASI_EFAULT;
    err = wasi_mem_iovs(c, iovs, n, &niov);
    if (err != 0)
        return err;
    for (;;) {
        r = wasi_wait_ready(c, f, WASI_POLL_OUT);
        if (r != 0)
            return r;
        err = w->host->send(w->host_ud, f->host, w->iov, niov, &put);
        if (err == WASI_EAGAIN && !(f->fdflags & WASI_FDFLAG_NONBLOCK))
            continue;
        break;
    }
    if (err != 0)
        return err;
    base_store32(c->mem + len_ptr, (uint32_t)put);
    return 0;
}

uint32_t wasi_call_sock_shutdown(wasi_ctx *c, const uint64_t *args)
{
    uint32_t how = wasi_arg32(args, 1);
    uint16_t err;
    wasi_fd *f = wasi_fd_get(c->w, wasi_arg32(args, 0), WASI_RIGHT_SOCK_SHUTDOWN, &err);

    if (f == NULL)
        return err;
    if (!is_socket(f))
        return WASI_ENOTSOCK;
    if (how == 0 || (how & ~(uint32_t)(WASI_SHUT_RD | WASI_SHUT_WR)))
        return WASI_EINVAL;
    return c->w->host->shutdown(c->w->host_ud, f->host, (int)how);
}
