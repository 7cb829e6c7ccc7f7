/* SPDX-License-Identifier: MIT */
/* snap.c - WASI state in images: the "wasi" extension record (version 1).
 *
 * One codec function, wasi_state_codec, describes the record for both directions (see
 * docs/wasi.md, "State in images"). Saving reads the live table (offsets from the host);
 * loading rebuilds it: args and env as saved, preopens matched by guest name to the
 * directories given at restore (or the saved host paths when none are given), every
 * descriptor reopened at its number with its flags, rights and offset, clocks continuing
 * from the saved values (monotonic never goes back).
 *
 * Invariants: the record never holds host descriptor numbers or pointers; a descriptor that
 * cannot be recreated faithfully (a socket, an unlinked file, a file now shorter than the
 * saved offset or of another kind) fails the restore with a message naming it. Everything
 * the record alone decides is checked by one function, saved_valid, which restore and
 * `waft image check` (waft_wasi_register_check) both run before anything is opened.
 */
#include "wasi/wasi.h"

#include <waft/waft_snapshot.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WASI_STATE_VERSION 1u
#define STR_MAX            (1u << 20)
#define MAX_STRINGS        (1u << 20)

/* One saved descriptor. */
typedef struct saved_fd {
    uint32_t fd;
    wasi_fd rec; /* only its [snap] fields */
    uint8_t has_offset;
    uint64_t offset;
} saved_fd;

/* The whole record in portable form. */
typedef struct saved_state {
    uint32_t nargs, nenv, npreopens, nfds;
    char **args, **env;
    char **pre_guest, **pre_host;
    saved_fd *fds;
    uint32_t flags;
    uint8_t exited;
    uint32_t exit_code;
    uint64_t clocks[WASI_NCLOCKS];
} saved_state;

/* A string; reading refuses a NUL byte inside it, which would cut it short silently.
 * `what` and `index` name it in the message ("argument 2 holds a NUL byte"). */
static void codec_str(waft_codec *c, char **s, const char *what, uint32_t index)
{
    uint32_t len = *s ? (uint32_t)strlen(*s) : 0;
    waft_codec_string(c, s, &len, STR_MAX);
    if (!waft_codec_writing(c) && !waft_codec_failed(c) && memchr(*s, '\0', len) != NULL) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s %u holds a NUL byte", what, index);
        waft_codec_fail(c, msg);
    }
}

/* A u8 that must be 0 or 1 (of fd `fd`, or of the state when fd is UINT32_MAX). */
static void codec_bool(waft_codec *c, uint8_t *v, const char *what, uint32_t fd)
{
    waft_codec_u8(c, v);
    if (!waft_codec_writing(c) && !waft_codec_failed(c) && *v > 1) {
        char msg[96];
        if (fd == UINT32_MAX)
            snprintf(msg, sizeof msg, "%s is %u, not 0 or 1", what, *v);
        else
            snprintf(msg, sizeof msg, "fd %u: %s is %u, not 0 or 1", fd, what, *v);
        waft_codec_fail(c, msg);
    }
}

/* A u16 field of fd `fd` stored as a u32; reading refuses values that do not fit. */
static void codec_u16(waft_codec *c, uint16_t *v, const char *what, uint32_t fd)
{
    uint32_t wide = *v;
    waft_codec_u32(c, &wide);
    if (!waft_codec_writing(c) && !waft_codec_failed(c) && wide > UINT16_MAX) {
        char msg[96];
        snprintf(msg, sizeof msg, "fd %u: %s 0x%x exceed 16 bits", fd, what, wide);
        waft_codec_fail(c, msg);
    }
    *v = (uint16_t)wide;
}

static void *codec_alloc(waft_codec *c, uint32_t n, size_t elem, uint64_t min_wire)
{
    if (waft_codec_writing(c) || waft_codec_failed(c))
        return NULL;
    if (n > MAX_STRINGS || (min_wire && n > waft_codec_remaining(c) / min_wire)) {
        waft_codec_fail(c, "count exceeds the record");
        return NULL;
    }
    void *p = calloc((size_t)n + 1, elem);
    if (!p)
        waft_codec_fail(c, "out of memory");
    return p;
}

