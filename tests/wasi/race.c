/* SPDX-License-Identifier: MIT */
/* race.c - symlinks swapped while the guest resolves paths. run.sh runs a host loop that
 * keeps replacing box/swap (a link to the inside directory "real", or to ../outside) and
 * box/swapfile (a regular file, or a link to ../outside/secret.txt), while this program
 * opens swap/secret.txt and swapfile over and over. It must never read "SECRET".
 * Prints how often each outcome happened on stderr and one verdict line on stdout.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "common.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4000;
    int inside = 0, refused = 0, escaped = 0;
    const char *paths[] = { "swap/secret.txt", "swapfile", "swap/../swap/secret.txt" };

    for (int i = 0; i < rounds; i++) {
        const char *p = paths[i % 3];
        char buf[16] = { 0 };
        int fd = open(p, O_RDONLY);
        if (fd < 0) {
            refused++;
            continue;
        }
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n >= 6 && memcmp(buf, "SECRET", 6) == 0) {
            escaped++;
            printf("ESCAPED through %s\n", p);
        } else {
            inside++;
        }
    }
    fprintf(stderr, "race: %d opened inside, %d refused, %d escaped\n", inside, refused, escaped);
    printf("race: %d rounds, %d escaped\n", rounds, escaped);
    return escaped ? 1 : 0;
}
