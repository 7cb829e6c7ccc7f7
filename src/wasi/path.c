/* SPDX-License-Identifier: MIT */
/* path.c - the path_* functions of preview1.
 *
 * Invariants:
 *  - A guest path reaches the host only through wasi_sandbox_resolve/_open (sandbox.c),
 *    relative to a directory descriptor of the guest; the host operation then works on one
 *    component without following it.
 *  - The recorded path of every descriptor stays true after the guest renames or removes
 *    what it was opened by (wasi_fd_paths_moved), so a restore reopens the right object or
 *    refuses clearly.
 */
#include "wasi/wasi.h"

#include <stdlib.h>
#include <string.h>

/* ==== Common steps ==== */

/* One guest path argument resolved beneath one directory descriptor. */
typedef struct path_arg {
    wasi_fd *dir; /* directory entry the path is relative to */
    char text[WASI_PATH_MAX + 1];
    wasi_resolved where; /* after resolve */
    bool resolved;
} path_arg;

/* Looks up directory fd `fd` with `rights` and copies the guest path. */
static uint16_t path_get(wasi_ctx *c, uint32_t fd, uint64_t rights, uint32_t ptr, uint32_t len,
                         path_arg *out)
{
    uint16_t err;

    out->resolved = false;
    out->dir = wasi_fd_get(c->w, fd, rights, &err);
    if (out->dir == NULL)
        return err;
    if (out->dir->kind != WASI_KIND_PREOPEN && out->dir->kind != WASI_KIND_DIR)
        return WASI_ENOTDIR;
    return wasi_mem_path(c, ptr, len, out->text);
}

static uint16_t path_resolve(wasi_ctx *c, path_arg *a, bool follow)
{
    uint16_t err = wasi_sandbox_resolve(c->w, a->dir->host, a->text, follow, &a->where);
    a->resolved = err == 0;
    return err;
}

static void path_done(wasi_ctx *c, path_arg *a)
{
    if (a->resolved)
        wasi_sandbox_release(c->w, &a->where);
    a->resolved = false;
}

/* For a path that ended in '/': the object must be a directory (ENOTDIR otherwise). */
static uint16_t check_dir_slash(wasi_ctx *c, const path_arg *a)
{
    wasi_host_stat st;
    uint16_t err;

    if (!a->where.must_be_dir)
        return 0;
    err = c->w->host->fstatat(c->w->host_ud, a->where.dir, a->where.name, &st);
    if (err != 0)
        return err;
    return st.filetype == WASI_FILETYPE_DIRECTORY ? 0 : WASI_ENOTDIR;
}

/* Tells the table that the object a path names was removed (is_rename 0) or moved. */
static void note_moved(wasi_ctx *c, const path_arg *from, const path_arg *to, int is_rename)
{
    char *old_path = wasi_fd_join_path(from->dir, from->text);
    char *new_path = to != NULL ? wasi_fd_join_path(to->dir, to->text) : NULL;

    if (old_path != NULL && old_path[0] != '\0') {
        if (is_rename && new_path != NULL) {
            /* whatever the new name held before is gone */
            wasi_fd_paths_moved(c->w, to->dir->origin, new_path, 0, NULL, 0);
            wasi_fd_paths_moved(c->w, from->dir->origin, old_path, to->dir->origin, new_path, 1);
        } else {
            wasi_fd_paths_moved(c->w, from->dir->origin, old_path, 0, NULL, 0);
        }
    }
    free(old_path);
    free(new_path);
}

/* ==== Opening ==== */

