/* SPDX-License-Identifier: MIT */
/* sandbox.c - attempts to leave the preopened directory, and wild pointers. WASI only: it
 * calls the preview1 functions directly (not through wasi-libc's path handling), so each
 * attempt reaches the runtime exactly as written.
 *
 * run.sh runs it with the preopen "." on DIR/box, where DIR/outside/secret.txt holds
 * "SECRET" and box/ holds file.txt plus links the guest cannot make itself (absolute
 * targets): root -> /, pw -> /etc/passwd, proc -> /proc/self/root. Every attempt prints one
 * line "escape NN WHAT: blocked (ERRNO)" or "... ESCAPED"; control cases that must work
 * print "allowed". Exits 1 if anything escaped or a control failed.
 */
#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <wasi/api.h>

#define PRE 3 /* the preopened directory */

/* path_open as imported, with an explicit path length (wasi-libc's wrapper takes strlen). */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open"))) int32_t
raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len, int32_t oflags,
              int64_t base, int64_t inheriting, int32_t fdflags, int32_t out_fd);

static int escaped, attempts, controls_failed;

static const char *wname(__wasi_errno_t e)
{
    switch (e) {
    case __WASI_ERRNO_SUCCESS:
        return "success";
    case __WASI_ERRNO_NOTCAPABLE:
        return "ENOTCAPABLE";
    case __WASI_ERRNO_NOENT:
        return "ENOENT";
    case __WASI_ERRNO_NOTDIR:
        return "ENOTDIR";
    case __WASI_ERRNO_LOOP:
        return "ELOOP";
    case __WASI_ERRNO_FAULT:
        return "EFAULT";
    case __WASI_ERRNO_INVAL:
        return "EINVAL";
    case __WASI_ERRNO_ILSEQ:
        return "EILSEQ";
    case __WASI_ERRNO_NAMETOOLONG:
        return "ENAMETOOLONG";
    case __WASI_ERRNO_BADF:
        return "EBADF";
    case __WASI_ERRNO_EXIST:
        return "EEXIST";
    case __WASI_ERRNO_PERM:
        return "EPERM";
    case __WASI_ERRNO_ACCES:
        return "EACCES";
    case __WASI_ERRNO_ISDIR:
        return "EISDIR";
    case __WASI_ERRNO_NOTEMPTY:
        return "ENOTEMPTY";
    case __WASI_ERRNO_BUSY:
        return "EBUSY";
    default:
        return "E?";
    }
}

/* Records an attempt that must fail. */
static void attempt(const char *what, __wasi_errno_t e)
{
    attempts++;
    if (e == __WASI_ERRNO_SUCCESS) {
        escaped++;
        printf("escape %02d %s: ESCAPED\n", attempts, what);
    } else {
        printf("escape %02d %s: blocked (%s)\n", attempts, what, wname(e));
    }
}

/* A case that must succeed: the sandbox is not just refusing everything. */
static void control(const char *what, __wasi_errno_t e)
{
    if (e != __WASI_ERRNO_SUCCESS)
        controls_failed++;
    printf("control %s: %s\n", what, e == __WASI_ERRNO_SUCCESS ? "allowed" : wname(e));
}

static __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t look,
                              __wasi_oflags_t oflags, __wasi_fd_t *out)
{
    __wasi_fd_t fd = (__wasi_fd_t)-1;
    __wasi_errno_t e =
        __wasi_path_open(dir, look, path, oflags, ~(__wasi_rights_t)0, ~(__wasi_rights_t)0, 0, &fd);
    if (out != NULL)
        *out = fd;
    else if (e == 0)
        (void)__wasi_fd_close(fd);
    return e;
}

