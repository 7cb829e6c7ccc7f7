/* SPDX-License-Identifier: MIT */
/* files.c - regular files: create, read, write, seek/tell, pread/pwrite, truncate, append
 * mode, large writes (write and writev), stat, rename, unlink, hard and symbolic links,
 * directories, times, sync, allocate and advise. Output is compared with the native build.
 * Run in an empty directory that is preopened as ".".
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "common.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n;
    return close(fd) == 0 && ok ? 0 : -1;
}

/* Reads a whole small file into buf (NUL-terminated); returns its length or -1. */
static long read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return (long)n;
}

static void basics(void)
{
    char buf[256];
    int fd = open("a.txt", O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello, world\n", 13) == 13);
    CHECK(lseek(fd, 0, SEEK_CUR) == 13);
    CHECK(lseek(fd, 7, SEEK_SET) == 7);
    CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "world", 5) == 0);
    CHECK(lseek(fd, -6, SEEK_END) == 7);
    CHECK(lseek(fd, 0, SEEK_END) == 13);
    CHECK(read(fd, buf, sizeof buf) == 0); /* end of file */
    CHECK(lseek(fd, -100, SEEK_SET) == -1 && errno == EINVAL);
    /* a hole: seek past the end and write */
    CHECK(lseek(fd, 20, SEEK_SET) == 20);
    CHECK(write(fd, "!", 1) == 1);
    CHECK(pread(fd, buf, 8, 13) == 8 && memcmp(buf, "\0\0\0\0\0\0\0!", 8) == 0);
    CHECK(close(fd) == 0);
    CHECK(close(fd) == -1 && errno == EBADF);

    CHECK(open("a.txt", O_RDWR | O_CREAT | O_EXCL, 0644) == -1 && errno == EEXIST);
    CHECK(open("missing.txt", O_RDONLY) == -1 && errno == ENOENT);
    CHECK(open("a.txt/x", O_RDONLY) == -1 && errno == ENOTDIR);
    CHECK(open("a.txt", O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR);
    printf("basics done\n");
}

static void positioned(void)
{
    char buf[64];
    int fd = open("p.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(pwrite(fd, "AB", 2, 3) == 2);
    CHECK(lseek(fd, 0, SEEK_CUR) == 10); /* pwrite leaves the offset alone */
    CHECK(pread(fd, buf, 4, 2) == 4 && memcmp(buf, "2AB5", 4) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 10);
    CHECK(pread(fd, buf, 10, 100) == 0);
    CHECK(pwrite(fd, "Z", 1, 15) == 1);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 16);
    /* vectored */
    struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(writev(fd, iov, 3) == 5);
    char x[2], y[4];
    struct iovec in[2] = { { x, 2 }, { y, 4 } };
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(readv(fd, in, 2) == 6 && memcmp(x, "ab", 2) == 0 && memcmp(y, "cde5", 4) == 0);
    CHECK(close(fd) == 0);
    printf("positioned done\n");
}

static void truncation(void)
{
    struct stat st;
    char buf[64];
    CHECK(write_file("t.txt", "abcdefghij") == 0);
    CHECK(truncate("t.txt", 4) == 0);
    CHECK(stat("t.txt", &st) == 0 && st.st_size == 4);
    int fd = open("t.txt", O_RDWR);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 8) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 8);
    CHECK(read(fd, buf, sizeof buf) == 8 && memcmp(buf, "abcd\0\0\0\0", 8) == 0);
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    CHECK(close(fd) == 0);
    /* O_TRUNC */
    CHECK(write_file("t.txt", "xyz") == 0);
    fd = open("t.txt", O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    printf("truncation done\n");
}

