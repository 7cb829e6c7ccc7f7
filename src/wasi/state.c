/* SPDX-License-Identifier: MIT */
/* state.c - the WASI state table: creation from a configuration, the descriptor table,
 * recorded paths, clocks, and the inspection/rebuild functions the checkpoint code uses.
 *
 * Invariants:
 *  - Guest fds 0..2 are the standard streams (when configured), preopens follow from 3 in
 *    configuration order, then configured sockets; later descriptors take the lowest free
 *    number >= 3 (deterministic, so a replay or a restore sees the same numbers).
 *  - An entry of kind FREE holds no host resource (host == -1, path == NULL, no cursor).
 *  - Every entry's rights are within its kind's rights set (WASI_RIGHTS_FILE/DIR/STREAM).
 */
#include "wasi/wasi.h"

#include <waft/waft_snapshot.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Small helpers ==== */

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* Fills *err (if any); `fmt` takes up to two strings. */
static void set_error(waft_error *err, waft_result code, const char *fmt, const char *a,
                      const char *b)
{
    if (err == NULL)
        return;
    err->code = code;
    err->offset = -1;
    err->func = -1;
    snprintf(err->message, sizeof err->message, fmt, a, b);
}

/* Words for the errors a configured directory or descriptor can meet. */
static const char *errno_text(uint16_t e)
{
    switch (e) {
    case WASI_ENOENT:
        return "no such file or directory";
    case WASI_ENOTDIR:
        return "not a directory";
    case WASI_EACCES:
        return "permission denied";
    case WASI_ELOOP:
        return "too many levels of symbolic links";
    case WASI_EMFILE:
    case WASI_ENFILE:
        return "too many open files";
    case WASI_ENOMEM:
        return "out of memory";
    case WASI_EBADF:
        return "bad file descriptor";
    default:
        return "system error";
    }
}

/* ==== Descriptor table ==== */

wasi_fd *wasi_fd_get(waft_wasi *w, uint32_t fd, uint64_t rights, uint16_t *out_err)
{
    wasi_fd *f;

    if (fd >= w->nfds || w->fds[fd].kind == WASI_KIND_FREE) {
        *out_err = WASI_EBADF;
        return NULL;
    }
    f = &w->fds[fd];
    if ((f->rights_base & rights) != rights) {
        *out_err = WASI_ENOTCAPABLE;
        return NULL;
    }
    *out_err = 0;
    return f;
}

static uint16_t ensure_slots(waft_wasi *w, uint32_t need)
{
    uint32_t cap;
    wasi_fd *p;

    if (need <= w->cap_fds)
        return 0;
    if (need > WASI_FD_MAX)
        return WASI_EMFILE;
    cap = w->cap_fds < 8 ? 8 : w->cap_fds;
    while (cap < need)
        cap = cap > WASI_FD_MAX / 2 ? WASI_FD_MAX : cap * 2;
    p = realloc(w->fds, (size_t)cap * sizeof *p);
    if (p == NULL)
        return WASI_ENOMEM;
    for (uint32_t i = w->cap_fds; i < cap; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].host = -1;
    }
    w->fds = p;
    w->cap_fds = cap;
    return 0;
}

/* Makes slot `fd` part of the table (nfds > fd), free. */
static uint16_t reserve(waft_wasi *w, uint32_t fd)
{
    uint16_t err;

    if (fd >= WASI_FD_MAX)
        return WASI_EMFILE;
    err = ensure_slots(w, fd + 1);
    if (err != 0)
        return err;
    if (w->nfds <= fd)
        w->nfds = fd + 1;
    return 0;
}

uint16_t wasi_fd_alloc(waft_wasi *w, uint32_t *out_fd)
{
    uint32_t fd = 3;
    uint16_t err;

    while (fd < w->nfds && w->fds[fd].kind != WASI_KIND_FREE)
        fd++;
    err = reserve(w, fd);
    if (err != 0)
        return err;
    *out_fd = fd;
    return 0;
}

void wasi_fd_drop_cursor(waft_wasi *w, wasi_fd *f)
{
    if (f->dir_cursor != NULL) {
        w->host->dir_free(w->host_ud, f->dir_cursor);
        f->dir_cursor = NULL;
    }
}

