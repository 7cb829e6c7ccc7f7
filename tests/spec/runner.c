/* SPDX-License-Identifier: MIT */
/* runner.c - waft-spec: runs the official spec test suite (wast2json output) via the public API.
 *
 * Usage: waft-spec [--expected FILE] [--update] [--counted] [--aot] [-v] PATH...
 *
 * Each PATH is a wast2json .json script, or a directory holding either <name>/<name>.json
 * entries or .json files (both one level down, run in name order). The corpus format is
 * described in spec/FORMAT.md.
 *
 * Invariants:
 *  - Every script runs in a fresh store with a fresh `spectest` instance; one engine serves
 *    the whole run. Modules are freed only after their store, because instances (even ones
 *    whose instantiation trapped half-way) may still refer to them.
 *  - Only <waft/waft.h> is used: this program is a client of the public API.
 *  - Output: one line per failure (`FILE:LINE: COMMAND: expected X, got Y`), then exactly one
 *    summary line `spec: N passed, N failed, N skipped`. Exit status 0 iff failed == 0, where
 *    failures listed in the --expected file are not counted.
 */
#include "json.h"

#include <waft/waft.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__GNUC__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

#define NAME_SHOWN_MAX 48 /* bytes of an export or file name shown in a message */
#define SPECTEST_COUNT 13

static const char DEFAULT_HEADER[] =
    "# Known spec-suite failures for waft-spec --expected: one "
    "file.wast:LINE per line, rewritten by --update. Aim: empty.\n";

/* ==== Small utilities ==== */

static void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size != 0 ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "waft-spec: out of memory\n");
        exit(2);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

static int same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* A bounded text buffer for messages; output past its size is cut off. */
typedef struct strbuf {
    size_t len;
    char text[1024];
} strbuf;

static void sb_clear(strbuf *b)
{
    b->len = 0;
    b->text[0] = '\0';
}

static void sb_printf(strbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void sb_printf(strbuf *b, const char *fmt, ...)
{
    size_t room = sizeof b->text - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->text + b->len, room, fmt, ap);
    va_end(ap);
    if (n > 0) {
        b->len += (size_t)n < room ? (size_t)n : room - 1;
    }
}

/* Appends a name that may hold any byte, with non-printable bytes as \xNN. */
static void sb_bytes(strbuf *b, const char *name, size_t len)
{
    for (size_t i = 0; i < len && i < NAME_SHOWN_MAX; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c > 0x20 && c < 0x7F && c != '"' && c != '\\') {
            sb_printf(b, "%c", c);
        } else {
            sb_printf(b, "\\x%02x", c);
        }
    }
    if (len > NAME_SHOWN_MAX) {
        sb_printf(b, "...");
    }
}

/* The same, in quotes. */
static void sb_name(strbuf *b, const char *name, size_t len)
{
    sb_printf(b, "\"");
    sb_bytes(b, name, len);
    sb_printf(b, "\"");
}

static void sb_error(strbuf *b, waft_result r, const waft_error *err)
{
    sb_printf(b, "%s", waft_result_str(r));
    if (err != NULL && err->message[0] != '\0') {
        sb_printf(b, ": %.*s", (int)sizeof err->message, err->message);
    }
    if (err != NULL && err->offset >= 0 && err->message[0] != '\0') {
        sb_printf(b, " (offset 0x%" PRIx64 ")", (uint64_t)err->offset);
    }
}

/* Reads a whole file into a NUL-terminated buffer. Returns NULL (errno set) on failure. */
static char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (cap - len < 65536) {
            cap = cap != 0 ? cap * 2 : 1 << 20;
            buf = xrealloc(buf, cap + 1);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[len] = '\0';
    *out_len = len;
    return buf;
}

/* ==== Crash reporting ==== */

/* Set before each command so that a crash names it. Globals because a signal handler can
 * reach nothing else; this is a test tool, not library state. */
static const char *volatile crash_file = "";
static volatile sig_atomic_t crash_line;

static size_t put_text(char *buf, size_t n, size_t cap, const char *s)
{
    while (*s != '\0' && n < cap) {
        buf[n++] = *s++;
    }
    return n;
}

static void on_crash(int sig)
{
    /* async-signal-safe: no stdio, only write() */
    char buf[512];
    char digits[24];
    size_t n = 0;
    size_t d = 0;
    unsigned long line = (unsigned long)crash_line;
    n = put_text(buf, n, sizeof buf, "\nwaft-spec: crashed (signal ");
    digits[d++] = (char)('0' + sig % 10);
    for (int s = sig / 10; s > 0; s /= 10) {
        digits[d++] = (char)('0' + s % 10);
    }
    while (d > 0 && n < sizeof buf) {
        buf[n++] = digits[--d];
    }
    n = put_text(buf, n, sizeof buf, ") in ");
    n = put_text(buf, n, sizeof buf, crash_file);
    n = put_text(buf, n, sizeof buf, ":");
    do {
        digits[d++] = (char)('0' + line % 10);
        line /= 10;
    } while (line > 0);
    while (d > 0 && n < sizeof buf) {
        buf[n++] = digits[--d];
    }
    n = put_text(buf, n, sizeof buf, "\n");
    ssize_t ignored = write(STDERR_FILENO, buf, n);
    (void)ignored;
    raise(sig); /* SA_RESETHAND restored the default action */
}

/* Returns the alternate signal stack (to free at exit), or NULL. */
static void *install_crash_handlers(void)
{
    static const int signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
    stack_t alt;
    struct sigaction sa;
    /* an alternate stack, so that a C stack overflow in the library is still reported */
    alt.ss_size = 1 << 16;
    alt.ss_sp = malloc(alt.ss_size);
    alt.ss_flags = 0;
    if (alt.ss_sp != NULL && sigaltstack(&alt, NULL) != 0) {
        free(alt.ss_sp);
        alt.ss_sp = NULL;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = (int)(SA_ONSTACK | SA_RESETHAND | SA_NODEFER);
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        sigaction(signals[i], &sa, NULL);
    }
    return alt.ss_sp;
}

static void remove_crash_handlers(void *alt_stack)
{
    stack_t off;
    if (alt_stack != NULL) {
        memset(&off, 0, sizeof off);
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, NULL);
        free(alt_stack);
    }
}

/* ==== Expected-failure list ==== */

typedef struct test_key {
    char *file; /* script name as in the JSON source_filename, e.g. "i32.wast" */
    uint64_t line;
} test_key;

typedef struct key_list {
    test_key *items;
    size_t count;
    size_t cap;
} key_list;

static void keys_add(key_list *list, const char *file, uint64_t line)
{
    if (list->count == list->cap) {
        list->cap = list->cap != 0 ? list->cap * 2 : 64;
        list->items = xrealloc(list->items, list->cap * sizeof *list->items);
    }
    list->items[list->count].file = xstrdup(file);
    list->items[list->count].line = line;
    list->count++;
}

