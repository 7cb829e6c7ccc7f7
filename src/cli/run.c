/* SPDX-License-Identifier: MIT */
/* run.c - `waft run`: load a module, link its imports, instantiate it, call one export.
 *
 * Invariants:
 *  - One engine, one module, one store per run, all freed on every path (one exit label).
 *  - The export to call is checked against the module before anything runs, so a typo in
 *    --invoke never runs the start function first.
 *  - Imports are satisfied only through the cli_host list: the WASI preview1 host (wasi.c),
 *    whose state lives exactly as long as the store.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ==== Options ==== */

/* The options are cli_run_options, parsed by the table of options.c. */
typedef cli_run_options run_options;

/* Fills *o from argv (argv[0] is "run"). Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, run_options *o)
{
    const char *module = NULL;
    int npos = 0, next = argc, m;

    memset(o, 0, sizeof *o);
    m = cli_parse(cli_verb_find("run"), argc, argv, o, &module, &npos, &next);
    if (m >= 0)
        return m;
    if (npos == 0)
        return cli_usage_error("run", "missing MODULE.wasm");
    if ((m = cli_ckpt_validate(&o->ckpt, "run")) >= 0)
        return m;
    o->path = module;
    o->nargs = argc - next;
    o->args = argv + next;
    return -1;
}

/* ==== Loading ==== */

/* Reads a whole file (or standard input for "-") into a malloc'd buffer. */
int cli_read_file(const char *path, uint8_t **out_bytes, size_t *out_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int status = -1;

    if (f == NULL) {
        fprintf(stderr, "waft: %s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            size_t new_cap = cap == 0 ? 65536 : cap * 2;
            uint8_t *p = new_cap > cap ? realloc(buf, new_cap) : NULL;
            if (p == NULL) {
                fprintf(stderr, "waft: %s: file too large to load\n", path);
                goto done;
            }
            buf = p;
            cap = new_cap;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "waft: %s: cannot read: %s\n", path, strerror(errno));
        goto done;
    }
    *out_bytes = buf;
    *out_len = len;
    buf = NULL;
    status = 0;
done:
    free(buf);
    if (f != stdin)
        fclose(f);
    return status;
}

static const char *kind_name(waft_extern_kind kind)
{
    switch (kind) {
    case WAFT_EXTERN_FUNC:
        return "function";
    case WAFT_EXTERN_TABLE:
        return "table";
    case WAFT_EXTERN_MEMORY:
        return "memory";
    case WAFT_EXTERN_GLOBAL:
        return "global";
    }
    return "?";
}

/* Checks that the module exports a function called `name`; reports it if not. */
static int check_entry(const char *path, const waft_module *module, const char *name, int invoked)
{
    uint32_t n = waft_module_export_count(module);
    size_t len = strlen(name);

    for (uint32_t i = 0; i < n; i++) {
        waft_export_desc e;
        waft_module_export(module, i, &e);
        if (e.name_len != len || memcmp(e.name, name, len) != 0)
            continue;
        if (e.kind == WAFT_EXTERN_FUNC)
            return 0;
        fprintf(stderr, "waft: %s: export \"%s\" is a %s, not a function\n", path, name,
                kind_name(e.kind));
        return -1;
    }
    if (invoked)
        fprintf(stderr, "waft: %s: no exported function \"%s\"\n", path, name);
    else
        fprintf(stderr,
                "waft: %s: no \"_start\" function to run (use --invoke NAME to call an "
                "export)\n",
                path);
    return -1;
}

/* ==== Linking ==== */

static int report_missing_import(const char *path, const waft_module *module, uint32_t i)
{
    waft_import_desc d;

    waft_module_import(module, i, &d);
    fprintf(stderr, "waft: %s: import \"", path);
    cli_put_name(stderr, d.module, d.module_len);
    fputs("\" \"", stderr);
    cli_put_name(stderr, d.name, d.name_len);
    fputs("\" cannot be satisfied (only \"" WAFT_WASI_MODULE_NAME "\" is provided)\n", stderr);
    return CLI_EXIT_ERROR;
}

