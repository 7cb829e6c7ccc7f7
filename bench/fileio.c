// SPDX-License-Identifier: MIT
/* fileio.c - bench workload: file I/O through stdio.
 *
 * In the current directory (a preopened directory under WASI): writes a text file
 * of LINES formatted lines with fprintf and a binary file of BLOCKS blocks with fwrite,
 * reads both back (fgets + sscanf, fread), checks them, removes them, and prints a
 * checksum of what was read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINES  300000
#define BLOCKS 4096
#define BLOCK  8192

static uint32_t next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state;
}

static int text_pass(uint64_t *sum)
{
    FILE *f = fopen("fileio-text.tmp", "w");
    uint32_t state = 1;
    char line[128];
    long n = 0;

    if (f == NULL) {
        return -1;
    }
    for (int i = 0; i < LINES; i++) {
        uint32_t a = next(&state) % 1000000u; /* two statements: argument order is unspecified */
        uint32_t b = next(&state);
        fprintf(f, "%d %u %08x\n", i, a, b);
    }
    if (fclose(f) != 0 || (f = fopen("fileio-text.tmp", "r")) == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned a, b;
        int i;
        if (sscanf(line, "%d %u %x", &i, &a, &b) != 3 || i != n) {
            fclose(f);
            return -1;
        }
        *sum = *sum * 1099511628211u + a + b;
        n++;
    }
    fclose(f);
    remove("fileio-text.tmp");
    return n == LINES ? 0 : -1;
}

static int binary_pass(uint64_t *sum)
{
    static unsigned char block[BLOCK];
    FILE *f = fopen("fileio-data.tmp", "wb");
    uint32_t state = 7;
    size_t got;
    long blocks = 0;

    if (f == NULL) {
        return -1;
    }
    for (int b = 0; b < BLOCKS; b++) {
        for (int i = 0; i < BLOCK; i += 4) {
            uint32_t v = next(&state);
            memcpy(block + i, &v, 4);
        }
        if (fwrite(block, 1, BLOCK, f) != BLOCK) {
            fclose(f);
            return -1;
        }
    }
    if (fclose(f) != 0 || (f = fopen("fileio-data.tmp", "rb")) == NULL) {
        return -1;
    }
    while ((got = fread(block, 1, BLOCK, f)) > 0) {
        for (size_t i = 0; i + 4 <= got; i += 64) {
            uint32_t v;
            memcpy(&v, block + i, 4);
            *sum = (*sum ^ v) * 1099511628211u;
        }
        blocks++;
    }
    fclose(f);
    remove("fileio-data.tmp");
    return blocks == BLOCKS ? 0 : -1;
}

int main(void)
{
    uint64_t text = 0, data = 0xcbf29ce484222325u;

    if (text_pass(&text) != 0 || binary_pass(&data) != 0) {
        fprintf(stderr, "fileio: read back differs or I/O failed\n");
        return 1;
    }
    printf("fileio: %d lines, %d KiB, checksums %016llx %016llx\n", LINES, BLOCKS * BLOCK / 1024,
           (unsigned long long)text, (unsigned long long)data);
    return 0;
}
