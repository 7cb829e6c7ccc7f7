/* SPDX-License-Identifier: MIT */
/* readdir.c - directory listing: many entries with long names (several fd_readdir buffers,
 * entries cut at buffer ends), cookies through telldir/seekdir, rewinddir, entry types,
 * and a directory changed between listings. Names are sorted before printing, so the output
 * does not depend on the file system's order and matches the native build.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFILES 700

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists `path` (without "." and ".."), sorted; returns the count and fills names[]. */
static int list(const char *path, char **names, int cap)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    CHECK(d != NULL);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < cap)
            names[n] = strdup(e->d_name);
        n++;
    }
    CHECK(closedir(d) == 0);
    if (n <= cap)
        qsort(names, (size_t)n, sizeof *names, cmp);
    return n;
}

static void many(void)
{
    static char *names[NFILES + 10];
    char name[256];
    unsigned sum = 0; /* 32 bits on both builds */

    CHECK(mkdir("many", 0755) == 0);
    for (int i = 0; i < NFILES; i++) {
        /* long names so that fd_readdir needs many buffers and cuts entries short */
        snprintf(name, sizeof name, "many/file-%04d-%.*s", i, 40 + i % 150,
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        CHECK(fd >= 0);
        close(fd);
    }
    int n = list("many", names, NFILES + 10);
    CHECK(n == NFILES);
    for (int i = 0; i < n && i < NFILES; i++) {
        CHECK(strncmp(names[i], "file-", 5) == 0 && atoi(names[i] + 5) == i);
        sum = sum * 33 + strlen(names[i]);
        free(names[i]);
    }
    printf("many: %d entries, length sum %u\n", n, sum);
}

static void cookies(void)
{
    DIR *d = opendir("many");
    struct dirent *e;
    char first[20][256], again[20][256];
    long pos;

    CHECK(d != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(readdir(d) != NULL);
    pos = telldir(d);
    for (int i = 0; i < 20; i++) {
        e = readdir(d);
        CHECK(e != NULL);
        snprintf(first[i], sizeof first[i], "%s", e ? e->d_name : "");
    }
    /* read far ahead, then go back to the saved position */
    for (int i = 0; i < 300; i++)
        CHECK(readdir(d) != NULL);
    seekdir(d, pos);
    for (int i = 0; i < 20; i++) {
        e = readdir(d);
        CHECK(e != NULL);
        snprintf(again[i], sizeof again[i], "%s", e ? e->d_name : "");
        CHECK(strcmp(first[i], again[i]) == 0);
    }
    rewinddir(d);
    int count = 0;
    while ((e = readdir(d)) != NULL)
        count++;
    CHECK(count == NFILES + 2);
    CHECK(closedir(d) == 0);
    printf("cookies: %d entries after rewind\n", count);
}

static void types(void)
{
    static char *names[16];
    DIR *d;
    struct dirent *e;
    int seen = 0;

    CHECK(mkdir("kinds", 0755) == 0);
    CHECK(mkdir("kinds/dir", 0755) == 0);
    int fd = open("kinds/file", O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);
    CHECK(symlink("file", "kinds/link") == 0);
    d = opendir("kinds");
    CHECK(d != NULL);
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "dir") == 0)
            seen |= (e->d_type == DT_DIR) << 0;
        else if (strcmp(e->d_name, "file") == 0)
            seen |= (e->d_type == DT_REG) << 1;
        else if (strcmp(e->d_name, "link") == 0)
            seen |= (e->d_type == DT_LNK) << 2;
        else if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            seen |= (e->d_type == DT_DIR) << 3;
    }
    if (d != NULL)
        closedir(d);
    CHECK(seen == 15);

    /* the listing follows changes made between two opendir calls */
    CHECK(unlink("kinds/link") == 0);
    CHECK(rename("kinds/file", "kinds/renamed") == 0);
    int n = list("kinds", names, 16);
    CHECK(n == 2);
    for (int i = 0; i < n && i < 16; i++) {
        printf("kinds: %s\n", names[i]);
        free(names[i]);
    }
    /* an empty directory lists only . and .. */
    CHECK(mkdir("empty", 0755) == 0);
    CHECK(list("empty", names, 16) == 0);
    CHECK(opendir("kinds/renamed") == NULL && errno == ENOTDIR);
    CHECK(opendir("nope") == NULL && errno == ENOENT);
}

int main(void)
{
    many();
    cookies();
    types();
    return finish("readdir");
}
