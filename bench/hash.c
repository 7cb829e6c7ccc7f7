// SPDX-License-Identifier: MIT
/* hash.c - bench workload: byte-at-a-time hashing over a large buffer.
 *
 * Fills SIZE bytes from an xorshift generator, then hashes them with FNV-1a (64-bit)
 * and a table-driven CRC-32 (the reflected 0xEDB88320 polynomial), ROUNDS times with
 * one byte changed between rounds; prints both results. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SIZE   (8u << 20)
#define ROUNDS 10

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[i] = c;
    }
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3u;
    }
    return h;
}

int main(void)
{
    unsigned char *buf = malloc(SIZE);
    uint64_t x = 0x9E3779B97F4A7C15u, fnv = 0;
    uint32_t crc = 0;

    if (buf == NULL) {
        return 1;
    }
    for (size_t i = 0; i < SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)(x >> 56);
    }
    crc_init();
    for (int round = 0; round < ROUNDS; round++) {
        buf[(size_t)round * 4099u % SIZE] ^= 0x5A;
        fnv ^= fnv1a(buf, SIZE);
        crc ^= crc32(buf, SIZE);
    }
    printf("hash: %u MiB x%d, fnv1a %016llx, crc32 %08x\n", SIZE >> 20, ROUNDS,
           (unsigned long long)fnv, crc);
    free(buf);
    return 0;
}
