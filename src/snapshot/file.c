/* SPDX-License-Identifier: MIT */
/* file.c - images as bytes and files: encode to a buffer, save atomically, decode from a
 * buffer or a mapped file; the image's lifetime and what it tells about itself.
 *
 * Invariants:
 *  - A save writes PATH.tmp, flushes it, renames it over PATH and flushes the directory: a
 *    crash leaves the old image or the new one.
 *  - A loaded image owns (or maps) the bytes its spans point into until waft_image_free.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include "snapshot/snapshot.h"

#include "base/stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define WAFT_POSIX_FILES 1
#endif

/* ==== Image lifetime ==== */

static waft_image *image_new(waft_engine *engine)
{
    waft_image *img = base_calloc(&engine->alloc, 1, sizeof *img);
    if (img) {
        img->engine = engine;
        img->alloc = &engine->alloc;
        img->version = WAFT_IMAGE_VERSION;
        img->fuel = UINT64_MAX;
        img->fd = -1;
        snprintf(img->path, sizeof img->path, "image");
    }
    return img;
}

bool snap_image_own(waft_image *img, uint8_t *buf)
{
    if (!base_grow(img->alloc, (void **)&img->owned, &img->cap_owned, img->nowned + 1,
                   sizeof *img->owned))
        return false;
    img->owned[img->nowned++] = buf;
    return true;
}

WAFT_API void waft_image_free(waft_image *img)
{
    if (!img)
        return;
    base_alloc *a = img->alloc;
    base_free(a, img->memories); /* bitmaps and chunks point into `owned` */
    for (uint32_t i = 0; img->tables && i < img->ntables; i++)
        base_free(a, img->tables[i].elems);
    base_free(a, img->tables);
    base_free(a, img->globals);
    base_free(a, img->elem_dropped);
    base_free(a, img->data_dropped);
    for (uint32_t i = 0; img->frames && i < img->nframes; i++)
        base_free(a, img->frames[i].slots);
    base_free(a, img->frames);
    for (uint32_t i = 0; img->exts && i < img->nexts; i++) {
        base_free(a, img->exts[i].name);
        base_free(a, img->exts[i].payload);
    }
    base_free(a, img->exts);
    for (uint32_t i = 0; i < img->nowned; i++)
        base_free(a, img->owned[i]);
    base_free(a, img->owned);
#if defined(WAFT_POSIX_FILES)
    if (img->map)
        munmap(img->map, img->map_len);
    if (img->fd >= 0)
        close(img->fd);
#endif
    base_free(a, img);
}

/* Captures and encodes; the image's borrowed pointers (linear memory, module bytes) are
 * referenced by `out`, so the store must not run until `out` is consumed. */
static waft_result encode_store(waft_store *store, const waft_instance *inst,
                                const waft_image_options *opt, snap_out *out, waft_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    if (!store || !inst || inst->store != store)
        return WAFT_ERR_INVALID_ARG;
    waft_image *img = image_new(store->engine);
    if (!img)
        return WAFT_ERR_NOMEM;
    waft_result r = snap_capture(store, inst, img, err);
    if (opt && opt->omit_module)
        img->module_bytes = NULL;
    if (opt && opt->omit_memory)
        img->memory_external = true;
    if (r == WAFT_OK)
        r = snap_encode(img, opt, out, err);
    waft_image_free(img); /* its arrays were copied into `out`'s own buffers */
    return r;
}

/* Writes every byte range of `o` to `s`, gathered. */
static bool write_out(base_stream *s, const snap_out *o)
{
    stream_piece v[64];
    for (uint32_t i = 0; i < o->niov;) {
        size_t n = 0;
        for (; n < 64 && i < o->niov; n++, i++) {
            v[n].p = o->iov[i].p;
            v[n].len = o->iov[i].len;
        }
        if (!stream_writev(s, v, n))
            return false;
    }
    return true;
}

#if defined(WAFT_POSIX_FILES) && defined(O_DIRECT)
#define DIRECT_ALIGN 4096u
#define DIRECT_MAX   (64u << 20) /* bytes per direct write */