/* Opens a file and, if that worked, reads it to show what leaked. */
static __wasi_errno_t open_read(const char *path, __wasi_lookupflags_t look)
{
    __wasi_fd_t fd;
    __wasi_errno_t e = open_at(PRE, path, look, 0, &fd);
    if (e == 0) {
        char buf[32] = { 0 };
        __wasi_iovec_t iov = { (uint8_t *)buf, sizeof buf - 1 };
        __wasi_size_t n = 0;
        (void)__wasi_fd_read(fd, &iov, 1, &n);
        buf[strcspn(buf, "\n")] = '\0';
        printf("  read through %s: \"%s\"\n", path, buf);
        (void)__wasi_fd_close(fd);
    }
    return e;
}

static void paths(void)
{
    const __wasi_lookupflags_t F = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
    __wasi_filestat_t st;
    __wasi_fd_t sub = 0, dot = 0;
    __wasi_size_t used;
    char buf[64];

    /* links the guest may make: relative targets are allowed, following them out is not */
    control("symlink up -> ..", __wasi_path_symlink("..", PRE, "up"));
    control("symlink chain1 -> chain2", __wasi_path_symlink("chain2", PRE, "chain1"));
    control("symlink chain2 -> sub/../..", __wasi_path_symlink("sub/../..", PRE, "chain2"));
    control("mkdir sub", __wasi_path_create_directory(PRE, "sub"));
    control("mkdir sub/deep", __wasi_path_create_directory(PRE, "sub/deep"));
    control("symlink sub/esc -> ../../outside",
            __wasi_path_symlink("../../outside", PRE, "sub/esc"));
    control("symlink dangle -> ../outside/created.txt",
            __wasi_path_symlink("../outside/created.txt", PRE, "dangle"));
    control("symlink loopy -> loopy/..", __wasi_path_symlink("loopy/..", PRE, "loopy"));
    control("symlink inner -> sub", __wasi_path_symlink("sub", PRE, "inner"));
    control("symlink sub/back -> ../file.txt", __wasi_path_symlink("../file.txt", PRE, "sub/back"));

    /* controls: inside the box, through "..", links and a subdirectory */
    control("open file.txt", open_read("file.txt", F));
    control("open sub/../file.txt", open_read("sub/../file.txt", F));
    control("open sub/deep/../../file.txt", open_read("sub/deep/../../file.txt", F));
    control("open sub/back (link inside)", open_read("sub/back", F));
    control("open inner/../file.txt", open_read("inner/../file.txt", F));
    control("readlink up", __wasi_path_readlink(PRE, "up", (uint8_t *)buf, sizeof buf, &used));

    attempt("absolute path /etc/passwd", open_read("/etc/passwd", F));
    attempt("absolute path /", open_at(PRE, "/", F, __WASI_OFLAGS_DIRECTORY, NULL));
    attempt("../outside/secret.txt", open_read("../outside/secret.txt", F));
    attempt("sub/../../outside/secret.txt", open_read("sub/../../outside/secret.txt", F));
    attempt("sub/deep/../../../outside/secret.txt",
            open_read("sub/deep/../../../outside/secret.txt", F));
    attempt("./../outside/secret.txt", open_read("./../outside/secret.txt", F));
    attempt("sub//..//..//outside/secret.txt", open_read("sub//..//..//outside/secret.txt", F));
    attempt("symlink to / (root/etc/passwd)", open_read("root/etc/passwd", F));
    attempt("symlink to /etc/passwd (pw)", open_read("pw", F));
    attempt("symlink to /proc/self/root", open_read("proc/etc/passwd", F));
    attempt("symlink up -> .. (up/outside/secret.txt)", open_read("up/outside/secret.txt", F));
    attempt("symlink chain to ../.. (chain1/outside/...)",
            open_read("chain1/outside/secret.txt", F));
    attempt("nested symlink sub/esc -> ../../outside", open_read("sub/esc/secret.txt", F));
    attempt("symlink loop loopy/..", open_read("loopy/file.txt", F));
    attempt("open .. as directory", open_at(PRE, "..", F, __WASI_OFLAGS_DIRECTORY, NULL));
    attempt("open up as directory (follow)", open_at(PRE, "up", F, __WASI_OFLAGS_DIRECTORY, NULL));
    attempt("open up/ (trailing slash follows)", open_at(PRE, "up/", 0, 0, NULL));
    if (open_at(PRE, ".", F, __WASI_OFLAGS_DIRECTORY, &dot) == 0) {
        attempt("'..' from a descriptor of '.'", open_at(dot, "..", F, 0, NULL));
        (void)__wasi_fd_close(dot);
    }
    if (open_at(PRE, "sub", F, __WASI_OFLAGS_DIRECTORY, &sub) == 0) {
        attempt("'..' above an opened subdirectory", open_at(sub, "../file.txt", F, 0, NULL));
        attempt("symlink in a subdirectory to ../..", open_at(sub, "esc", F, 0, NULL));
    }
    attempt("create through dangling symlink to outside",
            open_at(PRE, "dangle", F, __WASI_OFLAGS_CREAT, NULL));
    attempt("mkdir ../newdir", __wasi_path_create_directory(PRE, "../newdir"));
    attempt("mkdir up/newdir", __wasi_path_create_directory(PRE, "up/newdir"));
    attempt("symlink with absolute target", __wasi_path_symlink("/etc/passwd", PRE, "abs"));
    attempt("symlink created outside (../evil)", __wasi_path_symlink("x", PRE, "../evil"));
    attempt("hard link from ../outside/secret.txt",
            __wasi_path_link(PRE, 0, "../outside/secret.txt", PRE, "hl1"));
    attempt("hard link from up/outside/secret.txt",
            __wasi_path_link(PRE, 0, "up/outside/secret.txt", PRE, "hl2"));
    attempt("hard link following pw -> /etc/passwd", __wasi_path_link(PRE, F, "pw", PRE, "hl3"));
    attempt("hard link to ../outside/hl",
            __wasi_path_link(PRE, 0, "file.txt", PRE, "../outside/hl"));
    attempt("rename file.txt to ../moved.txt",
            __wasi_path_rename(PRE, "file.txt", PRE, "../moved.txt"));
    attempt("rename up/outside/secret.txt in",
            __wasi_path_rename(PRE, "up/outside/secret.txt", PRE, "stolen.txt"));
    attempt("unlink ../outside/secret.txt", __wasi_path_unlink_file(PRE, "../outside/secret.txt"));
    attempt("unlink up/outside/secret.txt", __wasi_path_unlink_file(PRE, "up/outside/secret.txt"));
    attempt("rmdir ..", __wasi_path_remove_directory(PRE, ".."));
    attempt("rmdir up/outside", __wasi_path_remove_directory(PRE, "up/outside"));
    attempt("stat ../outside/secret.txt",
            __wasi_path_filestat_get(PRE, 0, "../outside/secret.txt", &st));
    attempt("stat up (follow)", __wasi_path_filestat_get(PRE, F, "up", &st));
    attempt("stat up/. ", __wasi_path_filestat_get(PRE, 0, "up/.", &st));
    attempt("stat root (follow)", __wasi_path_filestat_get(PRE, F, "root", &st));
    attempt("set times on up/outside/secret.txt",
            __wasi_path_filestat_set_times(PRE, 0, "up/outside/secret.txt", 0, 0,
                                           __WASI_FSTFLAGS_MTIM_NOW));
    attempt("readlink through up/",
            __wasi_path_readlink(PRE, "up/up", (uint8_t *)buf, sizeof buf, &used));
    {
        static char deep[5000];
        size_t n = 0;
        while (n + 3 < 4500) {
            memcpy(deep + n, "../", 3);
            n += 3;
        }
        deep[n] = '\0';
        attempt("1500 x ../ (too long)", open_at(PRE, deep, F, 0, NULL));
        deep[60] = '\0';
        attempt("20 x ../", open_at(PRE, deep, F, 0, NULL));
    }
    {
        /* a NUL inside the path: the host must not see "file.txt" and stop there */
        static const char p[] = "file.txt\0/../../outside/secret.txt";
        static __wasi_fd_t fd;
        attempt("path with a NUL byte",
                (__wasi_errno_t)raw_path_open(PRE, F, (int32_t)(uintptr_t)p, sizeof p - 1, 0, -1, 0,
                                              0, (int32_t)(uintptr_t)&fd));
    }
    attempt("open relative to stdout", open_at(1, "x", F, 0, NULL));
    attempt("open with a closed descriptor", open_at(99, "file.txt", F, 0, NULL));
}

