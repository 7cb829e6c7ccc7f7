/* SPDX-License-Identifier: MIT */
/* xrestore.c - waft-xrestore: the library-level cross-restore matrix. One host writes
 * images of modules stopped at many steps; another host (another architecture, byte order
 * or word size) restores them and must finish with exactly the writer's outcome.
 *
 *   waft-xrestore save  DIR MODULE.wasm...   run each module's "run" export straight and
 *                                            stopped at ~25 steps; write DIR/NAME.STEP.img
 *                                            and DIR/NAME.manifest (outcome, image digests)
 *   waft-xrestore check DIR MODULE.wasm...   for each image of DIR: restore, finish, compare
 *
 * `check` counts one case per module (its straight run here has the writer's step count
 * and outcome) and one per image, which passes when
 *   - the file is the one the writer recorded (length, FNV-1a digest);
 *   - this host, stopped at the same step, writes the same bytes;
 *   - restored here and saved again at once, it gives the same bytes;
 *   - restored here and run to the end, the step count and the outcome are the writer's.
 * The outcome is the result of "run", every exported global (raw bits) and every exported
 * memory (pages, digest of its bytes), as text. The last line is
 * "xrestore: N passed, N failed". Only the public API is used.
 *
 * Invariants: "run" takes no parameters and returns one i64; modules import nothing.
 */
#include <waft/waft.h>
#include <waft/waft_snapshot.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 32
#define COUNTING  (UINT64_MAX - 1) /* fuel that never runs out but counts steps */

/* ==== Small helpers ==== */

static uint64_t fnv(const uint8_t *p, uint64_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static uint8_t *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *out_len = len;
    return buf;
}

/* A growing text buffer. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char line[256];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t need = t->len + (size_t)n + 1;
    if (need > t->cap) {
        size_t cap = need * 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            fprintf(stderr, "waft-xrestore: out of memory\n");
            exit(2);
        }
        t->s = s;
        t->cap = cap;
    }
    memcpy(t->s + t->len, line, (size_t)n + 1);
    t->len += (size_t)n;
}

static const char *host_name(void)
{
#if defined(__x86_64__)
    return "x86_64";
#elif defined(__aarch64__)
    return "aarch64";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__i386__)
    return "i386";
#else
    return "other";
#endif
}

static const char *host_shape(void)
{
    static const union {
        uint16_t u;
        uint8_t b[2];
    } probe = { 0x0102 };
    if (probe.b[0] == 0x01)
        return sizeof(void *) == 8 ? "big-endian, 64-bit" : "big-endian, 32-bit";
    return sizeof(void *) == 8 ? "little-endian, 64-bit" : "little-endian, 32-bit";
}

/* ==== Running a module ==== */

typedef struct run_env {
    waft_engine *engine;
    waft_module *module;
    waft_store *store;
    waft_instance *inst;
} run_env;

static void env_free(run_env *e)
{
    waft_store_free(e->store);
    waft_module_free(e->module);
    waft_engine_free(e->engine);
    memset(e, 0, sizeof *e);
}

static bool env_open(run_env *e, const uint8_t *bytes, size_t len)
{
    waft_error err;
    memset(e, 0, sizeof *e);
    if (waft_engine_new(NULL, &e->engine) != WAFT_OK)
        return false;
    if (waft_module_new(e->engine, bytes, len, &e->module, &err) != WAFT_OK ||
        waft_store_new(e->engine, &e->store) != WAFT_OK ||
        waft_instance_new(e->store, e->module, NULL, 0, &e->inst, &err) != WAFT_OK) {
        fprintf(stderr, "waft-xrestore: cannot instantiate: %s\n", err.message);
        env_free(e);
        return false;
    }
    return true;
}

static const char *type_name(waft_valtype t)
{
    switch (t) {
    case WAFT_I32:
        return "i32";
    case WAFT_I64:
        return "i64";
    case WAFT_F32:
        return "f32";
    case WAFT_F64:
        return "f64";
    default:
        return "ref";
    }
}

