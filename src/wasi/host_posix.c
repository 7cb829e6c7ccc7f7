/* SPDX-License-Identifier: MIT */
/* host_posix.c - the default wasi_host: the operating system through POSIX calls, plus
 * openat2(2) on Linux when the kernel has it.
 *
 * Invariants:
 *  - Every operation returns 0 or a WASI errno (wasi_posix_errno); none leaves errno
 *    meaningful to its caller.
 *  - Descriptors it creates are close-on-exec; it never follows a symbolic link in a
 *    `name` argument (O_NOFOLLOW / AT_SYMLINK_NOFOLLOW), so the sandbox in sandbox.c only
 *    has to reason about the directories it hands in.
 *  - EINTR is retried inside every call except poll, which reports it.
 *  - No state besides the wasi_posix passed as `ud` (whether openat2 works).
 */
#define _FILE_OFFSET_BITS 64 /* 64-bit off_t on 32-bit hosts too */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* O_PATH; every use has a fallback under #ifdef O_PATH */
#endif

#include "wasi/wasi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/random.h>
#include <sys/syscall.h>
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* ==== Errors ==== */

/* Host errno -> WASI errno. A table rather than a switch: some hosts give two names the
 * same value (EAGAIN/EWOULDBLOCK, ENOTSUP/EOPNOTSUPP), which a switch cannot list twice. */
static const struct {
    int host;
    uint16_t wasi;
} errno_map[] = {
    { E2BIG, WASI_E2BIG },
    { EACCES, WASI_EACCES },
    { EADDRINUSE, WASI_EADDRINUSE },
    { EADDRNOTAVAIL, WASI_EADDRNOTAVAIL },
    { EAFNOSUPPORT, WASI_EAFNOSUPPORT },
    { EAGAIN, WASI_EAGAIN },
    { EWOULDBLOCK, WASI_EAGAIN },
    { EALREADY, WASI_EALREADY },
    { EBADF, WASI_EBADF },
    { EBADMSG, WASI_EBADMSG },
    { EBUSY, WASI_EBUSY },
    { ECANCELED, WASI_ECANCELED },
    { ECHILD, WASI_ECHILD },
    { ECONNABORTED, WASI_ECONNABORTED },
    { ECONNREFUSED, WASI_ECONNREFUSED },
    { ECONNRESET, WASI_ECONNRESET },
    { EDEADLK, WASI_EDEADLK },
    { EDESTADDRREQ, WASI_EDESTADDRREQ },
    { EDOM, WASI_EDOM },
    { EDQUOT, WASI_EDQUOT },
    { EEXIST, WASI_EEXIST },
    { EFAULT, WASI_EFAULT },
    { EFBIG, WASI_EFBIG },
    { EHOSTUNREACH, WASI_EHOSTUNREACH },
    { EIDRM, WASI_EIDRM },
    { EILSEQ, WASI_EILSEQ },
    { EINPROGRESS, WASI_EINPROGRESS },
    { EINTR, WASI_EINTR },
    { EINVAL, WASI_EINVAL },
    { EIO, WASI_EIO },
    { EISCONN, WASI_EISCONN },
    { EISDIR, WASI_EISDIR },
    { ELOOP, WASI_ELOOP },
    { EMFILE, WASI_EMFILE },
    { EMLINK, WASI_EMLINK },
    { EMSGSIZE, WASI_EMSGSIZE },
#ifdef EMULTIHOP
    { EMULTIHOP, WASI_EMULTIHOP },
#endif
    { ENAMETOOLONG, WASI_ENAMETOOLONG },
    { ENETDOWN, WASI_ENETDOWN },
    { ENETRESET, WASI_ENETRESET },
    { ENETUNREACH, WASI_ENETUNREACH },
    { ENFILE, WASI_ENFILE },
    { ENOBUFS, WASI_ENOBUFS },
    { ENODEV, WASI_ENODEV },
    { ENOENT, WASI_ENOENT },
    { ENOEXEC, WASI_ENOEXEC },
    { ENOLCK, WASI_ENOLCK },
#ifdef ENOLINK
    { ENOLINK, WASI_ENOLINK },
#endif
    { ENOMEM, WASI_ENOMEM },
    { ENOMSG, WASI_ENOMSG },
    { ENOPROTOOPT, WASI_ENOPROTOOPT },
    { ENOSPC, WASI_ENOSPC },
    { ENOSYS, WASI_ENOSYS },
    { ENOTCONN, WASI_ENOTCONN },
    { ENOTDIR, WASI_ENOTDIR },
    { ENOTEMPTY, WASI_ENOTEMPTY },
#ifdef ENOTRECOVERABLE
    { ENOTRECOVERABLE, WASI_ENOTRECOVERABLE },
#endif
    { ENOTSOCK, WASI_ENOTSOCK },
    { ENOTSUP, WASI_ENOTSUP },
    { EOPNOTSUPP, WASI_ENOTSUP },
    { ENOTTY, WASI_ENOTTY },
    { ENXIO, WASI_ENXIO },
    { EOVERFLOW, WASI_EOVERFLOW },
#ifdef EOWNERDEAD
    { EOWNERDEAD, WASI_EOWNERDEAD },
#endif
    { EPERM, WASI_EPERM },
    { EPIPE, WASI_EPIPE },
    { EPROTO, WASI_EPROTO },
    { EPROTONOSUPPORT, WASI_EPROTONOSUPPORT },
    { EPROTOTYPE, WASI_EPROTOTYPE },
    { ERANGE, WASI_ERANGE },
    { EROFS, WASI_EROFS },
    { ESPIPE, WASI_ESPIPE },
    { ESRCH, WASI_ESRCH },
    { ESTALE, WASI_ESTALE },
    { ETIMEDOUT, WASI_ETIMEDOUT },
    { ETXTBSY, WASI_ETXTBSY },
    { EXDEV, WASI_EXDEV },
};