uint32_t wasi_call_path_open(wasi_ctx *c, const uint64_t *args)
{
    waft_wasi *w = c->w;
    uint32_t dirfd = wasi_arg32(args, 0), dirflags = wasi_arg32(args, 1);
    uint32_t ptr = wasi_arg32(args, 2), len = wasi_arg32(args, 3);
    uint32_t oflags = wasi_arg32(args, 4);
    uint64_t base = wasi_arg64(args, 5), inheriting = wasi_arg64(args, 6);
    uint32_t fdflags = wasi_arg32(args, 7), out_ptr = wasi_arg32(args, 8);
    uint64_t need = WASI_RIGHT_PATH_OPEN;
    uint32_t flags = 0, fd;
    uint16_t err;
    path_arg a;
    wasi_fd *dir, *f;
    wasi_host_stat st;
    char *recorded;
    int host = -1;

    if (oflags & WASI_OFLAG_CREAT)
        need |= WASI_RIGHT_PATH_CREATE_FILE;
    if (oflags & WASI_OFLAG_TRUNC)
        need |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
    err = path_get(c, dirfd, need, ptr, len, &a);
    if (err != 0)
        return err;
    if (!wasi_mem_ok(c, out_ptr, 4))
        return WASI_EFAULT;
    if (oflags &
        ~(uint32_t)(WASI_OFLAG_CREAT | WASI_OFLAG_DIRECTORY | WASI_OFLAG_EXCL | WASI_OFLAG_TRUNC))
        return WASI_EINVAL;
    if (fdflags & ~(uint32_t)(WASI_FDFLAG_APPEND | WASI_FDFLAG_DSYNC | WASI_FDFLAG_NONBLOCK |
                              WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC))
        return WASI_EINVAL;
    if (dirflags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW)
        return WASI_EINVAL;
    dir = a.dir;
    base &= dir->rights_inheriting;
    inheriting &= dir->rights_inheriting;

    if (oflags & WASI_OFLAG_DIRECTORY) {
        flags = WASI_HOST_O_READ | WASI_HOST_O_DIRECTORY;
    } else {
        if (base & (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR))
            flags |= WASI_HOST_O_READ;
        if (base & (WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_ALLOCATE |
                    WASI_RIGHT_FD_FILESTAT_SET_SIZE))
            flags |= WASI_HOST_O_WRITE;
        if (!(flags & WASI_HOST_O_WRITE))
            flags |= WASI_HOST_O_READ;
    }
    if (oflags & WASI_OFLAG_CREAT)
        flags |= WASI_HOST_O_CREAT;
    if (oflags & WASI_OFLAG_EXCL)
        flags |= WASI_HOST_O_EXCL;
    if (oflags & WASI_OFLAG_TRUNC)
        flags |= WASI_HOST_O_TRUNC;
    if (fdflags & WASI_FDFLAG_APPEND)
        flags |= WASI_HOST_O_APPEND;
    if (fdflags & WASI_FDFLAG_DSYNC)
        flags |= WASI_HOST_O_DSYNC;
    if (fdflags & WASI_FDFLAG_RSYNC)
        flags |= WASI_HOST_O_RSYNC;
    if (fdflags & WASI_FDFLAG_SYNC)
        flags |= WASI_HOST_O_SYNC;
    /* O_CREAT|O_EXCL never follows a final symlink (POSIX) */
    if (!(dirflags & WASI_LOOKUP_SYMLINK_FOLLOW) ||
        (oflags & (WASI_OFLAG_CREAT | WASI_OFLAG_EXCL)) == (WASI_OFLAG_CREAT | WASI_OFLAG_EXCL))
        flags |= WASI_HOST_O_NOFOLLOW;

    recorded = wasi_fd_join_path(dir, a.text);
    if (recorded == NULL)
        return WASI_ENOMEM;
    {
        /* the slot first (it may move the table), then the host object */
        uint32_t dir_index = (uint32_t)(dir - w->fds);
        uint32_t origin = dir->origin;
        err = wasi_fd_alloc(w, &fd);
        if (err != 0) {
            free(recorded);
            return err;
        }
        dir = &w->fds[dir_index];
        err = wasi_sandbox_open(w, dir->host, a.text, flags, &host);
        if (err == WASI_EISDIR && (flags & WASI_HOST_O_WRITE) &&
            !(oflags & (WASI_OFLAG_CREAT | WASI_OFLAG_TRUNC))) {
            /* a directory, opened with rights that would allow writing a file (a
             * directory's own rights hold FD_DATASYNC): open it for reading, as other
             * runtimes do; it only keeps directory rights below */
            flags =
                (flags & ~(uint32_t)WASI_HOST_O_WRITE) | WASI_HOST_O_READ | WASI_HOST_O_DIRECTORY;
            err = wasi_sandbox_open(w, dir->host, a.text, flags, &host);
        }
        if (err == 0)
            err = w->host->fstat(w->host_ud, host, &st);
        if (err == 0 && (oflags & WASI_OFLAG_DIRECTORY) && st.filetype != WASI_FILETYPE_DIRECTORY)
            err = WASI_ENOTDIR;
        if (err != 0) {
            if (host >= 0)
                w->host->close(w->host_ud, host);
            free(recorded);
            wasi_fd_release(w, fd); /* the slot is free: this only trims the table */
            return err;
        }
        f = &w->fds[fd];
        f->origin = origin;
    }
    f->host = host;
    f->path = recorded;
    f->filetype = st.filetype;
    f->oflags = (uint16_t)oflags;
    f->fdflags = (uint16_t)fdflags;
    f->lookupflags = (uint8_t)dirflags;
    f->unlinked = 0;
    f->dir_cookie = 0;
    if (st.filetype == WASI_FILETYPE_DIRECTORY) {
        f->kind = WASI_KIND_DIR;
        f->rights_base = base & WASI_RIGHTS_DIR;
        f->rights_inheriting = inheriting & (WASI_RIGHTS_DIR | WASI_RIGHTS_FILE);
    } else {
        f->kind = WASI_KIND_FILE;
        f->rights_base = base & WASI_RIGHTS_FILE;
        f->rights_inheriting = 0;
    }
    base_store32(c->mem + out_ptr, fd);
    return 0;
}

