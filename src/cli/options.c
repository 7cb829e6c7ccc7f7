/* SPDX-License-Identifier: MIT */
/* options.c - the option table of every `waft` command, and the one parser and help printer
 * made from it.
 *
 * Invariants:
 *  - Each option is stated once, as one line of a table below (name, value, type, where it
 *    is stored, help); nothing else in src/cli parses an option or prints its help.
 *  - Every option that takes a value takes "--name VALUE" and "--name=VALUE".
 *  - A bad command line gives exactly one line on stderr, which names the argument, and
 *    CLI_EXIT_USAGE.
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The defaults the help of --max-call-depth and --max-stack-slots gives. */
_Static_assert(WAFT_DEFAULT_CALL_DEPTH == 10000u, "update the help of --max-call-depth");
_Static_assert(WAFT_DEFAULT_STACK_SLOTS == 1048576u, "update the help of --max-stack-slots");

#define HELP_COLUMN 25 /* where the help of an option starts */

/* ==== Value checks ==== */

/* HOST:PORT or [V6ADDR]:PORT with a non-empty host and a decimal port up to 65535. */
static int host_port(const char *v, int allow_port_0)
{
    const char *colon, *p;
    size_t hl;
    if (v[0] == '[') {
        const char *close_br = strchr(v, ']');
        if (!close_br || close_br[1] != ':')
            return -1;
        hl = (size_t)(close_br - v - 1);
        colon = close_br + 1;
    } else {
        colon = strrchr(v, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - v);
    }
    p = colon + 1;
    if (hl == 0 || hl >= 256 || !p[0] || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p) ||
        atoi(p) > 65535 || (!allow_port_0 && atoi(p) == 0))
        return -1;
    return 0;
}

static int check_listen(const char *v)
{
    return host_port(v, 1);
}

static int check_peer(const char *v)
{
    return host_port(v, 0);
}

static int check_dir(const char *v)
{
    const char *sep = strstr(v, "::");
    return sep == v || (sep != NULL && sep[2] == '\0') ? -1 : 0;
}

static int check_env(const char *v)
{
    return v[0] == '=' ? -1 : 0;
}

static int check_tcplisten(const char *v)
{
    return strrchr(v, ':') == NULL ? -1 : 0;
}

/* ==== The tables ==== */

/* One line of a table: OPT(type, name, arg, struct, field, help, ...more fields). */
#define OPT(type_, name_, arg_, st, field, help_, ...)                                           \
    {                                                                                            \
        .name = name_, .arg = arg_, .type = type_, .offset = offsetof(st, field), .help = help_, \
        __VA_ARGS__                                                                              \
    }
#define GIVEN(st, field) .given = offsetof(st, field) + 1
#define GROUP(title_, table, base_, footer_)                                                       \
    {                                                                                              \
        .title = title_, .options = table, .count = sizeof table / sizeof table[0], .base = base_, \
        .footer = footer_                                                                          \
    }

static const cli_option wasi_options[] = {
    OPT(CLI_OPT_LIST, "--dir", "HOST[::GUEST]", cli_wasi_options, dirs,
        "let the program use directory HOST, which it sees as\n"
        "GUEST (default: the same name, e.g. --dir . or\n"
        "--dir /srv/data::/data); it reaches nothing outside the\n"
        "directories given; repeatable",
        .check = check_dir, .expect = "HOST_DIR or HOST_DIR::GUEST_DIR, both non-empty"),
    OPT(CLI_OPT_LIST, "--env", "NAME=VALUE", cli_wasi_options, envs,
        "set a variable of the program's environment (empty\n"
        "otherwise); --env NAME passes waft's own value; repeatable",
        .check = check_env, .expect = "NAME=VALUE or NAME"),
    OPT(CLI_OPT_LIST, "--tcplisten", "HOST:PORT", cli_wasi_options, listens,
        "listen on a TCP port and give the socket to the program\n"
        "as the descriptor after the directories; repeatable",
        .check = check_tcplisten, .expect = "HOST:PORT"),
};

