// SPDX-License-Identifier: MIT
/* matmul.c - bench workload: dense matrix multiply (doubles, row-major, i-k-j order).
 *
 * C = A * B for N x N matrices, ROUNDS times with B changing between rounds; prints
 * the trace and the sum of C. Every element is accumulated in the same order on every
 * side (k ascending), so the result is bit-identical whatever the compiler vectorizes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N      256
#define ROUNDS 50

int main(void)
{
    double *a = malloc(sizeof(double) * N * N);
    double *b = malloc(sizeof(double) * N * N);
    double *c = malloc(sizeof(double) * N * N);
    double trace = 0.0, sum = 0.0;

    if (a == NULL || b == NULL || c == NULL) {
        return 1;
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            a[i * N + j] = (double)((i * 7 + j * 3) % 17) / 16.0 - 0.5;
            b[i * N + j] = (double)((i * 5 + j * 11) % 13) / 12.0 - 0.25;
        }
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < N * N; i++) {
            c[i] = 0.0;
        }
        for (int i = 0; i < N; i++) {
            for (int k = 0; k < N; k++) {
                double aik = a[i * N + k];
                const double *brow = b + k * N;
                double *crow = c + i * N;
                for (int j = 0; j < N; j++) {
                    crow[j] += aik * brow[j];
                }
            }
        }
        for (int i = 0; i < N; i++) {
            trace += c[i * N + i];
        }
        /* Feed the result back, scaled by a power of two to keep it in [-1, 1] without
         * rounding, so no round can be skipped and no value drifts to a denormal. */
        double top = 0.0, scale = 1.0;
        for (int i = 0; i < N * N; i++) {
            double v = c[i] < 0 ? -c[i] : c[i];
            top = v > top ? v : top;
        }
        while (top * scale > 1.0) {
            scale *= 0.5;
        }
        while (top > 0.0 && top * scale <= 0.5) {
            scale *= 2.0;
        }
        for (int i = 0; i < N * N; i++) {
            b[i] = c[i] * scale;
        }
    }
    for (int i = 0; i < N * N; i++) {
        sum += c[i];
    }
    printf("matmul: %dx%d x%d, trace %.9e, sum %.9e\n", N, N, ROUNDS, trace, sum);
    free(a);
    free(b);
    free(c);
    return 0;
}
