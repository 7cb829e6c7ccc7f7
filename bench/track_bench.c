/* SPDX-License-Identifier: MIT */
/* track_bench.c - two ways to find the pages a program wrote, on the same write patterns.
 *
 *   usage: track_bench [MIB [ROUNDS]]        (default: 256 MiB, 7 rounds)
 *
 * A live migration copies memory while the program keeps running, then copies again the
 * pages written meanwhile, so it needs the set of pages written since the last copy.
 * Two mechanisms, over an anonymous mapping of MIB MiB (4 KiB pages, no huge pages):
 *
 *   barrier  software write barrier, as waft's interpreter does it: every 8-byte store is
 *            followed by a release store of 1 into a byte map, one byte per 4 KiB page.
 *            Collecting a round reads the map and takes (atomic exchange with 0) every
 *            byte that is set.
 *   uffd     the kernel: a userfaultfd in asynchronous write-protect mode
 *            (UFFD_FEATURE_WP_ASYNC, plus UFFD_FEATURE_WP_UNPOPULATED when the kernel has
 *            it) with the mapping registered in UFFDIO_REGISTER_MODE_WP; the stores are
 *            plain, and the first store to a protected page takes a fault the kernel
 *            resolves on its own (it clears the page's write protection). Collecting a
 *            round is the PAGEMAP_SCAN ioctl on /proc/self/pagemap, asking for the pages
 *            that are PAGE_IS_WRITTEN and write-protecting them again in the same call
 *            (PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC).
 *   none     the same stores with no tracking, for reference.
 *
 * Patterns, each a "round" of stores: seq (every 8-byte word of the mapping, in order),
 * random (one store per page count, at random words: about 63% of the pages), hot (64
 * pages, 256 KiB, one word per page in turn, 4 Mi stores). Rounds of the three modes are
 * interleaved (each round takes the next permutation of the modes) and every timed pass
 * starts after writing a 64 MiB scratch buffer, so caches and TLB start cold and alike.
 * A none or barrier pass is also preceded by an untimed plain pass of the same pattern:
 * on this VM the first pass over any memory after a uffd round (which re-protects many
 * pages) is several times slower (random pattern: 1.6-2.5 ms instead of 0.5 ms), a side
 * effect this benchmark charges to nobody. Per mode, the medians of the store time and of
 * the collect time are printed, with the pages found, which must be the same page set
 * for barrier and uffd in every round.
 *
 * Whether the kernel mechanism works is found out by trying it (userfaultfd, the API
 * features, registration, a scan, and a two-page self-test); when it does not, the
 * reason is printed and only none and barrier are measured. Debian 12's headers (Linux
 * 6.1) lack WP_ASYNC and PAGEMAP_SCAN, so their definitions are below. The machine
 * facts behind this: ../shared/TOOLCHAIN.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ==== Kernel definitions missing from older headers (values from Linux 6.7+) ==== */

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1u << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1u << 15)
#endif

struct tb_page_region {
    uint64_t start, end, categories;
};
struct tb_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define TB_PAGEMAP_SCAN          _IOWR('f', 16, struct tb_pm_scan_arg)
#define TB_PAGE_IS_WRITTEN       (1u << 1)
#define TB_PM_SCAN_WP_MATCHING   (1u << 0)
#define TB_PM_SCAN_CHECK_WPASYNC (1u << 1)
/* At most 512 regions per call: with more, walk_end can point before the last one. */
#define TB_REGIONS 512

#define PAGE       4096u
#define PAGE_WORDS (PAGE / 8u)
#define HOT_PAGES  64u
#define HOT_STORES (4u << 20)
#define MAX_ROUNDS 31

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double tmp[MAX_ROUNDS];
    memcpy(tmp, v, (size_t)n * sizeof *v);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* ==== The write patterns ==== */