static const cli_option ckpt_options[] = {
    OPT(CLI_OPT_TEXT, "--image", "FILE", cli_ckpt_options, image,
        "where checkpoint images are written (atomically)", .expect = "a file name"),
    OPT(CLI_OPT_U64, "--checkpoint-at-step", "N", cli_ckpt_options, at_step,
        "after exactly N instructions (the unit of --fuel,\n"
        "counted from the start, or from the restore), write the\n"
        "image; if the program ends first, no image is written",
        .lo = 1, .hi = UINT64_MAX),
    OPT(CLI_OPT_SIGNAL, "--checkpoint-signal", "SIG", cli_ckpt_options, signal,
        "write the image when SIG arrives: USR1, USR2, HUP, INT, TERM, ALRM\n"
        "(with or without SIG), their numbers, or a real-time signal's number",
        .expect = "one of USR1 USR2 HUP INT TERM ALRM, their numbers or a real-time signal"),
    OPT(CLI_OPT_DOUBLE, "--checkpoint-every", "S", cli_ckpt_options, every,
        "write the image every S seconds (use --leave-running)", .dmax = 1e9,
        .expect = "a number of seconds"),
    OPT(CLI_OPT_FLAG, "--leave-running", NULL, cli_ckpt_options, leave_running,
        "keep the program running after a checkpoint (default:\n"
        "stop with status 0 once the image is safe)"),
    OPT(CLI_OPT_FLAG, "--compress", NULL, cli_ckpt_options, compress, "zstd-compress the image"),
    OPT(CLI_OPT_U64, "--fuel", "N", cli_ckpt_options, fuel,
        "allow N instructions; when they run out the program\n"
        "stops with \"waft: trap: all fuel consumed\"",
        .lo = 0, .hi = UINT64_MAX, GIVEN(cli_ckpt_options, use_fuel),
        .expect = "a number of instructions"),
    OPT(CLI_OPT_FLAG, "--count-steps", NULL, cli_ckpt_options, count_steps,
        "at the end, print \"waft: N instructions\" on stderr (the\n"
        "unit of --fuel and --checkpoint-at-step)"),
    OPT(CLI_OPT_FLAG, "--verbose", NULL, cli_ckpt_options, verbose,
        "after each checkpoint, print on stderr what it cost: its\n"
        "size, the program's pause, capture, write and sync times"),
};

/* The tuning options of a migration, shared by `waft run` and `waft migrate`. */
#define MIG_TUNING                                                                         \
    OPT(CLI_OPT_CHOICE, "--strategy", NULL, cli_mig_options, stop_and_copy,                \
        "precopy (default): send memory while the program runs,\n"                         \
        "then pause for the rest; stop-and-copy: pause, send all",                         \
        .choices = "precopy|stop-and-copy"),                                               \
        OPT(CLI_OPT_DOUBLE, "--max-downtime", "MS", cli_mig_options, max_downtime_ms,      \
            "pre-copy ends once the rest fits in MS (default 5)", .dmax = 1e7,             \
            .expect = "milliseconds (more than 0)"),                                       \
        OPT(CLI_OPT_U32, "--max-rounds", "N", cli_mig_options, max_rounds,                 \
            "at most N pre-copy rounds (default 30)", .lo = 1, .hi = 10000),               \
        OPT(CLI_OPT_CHOICE, "--page-order", NULL, cli_mig_options, address_order,          \
            "send pages coldest first (default) or by address", .choices = "hot|address"), \
        OPT(CLI_OPT_TEXT, "--key-file", "FILE", cli_mig_options, key_file,                 \
            "prove a shared key to the server (and check its proof)", .expect = "a file")

static const cli_option mig_options[] = {
    OPT(CLI_OPT_TEXT, "--migrate-to", "HOST:PORT", cli_mig_options, to,
        "send the running program to a `waft serve` there", .check = check_peer,
        .expect = "HOST:PORT"),
    OPT(CLI_OPT_U64, "--migrate-at-step", "N", cli_mig_options, at_step,
        "start migrating after exactly N instructions (else only\n"
        "when `waft migrate PID` asks)",
        .lo = 1, .hi = UINT64_MAX),
    MIG_TUNING,
    OPT(CLI_OPT_DOUBLE, "--migrate-timeout", "S", cli_mig_options, timeout,
        "give up when the peer is silent for S seconds (30)", .dmax = 86400, .expect = "seconds"),
};

static const cli_option config_options[] = {
    OPT(CLI_OPT_U32, "--max-call-depth", "N", waft_config, max_call_depth,
        "at most N nested wasm calls (default 10000)", .lo = 1, .hi = UINT32_MAX),
    OPT(CLI_OPT_U32, "--max-stack-slots", "N", waft_config, max_stack_slots,
        "value stack of N 8-byte slots (default 1048576)", .lo = 1, .hi = UINT32_MAX),
};