static void codec_strings(waft_codec *c, char ***v, uint32_t *n, const char *what)
{
    waft_codec_u32(c, n);
    if (!waft_codec_writing(c))
        *v = codec_alloc(c, *n, sizeof **v, 4);
    for (uint32_t i = 0; i < *n && !waft_codec_failed(c); i++)
        codec_str(c, &(*v)[i], what, i);
}

/* The record, both directions. */
static void wasi_state_codec(waft_codec *c, saved_state *s)
{
    codec_strings(c, &s->args, &s->nargs, "argument");
    codec_strings(c, &s->env, &s->nenv, "environment variable");
    waft_codec_u32(c, &s->npreopens);
    if (!waft_codec_writing(c)) {
        s->pre_guest = codec_alloc(c, s->npreopens, sizeof *s->pre_guest, 8);
        s->pre_host = codec_alloc(c, s->npreopens, sizeof *s->pre_host, 8);
    }
    for (uint32_t i = 0; i < s->npreopens && !waft_codec_failed(c); i++) {
        codec_str(c, &s->pre_guest[i], "the guest name of preopen", i);
        codec_str(c, &s->pre_host[i], "the host path of preopen", i);
    }
    waft_codec_u32(c, &s->flags);
    codec_bool(c, &s->exited, "the exited flag", UINT32_MAX);
    waft_codec_u32(c, &s->exit_code);
    for (int i = 0; i < WASI_NCLOCKS; i++)
        waft_codec_u64(c, &s->clocks[i]);
    waft_codec_u32(c, &s->nfds);
    if (!waft_codec_writing(c))
        s->fds = codec_alloc(c, s->nfds, sizeof *s->fds, 48);
    for (uint32_t i = 0; i < s->nfds && !waft_codec_failed(c); i++) {
        saved_fd *f = &s->fds[i];
        waft_codec_u32(c, &f->fd);
        waft_codec_u8(c, &f->rec.kind);
        waft_codec_u8(c, &f->rec.filetype);
        codec_u16(c, &f->rec.oflags, "oflags", f->fd);
        codec_u16(c, &f->rec.fdflags, "fdflags", f->fd);
        waft_codec_u8(c, &f->rec.lookupflags);
        codec_bool(c, &f->rec.unlinked, "the unlinked flag", f->fd);
        waft_codec_u32(c, &f->rec.origin);
        uint8_t has_path = f->rec.path != NULL;
        codec_bool(c, &has_path, "the path flag", f->fd);
        if (has_path && !waft_codec_failed(c))
            codec_str(c, &f->rec.path, "the path of fd", f->fd);
        waft_codec_u64(c, &f->rec.rights_base);
        waft_codec_u64(c, &f->rec.rights_inheriting);
        waft_codec_u64(c, &f->rec.dir_cookie);
        codec_bool(c, &f->has_offset, "the offset flag", f->fd);
        waft_codec_u64(c, &f->offset);
    }
}

/* Checks everything a restore relies on that the record alone decides, opening nothing
 * (restore and `waft image check` both run it): each descriptor once, in increasing order,
 * of a kind an image can hold, its origin present, its flags and rights within what
 * preview1 and its kind allow. Returns false with the reason in msg. */
