/* SPDX-License-Identifier: MIT */
/* tree.c - an ordinary program, the done-criterion of issue 3: reads its arguments, its
 * environment and all of stdin, walks a directory tree, writes files, and exits with a
 * code. run.sh runs the wasm build under `waft run` and the native build on the same input
 * and requires identical stdout, stderr, exit status and written files.
 *
 *   usage: tree INPUT_DIR OUTPUT_DIR EXIT_CODE [MORE_ARGS...]
 *
 * Writes OUTPUT_DIR/report.txt (what it printed) and a copy of every regular file of
 * INPUT_DIR under OUTPUT_DIR/copy/, with the same relative paths.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static FILE *report;

/* Prints to stdout and to the report file. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (report != NULL) {
        va_start(ap, fmt);
        vfprintf(report, fmt, ap);
        va_end(ap);
    }
}

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies `from` to `to`; returns the hash of the content, or 0 on error. */
static uint32_t copy_file(const char *from, const char *to, uint64_t *out_size)
{
    unsigned char buf[8192];
    uint32_t h = 2166136261u;
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t n;

    *out_size = 0;
    if (in < 0 || out < 0) {
        fprintf(stderr, "tree: cannot copy %s\n", from);
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
        return 0;
    }
    while ((n = read(in, buf, sizeof buf)) > 0) {
        h = fnv(h, buf, (size_t)n);
        *out_size += (uint64_t)n;
        if (write(out, buf, (size_t)n) != n)
            fprintf(stderr, "tree: short write to %s\n", to);
    }
    close(in);
    close(out);
    return h;
}

static int files, dirs, links;

static void walk(const char *in_root, const char *out_root, const char *rel, int depth)
{
    char path[2100], out[2100];
    char *names[256];
    int n = 0;
    struct dirent *e;

    snprintf(path, sizeof path, "%s%s%s", in_root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "tree: cannot open %s\n", path);
        return;
    }
    while ((e = readdir(d)) != NULL && n < 256) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) {
        char sub[1024];
        struct stat st;
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        snprintf(path, sizeof path, "%s/%s", in_root, sub);
        snprintf(out, sizeof out, "%s/copy/%s", out_root, sub);
        if (lstat(path, &st) != 0) {
            fprintf(stderr, "tree: cannot stat %s\n", path);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            dirs++;
            say("%*sdir  %s/\n", depth * 2, "", names[i]);
            mkdir(out, 0755);
            walk(in_root, out_root, sub, depth + 1);
        } else if (S_ISLNK(st.st_mode)) {
            char target[256];
            ssize_t len = readlink(path, target, sizeof target - 1);
            target[len > 0 ? len : 0] = '\0';
            links++;
            say("%*slink %s -> %s\n", depth * 2, "", names[i], target);
        } else if (S_ISREG(st.st_mode)) {
            uint64_t size;
            uint32_t h = copy_file(path, out, &size);
            files++;
            say("%*sfile %s (%llu bytes, %08x)\n", depth * 2, "", names[i],
                (unsigned long long)size, (unsigned)h);
        }
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    char path[1024];
    static unsigned char in[1 << 20];
    size_t len = 0;
    ssize_t n;
    unsigned lines = 0, words = 0;
    int in_word = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: tree INPUT_DIR OUTPUT_DIR EXIT_CODE [MORE_ARGS...]\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/copy", argv[2]);
    if (mkdir(argv[2], 0755) != 0 || mkdir(path, 0755) != 0) {
        fprintf(stderr, "tree: cannot create %s\n", argv[2]);
        return 2;
    }
    snprintf(path, sizeof path, "%s/report.txt", argv[2]);
    report = fopen(path, "w");

    say("args: %d\n", argc - 1);
    for (int i = 1; i < argc; i++)
        say("  argv[%d] = %s\n", i, argv[i]);

    int nenv = 0;
    char *env[64];
    for (char **e = environ; *e != NULL && nenv < 64; e++)
        env[nenv++] = *e;
    qsort(env, (size_t)nenv, sizeof *env, cmp);
    say("environment: %d\n", nenv);
    for (int i = 0; i < nenv; i++)
        say("  %s\n", env[i]);
    const char *greeting = getenv("GREETING");
    say("GREETING is %s\n", greeting != NULL ? greeting : "(unset)");

    while (len < sizeof in && (n = read(0, in + len, sizeof in - len)) > 0)
        len += (size_t)n;
    for (size_t i = 0; i < len; i++) {
        lines += in[i] == '\n';
        int space = in[i] == ' ' || in[i] == '\n' || in[i] == '\t';
        words += !space && !in_word;
        in_word = !space;
    }
    say("stdin: %u bytes, %u lines, %u words, hash %08x\n", (unsigned)len, lines, words,
        (unsigned)fnv(2166136261u, in, len));

    say("tree of %s:\n", argv[1]);
    walk(argv[1], argv[2], "", 1);
    say("%d directories, %d files, %d links\n", dirs, files, links);
    fprintf(stderr, "tree: done, exiting with %s\n", argv[3]);
    if (report != NULL)
        fclose(report);
    return atoi(argv[3]);
}