static const cli_option tier_options[] = {
    OPT(CLI_OPT_CHOICE, "--tier", NULL, cli_tier_options, tier,
        "interp (default): run in the interpreter; aot: compile\n"
        "the module to native code first (through C and the\n"
        "system C compiler, cached); checkpoints work the same",
        .choices = "interp|aot"),
    OPT(CLI_OPT_FLAG, "--aot-verbose", NULL, cli_tier_options, verbose,
        "say on stderr what was compiled or taken from the cache"),
};

#define TIER_TITLE  "Execution tier (see docs/aot.md):"
#define CKPT_TITLE  "Checkpoints (see docs/checkpoint.md):"
#define CKPT_FOOTER "Any run also accepts `waft checkpoint PID` from the same user.\n"
#define MIG_TITLE   "Live migration (see docs/migration.md):"

/* ---- waft run ---- */

static const cli_option run_options[] = {
    OPT(CLI_OPT_TEXT, "--invoke", "NAME", cli_run_options, invoke,
        "call the exported function NAME instead of _start", .expect = "a function name"),
    OPT(CLI_OPT_FLAG, "--track-writes", NULL, cli_run_options, track_writes,
        "track writes to memory for the whole run, as a\n"
        "migration does (to measure what that costs)"),
};

static const cli_opt_group run_groups[] = {
    GROUP(NULL, wasi_options, offsetof(cli_run_options, wasi), NULL),
    GROUP(NULL, run_options, 0, NULL),
    GROUP(NULL, config_options, offsetof(cli_run_options, config), NULL),
    GROUP(TIER_TITLE, tier_options, offsetof(cli_run_options, tier), NULL),
    GROUP(CKPT_TITLE, ckpt_options, offsetof(cli_run_options, ckpt), CKPT_FOOTER),
    GROUP(MIG_TITLE, mig_options, offsetof(cli_run_options, ckpt.mig), NULL),
};

static const cli_verb run_verb = {
    .name = "run",
    .synopsis = "[OPTIONS] MODULE.wasm [ARGS...]",
    .summary = "run a module's _start, or call one of its exports with --invoke",
    .intro = "Instantiates MODULE.wasm (\"-\" reads it from standard input) and runs it as a WASI\n"
             "program: its \"_start\" export is called with ARGS as its arguments (after the\n"
             "program name MODULE.wasm) and the standard streams of waft. With --invoke the\n"
             "export NAME is called instead, with ARGS converted to its parameter types; each\n"
             "result is printed on its own line: i32/i64 as signed decimal, f32 with %.9g, f64\n"
             "with %.17g, references as \"null\" or \"ref\".\n",
    .groups = run_groups,
    .ngroups = sizeof run_groups / sizeof run_groups[0],
    .outro = "ARGS for --invoke, by parameter type:\n"
             "  i32, i64               decimal or 0x hex, signed or unsigned\n"
             "                         (-1, 4294967295 and 0xffffffff are the same i32)\n"
             "  f32, f64               decimal or hex floats, inf, -inf, nan, nan:0xPAYLOAD\n"
             "  funcref, externref     null (externref also takes a non-zero number)\n"
             "\n"
             "Imports: every function of \"wasi_snapshot_preview1\" (WASI preview1); other\n"
             "imports cannot be satisfied and make the run fail before it starts.\n"
             "\n"
             "Exit status:\n"
             "  0     success\n"
             "  1     error: cannot read the file, malformed or invalid module, link error,\n"
             "        a --dir that cannot be opened, a --tcplisten port that cannot be used\n"
             "  2     usage error (bad option, wrong number or form of ARGS)\n"
             "  134   the program trapped (a backtrace follows the message on stderr)\n"
             "        or ran out of fuel\n"
             "  N     the exit code the program asked for (WASI proc_exit; the system keeps its\n"
             "        low 8 bits)\n"
             "  After a checkpoint that stops the program (no --leave-running), or a\n"
             "  migration that moved it: 0. After a migration whose outcome is unknown (the\n"
             "  link broke after the commit): 1, and an image of the program is kept.\n",
    .max_positional = -1,
};

/* ---- waft restore ---- */