/* write_out to a file, except that the page-aligned runs of memory (MEMA places them at
 * 4 KiB boundaries of the file) go through `dfd`, the same file opened O_DIRECT: from the
 * program's pages to the disk, with no copy into the page cache and no memory for one.
 * Everything else goes through `s` (whose descriptor is kept at the same offset). If the
 * file system refuses a direct write (EINVAL), the rest is written through `s`. */
static bool write_out_direct(base_stream *s, int dfd, const snap_out *o)
{
    stream_piece v[64];
    size_t n = 0;
    uint64_t pos = 0; /* file offset of the next piece */
    for (uint32_t i = 0; i < o->niov; i++) {
        const uint8_t *p = o->iov[i].p;
        size_t len = o->iov[i].len;
        bool direct = dfd >= 0 && len >= DIRECT_ALIGN &&
                      (((uintptr_t)p | (uintptr_t)pos | len) % DIRECT_ALIGN) == 0;
        if (n && (direct || n == 64)) {
            if (!stream_writev(s, v, n))
                return false;
            n = 0;
        }
        size_t done = 0;
        while (direct && done < len) {
            size_t want = len - done > DIRECT_MAX ? DIRECT_MAX : len - done;
            ssize_t w = pwrite(dfd, p + done, want, (off_t)(pos + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && errno == EINVAL && done == 0) {
                dfd = -1; /* not on this file system: buffered from here on */
                direct = false;
                break;
            }
            if (w <= 0)
                return stream_fail(s, w < 0 ? errno : EIO, "write failed: %s",
                                   w < 0 ? strerror(errno) : "no progress");
            done += (size_t)w;
        }
        if (direct) {
            pos += len;
            if (lseek(s->fd, (off_t)pos, SEEK_SET) < 0)
                return stream_fail(s, errno, "seek failed: %s", strerror(errno));
            continue;
        }
        v[n].p = p;
        v[n].len = len;
        n++;
        pos += len;
    }
    return n == 0 || stream_writev(s, v, n);
}
#endif

WAFT_API waft_result waft_image_encode(waft_store *store, const waft_instance *instance,
                                       const waft_image_options *options, uint8_t **out_bytes,
                                       size_t *out_len, waft_error *out_err)
{
    if (!out_bytes || !out_len)
        return WAFT_ERR_INVALID_ARG;
    snap_out out;
    waft_result r = encode_store(store, instance, options, &out, out_err);
    if (r != WAFT_OK)
        return r;
    base_stream s;
    stream_init_mem_writer(&s, NULL); /* malloc()ed, as the API promises */
    write_out(&s, &out);
    snap_out_free(&out);
    *out_bytes = stream_take(&s, out_len);
    stream_free(&s);
    return *out_bytes ? WAFT_OK : WAFT_ERR_NOMEM;
}

/* Makes a rename in the directory of `path` durable. */
static void sync_dir(base_alloc *a, const char *path)
{
#if defined(WAFT_POSIX_FILES)
    size_t plen = strlen(path);
    char *dir = base_malloc(a, plen + 2);
    if (!dir)
        return;
    memcpy(dir, path, plen + 1);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = 0;
    else
        strcpy(dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    base_free(a, dir);
#else
    (void)a;
    (void)path;
#endif
}

static uint64_t now_ns(void)
{
    struct timespec ts;
#if defined(WAFT_POSIX_FILES)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define WRITE_BEHIND_WINDOW (16u << 20)

WAFT_API waft_result waft_image_save(waft_store *store, const waft_instance *instance,
                                     const char *path, const waft_image_options *options,
                                     waft_error *out_err)
{
    if (!path)
        return WAFT_ERR_INVALID_ARG;
    waft_image_stats *st = options ? options->stats : NULL;
    if (st)
        memset(st, 0, sizeof *st);
    uint64_t t0 = now_ns();
    snap_out out;
    waft_result r = encode_store(store, instance, options, &out, out_err);
    if (r != WAFT_OK)
        return r;
    uint64_t t1 = now_ns(), t2 = t1;
    if (st) {
        st->bytes = out.total;
        st->capture_ns = t1 - t0;
    }
    size_t plen = strlen(path);
    char *tmp = base_malloc(store->alloc, plen + 8);
    if (!tmp) {
        snap_out_free(&out);
        return WAFT_ERR_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    bool sync = !(options && options->no_sync);
#if defined(WAFT_POSIX_FILES)
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", tmp, strerror(errno));
        r = WAFT_ERR_IO;
        goto done;
    }
    base_stream s;
    stream_init_fd(&s, fd, STREAM_FILE);
    bool wrote;
    int dfd = -1;
#if defined(O_DIRECT)
    /* a durable image skips the page cache for memory: direct writes, then one fsync */
    if (sync && !(options && options->plain_write))
        dfd = open(tmp, O_WRONLY | O_DIRECT | O_CLOEXEC);
#endif
    if (dfd >= 0) {
#if defined(O_DIRECT)
        wrote = write_out_direct(&s, dfd, &out);
#endif
        close(dfd);
    } else {
        if (sync && !(options && options->plain_write))
            stream_write_behind(&s, WRITE_BEHIND_WINDOW);
        wrote = write_out(&s, &out);
    }
    t2 = now_ns();
    if (wrote && sync)
        stream_sync(&s);
    if (close(fd) != 0)
        stream_fail(&s, errno, "close failed: %s", strerror(errno));
    if (s.failed) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", tmp, stream_error(&s));
        r = WAFT_ERR_IO;
        unlink(tmp);
        goto done;
    }
#else
    FILE *f = fopen(tmp, "wb");
    bool ok = f != NULL;
    for (uint32_t i = 0; ok && i < out.niov; i++)
        ok = fwrite(out.iov[i].p, 1, out.iov[i].len, f) == out.iov[i].len;
    t2 = now_ns();
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "cannot write %s", tmp);
        r = WAFT_ERR_IO;
        remove(tmp);
        goto done;
    }
#endif
    if (rename(tmp, path) != 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "rename %s: %s", path, strerror(errno));
        remove(tmp);
        r = WAFT_ERR_IO;
        goto done;
    }
    if (sync) /* make the rename itself durable */
        sync_dir(store->alloc, path);
    if (st) {
        st->write_ns = t2 - t1;
        st->sync_ns = now_ns() - t2;
    }
