/* SPDX-License-Identifier: MIT */
/* cli.h - contract between the files of the `waft` command (src/cli/).
 *
 * Invariants of this module:
 *  - The CLI uses the public API alone: it includes <waft/waft.h> and never a src/ header.
 *  - Every message goes to stderr as one line that starts with "waft: "; results of a call
 *    go to stdout, one value per line.
 *  - Exit statuses are the CLI_EXIT_* values below, or the guest's own exit code.
 *  - Nothing here keeps state between commands: no mutable globals.
 */
#ifndef WAFT_CLI_H
#define WAFT_CLI_H

#include <waft/waft.h>
#include <waft/waft_wasi.h>

#include <stddef.h>
#include <stdio.h>

/* ==== Exit statuses ==== */

#define CLI_EXIT_OK    0   /* success */
#define CLI_EXIT_ERROR 1   /* I/O error, malformed/invalid module, link error, ... */
#define CLI_EXIT_USAGE 2   /* bad command line */
#define CLI_EXIT_TRAP  134 /* the guest trapped or ran out of fuel (128 + SIGABRT) */

/* ==== Command lines (options.c) ==== */

/* Every option of every command is one cli_option line of a table in options.c (the model
 * is Redis's static_configs[] table): its name, the name of its value (none for a flag),
 * how the value is parsed and checked, where it is stored, and its help. The parser, the
 * messages about bad command lines and the help text are all made from those lines, so an
 * option cannot be parsed without being documented, or documented without being parsed.
 *
 * Every option that takes a value takes it as "--name VALUE" or "--name=VALUE". */

typedef enum cli_opt_type {
    CLI_OPT_FLAG,   /* no value: sets an int to 1 */
    CLI_OPT_TEXT,   /* const char *: a non-empty text (pointing into argv) */
    CLI_OPT_LIST,   /* cli_strlist: each use appends its text (repeatable) */
    CLI_OPT_U32,    /* uint32_t: decimal in [lo, hi] */
    CLI_OPT_U64,    /* uint64_t: decimal in [lo, hi] */
    CLI_OPT_DOUBLE, /* double: a number more than 0 and at most dmax */
    CLI_OPT_CHOICE, /* int: the index of the value in `choices` ("precopy|stop-and-copy") */
    CLI_OPT_SIGNAL  /* int: a signal name (SIGUSR1, USR1) or number */
} cli_opt_type;

/* A list of texts given by a repeatable option, in command-line order; items point into
 * argv, the array is malloc'd (cli_strlist_free). */
typedef struct cli_strlist {
    const char **items;
    int n;
} cli_strlist;

void cli_strlist_free(cli_strlist *l);

typedef struct cli_option {
    const char *name; /* "--image" */
    const char *arg;  /* the value's name in the help ("FILE"); NULL for a flag */
    cli_opt_type type;
    size_t offset;       /* where the value goes, from the start of the group's struct */
    size_t given;        /* 0, or 1 + the offset of an int set to 1 when the option is used */
    uint64_t lo, hi;     /* CLI_OPT_U32, CLI_OPT_U64: the range */
    double dmax;         /* CLI_OPT_DOUBLE: the largest value */
    const char *choices; /* CLI_OPT_CHOICE: the values, '|' between them */
    int (*check)(const char *value); /* TEXT, LIST: 0 if the value is acceptable, else -1 */
    const char *expect; /* what the value must be, for messages ("a number of seconds");
                         * NULL: made from the type */
    const char *help;   /* the help; each '\n' starts a new indented line */
} cli_option;

/* Options stored in one struct (e.g. cli_ckpt_options), under an optional heading, that
 * several commands share. */
typedef struct cli_opt_group {
    const char *title; /* heading line in the help; NULL: the command's own "Options:" */
    const cli_option *options;
    size_t count;
    size_t base;        /* offset of the group's struct in the command's option struct */
    const char *footer; /* lines printed after the group's options, or NULL */
} cli_opt_group;

/* One command: what its help says around the options, its option groups, and what it takes
 * besides options. */