static const cli_option restore_options[] = {
    OPT(CLI_OPT_LIST, "--dir", "HOST[::GUEST]", cli_restore_options, wasi.dirs,
        "the host directory for the program's directory GUEST;\n"
        "every directory the program had must be given again\n"
        "(it may be another host directory with the same files)",
        .check = check_dir, .expect = "HOST_DIR or HOST_DIR::GUEST_DIR, both non-empty"),
    OPT(CLI_OPT_FLAG, "--keep-dirs", NULL, cli_restore_options, wasi.keep_dirs,
        "instead, reopen the host directories the image names\n"
        "(canonical paths, symlinks resolved, recorded when\n"
        "they were preopened;\n"
        "only for images you trust)"),
    OPT(CLI_OPT_TEXT, "--module", "MODULE.wasm", cli_restore_options, module,
        "the module, for images saved without it; its SHA-256\n"
        "must match the image's",
        .expect = "a file name"),
    OPT(CLI_OPT_FLAG, "--verify", NULL, cli_restore_options, verify,
        "check every MiB of memory against the image's\n"
        "checksums before the program goes on (by default each\n"
        "MiB is checked when the program first touches it)"),
    OPT(CLI_OPT_FLAG, "--no-map", NULL, cli_restore_options, no_map,
        "copy memory from the image instead of mapping it\n"
        "(checked before the program goes on)"),
};

static const cli_opt_group restore_groups[] = {
    GROUP(NULL, restore_options, 0, NULL),
    GROUP(NULL, config_options, offsetof(cli_restore_options, config), NULL),
    GROUP(TIER_TITLE, tier_options, offsetof(cli_restore_options, tier), NULL),
    GROUP(CKPT_TITLE, ckpt_options, offsetof(cli_restore_options, ckpt), CKPT_FOOTER),
    GROUP(MIG_TITLE, mig_options, offsetof(cli_restore_options, ckpt.mig), NULL),
};

static const cli_verb restore_verb = {
    .name = "restore",
    .synopsis = "IMAGE [OPTIONS]",
    .summary = "continue a program from an image",
    .intro = "Continues the program saved in IMAGE exactly where it stopped: same memory,\n"
             "call stack, open files (same descriptor numbers, flags and offsets), arguments\n"
             "and environment; monotonic clocks go on from their saved values.\n",
    .groups = restore_groups,
    .ngroups = sizeof restore_groups / sizeof restore_groups[0],
    .outro = "Memory of an uncompressed image is mapped from the file, copy-on-write: the\n"
             "restore reads nothing up front, and pages are read when the program touches\n"
             "them. Do not change IMAGE in place while the program runs (waft's own\n"
             "checkpoints replace the file, which is safe).\n"
             "Exit status: as for waft run; 1 with one line naming the problem when the image\n"
             "is damaged (also later, when the program first touches a damaged MiB: the run\n"
             "stops before it reads it), belongs to another module, or a file it had open is\n"
             "missing or has changed (e.g. is shorter than the saved offset).\n",
    .max_positional = 1,
};

/* ---- waft checkpoint ---- */

static const cli_option checkpoint_options[] = {
    OPT(CLI_OPT_TEXT, "--image", "FILE", cli_checkpoint_options, image,
        "where the image goes (default: the run's own --image,\n"
        "else MODULE.PID.img in the run's directory)",
        .expect = "a file name"),
    OPT(CLI_OPT_FLAG, "--leave-running", NULL, cli_checkpoint_options, leave_running,
        "the run goes on after the checkpoint (default: it stops)"),
    OPT(CLI_OPT_DOUBLE, "--timeout", "S", cli_checkpoint_options, timeout,
        "wait at most S seconds for the image (default 60)", .dmax = 1e9, .expect = "seconds"),
    OPT(CLI_OPT_FLAG, "--verbose", NULL, cli_checkpoint_options, verbose,
        "also print what the checkpoint cost: its size, the\n"
        "program's pause, capture, write and sync times"),
};

static const cli_opt_group checkpoint_groups[] = {
    GROUP(NULL, checkpoint_options, 0, NULL),
};

static const cli_verb checkpoint_verb = {
    .name = "checkpoint",
    .synopsis = "PID [--image FILE] [--leave-running] [--timeout SECONDS] [--verbose]",
    .summary = "save a running program of this user to an image",
    .intro = "Asks the `waft run` (or `waft restore`) with process id PID, started by the same\n"
             "user, to write an image of its program, and waits until the image is safe on\n"
             "disk. The run then stops (status 0), or goes on with --leave-running: then the\n"
             "image is written by a child process while the program runs on, paused only\n"
             "for the fork (memory the program writes meanwhile is copied by the kernel).\n",
    .groups = checkpoint_groups,
    .ngroups = 1,
    .outro = "Exit status: 0 when the image is written, 1 otherwise (one line says why).\n",
    .max_positional = 1,
};

/* ---- waft migrate ---- */

static const cli_option migrate_options[] = {
    OPT(CLI_OPT_TEXT, "--to", "HOST:PORT", cli_mig_options, to,
        "the `waft serve` to move the program to (required)", .check = check_peer,
        .expect = "HOST:PORT"),
    MIG_TUNING,
    OPT(CLI_OPT_DOUBLE, "--timeout", "S", cli_mig_options, timeout,
        "give up when the peer is silent for S seconds (30)", .dmax = 86400, .expect = "seconds"),
};