/* ==== Directories, links, names ==== */

uint32_t wasi_call_path_create_directory(wasi_ctx *c, const uint64_t *args)
{
    path_arg a;
    uint16_t err = path_get(c, wasi_arg32(args, 0), WASI_RIGHT_PATH_CREATE_DIRECTORY,
                            wasi_arg32(args, 1), wasi_arg32(args, 2), &a);

    if (err == 0)
        err = path_resolve(c, &a, false);
    if (err == 0)
        err = c->w->host->mkdirat(c->w->host_ud, a.where.dir, a.where.name);
    path_done(c, &a);
    return err;
}

uint32_t wasi_call_path_remove_directory(wasi_ctx *c, const uint64_t *args)
{
    path_arg a;
    uint16_t err = path_get(c, wasi_arg32(args, 0), WASI_RIGHT_PATH_REMOVE_DIRECTORY,
                            wasi_arg32(args, 1), wasi_arg32(args, 2), &a);

    if (err == 0)
        err = path_resolve(c, &a, false);
    if (err == 0)
        err = c->w->host->unlinkat(c->w->host_ud, a.where.dir, a.where.name, 1);
    if (err == 0)
        note_moved(c, &a, NULL, 0);
    path_done(c, &a);
    return err;
}

uint32_t wasi_call_path_unlink_file(wasi_ctx *c, const uint64_t *args)
{
    path_arg a;
    uint16_t err = path_get(c, wasi_arg32(args, 0), WASI_RIGHT_PATH_UNLINK_FILE,
                            wasi_arg32(args, 1), wasi_arg32(args, 2), &a);

    if (err == 0)
        err = path_resolve(c, &a, false);
    if (err == 0 && a.where.must_be_dir) {
        /* "name/" names a directory, which unlink_file never removes */
        wasi_host_stat st;
        err = c->w->host->fstatat(c->w->host_ud, a.where.dir, a.where.name, &st);
        if (err == 0)
            err = st.filetype == WASI_FILETYPE_DIRECTORY ? WASI_EISDIR : WASI_ENOTDIR;
    }
    if (err == 0)
        err = c->w->host->unlinkat(c->w->host_ud, a.where.dir, a.where.name, 0);
    if (err == 0)
        note_moved(c, &a, NULL, 0);
    path_done(c, &a);
    return err;
}

