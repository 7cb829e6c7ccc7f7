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

int cli_restore_main(int argc, char **argv)
{
    cli_restore_options o;
    const char *image_path = NULL;
    int npos = 0, next, status;
    memset(&o, 0, sizeof o);
    status = cli_parse(cli_verb_find("restore"), argc, argv, &o, &image_path, &npos, &next);
    if (status < 0 && npos == 0)
        status = cli_usage_error("restore", "missing IMAGE");
    if (status < 0)
        status = cli_ckpt_validate(&o.ckpt, "restore");
    if (status >= 0) {
        cli_wasi_options_free(&o.wasi);
        return status;
    }
    const char *module_path = o.module;

    status = CLI_EXIT_ERROR;
    waft_engine *engine = NULL;
    waft_image *img = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_extern *imports = NULL;
    uint8_t *mfile = NULL;
    cli_wasi wasi;
    memset(&wasi, 0, sizeof wasi);
    waft_error err;
    memset(&err, 0, sizeof err);
    uint32_t missing = 0;
    waft_result r = waft_engine_new(&o.config, &engine);
    if (r != WAFT_OK) {
        cli_report_error(NULL, r, NULL);
        goto done;
    }
    r = waft_image_load(engine, image_path, &img, &err);
    if (r != WAFT_OK) {
        cli_report_error(image_path, r, &err);
        goto done;
    }
    waft_image_set_memory_restore(img, o.no_map   ? WAFT_MEMORY_COPY
                                       : o.verify ? WAFT_MEMORY_MAP_CHECKED
                                                  : WAFT_MEMORY_MAP_LAZY);
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
    cli_tier_apply(module, &o.tier);
    r = waft_store_new(engine, &store);
    if (r != WAFT_OK) {
        cli_report_error(NULL, r, NULL);
        goto done;
    }
    /* the program's arguments and environment come back from the image */
    int ws = cli_wasi_new(store, &o.wasi, image_path, 0, NULL, &wasi);
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
    status = cli_resume(&o.ckpt, image_path, module_path ? module_path : image_path, store,
                        instance, NULL);
done:
    free(imports);
    cli_wasi_free(&wasi);
    waft_store_free(store);
    waft_module_free(module);
    free(mfile);
    waft_image_free(img);
    waft_engine_free(engine);
    cli_wasi_options_free(&o.wasi);
    return status;
}