enum {
    P_SEQ,
    P_RANDOM,
    P_HOT,
    NPATTERNS
};
static const char *const pattern_name[NPATTERNS] = { "seq", "random", "hot" };
static const char *const pattern_what[NPATTERNS] = {
    "every 8-byte word, in order",
    "one store per page count, random words",
    "64 pages (256 KiB), 4 Mi stores",
};

static size_t words;       /* 8-byte words in the mapping */
static size_t npages;      /* 4 KiB pages in the mapping */
static uint32_t *rand_idx; /* word indexes of the random pattern (npages of them) */
static size_t hot_first;   /* first word of the hot set */

/* A barrier store: the word, then the page's byte in the map (release: a collector that
 * sees the byte clear after taking it also sees the word). */
#define STORE_PLAIN(mem, map, i, v) ((mem)[i] = (v))
#define STORE_BARRIER(mem, map, i, v)                                             \
    do {                                                                          \
        (mem)[i] = (v);                                                           \
        __atomic_store_n(&(map)[(i) / PAGE_WORDS], (uint8_t)1, __ATOMIC_RELEASE); \
    } while (0)

#define DEFINE_PATTERNS(suffix, STORE)                                             \
    static void seq_##suffix(volatile uint64_t *mem, uint8_t *map, uint64_t v)     \
    {                                                                              \
        (void)map;                                                                 \
        for (size_t i = 0; i < words; i++)                                         \
            STORE(mem, map, i, v ^ i);                                             \
    }                                                                              \
    static void random_##suffix(volatile uint64_t *mem, uint8_t *map, uint64_t v)  \
    {                                                                              \
        (void)map;                                                                 \
        for (size_t k = 0; k < npages; k++)                                        \
            STORE(mem, map, rand_idx[k], v + k);                                   \
    }                                                                              \
    static void hot_##suffix(volatile uint64_t *mem, uint8_t *map, uint64_t v)     \
    {                                                                              \
        (void)map;                                                                 \
        uint32_t p = 0;                                                            \
        for (uint32_t k = 0; k < HOT_STORES; k++) {                                \
            size_t i = hot_first + (size_t)p * PAGE_WORDS + (p * 7u) % PAGE_WORDS; \
            STORE(mem, map, i, v + k);                                             \
            if (++p == HOT_PAGES)                                                  \
                p = 0;                                                             \
        }                                                                          \
    }

DEFINE_PATTERNS(plain, STORE_PLAIN)
DEFINE_PATTERNS(barrier, STORE_BARRIER)

typedef void (*pattern_fn)(volatile uint64_t *, uint8_t *, uint64_t);
static const pattern_fn plain_fn[NPATTERNS] = { seq_plain, random_plain, hot_plain };
static const pattern_fn barrier_fn[NPATTERNS] = { seq_barrier, random_barrier, hot_barrier };

/* ==== The kernel mechanism ==== */

static int uffd = -1, pagemap = -1;
static uint64_t uffd_features;
static int uffd_user_only;
static struct tb_page_region regions[TB_REGIONS];

/* PAGEMAP_SCAN over [base, base + len): every page written since the last scan is
 * reported (its index set in seen[] when seen is not NULL) and write-protected again.
 * Returns the number of pages, or -1 with errno. */
static long uffd_collect(uint8_t *base, size_t len, uint8_t *seen)
{
    uint64_t start = (uint64_t)(uintptr_t)base, end = start + len;
    long found = 0;
    while (start < end) {
        struct tb_pm_scan_arg a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.flags = TB_PM_SCAN_WP_MATCHING | TB_PM_SCAN_CHECK_WPASYNC;
        a.start = start;
        a.end = end;
        a.vec = (uint64_t)(uintptr_t)regions;
        a.vec_len = TB_REGIONS;
        a.category_mask = TB_PAGE_IS_WRITTEN;
        a.return_mask = TB_PAGE_IS_WRITTEN;
        long n = ioctl(pagemap, TB_PAGEMAP_SCAN, &a);
        if (n < 0)
            return -1;
        for (long r = 0; r < n; r++) {
            uint64_t first = (regions[r].start - (uint64_t)(uintptr_t)base) / PAGE;
            uint64_t last = (regions[r].end - (uint64_t)(uintptr_t)base) / PAGE;
            found += (long)(last - first);
            if (seen)
                memset(seen + first, 1, (size_t)(last - first));
        }
        if (a.walk_end <= start) {
            errno = EPROTO; /* no progress: would loop for ever */
            return -1;
        }
        start = a.walk_end;
    }
    return found;
}

