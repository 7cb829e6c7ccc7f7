/* SPDX-License-Identifier: MIT */
/* wasi.h - internal contract of the WASI preview1 host (src/wasi/).
 *
 * Invariants of this module:
 *  - It is built on the public API (<waft/waft.h>, <waft/waft_wasi.h>) alone and includes
 *    no other src/ header than the self-contained byte-order helpers of base/le.h.
 *  - All WASI state of a guest is in struct waft_wasi: one table that the checkpoint code
 *    reads with wasi_fd_next/wasi_fd_inspect/wasi_clock_save and rebuilds with
 *    wasi_fd_restore/wasi_clock_restore. Every field is tagged [snap] (saved) or [derived]
 *    (rebuilt after restore); no mutable globals, nothing on the C stack across calls.
 *  - The operating system is reached only through a wasi_host vtable (default: the POSIX
 *    one in host_posix.c), so record/replay and tests can put another one in its place.
 *  - Guest memory is only touched through wasi_mem_* checks and the little-endian
 *    load/store helpers below; a pointer and length are checked before any side effect.
 *  - A path reaches the host only as (directory fd beneath the guest's directory, one
 *    component) from wasi_sandbox_resolve, or through wasi_sandbox_open: nothing else
 *    turns a guest path into a host path.
 *
 * Abbreviations: fd (file descriptor), ud (user data of a vtable), iov (I/O vector).
 */
#ifndef WAFT_WASI_INTERNAL_H
#define WAFT_WASI_INTERNAL_H

#include <waft/waft.h>
#include <waft/waft_wasi.h>

#include "base/le.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef WAFT_INTERNAL
#define WAFT_INTERNAL
#endif

/* ==== Limits ==== */

/* Linux's PATH_MAX counts the NUL, so openat2 refuses 4096 bytes: the walk must too. */
#define WASI_PATH_MAX    4095u       /* bytes of a guest path (ENAMETOOLONG beyond) */
#define WASI_NAME_MAX    255u        /* bytes of one path component */
#define WASI_SYMLOOP_MAX 40u         /* symbolic links expanded while resolving one path */
#define WASI_IOV_MAX     1024u       /* iovecs used per call; later ones are not transferred */
#define WASI_IO_MAX      0x7ffff000u /* bytes transferred per call (Linux's own cap) */
#define WASI_FD_MAX      65536u      /* guest descriptors (EMFILE beyond) */
#define WASI_WAIT_SLICE_MS                                                                    \
    20                         /* a blocking wait checks for interrupts this often, where the \
                                * store has no wake descriptor (waft_store_wake_fd) */
#define WASI_WAIT_LONG_MS 1000 /* ... and where it has one (an interrupt wakes the wait) */

/* ==== Preview1 constants (wire values) ==== */

enum {
    WASI_ESUCCESS = 0,
    WASI_E2BIG = 1,
    WASI_EACCES = 2,
    WASI_EADDRINUSE = 3,
    WASI_EADDRNOTAVAIL = 4,
    WASI_EAFNOSUPPORT = 5,
    WASI_EAGAIN = 6,
    WASI_EALREADY = 7,
    WASI_EBADF = 8,
    WASI_EBADMSG = 9,
    WASI_EBUSY = 10,
    WASI_ECANCELED = 11,
    WASI_ECHILD = 12,
    WASI_ECONNABORTED = 13,
    WASI_ECONNREFUSED = 14,
    WASI_ECONNRESET = 15,
    WASI_EDEADLK = 16,
    WASI_EDESTADDRREQ = 17,
    WASI_EDOM = 18,
    WASI_EDQUOT = 19,
    WASI_EEXIST = 20,
    WASI_EFAULT = 21,
    WASI_EFBIG = 22,
    WASI_EHOSTUNREACH = 23,
    WASI_EIDRM = 24,
    WASI_EILSEQ = 25,
    WASI_EINPROGRESS = 26,
    WASI_EINTR = 27,
    WASI_EINVAL = 28,
    WASI_EIO = 29,
    WASI_EISCONN = 30,
    WASI_EISDIR = 31,
    WASI_ELOOP = 32,
    WASI_EMFILE = 33,
    WASI_EMLINK = 34,
    WASI_EMSGSIZE = 35,
    WASI_EMULTIHOP = 36,
    WASI_ENAMETOOLONG = 37,
    WASI_ENETDOWN = 38,
    WASI_ENETRESET = 39,
    WASI_ENETUNREACH = 40,
    WASI_ENFILE = 41,
    WASI_ENOBUFS = 42,
    WASI_ENODEV = 43,
    WASI_ENOENT = 44,
    WASI_ENOEXEC = 45,
    WASI_ENOLCK = 46,
    WASI_ENOLINK = 47,
    WASI_ENOMEM = 48,
    WASI_ENOMSG = 49,
    WASI_ENOPROTOOPT = 50,
    WASI_ENOSPC = 51,
    WASI_ENOSYS = 52,
    WASI_ENOTCONN = 53,
    WASI_ENOTDIR = 54,
    WASI_ENOTEMPTY = 55,
    WASI_ENOTRECOVERABLE = 56,
    WASI_ENOTSOCK = 57,
    WASI_ENOTSUP = 58,
    WASI_ENOTTY = 59,
    WASI_ENXIO = 60,
    WASI_EOVERFLOW = 61,
    WASI_EOWNERDEAD = 62,
    WASI_EPERM = 63,
    WASI_EPIPE = 64,
    WASI_EPROTO = 65,
    WASI_EPROTONOSUPPORT = 66,
    WASI_EPROTOTYPE = 67,
    WASI_ERANGE = 68,
    WASI_EROFS = 69,
    WASI_ESPIPE = 70,
    WASI_ESRCH = 71,
    WASI_ESTALE = 72,
    WASI_ETIMEDOUT = 73,
    WASI_ETXTBSY = 74,
    WASI_EXDEV = 75,
    WASI_ENOTCAPABLE = 76
};