typedef struct cli_verb {
    const char *name;     /* "run" */
    const char *synopsis; /* after "usage: waft NAME " ('\n' for more lines) */
    const char *summary;  /* the one line of `waft --help` */
    const char *intro;    /* paragraphs between the synopsis and the options, or NULL */
    const cli_opt_group *groups;
    size_t ngroups;
    const char *outro;  /* text after the options, or NULL */
    int max_positional; /* how many other arguments; -1: the options end at the first one
                         * (waft run: MODULE, then the program's ARGS) */
} cli_verb;

/* The table of command `name`, or NULL. */
const cli_verb *cli_verb_find(const char *name);
/* Writes the help of `verb`, made from its table. */
void cli_usage(const cli_verb *verb, FILE *out);
/* Writes the help of `waft` itself (every command's summary). */
void cli_main_usage(FILE *out);

/* Parses argv[1..argc) (argv[0] is the command's name) into `out`, the command's option
 * struct (zeroed or holding defaults beforehand). Other arguments go to out_pos (room for
 * verb->max_positional, or 1 when it is -1) and their count to *out_npos; when
 * max_positional is -1, *out_next is the index after the first one (the rest of argv is
 * not looked at). "--" ends the options; "-h"/"--help" prints the help on stdout.
 * Returns -1 to go on, CLI_EXIT_OK after the help, or CLI_EXIT_USAGE after one line on
 * stderr naming the bad argument. Lists in `out` may be filled even then: free them. */
int cli_parse(const cli_verb *verb, int argc, char **argv, void *out, const char **out_pos,
              int *out_npos, int *out_next);

/* One usage message: "waft: VERB: TEXT (see 'waft VERB --help')"; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *text);

/* ==== Commands (main.c, run.c) ==== */

/* `waft run ARGS...`: argv[0] is "run". Returns the process exit status. */
int cli_run_main(int argc, char **argv);
/* Reads a whole file ("-": standard input) into a malloc'd buffer (run.c). Returns 0, or
 * -1 after a one-line message. */
int cli_read_file(const char *path, uint8_t **out_bytes, size_t *out_len);
/* `waft image info|check ...` (image.c); argv[0] is "image". */
int cli_image_main(int argc, char **argv);

/* ==== Values (value.c) ==== */

/* Short text name of a value type ("i32", "funcref", ...); "?" for an unknown one. */
const char *cli_valtype_name(waft_valtype type);

/* Parses the command-line text of an argument of type `type` into *out:
 *   i32, i64   decimal or 0x hex, with optional sign; signed or unsigned range
 *              (so -1, 4294967295 and 0xffffffff are the same i32); '_' may separate digits
 *   f32, f64   what strtof/strtod accept (decimal, hex floats, inf, nan) plus
 *              [-]nan:0xPAYLOAD for a NaN with a given payload
 *   funcref    null
 *   externref  null, or a non-zero decimal/hex host value
 * Returns 0 on success, -1 if the text is not a value of that type. */
int cli_parse_val(waft_valtype type, const char *text, waft_val *out);

/* Prints a result on its own line: i32/i64 as signed decimal, f32 with %.9g, f64 with
 * %.17g, references as "null" or "ref". */
void cli_print_val(FILE *out, const waft_val *val);

/* ==== Messages (report.c) ==== */

/* Writes a name that may hold any byte: printable ASCII as is, the rest as \xHH. */
void cli_put_name(FILE *out, const char *name, size_t len);

/* Reports a failed API call on a file as one line:
 *   waft: FILE: <code text>: <message> (at byte offset N, func[F])
 * `err` may be NULL, and then only the result code's text is given. */
void cli_report_error(const char *file, waft_result r, const waft_error *err);

/* Reports the last trap of `store`: "waft: trap: <reason>" then the backtrace, one line
 * per frame, innermost first. Returns CLI_EXIT_TRAP. */
int cli_report_trap(const waft_store *store);

/* Reports a run suspended because its fuel ran out ("waft: trap: all fuel consumed") with
 * the frames of the suspended execution. Returns CLI_EXIT_TRAP. */
int cli_report_fuel(const waft_store *store);

/* Output and exit status for the outcome `r` of a run's call (run.c): results printed,
 * trap or fuel reported, the program's exit code... */
int cli_finish(const char *path, waft_store *store, waft_result r, const waft_val *results,
               uint32_t nresults);

/* ==== Linking (link.c) ==== */

