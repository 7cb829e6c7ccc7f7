/* SPDX-License-Identifier: MIT */
/* migrate.c - the source side of live migration: `waft run --migrate-to`, the migration
 * requests of `waft migrate PID`, and that command itself.
 *
 * Two threads. The guest thread runs the program; at its suspensions (cli_ckpt_drive) it
 * starts a migration (cli_mig_start) and afterwards calls cli_mig_poll, which parks it when
 * the sender asks for the pause and tells it the outcome. The sender thread does the
 * network work: handshake, pre-copy rounds while the guest runs (reading guest memory
 * concurrently, which the engine's write marks make safe: a page is copied after its mark
 * is taken, so a later write marks it again), then, with the guest parked, the last dirty
 * pages and the state, and the commit.
 *
 * Outcomes: MIGRATED (the destination confirmed it runs the instance: the source stops),
 * FAILED (anything before the commit went wrong: the guest resumes, tracking off), UNKNOWN
 * (the link broke after COMMIT was sent: the destination may be running it; the source
 * keeps a full image and stops with an error, so nothing is lost and nothing runs twice
 * knowingly).
 *
 * Process state lives in the static struct `mg`: the two threads share it under mg.mu.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "proto.h"

#include <waft/waft_snapshot.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    V_NONE,
    V_MIGRATED,
    V_FAILED,
    V_UNKNOWN
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int active;
    pthread_t thread;
    waft_store *store;
    const waft_instance *inst;
    waft_extern mem;
    int has_mem;
    cli_mig_options o;
    char to[256];
    char fallback[PATH_MAX];
    mig_key key;
    mig_conn conn;
    int sock;      /* conn.fd for cli_mig_cancel's shutdown, under mu; -1 once closed */
    int pause_req; /* the sender wants the guest parked */
    int paused;    /* the guest is parked */
    int verdict;
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
} mg = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

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

/* ==== Options ==== */

/* The options (cli_mig_options) are lines of options.c's tables. */

static int opt_error(const char *what, const char *value)
{
    fprintf(stderr, "waft: %s: '%s' (see --help)\n", what, value ? value : "");
    return CLI_EXIT_USAGE;
}

/* ==== The sender ==== */

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mg.msg, sizeof mg.msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int conn_fail(const char *what)
{
    mig_conn *c = &mg.conn;
    if (c->fd >= 0 && strncmp(c->err, "peer: ", 6) != 0) {
        /* a send that failed may have crossed the destination's ABORT: read its reason */
        struct pollfd pf = { c->fd, POLLIN, 0 };
        char keep[sizeof c->err];
        memcpy(keep, c->err, sizeof keep);
        uint8_t t, f;
        uint32_t n;
        if (poll(&pf, 1, 200) == 1 && mig_recv(c, &t, &f, &n) != 0 &&
            strncmp(c->err, "peer: ", 6) == 0)
            return fail("%s: %s", what, c->err);
        memcpy(c->err, keep, sizeof keep);
    }
    return fail("%s: %s", what, c->err);
}

static int cancelled(void)
{
    if (atomic_load(&mg.cancel))
        return fail("the program finished first");
    return 0;
}