static void append_mode(void)
{
    char buf[64];
    CHECK(write_file("log.txt", "one\n") == 0);
    int fd = open("log.txt", O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "two\n", 4) == 4); /* appended despite the seek */
    CHECK((fcntl(fd, F_GETFL) & O_APPEND) != 0);
    /* turning append off and on */
    CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_APPEND) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_APPEND) == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "ONE", 3) == 3);
    CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND) == 0);
    CHECK(write(fd, "three\n", 6) == 6);
    CHECK(close(fd) == 0);
    CHECK(read_file("log.txt", buf, sizeof buf) == 14);
    printf("append: %s", buf);
    /* fopen "a" */
    FILE *f = fopen("log.txt", "a");
    CHECK(f != NULL);
    fprintf(f, "four\n");
    fclose(f);
    CHECK(read_file("log.txt", buf, sizeof buf) == 19);
    printf("append done\n");
}

static void large(void)
{
    const size_t n = 6u << 20; /* 6 MiB in one write */
    unsigned char *p = malloc(n), *q = malloc(n);
    struct stat st;
    uint32_t sum = 0;
    CHECK(p != NULL && q != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 2654435761u >> 24);
    int fd = open("big.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        CHECK(w > 0);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    /* and the same again through many iovecs */
    struct iovec iov[64];
    for (int i = 0; i < 64; i++) {
        iov[i].iov_base = p + (size_t)i * (n / 64);
        iov[i].iov_len = n / 64;
    }
    ssize_t w = writev(fd, iov, 64);
    CHECK(w == (ssize_t)n);
    CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)(2 * n));
    CHECK(lseek(fd, (off_t)n, SEEK_SET) == (off_t)n);
    done = 0;
    while (done < n) {
        ssize_t r = read(fd, q + done, n - done);
        CHECK(r > 0);
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    CHECK(memcmp(p, q, n) == 0);
    for (size_t i = 0; i < n; i++)
        sum = sum * 31 + q[i];
    printf("large: %lu bytes, sum %08lx\n", (unsigned long)(2 * n), (unsigned long)sum);
    close(fd);
    free(p);
    free(q);
}

