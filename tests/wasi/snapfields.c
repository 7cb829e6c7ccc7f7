/* SPDX-License-Identifier: MIT */
/* snapfields.c - a host program (built natively against libwaft) that fills every field of
 * the WASI state tagged [snap] in src/wasi/wasi.h with distinct values, saves the store as
 * an image (waft_image_encode), restores it into a second store with a fresh WASI state
 * (waft_image_restore, preopens taken from the image) and compares field by field.
 *
 * It prints "checked STRUCT.FIELD" for each field it compared and "FAIL ..." for each
 * difference; run.sh lists the [snap] fields of wasi.h and fails when one of them is not
 * checked here, so a field tagged [snap] that the codec (src/wasi/snap.c) does not carry
 * through fails the test: either the comparison below, or the missing "checked" line.
 *
 *   usage: snapfields     (run in an empty directory, which it fills)
 */
#include "wasi/wasi.h"

#include <waft/waft_snapshot.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int checks, failed;

static void check(int ok, const char *what, int line)
{
    checks++;
    if (!ok) {
        failed++;
        printf("FAIL snapfields.c:%d: %s\n", line, what);
    }
}

#define CHECK(cond) check((cond) != 0, #cond, __LINE__)

/* Notes that `field` was compared (when every comparison of it so far held). */
static void checked(const char *field, int ok)
{
    if (ok)
        printf("checked %s\n", field);
    else
        printf("FAIL %s differs after save and restore\n", field);
    failed += !ok;
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Puts a descriptor at guest number `fd` of w as the guest could have made it. */
static void add_fd(waft_wasi *w, uint32_t fd, const wasi_fd *rec, uint64_t offset)
{
    uint16_t e = wasi_fd_restore(w, fd, rec, offset);
    if (e != 0)
        printf("FAIL cannot make fd %u (%s): WASI errno %u\n", fd, rec->path, e);
    failed += e != 0;
}

int main(void)
{
    /* an empty module: the image needs an instance, WASI state needs nothing of it */
    static const uint8_t empty[] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
    const char *const argv[] = { "prog", "first arg", "" };
    const char *const envp[] = { "A=1", "B=two words", "C=" };
    const waft_wasi_preopen pre[] = { { "pa", "/a" }, { "pb", "b" } };
    waft_engine *engine = NULL;
    waft_module *module = NULL;
    waft_store *s1 = NULL, *s2 = NULL;
    waft_instance *i1 = NULL, *i2 = NULL;
    waft_wasi *w1 = NULL, *w2 = NULL;
    waft_image *img = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    waft_error err;
    waft_wasi_config cfg;
    uint64_t last1[WASI_NCLOCKS], now = 0;
    int ok;

    mkdir("pa", 0755);
    mkdir("pa/sub", 0755);
    mkdir("pb", 0755);
    write_file("pa/file.txt", "0123456789");
    write_file("pb/other.txt", "abcdefghijklmnop");

    CHECK(waft_engine_new(NULL, &engine) == WAFT_OK);
    CHECK(waft_module_new(engine, empty, sizeof empty, &module, &err) == WAFT_OK);
    CHECK(waft_store_new(engine, &s1) == WAFT_OK && waft_store_new(engine, &s2) == WAFT_OK);
    if (failed)
        goto done;

    /* ---- the state to save: every [snap] field away from its default ---- */
    waft_wasi_config_init(&cfg);
    cfg.argc = 3;
    cfg.argv = argv;
    cfg.envc = 3;
    cfg.envp = envp;
    cfg.npreopens = 2;
    cfg.preopens = pre;
    cfg.flags = WAFT_WASI_NO_OPENAT2;
    CHECK(waft_wasi_new(s1, &cfg, &w1, &err) == WAFT_OK);
    CHECK(waft_instance_new(s1, module, NULL, 0, &i1, &err) == WAFT_OK);
    if (failed)
        goto done;
    {
        wasi_fd file = { 0 }, dir = { 0 }, other = { 0 };
        file.kind = WASI_KIND_FILE;
        file.filetype = WASI_FILETYPE_REGULAR_FILE;
        file.oflags = WASI_OFLAG_CREAT | WASI_OFLAG_TRUNC;
        file.fdflags = WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK;
        file.lookupflags = WASI_LOOKUP_SYMLINK_FOLLOW;
        file.origin = 0;
        file.path = "file.txt";
        file.rights_base = WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_SEEK |
                           WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_FILESTAT_GET;
        add_fd(w1, 7, &file, 4);
        dir.kind = WASI_KIND_DIR;
        dir.filetype = WASI_FILETYPE_DIRECTORY;
        dir.oflags = WASI_OFLAG_DIRECTORY;
        dir.origin = 0;
        dir.path = "sub";
        dir.rights_base = WASI_RIGHT_PATH_OPEN | WASI_RIGHT_FD_READDIR | WASI_RIGHT_FD_SYNC;
        dir.rights_inheriting = WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK;
        dir.dir_cookie = 42;
        add_fd(w1, 9, &dir, 0);
        other.kind = WASI_KIND_FILE;
        other.filetype = WASI_FILETYPE_REGULAR_FILE;
        other.origin = 1;
        other.path = "other.txt";
        other.rights_base = WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL;
        add_fd(w1, 12, &other, 11);
    }
    wasi_fd_release(w1, 4); /* preopen "b" closed by the guest: a gap in the table */
    w1->exited = true;
    w1->exit_code = -7;
    /* clocks far ahead of the host's, as after a migration from a host up for longer */
    w1->clock.offset[WASI_CLOCK_MONOTONIC] = 1000000000000000LL;
    w1->clock.offset[WASI_CLOCK_PROCESS] = 500000000000000LL;
    for (uint32_t id = 0; id < WASI_NCLOCKS; id++)
        wasi_clock_now(w1, id, &now);

    /* unlinked: an image cannot hold such a descriptor, so saving must refuse it */
    w1->fds[12].unlinked = 1;
    ok = waft_image_encode(s1, i1, NULL, &bytes, &len, &err) != WAFT_OK &&
         strstr(err.message, "fd 12") != NULL && strstr(err.message, "removed") != NULL;
    if (!ok)
        printf("FAIL saving an unlinked fd: %s\n", bytes ? "accepted" : err.message);
    free(bytes);
    bytes = NULL;
    w1->fds[12].unlinked = 0;
    checked("wasi_fd.unlinked", ok);

    /* ---- save, restore into a fresh state that takes its preopens from the image ---- */
    for (uint32_t id = 0; id < WASI_NCLOCKS; id++)
        last1[id] = w1->clock.last[id];
    CHECK(waft_image_encode(s1, i1, NULL, &bytes, &len, &err) == WAFT_OK);
    if (failed) {
        printf("  encode: %s\n", err.message);
        goto done;
    }
    waft_wasi_config_init(&cfg);
    cfg.flags = WAFT_WASI_TRUST_IMAGE_DIRS;
    CHECK(waft_wasi_new(s2, &cfg, &w2, &err) == WAFT_OK);
    CHECK(waft_image_decode(engine, bytes, len, &img, &err) == WAFT_OK);
    if (failed)
        goto done;
    if (waft_image_restore(img, s2, module, NULL, 0, &i2, &err) != WAFT_OK) {
        printf("FAIL restore: %s\n", err.message);
        failed++;
        goto done;
    }

    /* ---- compare ---- */
    ok = w2->nargs == w1->nargs;
    checked("waft_wasi.nargs", ok);
    for (uint32_t i = 0; ok && i < w1->nargs; i++)
        ok = same_str(w1->args[i], w2->args[i]);
    checked("waft_wasi.args", ok);
    ok = w2->nenv == w1->nenv;
    checked("waft_wasi.nenv", ok);
    for (uint32_t i = 0; ok && i < w1->nenv; i++)
        ok = same_str(w1->env[i], w2->env[i]);
    checked("waft_wasi.env", ok);
    ok = w2->npreopens == w1->npreopens;
    checked("waft_wasi.npreopens", ok);
    {
        int guest_ok = ok, host_ok = ok;
        for (uint32_t i = 0; ok && i < w1->npreopens; i++) {
            guest_ok &= same_str(w1->preopens[i].guest_path, w2->preopens[i].guest_path);
            host_ok &= same_str(w1->preopens[i].host_path, w2->preopens[i].host_path);
        }
        checked("wasi_preopen.guest_path", guest_ok);
        checked("wasi_preopen.host_path", host_ok);
        checked("waft_wasi.preopens", guest_ok && host_ok);
    }
    ok = w2->nfds == w1->nfds;
    checked("waft_wasi.nfds", ok);
    {
        int kind = ok, filetype = ok, oflags = ok, fdflags = ok, lookup = ok, origin = ok;
        int path = ok, base = ok, inheriting = ok, cookie = ok, offset = ok;
        for (uint32_t fd = 0; ok && fd < w1->nfds; fd++) {
            const wasi_fd *a = &w1->fds[fd], *b = &w2->fds[fd];
            wasi_fd_state sa, sb;
            kind &= a->kind == b->kind;
            if (a->kind == WASI_KIND_FREE || b->kind == WASI_KIND_FREE)
                continue;
            filetype &= a->filetype == b->filetype;
            oflags &= a->oflags == b->oflags;
            fdflags &= a->fdflags == b->fdflags;
            lookup &= a->lookupflags == b->lookupflags;
            origin &= a->origin == b->origin;
            path &= same_str(a->path, b->path);
            base &= a->rights_base == b->rights_base;
            inheriting &= a->rights_inheriting == b->rights_inheriting;
            cookie &= a->dir_cookie == b->dir_cookie;
            offset &= wasi_fd_inspect(w1, fd, &sa) == 0 && wasi_fd_inspect(w2, fd, &sb) == 0 &&
                      sa.has_offset == sb.has_offset && sa.offset == sb.offset;
        }
        checked("wasi_fd.kind", kind);
        checked("wasi_fd.filetype", filetype);
        checked("wasi_fd.oflags", oflags);
        checked("wasi_fd.fdflags", fdflags);
        checked("wasi_fd.lookupflags", lookup);
        checked("wasi_fd.origin", origin);
        checked("wasi_fd.path", path);
        checked("wasi_fd.rights_base", base);
        checked("wasi_fd.rights_inheriting", inheriting);
        checked("wasi_fd.dir_cookie", cookie);
        checked("file offsets", offset);
        checked("waft_wasi.fds", kind && filetype && oflags && fdflags && lookup && origin &&
                                     path && base && inheriting && cookie && offset);
    }
    /* [derived]: the restoring process's own flags, never the image's */
    checked("waft_wasi.flags (this process's, not the image's)",
            w2->flags == WAFT_WASI_TRUST_IMAGE_DIRS);
    checked("waft_wasi.exited", w2->exited == w1->exited);
    checked("waft_wasi.exit_code", w2->exit_code == w1->exit_code);
    {
        /* the clocks continue from the saved guest values: the offsets come back (to within
         * the time the round trip took) and no clock went backwards */
        int offsets = 1, lasts = 1;
        for (uint32_t id = 0; id < WASI_NCLOCKS; id++) {
            int64_t d = w2->clock.offset[id] - w1->clock.offset[id];
            offsets &= d > -60000000000LL && d < 60000000000LL;
            lasts &= w2->clock.last[id] >= last1[id];
            if (id != WASI_CLOCK_REALTIME)
                lasts &= wasi_clock_now(w2, id, &now) == 0 && now >= last1[id];
        }
        checked("wasi_clock.offset", offsets);
        checked("wasi_clock.last", lasts);
        checked("waft_wasi.clock", offsets && lasts);
    }

done:
    free(bytes);
    waft_image_free(img);
    waft_wasi_free(w2);
    waft_wasi_free(w1);
    waft_store_free(s2);
    waft_store_free(s1);
    waft_module_free(module);
    waft_engine_free(engine);
    printf("snapfields: %d checks, %d failed\n", checks, failed);
    return failed != 0;
}
