/* SPDX-License-Identifier: MIT */
/* ckpt_bench.c - checkpoint and restore throughput, side by side with memcpy and
 * write+fsync of the same bytes, in one process run (the machine is noisy: compare ratios).
 *
 *   usage: ckpt_bench DIR [MIB...]      (default sizes: 1 64 1024)
 *
 * For each size, linear memory is grown to that many MiB and every byte is written
 * ("touched"): once with incompressible random bytes, once with a compressible pattern
 * (small numbers, as real heaps hold). Then, each repeated and the median kept:
 *   memcpy        copy of the memory to another buffer
 *   write         the same bytes to a file in DIR (page cache)
 *   write+fsync   the same, made durable
 *   save          waft_image_save, no fsync (to the page cache)
 *   save+fsync    waft_image_save as the CLI does it (durable: write-behind, then fsync),
 *                 with its split (write, sync) from waft_image_stats
 *   save+fsync plain   the same with plain_write (everything written, then one fsync)
 *   save zstd     with compression (level 1), no fsync
 *   restore       waft_image_load + waft_image_restore into a fresh store
 * and, for a small suspended program, the latency from image bytes to a resumable store.
 * Output: one JSON object per line.
 */
#include <waft/waft.h>
#include <waft/waft_snapshot.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* (module (memory (export "mem") 1 16384)) */
static const uint8_t mem_module[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,       /* header */
    0x05, 0x06, 0x01, 0x01, 0x01, 0x80, 0x80, 0x01,       /* memory: min 1, max 16384 */
    0x07, 0x07, 0x01, 0x03, 'm',  'e',  'm',  0x02, 0x00, /* export "mem" memory 0 */
};

/* A small program suspended inside a loop: (func (export "spin") (loop (br 0))) plus a
 * one-page memory, for restore latency. */