static void keys_free(key_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].file);
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
    list->cap = 0;
}

static int compare_keys(const void *a, const void *b)
{
    const test_key *x = a;
    const test_key *y = b;
    int c = strcmp(x->file, y->file);
    if (c != 0) {
        return c;
    }
    return x->line < y->line ? -1 : x->line > y->line;
}

static void keys_sort_unique(key_list *list)
{
    size_t kept = 0;
    if (list->count == 0) {
        return;
    }
    qsort(list->items, list->count, sizeof *list->items, compare_keys);
    for (size_t i = 1; i < list->count; i++) {
        if (compare_keys(&list->items[kept], &list->items[i]) == 0) {
            free(list->items[i].file);
        } else {
            list->items[++kept] = list->items[i];
        }
    }
    list->count = kept + 1;
}

/* Looks a key up in a sorted list. */
static int keys_contain(const key_list *list, const char *file, uint64_t line)
{
    test_key key = { (char *)(uintptr_t)file, line }; /* not written through */
    return list->count != 0 &&
           bsearch(&key, list->items, list->count, sizeof *list->items, compare_keys) != NULL;
}

/* Reads the list at `path` (a missing file is an empty list) into `out`, sorted. The
 * comment lines at the top are returned in *out_header (malloc'd, or NULL) so that an
 * update keeps them. Returns 0, or -1 after printing what is wrong with the file. */
static int read_expected(const char *path, key_list *out, char **out_header)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    size_t lineno = 0;
    int in_header = 1;
    size_t header_end = 0;
    *out_header = NULL;
    if (text == NULL) {
        if (errno == ENOENT) {
            return 0;
        }
        fprintf(stderr, "waft-spec: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (char *line = text; line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        char *next = end != NULL ? end + 1 : text + len;
        char *hash;
        lineno++;
        if (end == NULL) {
            end = text + len;
        }
        *end = '\0';
        hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        while (*line == ' ' || *line == '\t' || *line == '\r') {
            line++;
        }
        char *tail = line + strlen(line);
        while (tail > line && (tail[-1] == ' ' || tail[-1] == '\t' || tail[-1] == '\r')) {
            *--tail = '\0';
        }
        if (*line == '\0') {
            if (in_header) {
                header_end = (size_t)(next - text);
            }
            line = next;
            continue;
        }
        in_header = 0;
        char *colon = strrchr(line, ':');
        uint64_t number;
        if (colon == NULL || colon == line ||
            json_parse_u64(colon + 1, strlen(colon + 1), &number) != 0) {
            fprintf(stderr, "%s:%zu: expected an entry of the form file.wast:LINE\n", path, lineno);
            free(text);
            keys_free(out);
            return -1;
        }
        *colon = '\0';
        keys_add(out, line, number);
        line = next;
    }
    free(text);
    keys_sort_unique(out);
    if (header_end > 0) {
        /* re-read the header bytes: the loop above has cut the text up */
        char *again = read_file(path, &len);
        if (again != NULL) {
            again[header_end] = '\0';
            *out_header = again;
        }
    }
    return 0;
}

/* ==== Whole-run and per-script state ==== */

typedef struct runner {
    int verbose;
    int update;
    const char *expected_path;
    waft_engine *engine;
    size_t engine_baseline; /* bytes the engine holds with no module or store */
    key_list expected;      /* sorted */
    key_list failures;      /* every failure of this run, listed or not */
    key_list files_run;     /* script names run (line unused) */
    uint64_t passed;
    uint64_t failed;
    uint64_t skipped;
    uint64_t expected_failed;
    uint64_t unexpected_passed;
    int counted; /* --counted: run every call with fuel on (the counting loop) */
    int aot;     /* --aot: compile every module (waft_module_compile) and run it compiled */
} runner;

/* A name (borrowed from the script's JSON) bound to an instance. */
typedef struct binding {
    const char *name;
    size_t len;
    waft_instance *instance; /* NULL: the module of that name failed to instantiate */
} binding;

typedef struct host_export {
    const char *name;
    waft_extern ext;
} host_export;

typedef struct script {
    runner *run;
    char *dir;        /* directory of the JSON file; module file names are relative to it */
    const char *file; /* source_filename, for messages and expected-failure keys */
    waft_store *store;
    host_export spectest[SPECTEST_COUNT];
    binding *registered; /* `register`ed names, searched newest first */
    size_t nregistered;
    size_t registered_cap;
    binding *named; /* `$name`s of module commands, searched newest first */
    size_t nnamed;
    size_t named_cap;
    waft_module **modules; /* every module that was instantiated, or tried to be */
    size_t nmodules;
    size_t modules_cap;
    waft_instance *current;
} script;

typedef enum verdict {
    VERDICT_PASS,
    VERDICT_FAIL,
    VERDICT_SKIP
} verdict;

static void bind(binding **items, size_t *count, size_t *cap, const json_value *name,
                 waft_instance *instance)
{
    if (*count == *cap) {
        *cap = *cap != 0 ? *cap * 2 : 16;
        *items = xrealloc(*items, *cap * sizeof **items);
    }
    (*items)[*count].name = name->str;
    (*items)[*count].len = name->len;
    (*items)[*count].instance = instance;
    (*count)++;
}

/* Finds a binding by name, newest first; NULL if the name was never bound. */
static const binding *find_binding(const binding *items, size_t count, const char *name, size_t len)
{
    for (size_t i = count; i-- > 0;) {
        if (same_bytes(items[i].name, items[i].len, name, len)) {
            return &items[i];
        }
    }
    return NULL;
}

static void keep_module(script *s, waft_module *module)
{
    if (s->nmodules == s->modules_cap) {
        s->modules_cap = s->modules_cap != 0 ? s->modules_cap * 2 : 16;
        s->modules = xrealloc(s->modules, s->modules_cap * sizeof *s->modules);
    }
    s->modules[s->nmodules++] = module;
}

/* ==== The spectest module ==== */

static waft_result spectest_print(waft_call *call, const uint64_t *args, uint64_t *results,
                                  void *env)
{
    (void)call;
    (void)args;
    (void)results;
    (void)env;
    return WAFT_OK;
}