uint16_t wasi_posix_errno(int host_errno)
{
    for (size_t i = 0; i < sizeof errno_map / sizeof errno_map[0]; i++)
        if (errno_map[i].host == host_errno)
            return errno_map[i].wasi;
    return WASI_EIO; /* an error WASI has no name for */
}

static uint16_t fail(void)
{
    return wasi_posix_errno(errno);
}

/* ==== Conversions ==== */

static uint64_t ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec < 0)
        return 0;
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

static void ns_ts(uint64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

static uint8_t filetype_of(int fd, mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return WASI_FILETYPE_REGULAR_FILE;
    case S_IFDIR:
        return WASI_FILETYPE_DIRECTORY;
    case S_IFCHR:
        return WASI_FILETYPE_CHARACTER_DEVICE;
    case S_IFBLK:
        return WASI_FILETYPE_BLOCK_DEVICE;
    case S_IFLNK:
        return WASI_FILETYPE_SYMBOLIC_LINK;
    case S_IFSOCK: {
        int type = 0;
        socklen_t len = sizeof type;
        if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM)
            return WASI_FILETYPE_SOCKET_DGRAM;
        return WASI_FILETYPE_SOCKET_STREAM;
    }
    default:
        return WASI_FILETYPE_UNKNOWN; /* FIFOs: preview1 has no type for them */
    }
}

static void stat_out(int fd, const struct stat *st, wasi_host_stat *out)
{
    out->dev = (uint64_t)st->st_dev;
    out->ino = (uint64_t)st->st_ino;
    out->nlink = (uint64_t)st->st_nlink;
    out->size = st->st_size < 0 ? 0 : (uint64_t)st->st_size;
    out->atim = ts_ns(&st->st_atim);
    out->mtim = ts_ns(&st->st_mtim);
    out->ctim = ts_ns(&st->st_ctim);
    out->filetype = filetype_of(fd, st->st_mode);
}

static void times_out(const wasi_host_times *t, struct timespec ts[2])
{
    const uint8_t mode[2] = { t->atim_mode, t->mtim_mode };
    const uint64_t ns[2] = { t->atim, t->mtim };

    for (int i = 0; i < 2; i++) {
        if (mode[i] == WASI_TIME_SET) {
            ns_ts(ns[i], &ts[i]);
        } else {
            ts[i].tv_sec = 0;
            ts[i].tv_nsec = mode[i] == WASI_TIME_NOW ? UTIME_NOW : UTIME_OMIT;
        }
    }
}

/* Copies host iovecs into `v` (WASI_IOV_MAX entries at most by contract). */
static int iov_out(const wasi_iov *iov, size_t n, struct iovec *v)
{
    for (size_t i = 0; i < n; i++) {
        v[i].iov_base = iov[i].base;
        v[i].iov_len = iov[i].len;
    }
    return (int)n;
}