void wasi_fd_release(waft_wasi *w, uint32_t fd)
{
    wasi_fd *f = &w->fds[fd];

    wasi_fd_drop_cursor(w, f);
    if (f->host >= 0)
        w->host->close(w->host_ud, f->host);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->host = -1;
    while (w->nfds > 0 && w->fds[w->nfds - 1].kind == WASI_KIND_FREE)
        w->nfds--;
}

/* ==== Recorded paths ==== */

/* Appends the components of `path` to buf (holding `len` bytes), skipping empty and "."
 * components. Returns the new length, or (size_t)-1 if it would not fit in `cap`. */
static size_t append_components(char *buf, size_t len, size_t cap, const char *path)
{
    const char *p = path;

    while (*p != '\0') {
        const char *end = p;
        size_t n;
        while (*end != '\0' && *end != '/')
            end++;
        n = (size_t)(end - p);
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (len + (len > 0) + n + 1 > cap)
                return (size_t)-1;
            if (len > 0)
                buf[len++] = '/';
            memcpy(buf + len, p, n);
            len += n;
            buf[len] = '\0';
        }
        p = *end == '/' ? end + 1 : end;
    }
    return len;
}

char *wasi_fd_join_path(const wasi_fd *dir, const char *path)
{
    size_t cap = (dir->path != NULL ? strlen(dir->path) : 0) + strlen(path) + 2;
    char *buf = malloc(cap);
    size_t len = 0;

    if (buf == NULL)
        return NULL;
    buf[0] = '\0';
    if (dir->path != NULL)
        len = append_components(buf, len, cap, dir->path);
    if (len != (size_t)-1)
        len = append_components(buf, len, cap, path);
    if (len == (size_t)-1) {
        free(buf);
        return NULL;
    }
    return buf;
}

void wasi_fd_paths_moved(waft_wasi *w, uint32_t origin, const char *path, uint32_t new_origin,
                         const char *new_path, int is_rename)
{
    size_t n = strlen(path);

    if (n == 0)
        return; /* the preopen itself is never removed or renamed by the guest */
    for (uint32_t i = 0; i < w->nfds; i++) {
        wasi_fd *f = &w->fds[i];
        if ((f->kind != WASI_KIND_FILE && f->kind != WASI_KIND_DIR) || f->origin != origin ||
            f->path == NULL || f->unlinked)
            continue;
        if (strncmp(f->path, path, n) != 0 || (f->path[n] != '\0' && f->path[n] != '/'))
            continue;
        if (!is_rename) {
            f->unlinked = 1;
            continue;
        }
        size_t rest = strlen(f->path + n);
        size_t m = strlen(new_path);
        char *p = malloc(m + rest + 1);
        if (p == NULL) {
            f->unlinked = 1; /* cannot record the new name: restore must refuse it */
            continue;
        }
        memcpy(p, new_path, m);
        memcpy(p + m, f->path + n, rest + 1);
        free(f->path);
        f->path = p;
        f->origin = new_origin;
    }
}

/* ==== Clocks ==== */

uint16_t wasi_clock_now(waft_wasi *w, uint32_t id, uint64_t *out)
{
    uint64_t host, v;
    uint16_t err;

    if (id >= WASI_NCLOCKS)
        return WASI_EINVAL;
    err = w->host->clock_get(w->host_ud, id, &host);
    if (err != 0)
        return err;
    v = host + (uint64_t)w->clock.offset[id]; /* two's complement: adds a negative offset */
    if (id != WASI_CLOCK_REALTIME) {
        if (v < w->clock.last[id])
            v = w->clock.last[id];
        w->clock.last[id] = v;
    }
    *out = v;
    return 0;
}

void wasi_clock_save(waft_wasi *w, uint64_t out_saved[WASI_NCLOCKS])
{
    for (uint32_t id = 0; id < WASI_NCLOCKS; id++) {
        if (wasi_clock_now(w, id, &out_saved[id]) != 0)
            out_saved[id] = w->clock.last[id];
    }
}