static int handshake(void)
{
    mig_conn *c = &mg.conn;
    int tmo = (int)(mg.o.timeout * 1000);
    if (mig_connect(c, mg.to, tmo, &mg.cancel) != 0)
        return atomic_load(&mg.cancel) ? cancelled() : fail("%s", c->err);
    pthread_mutex_lock(&mg.mu);
    mg.sock = c->fd;
    int gone = atomic_load(&mg.cancel);
    pthread_mutex_unlock(&mg.mu);
    if (gone)
        return cancelled();
    size_t mlen = 0;
    const uint8_t *mbytes = waft_module_bytes(waft_instance_module(mg.inst), &mlen);
    uint8_t hello[MIG_HELLO_SIZE], nonce_s[MIG_NONCE];
    if (mig_random(nonce_s, sizeof nonce_s) != 0)
        return fail("no random numbers: %s", strerror(errno));
    const char *tv = getenv("WAFT_TEST_PROTO_VERSION");
    mig_put32(hello, tv ? (uint32_t)strtoul(tv, NULL, 10) : MIG_PROTO_VERSION);
    mig_put32(hello + 4, WAFT_IMAGE_VERSION);
    hello[8] = mg.key.len ? 1 : 0;
    memcpy(hello + 9, nonce_s, MIG_NONCE);
    waft_module_hash(waft_instance_module(mg.inst), hello + 9 + MIG_NONCE);
    mig_put64(hello + 9 + MIG_NONCE + 32, mlen);
    uint32_t len;
    if (mig_send_buf(c, MIG_HELLO, 0, hello, sizeof hello) != 0 ||
        mig_expect(c, MIG_CHALLENGE, &len) != 0)
        return conn_fail("handshake");
    if (len != MIG_CHALLENGE_SIZE)
        return fail("handshake: malformed challenge");
    const uint8_t *ch = c->buf;
    int keyed = ch[4];
    uint8_t nonce_d[MIG_NONCE], mac[MIG_MAC];
    memcpy(nonce_d, ch + 5, MIG_NONCE);
    if (mg.key.len) {
        if (!keyed) {
            mig_send_abort(c, "the source requires a key and this server has none");
            return fail("%s has no key: refusing to send the program to an unauthenticated "
                        "server",
                        mg.to);
        }
        if (mig_mac(&mg.key, "waft-d", nonce_s, nonce_d, mac) != 0 ||
            !mig_mac_equal(mac, ch + 5 + MIG_NONCE)) {
            mig_send_abort(c, "authentication failed");
            return fail("%s failed to prove the key: wrong key, or not the server you meant",
                        mg.to);
        }
        if (mig_mac(&mg.key, "waft-s", nonce_d, nonce_s, mac) != 0)
            return fail("cannot compute the key proof");
        if (mig_send_buf(c, MIG_AUTH, 0, mac, MIG_MAC) != 0)
            return conn_fail("handshake");
        uint8_t t[32];
        if (mig_transcript(hello, sizeof hello, ch, MIG_CHALLENGE_SIZE, t) != 0 ||
            mig_conn_key(c, &mg.key, nonce_s, t, 1) != 0)
            return fail("handshake: cannot derive the session keys");
    } else if (mig_send_buf(c, MIG_AUTH, 0, NULL, 0) != 0) {
        return conn_fail("handshake");
    }
    if (mig_expect(c, MIG_MODULE_REQ, &len) != 0 || len != 1)
        return conn_fail("handshake");
    if (c->buf[0]) {
        for (size_t off = 0; off < mlen;) {
            size_t n = mlen - off < (1u << 20) ? mlen - off : (1u << 20);
            if (mig_send_buf(c, MIG_MODULE, off + n == mlen ? MIG_FLAG_LAST : 0, mbytes + off, n) !=
                0)
                return conn_fail("sending the module");
            off += n;
        }
    }
    if (mig_expect(c, MIG_ACCEPT, &len) != 0)
        return conn_fail("the destination did not accept the instance");
    return 0;
}