done:
    base_free(store->alloc, tmp);
    snap_out_free(&out);
    return r;
}

WAFT_API waft_result waft_image_decode(waft_engine *engine, const uint8_t *bytes, size_t len,
                                       waft_image **out_image, waft_error *out_err)
{
    if (!engine || !out_image || (!bytes && len))
        return WAFT_ERR_INVALID_ARG;
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    *out_image = NULL;
    waft_image *img = image_new(engine);
    if (!img)
        return WAFT_ERR_NOMEM;
    uint8_t *copy = base_malloc(img->alloc, len ? len : 1);
    if (!copy || !snap_image_own(img, copy)) {
        base_free(img->alloc, copy);
        waft_image_free(img);
        return WAFT_ERR_NOMEM;
    }
    if (len)
        memcpy(copy, bytes, len);
    waft_result r = snap_decode(img, copy, len, out_err);
    if (r != WAFT_OK) {
        waft_image_free(img);
        return r;
    }
    *out_image = img;
    return WAFT_OK;
}

WAFT_API waft_result waft_image_load(waft_engine *engine, const char *path, waft_image **out_image,
                                     waft_error *out_err)
{
    if (!engine || !path || !out_image)
        return WAFT_ERR_INVALID_ARG;
    if (out_err)
        memset(out_err, 0, sizeof *out_err);
    *out_image = NULL;
#if defined(WAFT_POSIX_FILES)
    /* map the file and parse it in place: no copy of the (possibly huge) image */
    /* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; anything but a
     * regular file is refused below, and reading a regular file never blocks anyway */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", path, strerror(errno));
        return WAFT_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", path, strerror(errno));
        close(fd);
        return WAFT_ERR_IO;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX / 2) {
        close(fd);
        if (st.st_size == 0 && S_ISREG(st.st_mode)) {
            base_error_set(out_err, WAFT_ERR_IMAGE, 0, -1, "not a waft image: empty file");
            return WAFT_ERR_IMAGE;
        }
        if (S_ISREG(st.st_mode)) /* a 32-bit host cannot map it */
            base_error_set(out_err, WAFT_ERR_IO, -1, -1,
                           "%s: %llu bytes is too large for this host", path,
                           (unsigned long long)st.st_size);
        else
            base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: not a regular file", path);
        return WAFT_ERR_IO;
    }
    size_t len = (size_t)st.st_size;
    /* not populated: the pages of a MEMA record are read only where restore needs them */
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: %s", path, strerror(errno));
        close(fd);
        return WAFT_ERR_IO;
    }
    waft_image *img = image_new(engine);
    if (!img) {
        munmap(map, len);
        close(fd);
        return WAFT_ERR_NOMEM;
    }
    img->map = map;
    img->map_len = len;
    img->fd = fd; /* restore maps memory from it */
    snprintf(img->path, sizeof img->path, "%s", path);
    waft_result r = snap_decode(img, map, len, out_err);
    if (r != WAFT_OK) {
        waft_image_free(img);
        return r;
    }
    *out_image = img;
    return WAFT_OK;