void wasi_clock_restore(waft_wasi *w, const uint64_t saved[WASI_NCLOCKS])
{
    for (uint32_t id = 0; id < WASI_NCLOCKS; id++) {
        uint64_t host = 0;
        if (id == WASI_CLOCK_REALTIME)
            continue;
        if (w->host->clock_get(w->host_ud, id, &host) != 0)
            host = 0;
        w->clock.offset[id] = (int64_t)(saved[id] - host);
        w->clock.last[id] = saved[id];
    }
}

/* ==== Creation ==== */

void waft_wasi_config_init(waft_wasi_config *config)
{
    if (config == NULL)
        return;
    memset(config, 0, sizeof *config);
    config->stdin_fd = 0;
    config->stdout_fd = 1;
    config->stderr_fd = 2;
}

/* Copies `n` strings; *out_size gets their total size with NULs (ENOMEM/E2BIG as -1). */
static int copy_strings(const char *const *src, uint32_t n, char ***out, uint32_t *out_size)
{
    uint64_t size = 0;
    char **v = calloc((size_t)n + 1, sizeof *v);

    if (v == NULL)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        v[i] = dup_string(src[i]);
        if (v[i] == NULL)
            goto fail;
        size += strlen(v[i]) + 1;
    }
    if (size > UINT32_MAX)
        goto fail;
    *out = v;
    *out_size = (uint32_t)size;
    return 0;