static const cli_opt_group migrate_groups[] = {
    GROUP(NULL, migrate_options, 0, NULL),
};

static const cli_verb migrate_verb = {
    .name = "migrate",
    .synopsis = "PID --to HOST:PORT [OPTIONS]",
    .summary = "move a running program of this user to a `waft serve`",
    .intro = "Moves the running `waft run` (or `waft restore`, or a program a `waft serve` runs)\n"
             "with process id PID, started by the same user, to the `waft serve` at HOST:PORT.\n"
             "With precopy (the default) memory is sent while the program runs, and it pauses\n"
             "only for the last dirty pages and its state (target: --max-downtime, default\n"
             "5 ms). The source stops only after the destination confirms it runs the program;\n"
             "on any failure the program goes on where it was. Prints the outcome: downtime,\n"
             "total time, bytes and rounds. See docs/migration.md.\n",
    .groups = migrate_groups,
    .ngroups = 1,
    .outro = "Exit status: 0 when migrated, 1 otherwise (one line says why).\n",
    .max_positional = 1,
};

/* ---- waft serve ---- */

static const cli_option serve_options[] = {
    OPT(CLI_OPT_TEXT, "--listen", "HOST:PORT", cli_serve_options, listen,
        "where to listen (default 127.0.0.1:7600; port 0 picks a free\n"
        "one). The first line on stderr says where it listens.\n"
        "Addresses other than loopback need --key-file: a server\n"
        "that accepts programs runs their code (on a machine\n"
        "shared with others, use a key on loopback too).",
        .check = check_listen, .expect = "HOST:PORT"),
    OPT(CLI_OPT_LIST, "--dir", "HOST[::GUEST]", cli_serve_options, wasi.dirs,
        "this host's directory for a guest directory the programs\n"
        "had open; files are reopened there (shared or replicated\n"
        "storage), and a missing one makes the migration fail",
        .check = check_dir, .expect = "HOST_DIR or HOST_DIR::GUEST_DIR, both non-empty"),
    OPT(CLI_OPT_FLAG, "--once", NULL, cli_serve_options, once,
        "serve until one program has arrived, run it, and exit with\n"
        "its status"),
    OPT(CLI_OPT_TEXT, "--log-dir", "DIR", cli_serve_options, log_dir,
        "per-program output files instead of this server's", .expect = "a directory"),
    OPT(CLI_OPT_TEXT, "--key-file", "FILE", cli_serve_options, key_file,
        "peers must prove this key (HMAC-SHA256 challenge-response\n"
        "in both directions); chmod 600, at least 16 bytes",
        .expect = "a file"),
    OPT(CLI_OPT_TEXT, "--module-cache", "DIR", cli_serve_options, cache_dir,
        "keep received modules here (default: a private temporary\n"
        "directory removed at exit)",
        .expect = "a directory"),
    OPT(CLI_OPT_DOUBLE, "--timeout", "S", cli_serve_options, timeout,
        "drop a peer silent for S seconds (default 30)", .dmax = 86400, .expect = "seconds"),
    OPT(CLI_OPT_U32, "--max-programs", "N", cli_serve_options, max_programs,
        "at most N programs running or being received at once\n"
        "(default 64); more are refused, and told why. Apart\n"
        "from those, at most 16 connections may be in their\n"
        "handshake: a new one drops the oldest of them",
        .lo = 1, .hi = 4096),
};

static const cli_opt_group serve_groups[] = {
    GROUP(NULL, serve_options, 0, NULL),
};

static const cli_verb serve_verb = {
    .name = "serve",
    .synopsis = "[--listen HOST:PORT] [OPTIONS]",
    .summary = "receive migrated programs and run them",
    .intro = "Receives running programs that `waft migrate` or `waft run --migrate-to` send, and\n"
             "runs them. Each one's output goes to this server's stdout and stderr (or to\n"
             "DIR/instance-PID.stdout and .stderr with --log-dir); a line on stderr reports when\n"
             "it starts, and its exit status when it ends.\n",
    .groups = serve_groups,
    .ngroups = 1,
    .outro = "See docs/migration.md.\n",
    .max_positional = 0,
};

/* ---- waft image ---- */

