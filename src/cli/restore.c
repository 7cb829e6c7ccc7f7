/* SPDX-License-Identifier: MIT */
/* restore.c - `waft restore IMAGE [OPTIONS]`: continue a program from an image.
 *
 * The module comes from the image (or --module, checked against the image's hash), the
 * WASI state is rebuilt from the image's record with this process's standard streams and
 * the directories given again with --dir (matched by guest name), then the suspended call
 * resumes where it stopped. The checkpoint triggers of `waft run` apply, so a restored
 * program can be checkpointed again.
 */
#include "cli.h"

#include <waft/waft_snapshot.h>

#include <stdlib.h>
#include <string.h>

void cli_restore_usage(FILE *out)
{
    fputs("usage: waft restore IMAGE [OPTIONS]\n"
          "\n"
          "Continues the program saved in IMAGE exactly where it stopped: same memory,\n"
          "call stack, open files (same descriptor numbers, flags and offsets), arguments\n"
          "and environment; monotonic clocks go on from their saved values.\n"
          "\n"
          "Options:\n"
          "  --dir HOST[::GUEST]    the host directory for the program's directory GUEST;\n"
          "                         every directory the program had must be given again\n"
          "                         (it may be another host directory with the same files)\n"
          "  --keep-dirs            instead, reopen the host directories the image names\n"
          "                         (absolute paths, recorded when they were preopened;\n"
          "                         only for images you trust)\n"
          "  --module MODULE.wasm   the module, for images saved without it; its SHA-256\n"
          "                         must match the image's\n"
          "  --max-call-depth N, --max-stack-slots N   as for waft run\n"
          "  -h, --help             show this help\n"
          "\n",
          out);
    cli_ckpt_usage(out);
    cli_mig_usage(out);
    fputs("\n"
          "Exit status: as for waft run; 1 with one line naming the problem when the image\n"
          "is damaged, belongs to another module, or a file it had open is missing or has\n"
          "changed (e.g. is shorter than the saved offset).\n",
          out);
}