uint32_t wasi_call_path_rename(wasi_ctx *c, const uint64_t *args)
{
    path_arg from, to;
    uint16_t err;

    to.resolved = false;
    err = path_get(c, wasi_arg32(args, 0), WASI_RIGHT_PATH_RENAME_SOURCE, wasi_arg32(args, 1),
                   wasi_arg32(args, 2), &from);
    if (err == 0)
        err = path_get(c, wasi_arg32(args, 3), WASI_RIGHT_PATH_RENAME_TARGET, wasi_arg32(args, 4),
                       wasi_arg32(args, 5), &to);
    if (err == 0)
        err = path_resolve(c, &from, false);
    if (err == 0)
        err = path_resolve(c, &to, false);
    if (err == 0)
        err = check_dir_slash(c, &from);
    if (err == 0 && to.where.must_be_dir) {
        /* "new/" needs the source to be a directory */
        wasi_host_stat st;
        err = c->w->host->fstatat(c->w->host_ud, from.where.dir, from.where.name, &st);
        if (err == 0 && st.filetype != WASI_FILETYPE_DIRECTORY)
            err = WASI_ENOTDIR;
    }
    if (err == 0)
        err = c->w->host->renameat(c->w->host_ud, from.where.dir, from.where.name, to.where.dir,
                                   to.where.name);
    if (err == 0)
        note_moved(c, &from, &to, 1);
    path_done(c, &to);
    path_done(c, &from);
    return err;
}

uint32_t wasi_call_path_link(wasi_ctx *c, const uint64_t *args)
{
    path_arg from, to;
    uint32_t old_flags = wasi_arg32(args, 1);
    uint16_t err;

    to.resolved = false;
    err = path_get(c, wasi_arg32(args, 0), WASI_RIGHT_PATH_LINK_SOURCE, wasi_arg32(args, 2),
                   wasi_arg32(args, 3), &from);
    if (err == 0)
        err = path_get(c, wasi_arg32(args, 4), WASI_RIGHT_PATH_LINK_TARGET, wasi_arg32(args, 5),
                       wasi_arg32(args, 6), &to);
    if (err == 0 && (old_flags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW))
        err = WASI_EINVAL;
    if (err == 0)
        err = path_resolve(c, &from, (old_flags & WASI_LOOKUP_SYMLINK_FOLLOW) != 0);
    if (err == 0)
        err = path_resolve(c, &to, false);
    if (err == 0)
        err = check_dir_slash(c, &from);
    if (err == 0 && to.where.must_be_dir)
        err = WASI_ENOENT; /* a hard link to a directory is never made */
    if (err == 0)
        err = c->w->host->linkat(c->w->host_ud, from.where.dir, from.where.name, to.where.dir,
                                 to.where.name);
    path_done(c, &to);
    path_done(c, &from);
    return err;
}

uint32_t wasi_call_path_symlink(wasi_ctx *c, const uint64_t *args)
{
    char target[WASI_PATH_MAX + 1];
    path_arg a;
    uint16_t err = wasi_mem_path(c, wasi_arg32(args, 0), wasi_arg32(args, 1), target);

    a.resolved = false;
    if (err == 0)
        err = path_get(c, wasi_arg32(args, 2), WASI_RIGHT_PATH_SYMLINK, wasi_arg32(args, 3),
                       wasi_arg32(args, 4), &a);
    /* An absolute target could only ever point out of the sandbox (and would for other
     * host programs that follow it): refuse to make it. */
    if (err == 0 && target[0] == '/')
        err = WASI_ENOTCAPABLE;
    if (err == 0)
        err = path_resolve(c, &a, false);
    if (err == 0 && a.where.must_be_dir) {
        /* "name/" asks for a directory, which a symlink is not: EEXIST if the name is
         * taken, else ENOENT (as Linux answers), never a link named "name" */
        wasi_host_stat st;
        err = c->w->host->fstatat(c->w->host_ud, a.where.dir, a.where.name, &st) == 0 ? WASI_EEXIST
                                                                                      : WASI_ENOENT;
    }
    if (err == 0)
        err = c->w->host->symlinkat(c->w->host_ud, target, a.where.dir, a.where.name);
    path_done(c, &a);
    return err;
}

