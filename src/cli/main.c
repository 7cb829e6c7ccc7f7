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
    cli_main_usage(out);
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
    const cli_verb *verb = cli_verb_find(argv[1]);
    if (verb != NULL) {
        cli_usage(verb, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "version") == 0 ||
        strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
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
    if (strcmp(cmd, "compile") == 0)
        return cli_compile_main(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return usage_error("unknown option", cmd);
    return usage_error("unknown command", cmd);
}