/* A host module that can satisfy imports (WASI preview1 will be one). The run command asks
 * each host in turn for every import of the guest; the first that answers WAFT_OK wins.
 * `resolve` gets the import's index and description, creates or finds the matching object
 * in `store` and writes its handle to *out. It returns WAFT_ERR_NOT_FOUND when it does not
 * provide that import, or another error (detail in out_err) to stop linking. `ctx` is the
 * host's own state and outlives the store. */
typedef struct cli_host {
    const char *name;
    waft_result (*resolve)(void *ctx, waft_store *store, const waft_module *module, uint32_t i,
                           const waft_import_desc *desc, waft_extern *out, waft_error *out_err);
    void *ctx;
} cli_host;

/* Resolves every import of `module` against `hosts` (`nhosts` entries, may be 0). On
 * WAFT_OK, *out_imports is a malloc'd array of waft_module_import_count() handles (NULL
 * when there are none) that the caller frees. Returns WAFT_ERR_NOT_FOUND with
 * *out_missing set to the index of the first import no host provides, WAFT_ERR_NOMEM, or
 * the error of a host (with out_err filled). */
waft_result cli_link(waft_store *store, const waft_module *module, const cli_host *hosts,
                     size_t nhosts, waft_extern **out_imports, uint32_t *out_missing,
                     waft_error *out_err);

/* ==== WASI (wasi.c) ==== */

/* The WASI options of `waft run`, in command-line order; values point into argv. */
typedef struct cli_wasi_options {
    cli_strlist dirs;    /* --dir HOST[::GUEST] */
    cli_strlist envs;    /* --env NAME=VALUE, or NAME to pass the host's value */
    cli_strlist listens; /* --tcplisten HOST:PORT */
    int keep_dirs;       /* restore: reopen the image's own host directories (--keep-dirs) */
} cli_wasi_options;

void cli_wasi_options_free(cli_wasi_options *o);

/* The WASI side of one run: the state and the listening sockets made for it. */
typedef struct cli_wasi {
    waft_wasi *wasi;
    int *sockets;
    int nsockets;
} cli_wasi;

/* Creates the WASI state of a run in `store`: guest argv is `program` then `args`, the
 * environment, preopens and sockets come from `o`. Returns -1 on success, or an exit
 * status after a one-line message (a --dir that cannot be opened, a port that cannot be
 * listened on). Free with cli_wasi_free (also safe on a zeroed cli_wasi). */
int cli_wasi_new(waft_store *store, const cli_wasi_options *o, const char *program, int nargs,
                 char **args, cli_wasi *out);
void cli_wasi_free(cli_wasi *w);

/* The host module that provides wasi_snapshot_preview1 from `wasi` (borrowed). */
cli_host cli_wasi_host(waft_wasi *wasi);

/* ==== Live migration, source side (migrate.c) ==== */

typedef struct cli_mig_options {
    const char *to;         /* --migrate-to HOST:PORT */
    uint64_t at_step;       /* --migrate-at-step N (0: only on request) */
    int stop_and_copy;      /* --strategy stop-and-copy */
    double max_downtime_ms; /* --max-downtime MS (0: default 5) */
    uint32_t max_rounds;    /* --max-rounds N (0: default 30) */
    int address_order;      /* --page-order address */
    const char *key_file;   /* --key-file FILE */
    double timeout;         /* --migrate-timeout S (0: default 30) */
} cli_mig_options;

/* Outcomes of cli_mig_poll. */
enum {
    CLI_MIG_GO_ON,
    CLI_MIG_DONE,
    CLI_MIG_FAILED,
    CLI_MIG_UNKNOWN
};

/* At a suspension of the guest thread: starts migrating `inst` to o->to (a sender thread
 * does the work while the guest runs on). `fallback_image` is where a full image goes if
 * the outcome becomes unknown. 0, or -1 with a one-line reason in msg. */
int cli_mig_start(const cli_mig_options *o, waft_store *store, const waft_instance *inst,
                  const char *fallback_image, char *msg, size_t msglen);
/* At every suspension while a migration is active: parks the guest when the sender asks,
 * and returns the outcome once there is one (msg: the summary line or the reason, without
 * "waft: "), or CLI_MIG_GO_ON. */
