/* SPDX-License-Identifier: MIT */
/* main.c - entry point of the `waft` command: global options and command dispatch.
 *
 * Invariants: each command lives in its own file behind a cli_<command>_main function that
 * returns the exit status; main only picks one. Usage errors exit with CLI_EXIT_USAGE and
 * point at --help.
 */
#include "cli.h"

#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: waft COMMAND [ARGS...]\n"
          "       waft --help | --version\n"
          "\n"
          "waft " WAFT_VERSION_STRING " - a WebAssembly runtime\n"
          "\n"
          "Commands:\n"
          "  run [OPTIONS] MODULE.wasm [ARGS...]\n"
          "                 run a module's _start, or call one of its exports with --invoke\n"
          "  restore IMAGE [OPTIONS]\n"
          "                 continue a program from an image\n"
          "  checkpoint PID [--image FILE] [--leave-running]\n"
          "                 save a running program of this user to an image\n"
          "  migrate PID --to HOST:PORT [OPTIONS]\n"
          "                 move a running program of this user to a `waft serve`\n"
          "  serve [--listen HOST:PORT] [OPTIONS]\n"
          "                 receive migrated programs and run them\n"
          "  image info|check FILE\n"
          "                 describe or fully validate a saved image\n"
          "  help [COMMAND] show this help, or the help of COMMAND\n"
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
          "Run 'waft help run' for the options of a command.\n",
          out);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "waft: %s '%s' (see 'waft --help')\n", what, arg);
    return CLI_EXIT_USAGE;
}

static int version(void)
{
    puts("waft " WAFT_VERSION_STRING);
    return CLI_EXIT_OK;
}

/* `waft help [COMMAND]` */
static int help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "run") == 0) {
        cli_run_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "restore") == 0) {
        cli_restore_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "checkpoint") == 0) {
        cli_checkpoint_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "image") == 0) {
        cli_image_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "migrate") == 0) {
        cli_migrate_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "serve") == 0) {
        cli_serve_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "version") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    return usage_error("no help for unknown command", argv[1]);
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        fputs("waft: missing command (see 'waft --help')\n", stderr);
        return CLI_EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
        return help(1, argv + 1);
    if (strcmp(cmd, "help") == 0)
        return help(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0)
        return version();
    if (strcmp(cmd, "run") == 0)
        return cli_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "image") == 0)
        return cli_image_main(argc - 1, argv + 1);
    if (strcmp(cmd, "restore") == 0)
        return cli_restore_main(argc - 1, argv + 1);
    if (strcmp(cmd, "checkpoint") == 0)
        return cli_checkpoint_main(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0)
        return cli_migrate_main(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return cli_serve_main(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return usage_error("unknown option", cmd);
    return usage_error("unknown command", cmd);
}
