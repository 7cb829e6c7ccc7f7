/* SPDX-License-Identifier: MIT */
/* migrate_self.c - a program that embeds libwaft and live-migrates its guest to a
 * `waft serve` (waft_migrate.h).
 *
 * Build against an installed waft:
 *     cc migrate_self.c -o migrate_self $(pkg-config --cflags --libs waft)
 * Run: ./migrate_self GUEST.wasm HOST:PORT [STEPS]
 * It runs the WASI program GUEST.wasm (e.g. examples/migrate_guest.wat, built with
 * wat2wasm); after STEPS instructions (default 100000000) it starts migrating it to the
 * `waft serve` at HOST:PORT while it runs on (pre-copy), and exits with status 0 once the
 * server confirms it runs the program. The guest's output before the move is printed here,
 * the rest by the server: together they are the output of an ordinary run. If the
 * migration fails, the program goes on here to its end. `make example-migrate` checks it.
 */
#include <waft/waft.h>
#include <waft/waft_migrate.h>
#include <waft/waft_snapshot.h>
#include <waft/waft_wasi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    *out_len = len;
    return buf;
}

/* Called on the sender thread after every pre-copy round. */
static void progress(void *user, const waft_migration_progress *p)
{
    (void)user;
    fprintf(stderr, "migrate_self: round %u: %llu pages dirty, estimated pause %.2f ms\n", p->round,
            (unsigned long long)p->dirty_pages, p->est_downtime_ms);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s GUEST.wasm HOST:PORT [STEPS]\n", argv[0]);
        return 2;
    }
    uint64_t steps = argc > 3 ? strtoull(argv[3], NULL, 10) : 100000000;
    int status = 1;
    size_t len = 0;
    unsigned char *bytes = read_file(argv[1], &len);
    waft_engine *engine = NULL;
    waft_module *module = NULL;
    waft_store *store = NULL;
    waft_wasi *wasi = NULL;
    waft_extern *imports = NULL;
    waft_instance *inst = NULL;
    waft_migration *mig = NULL;
    waft_error err;
    memset(&err, 0, sizeof err);
    if (!bytes) {
        fprintf(stderr, "migrate_self: cannot read %s\n", argv[1]);
        return 1;
    }
    waft_config config;
    memset(&config, 0, sizeof config);
    if (waft_engine_new(&config, &engine) != WAFT_OK ||
        waft_module_new(engine, bytes, len, &module, &err) != WAFT_OK ||
        waft_store_new(engine, &store) != WAFT_OK) {
        fprintf(stderr, "migrate_self: %s: %s\n", argv[1], err.message);
        goto out;
    }
    /* WASI: the guest's argv and environment travel with its state; its standard streams
     * become the server's there */
    waft_wasi_config wc;
    waft_wasi_config_init(&wc);
    const char *gargv[] = { "migrate_guest" };
    wc.argc = 1;
    wc.argv = gargv;
    uint32_t nimports = waft_module_import_count(module);
    imports = calloc(nimports + 1, sizeof *imports);
    if (!imports || waft_wasi_new(store, &wc, &wasi, &err) != WAFT_OK ||
        waft_wasi_imports(wasi, module, imports, &err) != WAFT_OK ||
        waft_instance_new(store, module, imports, nimports, &inst, &err) != WAFT_OK) {
        fprintf(stderr, "migrate_self: cannot instantiate: %s\n", err.message);
        goto out;
    }
    waft_extern start;
    if (waft_instance_export(inst, "_start", 6, &start) != WAFT_OK) {
        fprintf(stderr, "migrate_self: the guest exports no _start\n");
        goto out;
    }

    /* Run STEPS instructions, then migrate at that suspension. */
    waft_store_set_fuel(store, steps);
    waft_val results[1];
    waft_result r = waft_func_call(store, start, NULL, 0, results, 0);
    while (r == WAFT_SUSPENDED) {
        if (!mig && waft_store_stop_reason(store) == WAFT_STOP_FUEL) {
            waft_store_set_fuel(store, UINT64_MAX); /* back to the fast loop */
            waft_migration_options mo;
            memset(&mo, 0, sizeof mo);
            mo.to = argv[2];
            mo.progress = progress;
            fflush(stdout); /* what the guest printed here comes before the server's */
            if (waft_migration_start(store, inst, &mo, &mig, &err) != WAFT_OK)
                fprintf(stderr, "migrate_self: cannot migrate: %s\n", err.message);
        }
        if (mig) {
            /* parks here for the pause when the sender asks for it */
            waft_migration_state st = waft_migration_poll(mig);
            if (st == WAFT_MIGRATION_DONE) {
                fprintf(stderr, "migrate_self: %s\n", waft_migration_message(mig));
                waft_store_abandon(store); /* it runs over there now */
                status = 0;
                goto out;
            }
            if (st == WAFT_MIGRATION_UNKNOWN) {
                waft_image_options io;
                memset(&io, 0, sizeof io);
                fprintf(stderr, "migrate_self: outcome unknown (%s); keeping an image\n",
                        waft_migration_message(mig));
                waft_image_save(store, inst, "migrate_self.img", &io, &err);
                waft_store_abandon(store);
                goto out;
            }
            if (st != WAFT_MIGRATION_RUNNING) {
                fprintf(stderr, "migrate_self: migration failed: %s; going on here\n",
                        waft_migration_message(mig));
                waft_migration_free(mig);
                mig = NULL;
            } else if (waft_migration_pausing(mig)) {
                continue; /* poll again: that parks the guest */
            }
        }
        r = waft_store_resume(store, results, 0);
    }
    if (mig && waft_migration_cancel(mig, "the program finished first") != WAFT_MIGRATION_DONE)
        fprintf(stderr, "migrate_self: migration abandoned: %s\n", waft_migration_message(mig));
    int32_t code = 0;
    if (r == WAFT_OK || (r == WAFT_EXITED && waft_wasi_exit_code(wasi, &code)))
        status = code;
    else
        fprintf(stderr, "migrate_self: the guest stopped: %s\n", waft_result_str(r));
out:
    fflush(stdout);
    waft_migration_free(mig);
    waft_wasi_free(wasi);
    free(imports);
    waft_store_free(store);
    waft_module_free(module);
    waft_engine_free(engine);
    free(bytes);
    return status;
}
