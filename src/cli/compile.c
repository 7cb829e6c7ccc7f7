/* SPDX-License-Identifier: MIT */
/* compile.c - `waft compile MODULE.wasm...`: fills the AOT tier's cache ahead of time, so
 * that a later `waft run --tier=aot` starts without compiling (docs/aot.md).
 *
 * Invariants: a module that cannot be compiled (unreadable, invalid, no C compiler, the
 * compiler failed) is one line naming it and why, and makes the exit status 1; the other
 * modules are still compiled.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPILE_MAX 32

int cli_compile_main(int argc, char **argv)
{
    const cli_verb *verb = cli_verb_find("compile");
    cli_compile_options o;
    const char *pos[COMPILE_MAX];
    int npos = 0, next;
    memset(&o, 0, sizeof o);
    int status = cli_parse(verb, argc, argv, &o, pos, &npos, &next);
    if (status < 0 && npos == 0)
        status = cli_usage_error("compile", "missing MODULE.wasm");
    if (status >= 0)
        return status;
    waft_engine *engine = NULL;
    waft_result r = waft_engine_new(NULL, &engine);
    if (r != WAFT_OK) {
        cli_report_error(NULL, r, NULL);
        return CLI_EXIT_ERROR;
    }
    status = CLI_EXIT_OK;
    for (int i = 0; i < npos; i++) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        waft_module *module = NULL;
        waft_error err;
        if (cli_read_file(pos[i], &bytes, &len) != 0) {
            status = CLI_EXIT_ERROR;
            continue;
        }
        r = waft_module_new(engine, bytes, len, &module, &err);
        free(bytes);
        if (r != WAFT_OK) {
            cli_report_error(pos[i], r, &err);
            status = CLI_EXIT_ERROR;
            continue;
        }
        waft_aot_options ao;
        memset(&ao, 0, sizeof ao);
        ao.force = o.force;
        ao.verbose = o.verbose;
        r = waft_module_compile(module, &ao, &err);
        if (r != WAFT_OK) {
            fprintf(stderr, "waft: compile: %s: %s\n", pos[i], err.message);
            status = CLI_EXIT_ERROR;
        } else if (!o.quiet) {
            printf("%s: compiled\n", pos[i]);
        }
        waft_module_free(module);
    }
    waft_engine_free(engine);
    return status;
}
