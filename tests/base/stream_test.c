/* SPDX-License-Identifier: MIT */
/* stream_test.c - waft-stream-test: the byte stream of src/base/stream.h on each backend.
 *
 * Internal test (it includes src/ headers): the same data goes through a memory writer, a
 * memory reader, a file, a pipe and a socket pair, written in pieces of awkward sizes; each
 * must deliver the bytes unchanged, keep the count, sum the same CRC-32C as base_crc32c over
 * the whole, and fail once, stickily, with a one-line reason. Ends with
 * `stream: N passed, N failed`.
 */
#include "base/codec.h"
#include "base/stream.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(c)                                                                                \
    do {                                                                                        \
        if (!(c)) {                                                                             \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, current, #c); \
            ok = false;                                                                         \
        }                                                                                       \
    } while (0)

static const char *current = "";
static bool ok;

static void begin(const char *name)
{
    current = name;
    ok = true;
}

static void end(void)
{
    if (ok)
        passed++;
    else
        failed++;
}

#define DATA_LEN (3u << 20) /* more than a pipe or socket buffer: forces partial writes */
static uint8_t *data;

/* Pieces of sizes 0, 1, 7, 4096, 65537, ... covering data[0, DATA_LEN). */
static size_t make_pieces(stream_piece *v, size_t max)
{
    static const size_t sizes[] = { 0, 1, 7, 4096, 0, 65537, 3, 200000, 1 };
    size_t n = 0, at = 0;
    for (size_t i = 0; at < DATA_LEN && n < max - 1; i++) {
        size_t len = sizes[i % (sizeof sizes / sizeof *sizes)];
        if (len > DATA_LEN - at)
            len = DATA_LEN - at;
        v[n].p = data + at;
        v[n].len = len;
        n++;
        at += len;
    }
    v[n].p = data + at; /* the rest in one piece */
    v[n].len = DATA_LEN - at;
    return n + 1;
}

static void test_memory(void)
{
    begin("memory");
    base_alloc a;
    base_alloc_init(&a, NULL, NULL, 0);
    base_stream w;
    stream_init_mem_writer(&w, &a);
    stream_piece v[200];
    size_t n = make_pieces(v, 200);
    stream_sum_begin(&w, 0);
    CHECK(stream_writev(&w, v, n));
    CHECK(stream_sum_end(&w) == base_crc32c(0, data, DATA_LEN));
    CHECK(w.bytes == DATA_LEN);
    size_t len = 0;
    uint8_t *buf = stream_take(&w, &len);
    CHECK(buf && len == DATA_LEN && memcmp(buf, data, DATA_LEN) == 0);
    stream_free(&w);

    base_stream r;
    stream_init_mem_reader(&r, buf, len);
    uint8_t *back = malloc(DATA_LEN);
    stream_sum_begin(&r, 0);
    CHECK(stream_read(&r, back, 5) && stream_read(&r, back + 5, DATA_LEN - 5));
    CHECK(stream_sum_end(&r) == base_crc32c(0, data, DATA_LEN));
    CHECK(memcmp(back, data, DATA_LEN) == 0);
    /* past the end: fails, names the shortfall, stays failed */
    CHECK(!stream_read(&r, back, 1));
    CHECK(r.failed && strstr(stream_error(&r), "truncated") != NULL);
    CHECK(!stream_read(&r, back, 0));
    CHECK(!stream_write(&r, back, 1)); /* sticky: the first reason is kept */
    CHECK(strstr(stream_error(&r), "truncated") != NULL);
    free(back);
    base_free(&a, buf);
    CHECK(a.used == 0);

    /* an allocator limit turns into a clean failure, not a crash */
    base_alloc small;
    base_alloc_init(&small, NULL, NULL, 1 << 16);
    stream_init_mem_writer(&w, &small);
    CHECK(!stream_write(&w, data, 1 << 20));
    CHECK(w.failed && strstr(stream_error(&w), "out of memory") != NULL);
    CHECK(stream_take(&w, &len) == NULL && len == 0);
    stream_free(&w);
    CHECK(small.used == 0);
    end();
}

