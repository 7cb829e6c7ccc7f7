/* SPDX-License-Identifier: MIT */
/* checkpoint.c - checkpoint triggers of `waft run`/`waft restore`, and `waft checkpoint`.
 *
 * Triggers, all ending in a suspension of the running guest at a safe point:
 *   --checkpoint-at-step N   fuel: exactly N instructions after the start (or restore)
 *   --checkpoint-signal SIG  the signal handler calls waft_store_interrupt
 *   --checkpoint-every S     a timer thread calls waft_store_interrupt
 *   waft checkpoint PID      a request on the run's control socket (below)
 * cli_ckpt_drive then writes the image (atomically, waft_image_save) and stops the run or,
 * with --leave-running, resumes it. An image that cannot be written (no such directory, a
 * full disk, no descriptor left) is reported and the run resumes: the program is intact.
 *
 * With --leave-running the image is written in the background: a child process (fork)
 * holds the program as it was at the stop (the kernel copies a page only when the run
 * writes it afterwards), writes and syncs the image and reports on a pipe, while the run
 * goes on as soon as fork returns. A thread (bg_reaper) waits for the report and answers the
 * request. One image at a time: a new checkpoint, and the end of the run, first wait for the
 * one being written. If fork or the pipe fails (no memory, no descriptor), or a migration's
 * sender thread is running, the image is written in place, the run paused meanwhile.
 * Nothing is saved inside the start function (cli_ckpt_instantiate); SIGTERM, SIGINT and
 * SIGHUP remove the control socket before ending the run.
 *
 * Control socket: every run listens on a Unix socket DIR/PID.sock, DIR being
 * $XDG_RUNTIME_DIR/waft or /tmp/waft-UID, created 0700 and checked to be ours; the peer
 * must have our uid (SO_PEERCRED). Request: one line "checkpoint LEAVE PATH\n" (LEAVE 0/1,
 * PATH absolute). Reply, once the image is durable: "ok PATH\n" or "error MESSAGE\n".
 *
 * Process state lives in one static struct `ck`: a signal handler and threads can only
 * reach the run through such a global (this is the CLI, not the library).
 */
#define _GNU_SOURCE /* SO_PEERCRED, struct ucred */
#include "cli.h"

#include <waft/waft_snapshot.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct {
    waft_store *store;
    const cli_ckpt_options *o;
    uint64_t steps_base; /* steps when this process started running the guest */
    int at_step_done;
    atomic_int signal_req;
    atomic_int timer_req;
    int old_signal;
    struct sigaction old_action;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping; /* threads must end */
    pthread_t timer;
    int timer_running;
    pthread_t server;
    int server_running;
    int listen_fd;
    char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    /* a request from `waft checkpoint` */
    int req_pending;
    int req_migrate; /* the request is a migration (`waft migrate PID`) */
    cli_mig_options req_mig;
    char req_to[256];
    char req_key[PATH_MAX];
    int mig_from_socket; /* the running migration answers the pending request */
    int mig_at_step_done;
    int req_leave;
    char req_path[PATH_MAX];
    int req_done;
    char req_reply[PATH_MAX + 600];
    int finished; /* the guest has finished: requests get an error */
    int in_start; /* the start function runs: requests get an error, triggers wait */
    char default_image[PATH_MAX];
    /* descriptors kept open on /dev/null so that a guest holding every other one (EMFILE)
     * cannot stop a checkpoint: one is given up to write the image, one to accept a request */
    int spare_image_fd;
    int spare_accept_fd;
    /* SIGTERM, SIGINT and SIGHUP remove the control socket, then end the run as before */
    struct sigaction old_stop_action[3];
    int stop_installed[3];
    /* the image being written in the background */
    struct {
        int active; /* a child and its reaper thread, to be joined */
        pid_t pid;  /* the child writing it */
        int fd;     /* its report */
        pthread_t reaper;
        int from_socket; /* the pending request waits for it */
        uint64_t pause_ns;
        char path[PATH_MAX];
    } bg;
} ck = { .mu = PTHREAD_MUTEX_INITIALIZER,
         .cv = PTHREAD_COND_INITIALIZER,
         .listen_fd = -1,
         .spare_image_fd = -1,
         .spare_accept_fd = -1 };

static const int stop_signals[3] = { SIGTERM, SIGINT, SIGHUP };

/* ==== Options ==== */

/* The options themselves are lines of options.c's tables. */