/* ==== Calling ==== */

/* Converts ARGS to the parameter types of `type` into args[]. */
static int parse_args(const run_options *o, const waft_functype *type, waft_val *args)
{
    /* a value never reads "--": one there ends options (`--invoke f m.wasm -- -5`) */
    int nargs = o->nargs;
    char *const *argv = o->args;
    if (nargs > 0 && strcmp(argv[0], "--") == 0) {
        nargs--;
        argv++;
    }
    if ((uint32_t)nargs != type->nparams) {
        fprintf(stderr, "waft: run: \"%s\" takes %" PRIu32 " argument%s (", o->invoke,
                type->nparams, type->nparams == 1 ? "" : "s");
        for (uint32_t i = 0; i < type->nparams; i++)
            fprintf(stderr, "%s%s", i > 0 ? " " : "", cli_valtype_name(type->params[i]));
        fprintf(stderr, "), %d given\n", nargs);
        return CLI_EXIT_USAGE;
    }
    for (uint32_t i = 0; i < type->nparams; i++) {
        if (cli_parse_val(type->params[i], argv[i], &args[i]) != 0) {
            fprintf(stderr, "waft: run: argument %" PRIu32 " of \"%s\": \"%s\" is not a valid %s\n",
                    i + 1, o->invoke, argv[i], cli_valtype_name(type->params[i]));
            return CLI_EXIT_USAGE;
        }
    }
    return -1;
}

/* Turns the outcome of a call (or of instantiation) into output and an exit status. */
int cli_finish(const char *path, waft_store *store, waft_result r, const waft_val *results,
               uint32_t nresults)
{
    switch (r) {
    case WAFT_OK:
        for (uint32_t i = 0; i < nresults; i++)
            cli_print_val(stdout, &results[i]);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "waft: cannot write the results: %s\n", strerror(errno));
            return CLI_EXIT_ERROR;
        }
        return CLI_EXIT_OK;
    case WAFT_TRAPPED:
        return cli_report_trap(store);
    case WAFT_EXITED:
        return (int)waft_store_exit_code(store);
    case WAFT_SUSPENDED: {
        int status;
        if (waft_store_stop_reason(store) == WAFT_STOP_FUEL) {
            status = cli_report_fuel(store);
        } else {
            fprintf(stderr, "waft: %s: the program was suspended and cannot be resumed here\n",
                    path);
            status = CLI_EXIT_ERROR;
        }
        waft_store_abandon(store);
        return status;
    }
    default:
        cli_report_error(path, r, NULL);
        return CLI_EXIT_ERROR;
    }
}