static waft_result make_spectest(script *s, strbuf *why)
{
    static const struct {
        const char *name;
        uint32_t nparams;
        waft_valtype params[2];
    } funcs[] = {
        { "print", 0, { WAFT_I32, WAFT_I32 } },
        { "print_i32", 1, { WAFT_I32, WAFT_I32 } },
        { "print_i64", 1, { WAFT_I64, WAFT_I64 } },
        { "print_f32", 1, { WAFT_F32, WAFT_F32 } },
        { "print_f64", 1, { WAFT_F64, WAFT_F64 } },
        { "print_i32_f32", 2, { WAFT_I32, WAFT_F32 } },
        { "print_f64_f64", 2, { WAFT_F64, WAFT_F64 } },
    };
    static const char *const global_names[] = { "global_i32", "global_i64", "global_f32",
                                                "global_f64" };
    waft_val globals[4];
    size_t n = 0;
    waft_result r = WAFT_OK;
    memset(globals, 0, sizeof globals);
    globals[0].type = WAFT_I32;
    globals[0].of.i32 = 666;
    globals[1].type = WAFT_I64;
    globals[1].of.i64 = 666;
    globals[2].type = WAFT_F32;
    globals[2].of.f32_bits = 0x4426A666u; /* 666.6 */
    globals[3].type = WAFT_F64;
    globals[3].of.f64_bits = 0x4084D4CCCCCCCCCDu; /* 666.6 */

    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        waft_functype type = { funcs[i].nparams, 0, funcs[i].params, NULL };
        s->spectest[n].name = funcs[i].name;
        r = waft_func_new_host(s->store, &type, spectest_print, NULL, &s->spectest[n].ext);
        if (r != WAFT_OK) {
            sb_printf(why, "waft_func_new_host(%s): %s", funcs[i].name, waft_result_str(r));
            return r;
        }
        n++;
    }
    for (size_t i = 0; i < 4; i++) {
        s->spectest[n].name = global_names[i];
        r = waft_global_new(s->store, globals[i], 0, &s->spectest[n].ext);
        if (r != WAFT_OK) {
            sb_printf(why, "waft_global_new(%s): %s", global_names[i], waft_result_str(r));
            return r;
        }
        n++;
    }
    s->spectest[n].name = "table";
    r = waft_table_new(s->store, WAFT_FUNCREF, 10, 20, WAFT_REF_NULL, &s->spectest[n].ext);
    if (r != WAFT_OK) {
        sb_printf(why, "waft_table_new: %s", waft_result_str(r));
        return r;
    }
    n++;
    s->spectest[n].name = "memory";
    r = waft_memory_new(s->store, 1, 2, &s->spectest[n].ext);
    if (r != WAFT_OK) {
        sb_printf(why, "waft_memory_new: %s", waft_result_str(r));
        return r;
    }
    return WAFT_OK;
}

/* ==== Modules and instances ==== */

/* Reads and decodes the module file named by `filename`. Returns the result of
 * waft_module_new, or WAFT_ERR_IO if the file cannot be read; `why` says what failed. */
static waft_result load_module(script *s, const json_value *filename, waft_module **out,
                               strbuf *why)
{
    waft_error err;
    size_t len = 0;
    char *path;
    char *bytes;
    waft_result r;
    *out = NULL;
    if (filename == NULL) {
        sb_printf(why, "command has no filename");
        return WAFT_ERR_IO;
    }
    path = xrealloc(NULL, strlen(s->dir) + filename->len + 2);
    sprintf(path, "%s/%s", s->dir, filename->str);
    bytes = read_file(path, &len);
    if (bytes == NULL) {
        sb_printf(why, "cannot read %s: %s", path, strerror(errno));
        free(path);
        return WAFT_ERR_IO;
    }
    free(path);
    memset(&err, 0, sizeof err);
    err.offset = -1;
    err.func = -1;
    r = waft_module_new(s->run->engine, (const uint8_t *)bytes, len, out, &err);
    free(bytes);
    if (r != WAFT_OK) {
        *out = NULL;
        sb_error(why, r, &err);
    } else if (s->run->aot) {
        /* the AOT tier: the module's functions run compiled (a module that cannot be
         * compiled fails the command, so a broken translation cannot pass unnoticed) */
        r = waft_module_compile(*out, NULL, &err);
        if (r != WAFT_OK) {
            waft_module_free(*out);
            *out = NULL;
            sb_printf(why, "cannot compile: %s", err.message);
        }
    }
    return r;
}

static int resolve_import(script *s, const waft_import_desc *desc, waft_extern *out)
{
    const binding *b = find_binding(s->registered, s->nregistered, desc->module, desc->module_len);
    if (b != NULL) {
        return waft_instance_export(b->instance, desc->name, desc->name_len, out) == WAFT_OK ? 0
                                                                                             : -1;
    }
    if (same_bytes(desc->module, desc->module_len, "spectest", 8)) {
        for (size_t i = 0; i < SPECTEST_COUNT; i++) {
            const char *name = s->spectest[i].name;
            if (same_bytes(desc->name, desc->name_len, name, strlen(name))) {
                *out = s->spectest[i].ext;
                return 0;
            }
        }
    }
    return -1;
}

static void describe_trap(script *s, strbuf *why)
{
    const waft_trap *trap = waft_store_trap(s->store);
    if (trap == NULL) {
        sb_printf(why, "trap (no trap record)");
    } else if (trap->message != NULL) {
        sb_printf(why, "trap \"%s\"", trap->message);
    } else {
        sb_printf(why, "trap \"%s\"", waft_trap_str(trap->code));
    }
}

/* Resolves the imports of `module` against the registry and instantiates it. Returns
 * WAFT_ERR_LINK for an import that names nothing, else the result of waft_instance_new;
 * on failure `why` says what happened. */
static waft_result instantiate(script *s, const waft_module *module, waft_instance **out,
                               strbuf *why)
{
    uint32_t n = waft_module_import_count(module);
    waft_extern *imports = xrealloc(NULL, (n != 0 ? n : 1) * sizeof *imports);
    waft_result r = WAFT_OK;
    waft_error err;
    *out = NULL;
    for (uint32_t i = 0; i < n; i++) {
        waft_import_desc desc;
        waft_module_import(module, i, &desc);
        if (resolve_import(s, &desc, &imports[i]) != 0) {
            sb_printf(why, "unknown import ");
            sb_name(why, desc.module, desc.module_len);
            sb_printf(why, ".");
            sb_name(why, desc.name, desc.name_len);
            r = WAFT_ERR_LINK;
            goto done;
        }
    }
    memset(&err, 0, sizeof err);
    err.offset = -1;
    err.func = -1;
    r = waft_instance_new(s->store, module, imports, n, out, &err);
    if (r == WAFT_TRAPPED) {
        describe_trap(s, why);
    } else if (r != WAFT_OK) {
        sb_error(why, r, &err);
    }
    if (r != WAFT_OK) {
        *out = NULL;
    }
done:
    free(imports);
    return r;
}

/* The instance an action or register command names (`name` may be NULL: the current one).
 * NULL, with `why` filled, if there is none. */