static void names(void)
{
    struct stat st, st2;
    char buf[256];

    CHECK(write_file("old.txt", "content") == 0);
    CHECK(rename("old.txt", "new.txt") == 0);
    CHECK(access("old.txt", F_OK) == -1 && errno == ENOENT);
    CHECK(read_file("new.txt", buf, sizeof buf) == 7);
    /* rename over an existing file */
    CHECK(write_file("other.txt", "other") == 0);
    CHECK(rename("other.txt", "new.txt") == 0);
    CHECK(read_file("new.txt", buf, sizeof buf) == 5 && strcmp(buf, "other") == 0);
    CHECK(rename("missing", "x") == -1 && errno == ENOENT);

    /* hard links */
    CHECK(link("new.txt", "hard.txt") == 0);
    CHECK(stat("new.txt", &st) == 0 && st.st_nlink == 2);
    CHECK(stat("hard.txt", &st2) == 0 && st2.st_ino == st.st_ino);
    CHECK(link("new.txt", "hard.txt") == -1 && errno == EEXIST);
    CHECK(unlink("hard.txt") == 0);
    CHECK(stat("new.txt", &st) == 0 && st.st_nlink == 1);
    CHECK(unlink("hard.txt") == -1 && errno == ENOENT);

    /* symbolic links */
    CHECK(symlink("new.txt", "sym") == 0);
    CHECK(symlink("new.txt", "sym") == -1 && errno == EEXIST);
    ssize_t n = readlink("sym", buf, sizeof buf);
    CHECK(n == 7 && memcmp(buf, "new.txt", 7) == 0);
    CHECK(readlink("sym", buf, 3) == 3 && memcmp(buf, "new", 3) == 0); /* truncated */
    CHECK(readlink("new.txt", buf, sizeof buf) == -1 && errno == EINVAL);
    CHECK(lstat("sym", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat("sym", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5);
    CHECK(read_file("sym", buf, sizeof buf) == 5);
    CHECK(open("sym", O_RDONLY | O_NOFOLLOW) == -1 && errno == ELOOP);
    CHECK(symlink("nowhere", "dangling") == 0);
    CHECK(stat("dangling", &st) == -1 && errno == ENOENT);
    CHECK(lstat("dangling", &st) == 0 && S_ISLNK(st.st_mode));
    /* creating through a dangling link creates its target */
    CHECK(write_file("dangling", "made") == 0);
    CHECK(read_file("nowhere", buf, sizeof buf) == 4);
    CHECK(symlink("loop2", "loop1") == 0 && symlink("loop1", "loop2") == 0);
    CHECK(open("loop1", O_RDONLY) == -1 && errno == ELOOP);
    CHECK(unlink("sym") == 0 && unlink("dangling") == 0 && unlink("nowhere") == 0);
    CHECK(unlink("loop1") == 0 && unlink("loop2") == 0);
    printf("names done\n");
}

static void directories(void)
{
    struct stat st;
    CHECK(mkdir("d", 0755) == 0);
    CHECK(mkdir("d", 0755) == -1 && errno == EEXIST);
    CHECK(mkdir("d/e", 0755) == 0);
    CHECK(mkdir("nope/e", 0755) == -1 && errno == ENOENT);
    CHECK(stat("d", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("d/", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(write_file("d/e/f.txt", "f") == 0);
    CHECK(rmdir("d") == -1 && errno == ENOTEMPTY);
    CHECK(rmdir("d/e/f.txt") == -1 && errno == ENOTDIR);
    CHECK(unlink("d/e") == -1 && (errno == EISDIR || errno == EPERM));
    CHECK(stat("d/e/f.txt/", &st) == -1 && errno == ENOTDIR);
    CHECK(stat("d/./e/../e/f.txt", &st) == 0 && st.st_size == 1);
    CHECK(rename("d/e", "d/g") == 0);
    CHECK(stat("d/g/f.txt", &st) == 0);
    CHECK(rename("d/g/f.txt", "d/f.txt") == 0);
    CHECK(rmdir("d/g") == 0);
    CHECK(rename("d/f.txt", "d/h/") == -1 && errno == ENOTDIR);
    CHECK(unlink("d/f.txt") == 0);
    CHECK(rmdir("d/") == 0);
    CHECK(stat("d", &st) == -1 && errno == ENOENT);
    printf("directories done\n");
}

static void times_and_sync(void)
{
    struct stat st;
    struct timeval tv[2] = { { 1000000000, 500000 }, { 1234567890, 250000 } };
    CHECK(write_file("time.txt", "t") == 0);
    CHECK(utimes("time.txt", tv) == 0);
    CHECK(stat("time.txt", &st) == 0);
    printf("times: atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec,
           (long)st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1500000000, 7 } };
    int fd = open("time.txt", O_RDWR);
    CHECK(fd >= 0);
    CHECK(futimens(fd, ts) == 0);
    CHECK(fstat(fd, &st) == 0);
    printf("times: atime %lld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    CHECK(fsync(fd) == 0);
    CHECK(fdatasync(fd) == 0);
    CHECK(posix_fallocate(fd, 0, 4096) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 4096);
    CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0);
    CHECK(close(fd) == 0);
    /* symlink times without following */
    CHECK(symlink("time.txt", "tl") == 0);
    struct timespec lts[2] = { { 1100000000, 0 }, { 1100000000, 0 } };
    CHECK(utimensat(AT_FDCWD, "tl", lts, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(lstat("tl", &st) == 0 && st.st_mtim.tv_sec == 1100000000);
    CHECK(stat("tl", &st) == 0 && st.st_mtim.tv_sec != 1100000000 && S_ISREG(st.st_mode));
    CHECK(unlink("tl") == 0);
    printf("times done\n");
}

int main(void)
{
    basics();
    positioned();
    truncation();
    append_mode();
    large();
    names();
    directories();
    times_and_sync();
    return finish("files");
}
