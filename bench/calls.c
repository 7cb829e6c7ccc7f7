// SPDX-License-Identifier: MIT
/* calls.c - bench workload: call-heavy recursion.
 *
 * Naive Fibonacci, Ackermann and Takeuchi functions: almost nothing but calls, returns
 * and a compare per call. The functions are marked noinline and the arguments come from
 * argc so the compiler cannot fold them. */
#include <stdint.h>
#include <stdio.h>

#define NOINLINE __attribute__((noinline))

NOINLINE static int64_t fib(int32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

NOINLINE static int32_t ackermann(int32_t m, int32_t n)
{
    if (m == 0) {
        return n + 1;
    }
    if (n == 0) {
        return ackermann(m - 1, 1);
    }
    return ackermann(m - 1, ackermann(m, n - 1));
}

NOINLINE static int32_t tak(int32_t x, int32_t y, int32_t z)
{
    if (y >= x) {
        return z;
    }
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

int main(int argc, char **argv)
{
    int32_t base = argc > 1 ? 0 : 1; /* always 1 here; unknown to the compiler */

    (void)argv;
    int64_t f = fib(36 + base);
    int32_t a = ackermann(2 + base, 8 + base);
    int32_t t = tak(29 + base, 19 + base, 9 + base);
    printf("calls: fib(%d) = %lld, ackermann(%d, %d) = %d, tak(%d, %d, %d) = %d\n", 36 + base,
           (long long)f, 2 + base, 8 + base, a, 29 + base, 19 + base, 9 + base, t);
    return 0;
}