static const cli_option image_options[] = {
    OPT(CLI_OPT_FLAG, "--json", NULL, cli_image_options, json,
        "info: print the same as one JSON object"),
    OPT(CLI_OPT_TEXT, "--module", "M", cli_image_options, module,
        "check: the module, for images saved without one", .expect = "a file name"),
};

static const cli_opt_group image_groups[] = {
    GROUP(NULL, image_options, 0, NULL),
};

static const cli_verb image_verb = {
    .name = "image",
    .synopsis = "info|check FILE [OPTIONS]",
    .summary = "describe or fully validate a saved image",
    .intro = "waft image info FILE [--json]\n"
             "waft image check FILE [--module MODULE.wasm]\n"
             "\n"
             "info   prints what an image holds: module (hash, size, embedded or not),\n"
             "       memories, tables, globals, the suspended call stack (function, name,\n"
             "       code offset, locals, operand values per frame) and extension records\n"
             "       (e.g. wasi).\n"
             "check  validates an image completely without running it: structure and\n"
             "       checksums, the module and its hash, and every piece of state against\n"
             "       the module (a restore into a scratch store). Exit status 0 if valid,\n"
             "       1 with one line naming what is wrong and where otherwise.\n",
    .groups = image_groups,
    .ngroups = 1,
    .outro = NULL,
    .max_positional = 2,
};

/* ---- waft compile ---- */

static const cli_option compile_options[] = {
    OPT(CLI_OPT_FLAG, "--force", NULL, cli_compile_options, force,
        "compile even if the cache already has the code"),
    OPT(CLI_OPT_FLAG, "--aot-verbose", NULL, cli_compile_options, verbose,
        "say on stderr what was compiled or taken from the cache"),
    OPT(CLI_OPT_FLAG, "--quiet", NULL, cli_compile_options, quiet,
        "no \"MODULE: compiled\" line per module"),
};

static const cli_opt_group compile_groups[] = {
    GROUP(NULL, compile_options, 0, NULL),
};

static const cli_verb compile_verb = {
    .name = "compile",
    .synopsis = "[OPTIONS] MODULE.wasm...",
    .summary = "compile modules to native code ahead of time (the AOT cache)",
    .intro = "Translates each MODULE.wasm to C, compiles it with the system C compiler (cc, or\n"
             "$WAFT_CC) and keeps the shared object in the cache ($WAFT_CACHE_DIR, else\n"
             "$XDG_CACHE_HOME/waft, else ~/.cache/waft), so that `waft run --tier=aot` and\n"
             "`waft restore --tier=aot` start at once. Big modules are split into several C\n"
             "files compiled in parallel (WAFT_AOT_JOBS at a time, default one per CPU).\n",
    .groups = compile_groups,
    .ngroups = 1,
    .outro = "Exit status: 0 when every module compiled (or was in the cache), 1 otherwise\n"
             "(one line per module that could not be: unreadable, invalid, no C compiler,\n"
             "the compiler failed), 2 for a usage error. See docs/aot.md.\n",
    .max_positional = 32,
};

static const cli_verb *const verbs[] = {
    &run_verb,   &restore_verb, &checkpoint_verb, &migrate_verb,
    &serve_verb, &image_verb,   &compile_verb,
};

const cli_verb *cli_verb_find(const char *name)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verbs[i]->name, name) == 0)
            return verbs[i];
    return NULL;
}

/* ==== Help ==== */

/* "--name ARG", the ARG of a choice being its values. */
static int option_head(const cli_option *opt, char *buf, size_t len)
{
    const char *arg = opt->type == CLI_OPT_CHOICE ? opt->choices : opt->arg;
    return snprintf(buf, len, "%s%s%s", opt->name, arg ? " " : "", arg ? arg : "");
}

/* "  HEAD" then the help, its first line at HELP_COLUMN (or on the next line when HEAD is
 * too long), each further line indented to HELP_COLUMN. */
static void put_row(FILE *out, const char *head, const char *help)
{
    int col = fprintf(out, "  %s", head);
    if (col >= HELP_COLUMN) {
        fputc('\n', out);
        col = 0;
    }
    for (const char *p = help; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(out, "%*s%.*s\n", HELP_COLUMN - col, "", (int)n, p);
        col = 0;
        p += n + (nl ? 1 : 0);
    }
}

