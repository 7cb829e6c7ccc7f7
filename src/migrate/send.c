/* SPDX-License-Identifier: MIT */
/* send.c - the source side of live migration (waft_migration_*, waft_migrate.h).
 *
 * Two threads. The guest thread runs the program; at its suspensions it starts a
 * migration (waft_migration_start) and afterwards calls waft_migration_poll, which parks it
 * when the sender asks for the pause and tells it the outcome. The sender thread does the
 * network work: handshake, pre-copy rounds while the guest runs (reading guest memory
 * concurrently, which the engine's write marks make safe: a page is copied after its mark
 * is taken, so a later write marks it again), then, with the guest parked, the last dirty
 * pages and the state, and the commit.
 *
 * Outcomes: DONE (the destination confirmed it runs the instance: the source stops),
 * FAILED (anything before the commit went wrong: the guest resumes, tracking off), UNKNOWN
 * (the link broke after COMMIT was sent: the destination may be running it; the caller
 * keeps a full image and stops, so nothing is lost and nothing runs twice knowingly).
 *
 * Invariants: all state is in the waft_migration object; the two threads share it under
 * m->mu (the figures are the sender's until the verdict, then the guest thread's).
 */
#define _GNU_SOURCE
#include "migrate.h"

#include <waft/waft_snapshot.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    V_NONE,
    V_MIGRATED,
    V_FAILED,
    V_UNKNOWN,
    V_CANCELLED
};