static int option_error(const char *what, const char *value)
{
    if (value)
        fprintf(stderr, "waft: %s: '%s' (see --help)\n", what, value);
    else
        fprintf(stderr, "waft: %s (see --help)\n", what);
    return CLI_EXIT_USAGE;
}

int cli_ckpt_validate(const cli_ckpt_options *o, const char *command)
{
    if (o->mig.at_step && !o->mig.to) {
        fprintf(stderr, "waft: %s: --migrate-at-step needs --migrate-to HOST:PORT (see --help)\n",
                command);
        return CLI_EXIT_USAGE;
    }
    if ((o->at_step || o->signal || o->every > 0) && !o->image) {
        fprintf(stderr, "waft: %s: a checkpoint trigger needs --image FILE (see --help)\n",
                command);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* ==== Fuel budget ==== */

static uint64_t executed(void)
{
    return waft_store_steps(ck.store) - ck.steps_base;
}

/* Fuel for the next stretch: up to the checkpoint step or the --fuel limit, whichever comes
 * first; no counting at all (the fast loop) when neither is pending. */
static void set_budget(void)
{
    const cli_ckpt_options *o = ck.o;
    uint64_t done = executed(), budget = UINT64_MAX;
    /* no image can be taken inside the start function: those steps wait for its end */
    if (o->at_step && !ck.at_step_done && !ck.in_start)
        budget = o->at_step > done ? o->at_step - done : 0;
    if (o->mig.at_step && !ck.mig_at_step_done && !ck.in_start) {
        uint64_t left = o->mig.at_step > done ? o->mig.at_step - done : 0;
        if (left < budget)
            budget = left;
    }
    if (o->use_fuel) {
        uint64_t left = o->fuel > done ? o->fuel - done : 0;
        if (left < budget)
            budget = left;
    }
    if (budget == UINT64_MAX && (o->count_steps || (ck.in_start && (o->at_step || o->mig.at_step))))
        budget = UINT64_MAX - 1; /* keep counting */
    waft_store_set_fuel(ck.store, budget);
}

/* ==== Triggers ==== */

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&ck.signal_req, 1);
    waft_store_interrupt(ck.store);
}

static void *timer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ck.mu);
    while (!ck.stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double when = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + ck.o->every;
        ts.tv_sec = (time_t)when;
        ts.tv_nsec = (long)((when - (double)ts.tv_sec) * 1e9);
        int rc = 0;
        while (!ck.stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&ck.cv, &ck.mu, &ts);
        if (ck.stopping)
            break;
        atomic_store(&ck.timer_req, 1);
        waft_store_interrupt(ck.store);
    }
    pthread_mutex_unlock(&ck.mu);
    return NULL;
}

/* The directory of control sockets, created 0700 and checked to be ours. */
static int socket_dir(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && xdg[0] == '/')
        snprintf(out, cap, "%s/waft", xdg);
    else
        snprintf(out, cap, "/tmp/waft-%u", (unsigned)getuid());
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 077) != 0)
        return -1; /* someone else's, or open to others: do not use it */
    return 0;
}

static void reply(int fd, const char *text)
{
    size_t n = strlen(text);
    while (n) {
        ssize_t w = write(fd, text, n);
        if (w <= 0)
            return;
        text += w;
        n -= (size_t)w;
    }
}

static void serve_one(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != getuid()) {
        reply(fd, "error permission denied\n");
        return;
    }
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char line[PATH_MAX + 64];
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = read(fd, line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = 0;
    int leave = 0, migrate = 0;
    char path[PATH_MAX];
    cli_mig_options mo;
    char to[256], strategy[32], order[32], key[PATH_MAX];
    memset(&mo, 0, sizeof mo);
    if (strncmp(line, "migrate ", 8) == 0) {
        unsigned rounds;
        if (sscanf(line, "migrate %255s %31s %lf %u %31s %lf %4095s", to, strategy,
                   &mo.max_downtime_ms, &rounds, order, &mo.timeout, key) != 7) {
            reply(fd, "error bad request\n");
            return;
        }
        mo.max_rounds = rounds;
        mo.stop_and_copy = !strcmp(strategy, "stop-and-copy");
        mo.address_order = !strcmp(order, "address");
        migrate = 1;
    } else if (sscanf(line, "checkpoint %d %4095s", &leave, path) != 2 ||
               (leave != 0 && leave != 1)) {
        reply(fd, "error bad request\n");
        return;
    }
    pthread_mutex_lock(&ck.mu);
    if (ck.finished || ck.req_pending || ck.in_start) {
        const char *why = ck.finished      ? "error the program has finished\n"
                          : ck.req_pending ? "error another request is in progress\n"
                                           : "error the program is still in its start function "
                                             "(no image can be taken there); try again once it "
                                             "has returned\n";
        pthread_mutex_unlock(&ck.mu);
        reply(fd, why);
        return;
    }
    ck.req_pending = 1;
    ck.req_migrate = migrate;
    if (migrate) {
        ck.req_mig = mo;
        snprintf(ck.req_to, sizeof ck.req_to, "%s", to);
        snprintf(ck.req_key, sizeof ck.req_key, "%s", key);
        ck.req_mig.to = ck.req_to;
        ck.req_mig.key_file = strcmp(key, "-") ? ck.req_key : NULL;
    } else {
        ck.req_leave = leave;
        snprintf(ck.req_path, sizeof ck.req_path, "%s",
                 strcmp(path, "-") ? path : ck.default_image);
    }
    ck.req_done = 0;
    waft_store_interrupt(ck.store);
    while (!ck.req_done && !ck.stopping)
        pthread_cond_wait(&ck.cv, &ck.mu);
    char out[sizeof ck.req_reply];
    snprintf(out, sizeof out, "%s", ck.req_done ? ck.req_reply : "error waft is exiting\n");
    ck.req_pending = 0;
    pthread_mutex_unlock(&ck.mu);
    reply(fd, out);
}

