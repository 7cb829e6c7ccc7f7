/* SPDX-License-Identifier: MIT */
/* native_main.c - runs one function of kernels.c natively and prints its result the way
 * `waft run --invoke` does (i32 as signed decimal, f64 with %.17g), for examples/demo.sh.
 *
 *   usage: kernels-native FUNCTION ARG
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mandel_checksum(int size);
int sieve_count(int limit);
double nbody_energy(int steps);

int main(int argc, char **argv)
{
    int arg;

    if (argc != 3) {
        fprintf(stderr, "usage: %s FUNCTION ARG\n", argv[0]);
        return 2;
    }
    arg = atoi(argv[2]);
    if (strcmp(argv[1], "mandel_checksum") == 0)
        printf("%d\n", mandel_checksum(arg));
    else if (strcmp(argv[1], "sieve_count") == 0)
        printf("%d\n", sieve_count(arg));
    else if (strcmp(argv[1], "nbody_energy") == 0)
        printf("%.17g\n", nbody_energy(arg));
    else {
        fprintf(stderr, "%s: unknown function %s\n", argv[0], argv[1]);
        return 2;
    }
    return 0;
}
