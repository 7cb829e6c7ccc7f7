/* SPDX-License-Identifier: MIT */
/* mapped.c - linear memory mapped from an image file, checked where it is first touched.
 *
 * Restore by mapping (docs/checkpoint.md): the image's stored pages are mapped privately
 * (copy-on-write) over the memory's reservation, so a restore reads nothing up front and
 * pages come from the file (page cache) when the program touches them; pages it never
 * touches cost nothing, zero pages are not in the file at all.
 *
 * Lazy checking: a MiB of memory that holds mapped pages starts inaccessible. The first
 * access, by the program or by the host (WASI, a checkpoint, a migration sender), faults;
 * the handler makes the MiB readable, computes the CRC-32C of its stored pages, compares it
 * with the image's checksum for that MiB, and opens it for writing: the access then
 * retries and succeeds. A mismatch cannot be returned to anyone from a fault, so the
 * handler prints one line (what, which bytes) and ends the process: the program never
 * reads damaged bytes. SIGBUS in a watched region (the file was truncated under the run)
 * ends it the same way. Faults anywhere else go to the handler that was there before.
 *
 * Invariants:
 *  - A watched region is in `regions` from store_memory_lazy until store_memory_unmap_file;
 *    the handler only reads a region's fields, and per MiB one state byte decides who
 *    checks it (0 not checked, 1 being checked, 2 open).
 *  - The handler uses async-signal-safe calls only (mprotect, write, _exit, sched_yield).
 */
#include "store/store.h"

#include "base/codec.h"

#if STORE_MMAP
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GRANULE_SHIFT  20u /* 1 MiB: the image's checksum unit (SNAP_GRANULE_SHIFT) */
#define GRANULE_CHUNKS (1u << (GRANULE_SHIFT - 12u))
#define MAX_REGIONS    64u

typedef struct store_lazy {
    uint8_t *base;          /* the memory's data */
    uint64_t ngran;         /* MiBs watched, from base */
    uint64_t nchunks;       /* 4 KiB chunks in them */
    uint8_t *bitmap;        /* stored chunks */
    uint32_t *crcs;         /* per MiB: CRC-32C of its stored chunks */
    _Atomic uint8_t *state; /* per MiB: 0 not checked, 1 being checked, 2 open */
    char what[256];         /* for the message: the image */
} store_lazy;

static _Atomic(store_lazy *) regions[MAX_REGIONS];
static struct sigaction old_segv, old_bus;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static bool handler_ok;

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void say_hex(uint64_t v)
{
    char b[19];
    int i = 18;
    b[i] = 0;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && i > 2);
    b[--i] = 'x';
    b[--i] = '0';
    say(b + i);
}

static _Noreturn void damaged(const store_lazy *r, uint64_t g, const char *why)
{
    say("waft: ");
    say(r->what);
    say(": memory bytes ");
    say_hex(g << GRANULE_SHIFT);
    say("-");
    say_hex(((g + 1) << GRANULE_SHIFT) - 1);
    say(why);
    _exit(1);
}

static bool stored(const store_lazy *r, uint64_t k)
{
    return (r->bitmap[k / 8] >> (k % 8)) & 1u;
}

/* Checks MiB g of r and opens it (the caller won its state byte). */
static void open_granule(store_lazy *r, uint64_t g)
{
    uint8_t *p = r->base + (g << GRANULE_SHIFT);
    uint64_t first = g * GRANULE_CHUNKS, end = first + GRANULE_CHUNKS;
    if (end > r->nchunks)
        end = r->nchunks;
    size_t len = (size_t)((end - first) << 12);
    if (mprotect(p, len, PROT_READ) != 0)
        damaged(r, g, " cannot be read (mprotect failed)\n");
    uint32_t crc = 0;
    for (uint64_t k = first; k < end;) {
        if (!stored(r, k)) {
            k++;
            continue;
        }
        uint64_t run = k;
        while (run < end && stored(r, run))
            run++;
        crc = base_crc32c(crc, r->base + (k << 12), (size_t)((run - k) << 12));
        k = run;
    }
#if defined(WAFT_FUZZING)
    (void)crc;
#else
    if (crc != r->crcs[g])
        damaged(r, g,
                " do not match their checksum: the image is damaged (the program was stopped "
                "before it read them)\n");
#endif
    if (mprotect(p, len, PROT_READ | PROT_WRITE) != 0)
        damaged(r, g, " cannot be opened (mprotect failed)\n");
    atomic_store_explicit(&r->state[g], 2, memory_order_release);
}

static void pass_on(int sig, siginfo_t *info, void *ctx)
{
    struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, info, ctx);
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    } else {
        /* the default action: put it back, and the access faults again, for real */
        signal(sig, SIG_DFL);
    }
}

static void on_fault(int sig, siginfo_t *info, void *ctx)
{
    uint8_t *addr = info->si_addr;
    for (unsigned i = 0; i < MAX_REGIONS; i++) {
        store_lazy *r = atomic_load_explicit(&regions[i], memory_order_acquire);
        if (!r || addr < r->base || (uint64_t)(addr - r->base) >= (r->ngran << GRANULE_SHIFT))
            continue;
        uint64_t g = (uint64_t)(addr - r->base) >> GRANULE_SHIFT;
        if (sig == SIGBUS)
            damaged(r, g, " cannot be read: the image file shrank or changed under the run\n");
        uint8_t want = 0;
        if (atomic_compare_exchange_strong(&r->state[g], &want, 1)) {
            open_granule(r, g);
            return;
        }
        if (want == 2)
            return; /* opened by another thread since this access faulted: it retries */
        while (atomic_load_explicit(&r->state[g], memory_order_acquire) != 2)
            sched_yield(); /* another thread checks it */
        return;
    }
    pass_on(sig, info, ctx);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    handler_ok = sigaction(SIGSEGV, &sa, &old_segv) == 0 && sigaction(SIGBUS, &sa, &old_bus) == 0;
}