static int grow_arrays(size_t npages)
{
    if (npages <= mg.npages_cap)
        return 0;
    size_t cap = mg.npages_cap ? mg.npages_cap : 1024;
    while (cap < npages)
        cap *= 2;
    uint8_t *h = realloc(mg.hist, cap);
    if (h)
        mg.hist = h;
    uint8_t *f = realloc(mg.flags, cap);
    if (f)
        mg.flags = f;
    uint32_t *o = realloc(mg.order, cap * sizeof *o);
    if (o)
        mg.order = o;
    if (!h || !f || !o)
        return fail("out of memory");
    memset(mg.hist + mg.npages_cap, 0, cap - mg.npages_cap);
    mg.npages_cap = cap;
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
static size_t drop_untouched(uint32_t *list, size_t n)
{
    uint64_t size;
    const uint8_t *mem = mg.has_mem ? waft_memory_data(mg.store, mg.mem, &size) : NULL;
    long sys_page = sysconf(_SC_PAGESIZE);
    if (!mem || n == 0 || sys_page != (long)MIG_PAGE)
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
static int send_pages(const uint32_t *list, size_t n, int skip_zero, uint64_t *out_sent)
{
    uint8_t *head = mg.frame;
    uint8_t *nums = head + MIG_PAGES_HEAD;
    uint8_t *data = nums + 8 * MIG_PAGES_MAX;
    uint32_t k = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            uint64_t size;
            const uint8_t *mem = waft_memory_data(mg.store, mg.mem, &size);
            uint64_t p = list[i];
            if ((p + 1) * MIG_PAGE > size)
                continue;
            waft_memory_take_mark(mg.store, mg.mem, p);
            memcpy(data + (size_t)k * MIG_PAGE, mem + p * MIG_PAGE, MIG_PAGE);
            if (skip_zero && page_is_zero(data + (size_t)k * MIG_PAGE))
                continue;
            mig_put64(nums + 8 * k, p);
            k++;
        }
        if (k == MIG_PAGES_MAX || (i == n && k)) {
            uint64_t size;
            waft_memory_data(mg.store, mg.mem, &size);
            mig_put32(head, 0);
            mig_put32(head + 4, (uint32_t)(size / 65536));
            mig_put32(head + 8, k);
            mig_put32(head + 12, 0);
            struct iovec v[3] = { { head, MIG_PAGES_HEAD },
                                  { nums, 8 * (size_t)k },
                                  { data, (size_t)k * MIG_PAGE } };
            if (mig_send(&mg.conn, MIG_PAGES, 0, v, 3) != 0)
                return conn_fail("sending memory");
            *out_sent += k;
            mg.pages_sent += k;
            k = 0;
            if (atomic_load(&mg.throttle))
                waft_store_interrupt(mg.store); /* a throttle slice (cli_mig_poll sleeps) */
            if (cancelled())
                return -1;
        }
    }
    return 0;
}

static uint64_t mem_pages4k(void)
{
    uint64_t size = 0;
    if (mg.has_mem)
        waft_memory_data(mg.store, mg.mem, &size);
    return size / MIG_PAGE;
}

/* Collects the marked pages into mg.order, ordered coldest first (or by address), ageing
 * the history. Returns the count, or SIZE_MAX (with mg.msg set) if out of memory. */
static size_t collect_dirty(int age)
{
    size_t np = (size_t)mem_pages4k();
    if (grow_arrays(np ? np : 1) != 0)
        return SIZE_MAX;
    waft_memory_marks(mg.store, mg.mem, 0, np, mg.flags);
    size_t count[257] = { 0 }, n = 0;
    for (size_t p = 0; p < np; p++) {
        if (age)
            mg.hist[p] = (uint8_t)((mg.hist[p] >> 1) | (mg.flags[p] ? 0x80 : 0));
        if (mg.flags[p]) {
            count[mg.hist[p] + 1]++;
            n++;
        }
    }
    if (mg.o.address_order) {
        size_t k = 0;
        for (size_t p = 0; p < np; p++)
            if (mg.flags[p])
                mg.order[k++] = (uint32_t)p;
        return n;
    }
    /* counting sort by history value: pages written in fewer, older rounds go first */
    for (int v = 1; v <= 256; v++)
        count[v] += count[v - 1];
    for (size_t p = 0; p < np; p++)
        if (mg.flags[p])
            mg.order[count[mg.hist[p]]++] = (uint32_t)p;
    return n;
}

/* Ends a round: waits until the destination has applied all of it, so the bandwidth
 * measured is end to end and no backlog is left to drain during the pause. */
static int sync_round(void)
{
    uint8_t r[4];
    uint32_t len;
    mig_put32(r, mg.rounds + 1);
    if (mig_send_buf(&mg.conn, MIG_SYNC, 0, r, 4) != 0 ||
        mig_expect(&mg.conn, MIG_SYNC_ACK, &len) != 0)
        return conn_fail("sending memory");
    return cancelled();
}