static int open_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(ck.listen_fd, NULL, NULL);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            /* the guest holds every other descriptor: give up the spare for this request */
            if (ck.spare_accept_fd >= 0) {
                close(ck.spare_accept_fd);
                ck.spare_accept_fd = -1;
                continue;
            }
            struct timespec pause = { 0, 100 * 1000 * 1000 }; /* not a busy loop */
            nanosleep(&pause, NULL);
            continue;
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* closed by cli_ckpt_end */
        }
        serve_one(fd);
        close(fd);
        if (ck.spare_accept_fd < 0)
            ck.spare_accept_fd = open_spare();
    }
}

static void start_server(void)
{
    char dir[PATH_MAX];
    if (socket_dir(dir, sizeof dir) != 0)
        return; /* no control socket; the other triggers still work */
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if ((size_t)snprintf(a.sun_path, sizeof a.sun_path, "%s/%ld.sock", dir, (long)getpid()) >=
        sizeof a.sun_path)
        return;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    unlink(a.sun_path); /* a stale socket of a dead process with our pid */
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return;
    }
    ck.listen_fd = fd;
    snprintf(ck.sock_path, sizeof ck.sock_path, "%s", a.sun_path);
    if (pthread_create(&ck.server, NULL, server_main, NULL) == 0)
        ck.server_running = 1;
}

/* A signal that ends the run: the control socket goes (unlink is async-signal-safe), then
 * the signal takes its default action again, so the run ends as it would have (status
 * 128 + SIG). */
static void on_stop_signal(int sig)
{
    if (ck.sock_path[0])
        unlink(ck.sock_path);
    for (int k = 0; k < 3; k++)
        if (stop_signals[k] == sig)
            sigaction(sig, &ck.old_stop_action[k], NULL);
    raise(sig); /* blocked until this handler returns */
}

/* Only signals whose action is the default (ending the process) get the handler: one
 * ignored (a background job's SIGINT) stays ignored, the checkpoint signal stays ours. */
static void install_stop_signals(int checkpoint_signal)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (int k = 0; k < 3; k++) {
        struct sigaction old;
        if (stop_signals[k] == checkpoint_signal || sigaction(stop_signals[k], NULL, &old) != 0 ||
            old.sa_handler != SIG_DFL)
            continue;
        ck.old_stop_action[k] = old;
        if (sigaction(stop_signals[k], &sa, NULL) == 0)
            ck.stop_installed[k] = 1;
    }
}

static void remove_stop_signals(void)
{
    for (int k = 0; k < 3; k++) {
        if (ck.stop_installed[k])
            sigaction(stop_signals[k], &ck.old_stop_action[k], NULL);
        ck.stop_installed[k] = 0;
    }
}