/* Sets up uffd write tracking of [base, base + len) and checks that it works; returns
 * NULL or why not. */
static const char *uffd_setup(uint8_t *base, size_t len, char *why, size_t cap)
{
    static const struct {
        int flags;
        uint64_t features;
    } tries[] = {
        { UFFD_USER_MODE_ONLY, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED },
        { UFFD_USER_MODE_ONLY, UFFD_FEATURE_WP_ASYNC },
        { 0, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED },
        { 0, UFFD_FEATURE_WP_ASYNC },
    };
    const char *step = "userfaultfd";
    int err = 0;
    for (size_t t = 0; t < sizeof tries / sizeof tries[0]; t++) {
        int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | tries[t].flags);
        if (fd < 0) {
            step = tries[t].flags ? "userfaultfd(UFFD_USER_MODE_ONLY)" : "userfaultfd";
            err = errno;
            continue;
        }
        struct uffdio_api api;
        memset(&api, 0, sizeof api);
        api.api = UFFD_API;
        api.features = tries[t].features;
        if (ioctl(fd, UFFDIO_API, &api) != 0 || !(api.features & UFFD_FEATURE_WP_ASYNC)) {
            step = "UFFDIO_API with UFFD_FEATURE_WP_ASYNC";
            err = errno;
            close(fd);
            continue;
        }
        uffd = fd;
        uffd_features = api.features;
        uffd_user_only = tries[t].flags != 0;
        break;
    }
    if (uffd < 0) {
        snprintf(why, cap, "%s failed: %s", step, err ? strerror(err) : "feature missing");
        return why;
    }
    struct uffdio_register reg;
    memset(&reg, 0, sizeof reg);
    reg.range.start = (uint64_t)(uintptr_t)base;
    reg.range.len = len;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
        snprintf(why, cap, "UFFDIO_REGISTER (WP mode) failed: %s", strerror(errno));
        return why;
    }
    pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap < 0) {
        snprintf(why, cap, "/proc/self/pagemap: %s", strerror(errno));
        return why;
    }
    if (uffd_collect(base, len, NULL) < 0) { /* protects every page */
        snprintf(why, cap, "PAGEMAP_SCAN failed: %s", strerror(errno));
        return why;
    }
    /* self-test: exactly two written pages must be found, then none */
    size_t a = npages / 3, b = npages - 1;
    ((volatile uint64_t *)base)[a * PAGE_WORDS + 5] += 1;
    ((volatile uint64_t *)base)[b * PAGE_WORDS] += 1;
    uint8_t *seen = calloc(npages, 1);
    if (!seen) {
        snprintf(why, cap, "out of memory");
        return why;
    }
    long n1 = uffd_collect(base, len, seen);
    int right = n1 == 2 && seen[a] && seen[b];
    long n2 = uffd_collect(base, len, NULL);
    free(seen);
    if (n1 < 0 || n2 < 0 || !right || n2 != 0) {
        snprintf(why, cap,
                 "self-test failed: wrote 2 pages, the scan found %ld (%s), then %ld instead of 0",
                 n1, right ? "the right ones" : "not those", n2);
        return why;
    }
    return NULL;
}

/* ==== Measurement ==== */

enum {
    M_NONE,
    M_BARRIER,
    M_UFFD,
    NMODES
};
static const char *const mode_name[NMODES] = { "none", "barrier", "uffd" };

typedef struct {
    double store_s[MAX_ROUNDS], collect_s[MAX_ROUNDS];
    long pages[MAX_ROUNDS];
    int n;
} series;