/* Rights (bit numbers of the 64-bit rights masks). */
#define WASI_RIGHT(n)                      ((uint64_t)1 << (n))
#define WASI_RIGHT_FD_DATASYNC             WASI_RIGHT(0)
#define WASI_RIGHT_FD_READ                 WASI_RIGHT(1)
#define WASI_RIGHT_FD_SEEK                 WASI_RIGHT(2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS     WASI_RIGHT(3)
#define WASI_RIGHT_FD_SYNC                 WASI_RIGHT(4)
#define WASI_RIGHT_FD_TELL                 WASI_RIGHT(5)
#define WASI_RIGHT_FD_WRITE                WASI_RIGHT(6)
#define WASI_RIGHT_FD_ADVISE               WASI_RIGHT(7)
#define WASI_RIGHT_FD_ALLOCATE             WASI_RIGHT(8)
#define WASI_RIGHT_PATH_CREATE_DIRECTORY   WASI_RIGHT(9)
#define WASI_RIGHT_PATH_CREATE_FILE        WASI_RIGHT(10)
#define WASI_RIGHT_PATH_LINK_SOURCE        WASI_RIGHT(11)
#define WASI_RIGHT_PATH_LINK_TARGET        WASI_RIGHT(12)
#define WASI_RIGHT_PATH_OPEN               WASI_RIGHT(13)
#define WASI_RIGHT_FD_READDIR              WASI_RIGHT(14)
#define WASI_RIGHT_PATH_READLINK           WASI_RIGHT(15)
#define WASI_RIGHT_PATH_RENAME_SOURCE      WASI_RIGHT(16)
#define WASI_RIGHT_PATH_RENAME_TARGET      WASI_RIGHT(17)
#define WASI_RIGHT_PATH_FILESTAT_GET       WASI_RIGHT(18)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE  WASI_RIGHT(19)
#define WASI_RIGHT_PATH_FILESTAT_SET_TIMES WASI_RIGHT(20)
#define WASI_RIGHT_FD_FILESTAT_GET         WASI_RIGHT(21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE    WASI_RIGHT(22)
#define WASI_RIGHT_FD_FILESTAT_SET_TIMES   WASI_RIGHT(23)
#define WASI_RIGHT_PATH_SYMLINK            WASI_RIGHT(24)
#define WASI_RIGHT_PATH_REMOVE_DIRECTORY   WASI_RIGHT(25)
#define WASI_RIGHT_PATH_UNLINK_FILE        WASI_RIGHT(26)
#define WASI_RIGHT_POLL_FD_READWRITE       WASI_RIGHT(27)
#define WASI_RIGHT_SOCK_SHUTDOWN           WASI_RIGHT(28)
#define WASI_RIGHT_SOCK_ACCEPT             WASI_RIGHT(29)
#define WASI_RIGHTS_ALL                    (WASI_RIGHT(30) - 1)

/* Rights that make sense on a regular file, on a directory, and on a stream (terminal,
 * pipe, socket); a descriptor never holds rights outside its kind's set. */
