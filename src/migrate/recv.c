/* SPDX-License-Identifier: MIT */
/* recv.c - the destination side of live migration (waft_migration_in_*, waft_migrate.h).
 *
 * One object per incoming connection, driven step by step by its owner (`waft serve` runs
 * each in a child process of its own): handshake, module (from the cache or the peer),
 * ACCEPT once the caller has prepared the instance, then memory pages as they come, the
 * state, the restore, READY and the wait for COMMIT.
 *
 * Invariants: nothing of a peer is used before its frame's CRC and, with a key, the key
 * proof and frame MAC are checked; every failure sends the peer an ABORT with the reason;
 * the instance is not the caller's to run before COMMIT arrived.
 */
#define _GNU_SOURCE
#include "migrate.h"

#include <waft/waft_snapshot.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MODULE (256u << 20)
#define MAX_STATE  (1u << 30)

struct waft_migration_in {
    waft_engine *engine; /* borrowed */
    mig_key key;
    char cache[PATH_MAX]; /* "" when none */
    mig_conn c;
    uint8_t hash[32];    /* of the module, from HELLO */
    uint64_t module_len; /* from HELLO */
    waft_store *store;   /* borrowed, from waft_migration_in_accept */
    waft_instance *inst; /* borrowed */
    waft_extern mem;
    int has_mem;
    uint8_t *state;
    size_t state_len;
    char why[600];
};

static waft_result refuse(waft_migration_in *in, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->why, sizeof in->why, fmt, ap);
    va_end(ap);
    mig_send_abort(&in->c, in->why);
    return WAFT_ERR_IO;
}

static waft_result lost(waft_migration_in *in, const char *what)
{
    snprintf(in->why, sizeof in->why, "%s: %s", what, in->c.err);
    mig_send_abort(&in->c, in->why); /* tells the source why, if it still listens */
    return WAFT_ERR_IO;
}

waft_result waft_migration_in_new(waft_engine *engine, int take_fd,
                                  const waft_migration_in_options *options,
                                  waft_migration_in **out_in)
{
    if (out_in)
        *out_in = NULL; /* the header asks the caller to free after a failure: never garbage */
    if (!out_in || !engine || take_fd < 0) {
        if (take_fd >= 0)
            close(take_fd);
        return WAFT_ERR_INVALID_ARG;
    }
    waft_migration_in *in = calloc(1, sizeof *in);
    if (!in) {
        close(take_fd);
        return WAFT_ERR_NOMEM;
    }
    in->engine = engine;
    mig_init(&in->c, take_fd);
    double timeout = options && options->timeout > 0 ? options->timeout : 30;
    mig_set_timeout(take_fd, (int)(timeout * 1000));
    in->c.max_in = MIG_SMALL_PAYLOAD; /* until the peer has proved itself */
    if (options && options->key && options->key->len) {
        if (mig_crypto_why(in->why, sizeof in->why)) {
            *out_in = in;
            return WAFT_ERR_UNSUPPORTED;
        }
        in->key = *options->key;
    }
    if (options && options->module_cache)
        snprintf(in->cache, sizeof in->cache, "%s", options->module_cache);
    *out_in = in;
    return WAFT_OK;
}

waft_result waft_migration_in_handshake(waft_migration_in *in)
{
    if (!in)
        return WAFT_ERR_INVALID_ARG;
    mig_conn *c = &in->c;
    uint32_t len;
    if (mig_expect(c, MIG_HELLO, &len) != 0)
        return lost(in, "handshake");
    if (len != MIG_HELLO_SIZE)
        return refuse(in, "malformed hello");
    uint8_t hello[MIG_HELLO_SIZE];
    memcpy(hello, c->buf, sizeof hello);
    const uint8_t *h = hello;
    uint32_t proto = base_load32(h), image = base_load32(h + 4);
    int keyed = h[8];
    uint8_t nonce_s[MIG_NONCE], nonce_d[MIG_NONCE];
    memcpy(nonce_s, h + 9, MIG_NONCE);
    memcpy(in->hash, h + 9 + MIG_NONCE, 32);
    in->module_len = base_load64(h + 9 + MIG_NONCE + 32);
    if (proto != MIG_PROTO_VERSION)
        return refuse(in, "protocol version %u; this server speaks version %u", proto,
                      MIG_PROTO_VERSION);
    if (image != WAFT_IMAGE_VERSION)
        return refuse(in, "image version %u; this server reads version %u", image,
                      WAFT_IMAGE_VERSION);
    if (in->key.len && !keyed)
        return refuse(in, "this server requires a key (--key-file)");
    if (!in->key.len && keyed)
        return refuse(in, "this server has no key; it accepts only unauthenticated loopback peers");
    uint8_t ch[MIG_CHALLENGE_SIZE];
    memset(ch, 0, sizeof ch);
    if (mig_random(nonce_d, sizeof nonce_d) != 0)
        return refuse(in, "no random numbers on the server");
    base_store32(ch, MIG_PROTO_VERSION);
    ch[4] = in->key.len ? 1 : 0;
    memcpy(ch + 5, nonce_d, MIG_NONCE);
    if (in->key.len && mig_mac(&in->key, "waft-d", nonce_s, nonce_d, ch + 5 + MIG_NONCE) != 0)
        return refuse(in, "cannot compute the key proof");
    if (mig_send_buf(c, MIG_CHALLENGE, 0, ch, sizeof ch) != 0 || mig_expect(c, MIG_AUTH, &len) != 0)
        return lost(in, "handshake");
    if (in->key.len) {
        uint8_t mac[MIG_MAC];
        if (len != MIG_MAC || mig_mac(&in->key, "waft-s", nonce_d, nonce_s, mac) != 0 ||
            !mig_mac_equal(mac, c->buf))
            return refuse(in, "authentication failed (wrong key)");
        uint8_t t[32];
        if (mig_transcript(hello, sizeof hello, ch, sizeof ch, t) != 0 ||
            mig_conn_key(c, &in->key, nonce_s, t, 0) != 0)
            return refuse(in, "cannot derive the session keys");
    }
    if (in->module_len == 0 || in->module_len > MAX_MODULE)
        return refuse(in, "module of %llu bytes refused", (unsigned long long)in->module_len);
    c->max_in = MIG_MAX_PAYLOAD; /* authenticated (or a loopback peer) */
    return WAFT_OK;
}

