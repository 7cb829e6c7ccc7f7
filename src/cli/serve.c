/* SPDX-License-Identifier: MIT */
/* serve.c - `waft serve`: the destination of live migrations (protocol: proto.h).
 *
 * The server process only listens. Each connection is handled by a child process of its
 * own, which authenticates the peer, takes the module (from the server's module cache, or
 * from the peer), prepares the instance, writes memory pages into it as they come, restores
 * the state, and after the commit runs the program like `waft restore` would: the guest's
 * standard output and error are the server's (or files under --log-dir), and its exit
 * status is logged (and, with --once, becomes the server's own). A child that fails before
 * the commit discards everything it received and exits; the server goes on listening.
 *
 * Slots: a child counts as a handshake until it reports (on its pipe) that the peer passed
 * the handshake, then as a program until it ends. Handshakes have MAX_HANDSHAKES slots of
 * their own, and a new connection drops the oldest handshake when they are full, so idle
 * peers cannot keep a real one out; programs have --max-programs slots, and a connection
 * beyond them is refused with an ABORT frame saying why.
 *
 * Invariants: nothing of a peer is used before its frame's CRC and the key proof (when the
 * server has a key) are checked; a child never runs a guest it has not been committed.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <waft/waft_migrate.h>
#include <waft/waft_snapshot.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROGRAMS   64  /* default --max-programs: authenticated transfers and programs */
#define MAX_HANDSHAKES 16  /* connections still in their handshake, apart from the above */
#define MAX_REFUSALS   16  /* refused connections held until the peer has read the reason */
#define REFUSAL_HOLD   2.0 /* seconds a refused connection is held at most */

/* What a child tells the server on its pipe. */
#define CHILD_AUTHENTICATED 'h' /* past the handshake: it now takes a program's slot */
#define CHILD_COMMITTED     1   /* the program is ours */

/* The options, parsed by the table of options.c. */
typedef cli_serve_options serve_options;

static volatile sig_atomic_t stop_serving;

static void on_stop(int sig)
{
    (void)sig;
    stop_serving = 1;
}

static int parse(int argc, char **argv, serve_options *o)
{
    const char *none = NULL;
    int npos = 0, next;
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:7600";
    o->timeout = 30;
    o->max_programs = MAX_PROGRAMS;
    return cli_parse(cli_verb_find("serve"), argc, argv, o, &none, &npos, &next);
}

/* ==== One connection (in its child process) ==== */

typedef struct serve_conn {
    const serve_options *o;
    char peer[128];
    char why[600];
    /* the instance being received (waft_migrate.h does the protocol) */
    waft_migration_in *in;
    waft_engine *engine;
    waft_module *module;
    waft_store *store;
    waft_instance *inst;
    waft_extern *imports;
    cli_wasi wasi;
    int log_made; /* DIR/instance-PID.stdout and .stderr exist (--log-dir) */
} serve_conn;

/* Refuses with a reason of the server's own (the peer gets it). */
static int refuse(serve_conn *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    waft_migration_in_refuse(s->in, s->why);
    return -1;
}

/* A step of the protocol failed: the library told the peer already. */
static int failed(serve_conn *s)
{
    snprintf(s->why, sizeof s->why, "%s", waft_migration_in_message(s->in));
    return -1;
}

/* Links the module to this server's WASI and instantiates it without running anything. */
static int prepare(serve_conn *s)
{
    waft_error err;
    memset(&err, 0, sizeof err);
    waft_result r = waft_store_new(s->engine, &s->store);
    if (r != WAFT_OK)
        return refuse(s, "cannot create a store");
    /* the program's arguments and environment come back with its state */
    int ws = cli_wasi_new(s->store, &s->o->wasi, "migrated", 0, NULL, &s->wasi);
    if (ws >= 0)
        return refuse(s, "the server's WASI setup failed (see its log)");
    cli_host host = cli_wasi_host(s->wasi.wasi);
    uint32_t missing = 0;
    r = cli_link(s->store, s->module, &host, 1, &s->imports, &missing, &err);
    if (r == WAFT_ERR_NOT_FOUND)
        return refuse(s, "import %u of the module cannot be satisfied here", missing);
    if (r != WAFT_OK)
        return refuse(s, "linking: %s", err.message);
    r = waft_instance_prepare(s->store, s->module, s->imports, waft_module_import_count(s->module),
                              &s->inst, &err);
    if (r != WAFT_OK)
        return refuse(s, "instantiating: %s", err.message[0] ? err.message : waft_result_str(r));
    if (waft_migration_in_accept(s->in, s->store, s->inst) != WAFT_OK)
        return failed(s);
    return 0;
}