int cli_ckpt_begin(const cli_ckpt_options *o, waft_store *store, const char *module_path)
{
    ck.store = store;
    ck.o = o;
    ck.steps_base = waft_store_steps(store);
    ck.at_step_done = 0;
    ck.mig_at_step_done = 0;
    ck.mig_from_socket = 0;
    ck.stopping = 0;
    ck.finished = 0;
    ck.in_start = 0;
    atomic_store(&ck.signal_req, 0);
    atomic_store(&ck.timer_req, 0);
    if (o->image) {
        snprintf(ck.default_image, sizeof ck.default_image, "%s", o->image);
    } else {
        const char *base = strrchr(module_path, '/');
        snprintf(ck.default_image, sizeof ck.default_image, "%s.%ld.img",
                 base ? base + 1 : module_path, (long)getpid());
    }
    set_budget();
    if (o->signal) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(o->signal, &sa, &ck.old_action) != 0) {
            fprintf(stderr, "waft: --checkpoint-signal: cannot catch signal %d: %s\n", o->signal,
                    strerror(errno));
            return CLI_EXIT_ERROR;
        }
        ck.old_signal = o->signal;
    }
    char why[300];
    if (o->compress && !waft_image_can_compress(why, sizeof why))
        fprintf(stderr, "waft: --compress: %s; images are written uncompressed\n", why);
    if (ck.spare_image_fd < 0)
        ck.spare_image_fd = open_spare();
    if (ck.spare_accept_fd < 0)
        ck.spare_accept_fd = open_spare();
    if (o->every > 0) {
        int e = pthread_create(&ck.timer, NULL, timer_main, NULL);
        if (e != 0) {
            fprintf(stderr, "waft: --checkpoint-every: cannot start its timer: %s\n", strerror(e));
            return CLI_EXIT_ERROR;
        }
        ck.timer_running = 1;
    }
    start_server();
    install_stop_signals(o->signal);
    return -1;
}

static void finish_request(const char *text);
static void bg_wait(void);

void cli_ckpt_end(void)
{
    bg_wait(); /* the image being written is answered before the control socket goes */
    if (cli_mig_active()) {
        /* the run stopped otherwise (fuel, a checkpoint, an error): the sender must stop
         * before the store goes */
        cli_mig_cancel("the run stopped first");
        if (ck.mig_from_socket)
            finish_request("error the run stopped before the migration ended\n");
        ck.mig_from_socket = 0;
    }
    if (ck.o && ck.o->count_steps && ck.store)
        fprintf(stderr, "waft: %" PRIu64 " instructions\n", executed());
    remove_stop_signals();
    pthread_mutex_lock(&ck.mu);
    ck.stopping = 1;
    ck.finished = 1;
    pthread_cond_broadcast(&ck.cv);
    pthread_mutex_unlock(&ck.mu);
    if (ck.timer_running)
        pthread_join(ck.timer, NULL);
    ck.timer_running = 0;
    if (ck.listen_fd >= 0) {
        shutdown(ck.listen_fd, SHUT_RDWR);
        if (ck.server_running)
            pthread_join(ck.server, NULL);
        close(ck.listen_fd);
        unlink(ck.sock_path);
        ck.sock_path[0] = 0;
        ck.listen_fd = -1;
        ck.server_running = 0;
    }
    if (ck.spare_image_fd >= 0)
        close(ck.spare_image_fd);
    if (ck.spare_accept_fd >= 0)
        close(ck.spare_accept_fd);
    ck.spare_image_fd = ck.spare_accept_fd = -1;
    if (ck.old_signal) {
        sigaction(ck.old_signal, &ck.old_action, NULL);
        ck.old_signal = 0;
    }
}

/* ==== The run ==== */