void cli_usage(const cli_verb *verb, FILE *out)
{
    char head[128];
    fprintf(out, "usage: waft %s %s\n\n", verb->name, verb->synopsis);
    if (verb->intro)
        fprintf(out, "%s\n", verb->intro);
    fputs("Options:\n", out);
    /* the command's own options, then the shared groups under their headings */
    for (int titled = 0; titled < 2; titled++) {
        for (size_t g = 0; g < verb->ngroups; g++) {
            const cli_opt_group *group = &verb->groups[g];
            if ((group->title != NULL) != titled)
                continue;
            if (group->title)
                fprintf(out, "\n%s\n", group->title);
            for (size_t k = 0; k < group->count; k++) {
                option_head(&group->options[k], head, sizeof head);
                put_row(out, head, group->options[k].help);
            }
            if (group->footer)
                fprintf(out, "  %s", group->footer);
        }
        if (!titled) {
            put_row(out, "-h, --help", "show this help");
            put_row(out, "--", "end of options");
        }
    }
    if (verb->outro)
        fprintf(out, "\n%s", verb->outro);
}

void cli_main_usage(FILE *out)
{
    fputs("usage: waft COMMAND [ARGS...]\n"
          "       waft --help | --version\n"
          "\n"
          "waft " WAFT_VERSION_STRING " - a WebAssembly runtime\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        char head[160];
        const char *nl = strchr(verbs[i]->synopsis, '\n');
        int n = nl ? (int)(nl - verbs[i]->synopsis) : (int)strlen(verbs[i]->synopsis);
        snprintf(head, sizeof head, "%s %.*s", verbs[i]->name, n, verbs[i]->synopsis);
        fprintf(out, "  %s\n", head);
        fprintf(out, "%17s%s\n", "", verbs[i]->summary);
    }
    fputs("  help [COMMAND] show this help, or the help of COMMAND\n"
          "  version        print the version\n"
          "\n"
          "Options:\n"
          "  -h, --help     show this help\n"
          "  --version      print the version\n"
          "\n"
          "Exit status:\n"
          "  0     success\n"
          "  1     error: cannot read a file, malformed or invalid module, link error\n"
          "  2     usage error\n"
          "  134   the WebAssembly program trapped or ran out of fuel; the message\n"
          "        \"waft: trap: REASON\" and a backtrace are printed on stderr\n"
          "  N     the exit code the program asked for (WASI proc_exit)\n"
          "\n"
          "Run 'waft help COMMAND' (or 'waft COMMAND --help') for the options of a command.\n",
          out);
}

/* ==== Parsing ==== */

int cli_usage_error(const char *verb, const char *text)
{
    fprintf(stderr, "waft: %s: %s (see 'waft %s --help')\n", verb, text, verb);
    return CLI_EXIT_USAGE;
}