int cli_restore_main(int argc, char **argv)
{
    cli_ckpt_options ck;
    cli_wasi_options wo;
    waft_config config;
    const char *image_path = NULL, *module_path = NULL;
    memset(&ck, 0, sizeof ck);
    memset(&wo, 0, sizeof wo);
    memset(&config, 0, sizeof config);
    int status = CLI_EXIT_USAGE, m;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_restore_usage(stdout);
            cli_wasi_options_free(&wo);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "--keep-dirs")) {
            wo.keep_dirs = 1;
        } else if (!strcmp(a, "--module") || !strncmp(a, "--module=", 9)) {
            if (a[8] == '=')
                module_path = a + 9;
            else if (i + 1 < argc)
                module_path = argv[++i];
            else
                goto usage;
        } else if (!strcmp(a, "--max-call-depth") || !strcmp(a, "--max-stack-slots")) {
            if (i + 1 >= argc)
                goto usage;
            unsigned long v = strtoul(argv[++i], NULL, 10);
            if (v == 0 || v > UINT32_MAX)
                goto usage;
            if (a[6] == 'c')
                config.max_call_depth = (uint32_t)v;
            else
                config.max_stack_slots = (uint32_t)v;
        } else if ((m = cli_ckpt_option(argc, argv, &i, &ck)) != 0) {
            if (m >= 0) {
                cli_wasi_options_free(&wo);
                return m;
            }
        } else if ((m = cli_wasi_option(argc, argv, &i, &wo)) != 0) {
            if (m >= 0) {
                cli_wasi_options_free(&wo);
                return m;
            }
        } else if (a[0] != '-' && !image_path) {
            image_path = a;
        } else {
            fprintf(stderr, "waft: restore: unexpected argument '%s' (see 'waft restore --help')\n",
                    a);
            cli_wasi_options_free(&wo);
            return CLI_EXIT_USAGE;
        }
    }
    if (!image_path) {
usage:
        fputs("waft: restore: expected IMAGE and valid options (see 'waft restore --help')\n",
              stderr);
        cli_wasi_options_free(&wo);
        return CLI_EXIT_USAGE;
    }
    if ((m = cli_ckpt_validate(&ck, "restore")) >= 0) {
        cli_wasi_options_free(&wo);
        return m;
    }

    status = CLI_EXIT_ERROR;
    waft_engine *engine = NULL;
    waft_image *img = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_extern *imports = NULL;
    waft_val *results = NULL;
    uint8_t *mfile = NULL;
    cli_wasi wasi;
    memset(&wasi, 0, sizeof wasi);
    waft_error err;
    memset(&err, 0, sizeof err);
    uint32_t missing = 0;
    int began = 0;
    waft_result r = waft_engine_new(&config, &engine);
    if (r != WAFT_OK) {
        cli_report_error(NULL, r, NULL);
        goto done;
    }
    r = waft_image_load(engine, image_path, &img, &err);
    if (r != WAFT_OK) {
        cli_report_error(image_path, r, &err);
        goto done;
    }
    size_t mlen;
    const uint8_t *mbytes = waft_image_module(img, &mlen);
    if (module_path) {
        if (cli_read_file(module_path, &mfile, &mlen) != 0)
            goto done;
        mbytes = mfile;
    } else if (!mbytes) {
        fprintf(stderr, "waft: %s: the image does not embed its module; give it with --module\n",
                image_path);
        goto done;
    }
    r = waft_module_new(engine, mbytes, mlen, &module, &err);
    if (r != WAFT_OK) {
        cli_report_error(module_path ? module_path : image_path, r, &err);
        goto done;
    }
    r = waft_store_new(engine, &store);
    if (r != WAFT_OK) {
        cli_report_error(NULL, r, NULL);
        goto done;
    }
    /* the program's arguments and environment come back from the image */
    int ws = cli_wasi_new(store, &wo, image_path, 0, NULL, &wasi);
    if (ws >= 0) {
        status = ws;
        goto done;
    }
    cli_host host = cli_wasi_host(wasi.wasi);
    r = cli_link(store, module, &host, 1, &imports, &missing, &err);
    if (r != WAFT_OK) {
        if (r == WAFT_ERR_NOT_FOUND)
            fprintf(stderr, "waft: %s: import %u of the module cannot be satisfied\n", image_path,
                    missing);
        else
            cli_report_error(image_path, r, &err);
        goto done;
    }
    waft_instance *instance;
    r = waft_image_restore(img, store, module, imports, waft_module_import_count(module), &instance,
                           &err);
    if (r != WAFT_OK) {
        cli_report_error(image_path, r, &err);
        goto done;
    }
    waft_image_free(img);
    img = NULL;
    if (waft_store_frame_count(store) == 0) {
        fprintf(stderr, "waft: %s: the image holds no running call to continue\n", image_path);
        goto done;
    }
    /* room for the outermost function's results (none for _start); finish_call fills
     * exactly its result count, the rest stay zero (type 0 is no value type) */
    uint32_t nresults = 64;
    results = calloc(nresults, sizeof *results);
    if (!results)
        goto done;
    cli_ckpt_begin(&ck, store, module_path ? module_path : image_path);
    began = 1;
    r = waft_store_resume(store, results, nresults);
    int stopped;
    r = cli_ckpt_drive(&ck, store, instance, r, results, nresults, &stopped);
    if (stopped) {
        status = stopped == 1 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    } else {
        uint32_t shown = 0;
        while (r == WAFT_OK && shown < nresults && results[shown].type != 0)
            shown++;
        status = cli_finish(image_path, store, r, results, shown);
    }
done:
    if (began)
        cli_ckpt_end();
    free(results);
    free(imports);
    cli_wasi_free(&wasi);
    waft_store_free(store);
    waft_module_free(module);
    free(mfile);
    waft_image_free(img);
    waft_engine_free(engine);
    cli_wasi_options_free(&wo);
    return status;
}