fail:
    for (uint32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

static void free_strings(char **v, uint32_t n)
{
    if (v == NULL)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int strings_ok(const char *const *v, uint32_t n)
{
    if (n > 0 && v == NULL)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == NULL)
            return 0;
    return 1;
}

static waft_result config_error(waft_error *err, waft_result code, const char *msg, const char *a,
                                const char *b)
{
    set_error(err, code, msg, a, b);
    return code;
}

/* Opens host directory `path` for a preopen (trusted configuration: resolved as the host
 * would, symlinks included). */
static uint16_t open_preopen(waft_wasi *w, const char *path, int *out)
{
    return w->host->open_dir(w->host_ud, path, out);
}

waft_result waft_wasi_new(waft_store *store, const waft_wasi_config *config, waft_wasi **out_wasi,
                          waft_error *out_err)
{
    waft_wasi *w = NULL;
    waft_result r = WAFT_ERR_NOMEM;
    uint16_t e;
    const int stdio_cfg[3] = { config ? config->stdin_fd : -1, config ? config->stdout_fd : -1,
                               config ? config->stderr_fd : -1 };

    if (out_err != NULL)
        memset(out_err, 0, sizeof *out_err);
    if (out_wasi == NULL)
        return WAFT_ERR_INVALID_ARG;
    *out_wasi = NULL;
    if (store == NULL || config == NULL)
        return config_error(out_err, WAFT_ERR_INVALID_ARG, "%s", "no store or configuration", NULL);
    if (!strings_ok(config->argv, config->argc) || !strings_ok(config->envp, config->envc))
        return config_error(out_err, WAFT_ERR_INVALID_ARG, "%s", "NULL argument or variable", NULL);
    if (config->npreopens > 0 && config->preopens == NULL)
        return config_error(out_err, WAFT_ERR_INVALID_ARG, "%s", "NULL preopen list", NULL);
    for (uint32_t i = 0; i < config->npreopens; i++) {
        const waft_wasi_preopen *p = &config->preopens[i];
        if (p->host_path == NULL || p->guest_path == NULL || p->host_path[0] == '\0' ||
            p->guest_path[0] == '\0')
            return config_error(out_err, WAFT_ERR_INVALID_ARG, "%s",
                                "a preopen needs a host path and a guest name", NULL);
    }
    if (config->nsockets > 0 && config->sockets == NULL)
        return config_error(out_err, WAFT_ERR_INVALID_ARG, "%s", "NULL socket list", NULL);

    w = calloc(1, sizeof *w);
    if (w == NULL)
        return config_error(out_err, WAFT_ERR_NOMEM, "%s", "out of memory", NULL);
    w->store = store;
    w->flags = config->flags;
    w->host = &wasi_posix_host;
    w->host_ud = &w->posix;
    wasi_posix_init(&w->posix, (config->flags & WAFT_WASI_NO_OPENAT2) == 0);
    for (int i = 0; i < 3; i++)
        w->stdio[i] = -1;
    for (uint32_t i = 0; i < WASI_NFUNCS; i++) {
        w->bindings[i].wasi = w;
        w->bindings[i].index = i;
    }

    if (copy_strings(config->argv, config->argc, &w->args, &w->args_size) != 0)
        goto nomem;
    w->nargs = config->argc;
    if (copy_strings(config->envp, config->envc, &w->env, &w->env_size) != 0)
        goto nomem;
    w->nenv = config->envc;

    /* standard streams: our own duplicates, so the guest closing one leaves the host's */
    if (ensure_slots(w, 3) != 0)
        goto nomem;
    w->nfds = 3;
    for (uint32_t i = 0; i < 3; i++) {
        wasi_fd *f = &w->fds[i];
        wasi_host_stat st;
        if (stdio_cfg[i] < 0)
            continue;
        e = w->host->dup(w->host_ud, stdio_cfg[i], &f->host);
        if (e != 0) {
            r = config_error(out_err, WAFT_ERR_IO, "cannot use standard stream %s: %s",
                             i == 0   ? "0"
                             : i == 1 ? "1"
                                      : "2",
                             errno_text(e));
            goto fail;
        }
        w->stdio[i] = stdio_cfg[i];
        f->kind = WASI_KIND_STDIO;
        f->origin = i;
        f->filetype = WASI_FILETYPE_UNKNOWN;
        if (w->host->fstat(w->host_ud, f->host, &st) == 0)
            f->filetype = st.filetype;
        f->rights_base =
            f->filetype == WASI_FILETYPE_REGULAR_FILE ? WASI_RIGHTS_FILE : WASI_RIGHTS_STREAM;
        f->rights_inheriting = 0;
    }

    /* preopened directories */
    w->preopens = calloc((size_t)config->npreopens + 1, sizeof *w->preopens);
    if (w->preopens == NULL)
        goto nomem;
    for (uint32_t i = 0; i < config->npreopens; i++) {
        const waft_wasi_preopen *p = &config->preopens[i];
        wasi_preopen *pre = &w->preopens[i];
        uint32_t fd;
        wasi_fd *f;
        pre->guest_path = dup_string(p->guest_path);
        w->npreopens = i + 1;
        if (pre->guest_path == NULL)
            goto nomem;
        /* absolute, so that an image names the same directory wherever it is restored
         * from (--keep-dirs); opened by that name, so it is what the guest gets */
        e = w->host->abs_path(w->host_ud, p->host_path, &pre->host_path);
        if (e != 0) {
            r = config_error(out_err, e == WASI_ENOMEM ? WAFT_ERR_NOMEM : WAFT_ERR_IO,
                             "cannot make directory '%s' absolute: %s", p->host_path,
                             errno_text(e));
            goto fail;
        }
        if (wasi_fd_alloc(w, &fd) != 0)
            goto nomem;
        f = &w->fds[fd];
        e = open_preopen(w, pre->host_path, &f->host);
        if (e != 0) {
            f->host = -1;
            r = config_error(out_err, WAFT_ERR_IO, "cannot open directory '%s': %s", p->host_path,
                             errno_text(e));
            goto fail;
        }
        f->kind = WASI_KIND_PREOPEN;
        f->filetype = WASI_FILETYPE_DIRECTORY;
        f->origin = i;
        f->path = dup_string("");
        if (f->path == NULL)
            goto nomem;
        f->rights_base = WASI_RIGHTS_DIR;
        f->rights_inheriting = WASI_RIGHTS_DIR | WASI_RIGHTS_FILE;
    }

    /* sockets */
    for (uint32_t i = 0; i < config->nsockets; i++) {
        uint32_t fd;
        wasi_fd *f;
        wasi_host_stat st;
        if (wasi_fd_alloc(w, &fd) != 0)
            goto nomem;
        f = &w->fds[fd];
        e = w->host->dup(w->host_ud, config->sockets[i], &f->host);
        if (e != 0) {
            f->host = -1;
            r = config_error(out_err, WAFT_ERR_IO, "cannot use a configured socket: %s",
                             errno_text(e), NULL);
            goto fail;
        }
        f->kind = WASI_KIND_SOCKET;
        f->origin = i;
        f->filetype = WASI_FILETYPE_SOCKET_STREAM;
        if (w->host->fstat(w->host_ud, f->host, &st) == 0)
            f->filetype = st.filetype;
        f->rights_base = WASI_RIGHTS_STREAM;
        f->rights_inheriting = WASI_RIGHTS_STREAM;
        w->nsockets = i + 1;
    }

    /* images saved from this store carry the WASI state (snap.c); a second WASI state in
     * the same store (tests do this) is not registered: images hold the first one */
    if (wasi_state_register(w) == WAFT_ERR_NOMEM)
        goto nomem;
    *out_wasi = w;
    return WAFT_OK;

nomem:
    r = config_error(out_err, WAFT_ERR_NOMEM, "%s", "out of memory", NULL);
fail:
    waft_wasi_free(w);
    return r;
}

void waft_wasi_free(waft_wasi *w)
{
    if (w == NULL)
        return;
    waft_store_remove_state(w->store, "wasi", w);
    for (uint32_t i = 0; i < w->nfds; i++)
        if (w->fds[i].kind != WASI_KIND_FREE)
            wasi_fd_release(w, i);
    free(w->fds);
    for (uint32_t i = 0; i < w->npreopens; i++) {
        free(w->preopens[i].guest_path);
        free(w->preopens[i].host_path);
    }
    free(w->preopens);
    free_strings(w->args, w->nargs);
    free_strings(w->env, w->nenv);
    free(w);
}

int waft_wasi_exit_code(const waft_wasi *w, int32_t *out_code)
{
    if (w == NULL || !w->exited)
        return 0;
    if (out_code != NULL)
        *out_code = w->exit_code;
    return 1;
}

/* ==== Inspection and rebuild ==== */

uint32_t wasi_fd_next(const waft_wasi *w, uint32_t from)
{
    for (uint32_t fd = from; fd < w->nfds; fd++)
        if (w->fds[fd].kind != WASI_KIND_FREE)
            return fd;
    return UINT32_MAX;
}

uint16_t wasi_fd_inspect(waft_wasi *w, uint32_t fd, wasi_fd_state *out)
{
    const wasi_fd *f;

    memset(out, 0, sizeof *out);
    if (fd >= w->nfds || w->fds[fd].kind == WASI_KIND_FREE)
        return WASI_EBADF;
    f = &w->fds[fd];
    out->guest_fd = fd;
    out->entry = f;
    if (w->host->fstat(w->host_ud, f->host, &out->stat) == 0)
        out->has_stat = 1;
    if (f->kind == WASI_KIND_FILE || (f->kind == WASI_KIND_STDIO && out->has_stat &&
                                      out->stat.filetype == WASI_FILETYPE_REGULAR_FILE)) {
        if (w->host->seek(w->host_ud, f->host, 0, WASI_WHENCE_CUR, &out->offset) == 0)
            out->has_offset = 1;
    }
    return 0;
}

void wasi_fd_reset(waft_wasi *w)
{
    for (uint32_t i = 0; i < w->nfds; i++)
        if (w->fds[i].kind != WASI_KIND_FREE)
            wasi_fd_release(w, i);
    w->nfds = 0;
}

uint16_t wasi_fd_restore(waft_wasi *w, uint32_t fd, const wasi_fd *rec, uint64_t offset)
{
    uint16_t err;
    int host = -1;
    wasi_fd *f;
    char *path = NULL;

    if (fd >= WASI_FD_MAX)
        return WASI_EBADF;
    err = reserve(w, fd);
    if (err != 0)
        return err;
    if (w->fds[fd].kind != WASI_KIND_FREE)
        return WASI_EBADF;

    switch (rec->kind) {
    case WASI_KIND_STDIO:
        if (rec->origin > 2 || w->stdio[rec->origin] < 0)
            return WASI_EBADF;
        err = w->host->dup(w->host_ud, w->stdio[rec->origin], &host);
        break;
    case WASI_KIND_PREOPEN:
        if (rec->origin >= w->npreopens)
            return WASI_EBADF;
        err = open_preopen(w, w->preopens[rec->origin].host_path, &host);
        path = dup_string("");
        break;
    case WASI_KIND_FILE:
    case WASI_KIND_DIR: {
        uint32_t flags = 0;
        uint32_t base = UINT32_MAX;
        wasi_host_stat st;
        if (rec->unlinked)
            return WASI_ENOTSUP;
        if (rec->origin >= w->npreopens || rec->path == NULL)
            return WASI_EBADF;
        /* the preopen's directory: an open preopen entry, or its host path again */
        for (uint32_t i = 0; i < w->nfds; i++)
            if (w->fds[i].kind == WASI_KIND_PREOPEN && w->fds[i].origin == rec->origin)
                base = i;
        int dir = -1;
        if (base == UINT32_MAX) {
            err = open_preopen(w, w->preopens[rec->origin].host_path, &dir);
            if (err != 0)
                return err;
        }
        if (rec->rights_base & (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR))
            flags |= WASI_HOST_O_READ;
        if (rec->rights_base & (WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_DATASYNC |
                                WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_FILESTAT_SET_SIZE))
            flags |= WASI_HOST_O_WRITE;
        if (rec->kind == WASI_KIND_DIR || (rec->oflags & WASI_OFLAG_DIRECTORY))
            flags = WASI_HOST_O_READ | WASI_HOST_O_DIRECTORY;
        if (rec->fdflags & WASI_FDFLAG_APPEND)
            flags |= WASI_HOST_O_APPEND;
        if (!(rec->lookupflags & WASI_LOOKUP_SYMLINK_FOLLOW))
            flags |= WASI_HOST_O_NOFOLLOW;
        flags |= WASI_HOST_O_NO_WAIT; /* a FIFO put in the file's place must not hang us */
        err = wasi_sandbox_open(w, base != UINT32_MAX ? w->fds[base].host : dir,
                                rec->path[0] != '\0' ? rec->path : ".", flags, &host);
        if (dir >= 0)
            w->host->close(w->host_ud, dir);
        if (err != 0)
            return err;
        err = w->host->fstat(w->host_ud, host, &st);
        if (err == 0 && ((st.filetype == WASI_FILETYPE_DIRECTORY) != (rec->kind == WASI_KIND_DIR) ||
                         st.filetype != rec->filetype))
            err = WASI_EINVAL; /* not the same kind of object any more */
        if (err == 0 && rec->kind == WASI_KIND_FILE && st.filetype == WASI_FILETYPE_REGULAR_FILE) {
            uint64_t at;
            if (st.size < offset)
                err = WASI_EINVAL; /* shorter than where the guest stood */
            else
                err = w->host->seek(w->host_ud, host, (int64_t)offset, WASI_WHENCE_SET, &at);
        }
        path = err == 0 ? dup_string(rec->path) : NULL;
        if (err == 0 && path == NULL)
            err = WASI_ENOMEM;
        break;
    }
    default:
        return WASI_ENOTSUP; /* sockets follow through the gateway, not through this table */
    }
    if (err == 0 && rec->kind == WASI_KIND_PREOPEN && path == NULL)
        err = WASI_ENOMEM;
    if (err != 0) {
        if (host >= 0)
            w->host->close(w->host_ud, host);
        free(path);
        return err;
    }
    f = &w->fds[fd];
    f->kind = rec->kind;
    f->filetype = rec->filetype;
    if (rec->kind == WASI_KIND_STDIO) {
        /* this process's stream may be another kind of object (a pipe where a socket
         * was): the socket calls and fdstat go by what it is now */
        wasi_host_stat st;
        if (w->host->fstat(w->host_ud, host, &st) == 0)
            f->filetype = st.filetype;
    }
    f->oflags = rec->oflags;
    f->fdflags = rec->fdflags;
    f->lookupflags = rec->lookupflags;
    f->unlinked = 0;
    f->origin = rec->origin;
    f->path = path;
    f->rights_base = rec->rights_base;
    f->rights_inheriting = rec->rights_inheriting;
    f->dir_cookie = rec->dir_cookie;
    f->host = host;
    f->dir_cursor = NULL;
    return 0;
}
