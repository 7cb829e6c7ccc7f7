/* SPDX-License-Identifier: MIT */
/* poll.c - waiting: poll() with a timeout on a pipe that stays silent, then on data that
 * arrives later, on a regular file (always ready), and several descriptors at once.
 * run.sh feeds stdin from `(sleep 1; echo late) |`. Output matches the native build.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(void)
{
    struct pollfd p[3];
    char buf[64];

    /* nothing to read yet: times out after about 200 ms */
    p[0].fd = 0;
    p[0].events = POLLIN;
    p[0].revents = 0;
    int64_t t0 = ms_now();
    int r = poll(p, 1, 200);
    int64_t waited = ms_now() - t0;
    CHECK(r == 0);
    CHECK(waited >= 200 && waited < 900);
    printf("timeout: %d ready\n", r);

    /* a regular file is always ready, for reading and writing */
    int fd = open("f.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "abc", 3) == 3);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    p[0].fd = fd;
    p[0].events = POLLIN | POLLOUT;
    p[0].revents = 0;
    r = poll(p, 1, 5000);
    CHECK(r == 1 && (p[0].revents & POLLIN) && (p[0].revents & POLLOUT));
    printf("file: %d ready\n", r);

    /* stdin and the file together: the file is ready at once, stdin is not */
    p[0].fd = 0;
    p[0].events = POLLIN;
    p[0].revents = 0;
    p[1].fd = fd;
    p[1].events = POLLIN;
    p[1].revents = 0;
    r = poll(p, 2, 5000);
    CHECK(r == 1 && p[0].revents == 0 && (p[1].revents & POLLIN));
    printf("mixed: %d ready\n", r);

    /* the data arrives within a few seconds */
    p[0].fd = 0;
    p[0].events = POLLIN;
    p[0].revents = 0;
    t0 = ms_now();
    r = poll(p, 1, 10000);
    CHECK(r == 1 && (p[0].revents & POLLIN));
    CHECK(ms_now() - t0 < 9000);
    ssize_t n = read(0, buf, sizeof buf - 1);
    CHECK(n == 5);
    buf[n > 0 ? n : 0] = '\0';
    printf("late data: %s", buf);
    /* end of the pipe: readable (hang-up), read returns 0 */
    r = poll(p, 1, 10000);
    CHECK(r == 1 && (p[0].revents & (POLLIN | POLLHUP)));
    CHECK(read(0, buf, sizeof buf) == 0);
    /* an invalid descriptor is reported, not waited for */
    p[0].fd = 77;
    p[0].events = POLLIN;
    p[0].revents = 0;
    r = poll(p, 1, 1000);
    CHECK(r == 1 && (p[0].revents & POLLNVAL));
    close(fd);
    return finish("poll");
}