struct waft_migration {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int joined; /* the sender thread has been joined (or never started) */
    pthread_t thread;
    waft_store *store;
    const waft_instance *inst;
    waft_extern mem;
    int has_mem;
    waft_migration_options o; /* o.to points at `to`, o.key at `key` */
    char to[256];
    mig_key key;
    mig_conn conn;
    int sock;      /* conn.fd for waft_migration_cancel's shutdown, under mu; -1 once closed */
    int pause_req; /* the sender wants the guest parked */
    int paused;    /* the guest is parked */
    int verdict;
    int tracing;         /* WAFT_MIGRATE_TRACE: print the timeline of the pause */
    atomic_int cancel;   /* the guest finished: give up */
    atomic_int throttle; /* percent of time the guest should sleep */
    char msg[600];
    uint64_t ran_since; /* guest thread: when the guest last resumed (throttling) */
    /* figures */
    uint64_t t_start, t_pause, t_end;
    uint32_t rounds;
    uint64_t pages_sent;
    uint8_t *hist; /* per 4 KiB page: write history, newest round in the top bit */
    uint8_t *flags;
    uint32_t *order;
    size_t npages_cap;
    uint8_t *frame; /* MIG_PAGES_HEAD + page numbers + page data */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* ==== The sender ==== */

static int fail(waft_migration *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->msg, sizeof m->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int conn_fail(waft_migration *m, const char *what)
{
    mig_conn *c = &m->conn;
    if (c->fd >= 0 && strncmp(c->err, "peer: ", 6) != 0) {
        /* a send that failed may have crossed the destination's ABORT: read its reason */
        struct pollfd pf = { c->fd, POLLIN, 0 };
        char keep[sizeof c->err];
        memcpy(keep, c->err, sizeof keep);
        uint8_t t, f;
        uint32_t n;
        if (poll(&pf, 1, 200) == 1 && mig_recv(c, &t, &f, &n) != 0 &&
            strncmp(c->err, "peer: ", 6) == 0)
            return fail(m, "%s: %s", what, c->err);
        memcpy(c->err, keep, sizeof keep);
    }
    return fail(m, "%s: %s", what, c->err);
}

static int cancelled(waft_migration *m)
{
    if (atomic_load(&m->cancel))
        return fail(m, "the program finished first");
    return 0;
}

static int handshake(waft_migration *m)
{
    mig_conn *c = &m->conn;
    int tmo = (int)(m->o.timeout * 1000);
    if (mig_connect(c, m->to, tmo, &m->cancel) != 0)
        return atomic_load(&m->cancel) ? cancelled(m) : fail(m, "%s", c->err);
    pthread_mutex_lock(&m->mu);
    m->sock = c->fd;
    int gone = atomic_load(&m->cancel);
    pthread_mutex_unlock(&m->mu);
    if (gone)
        return cancelled(m);
    size_t mlen = 0;
    const uint8_t *mbytes = waft_module_bytes(waft_instance_module(m->inst), &mlen);
    uint8_t hello[MIG_HELLO_SIZE], nonce_s[MIG_NONCE];
    if (mig_random(nonce_s, sizeof nonce_s) != 0)
        return fail(m, "no random numbers: %s", strerror(errno));
    const char *tv = getenv("WAFT_TEST_PROTO_VERSION");
    base_store32(hello, tv ? (uint32_t)strtoul(tv, NULL, 10) : MIG_PROTO_VERSION);
    base_store32(hello + 4, WAFT_IMAGE_VERSION);
    hello[8] = m->key.len ? 1 : 0;
    memcpy(hello + 9, nonce_s, MIG_NONCE);
    waft_module_hash(waft_instance_module(m->inst), hello + 9 + MIG_NONCE);
    base_store64(hello + 9 + MIG_NONCE + 32, mlen);
    uint32_t len;
    if (mig_send_buf(c, MIG_HELLO, 0, hello, sizeof hello) != 0 ||
        mig_expect(c, MIG_CHALLENGE, &len) != 0)
        return conn_fail(m, "handshake");
    if (len != MIG_CHALLENGE_SIZE)
        return fail(m, "handshake: malformed challenge");
    const uint8_t *ch = c->buf;
    int keyed = ch[4];
    uint8_t nonce_d[MIG_NONCE], mac[MIG_MAC];
    memcpy(nonce_d, ch + 5, MIG_NONCE);
    if (m->key.len) {
        if (!keyed) {
            mig_send_abort(c, "the source requires a key and this server has none");
            return fail(m,
                        "%s has no key: refusing to send the program to an unauthenticated "
                        "server",
                        m->to);
        }
        if (mig_mac(&m->key, "waft-d", nonce_s, nonce_d, mac) != 0 ||
            !mig_mac_equal(mac, ch + 5 + MIG_NONCE)) {
            mig_send_abort(c, "authentication failed");
            return fail(m, "%s failed to prove the key: wrong key, or not the server you meant",
                        m->to);
        }
        if (mig_mac(&m->key, "waft-s", nonce_d, nonce_s, mac) != 0)
            return fail(m, "cannot compute the key proof");
        if (mig_send_buf(c, MIG_AUTH, 0, mac, MIG_MAC) != 0)
            return conn_fail(m, "handshake");
        uint8_t t[32];
        if (mig_transcript(hello, sizeof hello, ch, MIG_CHALLENGE_SIZE, t) != 0 ||
            mig_conn_key(c, &m->key, nonce_s, t, 1) != 0)
            return fail(m, "handshake: cannot derive the session keys");
    } else if (mig_send_buf(c, MIG_AUTH, 0, NULL, 0) != 0) {
        return conn_fail(m, "handshake");
    }
    if (mig_expect(c, MIG_MODULE_REQ, &len) != 0 || len != 1)
        return conn_fail(m, "handshake");
    if (c->buf[0]) {
        for (size_t off = 0; off < mlen;) {
            size_t n = mlen - off < (1u << 20) ? mlen - off : (1u << 20);
            if (mig_send_buf(c, MIG_MODULE, off + n == mlen ? MIG_FLAG_LAST : 0, mbytes + off, n) !=
                0)
                return conn_fail(m, "sending the module");
            off += n;
        }
    }
    if (mig_expect(c, MIG_ACCEPT, &len) != 0)
        return conn_fail(m, "the destination did not accept the instance");
    return 0;
}

static int grow_arrays(waft_migration *m, size_t npages)
{
    if (npages <= m->npages_cap)
        return 0;
    size_t cap = m->npages_cap ? m->npages_cap : 1024;
    while (cap < npages)
        cap *= 2;
    uint8_t *h = realloc(m->hist, cap);
    if (h)
        m->hist = h;
    uint8_t *f = realloc(m->flags, cap);
    if (f)
        m->flags = f;
    uint32_t *o = realloc(m->order, cap * sizeof *o);
    if (o)
        m->order = o;
    if (!h || !f || !o)
        return fail(m, "out of memory");
    memset(m->hist + m->npages_cap, 0, cap - m->npages_cap);
    m->npages_cap = cap;
    return 0;
}

static int page_is_zero(const uint8_t *p)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < MIG_PAGE; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    return acc == 0;
}

/* Keeps in list[0..n) only the pages the kernel says were ever touched (present or
 * swapped, from /proc/self/pagemap): the others read as zero, and reading them would only
 * fault zero pages in. Returns the new count; n unchanged if pagemap cannot be read. */
static size_t drop_untouched(waft_migration *m, uint32_t *list, size_t n)
{
    uint64_t size;
    const uint8_t *mem = m->has_mem ? waft_memory_data(m->store, m->mem, &size) : NULL;
    long sys_page = sysconf(_SC_PAGESIZE);
    /* pages mapped from an image are data the kernel may report untouched */
    if (!mem || n == 0 || sys_page != (long)MIG_PAGE || waft_memory_file_backed(m->store, m->mem))
        return n;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return n;
    uint64_t base = (uint64_t)(uintptr_t)mem / MIG_PAGE;
    uint64_t buf[512];
    size_t kept = 0;
    for (size_t i = 0; i < n;) {
        /* list is sorted by address here: read a window of entries from list[i] on */
        uint64_t first = list[i];
        ssize_t got = pread(fd, buf, sizeof buf, (off_t)((base + first) * 8));
        if (got < 8) {
            close(fd);
            return n; /* keep everything: correct, only slower */
        }
        size_t have = (size_t)got / 8;
        while (i < n && list[i] - first < have) {
            uint64_t e = buf[list[i] - first];
            if (e & (3ull << 62)) /* present or swapped */
                list[kept++] = list[i];
            i++;
        }
    }
    close(fd);
    return kept;
}

/* Sends pages list[0..n): each one's mark is taken, then the page is copied into the frame
 * (so the frame's CRC matches what is sent even while the guest writes on). skip_zero:
 * all-zero pages are left out (the destination's memory starts zero). */
static int send_pages(waft_migration *m, const uint32_t *list, size_t n, int skip_zero,
                      uint64_t *out_sent)
{
    uint8_t *head = m->frame;
    uint8_t *nums = head + MIG_PAGES_HEAD;
    uint8_t *data = nums + 8 * MIG_PAGES_MAX;
    uint32_t k = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            uint64_t size;
            const uint8_t *mem = waft_memory_data(m->store, m->mem, &size);
            uint64_t p = list[i];
            if ((p + 1) * MIG_PAGE > size)
                continue;
            waft_memory_take_mark(m->store, m->mem, p);
            memcpy(data + (size_t)k * MIG_PAGE, mem + p * MIG_PAGE, MIG_PAGE);
            if (skip_zero && page_is_zero(data + (size_t)k * MIG_PAGE))
                continue;
            base_store64(nums + 8 * k, p);
            k++;
        }
        if (k == MIG_PAGES_MAX || (i == n && k)) {
            uint64_t size;
            waft_memory_data(m->store, m->mem, &size);
            base_store32(head, 0);
            base_store32(head + 4, (uint32_t)(size / 65536));
            base_store32(head + 8, k);
            base_store32(head + 12, 0);
            struct iovec v[3] = { { head, MIG_PAGES_HEAD },
                                  { nums, 8 * (size_t)k },
                                  { data, (size_t)k * MIG_PAGE } };
            if (mig_send(&m->conn, MIG_PAGES, 0, v, 3) != 0)
                return conn_fail(m, "sending memory");
            *out_sent += k;
            m->pages_sent += k;
            k = 0;
            if (atomic_load(&m->throttle))
                waft_store_interrupt(m->store); /* a throttle slice (cli_mig_poll sleeps) */
            if (cancelled(m))
                return -1;
        }
    }
    return 0;
}