static int open_flags(uint32_t flags)
{
    int o = O_CLOEXEC;

    if (flags & WASI_HOST_O_SEARCH) {
        /* openat2 refuses O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC */
#ifdef O_PATH
        o |= O_PATH;
#else
        o |= O_RDONLY | O_NOCTTY;
#endif
        if (flags & WASI_HOST_O_DIRECTORY)
            o |= O_DIRECTORY;
        if (flags & WASI_HOST_O_NOFOLLOW)
            o |= O_NOFOLLOW;
        return o;
    }
    o |= O_NOCTTY;
    if ((flags & WASI_HOST_O_READ) && (flags & WASI_HOST_O_WRITE)) {
        o |= O_RDWR;
    } else if (flags & WASI_HOST_O_WRITE) {
        o |= O_WRONLY;
    } else {
        o |= O_RDONLY;
    }
    if (flags & WASI_HOST_O_CREAT)
        o |= O_CREAT;
    if (flags & WASI_HOST_O_EXCL)
        o |= O_EXCL;
    if (flags & WASI_HOST_O_TRUNC)
        o |= O_TRUNC;
    if (flags & WASI_HOST_O_DIRECTORY)
        o |= O_DIRECTORY;
    if (flags & WASI_HOST_O_APPEND)
        o |= O_APPEND;
    if (flags & WASI_HOST_O_NOFOLLOW)
        o |= O_NOFOLLOW;
    if (flags & WASI_HOST_O_DSYNC)
        o |= O_DSYNC;
    if (flags & WASI_HOST_O_SYNC)
        o |= O_SYNC;
#ifdef O_RSYNC
    if (flags & WASI_HOST_O_RSYNC)
        o |= O_RSYNC;
#endif
    if (flags & WASI_HOST_O_NO_WAIT)
        o |= O_NONBLOCK;
    return o;
}

/* After an open with WASI_HOST_O_NO_WAIT: the descriptor blocks again (waits go through
 * poll, which an interrupt can end). Returns 0 or the WASI errno, closing fd on failure. */
static uint16_t opened_no_wait(int fd, uint32_t flags)
{
    int fl;

    if (!(flags & WASI_HOST_O_NO_WAIT) || (flags & WASI_HOST_O_SEARCH))
        return 0;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        uint16_t err = fail();
        close(fd);
        return err;
    }
    return 0;
}

/* ==== Descriptors ==== */

static uint16_t h_close(void *ud, int fd)
{
    (void)ud;
    /* after EINTR the descriptor is gone on Linux and unspecified elsewhere: never retry */
    if (close(fd) != 0 && errno != EINTR)
        return fail();
    return 0;
}

static uint16_t h_dup(void *ud, int fd, int *out)
{
    (void)ud;
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0)
        return fail();
    *out = d;
    return 0;
}

static uint16_t h_readv(void *ud, int fd, const wasi_iov *iov, size_t n, size_t *out)
{
    struct iovec v[WASI_IOV_MAX];
    ssize_t got;

    (void)ud;
    if (n > WASI_IOV_MAX)
        n = WASI_IOV_MAX;
    do
        got = readv(fd, v, iov_out(iov, n, v));
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return fail();
    *out = (size_t)got;
    return 0;
}

static uint16_t h_writev(void *ud, int fd, const wasi_iov *iov, size_t n, size_t *out)
{
    struct iovec v[WASI_IOV_MAX];
    ssize_t put;

    (void)ud;
    if (n > WASI_IOV_MAX)
        n = WASI_IOV_MAX;
    do
        put = writev(fd, v, iov_out(iov, n, v));
    while (put < 0 && errno == EINTR);
    if (put < 0)
        return fail();
    *out = (size_t)put;
    return 0;
}

static uint16_t h_preadv(void *ud, int fd, const wasi_iov *iov, size_t n, uint64_t off, size_t *out)
{
    struct iovec v[WASI_IOV_MAX];
    ssize_t got;

    (void)ud;
    if (off > (uint64_t)INT64_MAX)
        return WASI_EINVAL;
    if (n > WASI_IOV_MAX)
        n = WASI_IOV_MAX;
    do
        got = preadv(fd, v, iov_out(iov, n, v), (off_t)off);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return fail();
    *out = (size_t)got;
    return 0;
}

