/* SPDX-License-Identifier: MIT */
/* clocks.c - clocks and randomness: monotonic time never goes back, resolutions, realtime
 * is plausible, CPU time advances with work, sleeping lasts at least as asked, and random
 * bytes are random. Prints only verdicts, so the native build prints the same.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "common.h"

#include <stdint.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void monotonic(void)
{
    int64_t prev = ns(CLOCK_MONOTONIC), backwards = 0;
    for (int i = 0; i < 20000; i++) {
        int64_t now = ns(CLOCK_MONOTONIC);
        if (now < prev)
            backwards++;
        prev = now;
    }
    CHECK(prev > 0);
    CHECK(backwards == 0);
    struct timespec res;
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    CHECK(clock_getres(CLOCK_REALTIME, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0);
    printf("monotonic: ok\n");
}

static void realtime(void)
{
    int64_t now = ns(CLOCK_REALTIME);
    CHECK(now > (int64_t)1577836800 * 1000000000); /* after 2020-01-01 */
    CHECK(now < (int64_t)4102444800 * 1000000000); /* before 2100-01-01 */
    time_t t = time(NULL);
    CHECK(t > 1577836800);
    printf("realtime: ok\n");
}

static void cputime(void)
{
    volatile uint32_t x = 1;
    int64_t p0 = ns(CLOCK_PROCESS_CPUTIME_ID), t0 = ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t m0 = ns(CLOCK_MONOTONIC);
    /* burn at least 20 ms of CPU */
    while (ns(CLOCK_MONOTONIC) - m0 < 20000000)
        for (int i = 0; i < 10000; i++)
            x = x * 1664525u + 1013904223u;
    int64_t p1 = ns(CLOCK_PROCESS_CPUTIME_ID), t1 = ns(CLOCK_THREAD_CPUTIME_ID);
    CHECK(p0 >= 0 && t0 >= 0);
    CHECK(p1 > p0);
    CHECK(t1 > t0);
    printf("cputime: ok\n");
}

static void sleeping(void)
{
    int64_t t0 = ns(CLOCK_MONOTONIC);
    struct timespec req = { 0, 30000000 }; /* 30 ms */
    CHECK(nanosleep(&req, NULL) == 0);
    int64_t t1 = ns(CLOCK_MONOTONIC);
    CHECK(t1 - t0 >= 30000000);
    CHECK(t1 - t0 < 3000000000); /* and not wildly more */
    CHECK(usleep(10000) == 0);
    CHECK(ns(CLOCK_MONOTONIC) - t1 >= 10000000);
    printf("sleeping: ok\n");
}

static void randomness(void)
{
    unsigned char a[256], b[256];
    int zeros = 0, same = 0, hist[256] = { 0 };
    CHECK(getentropy(a, sizeof a) == 0);
    CHECK(getentropy(b, sizeof b) == 0);
    for (int i = 0; i < 256; i++) {
        zeros += a[i] == 0;
        same += a[i] == b[i];
        hist[a[i]]++;
    }
    CHECK(zeros < 16);
    CHECK(same < 16);
    int max = 0;
    for (int i = 0; i < 256; i++)
        max = hist[i] > max ? hist[i] : max;
    CHECK(max < 12);
    CHECK(getentropy(a, 0) == 0);
    printf("random: ok\n");
}

int main(void)
{
    monotonic();
    realtime();
    cputime();
    sleeping();
    randomness();
    return finish("clocks");
}
