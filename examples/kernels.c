/* SPDX-License-Identifier: MIT */
/* kernels.c - three small CPU-bound programs for the waft demo (examples/demo.sh).
 *
 * Freestanding: no libc and no headers, so the same file compiles to wasm32 with
 * `clang --target=wasm32 -nostdlib` and natively with gcc, and the demo checks that both
 * builds give the same results. Integer results wrap modulo 2^32 the same way on both;
 * floating-point code keeps a fixed order of operations (built with -ffp-contract=off).
 *
 *   mandel_checksum(size)  hash of the escape counts of a size x size Mandelbrot image
 *   sieve_count(limit)     number of primes below limit (limit <= SIEVE_MAX)
 *   nbody_energy(steps)    energy of a 5-body solar system after `steps` steps
 */

#define MAX_ITER  255
#define SIEVE_MAX (1 << 22)

int mandel_checksum(int size);
int sieve_count(int limit);
double nbody_energy(int steps);

/* ==== Mandelbrot ==== */

int mandel_checksum(int size)
{
    unsigned int hash = 2166136261u; /* FNV-1a over the escape counts */

    for (int y = 0; y < size; y++) {
        double ci = -1.25 + 2.5 * y / size;
        for (int x = 0; x < size; x++) {
            double cr = -2.0 + 2.5 * x / size;
            double zr = 0.0, zi = 0.0;
            int i = 0;
            while (i < MAX_ITER && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                i++;
            }
            hash = (hash ^ (unsigned int)i) * 16777619u;
        }
    }
    return (int)(hash & 0x7fffffffu); /* positive, so no implementation-defined cast */
}

/* ==== Sieve of Eratosthenes ==== */

static unsigned char composite[SIEVE_MAX];

int sieve_count(int limit)
{
    int count = 0;

    if (limit > SIEVE_MAX)
        limit = SIEVE_MAX;
    /* Clearing byte by byte: a memset call would need a libc. */
    for (int i = 0; i < limit; i++)
        composite[i] = (unsigned char)(i < 2);
    for (int i = 2; i < limit; i++) {
        if (composite[i])
            continue;
        count++;
        for (long long j = (long long)i * i; j < limit; j += i)
            composite[j] = 1;
    }
    return count;
}

/* ==== N-body ==== */

/* Units: astronomical units, years, and G = 1, so a sun of mass 4*pi^2 gives a body in a
 * circular orbit of radius r the speed 2*pi/sqrt(r). Four planets start on the axes, each
 * on a circular orbit around the sun, slightly tilted so that the problem is 3-D. */
#define PI         3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define NBODIES    5

struct body {
    double x, y, z, vx, vy, vz, mass;
};

/* Orbit radius, mass (in solar masses) and where each planet starts: position
 * (r*dx, r*dy, tilt) with velocity direction (-dy, dx, 0). */
static const struct {
    double r, mass, dx, dy, tilt;
} planets[NBODIES - 1] = {
    { 1.0, 3.0e-6, 1, 0, 0.0 },
    { 5.2, 9.5e-4, 0, 1, 0.1 },
    { 9.5, 2.9e-4, -1, 0, -0.2 },
    { 19.2, 4.4e-5, 0, -1, 0.3 },
};

static double energy(const struct body *b)
{
    double e = 0.0;

    for (int i = 0; i < NBODIES; i++) {
        e += 0.5 * b[i].mass * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < NBODIES; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].mass * b[j].mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

double nbody_energy(int steps)
{
    const double dt = 0.01;
    struct body b[NBODIES];
    double px = 0.0, py = 0.0, pz = 0.0;

    for (int i = 0; i < NBODIES; i++) {
        double r = i == 0 ? 0.0 : planets[i - 1].r;
        double dx = i == 0 ? 0.0 : planets[i - 1].dx, dy = i == 0 ? 0.0 : planets[i - 1].dy;
        double v = i == 0 ? 0.0 : 2 * PI / __builtin_sqrt(r);
        b[i].x = r * dx;
        b[i].y = r * dy;
        b[i].z = i == 0 ? 0.0 : planets[i - 1].tilt;
        b[i].vx = -v * dy;
        b[i].vy = v * dx;
        b[i].vz = 0.0;
        b[i].mass = i == 0 ? SOLAR_MASS : planets[i - 1].mass * SOLAR_MASS;
    }
    for (int i = 0; i < NBODIES; i++) {
        px += b[i].vx * b[i].mass;
        py += b[i].vy * b[i].mass;
        pz += b[i].vz * b[i].mass;
    }
    b[0].vx = -px / SOLAR_MASS; /* move to the centre-of-momentum frame */
    b[0].vy = -py / SOLAR_MASS;
    b[0].vz = -pz / SOLAR_MASS;

    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < NBODIES; i++) {
            for (int j = i + 1; j < NBODIES; j++) {
                double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * __builtin_sqrt(d2));
                b[i].vx -= dx * b[j].mass * mag;
                b[i].vy -= dy * b[j].mass * mag;
                b[i].vz -= dz * b[j].mass * mag;
                b[j].vx += dx * b[i].mass * mag;
                b[j].vy += dy * b[i].mass * mag;
                b[j].vz += dz * b[i].mass * mag;
            }
        }
        for (int i = 0; i < NBODIES; i++) {
            b[i].x += dt * b[i].vx;
            b[i].y += dt * b[i].vy;
            b[i].z += dt * b[i].vz;
        }
    }
    return energy(b);
}
