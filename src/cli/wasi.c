/* SPDX-License-Identifier: MIT */
/* wasi.c - the WASI side of `waft run`: what the --dir, --env and --tcplisten options give
 * the guest (options.c parses them), the guest's configuration, and the cli_host that provides
 * wasi_snapshot_preview1.
 *
 * Invariants: option values point into argv (nothing copied until waft_wasi_new, which
 * copies everything); sockets opened for --tcplisten are closed by cli_wasi_free, the WASI
 * state keeping its own duplicates.
 */
#include "cli.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ==== Sockets ==== */

/* Opens a listening TCP socket on "HOST:PORT" ("[v6addr]:PORT" for IPv6). Returns the fd
 * or -1 after a message. */
static int listen_on(const char *spec)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    size_t hlen = (size_t)(colon - spec);
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, rc, saved = 0;

    if (hlen >= sizeof host) {
        fprintf(stderr, "waft: --tcplisten %s: host name too long\n", spec);
        return -1;
    }
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] != '\0' ? host : NULL, colon + 1, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "waft: --tcplisten %s: %s\n", spec, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int one = 1;
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "waft: --tcplisten %s: cannot listen: %s\n", spec, strerror(saved));
    return fd;
}

/* ==== The WASI state ==== */

/* Splits "HOST::GUEST" (or "HOST", seen as HOST by the guest) into p, pointing into a
 * copy kept in *store. */
static int split_dir(const char *spec, waft_wasi_preopen *p, char **store)
{
    const char *sep = strstr(spec, "::");
    char *copy = malloc(strlen(spec) + 1);

    if (copy == NULL)
        return -1;
    strcpy(copy, spec);
    *store = copy;
    p->host_path = copy;
    p->guest_path = copy;
    if (sep != NULL) {
        copy[sep - spec] = '\0';
        p->guest_path = copy + (sep - spec) + 2;
    }
    return 0;
}

int cli_wasi_new(waft_store *store, const cli_wasi_options *o, const char *program, int nargs,
                 char **args, cli_wasi *out)
{
    waft_wasi_config cfg;
    waft_error err;
    waft_result r;
    const char **argv = calloc((size_t)nargs + 2, sizeof *argv);
    const char **envp = calloc((size_t)o->envs.n + 1, sizeof *envp);
    waft_wasi_preopen *pre = calloc((size_t)o->dirs.n + 1, sizeof *pre);
    char **copies = calloc((size_t)o->dirs.n + 1, sizeof *copies);
    char **inherited = calloc((size_t)o->envs.n + 1, sizeof *inherited);
    int nenv = 0, ninherited = 0, status = CLI_EXIT_ERROR;

    memset(out, 0, sizeof *out);
    out->sockets = calloc((size_t)o->listens.n + 1, sizeof *out->sockets);
    if (argv == NULL || envp == NULL || pre == NULL || copies == NULL || inherited == NULL ||
        out->sockets == NULL) {
        fputs("waft: out of memory\n", stderr);
        goto done;
    }
    argv[0] = program;
    for (int i = 0; i < nargs; i++)
        argv[i + 1] = args[i];
    for (int i = 0; i < o->envs.n; i++) {
        if (strchr(o->envs.items[i], '=') != NULL) {
            envp[nenv++] = o->envs.items[i];
        } else {
            /* "--env NAME": the host's value, if it has one */
            const char *v = getenv(o->envs.items[i]);
            size_t n = strlen(o->envs.items[i]);
            char *s;
            if (v == NULL)
                continue;
            s = malloc(n + strlen(v) + 2);
            if (s == NULL) {
                fputs("waft: out of memory\n", stderr);
                goto done;
            }
            memcpy(s, o->envs.items[i], n);
            s[n] = '=';
            strcpy(s + n + 1, v);
            inherited[ninherited++] = s;
            envp[nenv++] = s;
        }
    }
    for (int i = 0; i < o->dirs.n; i++) {
        if (split_dir(o->dirs.items[i], &pre[i], &copies[i]) != 0) {
            fputs("waft: out of memory\n", stderr);
            goto done;
        }
    }
    for (int i = 0; i < o->listens.n; i++) {
        out->sockets[i] = listen_on(o->listens.items[i]);
        if (out->sockets[i] < 0)
            goto done;
        out->nsockets = i + 1;
    }

    waft_wasi_config_init(&cfg);
    cfg.argc = (uint32_t)nargs + 1;
    cfg.argv = argv;
    cfg.envc = (uint32_t)nenv;
    cfg.envp = envp;
    cfg.npreopens = (uint32_t)o->dirs.n;
    cfg.preopens = pre;
    cfg.nsockets = (uint32_t)out->nsockets;
    cfg.sockets = out->sockets;
    /* test knob (docs/wasi.md): exercise the portable path walk instead of openat2 */
    if (getenv("WAFT_WASI_NO_OPENAT2") != NULL)
        cfg.flags |= WAFT_WASI_NO_OPENAT2;
    if (o->keep_dirs)
        cfg.flags |= WAFT_WASI_TRUST_IMAGE_DIRS;
    memset(&err, 0, sizeof err);
    r = waft_wasi_new(store, &cfg, &out->wasi, &err);
    if (r != WAFT_OK) {
        cli_report_error("--dir", r, &err);
        goto done;
    }
    status = -1;
done:
    if (copies != NULL)
        for (int i = 0; i < o->dirs.n; i++)
            free(copies[i]);
    free(copies);
    for (int i = 0; i < ninherited; i++)
        free(inherited[i]);
    free(inherited);
    free(pre);
    free(envp);
    free(argv);
    if (status >= 0)
        cli_wasi_free(out);
    return status;
}

void cli_wasi_free(cli_wasi *w)
{
    if (w->wasi != NULL)
        waft_wasi_free(w->wasi);
    for (int i = 0; i < w->nsockets; i++)
        close(w->sockets[i]);
    free(w->sockets);
    memset(w, 0, sizeof *w);
}

void cli_wasi_options_free(cli_wasi_options *o)
{
    cli_strlist_free(&o->dirs);
    cli_strlist_free(&o->envs);
    cli_strlist_free(&o->listens);
    memset(o, 0, sizeof *o);
}

/* ==== Linking ==== */

static waft_result resolve(void *ctx, waft_store *store, const waft_module *module, uint32_t i,
                           const waft_import_desc *desc, waft_extern *out, waft_error *out_err)
{
    (void)store;
    (void)desc;
    return waft_wasi_import(ctx, module, i, out, out_err);
}

cli_host cli_wasi_host(waft_wasi *wasi)
{
    cli_host h;
    h.name = WAFT_WASI_MODULE_NAME;
    h.resolve = resolve;
    h.ctx = wasi;
    return h;
}