static bool saved_valid(const saved_state *s, char *msg, size_t cap)
{
    const uint32_t known_flags = WAFT_WASI_NO_OPENAT2 | WAFT_WASI_TRUST_IMAGE_DIRS;
    const uint32_t known_oflags =
        WASI_OFLAG_CREAT | WASI_OFLAG_DIRECTORY | WASI_OFLAG_EXCL | WASI_OFLAG_TRUNC;
    const uint32_t known_fdflags = WASI_FDFLAG_APPEND | WASI_FDFLAG_DSYNC | WASI_FDFLAG_NONBLOCK |
                                   WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC;

    if (s->flags & ~known_flags) {
        snprintf(msg, cap, "configuration flags 0x%x hold unknown bits", s->flags);
        return false;
    }
    for (uint32_t i = 0; i < s->nfds; i++) {
        const saved_fd *f = &s->fds[i];
        const wasi_fd *r = &f->rec;
        uint64_t base_set = 0, inheriting_set = 0;
        if (f->fd >= WASI_FD_MAX) {
            snprintf(msg, cap, "fd %u is beyond the limit of %u descriptors", f->fd, WASI_FD_MAX);
            return false;
        }
        if (i > 0 && f->fd <= s->fds[i - 1].fd) {
            snprintf(msg, cap,
                     "fd %u follows fd %u: descriptors must be listed once each, in "
                     "increasing order",
                     f->fd, s->fds[i - 1].fd);
            return false;
        }
        switch (r->kind) {
        case WASI_KIND_STDIO:
            if (r->origin > 2) {
                snprintf(msg, cap, "fd %u is standard stream %u, which does not exist", f->fd,
                         r->origin);
                return false;
            }
            base_set = WASI_RIGHTS_FILE | WASI_RIGHTS_STREAM;
            break;
        case WASI_KIND_PREOPEN:
        case WASI_KIND_DIR:
        case WASI_KIND_FILE:
            if (r->origin >= s->npreopens) {
                snprintf(msg, cap, "fd %u names preopen %u, which the image lacks", f->fd,
                         r->origin);
                return false;
            }
            if (r->kind != WASI_KIND_PREOPEN && r->path == NULL) {
                snprintf(msg, cap, "fd %u is a file or directory without a path", f->fd);
                return false;
            }
            base_set = r->kind == WASI_KIND_FILE ? WASI_RIGHTS_FILE : WASI_RIGHTS_DIR;
            inheriting_set = r->kind == WASI_KIND_FILE ? 0 : WASI_RIGHTS_DIR | WASI_RIGHTS_FILE;
            break;
        case WASI_KIND_SOCKET:
        case WASI_KIND_ACCEPTED:
            snprintf(msg, cap, "fd %u is a socket, which an image cannot hold", f->fd);
            return false;
        default:
            snprintf(msg, cap, "fd %u has an unknown kind %u", f->fd, r->kind);
            return false;
        }
        if (r->unlinked) {
            snprintf(msg, cap, "fd %u refers to a removed file, which an image cannot hold", f->fd);
            return false;
        }
        if (r->filetype > WASI_FILETYPE_SYMBOLIC_LINK) {
            snprintf(msg, cap, "fd %u has an unknown file type %u", f->fd, r->filetype);
            return false;
        }
        if ((r->oflags & ~known_oflags) || (r->fdflags & ~known_fdflags) ||
            (r->lookupflags & ~WASI_LOOKUP_SYMLINK_FOLLOW)) {
            snprintf(msg, cap, "fd %u has unknown flags (oflags 0x%x, fdflags 0x%x, lookup 0x%x)",
                     f->fd, r->oflags, r->fdflags, r->lookupflags);
            return false;
        }
        if ((r->rights_base & ~base_set) || (r->rights_inheriting & ~inheriting_set)) {
            snprintf(msg, cap,
                     "fd %u holds rights its kind cannot have (0x%llx, inheriting 0x%llx)", f->fd,
                     (unsigned long long)r->rights_base, (unsigned long long)r->rights_inheriting);
            return false;
        }
        if (f->has_offset && r->kind != WASI_KIND_FILE &&
            !(r->kind == WASI_KIND_STDIO && r->origin == 0)) {
            snprintf(msg, cap, "fd %u has a file offset but is neither a file nor standard input",
                     f->fd);
            return false;
        }
    }
    return true;
}

