/* SPDX-License-Identifier: MIT */
/* migrate.c - the source side of live migration in the CLI: `waft run --migrate-to`, the
 * migration requests of `waft migrate PID`, and that command itself.
 *
 * The protocol, the sender thread and the pre-copy are the library's (waft_migrate.h); this
 * file holds the options, the messages, and the image kept when the outcome is unknown.
 * The guest thread starts a migration at a suspension (cli_ckpt_drive) and polls it at
 * the next ones.
 *
 * Process state lives in the static struct `cm`: one migration at a time per run.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <waft/waft_migrate.h>
#include <waft/waft_snapshot.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    waft_migration *m; /* NULL when none is going on */
    waft_store *store;
    const waft_instance *inst;
    char to[256];
    char fallback[PATH_MAX]; /* the image kept when the outcome is unknown */
} cm;

/* ==== Options ==== */

/* The options (cli_mig_options) are lines of options.c's tables. */

static int opt_error(const char *what, const char *value)
{
    fprintf(stderr, "waft: %s: '%s' (see --help)\n", what, value ? value : "");
    return CLI_EXIT_USAGE;
}

/* ==== The guest thread's side, over waft_migrate.h ==== */

/* A pre-copy round ended (on the sender thread): one line, when stderr is a terminal. */
static void print_progress(void *user, const waft_migration_progress *p)
{
    (void)user;
    fprintf(stderr,
            "waft: migrate: round %u: %.1f MiB sent, %" PRIu64 " pages dirty (%.1f MiB/s), "
            "estimated downtime %.2f ms%s\n",
            p->round, (double)p->round_bytes / 1048576.0, p->dirty_pages, p->dirty_rate / 1048576.0,
            p->est_downtime_ms, p->throttle ? " (throttled)" : "");
}

int cli_mig_active(void)
{
    return cm.m != NULL;
}

int cli_mig_pausing(void)
{
    return cm.m && waft_migration_pausing(cm.m);
}