uint32_t wasi_call_path_readlink(wasi_ctx *c, const uint64_t *args)
{
    char target[WASI_PATH_MAX + 1];
    uint32_t buf = wasi_arg32(args, 3), buf_len = wasi_arg32(args, 4);
    uint32_t out_ptr = wasi_arg32(args, 5);
    size_t n = 0;
    path_arg a;
    uint16_t err = path_get(c, wasi_arg32(args, 0), WASI_RIGHT_PATH_READLINK, wasi_arg32(args, 1),
                            wasi_arg32(args, 2), &a);

    if (err == 0 && (!wasi_mem_ok(c, buf, buf_len) || !wasi_mem_ok(c, out_ptr, 4)))
        err = WASI_EFAULT;
    if (err == 0)
        err = path_resolve(c, &a, false);
    if (err == 0)
        err = c->w->host->readlinkat(c->w->host_ud, a.where.dir, a.where.name, target,
                                     sizeof target, &n);
    if (err == 0) {
        if (n > sizeof target)
            n = sizeof target;
        if (n > buf_len)
            n = buf_len; /* truncated, as readlink(2) does */
        memcpy(c->mem + buf, target, n);
        base_store32(c->mem + out_ptr, (uint32_t)n);
    }
    path_done(c, &a);
    return err;
}

/* ==== Status ==== */

uint32_t wasi_call_path_filestat_get(wasi_ctx *c, const uint64_t *args)
{
    uint32_t flags = wasi_arg32(args, 1), out_ptr = wasi_arg32(args, 4);
    wasi_host_stat st;
    path_arg a;
    uint16_t err = path_get(c, wasi_arg32(args, 0), WASI_RIGHT_PATH_FILESTAT_GET,
                            wasi_arg32(args, 2), wasi_arg32(args, 3), &a);

    if (err == 0 && !wasi_mem_ok(c, out_ptr, 64))
        err = WASI_EFAULT;
    if (err == 0 && (flags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW))
        err = WASI_EINVAL;
    if (err == 0)
        err = path_resolve(c, &a, (flags & WASI_LOOKUP_SYMLINK_FOLLOW) != 0);
    if (err == 0)
        err = c->w->host->fstatat(c->w->host_ud, a.where.dir, a.where.name, &st);
    if (err == 0 && a.where.must_be_dir && st.filetype != WASI_FILETYPE_DIRECTORY)
        err = WASI_ENOTDIR;
    if (err == 0)
        wasi_put_filestat(c->mem + out_ptr, &st);
    path_done(c, &a);
    return err;
}

uint32_t wasi_call_path_filestat_set_times(wasi_ctx *c, const uint64_t *args)
{
    uint32_t flags = wasi_arg32(args, 1);
    wasi_host_times t;
    path_arg a;
    uint16_t err = path_get(c, wasi_arg32(args, 0), WASI_RIGHT_PATH_FILESTAT_SET_TIMES,
                            wasi_arg32(args, 2), wasi_arg32(args, 3), &a);

    if (err == 0 && (flags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW))
        err = WASI_EINVAL;
    if (err == 0)
        err = wasi_times_from_flags(wasi_arg64(args, 4), wasi_arg64(args, 5), wasi_arg32(args, 6),
                                    &t);
    if (err == 0)
        err = path_resolve(c, &a, (flags & WASI_LOOKUP_SYMLINK_FOLLOW) != 0);
    if (err == 0)
        err = check_dir_slash(c, &a);
    if (err == 0)
        err = c->w->host->utimensat(c->w->host_ud, a.where.dir, a.where.name, &t);
    path_done(c, &a);
    return err;
}