int cli_mig_poll(char *msg, size_t msglen);
/* The run ends while migrating (the guest finished, or stopped for another reason given in
 * `why`): abandons the migration and says so. */
void cli_mig_cancel(const char *why);
int cli_mig_active(void);
/* Whether the sender waits for the guest to park (the caller then polls before resuming). */
int cli_mig_pausing(void);

/* The options of `waft serve` (serve.c). */
typedef struct cli_serve_options {
    const char *listen;    /* --listen HOST:PORT */
    int once;              /* --once */
    const char *log_dir;   /* --log-dir DIR */
    const char *key_file;  /* --key-file FILE */
    const char *cache_dir; /* --module-cache DIR */
    double timeout;        /* --timeout S */
    uint32_t max_programs; /* --max-programs N */
    cli_wasi_options wasi; /* --dir */
} cli_serve_options;

/* `waft migrate PID --to HOST:PORT ...` (options: cli_mig_options) and `waft serve ...`. */
int cli_migrate_main(int argc, char **argv);
int cli_serve_main(int argc, char **argv);

/* ==== Checkpoints (checkpoint.c) ==== */

typedef struct cli_ckpt_options {
    const char *image; /* --image FILE: where checkpoints go */
    uint64_t at_step;  /* --checkpoint-at-step N (0: none) */
    int signal;        /* --checkpoint-signal SIG (0: none) */
    double every;      /* --checkpoint-every SECONDS (0: none) */
    int leave_running; /* --leave-running */
    int compress;      /* --compress */
    int use_fuel;      /* --fuel N */
    uint64_t fuel;
    int count_steps;     /* --count-steps: report the instructions executed at the end */
    int verbose;         /* --verbose: what each checkpoint cost, on stderr */
    cli_mig_options mig; /* --migrate-to and its options */
} cli_ckpt_options;

/* What one checkpoint cost: the program's pause, the image writer's split. */
typedef struct cli_ckpt_cost {
    uint64_t bytes, pause_ns, capture_ns, write_ns, sync_ns;
    int background; /* written by a child process while the program ran */
} cli_ckpt_cost;
/* "1024.0 MiB; program paused 1.2 ms; capture ..., write ..., sync ..." */
void cli_ckpt_cost_line(char *out, size_t cap, const cli_ckpt_cost *c);

/* Checks the options together (e.g. a trigger needs --image). -1 if fine, else a status. */
int cli_ckpt_validate(const cli_ckpt_options *o, const char *command);

/* Runs a call to its end, serving checkpoints and migrations: `r` is the result of the
 * waft_func_call (or waft_store_resume) that started it, after cli_ckpt_begin. Each suspension
 * caused by a checkpoint trigger writes an image of `instance`; then the run stops (returning
 * WAFT_OK with *out_stopped = 1) or, with --leave-running, goes on. An image that cannot be
 * written is reported (stderr, and the requester) and the run goes on. A migration that
 * succeeds stops it the same way; one whose outcome is unknown stops it with
 * *out_stopped = 2 (exit status 1, the message printed). Fuel running out
 * returns WAFT_SUSPENDED (the caller reports it). */
waft_result cli_ckpt_drive(const cli_ckpt_options *o, waft_store *store,
                           const waft_instance *instance, waft_result r, waft_val *results,
                           uint32_t nresults, int *out_stopped);
/* The one resume-and-drive helper of the commands that run a program: drives the call
 * whose first result is `r` with cli_ckpt_drive, then turns the outcome into output and an
 * exit status (cli_finish, `name` in its messages; the results printed are those of
 * results[0..nresults) that the call filled). *out_moved (may be NULL) tells whether a
 * checkpoint or a migration ended the run here with status 0. */
int cli_drive(const cli_ckpt_options *o, const char *name, waft_store *store,
              const waft_instance *instance, waft_result r, waft_val *results, uint32_t nresults,
              int *out_moved);
/* Continues a restored (or received) program to its end: cli_ckpt_begin (`module_name`
 * names the default image), waft_store_resume, cli_drive, cli_ckpt_end. */
int cli_resume(const cli_ckpt_options *o, const char *name, const char *module_name,
               waft_store *store, const waft_instance *instance, int *out_moved);