static void finish_request(const char *text)
{
    pthread_mutex_lock(&ck.mu);
    snprintf(ck.req_reply, sizeof ck.req_reply, "%s", text);
    ck.req_done = 1;
    pthread_cond_broadcast(&ck.cv);
    pthread_mutex_unlock(&ck.mu);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cli_ckpt_cost_line(char *out, size_t cap, const cli_ckpt_cost *c)
{
    snprintf(out, cap,
             "%.1f MiB; program paused %.1f ms; capture %.1f ms, write %.1f ms, sync %.1f ms%s",
             (double)c->bytes / 1048576.0, (double)c->pause_ns * 1e-6, (double)c->capture_ns * 1e-6,
             (double)c->write_ns * 1e-6, (double)c->sync_ns * 1e-6,
             c->background ? " (written while the program ran)" : "");
}

/* The reply to a request once its image is durable: "ok PATH" and what it cost. */
static void finish_saved(const char *path, const cli_ckpt_cost *c)
{
    char msg[PATH_MAX + 200];
    snprintf(msg, sizeof msg,
             "ok %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d\n", path,
             c->bytes, c->pause_ns, c->capture_ns, c->write_ns, c->sync_ns, c->background);
    finish_request(msg);
}

static void report_saved(const char *path, const cli_ckpt_cost *c)
{
    if (!ck.o->verbose)
        return;
    char line[300];
    cli_ckpt_cost_line(line, sizeof line, c);
    fprintf(stderr, "waft: checkpoint to %s: %s\n", path, line);
}

static void report_failed(const char *path, const char *reason, int from_socket)
{
    char msg[600];
    snprintf(msg, sizeof msg, "error cannot write the image: %s\n", reason);
    if (from_socket)
        finish_request(msg);
    fprintf(stderr, "waft: checkpoint to %s failed: %s; the program goes on\n", path, reason);
}

/* Waits for the child's report and its end, then answers. The report is one line:
 * "ok BYTES CAPTURE_NS WRITE_NS SYNC_NS" or "error MESSAGE". */
static void *bg_reaper(void *arg)
{
    (void)arg;
    char rep[400];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(ck.bg.fd, rep + n, sizeof rep - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == sizeof rep - 1)
            break;
    }
    rep[n] = 0;
    close(ck.bg.fd);
    ck.bg.fd = -1;
    int ws = 0;
    while (waitpid(ck.bg.pid, &ws, 0) < 0 && errno == EINTR)
        ;
    char *nl = strchr(rep, '\n');
    if (nl)
        *nl = 0;
    cli_ckpt_cost c = { .pause_ns = ck.bg.pause_ns, .background = 1 };
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0 &&
        sscanf(rep, "ok %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &c.bytes, &c.capture_ns,
               &c.write_ns, &c.sync_ns) == 4) {
        report_saved(ck.bg.path, &c);
        if (ck.bg.from_socket)
            finish_saved(ck.bg.path, &c);
        return NULL;
    }
    char why[520];
    if (strncmp(rep, "error ", 6) == 0)
        snprintf(why, sizeof why, "%s", rep + 6);
    else if (WIFSIGNALED(ws))
        snprintf(why, sizeof why, "the process writing it (%ld) was killed by signal %d",
                 (long)ck.bg.pid, WTERMSIG(ws));
    else
        snprintf(why, sizeof why, "the process writing it (%ld) ended with status %d%s%s",
                 (long)ck.bg.pid, WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, rep[0] ? ": " : "", rep);
    report_failed(ck.bg.path, why, ck.bg.from_socket);
    return NULL;
}

/* Waits until the image being written in the background (if any) is done and answered. */
static void bg_wait(void)
{
    if (!ck.bg.active)
        return;
    pthread_join(ck.bg.reaper, NULL);
    ck.bg.active = 0;
}

/* In the child: write the image, report, end. Only this thread exists here; the state it
 * reads is the parent's at the fork. The parent's signal handlers are not for it: the
 * control socket is the parent's to remove. It dies with the parent (an image half written
 * stays PATH.tmp; PATH is only ever replaced whole). */
static void bg_child(waft_store *store, const waft_instance *instance, const char *path,
                     waft_image_options *io, int report_fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    for (int k = 0; k < 3; k++)
        signal(stop_signals[k], SIG_DFL);
    if (ck.old_signal)
        signal(ck.old_signal, SIG_IGN);
    if (ck.spare_image_fd >= 0)
        close(ck.spare_image_fd);
    if (ck.listen_fd >= 0)
        close(ck.listen_fd);
    waft_image_stats st;
    waft_error err;
    memset(&err, 0, sizeof err);
    io->stats = &st;
    waft_result w = waft_image_save(store, instance, path, io, &err);
    char line[390];
    if (w == WAFT_OK)
        snprintf(line, sizeof line, "ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                 st.bytes, st.capture_ns, st.write_ns, st.sync_ns);
    else
        snprintf(line, sizeof line, "error %s\n",
                 err.message[0] ? err.message : waft_result_str(w));
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t r = write(report_fd, line + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    _exit(w == WAFT_OK ? 0 : 1);
}

/* Starts writing the image in a child; 0 when it runs (the reaper answers), -1 when it could
 * not start (the caller writes it in place). */
static int bg_start(waft_store *store, const waft_instance *instance, const char *path,
                    waft_image_options *io, int from_socket, uint64_t t0)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    snprintf(ck.bg.path, sizeof ck.bg.path, "%s", path);
    ck.bg.from_socket = from_socket;
    pid_t parent = getpid();
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        bg_child(store, instance, path, io, p[1], parent);
    }
    close(p[1]);
    ck.bg.pid = pid;
    ck.bg.fd = p[0];
    ck.bg.pause_ns = mono_ns() - t0;
    if (pthread_create(&ck.bg.reaper, NULL, bg_reaper, NULL) != 0) {
        bg_reaper(NULL); /* no thread: wait here */
        return 0;
    }
    ck.bg.active = 1;
    return 0;
}