/* ==== The module cache ==== */

static void cache_path(const waft_migration_in *in, char *out, size_t cap)
{
    char name[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(name + 2 * i, 3, "%02x", in->hash[i]);
    snprintf(out, cap, "%s/%s.wasm", in->cache, name);
}

static int cached_module(const waft_migration_in *in, uint8_t **bytes, size_t *len)
{
    char path[PATH_MAX + 80];
    if (!in->cache[0])
        return -1;
    cache_path(in, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    uint8_t *b = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > MAX_MODULE || !(b = malloc((size_t)st.st_size))) {
        close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < (size_t)st.st_size) {
        ssize_t n = read(fd, b + off, (size_t)st.st_size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    if (off != (size_t)st.st_size) {
        free(b);
        return -1;
    }
    *bytes = b;
    *len = off;
    return 0;
}

static void cache_module(const waft_migration_in *in, const uint8_t *bytes, size_t len)
{
    char path[PATH_MAX + 80], tmp[PATH_MAX + 120];
    if (!in->cache[0])
        return;
    cache_path(in, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, bytes + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    if (off == len)
        rename(tmp, path);
    else
        unlink(tmp);
}

waft_result waft_migration_in_module(waft_migration_in *in, waft_module **out_module)
{
    if (!in || !out_module)
        return WAFT_ERR_INVALID_ARG;
    *out_module = NULL;
    mig_conn *c = &in->c;
    uint8_t *bytes = NULL;
    size_t len = 0;
    uint8_t need = cached_module(in, &bytes, &len) == 0 ? 0 : 1;
    if (mig_send_buf(c, MIG_MODULE_REQ, 0, &need, 1) != 0) {
        free(bytes);
        return lost(in, "handshake");
    }
    if (need) {
        bytes = malloc((size_t)in->module_len);
        if (!bytes)
            return refuse(in, "out of memory for the module");
        len = 0;
        for (;;) {
            uint8_t t, f;
            uint32_t n;
            if (mig_recv(c, &t, &f, &n) != 0) {
                free(bytes);
                return lost(in, "receiving the module");
            }
            if (t != MIG_MODULE || n > in->module_len - len) {
                free(bytes);
                return refuse(in, "protocol error while receiving the module");
            }
            memcpy(bytes + len, c->buf, n);
            len += n;
            if (f & MIG_FLAG_LAST)
                break;
        }
        if (len != in->module_len) {
            free(bytes);
            return refuse(in, "module truncated (%zu of %llu bytes)", len,
                          (unsigned long long)in->module_len);
        }
    }
    waft_error err;
    memset(&err, 0, sizeof err);
    waft_module *module = NULL;
    waft_result r = waft_module_new(in->engine, bytes, len, &module, &err);
    if (r != WAFT_OK) {
        free(bytes);
        refuse(in, "module rejected: %s", err.message[0] ? err.message : waft_result_str(r));
        return r;
    }
    uint8_t got[32];
    waft_module_hash(module, got);
    if (memcmp(got, in->hash, 32) != 0) {
        free(bytes);
        waft_module_free(module);
        return refuse(in, "module bytes do not match their hash");
    }
    if (need)
        cache_module(in, bytes, len);
    free(bytes);
    *out_module = module;
    return WAFT_OK;
}

waft_result waft_migration_in_accept(waft_migration_in *in, waft_store *store,
                                     waft_instance *instance)
{
    if (!in || !store || !instance)
        return WAFT_ERR_INVALID_ARG;
    in->store = store;
    in->inst = instance;
    in->has_mem = waft_instance_memory(instance, &in->mem) == WAFT_OK;
    if (mig_send_buf(&in->c, MIG_ACCEPT, 0, NULL, 0) != 0)
        return lost(in, "accepting");
    return WAFT_OK;
}

/* ==== Pages and state ==== */

static waft_result apply_pages(waft_migration_in *in, const uint8_t *p, uint32_t len)
{
    if (len < MIG_PAGES_HEAD)
        return refuse(in, "malformed pages frame");
    uint32_t memi = base_load32(p), pages = base_load32(p + 4), k = base_load32(p + 8);
    if (memi != 0 || !in->has_mem || k > MIG_PAGES_MAX ||
        len != MIG_PAGES_HEAD + (uint64_t)k * (8 + MIG_PAGE))
        return refuse(in, "malformed pages frame");
    uint64_t size;
    waft_memory_data(in->store, in->mem, &size);
    uint32_t have = (uint32_t)(size / 65536);
    if (pages > have) {
        if (waft_memory_grow(in->store, in->mem, pages - have, NULL) != WAFT_OK)
            return refuse(in, "memory cannot grow to %u pages here", pages);
    }
    uint8_t *mem = waft_memory_data(in->store, in->mem, &size);
    const uint8_t *nums = p + MIG_PAGES_HEAD, *data = nums + 8 * (size_t)k;
    for (uint32_t i = 0; i < k; i++) {
        uint64_t pg = base_load64(nums + 8 * i);
        if (pg >= size / MIG_PAGE)
            return refuse(in, "page %llu is outside memory", (unsigned long long)pg);
        memcpy(mem + pg * MIG_PAGE, data + (size_t)i * MIG_PAGE, MIG_PAGE);
    }
    return WAFT_OK;
}

/* PAGES until the last STATE frame; then the restore. */
static waft_result receive_state(waft_migration_in *in)
{
    mig_conn *c = &in->c;
    for (;;) {
        uint8_t t, f;
        uint32_t n;
        if (mig_recv(c, &t, &f, &n) != 0)
            return lost(in, "receiving");
        if (t == MIG_PAGES) {
            waft_result r = apply_pages(in, c->buf, n);
            if (r != WAFT_OK)
                return r;
        } else if (t == MIG_SYNC) {
            if (n != 4)
                return refuse(in, "malformed sync frame");
            if (mig_send_buf(c, MIG_SYNC_ACK, 0, c->buf, 4) != 0)
                return lost(in, "acknowledging");
        } else if (t == MIG_STATE) {
            if (n > MAX_STATE - in->state_len)
                return refuse(in, "state too large");
            uint8_t *b = realloc(in->state, in->state_len + n + 1);
            if (!b)
                return refuse(in, "out of memory for the state");
            in->state = b;
            memcpy(b + in->state_len, c->buf, n);
            in->state_len += n;
            if (f & MIG_FLAG_LAST)
                break;
        } else {
            return refuse(in, "protocol error: frame type %u while receiving", t);
        }
    }
    waft_image *img = NULL;
    waft_error err;
    memset(&err, 0, sizeof err);
    waft_result r = waft_image_decode(in->engine, in->state, in->state_len, &img, &err);
    if (r == WAFT_OK)
        r = waft_image_restore_into(img, in->inst, &err);
    waft_image_free(img);
    free(in->state);
    in->state = NULL;
    in->state_len = 0;
    if (r != WAFT_OK) {
        refuse(in, "restore failed: %s", err.message[0] ? err.message : waft_result_str(r));
        return r;
    }
    if (waft_store_frame_count(in->store) == 0)
        return refuse(in, "the state holds no running call");
    return WAFT_OK;
}

waft_result waft_migration_in_receive(waft_migration_in *in)
{
    if (!in || !in->inst)
        return WAFT_ERR_INVALID_ARG;
    waft_result r = receive_state(in);
    if (r != WAFT_OK)
        return r;
    if (mig_send_buf(&in->c, MIG_READY, 0, NULL, 0) != 0)
        return lost(in, "ready");
    uint32_t len;
    if (mig_expect(&in->c, MIG_COMMIT, &len) != 0)
        return lost(in, "waiting for the commit");
    return WAFT_OK;
}

void waft_migration_in_confirm(waft_migration_in *in)
{
    if (!in)
        return;
    mig_send_buf(&in->c, MIG_DONE, 0, NULL, 0);
    mig_close(&in->c);
}

void waft_migration_in_refuse(waft_migration_in *in, const char *why)
{
    if (!in || !why)
        return;
    snprintf(in->why, sizeof in->why, "%s", why);
    mig_send_abort(&in->c, why);
}

const char *waft_migration_in_message(const waft_migration_in *in)
{
    return in ? in->why : "";
}

void waft_migration_in_free(waft_migration_in *in)
{
    if (!in)
        return;
    mig_close(&in->c);
    free(in->state);
    memset(&in->key, 0, sizeof in->key);
    free(in);
}
