/* SPDX-License-Identifier: MIT */
/* bigmem.c - for the crash-safety test: fills MIB mebibytes of memory, prints a digest,
 * then waits on standard input (so a checkpoint has a big image to write).
 *
 *   usage: bigmem MIB
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    size_t n = (size_t)(argc > 1 ? atoi(argv[1]) : 64) << 20;
    uint8_t *p = malloc(n);
    if (!p)
        return 1;
    uint64_t h = 1;
    for (size_t i = 0; i < n; i++) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(h >> 56);
    }
    printf("filled %zu bytes\n", n);
    fflush(stdout);
    int c, lines = 0;
    while ((c = getchar()) != EOF)
        lines += c == '\n';
    uint64_t d = 0;
    for (size_t i = 0; i < n; i += 4096)
        d = d * 31 + p[i];
    printf("lines %d digest %016llx\n", lines, (unsigned long long)d);
    return 0;
}