static uint64_t mem_pages4k(waft_migration *m)
{
    uint64_t size = 0;
    if (m->has_mem)
        waft_memory_data(m->store, m->mem, &size);
    return size / MIG_PAGE;
}

/* Collects the marked pages into m->order, ordered coldest first (or by address), ageing
 * the history. Returns the count, or SIZE_MAX (with m->msg set) if out of memory. */
static size_t collect_dirty(waft_migration *m, int age)
{
    size_t np = (size_t)mem_pages4k(m);
    if (grow_arrays(m, np ? np : 1) != 0)
        return SIZE_MAX;
    waft_memory_marks(m->store, m->mem, 0, np, m->flags);
    size_t count[257] = { 0 }, n = 0;
    for (size_t p = 0; p < np; p++) {
        if (age)
            m->hist[p] = (uint8_t)((m->hist[p] >> 1) | (m->flags[p] ? 0x80 : 0));
        if (m->flags[p]) {
            count[m->hist[p] + 1]++;
            n++;
        }
    }
    if (m->o.address_order) {
        size_t k = 0;
        for (size_t p = 0; p < np; p++)
            if (m->flags[p])
                m->order[k++] = (uint32_t)p;
        return n;
    }
    /* counting sort by history value: pages written in fewer, older rounds go first */
    for (int v = 1; v <= 256; v++)
        count[v] += count[v - 1];
    for (size_t p = 0; p < np; p++)
        if (m->flags[p])
            m->order[count[m->hist[p]]++] = (uint32_t)p;
    return n;
}