static void free_strings(char **v, uint32_t n)
{
    for (uint32_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void saved_free(saved_state *s, bool owned_fd_paths)
{
    free_strings(s->args, s->nargs);
    free_strings(s->env, s->nenv);
    free_strings(s->pre_guest, s->npreopens);
    free_strings(s->pre_host, s->npreopens);
    for (uint32_t i = 0; owned_fd_paths && s->fds && i < s->nfds; i++)
        free(s->fds[i].rec.path);
    free(s->fds);
    memset(s, 0, sizeof *s);
}

/* ==== Save ==== */

static waft_result save_state(waft_codec *c, void *ctx)
{
    waft_wasi *w = ctx;
    saved_state s;
    memset(&s, 0, sizeof s);
    s.args = w->args;
    s.nargs = w->nargs;
    s.env = w->env;
    s.nenv = w->nenv;
    s.npreopens = w->npreopens;
    s.pre_guest = calloc((size_t)w->npreopens + 1, sizeof *s.pre_guest);
    s.pre_host = calloc((size_t)w->npreopens + 1, sizeof *s.pre_host);
    uint32_t n = 0;
    for (uint32_t fd = wasi_fd_next(w, 0); fd != UINT32_MAX; fd = wasi_fd_next(w, fd + 1))
        n++;
    s.fds = calloc((size_t)n + 1, sizeof *s.fds);
    if (!s.pre_guest || !s.pre_host || !s.fds) {
        free(s.pre_guest);
        free(s.pre_host);
        free(s.fds);
        waft_codec_fail(c, "out of memory");
        return WAFT_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < w->npreopens; i++) {
        s.pre_guest[i] = w->preopens[i].guest_path;
        s.pre_host[i] = w->preopens[i].host_path;
    }
    waft_result r = WAFT_OK;
    for (uint32_t fd = wasi_fd_next(w, 0); fd != UINT32_MAX && r == WAFT_OK;
         fd = wasi_fd_next(w, fd + 1)) {
        wasi_fd_state st;
        if (wasi_fd_inspect(w, fd, &st) != 0)
            continue;
        saved_fd *f = &s.fds[s.nfds++];
        f->fd = fd;
        f->rec = *st.entry;
        /* files keep their offset; so does standard input when it is a file, so that a
         * restore fed the same file goes on reading where the program was */
        f->has_offset =
            st.has_offset && (st.entry->kind == WASI_KIND_FILE ||
                              (st.entry->kind == WASI_KIND_STDIO && st.entry->origin == 0 &&
                               st.has_stat && st.stat.filetype == WASI_FILETYPE_REGULAR_FILE));
        f->offset = f->has_offset ? st.offset : 0;
        if (st.entry->kind == WASI_KIND_SOCKET || st.entry->kind == WASI_KIND_ACCEPTED) {
            char msg[96];
            snprintf(msg, sizeof msg, "fd %u is a socket; sockets cannot be saved yet", fd);
            waft_codec_fail(c, msg);
            r = WAFT_ERR_UNSUPPORTED;
        } else if (st.entry->unlinked) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "fd %u (%s) refers to a removed file; it cannot be "
                     "reopened after a restore",
                     fd, st.entry->path ? st.entry->path : "?");
            waft_codec_fail(c, msg);
            r = WAFT_ERR_UNSUPPORTED;
        }
    }
    s.flags = w->flags;
    s.exited = w->exited;
    s.exit_code = (uint32_t)w->exit_code;
    wasi_clock_save(w, s.clocks);
    if (r == WAFT_OK)
        wasi_state_codec(c, &s);
    free(s.pre_guest);
    free(s.pre_host);
    free(s.fds);
    return r;
}

/* ==== Load ==== */

/* The record is fine but this host cannot give the program what it had. */
static waft_result load_fail(waft_codec *c, const char *msg)
{
    waft_codec_fail(c, msg);
    return WAFT_ERR_RESTORE;
}

/* The record itself is inconsistent. */
static waft_result load_bad(waft_codec *c, const char *msg)
{
    waft_codec_fail(c, msg);
    return WAFT_ERR_IMAGE;
}

#define SHOWN_MAX 100u

/* A string from the image, fit for a message: control bytes as \xHH (an image could
 * otherwise put terminal escapes into the line a restore prints), cut short with "...". */