static uint16_t h_pwritev(void *ud, int fd, const wasi_iov *iov, size_t n, uint64_t off,
                          size_t *out)
{
    struct iovec v[WASI_IOV_MAX];
    ssize_t put;

    (void)ud;
    if (off > (uint64_t)INT64_MAX)
        return WASI_EINVAL;
    if (n > WASI_IOV_MAX)
        n = WASI_IOV_MAX;
    do
        put = pwritev(fd, v, iov_out(iov, n, v), (off_t)off);
    while (put < 0 && errno == EINTR);
    if (put < 0)
        return fail();
    *out = (size_t)put;
    return 0;
}

static uint16_t h_seek(void *ud, int fd, int64_t off, int whence, uint64_t *out)
{
    int w = whence == WASI_WHENCE_SET ? SEEK_SET : whence == WASI_WHENCE_CUR ? SEEK_CUR : SEEK_END;
    off_t r;

    (void)ud;
    r = lseek(fd, (off_t)off, w);
    if (r < 0)
        return fail();
    *out = (uint64_t)r;
    return 0;
}

static uint16_t h_fstat(void *ud, int fd, wasi_host_stat *out)
{
    struct stat st;

    (void)ud;
    if (fstat(fd, &st) != 0)
        return fail();
    stat_out(fd, &st, out);
    return 0;
}

static uint16_t h_ftruncate(void *ud, int fd, uint64_t size)
{
    int r;

    (void)ud;
    if (size > (uint64_t)INT64_MAX)
        return WASI_EINVAL;
    do
        r = ftruncate(fd, (off_t)size);
    while (r != 0 && errno == EINTR);
    return r != 0 ? fail() : 0;
}

static uint16_t h_sync(void *ud, int fd, int data_only)
{
    int r;

    (void)ud;
#if defined(__linux__)
    r = data_only ? fdatasync(fd) : fsync(fd);
#else
    (void)data_only;
    r = fsync(fd);
#endif
    return r != 0 ? fail() : 0;
}

static uint16_t h_advise(void *ud, int fd, uint64_t off, uint64_t len, int advice)
{
    (void)ud;
#if defined(__linux__) || defined(__FreeBSD__)
    static const int map[] = { POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                               POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE };
    if (advice < 0 || advice > 5 || off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX)
        return WASI_EINVAL;
    int r = posix_fadvise(fd, (off_t)off, (off_t)len, map[advice]);
    return r != 0 ? wasi_posix_errno(r) : 0;
#else
    (void)fd, (void)off, (void)len;
    return advice < 0 || advice > 5 ? WASI_EINVAL : 0; /* advice may be ignored */
#endif
}

static uint16_t h_allocate(void *ud, int fd, uint64_t off, uint64_t len)
{
    (void)ud;
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return WASI_EFBIG;
    int r;
    do
        r = posix_fallocate(fd, (off_t)off, (off_t)len);
    while (r == EINTR);
    if (r == EOPNOTSUPP || r == ENOTSUP) {
        /* a file system without allocation: grow the file at least, as POSIX requires */
        struct stat st;
        if (fstat(fd, &st) != 0)
            return fail();
        if ((uint64_t)st.st_size < off + len && ftruncate(fd, (off_t)(off + len)) != 0)
            return fail();
        return 0;
    }
    return r != 0 ? wasi_posix_errno(r) : 0;
}

static uint16_t h_set_append(void *ud, int fd, int on)
{
    (void)ud;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return fail();
    fl = on ? (fl | O_APPEND) : (fl & ~O_APPEND);
    return fcntl(fd, F_SETFL, fl) != 0 ? fail() : 0;
}

static uint16_t h_futimens(void *ud, int fd, const wasi_host_times *t)
{
    struct timespec ts[2];

    (void)ud;
    times_out(t, ts);
    return futimens(fd, ts) != 0 ? fail() : 0;
}

static uint16_t h_nread(void *ud, int fd, uint64_t *out)
{
    struct stat st;
    int n = 0;

    (void)ud;
    *out = 0;
    if (fstat(fd, &st) != 0)
        return fail();
    if (S_ISREG(st.st_mode)) {
        off_t pos = lseek(fd, 0, SEEK_CUR);
        if (pos >= 0 && st.st_size > pos)
            *out = (uint64_t)(st.st_size - pos);
        return 0;
    }
    if (ioctl(fd, FIONREAD, &n) == 0 && n > 0)
        *out = (uint64_t)n;
    return 0;
}