/* Ends a round: waits until the destination has applied all of it, so the bandwidth
 * measured is end to end and no backlog is left to drain during the pause. */
static int sync_round(waft_migration *m)
{
    uint8_t r[4];
    uint32_t len;
    base_store32(r, m->rounds + 1);
    if (mig_send_buf(&m->conn, MIG_SYNC, 0, r, 4) != 0 ||
        mig_expect(&m->conn, MIG_SYNC_ACK, &len) != 0)
        return conn_fail(m, "sending memory");
    return cancelled(m);
}

static int precopy(waft_migration *m)
{
    /* round 1: every page, by address */
    size_t np = (size_t)mem_pages4k(m);
    if (grow_arrays(m, np ? np : 1) != 0)
        return -1;
    for (size_t p = 0; p < np; p++)
        m->order[p] = (uint32_t)p;
    np = drop_untouched(m, m->order, np);
    uint64_t t0 = now_ns(), sent = 0;
    if (send_pages(m, m->order, np, 1, &sent) != 0 || sync_round(m) != 0)
        return -1;
    m->rounds = 1;
    double bw = 0; /* bytes per ns, measured */
    size_t prev_dirty = SIZE_MAX;
    int stalls = 0;
    for (;;) {
        uint64_t t1 = now_ns();
        if (t1 > t0 && sent)
            bw = (double)(sent * MIG_PAGE) / (double)(t1 - t0);
        size_t nd = collect_dirty(m, 1);
        if (nd == SIZE_MAX)
            return -1;
        double dirty_rate = t1 > t0 ? (double)nd * MIG_PAGE / ((double)(t1 - t0) / 1e9) : 0;
        double est = bw > 0 ? (double)nd * MIG_PAGE / bw / 1e6 + 0.3 : 0.3;
        if (m->o.progress) {
            waft_migration_progress pr;
            memset(&pr, 0, sizeof pr);
            pr.round = m->rounds;
            pr.round_bytes = sent * MIG_PAGE;
            pr.bytes_sent = m->conn.bytes_out;
            pr.dirty_pages = nd;
            pr.dirty_rate = dirty_rate;
            pr.est_downtime_ms = est;
            pr.throttle = atomic_load(&m->throttle);
            m->o.progress(m->o.progress_user, &pr);
        }
        if (est <= m->o.max_downtime_ms || m->rounds >= m->o.max_rounds)
            break;
        if (prev_dirty == SIZE_MAX || nd * 10 < prev_dirty * 9) {
            stalls = 0;
        } else {
            /* not converging: slow the guest down, and give up pre-copy if that fails too */
            int th = atomic_load(&m->throttle);
            if (th >= 90 && ++stalls >= 2)
                break;
            atomic_store(&m->throttle, th ? (th >= 80 ? 90 : th + 20) : 30);
        }
        prev_dirty = nd;
        t0 = now_ns();
        sent = 0;
        if (send_pages(m, m->order, nd, 0, &sent) != 0 || sync_round(m) != 0)
            return -1;
        m->rounds++;
    }
    return 0;
}

static int pause_guest(waft_migration *m)
{
    pthread_mutex_lock(&m->mu);
    m->pause_req = 1;
    pthread_mutex_unlock(&m->mu);
    waft_store_interrupt(m->store);
    uint64_t deadline = now_ns() + (uint64_t)(m->o.timeout * 1e9);
    pthread_mutex_lock(&m->mu);
    while (!m->paused && !atomic_load(&m->cancel)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 2000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        if (!m->paused && now_ns() > deadline)
            break;
        if (!m->paused)
            waft_store_interrupt(m->store); /* served by a suspension that raced the request */
    }
    int ok = m->paused;
    if (!ok)
        m->pause_req = 0;
    pthread_mutex_unlock(&m->mu);
    if (!ok)
        return atomic_load(&m->cancel) ? cancelled(m)
                                       : fail(m,
                                              "the program did not reach a safe point within "
                                              "%.0f s (blocked in a system call?)",
                                              m->o.timeout);
    m->t_pause = now_ns();
    atomic_store(&m->throttle, 0);
    return 0;
}