static int run_module(const run_options *o)
{
    const char *entry = o->invoke != NULL ? o->invoke : "_start";
    uint8_t *bytes = NULL;
    size_t len = 0;
    cli_wasi wasi;
    cli_host host;
    waft_engine *engine = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_instance *instance = NULL;
    waft_extern *imports = NULL;
    waft_extern func;
    waft_functype type;
    waft_val *args = NULL, *results = NULL;
    waft_error err;
    waft_result r;
    uint32_t missing = 0;
    int status = CLI_EXIT_ERROR;
    int ckpt_started = 0;

    memset(&err, 0, sizeof err);
    memset(&wasi, 0, sizeof wasi);
    if (cli_read_file(o->path, &bytes, &len) != 0)
        goto done;
    r = waft_engine_new(&o->config, &engine);
    if (r != WAFT_OK) {
        cli_report_error(NULL, r, NULL);
        goto done;
    }
    r = waft_module_new(engine, bytes, len, &module, &err);
    if (r != WAFT_OK) {
        cli_report_error(o->path, r, &err);
        goto done;
    }
    if (check_entry(o->path, module, entry, o->invoke != NULL) != 0)
        goto done;
    cli_tier_apply(module, &o->tier);

    r = waft_store_new(engine, &store);
    if (r != WAFT_OK) {
        cli_report_error(NULL, r, NULL);
        goto done;
    }
    /* with --invoke, ARGS are the function's: the program gets its name only */
    status =
        cli_wasi_new(store, &o->wasi, o->path, o->invoke != NULL ? 0 : o->nargs, o->args, &wasi);
    if (status >= 0)
        goto done;
    status = CLI_EXIT_ERROR;
    host = cli_wasi_host(wasi.wasi);
    r = cli_link(store, module, &host, 1, &imports, &missing, &err);
    if (r == WAFT_ERR_NOT_FOUND) {
        status = report_missing_import(o->path, module, missing);
        goto done;
    } else if (r != WAFT_OK) {
        cli_report_error(o->path, r, &err);
        goto done;
    }
    /* before instantiation: the start function counts against the fuel */
    ckpt_started = 1;
    status = cli_ckpt_begin(&o->ckpt, store, o->path);
    if (status >= 0)
        goto done;
    status = CLI_EXIT_ERROR;
    r = cli_ckpt_instantiate(store, module, imports, &instance, &err);
    if (r == WAFT_TRAPPED || r == WAFT_EXITED || r == WAFT_SUSPENDED) {
        status = cli_finish(o->path, store, r, NULL, 0);
        goto done;
    } else if (r != WAFT_OK) {
        cli_report_error(o->path, r, &err);
        goto done;
    }

    r = waft_instance_export(instance, entry, strlen(entry), &func);
    if (r == WAFT_OK)
        r = waft_func_type(store, func, &type);
    if (r != WAFT_OK) {
        cli_report_error(o->path, r, NULL);
        goto done;
    }
    if (o->invoke == NULL && (type.nparams != 0 || type.nresults != 0)) {
        fprintf(stderr, "waft: %s: \"_start\" must take no parameters and return nothing\n",
                o->path);
        goto done;
    }
    /* One spare element each: calloc(0) may return NULL. */
    args = calloc((size_t)type.nparams + 1, sizeof *args);
    results = calloc((size_t)type.nresults + 1, sizeof *results);
    if (args == NULL || results == NULL) {
        cli_report_error(NULL, WAFT_ERR_NOMEM, NULL);
        goto done;
    }
    if (o->invoke != NULL && (status = parse_args(o, &type, args)) >= 0)
        goto done;
    waft_extern mem;
    if (o->track_writes && waft_instance_memory(instance, &mem) == WAFT_OK &&
        waft_memory_track(store, mem, 1) != WAFT_OK) {
        cli_report_error(o->path, WAFT_ERR_NOMEM, NULL);
        goto done;
    }
    r = waft_func_call(store, func, args, type.nparams, results, type.nresults);
    status = cli_drive(&o->ckpt, o->path, store, instance, r, results, type.nresults, NULL);

done:
    if (ckpt_started)
        cli_ckpt_end();
    free(results);
    free(args);
    free(imports);
    cli_wasi_free(&wasi);
    if (store != NULL)
        waft_store_free(store);
    if (module != NULL)
        waft_module_free(module);
    if (engine != NULL)
        waft_engine_free(engine);
    free(bytes);
    return status;
}

int cli_run_main(int argc, char **argv)
{
    run_options o;
    int status = parse_options(argc, argv, &o);

    if (status < 0)
        status = run_module(&o);
    cli_wasi_options_free(&o.wasi);
    return status;
}

void cli_tier_apply(waft_module *module, const cli_tier_options *t)
{
    if (t->tier != 1)
        return;
    waft_aot_options ao;
    memset(&ao, 0, sizeof ao);
    ao.verbose = t->verbose;
    waft_error err;
    if (waft_module_compile(module, &ao, &err) != WAFT_OK)
        fprintf(stderr, "waft: --tier=aot: %s; running in the interpreter\n", err.message);
}