/* ==== Directories ==== */

/* A directory stream on a duplicate of the guest's descriptor, with the index of the next
 * entry and a copy of the last one returned (the guest re-reads it after a buffer cut it
 * short). A copy, not telldir/seekdir: a `long` position cannot hold 64-bit directory
 * offsets on 32-bit hosts. */
typedef struct dir_cursor {
    DIR *dir;
    uint64_t next;       /* index of the entry readdir() returns next */
    uint64_t last_index; /* index of the last entry returned */
    int have_last;
    wasi_host_dirent last; /* that entry; last.name points to last_name */
    char last_name[sizeof(((struct dirent *)0)->d_name) + 1];
} dir_cursor;

static uint16_t h_dir_read(void *ud, int fd, void **cursor, uint64_t index, wasi_host_dirent *out,
                           int *out_end)
{
    dir_cursor *c = *cursor;
    struct dirent *e;

    (void)ud;
    *out_end = 0;
    if (c == NULL) {
        int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (d < 0)
            return fail();
        c = calloc(1, sizeof *c);
        if (c == NULL) {
            close(d);
            return WASI_ENOMEM;
        }
        c->dir = fdopendir(d);
        if (c->dir == NULL) {
            uint16_t err = fail();
            close(d);
            free(c);
            return err;
        }
        rewinddir(c->dir); /* the duplicate shares the offset of the guest's descriptor */
        *cursor = c;
    }
    if (c->have_last && index == c->last_index) {
        *out = c->last; /* the same entry again */
        return 0;
    }
    if (index != c->next) {
        if (index < c->next) {
            rewinddir(c->dir);
            c->next = 0;
        }
        while (c->next < index) {
            errno = 0;
            if (readdir(c->dir) == NULL) {
                if (errno != 0)
                    return fail();
                *out_end = 1;
                return 0;
            }
            c->next++;
        }
    }
    errno = 0;
    e = readdir(c->dir);
    if (e == NULL) {
        if (errno != 0)
            return fail();
        *out_end = 1;
        return 0;
    }
    c->next = index + 1;

    out->ino = (uint64_t)e->d_ino;
    out->name = e->d_name;
    out->name_len = strlen(e->d_name);
    switch (e->d_type) {
    case DT_REG:
        out->filetype = WASI_FILETYPE_REGULAR_FILE;
        break;
    case DT_DIR:
        out->filetype = WASI_FILETYPE_DIRECTORY;
        break;
    case DT_LNK:
        out->filetype = WASI_FILETYPE_SYMBOLIC_LINK;
        break;
    case DT_CHR:
        out->filetype = WASI_FILETYPE_CHARACTER_DEVICE;
        break;
    case DT_BLK:
        out->filetype = WASI_FILETYPE_BLOCK_DEVICE;
        break;
    case DT_SOCK:
        out->filetype = WASI_FILETYPE_SOCKET_STREAM;
        break;
    case DT_UNKNOWN: {
        struct stat st;
        out->filetype = WASI_FILETYPE_UNKNOWN;
        if (fstatat(dirfd(c->dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            out->filetype = filetype_of(-1, st.st_mode);
        break;
    }
    default:
        out->filetype = WASI_FILETYPE_UNKNOWN;
        break;
    }
    /* keep a copy, for a read of the same index */
    memcpy(c->last_name, out->name, out->name_len);
    c->last_name[out->name_len] = 0;
    c->last = *out;
    c->last.name = c->last_name;
    out->name = c->last_name;
    c->last_index = index;
    c->have_last = 1;
    return 0;
}

static void h_dir_free(void *ud, void *cursor)
{
    dir_cursor *c = cursor;

    (void)ud;
    if (c == NULL)
        return;
    closedir(c->dir);
    free(c);
}

/* ==== Paths ==== */

static uint16_t h_open_dir(void *ud, const char *host_path, int *out)
{
    int fd;

    (void)ud;
    do
        fd = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return fail();
    *out = fd;
    return 0;
}

static uint16_t h_abs_path(void *ud, const char *host_path, char **out)
{
    size_t cap = 256, n = strlen(host_path);
    char *buf = NULL;

    (void)ud;
    *out = NULL;
    /* the directory itself, symlinks resolved: a restore with --keep-dirs must reopen the
     * tree the program worked on, not whatever a link (a "current" link, say) names later */
    buf = realpath(host_path, NULL);
    if (buf != NULL) {
        *out = buf;
        return 0;
    }
    if (host_path[0] == '/') {
        buf = malloc(n + 1);
        if (buf == NULL)
            return WASI_ENOMEM;
        memcpy(buf, host_path, n + 1);
        *out = buf;
        return 0;
    }
    for (;;) {
        char *p = realloc(buf, cap + n + 2);
        if (p == NULL) {
            free(buf);
            return WASI_ENOMEM;
        }
        buf = p;
        if (getcwd(buf, cap) != NULL)
            break;
        if (errno != ERANGE || cap > (1u << 20)) {
            uint16_t err = fail();
            free(buf);
            return err;
        }
        cap *= 2;
    }
    size_t len = strlen(buf);
    if (len > 0 && buf[len - 1] != '/')
        buf[len++] = '/';
    memcpy(buf + len, host_path, n + 1);
    *out = buf;
    return 0;
}

static uint16_t h_openat(void *ud, int dir, const char *name, uint32_t flags, int *out)
{
    int fd;

    (void)ud;
    do
        fd = openat(dir, name, open_flags(flags | WASI_HOST_O_NOFOLLOW), 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return fail();
    uint16_t err = opened_no_wait(fd, flags);
    if (err != 0)
        return err;
    *out = fd;
    return 0;
}

#if defined(__linux__) && defined(SYS_openat2)
/* From linux/openat2.h (Linux 5.6), spelled out so older headers build. */
struct waft_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
#define WAFT_RESOLVE_NO_MAGICLINKS 0x02
#define WAFT_RESOLVE_BENEATH       0x08

static int openat2_call(int dir, const char *path, int flags, uint64_t resolve)
{
    struct waft_open_how how;

    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)flags;
    how.mode = (flags & O_CREAT) ? 0666 : 0;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dir, path, &how, sizeof how);
}

/* Whether openat2 works here: tried once, on the directory at hand. A seccomp filter may
 * answer EPERM instead of ENOSYS, so any failure of this harmless call means no. */
static int have_openat2(wasi_posix *p, int dir)
{
    if (p->openat2 < 0) {
        int fd = openat2_call(dir, ".", O_PATH | O_CLOEXEC, WAFT_RESOLVE_BENEATH);
        p->openat2 = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
    return p->openat2;
}

static uint16_t h_open_beneath(void *ud, int dir, const char *path, uint32_t flags, int *out)
{
    int fd;

    if (!have_openat2(ud, dir))
        return WASI_ENOSYS;
    do
        fd = openat2_call(dir, path, open_flags(flags),
                          WAFT_RESOLVE_BENEATH | WAFT_RESOLVE_NO_MAGICLINKS);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == EXDEV)
            return WASI_ENOTCAPABLE; /* the path would leave `dir` */
        if (errno == EAGAIN)
            return WASI_EAGAIN; /* a concurrent rename made ".." unsafe: walk instead */
        return fail();
    }
    uint16_t err = opened_no_wait(fd, flags);
    if (err != 0)
        return err;
    *out = fd;
    return 0;
}
#else
static uint16_t h_open_beneath(void *ud, int dir, const char *path, uint32_t flags, int *out)
{
    (void)ud, (void)dir, (void)path, (void)flags, (void)out;
    return WASI_ENOSYS;
}
#endif

static uint16_t h_fstatat(void *ud, int dir, const char *name, wasi_host_stat *out)
{
    struct stat st;

    (void)ud;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail();
    stat_out(-1, &st, out);
    return 0;
}

static uint16_t h_mkdirat(void *ud, int dir, const char *name)
{
    (void)ud;
    return mkdirat(dir, name, 0777) != 0 ? fail() : 0;
}

static uint16_t h_unlinkat(void *ud, int dir, const char *name, int is_dir)
{
    (void)ud;
    return unlinkat(dir, name, is_dir ? AT_REMOVEDIR : 0) != 0 ? fail() : 0;
}

static uint16_t h_renameat(void *ud, int dir, const char *name, int dir2, const char *name2)
{
    (void)ud;
    return renameat(dir, name, dir2, name2) != 0 ? fail() : 0;
}

static uint16_t h_linkat(void *ud, int dir, const char *name, int dir2, const char *name2)
{
    (void)ud;
    return linkat(dir, name, dir2, name2, 0) != 0 ? fail() : 0;
}

static uint16_t h_symlinkat(void *ud, const char *target, int dir, const char *name)
{
    (void)ud;
    return symlinkat(target, dir, name) != 0 ? fail() : 0;
}

static uint16_t h_readlinkat(void *ud, int dir, const char *name, char *buf, size_t cap,
                             size_t *out_len)
{
    ssize_t n;

    (void)ud;
    n = readlinkat(dir, name, buf, cap);
    if (n < 0)
        return fail();
    *out_len = (size_t)n;
    return 0;
}

static uint16_t h_utimensat(void *ud, int dir, const char *name, const wasi_host_times *t)
{
    struct timespec ts[2];

    (void)ud;
    times_out(t, ts);
    return utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW) != 0 ? fail() : 0;
}

