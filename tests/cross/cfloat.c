/* SPDX-License-Identifier: MIT */
/* cfloat.c - a WASI program for the cross-restore matrix (tests/cross/cli.sh) whose output
 * shows float results bit for bit: sums and products rounded at every step, libm calls
 * (compiled into the module, so the same code on every host), conversions, and NaNs made by
 * arithmetic at run time (0/0, inf-inf), whose sign printf shows ("nan" or "-nan"). Hosts
 * disagree on that sign; waft makes it the same everywhere, before and after a move.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

int main(void)
{
    volatile double zero = 0.0, big = INFINITY;
    double sum = 0.0, prod = 1.0;
    float fsum = 0.0f;
    for (int i = 1; i <= 20000; i++) {
        double x = (double)i;
        sum += 1.0 / (x * x);
        prod *= 1.0 + 1.0 / (x * 1000.0);
        fsum += sqrtf((float)i) / (float)(i + 1);
        if (i % 2500 == 0) {
            double nan1 = zero / zero, nan2 = big - big;
            printf("%5d %.17g %.17g %.9g %f %f %016llx %.17g\n", i, sum, prod, (double)fsum, nan1,
                   nan2, (unsigned long long)bits(nan1 * x), sin(x) * exp(-x / 9000.0));
        }
    }
    printf("pi^2/6 - sum = %.6e\n", M_PI * M_PI / 6.0 - sum);
    return 0;
}