static int precopy(void)
{
    int tty = isatty(2);
    /* round 1: every page, by address */
    size_t np = (size_t)mem_pages4k();
    if (grow_arrays(np ? np : 1) != 0)
        return -1;
    for (size_t p = 0; p < np; p++)
        mg.order[p] = (uint32_t)p;
    np = drop_untouched(mg.order, np);
    uint64_t t0 = now_ns(), sent = 0;
    if (send_pages(mg.order, np, 1, &sent) != 0 || sync_round() != 0)
        return -1;
    mg.rounds = 1;
    double bw = 0; /* bytes per ns, measured */
    size_t prev_dirty = SIZE_MAX;
    int stalls = 0;
    for (;;) {
        uint64_t t1 = now_ns();
        if (t1 > t0 && sent)
            bw = (double)(sent * MIG_PAGE) / (double)(t1 - t0);
        size_t nd = collect_dirty(1);
        if (nd == SIZE_MAX)
            return -1;
        double dirty_rate = t1 > t0 ? (double)nd * MIG_PAGE / ((double)(t1 - t0) / 1e9) : 0;
        double est = bw > 0 ? (double)nd * MIG_PAGE / bw / 1e6 + 0.3 : 0.3;
        if (tty)
            fprintf(stderr,
                    "waft: migrate: round %u: %.1f MiB sent, %zu pages dirty (%.1f MiB/s), "
                    "estimated downtime %.2f ms%s\n",
                    mg.rounds, (double)sent * MIG_PAGE / 1048576.0, nd, dirty_rate / 1048576.0, est,
                    atomic_load(&mg.throttle) ? " (throttled)" : "");
        if (est <= mg.o.max_downtime_ms || mg.rounds >= mg.o.max_rounds)
            break;
        if (prev_dirty == SIZE_MAX || nd * 10 < prev_dirty * 9) {
            stalls = 0;
        } else {
            /* not converging: slow the guest down, and give up pre-copy if that fails too */
            int th = atomic_load(&mg.throttle);
            if (th >= 90 && ++stalls >= 2)
                break;
            atomic_store(&mg.throttle, th ? (th >= 80 ? 90 : th + 20) : 30);
        }
        prev_dirty = nd;
        t0 = now_ns();
        sent = 0;
        if (send_pages(mg.order, nd, 0, &sent) != 0 || sync_round() != 0)
            return -1;
        mg.rounds++;
    }
    return 0;
}

static int pause_guest(void)
{
    pthread_mutex_lock(&mg.mu);
    mg.pause_req = 1;
    pthread_mutex_unlock(&mg.mu);
    waft_store_interrupt(mg.store);
    uint64_t deadline = now_ns() + (uint64_t)(mg.o.timeout * 1e9);
    pthread_mutex_lock(&mg.mu);
    while (!mg.paused && !atomic_load(&mg.cancel)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 2000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&mg.cv, &mg.mu, &ts);
        if (!mg.paused && now_ns() > deadline)
            break;
        if (!mg.paused)
            waft_store_interrupt(mg.store); /* served by a suspension that raced the request */
    }
    int ok = mg.paused;
    if (!ok)
        mg.pause_req = 0;
    pthread_mutex_unlock(&mg.mu);
    if (!ok)
        return atomic_load(&mg.cancel) ? cancelled()
                                       : fail("the program did not reach a safe point within "
                                              "%.0f s (blocked in a system call?)",
                                              mg.o.timeout);
    mg.t_pause = now_ns();
    atomic_store(&mg.throttle, 0);
    return 0;
}

/* With the guest parked: the remaining pages, the state, and the commit. Returns 0, -1
 * (failed before COMMIT: the guest may resume), or 1 (failed after COMMIT: unknown). */
static void trace(const char *what)
{
    static int on = -1;
    if (on < 0)
        on = getenv("WAFT_MIGRATE_TRACE") != NULL;
    if (on)
        fprintf(stderr, "waft: migrate: %.3f ms after the pause: %s\n", ms(now_ns() - mg.t_pause),
                what);
}

