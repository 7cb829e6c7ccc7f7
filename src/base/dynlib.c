/* SPDX-License-Identifier: MIT */
/* dynlib.c - loading the optional libraries of dynlib.h on first use.
 *
 * Invariants: a table is filled at most once per process (pthread_once) and never changes
 * afterwards; it is published only when every function resolved, so a caller holding a
 * table may call any of them. The reason of a failure is kept for every later caller.
 */
#include "base/dynlib.h"

#if defined(WAFT_HAVE_ZSTD) || defined(WAFT_HAVE_CRYPTO)

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define DYN_STR_(x) #x
#define DYN_STR(x)  DYN_STR_(x)
#if defined(__APPLE__)
#define DYN_SONAME(base, major) "lib" base "." DYN_STR(major) ".dylib"
#else
#define DYN_SONAME(base, major) "lib" base ".so." DYN_STR(major)
#endif

typedef struct dyn_lib {
    pthread_once_t once;
    const char *soname;
    bool ok;
    char why[256];
} dyn_lib;

/* Opens `lib`; NULL with lib->why set when it cannot be. RTLD_LOCAL: its symbols stay its
 * own, whatever else the process loads. */
static void *dyn_open(dyn_lib *lib)
{
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(lib->why, sizeof lib->why, "%s", e ? e : lib->soname);
    }
    return h;
}

/* One function of `lib`, or NULL with lib->why naming it. */
static void *dyn_sym(dyn_lib *lib, void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p)
        snprintf(lib->why, sizeof lib->why, "%s has no function %s", lib->soname, name);
    return p;
}

static const void *dyn_result(const dyn_lib *lib, const void *table, char *why, size_t cap)
{
    if (lib->ok)
        return table;
    if (why && cap)
        snprintf(why, cap, "%s", lib->why);
    return NULL;
}

/* A function pointer from dlsym's void * (POSIX guarantees the conversion works). */
#define DYN_FILL(f)                     \
    if (ok) {                           \
        void *p_ = dyn_sym(lib, h, #f); \
        ok = p_ != NULL;                \
        memcpy(&t->f, &p_, sizeof p_);  \
    }

#endif

#if defined(WAFT_HAVE_ZSTD)
static dyn_lib zstd_lib = { PTHREAD_ONCE_INIT, DYN_SONAME("zstd", ZSTD_VERSION_MAJOR), false, "" };
static base_zstd zstd_table;

static void zstd_load(void)
{
    dyn_lib *lib = &zstd_lib;
    base_zstd *t = &zstd_table;
    void *h = dyn_open(lib);
    bool ok = h != NULL;
    WAFT_ZSTD_FUNCTIONS(DYN_FILL)
    lib->ok = ok; /* the handle stays open for the process's life */
}

const base_zstd *base_zstd_get(char *why, size_t cap)
{
    pthread_once(&zstd_lib.once, zstd_load);
    return dyn_result(&zstd_lib, &zstd_table, why, cap);
}
#endif

#if defined(WAFT_HAVE_CRYPTO)
#include <openssl/opensslv.h>

static dyn_lib crypto_lib = { PTHREAD_ONCE_INIT, DYN_SONAME("crypto", OPENSSL_VERSION_MAJOR), false,
                              "" };
static base_crypto crypto_table;

static void crypto_load(void)
{
    dyn_lib *lib = &crypto_lib;
    base_crypto *t = &crypto_table;
    void *h = dyn_open(lib);
    bool ok = h != NULL;
    WAFT_CRYPTO_FUNCTIONS(DYN_FILL)
    lib->ok = ok;
}

const base_crypto *base_crypto_get(char *why, size_t cap)
{
    pthread_once(&crypto_lib.once, crypto_load);
    return dyn_result(&crypto_lib, &crypto_table, why, cap);
}
#endif
