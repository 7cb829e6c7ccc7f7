/* SPDX-License-Identifier: MIT */
/* fdops.c - descriptor-level operations: renumbering (dup2 natively, fd_renumber under
 * WASI), descriptor flags, non-blocking reads on an empty pipe, and closed descriptors.
 * run.sh gives it stdin from `sleep 2 |` (a pipe with no data yet). Output matches the
 * native build.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "common.h"

#include <fcntl.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

/* Makes `to` refer to what `from` refers to and closes `from` (both must be open). */
static int renumber(int from, int to)
{
#ifdef __wasi__
    return __wasi_fd_renumber((__wasi_fd_t)from, (__wasi_fd_t)to) == 0 ? 0 : -1;
#else
    if (fcntl(to, F_GETFD) < 0) /* fd_renumber wants `to` open too */
        return -1;
    if (dup2(from, to) < 0)
        return -1;
    return close(from);
#endif
}

static void renumbering(void)
{
    char buf[16];
    int a = open("a.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int b = open("b.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(a >= 0 && b >= 0);
    CHECK(write(a, "AAAA", 4) == 4);
    CHECK(write(b, "B", 1) == 1);
    CHECK(renumber(a, b) == 0);
    CHECK(write(a, "x", 1) == -1 && errno == EBADF); /* `a` is gone */
    CHECK(lseek(b, 0, SEEK_CUR) == 4);               /* `b` is the old `a`, offset kept */
    CHECK(write(b, "Z", 1) == 1);
    CHECK(pread(b, buf, 5, 0) == 5 && memcmp(buf, "AAAAZ", 5) == 0);
    int c = open("b.txt", O_RDONLY);
    CHECK(c >= 0 && read(c, buf, 16) == 1 && buf[0] == 'B'); /* b.txt was left alone */
    /* the lowest free number is reused */
    CHECK(c == a);
    CHECK(close(c) == 0);
    CHECK(renumber(b, 1000) == -1);
    CHECK(renumber(1000, b) == -1 && errno == EBADF);
    CHECK(close(b) == 0);
    printf("renumber: ok\n");
}

static void flags(void)
{
    int fd = open("c.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
    CHECK(fd >= 0);
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0 && (fl & O_APPEND) && (fl & O_ACCMODE) == O_WRONLY);
    CHECK(fcntl(fd, F_SETFL, fl & ~O_APPEND) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_APPEND) == 0);
    CHECK(fcntl(fd, F_GETFD) >= 0);
    CHECK(close(fd) == 0);
    CHECK(fcntl(fd, F_GETFL) == -1 && errno == EBADF);
    fd = open("c.txt", O_RDONLY);
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    CHECK(write(fd, "x", 1) == -1 && errno == EBADF);
    close(fd);
    fd = open("c.txt", O_RDWR);
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    close(fd);
    printf("flags: ok\n");
}

static void nonblocking(void)
{
    char c;
    int fl = fcntl(0, F_GETFL);
    CHECK(fl >= 0);
    CHECK(fcntl(0, F_SETFL, fl | O_NONBLOCK) == 0);
    CHECK((fcntl(0, F_GETFL) & O_NONBLOCK) != 0);
    CHECK(read(0, &c, 1) == -1 && errno == EAGAIN); /* nothing in the pipe yet */
    CHECK(fcntl(0, F_SETFL, fl) == 0);
    printf("nonblocking: ok\n");
}

int main(void)
{
    renumbering();
    flags();
    nonblocking();
    return finish("fdops");
}