static const char *shown(const char *s, char buf[SHOWN_MAX])
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (n + 8 > SHOWN_MAX) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        if (ch < 0x20 || ch == 0x7f)
            n += (size_t)snprintf(buf + n, SHOWN_MAX - n, "\\x%02x", ch);
        else
            buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    return buf;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Replaces w's strings (args or env) with the saved ones (taken). */
static void take_strings(char ***dst, uint32_t *dst_n, uint32_t *dst_size, char **src, uint32_t n)
{
    free_strings(*dst, *dst_n);
    *dst = src;
    *dst_n = n;
    uint64_t size = 0;
    for (uint32_t i = 0; i < n; i++)
        size += strlen(src[i]) + 1;
    *dst_size = (uint32_t)size;
}

static const char *errno_text(uint16_t e)
{
    switch (e) {
    case WASI_ENOENT:
        return "no longer exists";
    case WASI_EINVAL:
        return "changed: not the same kind, or shorter than the saved offset";
    case WASI_ENOTSUP:
        return "cannot be recreated";
    case WASI_EBADF:
        return "cannot be recreated at that number";
    case WASI_ENXIO:
        return "is a FIFO that no process reads";
    case WASI_EACCES:
        return "permission denied";
    case WASI_ENOTCAPABLE:
        return "escapes its preopened directory";
    default:
        return "cannot be reopened";
    }
}

