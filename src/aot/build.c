/* SPDX-License-Identifier: MIT */
/* build.c - from a module to loaded native code: the cache key, the cache directory, running
 * the C compiler, loading the shared object.
 *
 * Invariants:
 *  - A cache entry is KEY.so, KEY = SHA-256 of (module bytes, translator version, ABI,
 *    compiler path, size and modification time, pointer size, the headers copied into the
 *    C, the semantic table and every function's icode): a changed module, lowering,
 *    translator or compiler never reuses old code. The object also carries its key and its
 *    functions' frame sizes, checked on load.
 *  - Entries appear atomically (written under a temporary name, then renamed), so processes
 *    sharing a cache never load half a file.
 *  - Code is loaded only from a directory owned by this user and writable by nobody else.
 */
#include "aot/aot.h"

#include "base/codec.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#define AOT_HOST 1
extern char **environ;
#endif

/* Changes whenever the translator's output changes meaning (the copied headers and the
 * semantic table are hashed into the key as well: aot_translator_digest). */
#define AOT_TRANSLATOR_VERSION "waft-aot-5"
#if defined(__i386__)
#define AOT_ARCH_FLAGS "-msse2", "-mfpmath=sse",
#else
#define AOT_ARCH_FLAGS
#endif

WAFT_API int waft_module_is_compiled(const waft_module *m)
{
    return m && m->aot != NULL;
}

void aot_release(waft_module *m)
{
#if defined(AOT_HOST)
    if (m->aot_handle)
        dlclose(m->aot_handle);
#endif
    m->aot_handle = NULL;
    m->aot = NULL;
}

#if defined(AOT_HOST)

/* Finds `cc` on PATH (or as given with a slash); false if absent. */
static bool find_cc(const char *cc, char *out, size_t cap, struct stat *st)
{
    if (strchr(cc, '/')) {
        snprintf(out, cap, "%s", cc);
        return stat(out, st) == 0 && S_ISREG(st->st_mode);
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n && (size_t)snprintf(out, cap, "%.*s/%s", (int)n, path, cc) < cap &&
            stat(out, st) == 0 && S_ISREG(st->st_mode) && access(out, X_OK) == 0)
            return true;
        path += n + (end ? 1 : 0);
    }
    return false;
}

/* The cache directory, made if missing (mode 0700); refused if another user could write
 * into it. */
static waft_result cache_dir(const waft_aot_options *o, char *out, size_t cap, waft_error *err)
{
    const char *d = o && o->cache_dir ? o->cache_dir : getenv("WAFT_CACHE_DIR");
    if (d && *d) {
        snprintf(out, cap, "%s", d);
    } else {
        const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
        if (x && *x == '/')
            snprintf(out, cap, "%s/waft", x);
        else if (h && *h)
            snprintf(out, cap, "%s/.cache/waft", h);
        else {
            base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1,
                           "no cache directory: set WAFT_CACHE_DIR, XDG_CACHE_HOME or HOME");
            return WAFT_ERR_UNSUPPORTED;
        }
    }
    /* make each missing component */
    for (char *p = out + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        mkdir(out, 0700);
        *p = '/';
    }
    mkdir(out, 0700);
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        base_error_set(err, WAFT_ERR_IO, -1, -1, "cache directory %s: %s", out,
                       errno ? strerror(errno) : "not a directory");
        return WAFT_ERR_IO;
    }
    if (st.st_uid != getuid() || (st.st_mode & 022)) {
        base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1,
                       "cache directory %s: not owned by this user or writable by others", out);
        return WAFT_ERR_UNSUPPORTED;
    }
    return WAFT_OK;
}

/* Loads PATH if it is this module's code; false (nothing attached) otherwise. */
static bool load(waft_module *m, const char *path, const char *key)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return false;
    const waft_aot_module *mod = dlsym(h, "waft_aot_entry");
    bool ok = mod && mod->abi == WAFT_AOT_ABI && mod->nfuncs == m->nfuncs - m->nfunc_imports &&
              mod->key && strcmp(mod->key, key) == 0;
    for (uint32_t i = 0; ok && i < mod->nfuncs; i++)
        ok = mod->max_heights[i] == m->icode[i].max_height;
    if (!ok) {
        dlclose(h);
        return false;
    }
    m->aot = mod;
    m->aot_handle = h;
    return true;
}

static bool write_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = true;
    while (len && ok) {
        ssize_t w = write(fd, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        if (ok) {
            text += w;
            len -= (size_t)w;
        }
    }
    return close(fd) == 0 && ok;
}

/* First line of a file, for an error message. */
static void first_line(const char *path, char *out, size_t cap)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *e = strstr(line, "error");
        if (e) {
            line[strcspn(line, "\n")] = 0;
            size_t n = strlen(e) < cap - 1 ? strlen(e) : cap - 1;
            memcpy(out, e, n);
            out[n] = 0;
            break;
        }
    }
    fclose(f);
}