static waft_instance *target_instance(script *s, const json_value *name, strbuf *why)
{
    if (name == NULL) {
        if (s->current == NULL) {
            sb_printf(why, "no current module (the last module command failed)");
        }
        return s->current;
    }
    const binding *b = find_binding(s->named, s->nnamed, name->str, name->len);
    if (b == NULL) {
        sb_printf(why, "no module named ");
        sb_name(why, name->str, name->len);
        return NULL;
    }
    if (b->instance == NULL) {
        sb_printf(why, "module ");
        sb_name(why, name->str, name->len);
        sb_printf(why, " failed to instantiate");
    }
    return b->instance;
}

/* ==== Values ==== */

typedef enum match_kind {
    MATCH_EXACT,
    MATCH_NAN_CANONICAL,
    MATCH_NAN_ARITHMETIC,
    MATCH_NON_NULL /* a reference without a value in `expected`: any non-null one */
} match_kind;

typedef struct expectation {
    waft_val val; /* the type, and the bits for MATCH_EXACT */
    match_kind match;
} expectation;

static const char *type_name(waft_valtype type)
{
    switch (type) {
    case WAFT_I32:
        return "i32";
    case WAFT_I64:
        return "i64";
    case WAFT_F32:
        return "f32";
    case WAFT_F64:
        return "f64";
    case WAFT_V128:
        return "v128";
    case WAFT_FUNCREF:
        return "funcref";
    case WAFT_EXTERNREF:
        return "externref";
    }
    return "?";
}

static void sb_val(strbuf *b, const waft_val *v)
{
    switch (v->type) {
    case WAFT_I32:
        sb_printf(b, "i32:%" PRIu32, v->of.i32);
        return;
    case WAFT_I64:
        sb_printf(b, "i64:%" PRIu64, v->of.i64);
        return;
    case WAFT_F32: {
        float f;
        memcpy(&f, &v->of.f32_bits, sizeof f); /* only for display */
        sb_printf(b, "f32:%.9g (0x%08" PRIx32 ")", (double)f, v->of.f32_bits);
        return;
    }
    case WAFT_F64: {
        double d;
        memcpy(&d, &v->of.f64_bits, sizeof d);
        sb_printf(b, "f64:%.17g (0x%016" PRIx64 ")", d, v->of.f64_bits);
        return;
    }
    case WAFT_FUNCREF:
        if (v->of.ref == WAFT_REF_NULL) {
            sb_printf(b, "funcref:null");
        } else {
            sb_printf(b, "funcref:<handle 0x%" PRIx64 ">", v->of.ref);
        }
        return;
    case WAFT_EXTERNREF:
        if (v->of.ref == WAFT_REF_NULL) {
            sb_printf(b, "externref:null");
        } else {
            sb_printf(b, "externref:%" PRIu64, v->of.ref - 1);
        }
        return;
    case WAFT_V128:
        break;
    }
    sb_printf(b, "%s:0x%" PRIx64, type_name(v->type), v->of.i64);
}

static void sb_expectation(strbuf *b, const expectation *e)
{
    switch (e->match) {
    case MATCH_EXACT:
        sb_val(b, &e->val);
        return;
    case MATCH_NAN_CANONICAL:
        sb_printf(b, "%s:nan:canonical", type_name(e->val.type));
        return;
    case MATCH_NAN_ARITHMETIC:
        sb_printf(b, "%s:nan:arithmetic", type_name(e->val.type));
        return;
    case MATCH_NON_NULL:
        sb_printf(b, "%s:non-null", type_name(e->val.type));
        return;
    }
}

static void sb_results(strbuf *b, const waft_val *vals, uint32_t n)
{
    if (n != 1) {
        sb_printf(b, "(");
    }
    for (uint32_t i = 0; i < n; i++) {
        sb_printf(b, "%s", i != 0 ? ", " : "");
        sb_val(b, &vals[i]);
    }
    if (n != 1) {
        sb_printf(b, ")");
    }
}

static void sb_expectations(strbuf *b, const expectation *e, size_t n)
{
    if (n != 1) {
        sb_printf(b, "(");
    }
    for (size_t i = 0; i < n; i++) {
        sb_printf(b, "%s", i != 0 ? ", " : "");
        sb_expectation(b, &e[i]);
    }
    if (n != 1) {
        sb_printf(b, ")");
    }
}

/* Reads a JSON value {"type": T, "value": V}. `expected` allows the NaN patterns and
 * reference values without "value". Returns 0, or -1 with `why` filled. */
static int parse_value(const json_value *v, int expected, expectation *out, strbuf *why)
{
    static const struct {
        const char *name;
        waft_valtype type;
    } types[] = {
        { "i32", WAFT_I32 }, { "i64", WAFT_I64 },         { "f32", WAFT_F32 },
        { "f64", WAFT_F64 }, { "funcref", WAFT_FUNCREF }, { "externref", WAFT_EXTERNREF },
    };
    const json_value *type = json_member_string(v, "type");
    const json_value *value = json_member(v, "value");
    size_t i;
    uint64_t bits;
    memset(out, 0, sizeof *out);
    if (type == NULL) {
        sb_printf(why, "value without a type in the script");
        return -1;
    }
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (json_is(type, types[i].name)) {
            break;
        }
    }
    if (i == sizeof types / sizeof types[0]) {
        sb_printf(why, "values of type ");
        sb_name(why, type->str, type->len);
        sb_printf(why, " are not supported by the waft API");
        return -1;
    }
    out->val.type = types[i].type;
    out->match = MATCH_EXACT;
    int is_ref = out->val.type == WAFT_FUNCREF || out->val.type == WAFT_EXTERNREF;
    if (value == NULL && expected && is_ref) {
        out->match = MATCH_NON_NULL;
        return 0;
    }
    if (value == NULL || value->kind != JSON_STRING) {
        sb_printf(why, "%s value without a string \"value\" in the script", types[i].name);
        return -1;
    }
    if (expected && (out->val.type == WAFT_F32 || out->val.type == WAFT_F64)) {
        if (json_is(value, "nan:canonical")) {
            out->match = MATCH_NAN_CANONICAL;
            return 0;
        }
        if (json_is(value, "nan:arithmetic")) {
            out->match = MATCH_NAN_ARITHMETIC;
            return 0;
        }
    }
    if (is_ref && json_is(value, "null")) {
        out->val.of.ref = WAFT_REF_NULL;
        return 0;
    }
    if (json_parse_u64(value->str, value->len, &bits) != 0 ||
        ((out->val.type == WAFT_I32 || out->val.type == WAFT_F32) && bits > UINT32_MAX)) {
        sb_printf(why, "bad %s value ", types[i].name);
        sb_name(why, value->str, value->len);
        sb_printf(why, " in the script");
        return -1;
    }
    switch (out->val.type) {
    case WAFT_I32:
        out->val.of.i32 = (uint32_t)bits;
        break;
    case WAFT_F32:
        out->val.of.f32_bits = (uint32_t)bits;
        break;
    case WAFT_I64:
        out->val.of.i64 = bits;
        break;
    case WAFT_F64:
        out->val.of.f64_bits = bits;
        break;
    case WAFT_EXTERNREF:
        if (bits == UINT64_MAX) {
            sb_printf(why, "externref %" PRIu64 " is too large", bits);
            return -1;
        }
        out->val.of.ref = bits + 1; /* host reference N is the non-null waft_ref N+1 */
        break;
    default:
        sb_printf(why, "a non-null %s value cannot be given to the waft API", types[i].name);
        return -1;
    }
    return 0;
}