static int final_phase(void)
{
    mig_conn *c = &mg.conn;
    uint64_t sent = 0;
    trace("paused");
    if (mg.has_mem) {
        size_t n;
        if (mg.o.stop_and_copy || mg.rounds == 0) {
            n = (size_t)mem_pages4k();
            if (grow_arrays(n ? n : 1) != 0)
                return -1;
            for (size_t p = 0; p < n; p++)
                mg.order[p] = (uint32_t)p;
            n = drop_untouched(mg.order, n);
            if (send_pages(mg.order, n, 1, &sent) != 0)
                return -1;
        } else {
            n = collect_dirty(1);
            if (n == SIZE_MAX) {
                mig_send_abort(c, "the source ran out of memory");
                return -1;
            }
            if (send_pages(mg.order, n, 0, &sent) != 0)
                return -1;
        }
        mg.rounds++;
    }
    trace("last pages sent");
    waft_image_options io;
    memset(&io, 0, sizeof io);
    io.omit_module = 1;
    io.omit_memory = 1;
    uint8_t *state = NULL;
    size_t slen = 0;
    waft_error err;
    waft_result r = waft_image_encode(mg.store, mg.inst, &io, &state, &slen, &err);
    if (r != WAFT_OK) {
        mig_send_abort(c, "the source cannot save the state");
        return fail("cannot save the state: %s", err.message);
    }
    for (size_t off = 0; off < slen || off == 0;) {
        size_t n = slen - off < (16u << 20) ? slen - off : (16u << 20);
        if (mig_send_buf(c, MIG_STATE, off + n == slen ? MIG_FLAG_LAST : 0, state + off, n) != 0) {
            free(state);
            return conn_fail("sending the state");
        }
        off += n;
        if (off == slen)
            break;
    }
    free(state);
    trace("state sent");
    uint32_t len;
    if (mig_expect(c, MIG_READY, &len) != 0)
        return conn_fail("the destination could not restore the instance");
    trace("destination ready");
    if (mig_send_buf(c, MIG_COMMIT, 0, NULL, 0) != 0)
        return conn_fail("committing"); /* not received: the destination discards */
    if (mig_expect(c, MIG_DONE, &len) != 0) {
        conn_fail("no confirmation after the commit");
        return 1;
    }
    return 0;
}

static void finish(int verdict)
{
    pthread_mutex_lock(&mg.mu);
    mg.sock = -1;
    mig_close(&mg.conn);
    mg.verdict = verdict;
    pthread_cond_broadcast(&mg.cv);
    pthread_mutex_unlock(&mg.mu);
    waft_store_interrupt(mg.store); /* wake the guest thread's poll if it is not parked */
}

static void *sender_main(void *arg)
{
    (void)arg;
    mg.t_start = now_ns();
    /* stop-and-copy stops the program first, then connects and sends everything */
    int rc = mg.o.stop_and_copy ? pause_guest() : 0;
    if (rc == 0)
        rc = handshake();
    if (rc == 0 && !mg.o.stop_and_copy && mg.has_mem)
        rc = precopy();
    if (rc == 0 && !mg.o.stop_and_copy)
        rc = pause_guest();
    if (rc == 0)
        rc = final_phase();
    mg.t_end = now_ns();
    if (rc == 0) {
        snprintf(mg.msg, sizeof mg.msg,
                 "migrated to %s: downtime %.2f ms, total %.1f ms, %.1f MiB sent in %u "
                 "round%s (%s%s)",
                 mg.to, ms(mg.t_end - mg.t_pause), ms(mg.t_end - mg.t_start),
                 (double)mg.conn.bytes_out / 1048576.0, mg.rounds, mg.rounds == 1 ? "" : "s",
                 mg.o.stop_and_copy ? "stop-and-copy" : "precopy",
                 mg.o.stop_and_copy   ? ""
                 : mg.o.address_order ? ", address order"
                                      : ", cold first");
        finish(V_MIGRATED);
    } else {
        if (rc < 0)
            mig_send_abort(&mg.conn, mg.msg);
        finish(rc > 0 ? V_UNKNOWN : V_FAILED);
    }
    return NULL;
}

/* ==== The guest thread's side ==== */

int cli_mig_active(void)
{
    return mg.active;
}

int cli_mig_pausing(void)
{
    pthread_mutex_lock(&mg.mu);
    int p = mg.active && mg.pause_req && !mg.verdict;
    pthread_mutex_unlock(&mg.mu);
    return p;
}