/* The outcome of a finished run, as text: result, exported globals, exported memories. */
static void outcome(run_env *e, uint64_t result, text *out)
{
    text_add(out, "result 0x%016" PRIx64 "\n", result);
    uint32_t n = waft_module_export_count(e->module);
    for (uint32_t i = 0; i < n; i++) {
        waft_export_desc d;
        waft_module_export(e->module, i, &d);
        waft_extern x;
        if (waft_instance_export(e->inst, d.name, d.name_len, &x) != WAFT_OK)
            continue;
        if (d.kind == WAFT_EXTERN_GLOBAL) {
            waft_val v;
            if (waft_global_get(e->store, x, &v) != WAFT_OK)
                continue;
            uint64_t bits = v.type == WAFT_I32 || v.type == WAFT_F32 ? v.of.i32 : v.of.i64;
            text_add(out, "global %.*s %s 0x%016" PRIx64 "\n", (int)d.name_len, d.name,
                     type_name(v.type), bits);
        } else if (d.kind == WAFT_EXTERN_MEMORY) {
            uint64_t size = 0;
            uint8_t *data = waft_memory_data(e->store, x, &size);
            text_add(out, "memory %.*s %" PRIu64 " 0x%016" PRIx64 "\n", (int)d.name_len, d.name,
                     size / 65536, data ? fnv(data, size) : 0);
        }
    }
}

static bool export_func(run_env *e, const char *name, waft_extern *out)
{
    return waft_instance_export(e->inst, name, strlen(name), out) == WAFT_OK &&
           out->kind == WAFT_EXTERN_FUNC;
}

/* The straight run: its outcome and the number of steps it takes. */
static bool straight(const uint8_t *bytes, size_t len, text *out, uint64_t *out_steps)
{
    run_env e;
    if (!env_open(&e, bytes, len))
        return false;
    waft_extern run;
    waft_val res;
    bool ok = export_func(&e, "run", &run);
    waft_store_set_fuel(e.store, COUNTING);
    waft_result r = ok ? waft_func_call(e.store, run, NULL, 0, &res, 1) : WAFT_ERR_INVALID_ARG;
    if (r == WAFT_OK) {
        *out_steps = waft_store_steps(e.store);
        outcome(&e, res.of.i64, out);
    } else {
        fprintf(stderr, "waft-xrestore: straight run: %s\n", waft_result_str(r));
    }
    env_free(&e);
    return r == WAFT_OK;
}

/* Runs to `step` and encodes the suspended state; NULL (after a message) if it cannot. */
static uint8_t *image_at(const uint8_t *bytes, size_t len, uint64_t step, size_t *out_len)
{
    run_env e;
    uint8_t *image = NULL;
    if (!env_open(&e, bytes, len))
        return NULL;
    waft_extern run;
    waft_val res;
    waft_store_set_fuel(e.store, step);
    waft_result r = export_func(&e, "run", &run) ? waft_func_call(e.store, run, NULL, 0, &res, 1)
                                                 : WAFT_ERR_INVALID_ARG;
    if (r == WAFT_SUSPENDED) {
        waft_error err;
        if (waft_image_encode(e.store, e.inst, NULL, &image, out_len, &err) != WAFT_OK)
            fprintf(stderr, "waft-xrestore: encode at step %" PRIu64 ": %s\n", step, err.message);
        waft_store_abandon(e.store);
    } else {
        fprintf(stderr, "waft-xrestore: run to step %" PRIu64 ": %s, not suspended\n", step,
                waft_result_str(r));
    }
    env_free(&e);
    return image;
}

/* Steps spread over a run of `total`: the first few, then evenly, then the last one. */
static uint32_t plan(uint64_t total, uint64_t *steps)
{
    static const uint64_t first[] = { 1, 2, 3, 5, 8, 13, 21 };
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        if (first[i] < total)
            steps[n++] = first[i];
    for (uint64_t j = 1; j <= 17; j++) {
        uint64_t k = total / 18 * j + j * 7; /* odd offsets: not always the same instruction */
        if (k < total && k > steps[n - 1])
            steps[n++] = k;
    }
    if (total > 1 && total - 1 > steps[n - 1])
        steps[n++] = total - 1;
    return n;
}

/* "DIR/NAME" + suffix, where NAME is the module file's name without ".wasm". */
static void path_for(char *buf, size_t size, const char *dir, const char *module,
                     const char *suffix)
{
    const char *base = strrchr(module, '/');
    base = base ? base + 1 : module;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".wasm") == 0)
        n -= 5;
    snprintf(buf, size, "%s/%.*s%s", dir, (int)n, base, suffix);
}

static void print_nan_bits(const uint8_t *bytes, size_t len, const char *name)
{
    run_env e;
    waft_extern f;
    waft_val v[4];
    if (!env_open(&e, bytes, len))
        return;
    if (export_func(&e, "nan_bits", &f) && waft_func_call(e.store, f, NULL, 0, v, 4) == WAFT_OK)
        printf("  %s: NaN bits of this host's arithmetic (informational): 0/0 %016" PRIx64
               ", inf-inf %016" PRIx64 ", sNaN+1 %016" PRIx64 ", qNaN*1 %016" PRIx64 "\n",
               name, v[0].of.i64, v[1].of.i64, v[2].of.i64, v[3].of.i64);
    env_free(&e);
}