static int matches(const expectation *e, const waft_val *got)
{
    if (got->type != e->val.type) {
        return 0;
    }
    int is32 = e->val.type == WAFT_I32 || e->val.type == WAFT_F32;
    uint64_t bits = is32 ? got->of.i32 : got->of.i64;
    switch (e->match) {
    case MATCH_EXACT:
        return bits == (is32 ? e->val.of.i32 : e->val.of.i64);
    case MATCH_NAN_CANONICAL:
        if (e->val.type == WAFT_F32) {
            return (bits & 0x7FFFFFFFu) == 0x7FC00000u;
        }
        return (bits & 0x7FFFFFFFFFFFFFFFu) == 0x7FF8000000000000u;
    case MATCH_NAN_ARITHMETIC:
        if (e->val.type == WAFT_F32) {
            return (bits & 0x7FC00000u) == 0x7FC00000u;
        }
        return (bits & 0x7FF8000000000000u) == 0x7FF8000000000000u;
    case MATCH_NON_NULL:
        return got->of.ref != WAFT_REF_NULL;
    }
    return 0;
}

/* Reads a list of expected values; *out is malloc'd (free it even on failure). */
static int parse_expected(const json_value *list, expectation **out, size_t *out_n, strbuf *why)
{
    size_t i = 0;
    *out = NULL;
    *out_n = 0;
    if (list == NULL || list->kind != JSON_ARRAY) {
        sb_printf(why, "command without an \"expected\" list in the script");
        return -1;
    }
    *out = xrealloc(NULL, (list->count != 0 ? list->count : 1) * sizeof **out);
    for (const json_value *v = list->first; v != NULL; v = v->next) {
        if (parse_value(v, 1, &(*out)[i], why) != 0) {
            return -1;
        }
        i++;
    }
    *out_n = i;
    return 0;
}

/* ==== Actions ==== */

typedef struct outcome {
    waft_result result; /* of waft_func_call or waft_global_get */
    uint32_t nresults;
    waft_val *results; /* malloc'd */
} outcome;

static void outcome_free(outcome *o)
{
    free(o->results);
    o->results = NULL;
    o->nresults = 0;
}

static int perform_invoke(script *s, const json_value *action, waft_extern func, outcome *out,
                          strbuf *why)
{
    const json_value *args = json_member(action, "args");
    waft_functype type;
    waft_val *vals;
    uint32_t i = 0;
    waft_result r = waft_func_type(s->store, func, &type);
    if (r != WAFT_OK) {
        sb_printf(why, "waft_func_type: %s", waft_result_str(r));
        return -1;
    }
    if (args == NULL || args->kind != JSON_ARRAY) {
        sb_printf(why, "invoke without an \"args\" list in the script");
        return -1;
    }
    if (args->count != type.nparams) {
        sb_printf(why, "the script passes %zu arguments, the function takes %" PRIu32, args->count,
                  type.nparams);
        return -1;
    }
    vals = xrealloc(NULL, (type.nparams != 0 ? type.nparams : 1) * sizeof *vals);
    for (const json_value *a = args->first; a != NULL; a = a->next, i++) {
        expectation e;
        if (parse_value(a, 0, &e, why) != 0) {
            free(vals);
            return -1;
        }
        if (e.val.type != type.params[i]) {
            sb_printf(why, "argument %" PRIu32 " is %s, the function takes %s", i,
                      type_name(e.val.type), type_name(type.params[i]));
            free(vals);
            return -1;
        }
        vals[i] = e.val;
    }
    out->nresults = type.nresults;
    out->results = xrealloc(NULL, (type.nresults != 0 ? type.nresults : 1) * sizeof(waft_val));
    for (i = 0; i < type.nresults; i++) {
        /* typed in advance: the call fills in the bits (and the type, which must agree) */
        memset(&out->results[i], 0, sizeof out->results[i]);
        out->results[i].type = type.results[i];
    }
    out->result = waft_func_call(s->store, func, vals, type.nparams, out->results, type.nresults);
    free(vals);
    if (out->result == WAFT_SUSPENDED) {
        waft_store_abandon(s->store); /* fuel is off; nothing should suspend */
    }
    return 0;
}

/* Performs an invoke or get action. Returns 0 if it ran (out->result says how; free
 * `out` with outcome_free), or -1, with `why` filled, if it could not be attempted. */
static int perform(script *s, const json_value *action, outcome *out, strbuf *why)
{
    const json_value *kind = json_member_string(action, "type");
    const json_value *field = json_member_string(action, "field");
    waft_instance *instance;
    waft_extern ext;
    memset(out, 0, sizeof *out);
    if (kind == NULL || field == NULL) {
        sb_printf(why, "action without type or field in the script");
        return -1;
    }
    instance = target_instance(s, json_member_string(action, "module"), why);
    if (instance == NULL) {
        return -1;
    }
    if (waft_instance_export(instance, field->str, field->len, &ext) != WAFT_OK) {
        sb_printf(why, "no export ");
        sb_name(why, field->str, field->len);
        return -1;
    }
    if (json_is(kind, "invoke")) {
        if (ext.kind != WAFT_EXTERN_FUNC) {
            sb_printf(why, "export is not a function");
            return -1;
        }
        return perform_invoke(s, action, ext, out, why);
    }
    if (json_is(kind, "get")) {
        if (ext.kind != WAFT_EXTERN_GLOBAL) {
            sb_printf(why, "export is not a global");
            return -1;
        }
        out->nresults = 1;
        out->results = xrealloc(NULL, sizeof *out->results);
        memset(out->results, 0, sizeof *out->results);
        out->result = waft_global_get(s->store, ext, out->results);
        return 0;
    }
    sb_printf(why, "unknown action type ");
    sb_name(why, kind->str, kind->len);
    return -1;
}

/* Describes how an action that should have done something else ended. */
static void describe_outcome(script *s, const outcome *o, strbuf *why)
{
    if (o->result == WAFT_OK) {
        sb_printf(why, "returned ");
        sb_results(why, o->results, o->nresults);
    } else if (o->result == WAFT_TRAPPED) {
        describe_trap(s, why);
    } else {
        sb_printf(why, "%s", waft_result_str(o->result));
    }
}

/* ==== Commands ==== */

