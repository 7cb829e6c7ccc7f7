/* SPDX-License-Identifier: MIT */
/* sandbox.c - turns guest paths into (host directory, last component) pairs that cannot
 * leave the directory the guest named them from.
 *
 * Two ways, the same rules:
 *  - openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) through the host's open_beneath,
 *    when it has one: the kernel refuses absolute paths, ".." above the start and links
 *    that lead out, atomically.
 *  - Otherwise a walk, one component at a time, each opened with O_NOFOLLOW relative to
 *    the descriptor of the previous one. A symbolic link is read with readlinkat and its
 *    target spliced into the rest of the path; ".." pops the list of components walked so
 *    far and re-walks it from the start (no descriptor above the start is ever opened, so
 *    a directory renamed during the walk cannot lead out either).
 *
 * Invariants:
 *  - Every host descriptor handed back is beneath `base`, and the returned name is a single
 *    component that the caller uses with a no-follow operation, so a symlink swapped in
 *    after resolution is never followed by the host (the open path retries instead).
 *  - At most WASI_SYMLOOP_MAX links are expanded per resolution and paths stay within
 *    2 * WASI_PATH_MAX bytes while expanding; the walk allocates nothing.
 */
#include "wasi/wasi.h"

#include <string.h>

/* ==== Helpers ==== */

static bool is_dot(const char *s, size_t n)
{
    return n == 1 && s[0] == '.';
}

static bool is_dotdot(const char *s, size_t n)
{
    return n == 2 && s[0] == '.' && s[1] == '.';
}

/* Reads the symlink `name` in `dir`: 1 with its target in buf (NUL-terminated), 0 if it is
 * not a symlink (or cannot be read as one), or -1 with *err set (target too long). */
static int read_link(waft_wasi *w, int dir, const char *name, char *buf, uint16_t *err)
{
    size_t n = 0;

    if (w->host->readlinkat(w->host_ud, dir, name, buf, WASI_PATH_MAX + 1, &n) != 0)
        return 0;
    if (n > WASI_PATH_MAX) {
        *err = WASI_ENAMETOOLONG;
        return -1;
    }
    buf[n] = '\0';
    return 1;
}

static void drop(waft_wasi *w, int *fd, bool *owned)
{
    if (*owned)
        w->host->close(w->host_ud, *fd);
    *owned = false;
    *fd = -1;
}

/* ==== The walk ==== */

typedef struct walk {
    char work[2 * WASI_PATH_MAX + 2]; /* the rest of the path to resolve */
    size_t pos;                       /* where the next component starts in work */
    char canon[WASI_PATH_MAX + 1];    /* components walked from base, '/'-separated */
    size_t canon_len;
    char link[WASI_PATH_MAX + 2]; /* a symlink target being spliced in */
    unsigned links;               /* links expanded so far */
} walk;

/* Replaces the component at [start, rest) of work by the target in wk->link: work becomes
 * target + "/" + work[rest...] (the slash kept only if something follows). */
static uint16_t splice(walk *wk, size_t rest)
{
    size_t tlen = strlen(wk->link);
    size_t rlen = strlen(wk->work + rest);
    size_t need = tlen + 1 + rlen + 1;

    if (++wk->links > WASI_SYMLOOP_MAX)
        return WASI_ELOOP;
    if (tlen == 0)
        return WASI_ENOENT;
    if (wk->link[0] == '/')
        return WASI_ENOTCAPABLE; /* an absolute target names the host's root */
    if (need > sizeof wk->work)
        return WASI_ENAMETOOLONG;
    memmove(wk->work + tlen + 1, wk->work + rest, rlen + 1);
    memcpy(wk->work, wk->link, tlen);
    wk->work[tlen] = rlen > 0 ? '/' : '\0';
    if (rlen == 0)
        wk->work[tlen + 1] = '\0';
    wk->pos = 0;
    return 0;
}