/* WAFT_MIGRATE_TRACE: the timeline of the pause, on stderr. */
static void trace(waft_migration *m, const char *what)
{
    if (m->tracing)
        fprintf(stderr, "waft: migrate: %.3f ms after the pause: %s\n", ms(now_ns() - m->t_pause),
                what);
}

/* With the guest parked: the remaining pages, the state, and the commit. Returns 0, -1
 * (failed before COMMIT: the guest may resume), or 1 (failed after COMMIT: unknown). */
static int final_phase(waft_migration *m)
{
    mig_conn *c = &m->conn;
    uint64_t sent = 0;
    trace(m, "paused");
    if (m->has_mem) {
        size_t n;
        if (m->o.stop_and_copy || m->rounds == 0) {
            n = (size_t)mem_pages4k(m);
            if (grow_arrays(m, n ? n : 1) != 0)
                return -1;
            for (size_t p = 0; p < n; p++)
                m->order[p] = (uint32_t)p;
            n = drop_untouched(m, m->order, n);
            if (send_pages(m, m->order, n, 1, &sent) != 0)
                return -1;
        } else {
            n = collect_dirty(m, 1);
            if (n == SIZE_MAX) {
                mig_send_abort(c, "the source ran out of memory");
                return -1;
            }
            if (send_pages(m, m->order, n, 0, &sent) != 0)
                return -1;
        }
        m->rounds++;
    }
    trace(m, "last pages sent");
    waft_image_options io;
    memset(&io, 0, sizeof io);
    io.omit_module = 1;
    io.omit_memory = 1;
    uint8_t *state = NULL;
    size_t slen = 0;
    waft_error err;
    waft_result r = waft_image_encode(m->store, m->inst, &io, &state, &slen, &err);
    if (r != WAFT_OK) {
        mig_send_abort(c, "the source cannot save the state");
        return fail(m, "cannot save the state: %s", err.message);
    }
    for (size_t off = 0; off < slen || off == 0;) {
        size_t n = slen - off < (16u << 20) ? slen - off : (16u << 20);
        if (mig_send_buf(c, MIG_STATE, off + n == slen ? MIG_FLAG_LAST : 0, state + off, n) != 0) {
            free(state);
            return conn_fail(m, "sending the state");
        }
        off += n;
        if (off == slen)
            break;
    }
    free(state);
    trace(m, "state sent");
    uint32_t len;
    if (mig_expect(c, MIG_READY, &len) != 0)
        return conn_fail(m, "the destination could not restore the instance");
    trace(m, "destination ready");
    if (mig_send_buf(c, MIG_COMMIT, 0, NULL, 0) != 0)
        return conn_fail(m, "committing"); /* not received: the destination discards */
    if (mig_expect(c, MIG_DONE, &len) != 0) {
        conn_fail(m, "no confirmation after the commit");
        return 1;
    }
    return 0;
}

static void finish(waft_migration *m, int verdict)
{
    pthread_mutex_lock(&m->mu);
    m->sock = -1;
    mig_close(&m->conn);
    m->verdict = verdict;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    waft_store_interrupt(m->store); /* wake the guest thread's poll if it is not parked */
}

static void *sender_main(void *arg)
{
    waft_migration *m = arg;
    m->t_start = now_ns();
    /* stop-and-copy stops the program first, then connects and sends everything */
    int rc = m->o.stop_and_copy ? pause_guest(m) : 0;
    if (rc == 0)
        rc = handshake(m);
    if (rc == 0 && !m->o.stop_and_copy && m->has_mem)
        rc = precopy(m);
    if (rc == 0 && !m->o.stop_and_copy)
        rc = pause_guest(m);
    if (rc == 0)
        rc = final_phase(m);
    m->t_end = now_ns();
    if (rc == 0) {
        snprintf(m->msg, sizeof m->msg,
                 "migrated to %s: downtime %.2f ms, total %.1f ms, %.1f MiB sent in %u "
                 "round%s (%s%s)",
                 m->to, ms(m->t_end - m->t_pause), ms(m->t_end - m->t_start),
                 (double)m->conn.bytes_out / 1048576.0, m->rounds, m->rounds == 1 ? "" : "s",
                 m->o.stop_and_copy ? "stop-and-copy" : "precopy",
                 m->o.stop_and_copy   ? ""
                 : m->o.address_order ? ", address order"
                                      : ", cold first");
        finish(m, V_MIGRATED);
    } else {
        if (rc < 0)
            mig_send_abort(&m->conn, m->msg);
        finish(m, rc > 0 ? V_UNKNOWN : V_FAILED);
    }
    return NULL;
}