static void note(script *s, uint64_t line, const strbuf *label, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

/* Prints a remark that is not a failure (only with -v). */
static void note(script *s, uint64_t line, const strbuf *label, const char *fmt, ...)
{
    va_list ap;
    if (!s->run->verbose) {
        return;
    }
    printf("%s:%" PRIu64 ": %s: note: ", s->file, line, label->text);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static verdict cmd_action(script *s, const json_value *cmd, const char *type, uint64_t line,
                          const strbuf *label, strbuf *why)
{
    const json_value *action = json_member(cmd, "action");
    expectation *expected = NULL;
    size_t nexpected = 0;
    outcome o;
    verdict v = VERDICT_FAIL;
    int is_return = strcmp(type, "assert_return") == 0;
    if (is_return && parse_expected(json_member(cmd, "expected"), &expected, &nexpected, why)) {
        free(expected);
        return VERDICT_FAIL;
    }
    if (perform(s, action, &o, why) != 0) {
        free(expected);
        return VERDICT_FAIL;
    }
    if (strcmp(type, "action") == 0) {
        if (o.result == WAFT_OK) {
            v = VERDICT_PASS;
        } else {
            sb_printf(why, "expected success, got ");
            describe_outcome(s, &o, why);
        }
    } else if (is_return) {
        int ok = o.result == WAFT_OK && o.nresults == nexpected;
        for (size_t i = 0; ok && i < nexpected; i++) {
            ok = matches(&expected[i], &o.results[i]);
        }
        if (ok) {
            v = VERDICT_PASS;
        } else {
            sb_printf(why, "expected ");
            sb_expectations(why, expected, nexpected);
            sb_printf(why, ", got ");
            if (o.result == WAFT_OK) {
                sb_results(why, o.results, o.nresults);
            } else {
                describe_outcome(s, &o, why);
            }
        }
    } else {
        int exhaustion = strcmp(type, "assert_exhaustion") == 0;
        const json_value *text = json_member_string(cmd, "text");
        size_t text_len = text != NULL ? text->len : 0;
        const waft_trap *trap = o.result == WAFT_TRAPPED ? waft_store_trap(s->store) : NULL;
        if (o.result == WAFT_TRAPPED &&
            (!exhaustion || (trap != NULL && trap->code == WAFT_TRAP_STACK_EXHAUSTED))) {
            v = VERDICT_PASS;
            const char *got = trap == NULL    ? ""
                              : trap->message ? trap->message
                                              : waft_trap_str(trap->code);
            size_t common = strlen(got) < text_len ? strlen(got) : text_len;
            if (text != NULL && strncmp(got, text->str, common) != 0) {
                note(s, line, label, "trap \"%s\" where the spec says \"%s\"", got, text->str);
            }
        } else {
            sb_printf(why, "expected %s", exhaustion ? "call stack exhaustion" : "trap");
            if (text != NULL && !exhaustion) {
                sb_printf(why, " \"%s\"", text->str);
            }
            sb_printf(why, ", got ");
            describe_outcome(s, &o, why);
        }
    }
    outcome_free(&o);
    free(expected);
    return v;
}

static verdict cmd_module(script *s, const json_value *cmd, strbuf *why)
{
    const json_value *name = json_member_string(cmd, "name");
    waft_module *module;
    waft_instance *instance = NULL;
    waft_result r = load_module(s, json_member_string(cmd, "filename"), &module, why);
    if (r == WAFT_OK) {
        keep_module(s, module);
        r = instantiate(s, module, &instance, why);
    }
    /* a failed module must not leave an older one current, or tests run against it */
    s->current = r == WAFT_OK ? instance : NULL;
    if (name != NULL) {
        bind(&s->named, &s->nnamed, &s->named_cap, name, s->current);
    }
    return r == WAFT_OK ? VERDICT_PASS : VERDICT_FAIL;
}

static verdict cmd_register(script *s, const json_value *cmd, strbuf *why)
{
    const json_value *as = json_member_string(cmd, "as");
    waft_instance *instance;
    if (as == NULL) {
        sb_printf(why, "register without \"as\" in the script");
        return VERDICT_FAIL;
    }
    instance = target_instance(s, json_member_string(cmd, "name"), why);
    if (instance == NULL) {
        return VERDICT_FAIL;
    }
    bind(&s->registered, &s->nregistered, &s->registered_cap, as, instance);
    return VERDICT_PASS;
}

/* assert_malformed and assert_invalid: decoding + validation must fail. */
static verdict cmd_bad_module(script *s, const json_value *cmd, int malformed, uint64_t line,
                              const strbuf *label, strbuf *why)
{
    const json_value *text = json_member_string(cmd, "text");
    const char *what = malformed ? "malformed" : "invalid";
    waft_result want = malformed ? WAFT_ERR_MALFORMED : WAFT_ERR_INVALID;
    waft_module *module;
    strbuf detail;
    waft_result r;
    if (json_is(json_member_string(cmd, "module_type"), "text")) {
        return VERDICT_SKIP; /* a .wat for text parsers */
    }
    sb_clear(&detail);
    r = load_module(s, json_member_string(cmd, "filename"), &module, &detail);
    if (r == WAFT_OK) {
        waft_module_free(module);
        sb_printf(why, "expected %s module", what);
        if (text != NULL) {
            sb_printf(why, " (\"%s\")", text->str);
        }
        sb_printf(why, ", but it decoded and validated");
        return VERDICT_FAIL;
    }
    if (r == WAFT_ERR_IO) {
        sb_printf(why, "%s", detail.text);
        return VERDICT_FAIL;
    }
    if (r != want) {
        note(s, line, label, "expected %s module (\"%s\"), got %s", what,
             text != NULL ? text->str : "", detail.text);
    }
    return VERDICT_PASS;
}

/* assert_unlinkable and assert_uninstantiable. */
static verdict cmd_bad_instance(script *s, const json_value *cmd, int unlinkable, strbuf *why)
{
    const json_value *text = json_member_string(cmd, "text");
    waft_module *module;
    waft_instance *instance;
    strbuf detail;
    waft_result r;
    if (json_is(json_member_string(cmd, "module_type"), "text")) {
        return VERDICT_SKIP;
    }
    sb_clear(&detail);
    r = load_module(s, json_member_string(cmd, "filename"), &module, &detail);
    if (r != WAFT_OK) {
        sb_printf(why, "module failed to load: %s", detail.text);
        return VERDICT_FAIL;
    }
    keep_module(s, module); /* a half-made instance may still refer to it */
    r = instantiate(s, module, &instance, &detail);
    if (r == (unlinkable ? WAFT_ERR_LINK : WAFT_TRAPPED)) {
        return VERDICT_PASS;
    }
    sb_printf(why, "expected %s", unlinkable ? "link error" : "trap during instantiation");
    if (text != NULL) {
        sb_printf(why, " (\"%s\")", text->str);
    }
    if (r == WAFT_OK) {
        sb_printf(why, ", but it instantiated");
    } else {
        sb_printf(why, ", got %s", detail.text);
    }
    return VERDICT_FAIL;
}

/* Records the verdict of one command and prints what needs printing. */
static void record(script *s, uint64_t line, const strbuf *label, verdict v, const strbuf *why)
{
    runner *run = s->run;
    int listed = keys_contain(&run->expected, s->file, line);
    switch (v) {
    case VERDICT_SKIP:
        run->skipped++;
        return;
    case VERDICT_PASS:
        run->passed++;
        if (listed) {
            run->unexpected_passed++;
            printf("%s:%" PRIu64 ": %s: unexpected pass (listed in %s)\n", s->file, line,
                   label->text, run->expected_path);
        }
        return;
    case VERDICT_FAIL:
        keys_add(&run->failures, s->file, line);
        if (listed) {
            run->expected_failed++;
            printf("%s:%" PRIu64 ": %s: expected failure: %s\n", s->file, line, label->text,
                   why->text);
        } else {
            run->failed++;
            printf("%s:%" PRIu64 ": %s: %s\n", s->file, line, label->text, why->text);
        }
        return;
    }
}

static void run_command(script *s, const json_value *cmd)
{
    const json_value *type = json_member_string(cmd, "type");
    const json_value *line_value = json_member(cmd, "line");
    const json_value *action = json_member(cmd, "action");
    uint64_t line = 0;
    strbuf label;
    strbuf why;
    verdict v = VERDICT_FAIL;
    sb_clear(&label);
    sb_clear(&why);
    if (line_value != NULL && line_value->kind == JSON_NUMBER) {
        json_parse_u64(line_value->str, line_value->len, &line);
    }
    crash_file = s->file;
    crash_line = (sig_atomic_t)line;
    if (type == NULL) {
        sb_printf(&label, "?");
        sb_printf(&why, "command without a type in the script");
        record(s, line, &label, VERDICT_FAIL, &why);
        return;
    }
    sb_printf(&label, "%s", type->str);
    const json_value *detail = json_member_string(action, "field");
    if (detail == NULL) {
        detail = json_member_string(cmd, "as");
    }
    if (detail == NULL) {
        detail = json_member_string(cmd, "name");
    }
    if (detail == NULL) {
        detail = json_member_string(cmd, "filename");
    }
    if (detail != NULL) {
        sb_printf(&label, " ");
        sb_bytes(&label, detail->str, detail->len);
    }
    if (json_is(type, "module")) {
        v = cmd_module(s, cmd, &why);
    } else if (json_is(type, "register")) {
        v = cmd_register(s, cmd, &why);
    } else if (json_is(type, "action") || json_is(type, "assert_return") ||
               json_is(type, "assert_trap") || json_is(type, "assert_exhaustion")) {
        v = cmd_action(s, cmd, type->str, line, &label, &why);
    } else if (json_is(type, "assert_malformed") || json_is(type, "assert_invalid")) {
        v = cmd_bad_module(s, cmd, json_is(type, "assert_malformed"), line, &label, &why);
    } else if (json_is(type, "assert_unlinkable") || json_is(type, "assert_uninstantiable")) {
        v = cmd_bad_instance(s, cmd, json_is(type, "assert_unlinkable"), &why);
    } else {
        sb_printf(&why, "unknown command type");
    }
    record(s, line, &label, v, &why);
}

/* ==== Scripts ==== */

/* A failure that belongs to no command (unreadable script, store creation failed). */
static void script_failure(runner *run, const char *file, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void script_failure(runner *run, const char *file, const char *fmt, ...)
{
    va_list ap;
    int listed = keys_contain(&run->expected, file, 0);
    keys_add(&run->failures, file, 0);
    if (listed) {
        run->expected_failed++;
    } else {
        run->failed++;
    }
    printf("%s:0: %s", file, listed ? "expected failure: " : "");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void run_script(runner *run, const char *path)
{
    script s;
    json_doc doc;
    size_t len = 0;
    char *text = read_file(path, &len);
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    uint64_t before_passed = run->passed;
    uint64_t before_failed = run->failed + run->expected_failed;
    uint64_t before_skipped = run->skipped;
    strbuf why;

    memset(&s, 0, sizeof s);
    memset(&doc, 0, sizeof doc);
    sb_clear(&why);
    crash_file = base;
    crash_line = 0;
    s.run = run;
    s.file = base;
    if (text == NULL) {
        script_failure(run, base, "cannot read %s: %s", path, strerror(errno));
        return;
    }
    if (json_parse(text, len, &doc) != 0) {
        script_failure(run, base, "%s:%zu: bad JSON: %s", path, doc.error_line, doc.error);
        goto done;
    }
    const json_value *source = json_member_string(doc.root, "source_filename");
    const json_value *commands = json_member(doc.root, "commands");
    if (source != NULL && source->len > 0 && memchr(source->str, '\0', source->len) == NULL) {
        s.file = source->str;
    }
    if (commands == NULL || commands->kind != JSON_ARRAY) {
        script_failure(run, s.file, "%s: no \"commands\" list", path);
        goto done;
    }
    keys_add(&run->files_run, s.file, 0);
    s.dir = xstrdup(path);
    if (strrchr(s.dir, '/') != NULL) {
        *strrchr(s.dir, '/') = '\0';
    } else {
        strcpy(s.dir, ".");
    }
    waft_result r = waft_store_new(run->engine, &s.store);
    if (r != WAFT_OK) {
        s.store = NULL;
        script_failure(run, s.file, "waft_store_new: %s", waft_result_str(r));
        goto done;
    }
    if (run->counted)
        waft_store_set_fuel(s.store, UINT64_MAX - 1); /* never runs out; counts steps */
    if (make_spectest(&s, &why) != WAFT_OK) {
        script_failure(run, s.file, "cannot build the spectest module: %s", why.text);
        goto done;
    }
    for (const json_value *cmd = commands->first; cmd != NULL; cmd = cmd->next) {
        run_command(&s, cmd);
    }

done:
    crash_file = base; /* s.file points into the JSON text, freed below */
    crash_line = 0;
    if (s.store != NULL) {
        waft_store_free(s.store);
    }
    for (size_t i = 0; i < s.nmodules; i++) {
        waft_module_free(s.modules[i]);
    }
    if (run->verbose) {
        size_t held = waft_engine_allocated(run->engine);
        printf("%s: %" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64 " skipped\n", s.file,
               run->passed - before_passed, run->failed + run->expected_failed - before_failed,
               run->skipped - before_skipped);
        if (held != run->engine_baseline) {
            printf("%s:0: note: the engine holds %zu bytes after the script, %zu before\n", s.file,
                   held, run->engine_baseline);
        }
    }
    free(s.modules);
    free(s.registered);
    free(s.named);
    free(s.dir);
    json_doc_free(&doc);
    free(text);
}

/* ==== Command line ==== */

typedef struct path_list {
    char **items;
    size_t count;
    size_t cap;
} path_list;

static void paths_add(path_list *list, char *path)
{
    if (list->count == list->cap) {
        list->cap = list->cap != 0 ? list->cap * 2 : 64;
        list->items = xrealloc(list->items, list->cap * sizeof *list->items);
    }
    list->items[list->count++] = path;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Adds the scripts that PATH names. Returns 0, or -1 after printing why not. */
static int collect_scripts(const char *path, path_list *out)
{
    struct stat st;
    path_list names = { NULL, 0, 0 };
    size_t found = 0;
    DIR *dir;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "waft-spec: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        paths_add(out, xstrdup(path));
        return 0;
    }
    dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "waft-spec: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(dir);
        if (e == NULL) {
            break;
        }
        if (e->d_name[0] != '.') {
            paths_add(&names, xstrdup(e->d_name));
        }
    }
    if (errno != 0) { /* e.g. EOVERFLOW: a 32-bit build without 64-bit inode numbers */
        fprintf(stderr, "waft-spec: %s: %s\n", path, strerror(errno));
        closedir(dir);
        return -1;
    }
    closedir(dir);
    if (names.count != 0) {
        qsort(names.items, names.count, sizeof *names.items, compare_strings);
    }
    for (size_t i = 0; i < names.count; i++) {
        const char *name = names.items[i];
        size_t n = strlen(path) + 2 * strlen(name) + 8;
        char *full = xrealloc(NULL, n);
        snprintf(full, n, "%s/%s", path, name);
        if (ends_with(name, ".json") && is_regular_file(full)) {
            paths_add(out, full);
            found++;
        } else {
            snprintf(full, n, "%s/%s/%s.json", path, name, name);
            if (is_regular_file(full)) {
                paths_add(out, full);
                found++;
            } else {
                free(full);
            }
        }
        free(names.items[i]);
    }
    free(names.items);
    if (found == 0) {
        fprintf(stderr, "waft-spec: %s: no .json scripts found\n", path);
        return -1;
    }
    return 0;
}

/* Rewrites the expected-failure file with this run's failures, keeping the entries of
 * scripts that did not run this time. */
static int write_expected(runner *run, const char *header)
{
    key_list all = { NULL, 0, 0 };
    size_t n = strlen(run->expected_path) + 8;
    char *tmp = xrealloc(NULL, n);
    FILE *f;
    int ok;
    keys_sort_unique(&run->files_run);
    for (size_t i = 0; i < run->failures.count; i++) {
        keys_add(&all, run->failures.items[i].file, run->failures.items[i].line);
    }
    for (size_t i = 0; i < run->expected.count; i++) {
        if (!keys_contain(&run->files_run, run->expected.items[i].file, 0)) {
            keys_add(&all, run->expected.items[i].file, run->expected.items[i].line);
        }
    }
    keys_sort_unique(&all);
    snprintf(tmp, n, "%s.tmp", run->expected_path);
    f = fopen(tmp, "w");
    ok = f != NULL;
    if (ok) {
        fputs(header != NULL ? header : DEFAULT_HEADER, f);
        for (size_t i = 0; i < all.count; i++) {
            fprintf(f, "%s:%" PRIu64 "\n", all.items[i].file, all.items[i].line);
        }
        ok = ferror(f) == 0;
        ok = fclose(f) == 0 && ok;
        ok = ok && rename(tmp, run->expected_path) == 0;
    }
    if (!ok) {
        fprintf(stderr, "waft-spec: cannot write %s: %s\n", run->expected_path, strerror(errno));
        remove(tmp);
    } else {
        fprintf(stderr, "waft-spec: wrote %zu entries to %s\n", all.count, run->expected_path);
    }
    free(tmp);
    keys_free(&all);
    return ok ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: waft-spec [--expected FILE] [--update] [--counted] [--aot] [-v] PATH...\n"
               "  PATH            a wast2json .json script, or a directory of them\n"
               "                  (<dir>/<name>/<name>.json or <dir>/*.json)\n"
               "  --expected FILE known failures, one file.wast:LINE per line\n"
               "  --update        rewrite FILE with the failures of this run\n"
               "  --counted       run with fuel on, i.e. the instruction-counting loop\n"
               "  --aot           compile every module to native code (the AOT tier)\n"
               "  -v              per-script counts and notes\n");
}

int main(int argc, char **argv)
{
    runner run;
    path_list scripts = { NULL, 0, 0 };
    char *header = NULL;
    void *alt_stack = NULL;
    int status = 2;
    int i;
    memset(&run, 0, sizeof run);
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        } else if (strcmp(arg, "--expected") == 0 && i + 1 < argc) {
            run.expected_path = argv[++i];
        } else if (strcmp(arg, "--update") == 0) {
            run.update = 1;
        } else if (strcmp(arg, "--counted") == 0) {
            run.counted = 1;
        } else if (strcmp(arg, "--aot") == 0) {
            run.aot = 1;
        } else if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
            run.verbose = 1;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (arg[0] == '-') {
            usage(stderr);
            return 2;
        } else {
            break;
        }
    }
    if (i >= argc || (run.update && run.expected_path == NULL)) {
        usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines reach a pipe before a crash can lose them */
    alt_stack = install_crash_handlers();
    if (run.expected_path != NULL && read_expected(run.expected_path, &run.expected, &header)) {
        goto done;
    }
    for (; i < argc; i++) {
        if (collect_scripts(argv[i], &scripts) != 0) {
            goto done;
        }
    }
    waft_result r = waft_engine_new(NULL, &run.engine);
    if (r != WAFT_OK) {
        fprintf(stderr, "waft-spec: waft_engine_new: %s\n", waft_result_str(r));
        goto done;
    }
    run.engine_baseline = waft_engine_allocated(run.engine);
    for (size_t k = 0; k < scripts.count; k++) {
        run_script(&run, scripts.items[k]);
    }
    crash_file = "(engine teardown)";
    waft_engine_free(run.engine);
    if (run.verbose) {
        printf("spec: %" PRIu64 " expected failures, %" PRIu64 " unexpected passes\n",
               run.expected_failed, run.unexpected_passed);
    }
    printf("%s: %" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64 " skipped\n",
           run.counted ? "spec-counted" : "spec", run.passed, run.failed, run.skipped);
    status = run.failed == 0 ? 0 : 1;
    if (run.update && write_expected(&run, header) != 0) {
        status = 2;
    }
done:
    for (size_t k = 0; k < scripts.count; k++) {
        free(scripts.items[k]);
    }
    free(scripts.items);
    free(header);
    keys_free(&run.expected);
    keys_free(&run.failures);
    keys_free(&run.files_run);
    remove_crash_handlers(alt_stack);
    return status;
}
