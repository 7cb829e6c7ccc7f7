// SPDX-License-Identifier: MIT
/* spawn.c - bench helper: runs a command and reports its CPU time and peak RSS.
 *
 *   usage: spawn REPORT CMD [ARGS...]
 *
 * Forks, execs CMD (standard streams and working directory inherited), waits for it with
 * wait4 and writes "exit-status user-microseconds sys-microseconds maxrss-KiB" to the
 * file REPORT. It exists because Linux carries a process's peak RSS across exec: a
 * child started straight from the Python driver would report at least the driver's
 * RSS, so bench/run.py starts every run through this small (static) program instead. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct rusage ru;
    int status, code;
    pid_t pid;
    FILE *report;

    if (argc < 3) {
        fprintf(stderr, "usage: spawn REPORT CMD [ARGS...]\n");
        return 2;
    }
    pid = fork();
    if (pid < 0) {
        perror("spawn: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("spawn: wait4");
            return 1;
        }
    }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    report = fopen(argv[1], "w");
    if (report == NULL) {
        perror(argv[1]);
        return 1;
    }
    fprintf(report, "%d %lld %lld %ld\n", code,
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss);
    return fclose(report) == 0 ? 0 : 1;
}