/* Opens the directory `canon` (components from base) by a no-follow walk from base. */
static uint16_t rewalk(waft_wasi *w, int base, const char *canon, int *cur, bool *owned)
{
    const char *p = canon;
    char name[WASI_NAME_MAX + 1];

    *cur = base;
    *owned = false;
    while (*p != '\0') {
        const char *end = strchr(p, '/');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        int fd;
        uint16_t err;
        memcpy(name, p, n);
        name[n] = '\0';
        err =
            w->host->openat(w->host_ud, *cur, name,
                            WASI_HOST_O_SEARCH | WASI_HOST_O_DIRECTORY | WASI_HOST_O_NOFOLLOW, &fd);
        if (err != 0) {
            drop(w, cur, owned);
            return err;
        }
        drop(w, cur, owned);
        *cur = fd;
        *owned = true;
        p = end != NULL ? end + 1 : p + n;
    }
    return 0;
}

static uint16_t walk_path(waft_wasi *w, int base, const char *path, bool follow, wasi_resolved *out,
                          walk *wk)
{
    int cur = base;
    bool owned = false;
    uint16_t err = 0;
    char name[WASI_NAME_MAX + 1];

    wk->pos = 0;
    wk->canon_len = 0;
    wk->canon[0] = '\0';
    wk->links = 0;
    memcpy(wk->work, path, strlen(path) + 1);

    for (;;) {
        const char *comp;
        size_t n, rest;
        bool last, trailing;

        while (wk->work[wk->pos] == '/') {
            if (wk->pos == 0 && wk->links == 0) {
                err = WASI_ENOTCAPABLE; /* absolute path */
                goto fail;
            }
            wk->pos++;
        }
        if (wk->work[wk->pos] == '\0') {
            /* nothing left: the path named the directory we stand in */
            memcpy(name, ".", 2);
            out->must_be_dir = true;
            break;
        }
        comp = wk->work + wk->pos;
        n = strcspn(comp, "/");
        rest = wk->pos + n;
        trailing = wk->work[rest] == '/';
        while (wk->work[rest] == '/')
            rest++;
        last = wk->work[rest] == '\0';
        if (n > WASI_NAME_MAX) {
            err = WASI_ENAMETOOLONG;
            goto fail;
        }
        memcpy(name, comp, n);
        name[n] = '\0';

        if (is_dot(name, n)) {
            wk->pos = rest;
            continue;
        }
        if (is_dotdot(name, n)) {
            char *slash;
            if (wk->canon_len == 0) {
                err = WASI_ENOTCAPABLE; /* ".." above the directory the guest started from */
                goto fail;
            }
            slash = strrchr(wk->canon, '/');
            wk->canon_len = slash != NULL ? (size_t)(slash - wk->canon) : 0;
            wk->canon[wk->canon_len] = '\0';
            drop(w, &cur, &owned);
            err = rewalk(w, base, wk->canon, &cur, &owned);
            if (err != 0)
                goto fail;
            wk->pos = rest;
            continue;
        }
        if (last) {
            if (follow || trailing) {
                int is_link = read_link(w, cur, name, wk->link, &err);
                if (is_link < 0)
                    goto fail;
                if (is_link) {
                    err = splice(wk, wk->pos + n);
                    if (err != 0)
                        goto fail;
                    continue;
                }
            }
            out->must_be_dir = trailing;
            break;
        }
        {
            int fd;
            err = w->host->openat(w->host_ud, cur, name,
                                  WASI_HOST_O_SEARCH | WASI_HOST_O_DIRECTORY | WASI_HOST_O_NOFOLLOW,
                                  &fd);
            if (err == WASI_ELOOP || err == WASI_ENOTDIR || err == WASI_EMLINK) {
                uint16_t link_err = 0;
                int is_link = read_link(w, cur, name, wk->link, &link_err);
                if (is_link < 0) {
                    err = link_err;
                    goto fail;
                }
                if (is_link) {
                    err = splice(wk, wk->pos + n);
                    if (err != 0)
                        goto fail;
                    continue;
                }
            }
            if (err != 0)
                goto fail;
            if (wk->canon_len + (wk->canon_len > 0) + n > WASI_PATH_MAX) {
                w->host->close(w->host_ud, fd);
                err = WASI_ENAMETOOLONG;
                goto fail;
            }
            if (wk->canon_len > 0)
                wk->canon[wk->canon_len++] = '/';
            memcpy(wk->canon + wk->canon_len, name, n + 1);
            wk->canon_len += n;
            drop(w, &cur, &owned);
            cur = fd;
            owned = true;
            wk->pos = rest;
        }
    }
    out->dir = cur;
    out->dir_owned = owned;
    memcpy(out->name, name, strlen(name) + 1);
    return 0;

fail:
    drop(w, &cur, &owned);
    return err;
}