#define WASI_RIGHTS_FILE                                                        \
    (WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK |         \
     WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_TELL | \
     WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ADVISE | WASI_RIGHT_FD_ALLOCATE |      \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_SIZE |             \
     WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_DIR                                                                        \
    (WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_DATASYNC |            \
     WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |                          \
     WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET | WASI_RIGHT_PATH_OPEN |        \
     WASI_RIGHT_FD_READDIR | WASI_RIGHT_PATH_READLINK | WASI_RIGHT_PATH_RENAME_SOURCE |        \
     WASI_RIGHT_PATH_RENAME_TARGET | WASI_RIGHT_PATH_FILESTAT_GET |                            \
     WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                  \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_PATH_SYMLINK | \
     WASI_RIGHT_PATH_REMOVE_DIRECTORY | WASI_RIGHT_PATH_UNLINK_FILE |                          \
     WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_STREAM                                                            \
    (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS |      \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_FD_SYNC | \
     WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_SOCK_SHUTDOWN | WASI_RIGHT_SOCK_ACCEPT)

enum {
    WASI_FILETYPE_UNKNOWN = 0,
    WASI_FILETYPE_BLOCK_DEVICE = 1,
    WASI_FILETYPE_CHARACTER_DEVICE = 2,
    WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4,
    WASI_FILETYPE_SOCKET_DGRAM = 5,
    WASI_FILETYPE_SOCKET_STREAM = 6,
    WASI_FILETYPE_SYMBOLIC_LINK = 7
};

enum {
    WASI_CLOCK_REALTIME = 0,
    WASI_CLOCK_MONOTONIC = 1,
    WASI_CLOCK_PROCESS = 2,
    WASI_CLOCK_THREAD = 3,
    WASI_NCLOCKS = 4
};
enum {
    WASI_WHENCE_SET = 0,
    WASI_WHENCE_CUR = 1,
    WASI_WHENCE_END = 2
};
enum {
    WASI_OFLAG_CREAT = 1,
    WASI_OFLAG_DIRECTORY = 2,
    WASI_OFLAG_EXCL = 4,
    WASI_OFLAG_TRUNC = 8
};
enum {
    WASI_FDFLAG_APPEND = 1,
    WASI_FDFLAG_DSYNC = 2,
    WASI_FDFLAG_NONBLOCK = 4,
    WASI_FDFLAG_RSYNC = 8,
    WASI_FDFLAG_SYNC = 16
};
enum {
    WASI_LOOKUP_SYMLINK_FOLLOW = 1
};
enum {
    WASI_FST_ATIM = 1,
    WASI_FST_ATIM_NOW = 2,
    WASI_FST_MTIM = 4,
    WASI_FST_MTIM_NOW = 8
};
enum {
    WASI_EVENT_CLOCK = 0,
    WASI_EVENT_FD_READ = 1,
    WASI_EVENT_FD_WRITE = 2
};
enum {
    WASI_EVENT_HANGUP = 1
};
enum {
    WASI_SUBCLOCK_ABSTIME = 1
};
enum {
    WASI_RECV_PEEK = 1,
    WASI_RECV_WAITALL = 2,
    WASI_RECV_DATA_TRUNCATED = 1
};
enum {
    WASI_SHUT_RD = 1,
    WASI_SHUT_WR = 2
};

/* ==== Guest memory ==== */

/* Little-endian access to guest memory on any host: base_load16/32/64 and
 * base_store16/32/64 from base/le.h. */

/* ==== Host vtable ==== */

/* Host view of a buffer for scatter/gather I/O. */
typedef struct wasi_iov {
    void *base;
    size_t len;
} wasi_iov;

/* File status in WASI terms; times in nanoseconds since the epoch. */
typedef struct wasi_host_stat {
    uint64_t dev, ino, nlink, size, atim, mtim, ctim;
    uint8_t filetype; /* WASI_FILETYPE_* */
} wasi_host_stat;

/* One directory entry; `name` is valid until the next dir_read or dir_free on the cursor. */
typedef struct wasi_host_dirent {
    uint64_t ino;
    uint8_t filetype;
    const char *name;
    size_t name_len;
} wasi_host_dirent;

/* Time update: for each of atime and mtime, mode WASI_TIME_OMIT, _SET (to the value) or
 * _NOW. */
enum {
    WASI_TIME_OMIT = 0,
    WASI_TIME_SET = 1,
    WASI_TIME_NOW = 2
};
typedef struct wasi_host_times {
    uint64_t atim, mtim;
    uint8_t atim_mode, mtim_mode;
} wasi_host_times;

/* Open flags of wasi_host.openat/open_beneath. */
enum {
    WASI_HOST_O_READ = 0x1,
    WASI_HOST_O_WRITE = 0x2,
    WASI_HOST_O_CREAT = 0x4,
    WASI_HOST_O_EXCL = 0x8,
    WASI_HOST_O_TRUNC = 0x10,
    WASI_HOST_O_DIRECTORY = 0x20,
    WASI_HOST_O_APPEND = 0x40,
    WASI_HOST_O_NOFOLLOW = 0x80, /* fail with ELOOP if the last component is a symlink */
    WASI_HOST_O_SEARCH = 0x100,  /* only to resolve names beneath it (O_PATH) */
    WASI_HOST_O_DSYNC = 0x200,
    WASI_HOST_O_RSYNC = 0x400,
    WASI_HOST_O_SYNC = 0x800,
    WASI_HOST_O_NO_WAIT = 0x1000 /* open(2) itself never waits (a FIFO without its other
                                    end); the descriptor blocks as usual afterwards */
};

/* Poll request/result bits. */
enum {
    WASI_POLL_IN = 1,
    WASI_POLL_OUT = 2,
    WASI_POLL_ERR = 4,
    WASI_POLL_HUP = 8
};
typedef struct wasi_host_pollfd {
    int fd;
    uint16_t events;  /* WASI_POLL_IN / _OUT */
    uint16_t revents; /* filled by poll */
} wasi_host_pollfd;

/* The operating system as the WASI host sees it. Every operation returns 0 or a WASI errno
 * (the implementation maps its own error numbers). `fd` arguments are host descriptors.
 * A `name` is one path component (never contains '/', never ".."), and an operation on it
 * never follows a symbolic link in that last component. Thread-safety: called by the
 * thread that runs the store only. */
typedef struct wasi_host {
    /* descriptors */
    uint16_t (*close)(void *ud, int fd);
    uint16_t (*dup)(void *ud, int fd, int *out);
    uint16_t (*readv)(void *ud, int fd, const wasi_iov *iov, size_t n, size_t *out);
    uint16_t (*writev)(void *ud, int fd, const wasi_iov *iov, size_t n, size_t *out);
    uint16_t (*preadv)(void *ud, int fd, const wasi_iov *iov, size_t n, uint64_t off, size_t *out);
    uint16_t (*pwritev)(void *ud, int fd, const wasi_iov *iov, size_t n, uint64_t off, size_t *out);
    /* whence is WASI_WHENCE_*; *out is the new offset */
    uint16_t (*seek)(void *ud, int fd, int64_t off, int whence, uint64_t *out);
    uint16_t (*fstat)(void *ud, int fd, wasi_host_stat *out);
    uint16_t (*ftruncate)(void *ud, int fd, uint64_t size);
    uint16_t (*sync)(void *ud, int fd, int data_only);
    uint16_t (*advise)(void *ud, int fd, uint64_t off, uint64_t len, int advice);
    uint16_t (*allocate)(void *ud, int fd, uint64_t off, uint64_t len);
    uint16_t (*set_append)(void *ud, int fd, int on);
    uint16_t (*futimens)(void *ud, int fd, const wasi_host_times *t);
    /* bytes readable now without blocking (0 if unknown) */
    uint16_t (*nread)(void *ud, int fd, uint64_t *out);
    /* directories: reads entry number `index` (0-based, in the host's order) of the
     * directory open at fd; *cursor is the implementation's stream (NULL at first, freed
     * by dir_free). Sets *out_end at the end instead of filling *out. */
    uint16_t (*dir_read)(void *ud, int fd, void **cursor, uint64_t index, wasi_host_dirent *out,
                         int *out_end);
    void (*dir_free)(void *ud, void *cursor);
    /* paths */
    /* opens a directory named by the embedder (a preopen), resolved as the host would */
    uint16_t (*open_dir)(void *ud, const char *host_path, int *out);
    /* the absolute form of a host path named by the embedder, as this process resolves it
     * now: the canonical path (symlinks resolved) when it can be had, else the path itself
     * if absolute, else the current directory joined with it; *out is malloc'd, the caller
     * frees it */
    uint16_t (*abs_path)(void *ud, const char *host_path, char **out);
    uint16_t (*openat)(void *ud, int dir, const char *name, uint32_t flags, int *out);
    /* opens a relative path beneath `dir` in one step (openat2 RESOLVE_BENEATH): an escape
     * is WASI_ENOTCAPABLE; WASI_ENOSYS if the host has no such operation (the caller then
     * walks the path itself), WASI_EAGAIN if it should be retried by walking */
    uint16_t (*open_beneath)(void *ud, int dir, const char *path, uint32_t flags, int *out);
    uint16_t (*fstatat)(void *ud, int dir, const char *name, wasi_host_stat *out);
    uint16_t (*mkdirat)(void *ud, int dir, const char *name);
    uint16_t (*unlinkat)(void *ud, int dir, const char *name, int is_dir);
    uint16_t (*renameat)(void *ud, int dir, const char *name, int dir2, const char *name2);
    uint16_t (*linkat)(void *ud, int dir, const char *name, int dir2, const char *name2);
    uint16_t (*symlinkat)(void *ud, const char *target, int dir, const char *name);
    /* WASI_EINVAL if `name` is not a symbolic link; *out_len may exceed cap (truncated) */
    uint16_t (*readlinkat)(void *ud, int dir, const char *name, char *buf, size_t cap,
                           size_t *out_len);
    uint16_t (*utimensat)(void *ud, int dir, const char *name, const wasi_host_times *t);
    /* sockets */
    uint16_t (*accept)(void *ud, int fd, int *out);
    /* flags: WASI_RECV_PEEK / _WAITALL; *out_trunc for datagrams cut short */
    uint16_t (*recv)(void *ud, int fd, const wasi_iov *iov, size_t n, int flags, size_t *out,
                     int *out_trunc);
    uint16_t (*send)(void *ud, int fd, const wasi_iov *iov, size_t n, size_t *out);
    uint16_t (*shutdown)(void *ud, int fd, int how); /* WASI_SHUT_* bits */
    /* waiting: timeout_ms < 0 waits forever; *out_ready counts fds with revents != 0;
     * WASI_EINTR may be returned */
    uint16_t (*poll)(void *ud, wasi_host_pollfd *fds, size_t n, int timeout_ms, size_t *out_ready);
    /* time (ns), randomness, scheduling; clock ids are WASI_CLOCK_* */
    uint16_t (*clock_get)(void *ud, uint32_t id, uint64_t *out);
    uint16_t (*clock_res)(void *ud, uint32_t id, uint64_t *out);
    uint16_t (*random)(void *ud, void *buf, size_t len);
    uint16_t (*yield)(void *ud);
} wasi_host;

/* State of the POSIX host. */
typedef struct wasi_posix {
    int openat2; /* [derived] -1 not probed yet, 0 unavailable or disabled, 1 available */
} wasi_posix;

/* The POSIX implementation; its `ud` is a wasi_posix. */
WAFT_INTERNAL extern const wasi_host wasi_posix_host;
/* Prepares a wasi_posix; `use_openat2` 0 never uses openat2. */
WAFT_INTERNAL void wasi_posix_init(wasi_posix *p, int use_openat2);
/* Maps a host errno value to a WASI errno. */
WAFT_INTERNAL uint16_t wasi_posix_errno(int host_errno);

/* ==== The state table ==== */

/* What a guest descriptor is, which decides how it is recreated at restore. */
typedef enum wasi_kind {
    WASI_KIND_FREE = 0, /* slot not in use */
    WASI_KIND_STDIO,    /* a standard stream: reattached to the new process's stream */
    WASI_KIND_PREOPEN,  /* a preopened directory: reopened from its (remappable) host path */
    WASI_KIND_FILE,     /* path_open of a non-directory: reopened by path, then seeked */
    WASI_KIND_DIR,      /* path_open of a directory: reopened by path */
    WASI_KIND_SOCKET,   /* a socket from the configuration (listening or connected) */
    WASI_KIND_ACCEPTED  /* a connection from sock_accept */
} wasi_kind;

/* One guest descriptor; the guest fd number is its index in waft_wasi.fds. The current
 * file offset is not kept: wasi_fd_inspect reads it from the host when asked. */
typedef struct wasi_fd {
    uint8_t kind;               /* [snap] wasi_kind */
    uint8_t filetype;           /* [snap] WASI_FILETYPE_* found at open (fdstat) */
    uint16_t oflags;            /* [snap] path_open oflags; CREAT/EXCL/TRUNC not redone */
    uint16_t fdflags;           /* [snap] current WASI fdflags (APPEND, NONBLOCK, sync) */
    uint8_t lookupflags;        /* [snap] path_open dirflags (SYMLINK_FOLLOW) */
    uint8_t unlinked;           /* [snap] the guest removed or replaced its path since */
    uint32_t origin;            /* [snap] preopen index the path is relative to; stream
                                   number for STDIO; config socket index for SOCKET;
                                   UINT32_MAX for ACCEPTED */
    char *path;                 /* [snap] path relative to preopen `origin` as the guest
                                   named it ("" for the preopen itself); NULL if none */
    uint64_t rights_base;       /* [snap] */
    uint64_t rights_inheriting; /* [snap] */
    uint64_t dir_cookie;        /* [snap] cookie after the last entry fd_readdir returned
                                   (where the host cursor stands) */
    int host;                   /* [derived] host descriptor */
    void *dir_cursor;           /* [derived] host directory stream, made on first readdir */
} wasi_fd;

/* A preopened directory as configured. */
typedef struct wasi_preopen {
    char *guest_path; /* [snap] the name the guest sees (fd_prestat_dir_name) */
    char *host_path;  /* [snap] host directory; another one may be given at restore */
} wasi_preopen;

/* Clocks as the guest sees them: guest = host + offset, clamped to never go below `last`.
 * Realtime keeps offset 0 (it is wall time wherever the guest runs). */
typedef struct wasi_clock {
    int64_t offset[WASI_NCLOCKS]; /* [snap] ns added to the host clock, per clock id */
    uint64_t last[WASI_NCLOCKS];  /* [snap] largest value given to the guest, per clock id */
} wasi_clock;

/* Number of preview1 functions. */
#define WASI_NFUNCS 46u

/* The env of one host function: the state and which function. */
typedef struct wasi_binding {
    waft_wasi *wasi; /* [derived] */
    uint32_t index;  /* [derived] in the function list of link.c */
} wasi_binding;

struct waft_wasi {
    waft_store *store; /* [derived] */

    char **args;        /* [snap] guest argv, nargs strings */
    uint32_t nargs;     /* [snap] */
    uint32_t args_size; /* [derived] bytes of all args with their NULs */
    char **env;         /* [snap] "NAME=VALUE" strings */
    uint32_t nenv;      /* [snap] */
    uint32_t env_size;  /* [derived] */

    wasi_preopen *preopens; /* [snap] in configuration order */
    uint32_t npreopens;     /* [snap] */
    int stdio[3];           /* [derived] host fds configured for 0/1/2 (-1: none) */
    uint32_t nsockets;      /* [derived] sockets in this process's configuration (an image
                               holds no socket: a checkpoint refuses them) */

    wasi_fd *fds;     /* [snap] descriptor table, indexed by guest fd */
    uint32_t nfds;    /* [snap] slots in use or free; slots >= nfds are free */
    uint32_t cap_fds; /* [derived] */

    wasi_clock clock;  /* [snap] */
    bool exited;       /* [snap] proc_exit was called */
    int32_t exit_code; /* [snap] its code */
    uint32_t flags;    /* [derived] WAFT_WASI_* flags of this process's configuration:
                          images record the saver's for information only, as a restored
                          image must not choose its own sandbox policy */

    const wasi_host *host; /* [derived] the OS (wasi_posix_host by default) */
    void *host_ud;         /* [derived] */
    wasi_posix posix;      /* [derived] state of the default host */

    waft_extern funcs[WASI_NFUNCS];     /* [derived] host functions made in the store */
    uint8_t have_func[WASI_NFUNCS];     /* [derived] which of funcs[] exist */
    wasi_binding bindings[WASI_NFUNCS]; /* [derived] env of each host function */
    wasi_iov iov[WASI_IOV_MAX];         /* [derived] scratch for one call's iovecs */
};

/* ==== One host call ==== */

/* What an implementation sees of a call. */
typedef struct wasi_ctx {
    waft_wasi *w;
    waft_call *call;
    uint8_t *mem;      /* linear memory 0 of the caller (NULL if none) */
    uint64_t mem_size; /* its size in bytes */
    bool tracked;      /* writes to it are tracked (waft_memory_track) */
    /* ranges the call may write, marked once it returns (a mark must follow its write) */
    uint32_t nranges;
    uint32_t range_ptr[8];
    uint64_t range_len[8];
    uint64_t span_lo, span_hi; /* bounds of every range, used when there are more than 8 */
    int32_t exit_code;         /* set with WASI_CTL_EXIT */
} wasi_ctx;

/* Implementations return a WASI errno (< 0x10000) or one of these outcomes. */
#define WASI_CTL_SUSPEND 0x10000u /* suspend before the call; it is made again on resume */
#define WASI_CTL_EXIT    0x10001u /* proc_exit with c->exit_code */

typedef uint32_t (*wasi_impl)(wasi_ctx *c, const uint64_t *args);

/* Notes a range the call may write, for write tracking (wasi_ctx_marks_flush). */
static inline void wasi_note_write(wasi_ctx *c, uint32_t ptr, uint64_t len)
{
    if (c->nranges < 8) {
        c->range_ptr[c->nranges] = ptr;
        c->range_len[c->nranges] = len;
    }
    c->nranges++;
    if (c->nranges == 1 || ptr < c->span_lo)
        c->span_lo = ptr;
    if (c->nranges == 1 || ptr + len > c->span_hi)
        c->span_hi = ptr + len;
}

/* Whether [ptr, ptr+len) lies in guest memory. */
static inline bool wasi_mem_ok(const wasi_ctx *c, uint32_t ptr, uint64_t len)
{
    if (len > c->mem_size || (uint64_t)ptr > c->mem_size - len)
        return false;
    /* any buffer a call may write: recorded for write tracking (buffers it only reads are
     * recorded too, which costs a resend at most) */
    if (c->tracked && len)
        wasi_note_write((wasi_ctx *)c, ptr, len);
    /* the kernel may read or write it (read(2) into it): pages still mapped lazily from an
     * image are opened first, or it would fail with EFAULT */
    waft_call_memory_touch(c->call, ptr, len);
    return true;
}

/* Copies a guest path (ptr, len) into buf (WASI_PATH_MAX + 1 bytes) with a NUL. EFAULT
 * outside memory, ENAMETOOLONG if too long, EILSEQ if it holds a NUL byte. */
WAFT_INTERNAL uint16_t wasi_mem_path(const wasi_ctx *c, uint32_t ptr, uint32_t len, char *buf);

/* Reads `n` guest iovecs (8 bytes each: ptr, len) at `iovs` into w->iov, checking every
 * buffer. Uses at most WASI_IOV_MAX of them and WASI_IO_MAX bytes in all. EFAULT if the
 * array or a buffer lies outside memory. */
WAFT_INTERNAL uint16_t wasi_mem_iovs(wasi_ctx *c, uint32_t iovs, uint32_t n, size_t *out_n);

/* Writes a preview1 filestat (64 bytes) at p. */
WAFT_INTERNAL void wasi_put_filestat(uint8_t *p, const wasi_host_stat *st);

/* Checks fstflags (EINVAL for unknown bits or both X and X_NOW) and makes a time update. */
WAFT_INTERNAL uint16_t wasi_times_from_flags(uint64_t atim, uint64_t mtim, uint32_t fst,
                                             wasi_host_times *t);

/* ==== Descriptor table (state.c) ==== */

/* The entry of guest fd `fd` if it is open and holds all of `rights`; otherwise NULL with
 * *out_err set to EBADF or ENOTCAPABLE. */
WAFT_INTERNAL wasi_fd *wasi_fd_get(waft_wasi *w, uint32_t fd, uint64_t rights, uint16_t *out_err);

/* Takes the lowest free guest fd number (>= 3), growing the table; EMFILE/ENOMEM. The new
 * entry is zeroed with host -1 and kind FREE until the caller fills it. */
WAFT_INTERNAL uint16_t wasi_fd_alloc(waft_wasi *w, uint32_t *out_fd);

/* Closes the host side of an entry and frees the slot. */
WAFT_INTERNAL void wasi_fd_release(waft_wasi *w, uint32_t fd);

/* Frees a directory cursor of an entry, if any (after a seek or rewind of the host fd). */
WAFT_INTERNAL void wasi_fd_drop_cursor(waft_wasi *w, wasi_fd *f);

/* Path of a new object named `path` (guest text) relative to directory entry `dir`, as
 * stored in wasi_fd.path: the directory's own path joined with `path`, with "." and
 * empty components removed. malloc'd; NULL on ENOMEM. */
WAFT_INTERNAL char *wasi_fd_join_path(const wasi_fd *dir, const char *path);

/* The guest removed (`is_rename` 0) or renamed the object at `path` relative to preopen
 * `origin`: entries opened by that path (or beneath it) now refer to `new_path` relative
 * to preopen `new_origin` (rename) or are marked unlinked. The comparison is textual, so
 * an object reached through a symlink or ".." is not followed (see docs/wasi.md). */
WAFT_INTERNAL void wasi_fd_paths_moved(waft_wasi *w, uint32_t origin, const char *path,
                                       uint32_t new_origin, const char *new_path, int is_rename);

/* Guest value of clock `id` (WASI_CLOCK_*), applying offset and monotonic clamp. */
WAFT_INTERNAL uint16_t wasi_clock_now(waft_wasi *w, uint32_t id, uint64_t *out);

/* ==== Inspection and rebuild, for the checkpoint code (state.c) ==== */

/* Live view of one descriptor. */
typedef struct wasi_fd_state {
    uint32_t guest_fd;
    const wasi_fd *entry; /* borrowed table entry (valid until the table changes) */
    int has_offset;       /* 1 if the descriptor is seekable and `offset` is valid */
    uint64_t offset;      /* current offset, read from the host now */
    int has_stat;         /* 1 if `stat` is valid */
    wasi_host_stat stat;  /* identity and size now, to check the file at restore */
} wasi_fd_state;

/* The first guest fd >= `from` that is open, or UINT32_MAX. Iterate with
 * for (fd = wasi_fd_next(w, 0); fd != UINT32_MAX; fd = wasi_fd_next(w, fd + 1)). */
WAFT_INTERNAL uint32_t wasi_fd_next(const waft_wasi *w, uint32_t from);

/* Fills *out for open guest fd `fd`, reading the offset and status from the host.
 * EBADF if it is not open; host errors of lseek/fstat only clear has_offset/has_stat. */
WAFT_INTERNAL uint16_t wasi_fd_inspect(waft_wasi *w, uint32_t fd, wasi_fd_state *out);

/* Closes every descriptor: an empty table, for a restore that recreates the saved one
 * exactly (a state made from a configuration already holds stdio, preopens and sockets at
 * their first numbers, which the guest may have closed or renumbered since). */
WAFT_INTERNAL void wasi_fd_reset(waft_wasi *w);

/* Recreates guest fd `fd` (which must be free) from a saved entry `rec` (its [snap]
 * fields) and offset: stdio reattaches to the configured stream, a preopen reopens its
 * host path, a file or directory is reopened beneath its preopen by its path with its
 * oflags (minus CREAT, EXCL, TRUNC), fdflags and rights, then seeked to `offset`. Returns
 * a WASI errno: ENOENT if the path is gone, EBADF if the preopen is not in this state,
 * ENOTSUP for sockets and unlinked files, EINVAL if the file is no longer of the same
 * kind or is smaller than `offset`. */
WAFT_INTERNAL uint16_t wasi_fd_restore(waft_wasi *w, uint32_t fd, const wasi_fd *rec,
                                       uint64_t offset);

/* The guest's current value of every clock (to save), and the inverse: set the offsets so
 * each clock continues from `saved` (monotonic and CPU clocks never go backwards). */
WAFT_INTERNAL void wasi_clock_save(waft_wasi *w, uint64_t out_saved[WASI_NCLOCKS]);
WAFT_INTERNAL void wasi_clock_restore(waft_wasi *w, const uint64_t saved[WASI_NCLOCKS]);

/* ==== State in images (snap.c) ==== */

/* Registers the "wasi" extension record with w's store: every image saved from that store
 * carries the table, and a restore into it rebuilds the table (docs/wasi.md). */
WAFT_INTERNAL waft_result wasi_state_register(waft_wasi *w);

/* ==== Sandbox (sandbox.c) ==== */

/* A guest path resolved beneath a directory: the last component `name` inside host
 * directory `dir`. `name` is never "..", contains no '/', and is "." when the path names
 * the directory itself. */
typedef struct wasi_resolved {
    int dir;                      /* host directory fd */
    bool dir_owned;               /* dir must be closed (wasi_sandbox_release) */
    bool must_be_dir;             /* the guest path ended with '/' */
    char name[WASI_NAME_MAX + 1]; /* last component */
} wasi_resolved;

/* Resolves `path` (NUL-terminated guest text) beneath host directory `base`. Symbolic
 * links in intermediate components are followed when they stay beneath `base`; the last
 * one only with `follow` (or a trailing '/'). ENOTCAPABLE for an absolute path, ".."
 * above `base`, or a link pointing out; ENOENT for an empty path; ELOOP past
 * WASI_SYMLOOP_MAX links; ENAMETOOLONG; or the host's error. On success release *out. */
WAFT_INTERNAL uint16_t wasi_sandbox_resolve(waft_wasi *w, int base, const char *path, bool follow,
                                            wasi_resolved *out);
WAFT_INTERNAL void wasi_sandbox_release(waft_wasi *w, wasi_resolved *r);

/* Opens `path` beneath `base` with WASI_HOST_O_* flags (NOFOLLOW in `flags` applies to
 * the last component only), through open_beneath when the host has it, else by
 * wasi_sandbox_resolve and a no-follow openat, retried if a symlink is swapped in. */
WAFT_INTERNAL uint16_t wasi_sandbox_open(waft_wasi *w, int base, const char *path, uint32_t flags,
                                         int *out_fd);

/* ==== Waiting (fd.c) ==== */

/* Waits until `f` is ready for `events` (WASI_POLL_IN/OUT) unless it cannot block (regular
 * file, directory) or the guest made it non-blocking. Returns 0 to go on, a WASI errno, or
 * WASI_CTL_SUSPEND when an interrupt of the store arrived while waiting. */
WAFT_INTERNAL uint32_t wasi_wait_ready(wasi_ctx *c, wasi_fd *f, uint16_t events);

/* ==== The 46 functions ==== */

/* X(name, params, has_result): `params` spells the wasm parameter types, 'i' for i32 and
 * 'I' for i64; every function returns an i32 errno except proc_exit. */
#define WASI_FUNC_LIST(X)                    \
    X(args_get, "ii", 1)                     \
    X(args_sizes_get, "ii", 1)               \
    X(environ_get, "ii", 1)                  \
    X(environ_sizes_get, "ii", 1)            \
    X(clock_res_get, "ii", 1)                \
    X(clock_time_get, "iIi", 1)              \
    X(fd_advise, "iIIi", 1)                  \
    X(fd_allocate, "iII", 1)                 \
    X(fd_close, "i", 1)                      \
    X(fd_datasync, "i", 1)                   \
    X(fd_fdstat_get, "ii", 1)                \
    X(fd_fdstat_set_flags, "ii", 1)          \
    X(fd_fdstat_set_rights, "iII", 1)        \
    X(fd_filestat_get, "ii", 1)              \
    X(fd_filestat_set_size, "iI", 1)         \
    X(fd_filestat_set_times, "iIIi", 1)      \
    X(fd_pread, "iiiIi", 1)                  \
    X(fd_prestat_get, "ii", 1)               \
    X(fd_prestat_dir_name, "iii", 1)         \
    X(fd_pwrite, "iiiIi", 1)                 \
    X(fd_read, "iiii", 1)                    \
    X(fd_readdir, "iiiIi", 1)                \
    X(fd_renumber, "ii", 1)                  \
    X(fd_seek, "iIii", 1)                    \
    X(fd_sync, "i", 1)                       \
    X(fd_tell, "ii", 1)                      \
    X(fd_write, "iiii", 1)                   \
    X(path_create_directory, "iii", 1)       \
    X(path_filestat_get, "iiiii", 1)         \
    X(path_filestat_set_times, "iiiiIIi", 1) \
    X(path_link, "iiiiiii", 1)               \
    X(path_open, "iiiiiIIii", 1)             \
    X(path_readlink, "iiiiii", 1)            \
    X(path_remove_directory, "iii", 1)       \
    X(path_rename, "iiiiii", 1)              \
    X(path_symlink, "iiiii", 1)              \
    X(path_unlink_file, "iii", 1)            \
    X(poll_oneoff, "iiii", 1)                \
    X(proc_exit, "i", 0)                     \
    X(proc_raise, "i", 1)                    \
    X(sched_yield, "", 1)                    \
    X(random_get, "ii", 1)                   \
    X(sock_accept, "iii", 1)                 \
    X(sock_recv, "iiiiii", 1)                \
    X(sock_send, "iiiii", 1)                 \
    X(sock_shutdown, "ii", 1)

#define WASI_X_DECLARE(name, params, has_result) \
    WAFT_INTERNAL uint32_t wasi_call_##name(wasi_ctx *c, const uint64_t *args);
WASI_FUNC_LIST(WASI_X_DECLARE)
#undef WASI_X_DECLARE

/* Argument helpers: i32 and i64 parameters as raw slots. */
static inline uint32_t wasi_arg32(const uint64_t *args, int i)
{
    return (uint32_t)args[i];
}
static inline uint64_t wasi_arg64(const uint64_t *args, int i)
{
    return args[i];
}

#endif