bool store_memory_can_map(const store_memory *m)
{
    return m->reserved != 0 && sysconf(_SC_PAGESIZE) == 4096;
}

bool store_memory_map_file(store_memory *m, uint64_t at, uint64_t len, int fd, uint64_t off,
                           bool lazy)
{
    if (at + len > m->size || (at | len | off) % 4096 != 0)
        return false;
    m->file_backed = true;
    void *p = mmap(m->data + at, (size_t)len, lazy ? PROT_NONE : PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)off);
    return p != MAP_FAILED;
}

bool store_memory_lazy(store_memory *m, const uint8_t *bitmap, const uint32_t *crcs, uint64_t ngran,
                       const char *what)
{
    pthread_once(&handler_once, install);
    if (!handler_ok || m->lazy)
        return false;
    uint64_t nchunks = m->size >> 12;
    if (ngran > (nchunks + GRANULE_CHUNKS - 1) / GRANULE_CHUNKS)
        return false;
    if (nchunks > ngran * GRANULE_CHUNKS)
        nchunks = ngran * GRANULE_CHUNKS;
    store_lazy *r = calloc(1, sizeof *r);
    if (!r)
        return false;
    r->base = m->data;
    r->ngran = ngran;
    r->nchunks = nchunks;
    r->bitmap = malloc((size_t)(nchunks + 7) / 8 + 1);
    r->crcs = malloc((size_t)ngran * sizeof *r->crcs + 1);
    r->state = calloc((size_t)ngran + 1, 1);
    snprintf(r->what, sizeof r->what, "%s", what);
    if (!r->bitmap || !r->crcs || !r->state) {
        free(r->bitmap);
        free(r->crcs);
        free((void *)r->state);
        free(r);
        return false;
    }
    memcpy(r->bitmap, bitmap, (size_t)(nchunks + 7) / 8);
    memcpy(r->crcs, crcs, (size_t)ngran * sizeof *r->crcs);
    /* MiBs without stored pages are open from the start; the others are closed */
    for (uint64_t g = 0; g < ngran; g++) {
        bool any = false;
        for (uint64_t k = g * GRANULE_CHUNKS; k < (g + 1) * GRANULE_CHUNKS && k < nchunks; k++)
            any = any || stored(r, k);
        uint64_t len =
            ((g + 1) * GRANULE_CHUNKS > nchunks ? nchunks - g * GRANULE_CHUNKS : GRANULE_CHUNKS)
            << 12;
        if (!any)
            r->state[g] = 2;
        else if (mprotect(m->data + (g << GRANULE_SHIFT), (size_t)len, PROT_NONE) != 0)
            goto undo;
    }
    for (unsigned i = 0; i < MAX_REGIONS; i++) {
        store_lazy *none = NULL;
        if (atomic_compare_exchange_strong(&regions[i], &none, r)) {
            m->lazy = r;
            return true;
        }
    }
undo:
    mprotect(m->data, (size_t)(nchunks << 12), PROT_READ | PROT_WRITE);
    free(r->bitmap);
    free(r->crcs);
    free((void *)r->state);
    free(r);
    return false;
}

void store_memory_touch(store_memory *m, uint64_t at, uint64_t len)
{
    store_lazy *r = m->lazy;
    if (!r || !len)
        return;
    for (uint64_t g = at >> GRANULE_SHIFT; g <= (at + len - 1) >> GRANULE_SHIFT && g < r->ngran;
         g++) {
        uint8_t want = 0;
        if (atomic_compare_exchange_strong(&r->state[g], &want, 1))
            open_granule(r, g);
        else
            while (atomic_load_explicit(&r->state[g], memory_order_acquire) != 2)
                sched_yield();
    }
}

/* Stops watching m's region (its pages stay as they are). */
static void unwatch(store_memory *m)
{
    store_lazy *r = m->lazy;
    if (!r)
        return;
    for (unsigned i = 0; i < MAX_REGIONS; i++) {
        store_lazy *was = r;
        if (atomic_compare_exchange_strong(&regions[i], &was, NULL))
            break;
    }
    m->lazy = NULL;
    free(r->bitmap);
    free(r->crcs);
    free((void *)r->state);
    free(r);
}

bool store_memory_unmap_file(store_memory *m, bool fresh)
{
    unwatch(m);
    if (!m->file_backed || !fresh)
        return true;
    void *p = mmap(m->data, m->reserved, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED ||
        (m->size && mprotect(m->data, (size_t)m->size, PROT_READ | PROT_WRITE) != 0))
        return false;
    m->file_backed = false;
    return true;
}

#else /* no mmap backend: memory is always copied */

bool store_memory_can_map(const store_memory *m)
{
    (void)m;
    return false;
}

bool store_memory_map_file(store_memory *m, uint64_t at, uint64_t len, int fd, uint64_t off,
                           bool lazy)
{
    (void)m, (void)at, (void)len, (void)fd, (void)off, (void)lazy;
    return false;
}

bool store_memory_lazy(store_memory *m, const uint8_t *bitmap, const uint32_t *crcs, uint64_t ngran,
                       const char *what)
{
    (void)m, (void)bitmap, (void)crcs, (void)ngran, (void)what;
    return false;
}

void store_memory_touch(store_memory *m, uint64_t at, uint64_t len)
{
    (void)m, (void)at, (void)len;
}

bool store_memory_unmap_file(store_memory *m, bool fresh)
{
    (void)m, (void)fresh;
    return true;
}

#endif