waft_result cli_ckpt_drive(const cli_ckpt_options *o, waft_store *store,
                           const waft_instance *instance, waft_result r, waft_val *results,
                           uint32_t nresults, int *out_stopped)
{
    *out_stopped = 0;
    for (;;) {
        if (r != WAFT_SUSPENDED && cli_mig_active()) {
            cli_mig_cancel("the program finished first");
            if (ck.mig_from_socket)
                finish_request("error the program finished before the migration did\n");
            ck.mig_from_socket = 0;
        }
        if (r == WAFT_SUSPENDED && cli_mig_active()) {
            char msg[1400];
            int v = cli_mig_poll(msg, sizeof msg);
            if (v != CLI_MIG_GO_ON) {
                fprintf(stderr, "waft: %s\n", msg);
                if (ck.mig_from_socket) {
                    char line[1500];
                    snprintf(line, sizeof line, "%s %s\n", v == CLI_MIG_DONE ? "ok" : "error", msg);
                    finish_request(line);
                    ck.mig_from_socket = 0;
                }
            }
            if (v == CLI_MIG_DONE || v == CLI_MIG_UNKNOWN) {
                waft_store_abandon(store);
                *out_stopped = v == CLI_MIG_DONE ? 1 : 2;
                pthread_mutex_lock(&ck.mu);
                ck.finished = 1;
                pthread_mutex_unlock(&ck.mu);
                return WAFT_OK;
            }
        }
        if (r != WAFT_SUSPENDED) {
            pthread_mutex_lock(&ck.mu);
            ck.finished = 1;
            pthread_cond_broadcast(&ck.cv);
            pthread_mutex_unlock(&ck.mu);
            return r;
        }
        waft_stop_reason why = waft_store_stop_reason(store);
        int save = 0, leave = o->leave_running, from_socket = 0;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s", ck.default_image);
        const cli_mig_options *start_mig = NULL;
        if (why == WAFT_STOP_FUEL) {
            if (o->mig.at_step && !ck.mig_at_step_done && executed() >= o->mig.at_step) {
                ck.mig_at_step_done = 1;
                start_mig = &o->mig;
            }
            if (o->at_step && !ck.at_step_done && executed() >= o->at_step) {
                ck.at_step_done = 1;
                save = 1;
            } else if (!start_mig && o->use_fuel && executed() >= o->fuel) {
                return WAFT_SUSPENDED; /* out of fuel: the caller reports it */
            }
        } else {
            pthread_mutex_lock(&ck.mu);
            if (ck.req_pending && !ck.req_done && ck.req_migrate && !ck.mig_from_socket) {
                start_mig = &ck.req_mig;
                ck.mig_from_socket = 1;
            } else if (ck.req_pending && !ck.req_done && !ck.req_migrate) {
                save = from_socket = 1;
                leave = ck.req_leave;
                snprintf(path, sizeof path, "%s", ck.req_path);
            }
            pthread_mutex_unlock(&ck.mu);
            if (atomic_exchange(&ck.signal_req, 0) | atomic_exchange(&ck.timer_req, 0))
                save = 1;
        }
        if (start_mig) {
            char msg[600];
            if (cli_mig_start(start_mig, store, instance, ck.default_image, msg, sizeof msg) != 0) {
                fprintf(stderr, "waft: migration to %s failed: %s; the program goes on here\n",
                        start_mig->to, msg);
                if (ck.mig_from_socket && start_mig == &ck.req_mig) {
                    char line[700];
                    snprintf(line, sizeof line, "error %s\n", msg);
                    finish_request(line);
                    ck.mig_from_socket = 0;
                }
            }
        }
        if (save) {
            uint64_t t0 = mono_ns();
            bg_wait(); /* one image at a time */
            waft_image_options io;
            waft_image_stats st;
            waft_error err;
            memset(&err, 0, sizeof err);
            memset(&io, 0, sizeof io);
            io.compress = o->compress;
            /* not while a migration's sender thread runs: a child must not need a lock that
             * thread may have held at the fork */
            if (leave && !cli_mig_active() &&
                bg_start(store, instance, path, &io, from_socket, t0) == 0)
                goto resume; /* the reaper answers */
            io.stats = &st;
            /* the spare makes room for the image's file even when the guest took every
             * other descriptor; the guest is suspended, so it cannot take this one */
            if (ck.spare_image_fd >= 0)
                close(ck.spare_image_fd);
            waft_result w = waft_image_save(store, instance, path, &io, &err);
            ck.spare_image_fd = open_spare();
            if (w != WAFT_OK) {
                /* like a failed migration: the program is still whole, so it goes on */
                report_failed(path, err.message[0] ? err.message : waft_result_str(w), from_socket);
            } else {
                cli_ckpt_cost c = { st.bytes,    mono_ns() - t0, st.capture_ns,
                                    st.write_ns, st.sync_ns,     0 };
                report_saved(path, &c);
                if (from_socket)
                    finish_saved(path, &c);
            }
            if (w == WAFT_OK && !leave) {
                waft_store_abandon(store);
                *out_stopped = 1;
                pthread_mutex_lock(&ck.mu);
                ck.finished = 1;
                pthread_mutex_unlock(&ck.mu);
                return WAFT_OK;
            }
        }
resume:
        if (cli_mig_pausing())
            continue; /* park now (stop-and-copy stops at its trigger) */
        set_budget();
        r = waft_store_resume(store, results, nresults);
    }
}

