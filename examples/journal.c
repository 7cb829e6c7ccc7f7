/* SPDX-License-Identifier: MIT */
/* journal.c - the demo's WASI program: it reads a text from standard input, counts its
 * words while writing a journal file line by line, and prints a summary. Its state at any
 * moment (memory, call stack, the half-written journal, the position in its input) is what
 * `waft run --checkpoint-at-step` saves and `waft restore` brings back.
 *
 *   usage: journal OUTPUT   (in a directory the program may write to)
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BUCKETS 4096

static char words[BUCKETS][24];
static uint32_t counts[BUCKETS];

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: journal OUTPUT\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    char word[24];
    size_t len = 0, total = 0, distinct = 0;
    int c;
    while ((c = getchar()) != EOF) {
        if (isalpha(c) && len < sizeof word - 1) {
            word[len++] = (char)tolower(c);
            continue;
        }
        if (len == 0)
            continue;
        word[len] = 0;
        len = 0;
        uint32_t h = hash(word) % BUCKETS;
        while (counts[h] && strcmp(words[h], word) != 0)
            h = (h + 1) % BUCKETS;
        if (!counts[h]++) {
            strcpy(words[h], word);
            distinct++;
        }
        if (++total % 500 == 0)
            fprintf(out, "after %zu words: %zu distinct\n", total, distinct);
    }
    fclose(out);
    size_t best = 0;
    for (size_t i = 0; i < BUCKETS; i++)
        if (counts[i] > counts[best])
            best = i;
    printf("%zu words, %zu distinct, most frequent: \"%s\" (%u times)\n", total, distinct,
           words[best], counts[best]);
    return 0;
}