#else
    FILE *f = fopen(path, "rb");
    if (!f) {
        base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: cannot open", path);
        return WAFT_ERR_IO;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    waft_result r = WAFT_OK;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : (1u << 16);
            uint8_t *nb = base_realloc(&engine->alloc, buf, ncap);
            if (!nb) {
                r = WAFT_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                base_error_set(out_err, WAFT_ERR_IO, -1, -1, "%s: read error", path);
                r = WAFT_ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (r == WAFT_OK)
        r = waft_image_decode(engine, buf, len, out_image, out_err);
    base_free(&engine->alloc, buf);
    return r;
#endif
}

WAFT_API void waft_image_set_memory_restore(waft_image *image, waft_memory_restore how)
{
    if (image &&
        (how == WAFT_MEMORY_MAP_CHECKED || how == WAFT_MEMORY_MAP_LAZY || how == WAFT_MEMORY_COPY))
        image->memory_restore = (uint8_t)how;
}

WAFT_API const uint8_t *waft_image_module(const waft_image *image, size_t *out_len)
{
    if (out_len)
        *out_len = image && image->module_bytes ? (size_t)image->module_len : 0;
    return image ? image->module_bytes : NULL;
}

WAFT_API void waft_image_get_info(const waft_image *img, waft_image_info *out)
{
    memset(out, 0, sizeof *out);
    out->version = img->version;
    memcpy(out->module_hash, img->module_hash, 32);
    out->module_size = img->module_len;
    out->module_embedded = img->module_bytes != NULL;
    out->nmemories = img->nmemories;
    for (uint32_t i = 0; i < img->nmemories; i++) {
        out->memory_bytes += (uint64_t)img->memories[i].pages * WAFT_PAGE_SIZE;
        out->memory_bytes_stored += img->memories[i].nstored * SNAP_CHUNK;
    }
    out->ntables = img->ntables;
    out->nglobals = img->nglobals;
    out->nframes = img->nframes;
    out->fuel = img->fuel;
    out->steps = img->steps;
    out->nextensions = img->nexts;
    out->image_size = img->image_size;
    out->compressed = img->compressed;
}

WAFT_API waft_result waft_image_frame(const waft_image *img, uint32_t depth, waft_frame_state *out)
{
    if (!img || !out || depth >= img->nframes)
        return WAFT_ERR_INVALID_ARG;
    const snap_frame *f = &img->frames[img->nframes - 1 - depth];
    memset(out, 0, sizeof *out);
    out->func = f->func;
    out->code_offset = f->offset;
    out->nlocals = f->nlocals;
    out->nvalues = f->nvalues;
    return WAFT_OK;
}

WAFT_API const char *waft_image_extension(const waft_image *img, uint32_t i, uint32_t *out_version,
                                          uint64_t *out_size)
{
    if (!img || i >= img->nexts)
        return NULL;
    if (out_version)
        *out_version = img->exts[i].version;
    if (out_size)
        *out_size = img->exts[i].len;
    return (const char *)img->exts[i].name;
}
