/* SPDX-License-Identifier: MIT */
/* exitcode.c - how a program ends: `exit N`, `return N` from main, `abort` (a trap under
 * waft, SIGABRT natively: both give status 134), and `flush` (exit with buffered output
 * that must still appear). run.sh checks the status and output against the native build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "return";
    int code = argc > 2 ? atoi(argv[2]) : 0;

    if (strcmp(how, "exit") == 0) {
        printf("exiting with %d\n", code);
        exit(code);
    }
    if (strcmp(how, "abort") == 0) {
        fflush(stdout);
        abort();
    }
    if (strcmp(how, "flush") == 0) {
        for (int i = 0; i < 1000; i++)
            printf("buffered line %d\n", i); /* not flushed before exit */
        exit(code);
    }
    printf("returning %d\n", code);
    return code;
}
