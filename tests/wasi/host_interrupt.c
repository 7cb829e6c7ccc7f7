/* SPDX-License-Identifier: MIT */
/* host_interrupt.c - a host program (built natively against libwaft) that runs
 * blocking.wasm and checks, through the public API and the WASI state table:
 *  - a guest blocked in fd_read on an empty pipe is suspended by waft_store_interrupt()
 *    from another thread (reason WAFT_STOP_INTERRUPT, request cleared) and, resumed after
 *    data arrives, reads it: the call was issued again;
 *  - the same for a guest sleeping in poll_oneoff;
 *  - while suspended, the table lists every descriptor with its kind, path, flags and live
 *    offset (wasi_fd_inspect), and a second WASI state emptied (wasi_fd_reset) and rebuilt
 *    from those records (wasi_fd_restore) holds the same files at the same numbers and
 *    offsets;
 *  - restored clocks continue from the saved values (never backwards).
 *
 *   usage: host_interrupt blocking.wasm     (run in a directory holding data.txt)
 */
#include "wasi/wasi.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int checks, failed;

#define CHECK(cond) check((cond) != 0, #cond, __LINE__)

static void check(int ok, const char *what, int line)
{
    checks++;
    if (!ok) {
        failed++;
        printf("FAIL host_interrupt.c:%d: %s\n", line, what);
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct timer {
    waft_store *store;
    int delay_ms;
} timer;

static void *interrupt_later(void *arg)
{
    const timer *t = arg;
    struct timespec ts = { t->delay_ms / 1000, (long)(t->delay_ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    waft_store_interrupt(t->store);
    return NULL;
}

static uint8_t *load(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *out_len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static const char *kind_name(int kind)
{
    static const char *const names[] = { "free", "stdio",  "preopen", "file",
                                         "dir",  "socket", "accepted" };
    return kind >= 0 && kind <= WASI_KIND_ACCEPTED ? names[kind] : "?";
}

/* Lists the table of `w`; checks the files blocking.wasm opened. */
static void inspect(waft_wasi *w)
{
    int seen_data = 0, seen_log = 0, seen_dir = 0;

    for (uint32_t fd = wasi_fd_next(w, 0); fd != UINT32_MAX; fd = wasi_fd_next(w, fd + 1)) {
        wasi_fd_state s;
        CHECK(wasi_fd_inspect(w, fd, &s) == 0);
        printf("  fd %u: %s path \"%s\" fdflags %u offset %s%llu\n", (unsigned)fd,
               kind_name(s.entry->kind), s.entry->path ? s.entry->path : "-",
               (unsigned)s.entry->fdflags, s.has_offset ? "" : "-", (unsigned long long)s.offset);
        if (s.entry->kind == WASI_KIND_FILE && strcmp(s.entry->path, "data.txt") == 0)
            seen_data = s.has_offset && s.offset == 3;
        if (s.entry->kind == WASI_KIND_FILE && strcmp(s.entry->path, "log.txt") == 0)
            seen_log = (s.entry->fdflags & WASI_FDFLAG_APPEND) != 0;
        if (s.entry->kind == WASI_KIND_DIR && strcmp(s.entry->path, "") == 0)
            seen_dir = s.entry->dir_cookie > 0;
    }
    CHECK(seen_data);
    CHECK(seen_log);
    CHECK(seen_dir);
}

/* Rebuilds the table of `w` in a fresh state `w2` and compares them. */
static void rebuild(waft_wasi *w, waft_wasi *w2)
{
    uint64_t saved[WASI_NCLOCKS], later[WASI_NCLOCKS], now = 0;
    int rebuilt = 0;

    wasi_fd_reset(w2); /* an empty table: every descriptor comes from the saved records */
    for (uint32_t fd = wasi_fd_next(w, 0); fd != UINT32_MAX; fd = wasi_fd_next(w, fd + 1)) {
        wasi_fd_state a, b;
        CHECK(wasi_fd_inspect(w, fd, &a) == 0);
        CHECK(wasi_fd_inspect(w2, fd, &b) == WASI_EBADF);
        CHECK(wasi_fd_restore(w2, fd, a.entry, a.offset) == 0);
        rebuilt++;
        CHECK(wasi_fd_inspect(w2, fd, &b) == 0);
        CHECK(b.entry->kind == a.entry->kind);
        CHECK(a.has_stat && b.has_stat && a.stat.ino == b.stat.ino && a.stat.dev == b.stat.dev);
        CHECK(a.has_offset == b.has_offset && a.offset == b.offset);
        CHECK(b.entry->fdflags == a.entry->fdflags && b.entry->rights_base == a.entry->rights_base);
    }
    CHECK(rebuilt == 7); /* stdin, stdout, stderr, the preopen, two files, a directory */
    printf("  rebuilt %d descriptors in a second state\n", rebuilt);

    /* clocks: restore as if the old host's monotonic clock were far ahead of this one */
    wasi_clock_save(w, saved);
    for (int i = 0; i < WASI_NCLOCKS; i++)
        later[i] = saved[i] + (i == WASI_CLOCK_REALTIME ? 0 : 1000000000000ull);
    wasi_clock_restore(w2, later);
    CHECK(wasi_clock_now(w2, WASI_CLOCK_MONOTONIC, &now) == 0 &&
          now >= later[WASI_CLOCK_MONOTONIC]);
    CHECK(wasi_clock_now(w2, WASI_CLOCK_PROCESS, &now) == 0 && now >= later[WASI_CLOCK_PROCESS]);
    printf("  clocks continue from the saved values\n");
}

int main(int argc, char **argv)
{
    size_t len = 0;
    uint8_t *bytes = argc == 2 ? load(argv[1], &len) : NULL;
    waft_engine *engine = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_wasi *w = NULL, *w2 = NULL;
    waft_instance *inst = NULL;
    waft_extern imports[64], start;
    waft_wasi_config cfg;
    waft_wasi_preopen pre = { ".", "." };
    waft_error err;
    pthread_t th;
    timer t;
    int pipefd[2], out;
    int32_t code = 0;
    double t0;
    waft_result r;

    if (bytes == NULL) {
        fprintf(stderr, "usage: host_interrupt blocking.wasm\n");
        return 2;
    }
    if (pipe(pipefd) != 0 || (out = open("stdout.txt", O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0)
        return 2;
    CHECK(waft_engine_new(NULL, &engine) == WAFT_OK);
    CHECK(waft_module_new(engine, bytes, len, &module, &err) == WAFT_OK);
    CHECK(waft_store_new(engine, &store) == WAFT_OK);
    if (failed)
        return 1;
    waft_wasi_config_init(&cfg);
    cfg.stdin_fd = pipefd[0];
    cfg.stdout_fd = out;
    cfg.npreopens = 1;
    cfg.preopens = &pre;
    CHECK(waft_wasi_new(store, &cfg, &w, &err) == WAFT_OK);
    CHECK(waft_module_import_count(module) <= 64);
    CHECK(waft_wasi_imports(w, module, imports, &err) == WAFT_OK);
    CHECK(waft_instance_new(store, module, imports, waft_module_import_count(module), &inst,
                            &err) == WAFT_OK);
    CHECK(waft_instance_export(inst, "_start", 6, &start) == WAFT_OK);
    if (failed)
        return 1;

    /* 1: blocked in fd_read */
    t.store = store;
    t.delay_ms = 300;
    pthread_create(&th, NULL, interrupt_later, &t);
    t0 = now_ms();
    r = waft_func_call(store, start, NULL, 0, NULL, 0);
    pthread_join(th, NULL);
    CHECK(r == WAFT_SUSPENDED);
    CHECK(waft_store_stop_reason(store) == WAFT_STOP_INTERRUPT);
    CHECK(!waft_store_interrupt_pending(store));
    CHECK(waft_store_frame_count(store) > 0);
    CHECK(now_ms() - t0 >= 290 && now_ms() - t0 < 5000);
    printf("suspended in fd_read after %.0f ms\n", now_ms() - t0 >= 290 ? 300.0 : 0.0);
    inspect(w);
    CHECK(waft_wasi_new(store, &cfg, &w2, &err) == WAFT_OK);
    if (w2 != NULL)
        rebuild(w, w2);
    waft_wasi_free(w2);

    /* 2: data arrives; resumed, the read is made again and gets it; then the guest sleeps */
    CHECK(write(pipefd[1], "hello\n", 6) == 6);
    t.delay_ms = 150;
    pthread_create(&th, NULL, interrupt_later, &t);
    r = waft_store_resume(store, NULL, 0);
    pthread_join(th, NULL);
    CHECK(r == WAFT_SUSPENDED);
    CHECK(waft_store_stop_reason(store) == WAFT_STOP_INTERRUPT);
    printf("suspended again while sleeping\n");

    /* 3: runs to its end */
    r = waft_store_resume(store, NULL, 0);
    CHECK(r == WAFT_EXITED);
    CHECK(waft_store_exit_code(store) == 5);
    CHECK(waft_wasi_exit_code(w, &code) == 1 && code == 5);
    {
        char buf[64] = { 0 };
        CHECK(pread(out, buf, sizeof buf - 1, 0) == 10 && strcmp(buf, "got hello\n") == 0);
    }
    printf("exited with %d\n", (int)code);

    waft_wasi_free(w);
    waft_store_free(store);
    waft_module_free(module);
    waft_engine_free(engine);
    free(bytes);
    close(pipefd[0]);
    close(pipefd[1]);
    close(out);
    printf("host_interrupt: %d checks, %d failed\n", checks, failed);
    return failed ? 1 : 0;
}
