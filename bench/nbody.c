// SPDX-License-Identifier: MIT
/* nbody.c - bench workload: double-precision floating point.
 *
 * A central mass and NBODY-1 bodies on near-circular orbits, integrated with a
 * symplectic Euler step for STEPS steps; prints the total energy before and after.
 * Built with -ffp-contract=off on every side so no multiply-add is fused. */
#include <math.h>
#include <stdio.h>

#define NBODY 8
#define STEPS 1500000

struct body {
    double x, y, z, vx, vy, vz, mass;
};

static double energy(const struct body *b, int n)
{
    double e = 0.0;

    for (int i = 0; i < n; i++) {
        e += 0.5 * b[i].mass * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < n; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].mass * b[j].mass / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static void advance(struct body *b, int n, double dt)
{
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * sqrt(d2));
            b[i].vx -= dx * b[j].mass * mag;
            b[i].vy -= dy * b[j].mass * mag;
            b[i].vz -= dz * b[j].mass * mag;
            b[j].vx += dx * b[i].mass * mag;
            b[j].vy += dy * b[i].mass * mag;
            b[j].vz += dz * b[i].mass * mag;
        }
    }
    for (int i = 0; i < n; i++) {
        b[i].x += dt * b[i].vx;
        b[i].y += dt * b[i].vy;
        b[i].z += dt * b[i].vz;
    }
}

int main(void)
{
    /* Directions from Pythagorean triples: exact in binary up to rounding of the division,
     * and no libm call other than sqrt (correctly rounded everywhere, unlike sin/cos). */
    static const double dir[NBODY - 1][2] = {
        { 3, 4 }, { -5, 12 }, { -8, -15 }, { 24, -7 }, { 20, 21 }, { -35, 12 }, { 9, -40 },
    };
    struct body b[NBODY];
    double px = 0.0, py = 0.0, pz = 0.0;

    b[0] = (struct body){ 0, 0, 0, 0, 0, 0, 40.0 };
    for (int i = 1; i < NBODY; i++) {
        double hyp = sqrt(dir[i - 1][0] * dir[i - 1][0] + dir[i - 1][1] * dir[i - 1][1]);
        double c = dir[i - 1][0] / hyp, s = dir[i - 1][1] / hyp;
        double r = 1.0 + 0.8 * i, speed = sqrt(b[0].mass / r);
        b[i].x = r * c;
        b[i].y = r * s;
        b[i].z = 0.01 * i;
        b[i].vx = -speed * s;
        b[i].vy = speed * c;
        b[i].vz = 0.001 * (i % 3);
        b[i].mass = 0.002 * i;
    }
    /* Give the central mass the opposite momentum, so the system's centre stays put. */
    for (int i = 1; i < NBODY; i++) {
        px += b[i].vx * b[i].mass;
        py += b[i].vy * b[i].mass;
        pz += b[i].vz * b[i].mass;
    }
    b[0].vx = -px / b[0].mass;
    b[0].vy = -py / b[0].mass;
    b[0].vz = -pz / b[0].mass;

    printf("nbody: energy before %.12f\n", energy(b, NBODY));
    for (int s = 0; s < STEPS; s++) {
        advance(b, NBODY, 0.001);
    }
    printf("nbody: energy after  %.12f\n", energy(b, NBODY));
    return 0;
}
