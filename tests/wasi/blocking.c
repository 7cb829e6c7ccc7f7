/* SPDX-License-Identifier: MIT */
/* blocking.c - guest of host_interrupt.c: opens some files (so the host can inspect the
 * descriptor table while it is suspended), blocks reading a line from stdin, then sleeps
 * 300 ms, then prints what it read and exits with 5. WASI only.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    char buf[64], three[3];
    int data = open("data.txt", O_RDONLY);
    int log = open("log.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
    DIR *d = opendir(".");
    if (data < 0 || log < 0 || d == NULL || read(data, three, 3) != 3 || readdir(d) == NULL)
        return 2;
    ssize_t n = read(0, buf, sizeof buf - 1); /* blocks: the host interrupts here */
    if (n <= 0)
        return 3;
    buf[n] = '\0';
    struct timespec ts = { 0, 300000000 };
    nanosleep(&ts, NULL); /* blocks in poll_oneoff: interrupted again */
    printf("got %s", buf);
    return 5;
}