static void log_path(char *out, size_t cap, const char *dir, const char *stream)
{
    snprintf(out, cap, "%s/instance-%ld.%s", dir, (long)getpid(), stream);
}

/* --log-dir: the standard output and error of this process (and so of the guest, whose
 * streams are duplicated from them) become DIR/instance-PID.stdout and .stderr. */
static int redirect_output(serve_conn *s, const char *dir)
{
    static const char *const names[2] = { "stdout", "stderr" };
    for (int k = 0; k < 2; k++) {
        char path[PATH_MAX];
        log_path(path, sizeof path, dir, names[k]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return refuse(s, "cannot create the log file %s: %s", path, strerror(errno));
        s->log_made = 1;
        fflush(k == 0 ? stdout : stderr);
        int ok = dup2(fd, k + 1) == k + 1;
        close(fd);
        if (!ok)
            return refuse(s, "cannot redirect to %s: %s", path, strerror(errno));
    }
    return 0;
}

static void remove_logs(const char *dir)
{
    char path[PATH_MAX];
    log_path(path, sizeof path, dir, "stdout");
    unlink(path);
    log_path(path, sizeof path, dir, "stderr");
    unlink(path);
}

static void release(serve_conn *s)
{
    waft_migration_in_free(s->in);
    free(s->imports);
    cli_wasi_free(&s->wasi);
    waft_store_free(s->store);
    waft_module_free(s->module);
    waft_engine_free(s->engine);
}

/* Runs a committed instance to its end; returns its exit status. */
static int run_instance(serve_conn *s, int log_fd)
{
    cli_ckpt_options ck;
    memset(&ck, 0, sizeof ck);
    char name[64];
    snprintf(name, sizeof name, "migrated.%ld", (long)getpid());
    int moved;
    int status = cli_resume(&ck, "migrated", name, s->store, s->inst, &moved);
    fflush(stdout);
    fflush(stderr);
    dprintf(log_fd, "waft: serve: instance %ld from %s %s with status %d\n", (long)getpid(),
            s->peer, moved ? "moved on" : "exited", status);
    return status;
}

/* The server drops this connection, still in its handshake, to make room for a new one:
 * the peer gets the reason (a frame built beforehand: a handler can only write(2)). */
static int evict_fd = -1;
static uint8_t evict_frame[200];
static size_t evict_len;

static void on_evict(int sig)
{
    (void)sig;
    ssize_t w = write(evict_fd, evict_frame, evict_len); /* the server logs the drop */
    (void)w;
    _exit(CLI_EXIT_ERROR);
}

static void on_deadline(int sig)
{
    (void)sig;
    static const char msg[] = "waft: serve: discarded a connection: handshake deadline passed\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(CLI_EXIT_ERROR);
}

static int serve_child(const serve_options *o, const waft_migration_key *key, const char *cache,
                       int fd, const char *peer, int commit_fd)
{
    serve_conn s;
    memset(&s, 0, sizeof s);
    s.o = o;
    snprintf(s.peer, sizeof s.peer, "%s", peer);
    /* until the peer has proved itself: small frames only (the library), and the whole
     * handshake within a deadline (a per-read timeout alone lets a trickling peer hold the
     * handler) */
    signal(SIGALRM, on_deadline);
    alarm((unsigned)(o->timeout * 2) + 1);
    evict_fd = fd;
    evict_len = waft_migration_abort_frame(
        "server busy: too many connections in their handshake; try again", evict_frame,
        sizeof evict_frame);
    signal(SIGUSR1, on_evict);
    int log_fd = dup(2);
    waft_config config;
    memset(&config, 0, sizeof config);
    waft_migration_in_options io;
    memset(&io, 0, sizeof io);
    io.key = key;
    io.timeout = o->timeout;
    io.module_cache = cache;
    int rc = -1;
    if (waft_engine_new(&config, &s.engine) != WAFT_OK) {
        close(fd);
        snprintf(s.why, sizeof s.why, "no engine");
    } else if (waft_migration_in_new(s.engine, fd, &io, &s.in) != WAFT_OK) {
        failed(&s);
    } else {
        rc = waft_migration_in_handshake(s.in) == WAFT_OK ? 0 : failed(&s);
    }
    if (rc == 0) {
        /* authenticated: no longer one of the handshakes the server may drop */
        signal(SIGUSR1, SIG_IGN);
        char h = CHILD_AUTHENTICATED;
        if (write(commit_fd, &h, 1) != 1) {
            /* the server is gone: it no longer counts anything */
        }
        rc = waft_migration_in_module(s.in, &s.module) == WAFT_OK ? 0 : failed(&s);
    }
    if (rc == 0)
        alarm(0);
    if (rc == 0)
        rc = prepare(&s);
    /* the restore duplicates the guest's standard streams from ours: point them at the log
     * files first (the server's own messages go to log_fd) */
    if (rc == 0 && o->log_dir && redirect_output(&s, o->log_dir) != 0)
        rc = -1;
    if (rc == 0)
        rc = waft_migration_in_receive(s.in) == WAFT_OK ? 0 : failed(&s);
    if (rc != 0) {
        dprintf(log_fd, "waft: serve: discarded an instance from %s: %s\n", peer, s.why);
        if (s.log_made)
            remove_logs(o->log_dir); /* no program ran: no output files */
        release(&s);
        return CLI_EXIT_ERROR;
    }
    if (getenv("WAFT_TEST_DIE_AFTER_COMMIT"))
        _exit(9); /* fault injection: committed, but never confirmed */
    /* committed: from here on the program is ours */
    char one = CHILD_COMMITTED;
    if (write(commit_fd, &one, 1) != 1) {
        /* the server is gone; run anyway: the source has stopped */
    }
    close(commit_fd);
    waft_migration_in_confirm(s.in);
    signal(SIGPIPE, SIG_DFL); /* the program sees what it would under `waft run` */
    dprintf(log_fd, "waft: serve: instance %ld from %s started\n", (long)getpid(), peer);
    int status = run_instance(&s, log_fd);
    release(&s);
    close(log_fd);
    return status;
}

/* ==== The server ==== */

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo((const struct sockaddr *)ss, sizeof *ss, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(out, cap, "%.100s:%.16s", host, port);
    else
        snprintf(out, cap, "?");
}

/* Removes the private module cache: its files are ours (hash names), nothing else. */
static void remove_cache(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[PATH_MAX];
            if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* ==== Slots ==== */

/* A child process of the server, from its connection to its end. */
typedef struct serve_slot {
    pid_t pid;
    int pipe_fd;     /* its reports (CHILD_*); -1 once it closed */
    int handshaking; /* not yet authenticated: may be dropped for a newer connection */
    int dropped;     /* told to go (SIGUSR1); counts nowhere any more */
    uint64_t order;  /* accept order: the oldest handshake goes first */
    char peer[128];
} serve_slot;

/* A refused connection: the reason is sent, then the peer's bytes are read until it closes
 * (closing with unread bytes would reset the connection before the peer read the reason). */
typedef struct serve_refusal {
    int fd;
    double deadline;
} serve_refusal;

typedef struct serve_state {
    serve_slot *slots;
    unsigned nslots, cap;
    serve_refusal refusals[MAX_REFUSALS];
    unsigned nrefusals;
    uint64_t accepted;
} serve_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void count_slots(const serve_state *st, unsigned *handshakes, unsigned *programs)
{
    *handshakes = *programs = 0;
    for (unsigned i = 0; i < st->nslots; i++) {
        if (st->slots[i].dropped)
            continue;
        if (st->slots[i].handshaking)
            (*handshakes)++;
        else
            (*programs)++;
    }
}

static void reap(serve_state *st)
{
    int ws;
    pid_t pid;
    while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
        if (WIFSIGNALED(ws))
            fprintf(stderr, "waft: serve: process %ld died of signal %d\n", (long)pid,
                    WTERMSIG(ws));
        for (unsigned i = 0; i < st->nslots; i++) {
            if (st->slots[i].pid != pid)
                continue;
            if (st->slots[i].pipe_fd >= 0)
                close(st->slots[i].pipe_fd);
            st->slots[i] = st->slots[--st->nslots];
            break;
        }
    }
}

/* Reads what a child reports; its pipe closes when it ends. */
static void read_report(serve_slot *sl)
{
    char b[16];
    ssize_t n = read(sl->pipe_fd, b, sizeof b);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        close(sl->pipe_fd);
        sl->pipe_fd = -1;
        return;
    }
    for (ssize_t k = 0; k < n; k++) {
        if (b[k] == CHILD_AUTHENTICATED || b[k] == CHILD_COMMITTED) {
            /* a child ignores the drop once it is past the handshake (before it says so):
             * if the drop crossed this report, it lives on and counts as a program */
            sl->handshaking = 0;
            sl->dropped = 0;
        }
    }
}

