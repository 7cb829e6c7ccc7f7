/* SPDX-License-Identifier: MIT */
/* common.h - tiny check harness shared by the WASI test programs in tests/wasi/.
 *
 * Each program is built twice, for wasm32-wasi and natively, and must print the same bytes
 * in both builds where run.sh compares them: so output never contains errno numbers (they
 * differ between wasi-libc and glibc), inode numbers or times the program did not set.
 * CHECK prints a FAIL line and counts; finish() prints "NAME: N checks, N failed" and
 * returns the exit status (0 when nothing failed).
 */
#ifndef WAFT_TESTS_WASI_COMMON_H
#define WAFT_TESTS_WASI_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int checks_run;
static int checks_failed;

/* Symbolic name of an errno value, the same text on every libc. */
static const char *ename(int e)
{
    switch (e) {
    case 0:
        return "0";
    case EACCES:
        return "EACCES";
    case EAGAIN:
        return "EAGAIN";
    case EBADF:
        return "EBADF";
    case EBUSY:
        return "EBUSY";
    case EEXIST:
        return "EEXIST";
    case EFAULT:
        return "EFAULT";
    case EINVAL:
        return "EINVAL";
    case EIO:
        return "EIO";
    case EISDIR:
        return "EISDIR";
    case ELOOP:
        return "ELOOP";
    case EMFILE:
        return "EMFILE";
    case ENAMETOOLONG:
        return "ENAMETOOLONG";
    case ENOENT:
        return "ENOENT";
    case ENOSPC:
        return "ENOSPC";
    case ENOSYS:
        return "ENOSYS";
    case ENOTDIR:
        return "ENOTDIR";
    case ENOTEMPTY:
        return "ENOTEMPTY";
    case ENOTSUP:
        return "ENOTSUP";
    case EPERM:
        return "EPERM";
    case EPIPE:
        return "EPIPE";
    case ESPIPE:
        return "ESPIPE";
    case EXDEV:
        return "EXDEV";
    case EILSEQ:
        return "EILSEQ";
#ifdef ENOTCAPABLE
    case ENOTCAPABLE:
        return "ENOTCAPABLE";
#endif
    default:
        return "E?";
    }
}

static void check_at(int ok, const char *what, const char *file, int line)
{
    int saved = errno;
    checks_run++;
    if (!ok) {
        checks_failed++;
        printf("FAIL %s:%d: %s (errno %s)\n", file, line, what, ename(saved));
        fflush(stdout);
    }
    errno = saved;
}

#define CHECK(cond) check_at((cond) != 0, #cond, __FILE__, __LINE__)

static int finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, checks_run, checks_failed);
    return checks_failed ? 1 : 0;
}

#endif
