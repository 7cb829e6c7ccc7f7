/* SPDX-License-Identifier: MIT */
/* proto.c - frames, sockets and the key check of the live-migration protocol (migrate.h),
 * and the public helpers of waft_migrate.h for keys and addresses. */
#define _GNU_SOURCE
#include "migrate.h"

#include "base/stream.h"

#include <waft/waft_snapshot.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dynlib.h" /* libcrypto, loaded when a key is first used */

#define MIG_MAGIC 0x4d544657u /* "WFTM" in little-endian order */

static int fail(mig_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* ==== Keys ==== */

int mig_have_crypto(void)
{
#if defined(WAFT_HAVE_CRYPTO)
    return base_crypto_get(NULL, 0) != NULL;
#else
    return 0;
#endif
}

const char *mig_crypto_why(char *buf, size_t cap)
{
#if defined(WAFT_HAVE_CRYPTO)
    char why[256];
    if (base_crypto_get(why, sizeof why))
        return NULL;
    snprintf(buf, cap, "keys need libcrypto, which cannot be loaded: %s", why);
#else
    snprintf(buf, cap, "this libwaft was built without libcrypto: keys are unsupported");
#endif
    return buf;
}

int mig_key_load(const char *path, mig_key *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char why[320];
    if (mig_crypto_why(why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    /* O_NONBLOCK: a FIFO in the key's place is refused below instead of hanging open(2) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot open key file: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "%s: a key file must be a regular file readable by its owner only "
                 "(chmod 600)",
                 path);
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, out->bytes, sizeof out->bytes);
    uint8_t extra;
    ssize_t more = n == (ssize_t)sizeof out->bytes ? read(fd, &extra, 1) : 0;
    close(fd);
    if (n < 0 || more != 0) {
        snprintf(err, errlen, "%s: %s", path,
                 n < 0 ? strerror(errno) : "key file longer than 256 bytes");
        return -1;
    }
    while (n > 0 && (out->bytes[n - 1] == '\n' || out->bytes[n - 1] == '\r'))
        n--;
    if (n < 16) {
        snprintf(err, errlen, "%s: key too short (%zd bytes; at least 16)", path, n);
        return -1;
    }
    out->len = (size_t)n;
    return 0;
}

int mig_mac(const mig_key *key, const char *label, const uint8_t *a, const uint8_t *b,
            uint8_t out[MIG_MAC])
{
#if defined(WAFT_HAVE_CRYPTO)
    const base_crypto *cr = base_crypto_get(NULL, 0);
    uint8_t msg[16 + 2 * MIG_NONCE];
    size_t ll = strlen(label);
    if (ll > 16 || !cr)
        return -1;
    memcpy(msg, label, ll);
    memcpy(msg + ll, a, MIG_NONCE);
    memcpy(msg + ll + MIG_NONCE, b, MIG_NONCE);
    unsigned int olen = 0;
    if (!cr->HMAC(cr->EVP_sha256(), key->bytes, (int)key->len, msg, ll + 2 * MIG_NONCE, out,
                  &olen) ||
        olen != MIG_MAC)
        return -1;
    return 0;
#else
    (void)key, (void)label, (void)a, (void)b, (void)out;
    return -1;
#endif
}

int mig_transcript(const uint8_t *hello, size_t hlen, const uint8_t *challenge, size_t clen,
                   uint8_t out[32])
{
#if defined(WAFT_HAVE_CRYPTO)
    const base_crypto *cr = base_crypto_get(NULL, 0);
    if (!cr)
        return -1;
    unsigned int olen = 0;
    EVP_MD_CTX *ctx = cr->EVP_MD_CTX_new();
    int ok = ctx && cr->EVP_DigestInit_ex(ctx, cr->EVP_sha256(), NULL) &&
             cr->EVP_DigestUpdate(ctx, hello, hlen) && cr->EVP_DigestUpdate(ctx, challenge, clen) &&
             cr->EVP_DigestFinal_ex(ctx, out, &olen) && olen == 32;
    cr->EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
#else
    (void)hello, (void)hlen, (void)challenge, (void)clen, (void)out;
    return -1;
#endif
}

int mig_conn_key(mig_conn *c, const mig_key *key, const uint8_t *nonce_s,
                 const uint8_t transcript[32], int source)
{
    uint8_t sd[MIG_MAC], ds[MIG_MAC];
    if (mig_mac(key, "waft-sd", nonce_s, transcript, sd) != 0 ||
        mig_mac(key, "waft-ds", nonce_s, transcript, ds) != 0)
        return fail(c, "cannot derive the session keys");
    memcpy(c->key_out, source ? sd : ds, MIG_MAC);
    memcpy(c->key_in, source ? ds : sd, MIG_MAC);
    c->keyed = 1;
    c->seq_out = c->seq_in = 0;
    return 0;
}

/* HMAC-SHA256(k, seq | head | payload pieces) into out. */
static int frame_mac(const uint8_t *k, uint64_t seq, const uint8_t *head, const struct iovec *iov,
                     int n, uint8_t out[MIG_MAC])
{
#if defined(WAFT_HAVE_CRYPTO)
    const base_crypto *cr = base_crypto_get(NULL, 0);
    if (!cr)
        return -1;
    int ok = 0;
    EVP_MAC *mac = cr->EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? cr->EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = { cr->OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                            cr->OSSL_PARAM_construct_end() };
    uint8_t s[8];
    base_store64(s, seq);
    size_t olen = 0;
    if (ctx && cr->EVP_MAC_init(ctx, k, MIG_MAC, params) && cr->EVP_MAC_update(ctx, s, 8) &&
        cr->EVP_MAC_update(ctx, head, MIG_HEAD)) {
        ok = 1;
        for (int i = 0; i < n && ok; i++)
            ok = cr->EVP_MAC_update(ctx, iov[i].iov_base, iov[i].iov_len);
        ok = ok && cr->EVP_MAC_final(ctx, out, &olen, MIG_MAC) && olen == MIG_MAC;
    }
    cr->EVP_MAC_CTX_free(ctx);
    cr->EVP_MAC_free(mac);
    return ok ? 0 : -1;
#else
    (void)k, (void)seq, (void)head, (void)iov, (void)n, (void)out;
    return -1;
#endif
}

int mig_mac_equal(const uint8_t *a, const uint8_t *b)
{
#if defined(WAFT_HAVE_CRYPTO)
    const base_crypto *cr = base_crypto_get(NULL, 0);
    if (cr)
        return cr->CRYPTO_memcmp(a, b, MIG_MAC) == 0;
#endif
    uint8_t d = 0;
    for (size_t i = 0; i < MIG_MAC; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

int mig_random(uint8_t *buf, size_t n)
{
    while (n) {
        ssize_t r = getrandom(buf, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

/* ==== Addresses and sockets ==== */

int mig_split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    const char *h = addr;
    size_t hl;
    if (addr[0] == '[') {
        const char *close_br = strchr(addr, ']');
        if (!close_br || close_br[1] != ':')
            return -1;
        h = addr + 1;
        hl = (size_t)(close_br - h);
        colon = close_br + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - addr);
    }
    const char *p = colon + 1;
    if (hl == 0 || hl >= hostlen || !p[0] || strlen(p) >= portlen ||
        strspn(p, "0123456789") != strlen(p) || strlen(p) > 5 || atoi(p) > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    snprintf(port, portlen, "%s", p);
    return 0;
}

int mig_is_loopback(const char *host)
{
    if (!strcmp(host, "localhost"))
        return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

void mig_set_timeout(int fd, int timeout_ms)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
}

void mig_init(mig_conn *c, int fd)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    const char *e = getenv("WAFT_TEST_CORRUPT_FRAME");
    c->corrupt_frame = e ? strtoull(e, NULL, 10) : 0;
    e = getenv("WAFT_TEST_FORGE_FRAME");
    c->forge_frame = e ? strtoull(e, NULL, 10) : 0;
    e = getenv("WAFT_TEST_DIE_AT_FRAME");
    c->die_frame = e ? strtoull(e, NULL, 10) : 0;
}

void mig_close(mig_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->cap = 0;
}

int mig_connect(mig_conn *c, const char *addr, int timeout_ms, atomic_int *cancel)
{
    char host[256], port[16];
    mig_init(c, -1);
    c->die_frame = 0; /* WAFT_TEST_DIE_AT_FRAME kills destinations only (docs/migration.md) */
    if (mig_split_addr(addr, host, sizeof host, port, sizeof port) != 0 || atoi(port) == 0)
        return fail(c, "%s: expected HOST:PORT", addr);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0)
        return fail(c, "%s: %s", addr, gai_strerror(g));
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd pf = { fd, POLLOUT, 0 };
            /* in slices, so that a cancel is seen */
            for (int waited = 0; waited < timeout_ms; waited += 50) {
                rc = poll(&pf, 1, 50);
                if (rc != 0 || (cancel && atomic_load(cancel)))
                    break;
            }
            int so = ETIMEDOUT;
            socklen_t sl = sizeof so;
            if (rc == 1)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
            rc = so == 0 ? 0 : -1;
            errno = so;
        }
        if (rc == 0) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            tune(fd);
            mig_set_timeout(fd, timeout_ms);
            c->fd = fd;
            freeaddrinfo(res);
            return 0;
        }
        last = errno;
        close(fd);
    }
    freeaddrinfo(res);
    return fail(c, "cannot connect to %s: %s", addr, strerror(last));
}

int mig_listen(const char *addr, char *err, size_t errlen)
{
    char host[256], port[16];
    if (mig_split_addr(addr, host, sizeof host, port, sizeof port) != 0) {
        snprintf(err, errlen, "%s: expected HOST:PORT", addr);
        return -1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "%s: %s", addr, gai_strerror(g));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(e));
    return fd;
}

/* ==== Frames ==== */

/* Writes the pieces through a socket stream, counting what went out. */
static int send_all(mig_conn *c, const stream_piece *v, size_t n)
{
    base_stream s;
    stream_init_fd(&s, c->fd, STREAM_SOCKET);
    bool ok = stream_writev(&s, v, n);
    c->bytes_out += s.bytes;
    return ok ? 0 : fail(c, "%s", stream_error(&s));
}

int mig_send(mig_conn *c, uint8_t type, uint8_t flags, const struct iovec *iov, int n)
{
    if (c->fd < 0)
        return fail(c, "not connected");
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    if (len > MIG_MAX_PAYLOAD)
        return fail(c, "frame too large (%zu bytes)", len);
    if (n < 0 || n + 2 > (int)MIG_PAGES_MAX + 8)
        return fail(c, "too many pieces in one frame");
    c->frames_out++;
    /* fault injection: the payload as one copy with a bit flipped in its middle (the CRC
     * when there is no payload); "forge" recomputes the CRC over the damage */
    uint8_t *copy = NULL;
    int corrupt = c->corrupt_frame && c->frames_out == c->corrupt_frame;
    int forge = c->forge_frame && c->frames_out == c->forge_frame;
    struct iovec one;
    if ((corrupt || forge) && len) {
        copy = malloc(len);
        if (!copy)
            return fail(c, "out of memory");
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            memcpy(copy + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        one.iov_base = copy;
        one.iov_len = len;
    }
    uint8_t head[MIG_HEAD];
    base_store32(head, MIG_MAGIC);
    head[4] = type;
    head[5] = flags;
    head[6] = head[7] = 0;
    base_store32(head + 8, (uint32_t)len);
    const struct iovec *body = copy ? &one : iov;
    int nbody = copy ? 1 : n;
    uint32_t crc = waft_crc32c(0, head, 12);
    for (int i = 0; i < nbody; i++)
        crc = waft_crc32c(crc, body[i].iov_base, body[i].iov_len);
    base_store32(head + 12, crc);
    uint8_t mac[MIG_MAC];
    if (c->keyed && frame_mac(c->key_out, c->seq_out, head, body, nbody, mac) != 0) {
        free(copy);
        return fail(c, "cannot compute a frame MAC");
    }
    /* the damage comes after the checksums, as on a wire; a forger recomputes the CRC but
     * cannot recompute the MAC */
    if (copy)
        copy[len / 2] ^= 0x20;
    else if (corrupt || forge)
        head[12] ^= 1;
    if (copy && forge)
        base_store32(head + 12, waft_crc32c(waft_crc32c(0, head, 12), copy, len));
    c->seq_out++;
    stream_piece v[MIG_PAGES_MAX + 10];
    v[0].p = head;
    v[0].len = MIG_HEAD;
    size_t nv = 1;
    for (int i = 0; i < nbody; i++, nv++) {
        v[nv].p = body[i].iov_base;
        v[nv].len = body[i].iov_len;
    }
    if (c->keyed) {
        v[nv].p = mac;
        v[nv].len = MIG_MAC;
        nv++;
    }
    int rc = send_all(c, v, nv);
    free(copy);
    return rc;
}

int mig_send_buf(mig_conn *c, uint8_t type, uint8_t flags, const void *p, size_t len)
{
    struct iovec v = { (void *)p, len };
    return mig_send(c, type, flags, &v, len ? 1 : 0);
}

size_t mig_abort_frame(const char *why, uint8_t *out, size_t cap)
{
    size_t n = strlen(why);
    if (cap < MIG_HEAD || n > cap - MIG_HEAD)
        return 0;
    base_store32(out, MIG_MAGIC);
    out[4] = MIG_ABORT;
    out[5] = out[6] = out[7] = 0;
    base_store32(out + 8, (uint32_t)n);
    memcpy(out + MIG_HEAD, why, n);
    base_store32(out + 12, waft_crc32c(waft_crc32c(0, out, 12), out + MIG_HEAD, n));
    return MIG_HEAD + n;
}

void mig_send_abort(mig_conn *c, const char *why)
{
    char keep[sizeof c->err];
    memcpy(keep, c->err, sizeof keep);
    mig_send_buf(c, MIG_ABORT, 0, why, strlen(why));
    memcpy(c->err, keep, sizeof keep);
}

int mig_recv(mig_conn *c, uint8_t *type, uint8_t *flags, uint32_t *len)
{
    uint8_t head[MIG_HEAD];
    if (c->fd < 0)
        return fail(c, "not connected");
    base_stream s;
    stream_init_fd(&s, c->fd, STREAM_SOCKET);
    bool ok = stream_read(&s, head, MIG_HEAD);
    c->bytes_in += s.bytes;
    if (!ok)
        return fail(c, "%s", stream_error(&s));
    uint32_t n = base_load32(head + 8);
    if (base_load32(head) != MIG_MAGIC)
        return fail(c, "frame %llu: bad magic (not a waft migration peer?)",
                    (unsigned long long)c->frames_in + 1);
    if (head[4] == 0 || head[4] >= MIG_TYPE_END_ || n > (c->max_in ? c->max_in : MIG_MAX_PAYLOAD))
        return fail(c, "frame %llu: bad type %u or length %u", (unsigned long long)c->frames_in + 1,
                    head[4], n);
    size_t extra = c->keyed ? MIG_MAC : 0;
    if (n + extra + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < (size_t)n + extra + 1)
            cap *= 2;
        uint8_t *b = realloc(c->buf, cap);
        if (!b)
            return fail(c, "out of memory");
        c->buf = b;
        c->cap = cap;
    }
    /* the CRC is summed as the payload arrives; the MAC after it is not covered */
    uint64_t before = s.bytes;
    stream_sum_begin(&s, waft_crc32c(0, head, 12));
    stream_read(&s, c->buf, n);
    uint32_t crc = stream_sum_end(&s);
    stream_read(&s, c->buf + n, extra);
    c->bytes_in += s.bytes - before;
    if (s.failed)
        return fail(c, "%s", stream_error(&s));
    c->frames_in++;
    if (c->die_frame && c->frames_in >= c->die_frame)
        _exit(9); /* fault injection: the destination dies */
    if (crc != base_load32(head + 12))
        return fail(c, "frame %llu (type %u, %u bytes): checksum mismatch",
                    (unsigned long long)c->frames_in, head[4], n);
    if (c->keyed) {
        uint8_t want[MIG_MAC];
        struct iovec p = { c->buf, n };
        if (frame_mac(c->key_in, c->seq_in, head, &p, 1, want) != 0 ||
            !mig_mac_equal(want, c->buf + n))
            return fail(c, "frame %llu (type %u): MAC mismatch: altered, injected or replayed",
                        (unsigned long long)c->frames_in, head[4]);
        c->seq_in++;
    }
    c->buf[n] = 0;
    *type = head[4];
    *flags = head[5];
    *len = n;
    if (*type == MIG_ABORT) {
        for (uint32_t i = 0; i < n; i++)
            if (c->buf[i] < 0x20 || c->buf[i] > 0x7e)
                c->buf[i] = '?';
        return fail(c, "peer: %.200s", (const char *)c->buf);
    }
    return 0;
}

int mig_expect(mig_conn *c, uint8_t type, uint32_t *len)
{
    uint8_t t, f;
    if (mig_recv(c, &t, &f, len) != 0)
        return -1;
    if (t != type)
        return fail(c, "protocol error: frame type %u where %u was expected", t, type);
    return 0;
}

/* ==== Public helpers (waft_migrate.h) ==== */

int waft_migration_have_keys(void)
{
    return mig_have_crypto();
}

waft_result waft_migration_key_load(const char *path, waft_migration_key *out_key,
                                    waft_error *out_err)
{
    char why[400];
    if (!path || !out_key)
        return WAFT_ERR_INVALID_ARG;
    if (mig_key_load(path, out_key, why, sizeof why) == 0)
        return WAFT_OK;
    waft_result r = mig_have_crypto() ? WAFT_ERR_IO : WAFT_ERR_UNSUPPORTED;
    if (out_err) {
        memset(out_err, 0, sizeof *out_err);
        out_err->code = r;
        out_err->offset = -1;
        out_err->func = -1;
        size_t n = strlen(why);
        if (n >= sizeof out_err->message)
            n = sizeof out_err->message - 1; /* a long path: cut */
        memcpy(out_err->message, why, n);
        out_err->message[n] = 0;
    }
    return r;
}

int waft_migration_split_addr(const char *addr, char *host, size_t hostlen, char *port,
                              size_t portlen)
{
    return mig_split_addr(addr, host, hostlen, port, portlen);
}

int waft_migration_is_loopback(const char *host)
{
    return mig_is_loopback(host);
}

int waft_migration_listen(const char *addr, char *err, size_t errlen)
{
    return mig_listen(addr, err, errlen);
}

size_t waft_migration_abort_frame(const char *why, uint8_t *out, size_t cap)
{
    return mig_abort_frame(why, out, cap);
}