/* Raw calls with pointers that do not fit in memory: all EFAULT, never host memory. */
static void pointers(void)
{
    uint32_t mem = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
    uint8_t *end = (uint8_t *)(uintptr_t)mem; /* one past the last byte */
    __wasi_ciovec_t ok = { (const uint8_t *)"x", 1 };
    __wasi_ciovec_t bad = { end - 2, 100 };
    __wasi_ciovec_t wrap = { (const uint8_t *)(uintptr_t)0xFFFFFF00u, 0x200 };
    __wasi_size_t n;
    __wasi_fd_t fd;
    __wasi_filestat_t st;

    attempt("fd_write iovec array past memory",
            __wasi_fd_write(1, (const __wasi_ciovec_t *)(end - 4), 1, &n));
    attempt("fd_write buffer past memory", __wasi_fd_write(1, &bad, 1, &n));
    attempt("fd_write buffer wrapping 32 bits", __wasi_fd_write(1, &wrap, 1, &n));
    attempt("fd_write huge iovec count", __wasi_fd_write(1, &ok, 0x20000000, &n));
    attempt("fd_write result pointer past memory",
            __wasi_fd_write(1, &ok, 1, (__wasi_size_t *)(end - 2)));
    attempt("fd_read buffer past memory", __wasi_fd_read(0, (const __wasi_iovec_t *)&bad, 1, &n));
    attempt("path_open path past memory",
            (__wasi_errno_t)raw_path_open(PRE, 0, (int32_t)(mem - 3), 10, 0, -1, 0, 0,
                                          (int32_t)(uintptr_t)&fd));
    attempt("path_open path length wrapping 32 bits",
            (__wasi_errno_t)raw_path_open(PRE, 0, (int32_t)(uintptr_t) "file.txt", -1, 0, -1, 0, 0,
                                          (int32_t)(uintptr_t)&fd));
    attempt("path_open result pointer past memory (with O_CREAT)",
            __wasi_path_open(PRE, 0, "efault-created.txt", __WASI_OFLAGS_CREAT, ~(__wasi_rights_t)0,
                             0, 0, (__wasi_fd_t *)(end - 1)));
    control("efault-created.txt was not created",
            __wasi_path_filestat_get(PRE, 0, "efault-created.txt", &st) == __WASI_ERRNO_NOENT
                ? 0
                : __WASI_ERRNO_EXIST);
    attempt("args_get pointers past memory", __wasi_args_get((uint8_t **)(end - 4), end - 1));
    attempt("environ_sizes_get past memory",
            __wasi_environ_sizes_get((__wasi_size_t *)end, (__wasi_size_t *)end));
    attempt("random_get past memory", __wasi_random_get(end - 8, 64));
    attempt("clock_time_get result past memory",
            __wasi_clock_time_get(0, 0, (__wasi_timestamp_t *)(end - 4)));
    attempt("poll_oneoff subscriptions past memory",
            __wasi_poll_oneoff((const __wasi_subscription_t *)(end - 8), (__wasi_event_t *)end - 1,
                               1, &n));
    attempt("fd_readdir buffer past memory", __wasi_fd_readdir(PRE, end - 16, 4096, 0, &n));
    attempt("fd_prestat_dir_name past memory", __wasi_fd_prestat_dir_name(PRE, end, 1));
    attempt("fd_filestat_get past memory", __wasi_fd_filestat_get(PRE, (__wasi_filestat_t *)end));
}

int main(void)
{
    paths();
    pointers();
    printf("sandbox: %d attempts, %d escaped, %d controls failed\n", attempts, escaped,
           controls_failed);
    return escaped || controls_failed ? 1 : 0;
}