int cli_drive(const cli_ckpt_options *o, const char *name, waft_store *store,
              const waft_instance *instance, waft_result r, waft_val *results, uint32_t nresults,
              int *out_moved)
{
    int stopped;
    uint32_t shown = 0;
    r = cli_ckpt_drive(o, store, instance, r, results, nresults, &stopped);
    if (out_moved)
        *out_moved = stopped == 1;
    if (stopped)
        return stopped == 1 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    /* the results the call filled: type 0 is no value type */
    while (r == WAFT_OK && shown < nresults && results[shown].type != 0)
        shown++;
    return cli_finish(name, store, r, results, shown);
}

int cli_resume(const cli_ckpt_options *o, const char *name, const char *module_name,
               waft_store *store, const waft_instance *instance, int *out_moved)
{
    /* room for the outermost function's results (none for _start); the resume fills
     * exactly its result count, the rest stay zero */
    uint32_t nresults = 64;
    waft_val *results = calloc(nresults, sizeof *results);
    int status;
    if (out_moved)
        *out_moved = 0;
    if (results == NULL) {
        fputs("waft: out of memory\n", stderr);
        return CLI_EXIT_ERROR;
    }
    status = cli_ckpt_begin(o, store, module_name);
    if (status >= 0) {
        cli_ckpt_end();
        waft_store_abandon(store);
        free(results);
        return status;
    }
    waft_result r = waft_store_resume(store, results, nresults);
    status = cli_drive(o, name, store, instance, r, results, nresults, out_moved);
    cli_ckpt_end();
    free(results);
    return status;
}

/* ==== The start function ==== */

/* An image taken inside the start function would restore to a run that ends when the start
 * function returns, never calling _start: so nothing is saved there. Requests on the
 * control socket are refused at once (the requester learns why); a checkpoint signal or
 * timer tick suspends the start function, which resumes at once, and the request stays
 * pending until the start function has returned; a step trigger that falls inside it is
 * taken at its end. */
waft_result cli_ckpt_instantiate(waft_store *store, const waft_module *module,
                                 const waft_extern *imports, waft_instance **out_instance,
                                 waft_error *out_err)
{
    const cli_ckpt_options *o = ck.o;
    pthread_mutex_lock(&ck.mu);
    ck.in_start = 1;
    pthread_mutex_unlock(&ck.mu);
    set_budget();
    waft_result r = waft_instance_new(store, module, imports, waft_module_import_count(module),
                                      out_instance, out_err);
    while (r == WAFT_SUSPENDED) {
        if (waft_store_stop_reason(store) == WAFT_STOP_FUEL && o->use_fuel && executed() >= o->fuel)
            break; /* out of fuel: the caller reports it like any other */
        set_budget();
        r = waft_store_resume(store, NULL, 0);
    }
    pthread_mutex_lock(&ck.mu);
    ck.in_start = 0;
    pthread_mutex_unlock(&ck.mu);
    if (r != WAFT_OK)
        return r;
    if ((o->at_step && executed() >= o->at_step) ||
        (o->mig.at_step && executed() >= o->mig.at_step))
        fprintf(stderr,
                "waft: step %" PRIu64 " fell inside the start function: it is taken now that "
                "the start function has returned (step %" PRIu64 ")\n",
                o->at_step && executed() >= o->at_step ? o->at_step : o->mig.at_step, executed());
    set_budget();
    if (atomic_load(&ck.signal_req) || atomic_load(&ck.timer_req))
        waft_store_interrupt(store); /* served at _start's first safe point */
    return r;
}