/* Starts the compiler with `args` (NULL-terminated) after the common flags, its output
 * appended to `log`; returns its pid, or -1 with err set. */
static pid_t spawn_cc(const char *cc, const char *const *args, const char *log, waft_error *err)
{
    static const char *const common[] = { "-O2",
                                          "-fPIC",
                                          "-std=gnu11",
                                          "-w",
                                          "-fno-strict-aliasing",
                                          "-ffp-contract=off",
                                          AOT_ARCH_FLAGS NULL };
    size_t ncommon = 0, nargs = 0;
    while (common[ncommon])
        ncommon++;
    while (args[nargs])
        nargs++;
    const char **argv = malloc((2 + ncommon + nargs) * sizeof *argv);
    if (!argv) {
        base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory");
        return -1;
    }
    size_t n = 0;
    argv[n++] = cc;
    for (size_t i = 0; i < ncommon; i++)
        argv[n++] = common[i];
    for (size_t i = 0; i < nargs; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int e = posix_spawnp(&pid, cc, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    if (e != 0) {
        base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1, "cannot run the C compiler %s: %s", cc,
                       strerror(e));
        return -1;
    }
    return pid;
}

/* Waits for one compiler process; false (err set, naming `what`) if it failed. */
static bool wait_cc(pid_t pid, const char *cc, const char *what, const char *log, waft_error *err)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1, "waiting for %s: %s", cc,
                           strerror(errno));
            return false;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    char why[300];
    first_line(log, why, sizeof why);
    base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1, "%s failed on %s%s%s (log: %s)", cc, what,
                   why[0] ? ": " : "", why, log);
    return false;
}

/* Code cells per C file: a big module is split into files compiled in parallel. */
#define AOT_CELLS_PER_PART 60000u
#define AOT_MAX_PARTS      32u

/* Translates into nparts C files, compiles them `jobs` at a time, links `so`. */
static waft_result build_parts(waft_module *m, const char *key, const char *cc, const char *stem,
                               const char *so, const char *log, uint32_t nparts, uint32_t jobs,
                               bool verbose, waft_error *err)
{
    char(*src)[1300] = malloc(2 * AOT_MAX_PARTS * sizeof *src);
    if (!src) {
        base_error_set(err, WAFT_ERR_NOMEM, -1, -1, "out of memory");
        return WAFT_ERR_NOMEM;
    }
    char(*obj)[1300] = src + AOT_MAX_PARTS;
    size_t bytes = 0;
    waft_result r = WAFT_OK;
    uint32_t made = 0;
    for (; made < nparts && r == WAFT_OK; made++) {
        snprintf(src[made], sizeof src[made], "%s-%u.c", stem, made);
        snprintf(obj[made], sizeof obj[made], "%s-%u.o", stem, made);
        char *text = NULL;
        size_t len = 0;
        r = aot_emit(m, key, made, nparts, m->alloc, &text, &len);
        if (r != WAFT_OK) {
            base_error_set(err, r, -1, -1, "cannot translate the module to C (out of memory)");
            break;
        }
        bytes += len;
        if (!write_file(src[made], text, len)) {
            base_error_set(err, WAFT_ERR_IO, -1, -1, "%s: %s", src[made], strerror(errno));
            r = WAFT_ERR_IO;
        }
        base_free(m->alloc, text);
    }
    if (r == WAFT_OK && verbose)
        fprintf(stderr,
                "waft: compiling %u functions with %s (%zu bytes of C in %u files, %u at a time)\n",
                m->nfuncs - m->nfunc_imports, cc, bytes, nparts, jobs);
    /* compile, at most `jobs` at once */
    pid_t running[AOT_MAX_PARTS];
    uint32_t nrun = 0, next = 0;
    while (r == WAFT_OK && (next < nparts || nrun > 0)) {
        if (next < nparts && nrun < jobs) {
            const char *args[] = { "-c", "-o", obj[next], src[next], NULL };
            pid_t p = spawn_cc(cc, args, log, err);
            if (p < 0) {
                r = WAFT_ERR_UNSUPPORTED;
                break;
            }
            running[nrun++] = p;
            next++;
            continue;
        }
        pid_t p = running[0];
        memmove(running, running + 1, (size_t)(--nrun) * sizeof *running);
        if (!wait_cc(p, cc, "the generated C", log, err))
            r = WAFT_ERR_UNSUPPORTED;
    }
    for (uint32_t i = 0; i < nrun; i++) /* after a failure: the others are not needed */
        waitpid(running[i], NULL, 0);
    if (r == WAFT_OK) {
        const char *args[AOT_MAX_PARTS + 8];
        size_t n = 0;
        args[n++] = "-shared";
        args[n++] = "-o";
        args[n++] = so;
        for (uint32_t i = 0; i < nparts; i++)
            args[n++] = obj[i];
        args[n++] = "-lm";
        args[n] = NULL;
        pid_t p = spawn_cc(cc, args, log, err);
        if (p < 0 || !wait_cc(p, cc, "linking", log, err))
            r = WAFT_ERR_UNSUPPORTED;
    }
    bool keep = getenv("WAFT_AOT_KEEP_C") != NULL; /* for a look */
    for (uint32_t i = 0; i < made; i++) {
        if (!keep)
            unlink(src[i]);
        unlink(obj[i]);
    }
    free(src);
    return r;
}