int cli_mig_start(const cli_mig_options *o, waft_store *store, const waft_instance *inst,
                  const char *fallback_image, char *msg, size_t msglen)
{
    if (mg.active) {
        snprintf(msg, msglen, "a migration is already in progress");
        return -1;
    }
    mig_key key;
    memset(&key, 0, sizeof key);
    if (o->key_file && mig_key_load(o->key_file, &key, msg, msglen) != 0)
        return -1;
    memset(&mg.conn, 0, sizeof mg.conn);
    mg.conn.fd = -1;
    mg.o = *o;
    if (!(mg.o.max_downtime_ms > 0))
        mg.o.max_downtime_ms = 5;
    if (!mg.o.max_rounds)
        mg.o.max_rounds = 30;
    if (!(mg.o.timeout > 0))
        mg.o.timeout = 30;
    snprintf(mg.to, sizeof mg.to, "%s", o->to);
    mg.o.to = mg.to;
    mg.o.key_file = NULL;
    mg.key = key;
    snprintf(mg.fallback, sizeof mg.fallback, "%s", fallback_image);
    mg.store = store;
    mg.inst = inst;
    mg.has_mem = waft_instance_memory(inst, &mg.mem) == WAFT_OK;
    if (mg.has_mem && !mg.o.stop_and_copy && !waft_memory_fixed(store, mg.mem))
        mg.o.stop_and_copy = 1; /* memory may move while the sender reads it */
    if (mg.has_mem && waft_memory_track(store, mg.mem, 1) != WAFT_OK) {
        snprintf(msg, msglen, "cannot track memory writes (out of memory)");
        return -1;
    }
    free(mg.frame);
    mg.frame = malloc(MIG_PAGES_HEAD + (size_t)MIG_PAGES_MAX * (8 + MIG_PAGE));
    if (!mg.frame) {
        snprintf(msg, msglen, "out of memory");
        if (mg.has_mem)
            waft_memory_track(store, mg.mem, 0);
        return -1;
    }
    /* stop-and-copy parks the guest right here, at the trigger (cli_mig_pausing) */
    mg.pause_req = mg.o.stop_and_copy;
    mg.paused = 0;
    mg.sock = -1;
    mg.verdict = V_NONE;
    mg.rounds = 0;
    mg.ran_since = 0;
    mg.pages_sent = 0;
    mg.msg[0] = 0;
    atomic_store(&mg.cancel, 0);
    atomic_store(&mg.throttle, 0);
    if (pthread_create(&mg.thread, NULL, sender_main, NULL) != 0) {
        snprintf(msg, msglen, "cannot start the sender thread");
        if (mg.has_mem)
            waft_memory_track(store, mg.mem, 0);
        return -1;
    }
    mg.active = 1;
    return 0;
}

static void cleanup(void)
{
    pthread_join(mg.thread, NULL);
    if (mg.has_mem)
        waft_memory_track(mg.store, mg.mem, 0);
    free(mg.hist);
    free(mg.flags);
    free(mg.order);
    free(mg.frame);
    mg.hist = mg.flags = mg.frame = NULL;
    mg.order = NULL;
    mg.npages_cap = 0;
    mg.active = 0;
}

/* Keeps a full image when the outcome is unknown, so the program cannot be lost. */
static void keep_image(char *msg, size_t msglen)
{
    waft_image_options io;
    memset(&io, 0, sizeof io);
    waft_error err;
    char why[sizeof mg.msg];
    snprintf(why, sizeof why, "%s", mg.msg);
    if (waft_image_save(mg.store, mg.inst, mg.fallback, &io, &err) == WAFT_OK)
        snprintf(msg, msglen,
                 "migration to %s: %s; the destination may be running the program; it was "
                 "stopped here and an image kept at %s",
                 mg.to, why, mg.fallback);
    else
        snprintf(msg, msglen,
                 "migration to %s: %s; the destination may be running the program; it was "
                 "stopped here, and keeping an image at %s failed: %s",
                 mg.to, why, mg.fallback, err.message);
}

int cli_mig_poll(char *msg, size_t msglen)
{
    if (!mg.active)
        return CLI_MIG_GO_ON;
    pthread_mutex_lock(&mg.mu);
    if (mg.pause_req && !mg.verdict) {
        mg.paused = 1;
        pthread_cond_broadcast(&mg.cv);
        while (!mg.verdict)
            pthread_cond_wait(&mg.cv, &mg.mu);
    }
    int v = mg.verdict;
    pthread_mutex_unlock(&mg.mu);
    if (v == V_NONE) {
        int th = atomic_load(&mg.throttle);
        uint64_t t = now_ns();
        if (th > 0 && mg.ran_since) {
            /* throttling: sleep th% of the time, in proportion to how long the guest ran
             * since it last stopped here (the sender interrupts it after every frame) */
            uint64_t ran = t - mg.ran_since, nap = ran * (uint64_t)th / (uint64_t)(100 - th);
            if (nap > 50000000u)
                nap = 50000000u;
            struct timespec ts = { 0, (long)nap };
            nanosleep(&ts, NULL);
            t = now_ns();
        }
        mg.ran_since = t;
        return CLI_MIG_GO_ON;
    }
    int out;
    if (v == V_MIGRATED) {
        snprintf(msg, msglen, "%s", mg.msg);
        out = CLI_MIG_DONE;
    } else if (v == V_UNKNOWN) {
        keep_image(msg, msglen);
        out = CLI_MIG_UNKNOWN;
    } else {
        snprintf(msg, msglen, "migration to %s failed: %s; the program goes on here", mg.to,
                 mg.msg);
        out = CLI_MIG_FAILED;
    }
    cleanup();
    return out;
}