/* Sends the reason of a refusal without blocking the server, and holds the connection. */
static void refuse_connection(serve_state *st, int fd, const char *peer, const char *why)
{
    fprintf(stderr, "waft: serve: refused %s: %s\n", peer, why);
    uint8_t frame[300];
    size_t len = waft_migration_abort_frame(why, frame, sizeof frame);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || st->nrefusals == MAX_REFUSALS) {
        close(fd); /* no room to hold it: the peer sees the connection closed */
        return;
    }
    ssize_t w = send(fd, frame, len, MSG_NOSIGNAL);
    (void)w; /* a fresh connection's buffer takes a small frame whole */
    shutdown(fd, SHUT_WR);
    st->refusals[st->nrefusals].fd = fd;
    st->refusals[st->nrefusals].deadline = now_s() + REFUSAL_HOLD;
    st->nrefusals++;
}

/* Drains held refusals; drops those whose peer closed or whose time is up. */
static void drain_refusals(serve_state *st, const struct pollfd *pf)
{
    double t = now_s();
    for (unsigned i = 0; i < st->nrefusals;) {
        serve_refusal *r = &st->refusals[i];
        int done = t > r->deadline;
        if (!done && pf[i].revents) {
            char junk[4096];
            ssize_t n = recv(r->fd, junk, sizeof junk, 0);
            done = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
        }
        if (done) {
            close(r->fd);
            st->refusals[i] = st->refusals[--st->nrefusals];
            continue; /* pf no longer lines up, but only for this round */
        }
        i++;
    }
}