/* ==== Requests to a run's control socket ==== */

int cli_ctl_request(long pid, const char *request, double timeout, char *ans, size_t anslen,
                    size_t *out_n)
{
    char dir[PATH_MAX];
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    *out_n = 0;
    ans[0] = 0;
    if (socket_dir(dir, sizeof dir) != 0 ||
        (size_t)snprintf(a.sun_path, sizeof a.sun_path, "%s/%ld.sock", dir, pid) >=
            sizeof a.sun_path) {
        fprintf(stderr, "waft: no control directory for this user\n");
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "waft: process %ld is not a waft run of this user (%s)\n", pid, a.sun_path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (timeout > 0) {
        struct timeval tv = { (time_t)timeout, (long)((timeout - (double)(time_t)timeout) * 1e6) };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    reply(fd, request);
    size_t n = 0;
    int timed_out = 0;
    while (n < anslen - 1) {
        ssize_t r = read(fd, ans + n, anslen - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            timed_out = 1;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(ans, '\n', n))
            break;
    }
    close(fd);
    ans[n] = 0;
    char *nl = strchr(ans, '\n');
    if (nl)
        *nl = 0;
    *out_n = n;
    return n == 0 && timed_out;
}

/* ==== waft checkpoint PID ==== */

int cli_checkpoint_main(int argc, char **argv)
{
    cli_checkpoint_options o;
    const char *pid_text = NULL;
    int npos = 0, next;
    memset(&o, 0, sizeof o);
    o.timeout = 60;
    int status = cli_parse(cli_verb_find("checkpoint"), argc, argv, &o, &pid_text, &npos, &next);
    if (status >= 0)
        return status;
    if (npos == 0)
        return cli_usage_error("checkpoint", "missing PID");
    char *end;
    errno = 0;
    unsigned long long pid_n = strtoull(pid_text, &end, 10);
    if (pid_text[0] < '0' || pid_text[0] > '9' || errno || *end || pid_n == 0 || pid_n > INT_MAX)
        return option_error("checkpoint: PID must be a process id", pid_text);
    long pid = (long)pid_n;
    const char *image = o.image;
    int leave = o.leave_running;
    double timeout = o.timeout;
    char path[PATH_MAX];
    if (image && image[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) ||
            (size_t)snprintf(path, sizeof path, "%s/%s", cwd, image) >= sizeof path)
            return option_error("checkpoint: image path too long", image);
    } else {
        snprintf(path, sizeof path, "%s", image ? image : "-");
    }
    char req[PATH_MAX + 32];
    snprintf(req, sizeof req, "checkpoint %d %s\n", leave, path);
    char ans[PATH_MAX + 64];
    size_t n = 0;
    int waited = cli_ctl_request(pid, req, timeout, ans, sizeof ans, &n);
    if (waited < 0)
        return CLI_EXIT_ERROR;
    if (strncmp(ans, "ok ", 3) == 0) {
        /* "ok PATH BYTES PAUSE CAPTURE WRITE SYNC BACKGROUND": the six numbers from the end
         * (the run's own --image may hold blanks) */
        char *rest = NULL;
        int blanks = 0;
        for (char *q = ans + strlen(ans); q > ans + 3 && blanks < 6;)
            if (*--q == ' ' && ++blanks == 6)
                rest = q;
        cli_ckpt_cost c;
        memset(&c, 0, sizeof c);
        int have =
            rest && sscanf(rest, " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %d",
                           &c.bytes, &c.pause_ns, &c.capture_ns, &c.write_ns, &c.sync_ns,
                           &c.background) == 6;
        if (rest)
            *rest = 0;
        printf("waft: checkpoint of process %ld written to %s\n", pid, ans + 3);
        if (o.verbose && have) {
            char line[300];
            cli_ckpt_cost_line(line, sizeof line, &c);
            printf("waft: %s\n", line);
        }
        return CLI_EXIT_OK;
    }
    if (n == 0 && waited)
        fprintf(stderr, "waft: checkpoint: no answer from process %ld within %.0f s\n", pid,
                timeout);
    else if (n == 0)
        fprintf(stderr,
                "waft: checkpoint: process %ld closed its control connection without an "
                "answer (it has ended, or is ending)\n",
                pid);
    else
        fprintf(stderr, "waft: checkpoint: process %ld: %s\n", pid,
                strncmp(ans, "error ", 6) == 0 ? ans + 6 : ans);
    return CLI_EXIT_ERROR;
}