/* Before the first call: sets the fuel budget and installs the signal handler, the timer
 * and the control socket (for `waft checkpoint PID`). cli_ckpt_end undoes it (also after a
 * failure). Returns -1, or an exit status after a one-line message when a trigger asked for
 * cannot be installed (the program must not run with a trigger that would kill it). */
int cli_ckpt_begin(const cli_ckpt_options *o, waft_store *store, const char *module_path);
void cli_ckpt_end(void);
/* After cli_ckpt_begin: instantiates `module` (imports: one per module import) and runs its
 * start function to its end under the fuel budget. No image is taken inside it: control
 * socket requests are refused with a reason, signal and timer triggers wait for its end,
 * a step trigger that falls inside it is taken at its end. Returns waft_instance_new's
 * results, except that WAFT_SUSPENDED means --fuel ran out in the start function (the
 * suspension is left for cli_finish to report). */
waft_result cli_ckpt_instantiate(waft_store *store, const waft_module *module,
                                 const waft_extern *imports, waft_instance **out_instance,
                                 waft_error *out_err);

/* Sends one request line to the control socket of run `pid` and reads the one-line answer
 * (newline removed) into ans, waiting up to `timeout` seconds (0: as long as the run lives);
 * *out_n = 0 means no answer.
 * Returns 0 (an answer, or the run closed the connection without one), 1 (no answer within
 * `timeout`), or -1 after a message (no such run). */
int cli_ctl_request(long pid, const char *request, double timeout, char *ans, size_t anslen,
                    size_t *out_n);

/* The options of `waft checkpoint PID`. */
typedef struct cli_checkpoint_options {
    const char *image; /* --image FILE */
    int leave_running; /* --leave-running */
    double timeout;    /* --timeout S */
    int verbose;       /* --verbose: print what the checkpoint cost */
} cli_checkpoint_options;

/* --tier, of `waft run` and `waft restore`. */
typedef struct cli_tier_options {
    int tier;    /* 0 interp, 1 aot */
    int verbose; /* --aot-verbose */
} cli_tier_options;

/* Compiles `module` when --tier=aot asked for it; when that cannot be done, says why in one
 * line and leaves the module to the interpreter. */
void cli_tier_apply(waft_module *module, const cli_tier_options *t);

/* The options of `waft compile MODULE...` (compile.c). */
typedef struct cli_compile_options {
    int force;   /* --force: compile even if the cache has it */
    int verbose; /* --aot-verbose */
    int quiet;   /* --quiet: no line per compiled module */
} cli_compile_options;

/* `waft compile MODULE.wasm...`: the AOT tier's cache filled ahead of time. */
int cli_compile_main(int argc, char **argv);

/* The options of `waft restore IMAGE`. */
typedef struct cli_restore_options {
    const char *module;    /* --module MODULE.wasm */
    waft_config config;    /* --max-call-depth, --max-stack-slots */
    cli_wasi_options wasi; /* --dir, --keep-dirs */
    cli_ckpt_options ckpt; /* as for waft run */
    cli_tier_options tier; /* --tier */
    int verify;            /* --verify: memory checked before the run goes on */
    int no_map;            /* --no-map: memory copied, not mapped */
} cli_restore_options;

/* The options of `waft run` (run.c). */
typedef struct cli_run_options {
    const char *invoke;    /* --invoke NAME, or NULL to run _start */
    waft_config config;    /* --max-call-depth, --max-stack-slots */
    int track_writes;      /* --track-writes (measures the write barrier's cost) */
    cli_wasi_options wasi; /* --dir, --env, --tcplisten */
    cli_ckpt_options ckpt; /* --fuel, --image, --checkpoint-*, --migrate-*, ... */
    cli_tier_options tier; /* --tier */
    /* not options: the rest of the command line */
    const char *path; /* MODULE.wasm, or "-" for standard input */
    int nargs;        /* ARGS after the module */
    char **args;
} cli_run_options;

/* The options of `waft image info|check` (image.c). */
typedef struct cli_image_options {
    int json;           /* info --json */
    const char *module; /* check --module M */
} cli_image_options;

/* `waft checkpoint PID [--image FILE] [--leave-running]` and `waft restore FILE ...`. */
int cli_checkpoint_main(int argc, char **argv);
int cli_restore_main(int argc, char **argv);

#endif