int cli_mig_start(const cli_mig_options *o, waft_store *store, const waft_instance *inst,
                  const char *fallback_image, char *msg, size_t msglen)
{
    if (cm.m) {
        snprintf(msg, msglen, "a migration is already in progress");
        return -1;
    }
    /* If the link breaks after COMMIT, the only copy of the program may be the image kept
     * here (keep_image): a migration whose image could not be written does not start. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", fallback_image);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(msg, msglen,
                 "the image kept if the outcome is unknown (%s) could not be written: %s: %s",
                 fallback_image, dir, strerror(errno));
        return -1;
    }
    waft_migration_key key;
    memset(&key, 0, sizeof key);
    waft_error err;
    memset(&err, 0, sizeof err);
    if (o->key_file && waft_migration_key_load(o->key_file, &key, &err) != WAFT_OK) {
        snprintf(msg, msglen, "%s", err.message);
        return -1;
    }
    waft_migration_options mo;
    memset(&mo, 0, sizeof mo);
    mo.to = o->to;
    mo.stop_and_copy = o->stop_and_copy;
    mo.max_downtime_ms = o->max_downtime_ms;
    mo.max_rounds = o->max_rounds;
    mo.address_order = o->address_order;
    mo.timeout = o->timeout;
    mo.key = &key;
    mo.progress = isatty(2) ? print_progress : NULL;
    waft_result r = waft_migration_start(store, inst, &mo, &cm.m, &err);
    memset(&key, 0, sizeof key);
    if (r != WAFT_OK) {
        snprintf(msg, msglen, "%s", err.message[0] ? err.message : waft_result_str(r));
        cm.m = NULL;
        return -1;
    }
    snprintf(cm.to, sizeof cm.to, "%s", o->to);
    snprintf(cm.fallback, sizeof cm.fallback, "%s", fallback_image);
    cm.store = store;
    cm.inst = inst;
    return 0;
}

/* Keeps a full image when the outcome is unknown, so the program cannot be lost. */
static void keep_image(const char *why, char *msg, size_t msglen)
{
    waft_image_options io;
    memset(&io, 0, sizeof io);
    waft_error err;
    if (waft_image_save(cm.store, cm.inst, cm.fallback, &io, &err) == WAFT_OK)
        snprintf(msg, msglen,
                 "migration to %s: %s; the destination may be running the program; it was "
                 "stopped here and an image kept at %s",
                 cm.to, why, cm.fallback);
    else
        snprintf(msg, msglen,
                 "migration to %s: %s; the destination may be running the program; it was "
                 "stopped here, and keeping an image at %s failed: %s",
                 cm.to, why, cm.fallback, err.message);
}

int cli_mig_poll(char *msg, size_t msglen)
{
    if (!cm.m)
        return CLI_MIG_GO_ON;
    waft_migration_state st = waft_migration_poll(cm.m);
    if (st == WAFT_MIGRATION_RUNNING)
        return CLI_MIG_GO_ON;
    const char *why = waft_migration_message(cm.m);
    int out;
    if (st == WAFT_MIGRATION_DONE) {
        snprintf(msg, msglen, "%s", why);
        out = CLI_MIG_DONE;
    } else if (st == WAFT_MIGRATION_UNKNOWN) {
        keep_image(why, msg, msglen);
        out = CLI_MIG_UNKNOWN;
    } else {
        snprintf(msg, msglen, "migration to %s failed: %s; the program goes on here", cm.to, why);
        out = CLI_MIG_FAILED;
    }
    waft_migration_free(cm.m);
    cm.m = NULL;
    return out;
}

void cli_mig_cancel(const char *why)
{
    if (!cm.m)
        return;
    waft_migration_state st = waft_migration_cancel(cm.m, why);
    if (st == WAFT_MIGRATION_FAILED)
        fprintf(stderr, "waft: migration to %s failed: %s\n", cm.to, waft_migration_message(cm.m));
    else
        fprintf(stderr, "waft: migration to %s abandoned: %s\n", cm.to, why);
    waft_migration_free(cm.m);
    cm.m = NULL;
}

/* ==== waft migrate PID ==== */

int cli_migrate_main(int argc, char **argv)
{
    cli_mig_options o;
    const char *pid_text = NULL;
    int npos = 0, next;
    memset(&o, 0, sizeof o);
    int status = cli_parse(cli_verb_find("migrate"), argc, argv, &o, &pid_text, &npos, &next);
    if (status >= 0)
        return status;
    char *end = NULL;
    unsigned long long pid_n = pid_text ? strtoull(pid_text, &end, 10) : 0;
    if (pid_text &&
        (pid_text[0] < '0' || pid_text[0] > '9' || *end || pid_n == 0 || pid_n > INT_MAX))
        return opt_error("migrate: PID must be a process id", pid_text);
    long pid = (long)pid_n;
    if (!pid || !o.to)
        return opt_error("migrate: needs PID and --to HOST:PORT", pid ? "" : "PID");
    char key[PATH_MAX] = "-";
    if (o.key_file) {
        waft_migration_key k;
        waft_error err;
        if (waft_migration_key_load(o.key_file, &k, &err) != WAFT_OK) {
            fprintf(stderr, "waft: migrate: %s\n", err.message);
            return CLI_EXIT_ERROR;
        }
        if (!realpath(o.key_file, key)) {
            fprintf(stderr, "waft: migrate: %s: %s\n", o.key_file, strerror(errno));
            return CLI_EXIT_ERROR;
        }
        if (strpbrk(key, " \t\n")) {
            fprintf(stderr, "waft: migrate: %s: the key file's path must not contain spaces\n",
                    key);
            return CLI_EXIT_USAGE;
        }
    }
    double timeout = o.timeout > 0 ? o.timeout : 30;
    char req[PATH_MAX + 400];
    snprintf(req, sizeof req, "migrate %s %s %.3f %u %s %.3f %s\n", o.to,
             o.stop_and_copy ? "stop-and-copy" : "precopy",
             o.max_downtime_ms > 0 ? o.max_downtime_ms : 5, o.max_rounds ? o.max_rounds : 30,
             o.address_order ? "address" : "hot", timeout, key);
    char ans[2048];
    size_t n = 0;
    /* the run bounds each of its waits on the peer; a whole migration has no bound (its
     * pre-copy lasts as long as the memory takes), and the answer comes when it ends, or
     * the connection closes if the run dies */
    if (cli_ctl_request(pid, req, 0, ans, sizeof ans, &n) < 0)
        return CLI_EXIT_ERROR;
    if (strncmp(ans, "ok ", 3) == 0) {
        printf("waft: process %ld %s\n", pid, ans + 3);
        return CLI_EXIT_OK;
    }
    if (n == 0)
        fprintf(stderr,
                "waft: migrate: process %ld closed its control connection without an answer "
                "(it has ended, or is ending)\n",
                pid);
    else
        fprintf(stderr, "waft: migrate: process %ld: %s\n", pid,
                strncmp(ans, "error ", 6) == 0 ? ans + 6 : ans);
    return CLI_EXIT_ERROR;
}