/* ==== Sockets ==== */

static uint16_t h_accept(void *ud, int fd, int *out)
{
    int c;

    (void)ud;
    do
        c = accept(fd, NULL, NULL);
    while (c < 0 && errno == EINTR);
    if (c < 0)
        return fail();
    if (fcntl(c, F_SETFD, FD_CLOEXEC) != 0) {
        uint16_t err = fail();
        close(c);
        return err;
    }
    *out = c;
    return 0;
}

static uint16_t h_recv(void *ud, int fd, const wasi_iov *iov, size_t n, int flags, size_t *out,
                       int *out_trunc)
{
    struct iovec v[WASI_IOV_MAX];
    struct msghdr msg;
    ssize_t got;
    int f = 0;

    (void)ud;
    if (n > WASI_IOV_MAX)
        n = WASI_IOV_MAX;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = v;
    msg.msg_iovlen = (size_t)iov_out(iov, n, v);
    if (flags & WASI_RECV_PEEK)
        f |= MSG_PEEK;
    if (flags & WASI_RECV_WAITALL)
        f |= MSG_WAITALL;
    do
        got = recvmsg(fd, &msg, f);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return fail();
    *out = (size_t)got;
    *out_trunc = (msg.msg_flags & MSG_TRUNC) != 0;
    return 0;
}