static void test_file(void)
{
    begin("file");
    char path[] = "/tmp/waft-stream-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) {
        end();
        return;
    }
    base_stream w;
    stream_init_fd(&w, fd, STREAM_FILE);
    w.max_io = 12345; /* partial writes that end inside pieces */
    stream_piece v[200];
    size_t n = make_pieces(v, 200);
    stream_sum_begin(&w, 0);
    CHECK(stream_writev(&w, v, n) && stream_sync(&w));
    CHECK(stream_sum_end(&w) == base_crc32c(0, data, DATA_LEN));
    CHECK(w.bytes == DATA_LEN);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    base_stream r;
    stream_init_fd(&r, fd, STREAM_FILE);
    r.max_io = 777; /* short reads */
    uint8_t *back = malloc(DATA_LEN);
    stream_sum_begin(&r, 0);
    CHECK(stream_read(&r, back, DATA_LEN));
    CHECK(stream_sum_end(&r) == base_crc32c(0, data, DATA_LEN));
    CHECK(memcmp(back, data, DATA_LEN) == 0);
    CHECK(!stream_read(&r, back, 1)); /* end of file */
    CHECK(strstr(stream_error(&r), "end of file") != NULL);
    free(back);
    close(fd);
    unlink(path);

    /* write-behind: windows that end inside pieces and inside partial writes; same bytes */
    char path2[] = "/tmp/waft-stream-XXXXXX";
    fd = mkstemp(path2);
    CHECK(fd >= 0);
    stream_init_fd(&w, fd, STREAM_FILE);
    w.max_io = 100000;
    stream_write_behind(&w, 65536 + 4096);
    CHECK(stream_writev(&w, v, n) && stream_sync(&w));
    CHECK(w.bytes == DATA_LEN && w.kicked == DATA_LEN / (65536 + 4096) * (65536 + 4096));
    back = malloc(DATA_LEN);
    CHECK(pread(fd, back, DATA_LEN, 0) == (ssize_t)DATA_LEN);
    CHECK(memcmp(back, data, DATA_LEN) == 0);
    free(back);
    close(fd);
    unlink(path2);

    /* a closed descriptor: the system's reason, kept */
    stream_init_fd(&w, fd, STREAM_FILE);
    CHECK(!stream_write(&w, data, 10));
    CHECK(w.err_no == EBADF && strstr(stream_error(&w), "write failed") != NULL);
    end();
}

typedef struct reader_arg {
    int fd;
    uint8_t *into;
    size_t want;
    bool ok;
    uint32_t sum;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *ra = p;
    base_stream r;
    stream_init_fd(&r, ra->fd, STREAM_SOCKET);
    stream_sum_begin(&r, 0);
    ra->ok = stream_read(&r, ra->into, ra->want);
    ra->sum = stream_sum_end(&r);
    return NULL;
}

static void test_socket(void)
{
    begin("socket");
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    reader_arg ra = { sv[1], malloc(DATA_LEN), DATA_LEN, false, 0 };
    pthread_t t;
    CHECK(pthread_create(&t, NULL, reader, &ra) == 0);
    base_stream w;
    stream_init_fd(&w, sv[0], STREAM_SOCKET);
    w.max_io = 4093;
    stream_piece v[200];
    size_t n = make_pieces(v, 200);
    stream_sum_begin(&w, 0);
    CHECK(stream_writev(&w, v, n));
    uint32_t sent = stream_sum_end(&w);
    pthread_join(t, NULL);
    CHECK(ra.ok && ra.sum == sent && sent == base_crc32c(0, data, DATA_LEN));
    CHECK(memcmp(ra.into, data, DATA_LEN) == 0);
    free(ra.into);

    /* the peer goes away: reading says so; writing fails without SIGPIPE */
    close(sv[1]);
    base_stream r;
    stream_init_fd(&r, sv[0], STREAM_SOCKET);
    uint8_t b;
    CHECK(!stream_read(&r, &b, 1));
    CHECK(strstr(stream_error(&r), "closed by the peer") != NULL);
    stream_init_fd(&w, sv[0], STREAM_SOCKET);
    CHECK(!stream_write(&w, data, 1 << 20));
    CHECK(w.err_no == EPIPE && strstr(stream_error(&w), "send failed") != NULL);
    close(sv[0]);

    /* a receive timeout is reported as one */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct timeval tv = { 0, 50000 };
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    stream_init_fd(&r, sv[0], STREAM_SOCKET);
    CHECK(!stream_read(&r, &b, 1));
    CHECK(strstr(stream_error(&r), "timed out") != NULL);
    close(sv[0]);
    close(sv[1]);
    end();
}