void cli_strlist_free(cli_strlist *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int parse_decimal(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_signal(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = { { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },
                  { "INT", SIGINT },   { "TERM", SIGTERM }, { "ALRM", SIGALRM } };
    uint64_t n;
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(s, names[k].name) == 0)
            return names[k].sig;
    /* by number: the same signals, or a real-time one; never one the C library keeps for
     * itself, one that reports a fault (SEGV, BUS...) or one with another job (CHLD...) */
    if (parse_decimal(s, 1, 64, &n) == 0) {
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if ((int)n == names[k].sig)
                return (int)n;
        if ((int)n >= SIGRTMIN && (int)n <= SIGRTMAX)
            return (int)n;
    }
    return 0;
}

/* What a value of `opt` must be, for messages. */
static const char *expectation(const cli_option *opt, char *buf, size_t len)
{
    if (opt->expect)
        return opt->expect;
    switch (opt->type) {
    case CLI_OPT_U32:
    case CLI_OPT_U64:
        if (opt->lo == 1 && opt->hi == UINT64_MAX)
            return "a positive number";
        if (opt->lo == 0 && opt->hi == UINT64_MAX)
            return "a number";
        snprintf(buf, len, "a number from %llu to %llu", (unsigned long long)opt->lo,
                 (unsigned long long)opt->hi);
        return buf;
    case CLI_OPT_CHOICE:
        snprintf(buf, len, "one of %s", opt->choices);
        return buf;
    default:
        return "a value";
    }
}

/* Stores `value` (NULL for a flag) at `field`. Returns 0, -1 if it is not acceptable, or
 * -2 when out of memory. */
static int store_value(const cli_option *opt, const char *value, char *field, int argc)
{
    uint64_t n;
    switch (opt->type) {
    case CLI_OPT_FLAG:
        *(int *)(void *)field = 1;
        return 0;
    case CLI_OPT_TEXT:
        if (!value[0] || (opt->check && opt->check(value) != 0))
            return -1;
        *(const char **)(void *)field = value;
        return 0;
    case CLI_OPT_LIST: {
        cli_strlist *l = (cli_strlist *)(void *)field;
        if (!value[0] || (opt->check && opt->check(value) != 0))
            return -1;
        if (l->items == NULL) {
            /* argc bounds the number of uses */
            l->items = calloc((size_t)argc + 1, sizeof *l->items);
            if (l->items == NULL)
                return -2;
        }
        l->items[l->n++] = value;
        return 0;
    }
    case CLI_OPT_U32:
        if (parse_decimal(value, opt->lo, opt->hi > UINT32_MAX ? UINT32_MAX : opt->hi, &n) != 0)
            return -1;
        *(uint32_t *)(void *)field = (uint32_t)n;
        return 0;
    case CLI_OPT_U64:
        if (parse_decimal(value, opt->lo, opt->hi, &n) != 0)
            return -1;
        *(uint64_t *)(void *)field = n;
        return 0;
    case CLI_OPT_DOUBLE: {
        char *end;
        double d;
        if (!value[0] || strchr("+-", value[0]) != NULL)
            return -1;
        errno = 0;
        d = strtod(value, &end);
        if (*end || !(d > 0) || d > opt->dmax)
            return -1;
        *(double *)(void *)field = d;
        return 0;
    }
    case CLI_OPT_CHOICE: {
        const char *p = opt->choices;
        size_t len = strlen(value);
        for (int k = 0; *p; k++) {
            size_t n_choice = strcspn(p, "|");
            if (len > 0 && n_choice == len && memcmp(p, value, len) == 0) {
                *(int *)(void *)field = k;
                return 0;
            }
            p += n_choice + (p[n_choice] == '|');
        }
        return -1;
    }
    case CLI_OPT_SIGNAL: {
        int sig = parse_signal(value);
        if (sig == 0)
            return -1;
        *(int *)(void *)field = sig;
        return 0;
    }
    }
    return -1;
}

/* The option called `name` (`len` bytes) among the verb's, and the base of its group. */
static const cli_option *find_option(const cli_verb *verb, const char *name, size_t len,
                                     size_t *out_base)
{
    for (size_t g = 0; g < verb->ngroups; g++) {
        const cli_opt_group *group = &verb->groups[g];
        for (size_t k = 0; k < group->count; k++) {
            const char *o = group->options[k].name;
            if (strlen(o) == len && memcmp(o, name, len) == 0) {
                *out_base = group->base;
                return &group->options[k];
            }
        }
    }
    return NULL;
}

int cli_parse(const cli_verb *verb, int argc, char **argv, void *out, const char **out_pos,
              int *out_npos, int *out_next)
{
    char msg[400], buf[80];
    int i, only_positional = 0;

    *out_npos = 0;
    *out_next = argc;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            /* "-" alone is a file: standard input */
            int room = verb->max_positional < 0 ? 1 : verb->max_positional;
            if (*out_npos >= room) {
                snprintf(msg, sizeof msg, "unexpected argument '%s'", arg);
                return cli_usage_error(verb->name, msg);
            }
            out_pos[(*out_npos)++] = arg;
            if (verb->max_positional < 0) {
                *out_next = i + 1;
                return -1;
            }
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_usage(verb, stdout);
            return CLI_EXIT_OK;
        }
        const char *eq = strchr(arg, '=');
        size_t base = 0;
        const cli_option *opt =
            find_option(verb, arg, eq ? (size_t)(eq - arg) : strlen(arg), &base);
        if (opt == NULL) {
            snprintf(msg, sizeof msg, "unknown option '%.*s'",
                     eq ? (int)(eq - arg) : (int)strlen(arg), arg);
            return cli_usage_error(verb->name, msg);
        }
        const char *value = NULL;
        if (opt->type == CLI_OPT_FLAG) {
            if (eq) {
                snprintf(msg, sizeof msg, "%s takes no value", opt->name);
                return cli_usage_error(verb->name, msg);
            }
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(msg, sizeof msg, "%s needs a value: %s", opt->name,
                     expectation(opt, buf, sizeof buf));
            return cli_usage_error(verb->name, msg);
        }
        char *at = (char *)out + base;
        int stored = store_value(opt, value, at + opt->offset, argc);
        if (stored == -2) {
            fputs("waft: out of memory\n", stderr);
            return CLI_EXIT_ERROR;
        }
        if (stored != 0) {
            snprintf(msg, sizeof msg, "%s needs %s, not '%s'", opt->name,
                     expectation(opt, buf, sizeof buf), value);
            return cli_usage_error(verb->name, msg);
        }
        if (opt->given)
            *(int *)(void *)(at + opt->given - 1) = 1;
    }
    return -1;
}
