// SPDX-License-Identifier: MIT
/* sieve.c - bench workload: integer arithmetic and branches.
 *
 * A sieve of Eratosthenes over a byte array, run ROUNDS times; prints the number of
 * primes below LIMIT and a checksum mixed from every round's primes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT  4000000u
#define ROUNDS 30

int main(void)
{
    unsigned char *composite = malloc(LIMIT);
    uint64_t checksum = 0;
    uint32_t count = 0;

    if (composite == NULL) {
        return 1;
    }
    for (uint32_t round = 0; round < ROUNDS; round++) {
        memset(composite, 0, LIMIT);
        count = 0;
        for (uint32_t i = 2; i < LIMIT; i++) {
            if (composite[i]) {
                continue;
            }
            count++;
            checksum = checksum * 31u + (i ^ round);
            for (uint64_t j = (uint64_t)i * i; j < LIMIT; j += i) {
                composite[j] = 1;
            }
        }
    }
    printf("sieve: %u primes below %u, checksum %016llx\n", count, LIMIT,
           (unsigned long long)checksum);
    free(composite);
    return 0;
}