/* ==== save ==== */

static int save_module(const char *dir, const char *module)
{
    size_t len;
    uint8_t *bytes = read_file(module, &len);
    if (!bytes) {
        fprintf(stderr, "waft-xrestore: cannot read %s\n", module);
        return 1;
    }
    text want = { 0 }, manifest = { 0 };
    uint64_t total = 0, steps[MAX_STEPS];
    int status = 1;
    if (!straight(bytes, len, &want, &total) || total < 2)
        goto done;
    text_add(&manifest, "waft-xrestore 1 %s %s\n", host_name(), host_shape());
    text_add(&manifest, "module 0x%016" PRIx64 " %zu\n", fnv(bytes, len), len);
    text_add(&manifest, "steps %" PRIu64 "\n", total);
    text_add(&manifest, "%s", want.s);
    uint32_t n = plan(total, steps);
    for (uint32_t i = 0; i < n; i++) {
        size_t ilen = 0;
        uint8_t *image = image_at(bytes, len, steps[i], &ilen);
        if (!image)
            goto done;
        char path[1024], suffix[32];
        snprintf(suffix, sizeof suffix, ".%" PRIu64 ".img", steps[i]);
        path_for(path, sizeof path, dir, module, suffix);
        FILE *f = fopen(path, "wb");
        bool ok = f && fwrite(image, 1, ilen, f) == ilen;
        if (f && fclose(f) != 0)
            ok = false;
        if (!ok) {
            fprintf(stderr, "waft-xrestore: cannot write %s\n", path);
            free(image);
            goto done;
        }
        text_add(&manifest, "image %" PRIu64 " %zu 0x%016" PRIx64 "\n", steps[i], ilen,
                 fnv(image, ilen));
        free(image);
    }
    char path[1024];
    path_for(path, sizeof path, dir, module, ".manifest");
    FILE *f = fopen(path, "w");
    if (!f || fputs(manifest.s, f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "waft-xrestore: cannot write %s\n", path);
        goto done;
    }
    printf("  %s: %u images over %" PRIu64 " steps\n", module, n, total);
    print_nan_bits(bytes, len, module);
    status = 0;
done:
    free(want.s);
    free(manifest.s);
    free(bytes);
    return status;
}

/* ==== check ==== */

static unsigned passed, failed;

static void verdict(bool ok, const char *what, const char *why)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s: %s\n", what, why);
    }
}

/* Restores the image at `path` into a fresh engine; checks the re-save and the finish. */
static bool restore_and_finish(const char *path, const uint8_t *file, size_t flen, uint64_t total,
                               const char *want, char *why, size_t why_size)
{
    waft_engine *engine = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_image *img = NULL;
    waft_instance *inst = NULL;
    waft_error err;
    uint8_t *again = NULL;
    size_t alen = 0;
    text got = { 0 };
    bool ok = false;
    memset(&err, 0, sizeof err);
    if (waft_engine_new(NULL, &engine) != WAFT_OK) {
        snprintf(why, why_size, "no engine");
        goto done;
    }
    if (waft_image_load(engine, path, &img, &err) != WAFT_OK) {
        snprintf(why, why_size, "load: %s", err.message);
        goto done;
    }
    size_t mlen;
    const uint8_t *mbytes = waft_image_module(img, &mlen);
    if (!mbytes || waft_module_new(engine, mbytes, mlen, &module, &err) != WAFT_OK ||
        waft_store_new(engine, &store) != WAFT_OK ||
        waft_image_restore(img, store, module, NULL, 0, &inst, &err) != WAFT_OK) {
        snprintf(why, why_size, "restore: %s", err.message);
        goto done;
    }
    if (waft_image_encode(store, inst, NULL, &again, &alen, &err) != WAFT_OK) {
        snprintf(why, why_size, "save after restore: %s", err.message);
        goto done;
    }
    if (alen != flen || memcmp(again, file, flen) != 0) {
        snprintf(why, why_size, "saved again right after the restore, the image differs");
        goto done;
    }
    waft_store_set_fuel(store, COUNTING);
    waft_val res;
    waft_result r = waft_store_resume(store, &res, 1);
    if (r != WAFT_OK) {
        snprintf(why, why_size, "resume: %s", waft_result_str(r));
        goto done;
    }
    if (waft_store_steps(store) != total) {
        snprintf(why, why_size, "finished after %" PRIu64 " steps, the straight run %" PRIu64,
                 waft_store_steps(store), total);
        goto done;
    }
    run_env view = { engine, module, store, inst };
    outcome(&view, res.of.i64, &got);
    if (strcmp(got.s, want) != 0) {
        snprintf(why, why_size, "outcome differs:\n--- writer\n%s--- here\n%s", want, got.s);
        goto done;
    }
    ok = true;
done:
    free(got.s);
    free(again);
    waft_image_free(img);
    waft_store_free(store);
    waft_module_free(module);
    waft_engine_free(engine);
    return ok;
}

