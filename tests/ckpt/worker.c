/* SPDX-License-Identifier: MIT */
/* worker.c - for the trigger tests: a compute phase of about a second or two (ROUNDS),
 * then it echoes standard input line by line (blocking reads), then a final compute phase.
 * Prints deterministic results only, so any checkpoint and restore must give the same
 * output as a straight run.
 *
 *   usage: worker ROUNDS
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t work(uint64_t seed, long rounds)
{
    uint64_t h = seed;
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < 1000; k++)
            h = (h ^ (uint64_t)k) * 0x100000001b3ull + (h >> 29);
    return h;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 1000;
    uint64_t h = work(1469598103934665603ull, rounds);
    printf("phase 1: %016llx\n", (unsigned long long)h);
    fflush(stdout);
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, stdin)) {
        printf("got %d: %s", ++n, line);
        fflush(stdout);
        h = work(h, 10);
    }
    h = work(h, rounds);
    printf("phase 2: %016llx after %d lines\n", (unsigned long long)h, n);
    return 0;
}