static uint16_t h_send(void *ud, int fd, const wasi_iov *iov, size_t n, size_t *out)
{
    struct iovec v[WASI_IOV_MAX];
    struct msghdr msg;
    ssize_t put;

    (void)ud;
    if (n > WASI_IOV_MAX)
        n = WASI_IOV_MAX;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = v;
    msg.msg_iovlen = (size_t)iov_out(iov, n, v);
    do
        put = sendmsg(fd, &msg, MSG_NOSIGNAL); /* a closed peer is EPIPE, not a signal */
    while (put < 0 && errno == EINTR);
    if (put < 0)
        return fail();
    *out = (size_t)put;
    return 0;
}

static uint16_t h_shutdown(void *ud, int fd, int how)
{
    int h;

    (void)ud;
    if (how == (WASI_SHUT_RD | WASI_SHUT_WR))
        h = SHUT_RDWR;
    else if (how == WASI_SHUT_RD)
        h = SHUT_RD;
    else if (how == WASI_SHUT_WR)
        h = SHUT_WR;
    else
        return WASI_EINVAL;
    return shutdown(fd, h) != 0 ? fail() : 0;
}

/* ==== Waiting, time, randomness ==== */

static uint16_t h_poll(void *ud, wasi_host_pollfd *fds, size_t n, int timeout_ms, size_t *out_ready)
{
    struct pollfd small[16];
    struct pollfd *p = small;
    uint16_t err = 0;
    int r;

    (void)ud;
    if (n > sizeof small / sizeof small[0]) {
        p = calloc(n, sizeof *p);
        if (p == NULL)
            return WASI_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        p[i].fd = fds[i].fd;
        p[i].events = (short)(((fds[i].events & WASI_POLL_IN) ? POLLIN : 0) |
                              ((fds[i].events & WASI_POLL_OUT) ? POLLOUT : 0));
        p[i].revents = 0;
    }
    r = poll(p, (nfds_t)n, timeout_ms);
    if (r < 0) {
        err = fail();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t ev = 0;
        if (p[i].revents & POLLIN)
            ev |= WASI_POLL_IN;
        if (p[i].revents & POLLOUT)
            ev |= WASI_POLL_OUT;
        if (p[i].revents & (POLLERR | POLLNVAL))
            ev |= WASI_POLL_ERR;
        if (p[i].revents & POLLHUP)
            ev |= WASI_POLL_HUP;
        fds[i].revents = ev;
    }
    *out_ready = (size_t)r;
done:
    if (p != small)
        free(p);
    return err;
}