/* Makes room for one more handshake by dropping the oldest one still going. */
static void drop_oldest_handshake(serve_state *st, unsigned handshakes)
{
    serve_slot *oldest = NULL;
    for (unsigned i = 0; i < st->nslots; i++) {
        serve_slot *sl = &st->slots[i];
        if (sl->handshaking && !sl->dropped && (!oldest || sl->order < oldest->order))
            oldest = sl;
    }
    if (!oldest)
        return;
    fprintf(stderr,
            "waft: serve: dropped %s: still in its handshake, and %u handshakes at once is the "
            "most\n",
            oldest->peer, handshakes);
    kill(oldest->pid, SIGUSR1);
    oldest->dropped = 1;
}

int cli_serve_main(int argc, char **argv)
{
    serve_options o;
    int status = parse(argc, argv, &o);
    if (status >= 0) {
        cli_wasi_options_free(&o.wasi);
        return status;
    }
    status = CLI_EXIT_ERROR;
    waft_migration_key key;
    memset(&key, 0, sizeof key);
    char err[512], host[256], port[16];
    waft_migration_split_addr(o.listen, host, sizeof host, port, sizeof port);
    waft_error kerr;
    if (o.key_file && waft_migration_key_load(o.key_file, &key, &kerr) != WAFT_OK) {
        fprintf(stderr, "waft: serve: %s\n", kerr.message);
        goto out;
    }
    if (!key.len && !waft_migration_is_loopback(host)) {
        fprintf(stderr,
                "waft: serve: refusing to listen on %s without --key-file: whoever can connect "
                "could run code here\n",
                o.listen);
        goto out;
    }
    if (o.log_dir) {
        struct stat st;
        if (stat(o.log_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "waft: serve: --log-dir %s: not a directory\n", o.log_dir);
            goto out;
        }
    }
    char cache[PATH_MAX];
    int own_cache = 0;
    if (o.cache_dir) {
        snprintf(cache, sizeof cache, "%s", o.cache_dir);
        mkdir(cache, 0700);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(cache, sizeof cache, "%s/waft-serve-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(cache)) {
            fprintf(stderr, "waft: serve: cannot create a module cache: %s\n", strerror(errno));
            goto out;
        }
        own_cache = 1;
    }
    int lfd = waft_migration_listen(o.listen, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "waft: serve: %s\n", err);
        goto out_cache;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(lfd, (struct sockaddr *)&ss, &sl);
    char where[160];
    peer_name(&ss, where, sizeof where);
    fprintf(stderr, "waft: serve: listening on %s%s\n", where,
            key.len ? " (key required)" : " (loopback, no key)");
    fflush(stderr);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    serve_state st;
    memset(&st, 0, sizeof st);
    /* dropped handshakes keep a slot until they are reaped: room for as many again */
    st.cap = o.max_programs + 2 * MAX_HANDSHAKES;
    st.slots = calloc(st.cap, sizeof *st.slots);
    struct pollfd *pfs = calloc(1 + MAX_REFUSALS + st.cap, sizeof *pfs);
    if (!st.slots || !pfs) {
        fprintf(stderr, "waft: serve: out of memory\n");
        status = CLI_EXIT_ERROR;
        stop_serving = 1;
    } else {
        status = CLI_EXIT_OK;
    }
    while (!stop_serving) {
        reap(&st);
        nfds_t np = 0;
        pfs[np++] = (struct pollfd){ lfd, POLLIN, 0 };
        for (unsigned i = 0; i < st.nrefusals; i++)
            pfs[np++] = (struct pollfd){ st.refusals[i].fd, POLLIN, 0 };
        for (unsigned i = 0; i < st.nslots; i++)
            if (st.slots[i].pipe_fd >= 0)
                pfs[np++] = (struct pollfd){ st.slots[i].pipe_fd, POLLIN, 0 };
        if (poll(pfs, np, 200) < 0)
            continue;
        nfds_t k = 1 + st.nrefusals;
        for (unsigned i = 0; i < st.nslots; i++)
            if (st.slots[i].pipe_fd >= 0 && pfs[k++].revents)
                read_report(&st.slots[i]);
        drain_refusals(&st, pfs + 1);
        if (!(pfs[0].revents & POLLIN))
            continue;
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        char pname[128];
        peer_name(&peer, pname, sizeof pname);
        unsigned handshakes, programs;
        reap(&st); /* a program that just ended frees its slot */
        count_slots(&st, &handshakes, &programs);
        if (programs >= o.max_programs) {
            char why[160];
            snprintf(why, sizeof why,
                     "server busy: all %u program slots taken (--max-programs); try again later",
                     programs);
            refuse_connection(&st, fd, pname, why);
            continue;
        }
        if (handshakes >= MAX_HANDSHAKES)
            drop_oldest_handshake(&st, handshakes);
        if (st.nslots == st.cap) {
            refuse_connection(&st, fd, pname, "server busy: too many connections; try again later");
            continue;
        }
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) != 0) {
            close(fd);
            continue;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            close(pipefd[0]);
            /* the server's other descriptors are not this child's to keep open */
            for (unsigned i = 0; i < st.nrefusals; i++)
                close(st.refusals[i].fd);
            for (unsigned i = 0; i < st.nslots; i++)
                if (st.slots[i].pipe_fd >= 0)
                    close(st.slots[i].pipe_fd);
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            int child_status = serve_child(&o, &key, cache, fd, pname, pipefd[1]);
            fflush(stdout);
            fflush(stderr);
            _exit(child_status);
        }
        close(fd);
        close(pipefd[1]);
        if (pid < 0) {
            close(pipefd[0]);
            fprintf(stderr, "waft: serve: cannot fork: %s\n", strerror(errno));
            continue;
        }
        if (!o.once) {
            serve_slot *slot = &st.slots[st.nslots++];
            memset(slot, 0, sizeof *slot);
            slot->pid = pid;
            slot->pipe_fd = pipefd[0];
            slot->handshaking = 1;
            slot->order = st.accepted++;
            snprintf(slot->peer, sizeof slot->peer, "%s", pname);
            continue;
        }
        /* --once: this connection decides; wait for its child */
        char one = 0;
        ssize_t got;
        while (((got = read(pipefd[0], &one, 1)) < 0 && errno == EINTR) ||
               (got == 1 && one != CHILD_COMMITTED))
            ;
        close(pipefd[0]);
        int ws = 0;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        if (got == 1) {
            status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            break;
        }
    }
    for (unsigned i = 0; i < st.nrefusals; i++)
        close(st.refusals[i].fd);
    for (unsigned i = 0; i < st.nslots; i++)
        if (st.slots[i].pipe_fd >= 0)
            close(st.slots[i].pipe_fd);
    free(st.slots);
    free(pfs);
    close(lfd); /* programs still running in children go on (unless the signal that stopped
                 * the server reached their process group too, as Ctrl-C does) */
out_cache:
    if (own_cache)
        remove_cache(cache);
out:
    cli_wasi_options_free(&o.wasi);
    return status;
}