static void check_module(const char *dir, const char *module)
{
    char path[1024], what[1200], why[1024];
    size_t len = 0, mlen = 0;
    uint8_t *bytes = read_file(module, &len);
    path_for(path, sizeof path, dir, module, ".manifest");
    char *manifest = (char *)read_file(path, &mlen);
    text want = { 0 }, here = { 0 };
    uint64_t total = 0, here_total = 0, mhash = 0;
    size_t msize = 0;
    char writer[64] = "?";
    snprintf(what, sizeof what, "%s (straight run)", module);
    if (!bytes || !manifest) {
        verdict(false, what, bytes ? "no manifest" : "cannot read the module");
        goto done;
    }
    manifest[mlen ? mlen - 1 : 0] = 0; /* the file ends with a newline */
    /* header lines, then the outcome lines, then the image lines */
    char *line = strtok(manifest, "\n");
    if (!line || sscanf(line, "waft-xrestore 1 %63s", writer) != 1) {
        verdict(false, what, "not a manifest");
        goto done;
    }
    line = strtok(NULL, "\n");
    if (!line || sscanf(line, "module 0x%" SCNx64 " %zu", &mhash, &msize) != 2 ||
        mhash != fnv(bytes, len) || msize != len) {
        verdict(false, what, "the writer ran another module");
        goto done;
    }
    line = strtok(NULL, "\n");
    if (!line || sscanf(line, "steps %" SCNu64, &total) != 1) {
        verdict(false, what, "no step count");
        goto done;
    }
    char *images = NULL;
    while ((line = strtok(NULL, "\n")) != NULL) {
        if (strncmp(line, "image ", 6) == 0) {
            images = line;
            break;
        }
        text_add(&want, "%s\n", line);
    }
    if (!straight(bytes, len, &here, &here_total)) {
        verdict(false, what, "the straight run failed here");
        goto done;
    }
    if (here_total != total || strcmp(here.s, want.s) != 0) {
        snprintf(why, sizeof why,
                 "differs from the writer's (%s): %" PRIu64 " vs %" PRIu64 " steps\n%s---\n%s",
                 writer, here_total, total, want.s, here.s);
        verdict(false, what, why);
        goto done;
    }
    verdict(true, what, NULL);
    for (line = images; line; line = strtok(NULL, "\n")) {
        uint64_t step = 0, hash = 0;
        size_t ilen = 0;
        if (sscanf(line, "image %" SCNu64 " %zu 0x%" SCNx64, &step, &ilen, &hash) != 3) {
            verdict(false, module, "bad image line in the manifest");
            continue;
        }
        char suffix[32];
        snprintf(suffix, sizeof suffix, ".%" PRIu64 ".img", step);
        path_for(path, sizeof path, dir, module, suffix);
        snprintf(what, sizeof what, "%s (written on %s)", path, writer);
        size_t flen = 0;
        uint8_t *file = read_file(path, &flen);
        if (!file || flen != ilen || fnv(file, flen) != hash) {
            verdict(false, what, file ? "not the file the writer wrote" : "missing");
            free(file);
            continue;
        }
        size_t llen = 0;
        uint8_t *local = image_at(bytes, len, step, &llen);
        if (!local || llen != flen || memcmp(local, file, flen) != 0) {
            verdict(false, what, "this host, stopped at the same step, writes other bytes");
        } else {
            bool ok = restore_and_finish(path, file, flen, total, want.s, why, sizeof why);
            verdict(ok, what, why);
        }
        free(local);
        free(file);
    }
done:
    free(want.s);
    free(here.s);
    free(manifest);
    free(bytes);
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "save") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: waft-xrestore save|check DIR MODULE.wasm...\n");
        return 2;
    }
    printf("waft-xrestore %s on %s (%s)\n", argv[1], host_name(), host_shape());
    if (strcmp(argv[1], "save") == 0) {
        int status = 0;
        for (int i = 3; i < argc; i++)
            status |= save_module(argv[2], argv[i]);
        return status;
    }
    for (int i = 3; i < argc; i++)
        check_module(argv[2], argv[i]);
    printf("xrestore: %u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