static int clock_of(uint32_t id, clockid_t *out)
{
    switch (id) {
    case WASI_CLOCK_REALTIME:
        *out = CLOCK_REALTIME;
        return 0;
    case WASI_CLOCK_MONOTONIC:
        *out = CLOCK_MONOTONIC;
        return 0;
    case WASI_CLOCK_PROCESS:
        *out = CLOCK_PROCESS_CPUTIME_ID;
        return 0;
    case WASI_CLOCK_THREAD:
        *out = CLOCK_THREAD_CPUTIME_ID;
        return 0;
    default:
        return -1;
    }
}

static uint16_t h_clock_get(void *ud, uint32_t id, uint64_t *out)
{
    clockid_t c;
    struct timespec ts;

    (void)ud;
    if (clock_of(id, &c) != 0)
        return WASI_EINVAL;
    if (clock_gettime(c, &ts) != 0)
        return fail();
    *out = ts_ns(&ts);
    return 0;
}

static uint16_t h_clock_res(void *ud, uint32_t id, uint64_t *out)
{
    clockid_t c;
    struct timespec ts;

    (void)ud;
    if (clock_of(id, &c) != 0)
        return WASI_EINVAL;
    if (clock_getres(c, &ts) != 0)
        return fail();
    *out = ts_ns(&ts);
    if (*out == 0)
        *out = 1;
    return 0;
}

static uint16_t h_random(void *ud, void *buf, size_t len)
{
    uint8_t *p = buf;

    (void)ud;
#if defined(__linux__)
    while (len > 0) {
        ssize_t got = getrandom(p, len, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOSYS)
                break; /* very old kernel: /dev/urandom below */
            return fail();
        }
        p += got;
        len -= (size_t)got;
    }
    if (len == 0)
        return 0;
#endif
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail();
    while (len > 0) {
        ssize_t got = read(fd, p, len);
        if (got <= 0) {
            if (got < 0 && errno == EINTR)
                continue;
            uint16_t err = got < 0 ? fail() : WASI_EIO;
            close(fd);
            return err;
        }
        p += got;
        len -= (size_t)got;
    }
    close(fd);
    return 0;
}

static uint16_t h_yield(void *ud)
{
    (void)ud;
    sched_yield();
    return 0;
}

/* ==== The vtable ==== */

const wasi_host wasi_posix_host = {
    .close = h_close,
    .dup = h_dup,
    .readv = h_readv,
    .writev = h_writev,
    .preadv = h_preadv,
    .pwritev = h_pwritev,
    .seek = h_seek,
    .fstat = h_fstat,
    .ftruncate = h_ftruncate,
    .sync = h_sync,
    .advise = h_advise,
    .allocate = h_allocate,
    .set_append = h_set_append,
    .futimens = h_futimens,
    .nread = h_nread,
    .dir_read = h_dir_read,
    .dir_free = h_dir_free,
    .open_dir = h_open_dir,
    .abs_path = h_abs_path,
    .openat = h_openat,
    .open_beneath = h_open_beneath,
    .fstatat = h_fstatat,
    .mkdirat = h_mkdirat,
    .unlinkat = h_unlinkat,
    .renameat = h_renameat,
    .linkat = h_linkat,
    .symlinkat = h_symlinkat,
    .readlinkat = h_readlinkat,
    .utimensat = h_utimensat,
    .accept = h_accept,
    .recv = h_recv,
    .send = h_send,
    .shutdown = h_shutdown,
    .poll = h_poll,
    .clock_get = h_clock_get,
    .clock_res = h_clock_res,
    .random = h_random,
    .yield = h_yield,
};

void wasi_posix_init(wasi_posix *p, int use_openat2)
{
    p->openat2 = use_openat2 ? -1 : 0;
}
