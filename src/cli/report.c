/* SPDX-License-Identifier: MIT */
/* report.c - the CLI's error, trap and backtrace messages.
 *
 * Invariants: everything goes to stderr; an error is exactly one line; a trap is one line
 * followed by at most MAX_SHOWN_FRAMES backtrace lines, innermost first (plus one line saying
 * how many were left out), so that a deep stack overflow stays readable.
 */
#include "cli.h"

#include <inttypes.h>

/* Deep backtraces show their innermost frames only. (The engine may itself keep only the
 * innermost frames of a trap, so the outermost ones cannot always be shown.) */
#define MAX_SHOWN_FRAMES 20

void cli_put_name(FILE *out, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, out);
        else
            fprintf(out, "\\x%02x", c);
    }
}

void cli_report_error(const char *file, waft_result r, const waft_error *err)
{
    fputs("waft: ", stderr);
    if (file != NULL)
        fprintf(stderr, "%s: ", file);
    fputs(waft_result_str(r), stderr);
    if (err != NULL && err->message[0] != '\0') {
        /* The message is NUL-terminated by contract; bound it anyway. */
        size_t len = 0;
        while (len < sizeof err->message && err->message[len] != '\0')
            len++;
        fputs(": ", stderr);
        fwrite(err->message, 1, len, stderr);
    }
    if (err != NULL && (err->offset >= 0 || err->func >= 0)) {
        const char *sep = "";
        fputs(" (", stderr);
        if (err->offset >= 0) {
            fprintf(stderr, "at byte offset %" PRId64, err->offset);
            sep = ", ";
        }
        if (err->func >= 0)
            fprintf(stderr, "%sin func[%" PRId64 "]", sep, err->func);
        fputc(')', stderr);
    }
    fputc('\n', stderr);
}

/* One backtrace line: "  #N func[F] NAME at offset 0xOFF" (NAME only if known). */
static void put_frame(uint32_t depth, uint32_t func, const char *name, size_t name_len,
                      uint32_t code_offset)
{
    fprintf(stderr, "  #%" PRIu32 " func[%" PRIu32 "] ", depth, func);
    if (name != NULL && name_len > 0) {
        cli_put_name(stderr, name, name_len);
        fputc(' ', stderr);
    }
    fprintf(stderr, "at offset 0x%" PRIx32 "\n", code_offset);
}

/* Whether frame `i` of `n` is printed; prints the "not shown" line in place of the first
 * frame that is not. */
static int frame_shown(uint32_t i, uint32_t n)
{
    if (i < MAX_SHOWN_FRAMES)
        return 1;
    if (i == MAX_SHOWN_FRAMES)
        fprintf(stderr, "  ... %" PRIu32 " more frames not shown\n", n - MAX_SHOWN_FRAMES);
    return 0;
}

int cli_report_trap(const waft_store *store)
{
    const waft_trap *trap = waft_store_trap(store);

    if (trap == NULL) {
        fputs("waft: trap: (no detail available)\n", stderr);
        return CLI_EXIT_TRAP;
    }
    fprintf(stderr, "waft: trap: %s\n",
            trap->message != NULL ? trap->message : waft_trap_str(trap->code));
    for (uint32_t i = 0; i < trap->nframes && frame_shown(i, trap->nframes); i++) {
        const waft_frame_info *f = &trap->frames[i];
        put_frame(i, f->func, f->name, f->name_len, f->code_offset);
    }
    return CLI_EXIT_TRAP;
}

int cli_report_fuel(const waft_store *store)
{
    uint32_t n = waft_store_frame_count(store);

    fputs("waft: trap: all fuel consumed\n", stderr);
    for (uint32_t i = 0; i < n && frame_shown(i, n); i++) {
        waft_frame_state f;
        if (waft_store_frame(store, i, &f) != WAFT_OK)
            break;
        put_frame(i, f.func, NULL, 0, f.code_offset); /* the API gives no names here */
    }
    return CLI_EXIT_TRAP;
}
