/* SPDX-License-Identifier: MIT */
/* ckprog.c - a WASI program whose open state must survive checkpoints at any step: a file
 * mid-write, a file mid-read, a file in append mode, a directory half-read, the monotonic
 * clock across the gap, deep recursion, standard input read in pieces, an exit code.
 *
 *   usage: ckprog   (in a directory holding in/data.txt and in/dir/, created by
 *                    tests/ckpt/run.sh; writes out/log.txt and out/app.txt)
 * Prints what it saw; the harness compares everything with a run that never stopped.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t last_ns;
static int clock_backwards;

/* The monotonic clock must never go back, across any number of restores. */
static void tick(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (ns < last_ns)
        clock_backwards++;
    last_ns = ns;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 16777619u;
    return h ^ (h >> 13);
}

/* Deep recursion with work at every level. */
static uint32_t deep(int n, uint32_t h)
{
    if (n == 0)
        return h;
    uint32_t x = deep(n - 1, mix(h, (uint32_t)n));
    return mix(x, (uint32_t)n * 2654435761u);
}

int main(void)
{
    tick();
    /* a file written line by line, with work between writes */
    int log = open("out/log.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int app = open("out/app.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = open("in/data.txt", O_RDONLY);
    if (log < 0 || app < 0 || in < 0) {
        perror("open");
        return 1;
    }
    uint32_t h = 2166136261u;
    char buf[64];
    for (int i = 0; i < 300; i++) {
        for (int k = 0; k < 2000; k++)
            h = mix(h, (uint32_t)(i * k));
        int n = snprintf(buf, sizeof buf, "line %d %08x\n", i, (unsigned)h);
        if (write(log, buf, (size_t)n) != n)
            return 2;
        /* read the input 7 bytes at a time, between writes */
        char r[7];
        ssize_t got = read(in, r, sizeof r);
        for (ssize_t k = 0; k < got; k++)
            h = mix(h, (uint8_t)r[k]);
        if (i % 10 == 0) {
            n = snprintf(buf, sizeof buf, "append %d\n", i);
            if (write(app, buf, (size_t)n) != n)
                return 3;
        }
        tick();
    }
    /* a directory read half, then work, then the rest */
    DIR *d = opendir("in/dir");
    if (!d)
        return 4;
    int count = 0;
    struct dirent *e;
    while (count < 25 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        printf("entry %s\n", e->d_name);
        count++;
    }
    h = deep(3000, h);
    tick();
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        printf("entry %s\n", e->d_name);
        count++;
    }
    closedir(d);
    /* standard input, in pieces */
    uint64_t stdin_sum = 0;
    int c;
    while ((c = getchar()) != EOF) {
        stdin_sum = stdin_sum * 31 + (unsigned)c;
        if ((stdin_sum & 1023) == 7)
            h = deep(50, h);
    }
    tick();
    close(log);
    close(app);
    close(in);
    printf("entries %d\nhash %08x\nstdin %016llx\nclock %s\n", count, (unsigned)h,
           (unsigned long long)stdin_sum, clock_backwards ? "WENT BACKWARDS" : "monotonic");
    fprintf(stderr, "ckprog: done\n");
    return clock_backwards ? 9 : 3;
}
