/* SPDX-License-Identifier: MIT */
/* dirty.c - the guest of bench/migrate.py: a program that keeps dirtying memory.
 *
 *   usage: dirty TOTAL_MIB HOT_KIB RATE SECONDS
 *
 * Allocates TOTAL_MIB MiB (linear memory grows to hold it) and fills every 8-byte word
 * with a non-zero value, so no page is all zeros and a migration has to send all of them.
 * Prints "ready" (flushed), then for SECONDS seconds writes one 8-byte word into each
 * 4 KiB page of the hot set in turn (HOT_KIB KiB in the middle of the buffer), cycling
 * through it, at RATE pages per millisecond (0: as fast as it can). The clock is read
 * once every 64 writes; when ahead of the schedule the program sleeps.
 *
 * At the end it checks that every hot page holds the last value it wrote there (a write
 * lost by a migration shows up as "lost writes" on stderr and exit status 3), gives each
 * hot page a final value, and prints on stdout
 *     writes N          (how many page writes the loop made: depends on timing)
 *     max_stall_us N    (the longest time between two clock reads of the loop, sleeps
 *                        asked for excluded: how long the program was held up, as its
 *                        own monotonic clock saw it)
 *     checksum X        (of all TOTAL_MIB MiB: depends only on TOTAL_MIB and HOT_KIB)
 * so a migrated run's checksum line must equal a straight run's with the same sizes.
 *
 * Built for wasm32-wasi by bench/migrate.py (the same clang line as bench/run.py, plus a
 * small initial and a 2 GiB maximum memory); it is plain C11 and also builds natively. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PAGE        4096u
#define PAGE_WORDS  (PAGE / 8u)
#define CHECK_EVERY 64u

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The initial content of word i of the buffer: never zero. */
static uint64_t fill_value(uint64_t i)
{
    return ((i * 0x9e3779b97f4a7c15ull) ^ 0x5555555555555555ull) | 1u;
}

/* The value the loop writes into hot page p in its pass number `pass`. */
static uint64_t hot_value(uint32_t p, uint32_t pass)
{
    return ((uint64_t)pass << 32 | p) * 0xd6e8feb86659fd93ull | 2u;
}

/* The word of hot page p that the loop writes (spread over the page). */
static uint32_t hot_word(uint32_t p)
{
    return (p * 7u) % PAGE_WORDS;
}

static int parse(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && *out >= 0;
}

int main(int argc, char **argv)
{
    double total_mib, hot_kib, rate, seconds;
    if (argc != 5 || !parse(argv[1], &total_mib) || !parse(argv[2], &hot_kib) ||
        !parse(argv[3], &rate) || !parse(argv[4], &seconds)) {
        fprintf(stderr, "usage: dirty TOTAL_MIB HOT_KIB RATE_PAGES_PER_MS SECONDS\n");
        return 2;
    }
    uint64_t words = (uint64_t)total_mib * (1024u * 1024u / 8u);
    uint32_t hot_pages = (uint32_t)(hot_kib * 1024.0 / PAGE);
    if (words == 0 || (uint64_t)hot_pages * PAGE_WORDS > words) {
        fprintf(stderr, "dirty: need 0 < HOT_KIB <= TOTAL_MIB * 1024\n");
        return 2;
    }
    uint64_t *mem = aligned_alloc(PAGE, (size_t)words * 8u); /* page i = 4 KiB page */
    if (mem == NULL) {
        fprintf(stderr, "dirty: cannot allocate %.0f MiB\n", total_mib);
        return 1;
    }
    for (uint64_t i = 0; i < words; i++)
        mem[i] = fill_value(i);
    /* the hot set: whole pages in the middle of the buffer */
    uint64_t hot_first = (words / PAGE_WORDS - hot_pages) / 2 * PAGE_WORDS;
    uint64_t *hot = mem + hot_first;

    printf("ready\n");
    fflush(stdout);

    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
    uint64_t writes = 0, last = start, stall = 0;
    uint32_t pos = 0, pass = 0;
    if (hot_pages > 0) {
        for (;;) {
            for (uint32_t k = 0; k < CHECK_EVERY; k++) {
                hot[(uint64_t)pos * PAGE_WORDS + hot_word(pos)] = hot_value(pos, pass);
                if (++pos == hot_pages) {
                    pos = 0;
                    pass++;
                }
            }
            writes += CHECK_EVERY;
            uint64_t t = now_ns();
            if (t - last > stall)
                stall = t - last;
            last = t;
            if (t >= end)
                break;
            if (rate > 0) {
                uint64_t due = start + (uint64_t)((double)writes * 1e6 / rate);
                if (due > t) {
                    uint64_t wait = (due < end ? due : end) - t;
                    struct timespec ts = { (time_t)(wait / 1000000000u),
                                           (long)(wait % 1000000000u) };
                    nanosleep(&ts, NULL);
                    last = now_ns(); /* a sleep asked for is no stall */
                }
            }
        }
    }

    /* every hot page must hold what the loop wrote there last */
    uint64_t lost = 0;
    for (uint32_t p = 0; p < hot_pages; p++) {
        uint64_t i = (uint64_t)p * PAGE_WORDS + hot_word(p);
        uint64_t want;
        if (p < pos)
            want = hot_value(p, pass);
        else if (pass > 0)
            want = hot_value(p, pass - 1);
        else
            want = fill_value(hot_first + i);
        if (hot[i] != want)
            lost++;
        hot[i] = hot_value(p, 0xffffffffu);
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < words; i++)
        h = (h ^ mem[i]) * 0x100000001b3ull;
    printf("writes %llu\n", (unsigned long long)writes);
    printf("max_stall_us %llu\n", (unsigned long long)(stall / 1000u));
    printf("checksum %016llx\n", (unsigned long long)h);
    fflush(stdout);
    if (lost) {
        fprintf(stderr, "dirty: lost writes: %llu of %u hot pages do not hold their last value\n",
                (unsigned long long)lost, hot_pages);
        return 3;
    }
    return 0;
}