static const uint8_t spin_module[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03,
    0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x08, 0x01, 0x04, 's',  'p',  'i',
    'n',  0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b,
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(uint8_t *p, uint64_t n, int compressible)
{
    for (uint64_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = next_rand();
        if (compressible)
            v &= 0x000000ff000000ffull; /* small integers: what heaps mostly hold */
        memcpy(p + i, &v, 8);
    }
}

static void die(const char *what, const waft_error *err)
{
    fprintf(stderr, "ckpt_bench: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

static double time_restore(const char *path, int reps, waft_memory_restore how)
{
    double t[8];
    for (int k = 0; k < reps; k++) {
        waft_engine *e;
        waft_module *m;
        waft_store *s;
        waft_image *img;
        waft_instance *inst;
        waft_error err;
        waft_engine_new(NULL, &e);
        double t0 = now();
        if (waft_image_load(e, path, &img, &err) != WAFT_OK)
            die("load", &err);
        waft_image_set_memory_restore(img, how);
        size_t ml;
        const uint8_t *mb = waft_image_module(img, &ml);
        if (waft_module_new(e, mb, ml, &m, &err) != WAFT_OK || waft_store_new(e, &s) != WAFT_OK)
            die("module", &err);
        if (waft_image_restore(img, s, m, NULL, 0, &inst, &err) != WAFT_OK)
            die("restore", &err);
        t[k] = now() - t0;
        waft_image_free(img);
        waft_store_free(s);
        waft_module_free(m);
        waft_engine_free(e);
    }
    return median(t, reps);
}

static void bench_size(const char *dir, unsigned mib, int compressible)
{
    waft_engine *e;
    waft_module *m;
    waft_store *s;
    waft_instance *inst;
    waft_error err;
    waft_extern mem;
    waft_engine_new(NULL, &e);
    if (waft_module_new(e, mem_module, sizeof mem_module, &m, &err) != WAFT_OK)
        die("module", &err);
    waft_store_new(e, &s);
    if (waft_instance_new(s, m, NULL, 0, &inst, &err) != WAFT_OK)
        die("instance", &err);
    waft_instance_memory(inst, &mem);
    uint32_t pages = mib * 16;
    if (waft_memory_grow(s, mem, pages - 1, NULL) != WAFT_OK)
        die("memory.grow", NULL);
    uint64_t size;
    uint8_t *data = waft_memory_data(s, mem, &size);
    fill(data, size, compressible);
    int reps = mib >= 1024 ? 3 : 5;
    double tm[8], tw[8], tw0[8], ts[8], tss[8], tsp[8], tsc[8], tsw[8], tsy[8], tz[8];
    uint8_t *copy = malloc(size);
    if (!copy)
        die("malloc", NULL);
    memset(copy, 1, size); /* fault the pages in before timing */
    char path[600], raw[600];
    snprintf(path, sizeof path, "%s/ckpt-bench.img", dir);
    snprintf(raw, sizeof raw, "%s/ckpt-bench.raw", dir);
    size_t image_bytes = 0, zimage_bytes = 0;
    for (int k = 0; k < reps; k++) {
        double t0 = now();
        memcpy(copy, data, size);
        tm[k] = now() - t0;

        t0 = now();
        int fd0 = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (uint64_t off = 0; off < size;) {
            ssize_t w = write(fd0, data + off, size - off);
            if (w <= 0)
                die("write", NULL);
            off += (uint64_t)w;
        }
        close(fd0);
        tw0[k] = now() - t0;
        unlink(raw);

        t0 = now();
        int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (uint64_t off = 0; off < size;) {
            ssize_t w = write(fd, data + off, size - off);
            if (w <= 0)
                die("write", NULL);
            off += (uint64_t)w;
        }
        fsync(fd);
        close(fd);
        tw[k] = now() - t0;

        waft_image_options o = { 0 };
        o.no_sync = 1;
        unlink(path); /* like the write baseline: no old file to free inside the timing */
        t0 = now();
        if (waft_image_save(s, inst, path, &o, &err) != WAFT_OK)
            die("save", &err);
        ts[k] = now() - t0;

        o.no_sync = 0;
        o.plain_write = 1;
        unlink(path);
        t0 = now();
        if (waft_image_save(s, inst, path, &o, &err) != WAFT_OK)
            die("save", &err);
        tsp[k] = now() - t0;

        waft_image_stats st;
        o.plain_write = 0;
        o.stats = &st;
        unlink(path);
        t0 = now();
        if (waft_image_save(s, inst, path, &o, &err) != WAFT_OK)
            die("save", &err);
        tss[k] = now() - t0;
        tsc[k] = (double)st.capture_ns * 1e-9;
        tsw[k] = (double)st.write_ns * 1e-9;
        tsy[k] = (double)st.sync_ns * 1e-9;
        o.stats = NULL;
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        image_bytes = (size_t)ftell(f);
        fclose(f);

        o.no_sync = 1;
        o.compress = 1;
        char zpath[640];
        snprintf(zpath, sizeof zpath, "%s.zst", path);
        unlink(zpath);
        t0 = now();
        if (waft_image_save(s, inst, zpath, &o, &err) != WAFT_OK)
            die("save zstd", &err);
        tz[k] = now() - t0;
        f = fopen(zpath, "rb");
        fseek(f, 0, SEEK_END);
        zimage_bytes = (size_t)ftell(f);
        fclose(f);
    }
    double restore = time_restore(path, reps, WAFT_MEMORY_MAP_CHECKED);
    double lazy = time_restore(path, reps, WAFT_MEMORY_MAP_LAZY);
    double copied = time_restore(path, reps, WAFT_MEMORY_COPY);
    char zpath[640];
    snprintf(zpath, sizeof zpath, "%s.zst", path);
    double zrestore = time_restore(zpath, reps, WAFT_MEMORY_MAP_CHECKED);
    double gb = (double)size / 1e9;
    double m_write0 = median(tw0, reps);
    double m_memcpy = median(tm, reps), m_write = median(tw, reps), m_save = median(ts, reps),
           m_sync = median(tss, reps), m_z = median(tz, reps), m_plain = median(tsp, reps),
           m_sc = median(tsc, reps), m_sw = median(tsw, reps), m_sy = median(tsy, reps);
    printf(
        "{\"mib\":%u,\"data\":\"%s\",\"bytes\":%llu,"
        "\"memcpy_gbps\":%.2f,\"write_gbps\":%.2f,\"write_fsync_gbps\":%.2f,"
        "\"save_gbps\":%.2f,\"save_fsync_gbps\":%.2f,\"save_fsync_plain_gbps\":%.2f,"
        "\"save_fsync_ms\":{\"capture\":%.1f,\"write\":%.1f,\"sync\":%.1f},\"write_fsync_ms\":%.1f,"
        "\"save_zstd_gbps\":%.2f,"
        "\"restore_gbps\":%.2f,\"restore_zstd_gbps\":%.2f,"
        "\"save_vs_memcpy\":%.3f,\"save_vs_write\":%.3f,\"restore_vs_memcpy\":%.3f,"
        "\"restore_ms\":{\"mapped_lazy\":%.2f,\"mapped_checked\":%.2f,\"copied\":%.2f,"
        "\"zstd\":%.2f},"
        "\"image_bytes\":%zu,\"zstd_image_bytes\":%zu}\n",
        mib, compressible ? "compressible" : "random", (unsigned long long)size, gb / m_memcpy,
        gb / m_write0, gb / m_write, gb / m_save, gb / m_sync, gb / m_plain, m_sc * 1e3, m_sw * 1e3,
        m_sy * 1e3, m_write * 1e3, gb / m_z, gb / restore, gb / zrestore, m_memcpy / m_save,
        m_write0 / m_save, m_memcpy / restore, lazy * 1e3, restore * 1e3, copied * 1e3,
        zrestore * 1e3, image_bytes, zimage_bytes);
    fflush(stdout);
    unlink(path);
    unlink(zpath);
    unlink(raw);
    free(copy);
    waft_store_free(s);
    waft_module_free(m);
    waft_engine_free(e);
}

static void bench_latency(const char *dir)
{
    waft_engine *e;
    waft_module *m;
    waft_store *s;
    waft_instance *inst;
    waft_error err;
    waft_engine_new(NULL, &e);
    if (waft_module_new(e, spin_module, sizeof spin_module, &m, &err) != WAFT_OK)
        die("spin module", &err);
    waft_store_new(e, &s);
    if (waft_instance_new(s, m, NULL, 0, &inst, &err) != WAFT_OK)
        die("spin instance", &err);
    waft_extern f;
    waft_instance_export(inst, "spin", 4, &f);
    waft_store_set_fuel(s, 1000);
    if (waft_func_call(s, f, NULL, 0, NULL, 0) != WAFT_SUSPENDED)
        die("spin did not suspend", NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/ckpt-latency.img", dir);
    if (waft_image_save(s, inst, path, NULL, &err) != WAFT_OK)
        die("save", &err);
    double t[41];
    for (int k = 0; k < 41; k++) {
        waft_engine *e2;
        waft_module *m2;
        waft_store *s2;
        waft_image *img;
        waft_instance *i2;
        waft_engine_new(NULL, &e2);
        double t0 = now();
        if (waft_image_load(e2, path, &img, &err) != WAFT_OK)
            die("load", &err);
        waft_image_set_memory_restore(img, WAFT_MEMORY_MAP_LAZY);
        size_t ml;
        const uint8_t *mb = waft_image_module(img, &ml);
        if (waft_module_new(e2, mb, ml, &m2, &err) != WAFT_OK ||
            waft_store_new(e2, &s2) != WAFT_OK ||
            waft_image_restore(img, s2, m2, NULL, 0, &i2, &err) != WAFT_OK)
            die("restore", &err);
        /* first instruction: resume with fuel 1 */
        waft_store_set_fuel(s2, 1);
        if (waft_store_resume(s2, NULL, 0) != WAFT_SUSPENDED)
            die("resume", NULL);
        t[k] = now() - t0;
        waft_image_free(img);
        waft_store_free(s2);
        waft_module_free(m2);
        waft_engine_free(e2);
    }
    printf("{\"restore_small_to_first_instruction_us\":%.1f}\n", median(t, 41) * 1e6);
    unlink(path);
    waft_store_abandon(s);
    waft_store_free(s);
    waft_module_free(m);
    waft_engine_free(e);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: ckpt_bench DIR [MIB...]\n");
        return 2;
    }
    unsigned sizes[8] = { 1, 64, 1024 };
    int n = 3;
    if (argc > 2) {
        n = 0;
        for (int i = 2; i < argc && n < 8; i++)
            sizes[n++] = (unsigned)atoi(argv[i]);
    }
    bench_latency(argv[1]);
    for (int i = 0; i < n; i++) {
        bench_size(argv[1], sizes[i], 0);
        bench_size(argv[1], sizes[i], 1);
    }
    return 0;
}