static uint8_t *map_or_die(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("track_bench: mmap");
        exit(1);
    }
    madvise(p, len, MADV_NOHUGEPAGE); /* 4 KiB granularity for both mechanisms */
    memset(p, 0x5a, len);             /* populated: page faults of first touch excluded */
    return p;
}

/* Writes a buffer larger than the caches, so that every timed pass starts with caches
 * and TLB in the same (cold) state, whichever pass ran before it. */
static void evict(uint8_t *scratch, size_t len)
{
    static uint8_t v;
    memset(scratch, ++v, len);
    __asm__ volatile("" : : "r"(scratch) : "memory");
}

/* The barrier's collector: takes every set byte of the map. */
static long barrier_collect(uint8_t *map, uint8_t *seen)
{
    long found = 0;
    for (size_t p = 0; p < npages; p++) {
        if (__atomic_load_n(&map[p], __ATOMIC_RELAXED) &&
            __atomic_exchange_n(&map[p], 0, __ATOMIC_ACQUIRE)) {
            found++;
            seen[p] = 1;
        }
    }
    return found;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 256;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (mib < 1 || mib > 65536 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: track_bench [MIB (1-65536) [ROUNDS (1-%d)]]\n", MAX_ROUNDS);
        return 2;
    }
    size_t len = mib << 20;
    words = len / 8;
    npages = len / PAGE;
    hot_first = (npages / 2) * PAGE_WORDS;
    rand_idx = malloc(npages * sizeof *rand_idx);
    uint8_t *map = calloc(npages, 1), *seen_b = calloc(npages, 1), *seen_u = calloc(npages, 1);
    if (!rand_idx || !map || !seen_b || !seen_u || hot_first + HOT_PAGES * PAGE_WORDS > words) {
        fprintf(stderr, "track_bench: out of memory, or a mapping smaller than the hot set\n");
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t k = 0; k < npages; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rand_idx[k] = (uint32_t)(x % words);
    }
    uint8_t *plain_mem = map_or_die(len), *uffd_mem = map_or_die(len);

    struct utsname u;
    uname(&u);
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    printf("track_bench: %s, kernel %s %s, %zu MiB anonymous mapping (%zu pages of 4 KiB, "
           "MADV_NOHUGEPAGE), %d rounds per pattern and mode, interleaved, caches evicted "
           "before each pass\n",
           date, u.release, u.machine, mib, npages, rounds);

    char why[256];
    const char *no_uffd = uffd_setup(uffd_mem, len, why, sizeof why);
    int have_uffd = no_uffd == NULL;
    if (have_uffd)
        printf("kernel tracking: WORKS (userfaultfd%s, features WP_ASYNC%s; PAGEMAP_SCAN "
               "self-test passed)\n",
               uffd_user_only ? " with UFFD_USER_MODE_ONLY" : " (privileged, no USER_MODE_ONLY)",
               (uffd_features & UFFD_FEATURE_WP_UNPOPULATED) ? " + WP_UNPOPULATED" : "");
    else
        printf("kernel tracking: NOT AVAILABLE here: %s; measuring none and barrier only\n",
               no_uffd);
    int nmodes = have_uffd ? NMODES : M_UFFD;
    /* the orders of the modes within a round: every permutation in turn, so that no mode
     * always comes after the same one (and inherits its cache and TLB state) */
    static const int perm3[6][3] = { { 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 },
                                     { 0, 2, 1 }, { 2, 1, 0 }, { 1, 0, 2 } };
    static const int perm2[2][3] = { { 0, 1, 0 }, { 1, 0, 0 } };
    const int(*order)[3] = have_uffd ? perm3 : perm2;
    int norders = have_uffd ? 6 : 2;
    size_t scratch_len = 64u << 20;
    uint8_t *scratch = map_or_die(scratch_len);

    printf("\n%-7s %-8s %12s %12s %12s %10s %12s  %s\n", "pattern", "mode", "stores ms",
           "collect ms", "round ms", "vs none", "pages found", "what");
    int mismatch = 0;
    uint64_t v = 1;
    for (int pat = 0; pat < NPATTERNS; pat++) {
        series s[NMODES];
        memset(s, 0, sizeof s);
        for (int r = -1; r < rounds; r++) { /* round -1: warm-up, not kept */
            memset(seen_b, 0, npages);
            memset(seen_u, 0, npages);
            for (int k = 0; k < nmodes; k++) {
                int m = order[(r < 0 ? 0 : r) % norders][k];
                if (m != M_UFFD) /* see "settle" above */
                    plain_fn[pat]((volatile uint64_t *)plain_mem, map, v++);
                evict(scratch, scratch_len);
                double t0 = now_s(), t1, t2;
                long found = 0;
                if (m == M_NONE) {
                    plain_fn[pat]((volatile uint64_t *)plain_mem, map, v++);
                    t1 = t2 = now_s();
                } else if (m == M_BARRIER) {
                    barrier_fn[pat]((volatile uint64_t *)plain_mem, map, v++);
                    t1 = now_s();
                    found = barrier_collect(map, seen_b);
                    t2 = now_s();
                } else {
                    plain_fn[pat]((volatile uint64_t *)uffd_mem, map, v++);
                    t1 = now_s();
                    found = uffd_collect(uffd_mem, len, seen_u);
                    t2 = now_s();
                    if (found < 0) {
                        printf("PAGEMAP_SCAN failed during the run: %s\n", strerror(errno));
                        return 1;
                    }
                }
                if (r >= 0) {
                    s[m].store_s[r] = t1 - t0;
                    s[m].collect_s[r] = t2 - t1;
                    s[m].pages[r] = found;
                    s[m].n = r + 1;
                }
            }
            if (have_uffd && memcmp(seen_b, seen_u, npages) != 0) {
                long only_b = 0, only_u = 0;
                for (size_t p = 0; p < npages; p++) {
                    only_b += seen_b[p] && !seen_u[p];
                    only_u += seen_u[p] && !seen_b[p];
                }
                printf("MISMATCH %s round %d: %ld pages only the barrier found, %ld only uffd\n",
                       pattern_name[pat], r, only_b, only_u);
                mismatch = 1;
            }
        }
        double base = median(s[M_NONE].store_s, rounds);
        for (int m = 0; m < nmodes; m++) {
            double st = median(s[m].store_s, rounds), co = median(s[m].collect_s, rounds);
            double round[MAX_ROUNDS];
            for (int r = 0; r < rounds; r++)
                round[r] = s[m].store_s[r] + s[m].collect_s[r];
            double rt = median(round, rounds);
            long pmin = s[m].pages[0], pmax = s[m].pages[0];
            for (int r = 1; r < rounds; r++) {
                pmin = s[m].pages[r] < pmin ? s[m].pages[r] : pmin;
                pmax = s[m].pages[r] > pmax ? s[m].pages[r] : pmax;
            }
            char pages[48];
            if (m == M_NONE)
                snprintf(pages, sizeof pages, "-");
            else if (pmin == pmax)
                snprintf(pages, sizeof pages, "%ld", pmin);
            else
                snprintf(pages, sizeof pages, "%ld-%ld", pmin, pmax);
            printf("%-7s %-8s %12.3f %12.3f %12.3f %9.2fx %12s  %s\n", pattern_name[pat],
                   mode_name[m], st * 1e3, co * 1e3, rt * 1e3, rt / base, pages,
                   m == M_NONE ? pattern_what[pat] : "");
        }
    }
    printf("\nstores ms: the round's stores (for uffd including the write-protect faults); "
           "collect ms: finding the written pages and re-arming (barrier: map scan with "
           "atomic exchange; uffd: PAGEMAP_SCAN with re-protection); medians.\n");
    if (have_uffd)
        printf("page sets: %s\n", mismatch ? "barrier and uffd DISAGREE (see above)"
                                           : "barrier and uffd found the same pages in "
                                             "every round");
    return mismatch ? 1 : 0;
}
