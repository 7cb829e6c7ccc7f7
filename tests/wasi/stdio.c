/* SPDX-License-Identifier: MIT */
/* stdio.c - the standard streams: reads all of stdin in odd-sized pieces, prints its size,
 * line count and hash, then writes it back upper-cased to stdout (a large write through
 * stdio) and one line to stderr. argv[1] says what stdin is: "pipe" (not seekable) or
 * "file" (a regular file, seekable). Output is compared with the native build.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "common.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    const size_t pieces[] = { 1, 7, 4096, 13, 65536, 100000 };
    int k = 0;
    uint32_t hash = 2166136261u;
    unsigned lines = 0;
    int is_pipe = argc > 1 && strcmp(argv[1], "pipe") == 0;
    int read_error = 0; /* one check for the loop: pipes split reads differently per run */

    CHECK(buf != NULL);
    CHECK(isatty(0) == 0);
    if (is_pipe)
        CHECK(lseek(0, 0, SEEK_CUR) == -1 && errno == ESPIPE);
    else
        CHECK(lseek(0, 0, SEEK_CUR) == 0);
    for (;;) {
        size_t want = pieces[k++ % 6];
        if (len + want > cap) {
            cap = (len + want) * 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                return 2;
        }
        ssize_t got = read(0, buf + len, want);
        read_error |= got < 0;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    CHECK(!read_error);
    CHECK(read(0, buf, 1) == 0); /* still at the end */
    if (!is_pipe)
        CHECK(lseek(0, 0, SEEK_CUR) == (off_t)len);
    for (size_t i = 0; i < len; i++) {
        hash = (hash ^ buf[i]) * 16777619u;
        lines += buf[i] == '\n';
    }
    printf("stdin: %u bytes, %u lines, hash %08x\n", (unsigned)len, lines, (unsigned)hash);
    for (size_t i = 0; i < len; i++)
        putchar(toupper(buf[i]));
    fprintf(stderr, "stdio: this line goes to stderr\n");
    free(buf);
    return finish("stdio");
}