void cli_mig_cancel(const char *why)
{
    if (!mg.active)
        return;
    atomic_store(&mg.cancel, 1);
    pthread_mutex_lock(&mg.mu);
    pthread_cond_broadcast(&mg.cv);
    if (mg.sock >= 0)
        shutdown(mg.sock, SHUT_RDWR); /* unblocks the sender's socket calls */
    int v = mg.verdict;
    pthread_mutex_unlock(&mg.mu);
    cleanup();
    if (v == V_FAILED)
        fprintf(stderr, "waft: migration to %s failed: %s\n", mg.to, mg.msg);
    else
        fprintf(stderr, "waft: migration to %s abandoned: %s\n", mg.to, why);
}

/* ==== waft migrate PID ==== */

int cli_migrate_main(int argc, char **argv)
{
    cli_mig_options o;
    const char *pid_text = NULL;
    int npos = 0, next;
    memset(&o, 0, sizeof o);
    int status = cli_parse(cli_verb_find("migrate"), argc, argv, &o, &pid_text, &npos, &next);
    if (status >= 0)
        return status;
    char *end = NULL;
    unsigned long long pid_n = pid_text ? strtoull(pid_text, &end, 10) : 0;
    if (pid_text &&
        (pid_text[0] < '0' || pid_text[0] > '9' || *end || pid_n == 0 || pid_n > INT_MAX))
        return opt_error("migrate: PID must be a process id", pid_text);
    long pid = (long)pid_n;
    if (!pid || !o.to)
        return opt_error("migrate: needs PID and --to HOST:PORT", pid ? "" : "PID");
    char key[PATH_MAX] = "-";
    if (o.key_file) {
        mig_key k;
        char err[400];
        if (mig_key_load(o.key_file, &k, err, sizeof err) != 0) {
            fprintf(stderr, "waft: migrate: %s\n", err);
            return CLI_EXIT_ERROR;
        }
        if (!realpath(o.key_file, key)) {
            fprintf(stderr, "waft: migrate: %s: %s\n", o.key_file, strerror(errno));
            return CLI_EXIT_ERROR;
        }
        if (strpbrk(key, " \t\n")) {
            fprintf(stderr, "waft: migrate: %s: the key file's path must not contain spaces\n",
                    key);
            return CLI_EXIT_USAGE;
        }
    }
    double timeout = o.timeout > 0 ? o.timeout : 30;
    char req[PATH_MAX + 400];
    snprintf(req, sizeof req, "migrate %s %s %.3f %u %s %.3f %s\n", o.to,
             o.stop_and_copy ? "stop-and-copy" : "precopy",
             o.max_downtime_ms > 0 ? o.max_downtime_ms : 5, o.max_rounds ? o.max_rounds : 30,
             o.address_order ? "address" : "hot", timeout, key);
    char ans[2048];
    size_t n = 0;
    /* the run bounds each of its waits on the peer; a whole migration has no bound (its
     * pre-copy lasts as long as the memory takes), and the answer comes when it ends, or
     * the connection closes if the run dies */
    if (cli_ctl_request(pid, req, 0, ans, sizeof ans, &n) != 0)
        return CLI_EXIT_ERROR;
    if (strncmp(ans, "ok ", 3) == 0) {
        printf("waft: process %ld %s\n", pid, ans + 3);
        return CLI_EXIT_OK;
    }
    if (n == 0)
        fprintf(stderr, "waft: migrate: no answer from process %ld\n", pid);
    else
        fprintf(stderr, "waft: migrate: process %ld: %s\n", pid,
                strncmp(ans, "error ", 6) == 0 ? ans + 6 : ans);
    return CLI_EXIT_ERROR;
}