static void test_pipe_sum_split(void)
{
    /* summing only a middle part, seeded: equals the CRC of that part continued */
    begin("pipe-sum-split");
    int p[2];
    CHECK(pipe(p) == 0);
    base_stream w, r;
    stream_init_fd(&w, p[1], STREAM_FILE);
    stream_init_fd(&r, p[0], STREAM_FILE);
    CHECK(stream_write(&w, data, 1000));
    uint8_t buf[1000];
    CHECK(stream_read(&r, buf, 10));
    uint32_t seed = base_crc32c(0, "head", 4);
    stream_sum_begin(&r, seed);
    CHECK(stream_read(&r, buf + 10, 900));
    CHECK(stream_sum_end(&r) == base_crc32c(seed, data + 10, 900));
    CHECK(stream_read(&r, buf + 910, 90));
    CHECK(memcmp(buf, data, 1000) == 0 && r.bytes == 1000 && w.bytes == 1000);
    close(p[0]);
    close(p[1]);
    end();
}

/* CRC-32C bit by bit, the definition, against which the fast paths are checked. */
static uint32_t crc32c_bits(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* base_crc32c (the table, or three hardware lanes joined on large inputs) equals the
 * definition at every length around the lane sizes, at odd offsets, and chained. */
static void test_crc(void)
{
    begin("crc32c");
    CHECK(base_crc32c(0, "123456789", 9) == 0xE3069283u); /* the standard check value */
    for (size_t len = 0; len < 3 * 1360 * 2 + 40; len += len < 64 ? 1 : 37) {
        CHECK(base_crc32c(0, data + 3, len) == crc32c_bits(0, data + 3, len));
        CHECK(base_crc32c(0x12345678u, data + 5, len) == crc32c_bits(0x12345678u, data + 5, len));
    }
    CHECK(base_crc32c(0, data, 4096) == crc32c_bits(0, data, 4096));
    CHECK(base_crc32c(0, data, 1u << 20) == crc32c_bits(0, data, 1u << 20));
    uint32_t f = base_crc32c_factor(4096), chain = 0;
    for (size_t at = 0; at < 64 * 4096; at += 4096)
        chain = base_crc32c_combine_by(chain, base_crc32c(0, data + at, 4096), f);
    CHECK(chain == crc32c_bits(0, data, 64 * 4096));
    end();
}

/* base_crc32c_combine: crc(A||B) from crc(A), crc(B), |B|, for splits of every size class
 * (empty parts included), and for a chain of several parts as the image reader uses it. */
static void test_crc_combine(void)
{
    begin("crc32c combine");
    static const size_t cuts[] = { 0, 1, 7, 8, 9, 4095, 4096, 65537, DATA_LEN / 2, DATA_LEN };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t a = cuts[i];
        uint32_t ca = base_crc32c(0, data, a), cb = base_crc32c(0, data + a, DATA_LEN - a);
        CHECK(base_crc32c_combine(ca, cb, DATA_LEN - a) == base_crc32c(0, data, DATA_LEN));
    }
    uint32_t chain = 0;
    for (size_t at = 0; at < DATA_LEN; at += 1u << 20) {
        size_t n = DATA_LEN - at < (1u << 20) ? DATA_LEN - at : (1u << 20);
        chain = base_crc32c_combine(chain, base_crc32c(0, data + at, n), n);
    }
    CHECK(chain == base_crc32c(0, data, DATA_LEN));
    /* a changed part changes the result */
    CHECK(base_crc32c_combine(base_crc32c(0, data, 100), base_crc32c(0, data + 101, 50), 50) !=
          base_crc32c(0, data, 150));
    end();
}

int main(void)
{
    signal(SIGPIPE,
           SIG_DFL); /* a SIGPIPE would kill the test: the socket backend must not raise one */
    data = malloc(DATA_LEN);
    if (!data)
        return 1;
    uint32_t x = 12345;
    for (size_t i = 0; i < DATA_LEN; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    test_memory();
    test_file();
    test_socket();
    test_pipe_sum_split();
    test_crc();
    test_crc_combine();
    free(data);
    printf("stream: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
