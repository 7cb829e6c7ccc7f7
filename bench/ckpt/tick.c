/* SPDX-License-Identifier: MIT */
/* tick.c - the guest of bench/ckpt_cli.py: a program with S MiB of live data that keeps
 * printing, as a new user's long-running job would.
 *
 *   usage: tick MIB TICKS
 *
 * Fills MIB MiB with pseudo-random bytes (no page is zero, none compresses), prints
 * "ready MIB" (flushed), then every 10 ms prints "tick N X" (X: a word of the data, so the
 * data must be intact), TICKS times (-1: until killed), and exits 0. Built for wasm32-wasi
 * by bench/ckpt_cli.py; plain C11, it also builds natively. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tick MIB TICKS\n");
        return 2;
    }
    long mib = atol(argv[1]), ticks = atol(argv[2]);
    size_t words = (size_t)mib * (1u << 20) / 8;
    uint64_t *data = words ? malloc(words * 8) : NULL;
    if (words && !data) {
        fprintf(stderr, "tick: out of memory\n");
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < words; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = x | 1;
    }
    printf("ready %ld\n", mib);
    fflush(stdout);
    struct timespec pause = { 0, 10 * 1000 * 1000 };
    for (long n = 1; ticks < 0 || n <= ticks; n++) {
        nanosleep(&pause, NULL);
        uint64_t w = words ? data[((size_t)n * 7919u) % words] : 0;
        printf("tick %ld %016llx\n", n, (unsigned long long)w);
        fflush(stdout);
    }
    free(data);
    return 0;
}