/* ==== With openat2 ==== */

/* Resolves the directory part of `path` with open_beneath and keeps the last component.
 * Returns WASI_ENOSYS to ask for the walk (no openat2, or a case it does not cover: a
 * final "..", or a final symlink to follow). */
static uint16_t beneath_path(waft_wasi *w, int base, const char *path, bool follow,
                             wasi_resolved *out, char *scratch)
{
    size_t len = strlen(path);
    size_t end = len, start;
    bool trailing = false;
    uint16_t err;

    while (end > 0 && path[end - 1] == '/') {
        end--;
        trailing = true;
    }
    if (end == 0)
        return WASI_ENOSYS; /* only slashes: let the walk say what it is */
    start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (end - start > WASI_NAME_MAX)
        return WASI_ENAMETOOLONG;
    if (is_dotdot(path + start, end - start))
        return WASI_ENOSYS;

    out->dir = base;
    out->dir_owned = false;
    if (start > 0) {
        memcpy(scratch, path, start);
        scratch[start] = '\0';
        err = w->host->open_beneath(w->host_ud, base, scratch,
                                    WASI_HOST_O_SEARCH | WASI_HOST_O_DIRECTORY, &out->dir);
        if (err != 0)
            return err;
        out->dir_owned = true;
    }
    memcpy(out->name, path + start, end - start);
    out->name[end - start] = '\0';
    out->must_be_dir = trailing;
    if ((follow || trailing) && !is_dot(out->name, end - start)) {
        uint16_t link_err = 0;
        if (read_link(w, out->dir, out->name, scratch, &link_err) != 0) {
            wasi_sandbox_release(w, out);
            return link_err != 0 ? link_err : WASI_ENOSYS; /* a final link: walk it */
        }
    }
    return 0;
}

/* ==== Entry points ==== */

uint16_t wasi_sandbox_resolve(waft_wasi *w, int base, const char *path, bool follow,
                              wasi_resolved *out)
{
    walk wk;
    uint16_t err;

    memset(out, 0, sizeof *out);
    out->dir = -1;
    if (path[0] == '\0')
        return WASI_ENOENT;
    if (path[0] == '/')
        return WASI_ENOTCAPABLE;
    if (strlen(path) > WASI_PATH_MAX)
        return WASI_ENAMETOOLONG;
    err = beneath_path(w, base, path, follow, out, wk.link);
    if (err != WASI_ENOSYS && err != WASI_EAGAIN)
        return err;
    memset(out, 0, sizeof *out);
    out->dir = -1;
    return walk_path(w, base, path, follow, out, &wk);
}

void wasi_sandbox_release(waft_wasi *w, wasi_resolved *r)
{
    if (r->dir_owned && r->dir >= 0)
        w->host->close(w->host_ud, r->dir);
    r->dir = -1;
    r->dir_owned = false;
}

uint16_t wasi_sandbox_open(waft_wasi *w, int base, const char *path, uint32_t flags, int *out_fd)
{
    uint16_t err;

    if (path[0] == '\0')
        return WASI_ENOENT;
    if (path[0] == '/')
        return WASI_ENOTCAPABLE;
    err = w->host->open_beneath(w->host_ud, base, path, flags, out_fd);
    if (err != WASI_ENOSYS && err != WASI_EAGAIN)
        return err;

    /* The walk: resolve, then open the last component without following it. If that
     * finds a symlink that was not there a moment ago, resolve again (a bounded number of
     * times: an attacker swapping links forever gets ELOOP). */
    for (int tries = 0; tries < 8; tries++) {
        wasi_resolved r;
        uint32_t fl = flags;
        err = wasi_sandbox_resolve(w, base, path, (flags & WASI_HOST_O_NOFOLLOW) == 0, &r);
        if (err != 0)
            return err;
        if (r.must_be_dir)
            fl |= WASI_HOST_O_DIRECTORY;
        err = w->host->openat(w->host_ud, r.dir, r.name, fl, out_fd);
        wasi_sandbox_release(w, &r);
        if ((err == WASI_ELOOP || err == WASI_EMLINK) && (flags & WASI_HOST_O_NOFOLLOW) == 0)
            continue;
        return err;
    }
    return WASI_ELOOP;
}