static waft_result load_state(waft_codec *c, void *ctx)
{
    waft_wasi *w = ctx;
    saved_state s;
    memset(&s, 0, sizeof s);
    waft_result r = WAFT_OK;
    char msg[300], g[SHOWN_MAX], h[SHOWN_MAX];
    wasi_state_codec(c, &s);
    if (waft_codec_failed(c)) {
        saved_free(&s, true);
        return WAFT_ERR_IMAGE;
    }
    if (!saved_valid(&s, msg, sizeof msg)) {
        saved_free(&s, true);
        return load_bad(c, msg);
    }
    /* preopens: matched by guest name to the ones given now; with none given, the saved
     * host directories are used again (restore on the same machine) */
    uint32_t *map = calloc((size_t)s.npreopens + 1, sizeof *map);
    if (!map) {
        saved_free(&s, true);
        return load_fail(c, "out of memory");
    }
    if (w->npreopens == 0 && s.npreopens > 0 && !(w->flags & WAFT_WASI_TRUST_IMAGE_DIRS)) {
        snprintf(msg, sizeof msg,
                 "the program had directory \"%s\" (host %s); give it again with "
                 "--dir HOST::%s, or --keep-dirs to trust the image's host paths",
                 shown(s.pre_guest[0], g), shown(s.pre_host[0], h), g);
        free(map);
        saved_free(&s, true);
        return load_fail(c, msg);
    }
    if (w->npreopens == 0 && s.npreopens > 0) {
        wasi_preopen *p = calloc(s.npreopens, sizeof *p);
        if (!p) {
            free(map);
            saved_free(&s, true);
            return load_fail(c, "out of memory");
        }
        for (uint32_t i = 0; i < s.npreopens; i++) {
            p[i].guest_path = dup_str(s.pre_guest[i]);
            p[i].host_path = dup_str(s.pre_host[i]);
            map[i] = i;
        }
        free(w->preopens);
        w->preopens = p;
        w->npreopens = s.npreopens;
    } else {
        for (uint32_t i = 0; i < s.npreopens && r == WAFT_OK; i++) {
            map[i] = UINT32_MAX;
            for (uint32_t k = 0; k < w->npreopens; k++)
                if (strcmp(w->preopens[k].guest_path, s.pre_guest[i]) == 0)
                    map[i] = k;
            if (map[i] == UINT32_MAX) {
                snprintf(msg, sizeof msg,
                         "the program had directory \"%s\" (host %s); give it again "
                         "with --dir HOST::%s",
                         shown(s.pre_guest[i], g), shown(s.pre_host[i], h), g);
                r = load_fail(c, msg);
            }
        }
    }
    /* descriptors: an empty table, then each at its number */
    if (r == WAFT_OK)
        wasi_fd_reset(w);
    for (uint32_t i = 0; i < s.nfds && r == WAFT_OK; i++) {
        saved_fd *f = &s.fds[i];
        wasi_fd rec = f->rec;
        if (rec.kind != WASI_KIND_STDIO) {
            rec.origin = map[rec.origin]; /* saved_valid: below s.npreopens */
        } else if (w->stdio[rec.origin] < 0) {
            snprintf(msg, sizeof msg,
                     "fd %u was standard stream %u, which this process does not provide", f->fd,
                     rec.origin);
            r = load_fail(c, msg);
            break;
        }
        uint16_t e = wasi_fd_restore(w, f->fd, &rec, f->has_offset ? f->offset : 0);
        if (e == 0 && rec.kind == WASI_KIND_STDIO && f->has_offset) {
            /* standard input was a file: continue at the same place in this one */
            uint64_t at;
            wasi_host_stat st;
            int host = w->fds[f->fd].host;
            if (w->host->fstat(w->host_ud, host, &st) != 0 ||
                st.filetype != WASI_FILETYPE_REGULAR_FILE || st.size < f->offset ||
                w->host->seek(w->host_ud, host, (int64_t)f->offset, WASI_WHENCE_SET, &at) != 0) {
                snprintf(msg, sizeof msg,
                         "standard input was a file read up to byte %llu; give the same "
                         "file as standard input",
                         (unsigned long long)f->offset);
                r = load_fail(c, msg);
                break;
            }
        }
        if (e != 0) {
            const char *where = rec.kind == WASI_KIND_STDIO     ? "standard stream"
                                : rec.kind == WASI_KIND_PREOPEN ? "preopened directory"
                                                                : "file";
            snprintf(msg, sizeof msg, "fd %u (%s %s%s%s): %s", f->fd, where,
                     shown(rec.origin < w->npreopens && rec.kind != WASI_KIND_STDIO
                               ? w->preopens[rec.origin].guest_path
                               : "",
                           g),
                     rec.path && rec.path[0] ? "/" : "", shown(rec.path ? rec.path : "", h),
                     errno_text(e));
            r = load_fail(c, msg);
        }
    }
    if (r == WAFT_OK) {
        take_strings(&w->args, &w->nargs, &w->args_size, s.args, s.nargs);
        take_strings(&w->env, &w->nenv, &w->env_size, s.env, s.nenv);
        s.args = s.env = NULL;
        s.nargs = s.nenv = 0;
        w->exited = s.exited != 0;
        w->exit_code = (int32_t)s.exit_code;
        wasi_clock_restore(w, s.clocks);
    }
    free(map);
    saved_free(&s, true);
    return r;
}

waft_result wasi_state_register(waft_wasi *w)
{
    return waft_store_add_state(w->store, "wasi", WASI_STATE_VERSION, save_state, load_state, w);
}

/* ==== Checking without restoring ==== */

/* Decodes and validates the record as load_state does, and stops there. */
static waft_result check_state(waft_codec *c, void *ctx)
{
    saved_state s;
    char msg[300];
    waft_result r = WAFT_OK;

    (void)ctx;
    memset(&s, 0, sizeof s);
    wasi_state_codec(c, &s);
    if (waft_codec_failed(c))
        r = WAFT_ERR_IMAGE;
    else if (!saved_valid(&s, msg, sizeof msg))
        r = load_bad(c, msg);
    saved_free(&s, true);
    return r;
}

static waft_result no_save(waft_codec *c, void *ctx)
{
    (void)ctx;
    waft_codec_fail(c, "a store registered for checking only cannot be saved");
    return WAFT_ERR_UNSUPPORTED;
}

waft_result waft_wasi_register_check(waft_store *store)
{
    if (store == NULL)
        return WAFT_ERR_INVALID_ARG;
    return waft_store_add_state(store, "wasi", WASI_STATE_VERSION, no_save, check_state, NULL);
}