WAFT_API waft_result waft_module_compile(waft_module *m, const waft_aot_options *o, waft_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
    if (!m || !m->validated)
        return WAFT_ERR_INVALID_ARG;
    if (m->aot)
        return WAFT_OK;
    const char *cc = o && o->cc ? o->cc : getenv("WAFT_CC");
    if (!cc || !*cc)
        cc = "cc";
    char ccpath[1024], dir[1024];
    struct stat st;
    if (!find_cc(cc, ccpath, sizeof ccpath, &st)) {
        base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1, "no C compiler: %s not found", cc);
        return WAFT_ERR_UNSUPPORTED;
    }
    waft_result r = cache_dir(o, dir, sizeof dir, err);
    if (r != WAFT_OK)
        return r;
    /* the key */
    base_sha256 h;
    base_sha256_init(&h);
    base_sha256_update(&h, m->bytes, m->len);
    char id[1200];
    int n = snprintf(id, sizeof id, "|%s|%u|%s|%lld|%lld|%d", AOT_TRANSLATOR_VERSION, WAFT_AOT_ABI,
                     ccpath, (long long)st.st_size, (long long)st.st_mtime, (int)sizeof(void *));
    base_sha256_update(&h, id, (size_t)n);
    aot_translator_digest(&h);
    /* the icode itself: every pc and height in the object is one of the interpreter's, so
     * a change to the lowering must not reuse old code */
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) {
        const icode_func *f = &m->icode[i];
        uint32_t shape[4] = { f->len, f->nlocals, f->max_height, f->nparams };
        base_sha256_update(&h, shape, sizeof shape);
        base_sha256_update(&h, f->code, (size_t)f->len * sizeof *f->code);
    }
    uint8_t digest[32];
    base_sha256_final(&h, digest);
    char key[65];
    for (int i = 0; i < 32; i++)
        snprintf(key + 2 * i, 3, "%02x", digest[i]);
    char so[1200];
    snprintf(so, sizeof so, "%s/%s.so", dir, key);
    if (!(o && o->force) && load(m, so, key)) {
        if (o && o->verbose)
            fprintf(stderr, "waft: compiled code from the cache: %s\n", so);
        return WAFT_OK;
    }
    /* temporary names unique to this build: pid and a per-process sequence number */
    static _Atomic unsigned seq;
    char stem[1200], tmp[1300], log[1300];
    snprintf(stem, sizeof stem, "%s/%s-%ld-%u", dir, key, (long)getpid(),
             atomic_fetch_add(&seq, 1u));
    snprintf(tmp, sizeof tmp, "%s.so", stem);
    snprintf(log, sizeof log, "%s.log", stem);
    uint64_t cells = 0;
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++)
        cells += m->icode[i].len;
    uint32_t nparts = (uint32_t)(cells / AOT_CELLS_PER_PART) + 1;
    if (nparts > AOT_MAX_PARTS)
        nparts = AOT_MAX_PARTS;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const char *j = getenv("WAFT_AOT_JOBS");
    uint32_t jobs = j && atoi(j) > 0 ? (uint32_t)atoi(j) : cpus > 0 ? (uint32_t)cpus : 1;
    if (jobs > AOT_MAX_PARTS)
        jobs = AOT_MAX_PARTS;
    r = build_parts(m, key, ccpath, stem, tmp, log, nparts, jobs, o && o->verbose, err);
    if (r == WAFT_OK && rename(tmp, so) != 0) {
        base_error_set(err, WAFT_ERR_IO, -1, -1, "rename %s: %s", so, strerror(errno));
        r = WAFT_ERR_IO;
    }
    if (r != WAFT_OK) {
        unlink(tmp);
        return r; /* the log stays for a look (its name is in the message) */
    }
    unlink(log);
    if (!load(m, so, key)) {
        base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1, "cannot load %s: %s", so, dlerror());
        return WAFT_ERR_UNSUPPORTED;
    }
    return WAFT_OK;
}

#else

WAFT_API waft_result waft_module_compile(waft_module *m, const waft_aot_options *o, waft_error *err)
{
    (void)m;
    (void)o;
    base_error_set(err, WAFT_ERR_UNSUPPORTED, -1, -1,
                   "compiled code is not supported on this host");
    return WAFT_ERR_UNSUPPORTED;
}

#endif