/* ==== The guest thread's side ==== */

int waft_migration_pausing(waft_migration *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->mu);
    int p = !m->joined && m->pause_req && !m->verdict;
    pthread_mutex_unlock(&m->mu);
    return p;
}

static void set_err(waft_error *e, waft_result r, const char *fmt, ...)
{
    if (!e)
        return;
    memset(e, 0, sizeof *e);
    e->code = r;
    e->offset = -1;
    e->func = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static void release_arrays(waft_migration *m)
{
    free(m->hist);
    free(m->flags);
    free(m->order);
    free(m->frame);
    m->hist = m->flags = m->frame = NULL;
    m->order = NULL;
    m->npages_cap = 0;
}

waft_result waft_migration_start(waft_store *store, const waft_instance *instance,
                                 const waft_migration_options *o, waft_migration **out_migration,
                                 waft_error *out_err)
{
    char h[256], p[16];
    if (!out_migration) {
        set_err(out_err, WAFT_ERR_INVALID_ARG, "no place for the migration");
        return WAFT_ERR_INVALID_ARG;
    }
    *out_migration = NULL;
    if (!store || !instance || !o || !o->to ||
        mig_split_addr(o->to, h, sizeof h, p, sizeof p) != 0 || atoi(p) == 0) {
        set_err(out_err, WAFT_ERR_INVALID_ARG,
                "a migration needs a store, an instance and "
                "a destination HOST:PORT");
        return WAFT_ERR_INVALID_ARG;
    }
    char why[320];
    if (o->key && o->key->len && mig_crypto_why(why, sizeof why)) {
        set_err(out_err, WAFT_ERR_UNSUPPORTED, "%s", why);
        return WAFT_ERR_UNSUPPORTED;
    }
    if (waft_store_frame_count(store) == 0) {
        set_err(out_err, WAFT_ERR_STATE, "the store runs no call to migrate");
        return WAFT_ERR_STATE;
    }
    waft_migration *m = calloc(1, sizeof *m);
    if (!m) {
        set_err(out_err, WAFT_ERR_NOMEM, "out of memory");
        return WAFT_ERR_NOMEM;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->joined = 1;
    m->conn.fd = -1;
    m->o = *o;
    if (!(m->o.max_downtime_ms > 0))
        m->o.max_downtime_ms = 5;
    if (!m->o.max_rounds)
        m->o.max_rounds = 30;
    if (!(m->o.timeout > 0))
        m->o.timeout = 30;
    snprintf(m->to, sizeof m->to, "%s", o->to);
    m->o.to = m->to;
    if (o->key)
        m->key = *o->key;
    m->o.key = &m->key;
    m->tracing = getenv("WAFT_MIGRATE_TRACE") != NULL;
    m->store = store;
    m->inst = instance;
    m->has_mem = waft_instance_memory(instance, &m->mem) == WAFT_OK;
    if (m->has_mem && !m->o.stop_and_copy && !waft_memory_fixed(store, m->mem))
        m->o.stop_and_copy = 1; /* memory may move while the sender reads it */
    if (m->has_mem && waft_memory_track(store, m->mem, 1) != WAFT_OK) {
        set_err(out_err, WAFT_ERR_NOMEM, "cannot track memory writes (out of memory)");
        waft_migration_free(m);
        return WAFT_ERR_NOMEM;
    }
    m->frame = malloc(MIG_PAGES_HEAD + (size_t)MIG_PAGES_MAX * (8 + MIG_PAGE));
    if (!m->frame) {
        set_err(out_err, WAFT_ERR_NOMEM, "out of memory");
        if (m->has_mem)
            waft_memory_track(store, m->mem, 0);
        waft_migration_free(m);
        return WAFT_ERR_NOMEM;
    }
    /* stop-and-copy parks the guest right here, at the trigger (waft_migration_pausing) */
    m->pause_req = m->o.stop_and_copy;
    m->sock = -1;
    m->verdict = V_NONE;
    atomic_store(&m->cancel, 0);
    atomic_store(&m->throttle, 0);
    if (pthread_create(&m->thread, NULL, sender_main, m) != 0) {
        set_err(out_err, WAFT_ERR_NOMEM, "cannot start the sender thread");
        if (m->has_mem)
            waft_memory_track(store, m->mem, 0);
        waft_migration_free(m);
        return WAFT_ERR_NOMEM;
    }
    m->joined = 0;
    *out_migration = m;
    return WAFT_OK;
}

/* The sender has ended (or is told to): joins it and turns tracking off. */
static void cleanup(waft_migration *m)
{
    if (m->joined)
        return;
    pthread_join(m->thread, NULL);
    m->joined = 1;
    if (m->has_mem)
        waft_memory_track(m->store, m->mem, 0);
    release_arrays(m);
}

static waft_migration_state state_of(int verdict)
{
    switch (verdict) {
    case V_MIGRATED:
        return WAFT_MIGRATION_DONE;
    case V_UNKNOWN:
        return WAFT_MIGRATION_UNKNOWN;
    case V_FAILED:
        return WAFT_MIGRATION_FAILED;
    case V_CANCELLED:
        return WAFT_MIGRATION_CANCELLED;
    default:
        return WAFT_MIGRATION_RUNNING;
    }
}

waft_migration_state waft_migration_poll(waft_migration *m)
{
    if (!m)
        return WAFT_MIGRATION_FAILED;
    if (m->joined)
        return state_of(m->verdict);
    pthread_mutex_lock(&m->mu);
    if (m->pause_req && !m->verdict) {
        m->paused = 1;
        pthread_cond_broadcast(&m->cv);
        while (!m->verdict)
            pthread_cond_wait(&m->cv, &m->mu);
    }
    int v = m->verdict;
    pthread_mutex_unlock(&m->mu);
    if (v == V_NONE) {
        int th = atomic_load(&m->throttle);
        uint64_t t = now_ns();
        if (th > 0 && m->ran_since) {
            /* throttling: sleep th% of the time, in proportion to how long the guest ran
             * since it last stopped here (the sender interrupts it after every frame) */
            uint64_t ran = t - m->ran_since, nap = ran * (uint64_t)th / (uint64_t)(100 - th);
            if (nap > 50000000u)
                nap = 50000000u;
            struct timespec ts = { 0, (long)nap };
            nanosleep(&ts, NULL);
            t = now_ns();
        }
        m->ran_since = t;
        return WAFT_MIGRATION_RUNNING;
    }
    cleanup(m);
    return state_of(v);
}

waft_migration_state waft_migration_cancel(waft_migration *m, const char *why)
{
    if (!m)
        return WAFT_MIGRATION_FAILED;
    if (m->joined)
        return state_of(m->verdict);
    atomic_store(&m->cancel, 1);
    pthread_mutex_lock(&m->mu);
    pthread_cond_broadcast(&m->cv);
    if (m->sock >= 0)
        shutdown(m->sock, SHUT_RDWR); /* unblocks the sender's socket calls */
    int v = m->verdict;
    pthread_mutex_unlock(&m->mu);
    cleanup(m);
    if (v != V_NONE)
        return state_of(v); /* it had ended on its own: its reason stands */
    m->verdict = V_CANCELLED;
    snprintf(m->msg, sizeof m->msg, "%s", why ? why : "cancelled");
    return WAFT_MIGRATION_CANCELLED;
}

const char *waft_migration_message(const waft_migration *m)
{
    return m ? m->msg : "";
}

void waft_migration_stats_get(const waft_migration *m, waft_migration_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!m)
        return;
    if (m->t_end) {
        out->downtime_ms = m->t_pause ? ms(m->t_end - m->t_pause) : 0;
        out->total_ms = ms(m->t_end - m->t_start);
    }
    out->bytes_sent = m->conn.bytes_out;
    out->rounds = m->rounds;
    out->pages_sent = m->pages_sent;
}

void waft_migration_free(waft_migration *m)
{
    if (!m)
        return;
    if (!m->joined)
        waft_migration_cancel(m, "freed");
    release_arrays(m);
    mig_close(&m->conn);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    memset(&m->key, 0, sizeof m->key);
    free(m);
}
