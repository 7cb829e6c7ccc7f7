/* SPDX-License-Identifier: MIT */
/* sockets.c - a guest server on a socket the host listens on (waft run --tcplisten): fd 3
 * is the listening socket. Checks that a non-blocking accept with nobody waiting says
 * EAGAIN, then accepts one client (asking for a non-blocking socket), peeks and reads a line,
 * answers it upper-cased, shuts down its sending side, sees the client close, and closes. WASI
 * only.
 */
#define _DEFAULT_SOURCE
#include "common.h"

#include <ctype.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    struct stat st;
    char line[256], peek[4];
    size_t len = 0;

    CHECK(fstat(3, &st) == 0 && S_ISSOCK(st.st_mode));
    /* a non-blocking listener with nobody waiting */
    int fl = fcntl(3, F_GETFL);
    CHECK(fcntl(3, F_SETFL, fl | O_NONBLOCK) == 0);
    CHECK(accept(3, NULL, NULL) == -1 && errno == EAGAIN);
    CHECK(fcntl(3, F_SETFL, fl) == 0);
    printf("listening\n");
    fflush(stdout);
    /* blocks until the client connects; the new socket starts non-blocking */
    int c = accept4(3, NULL, NULL, SOCK_NONBLOCK);
    CHECK(c >= 0);
    CHECK((fcntl(c, F_GETFL) & O_NONBLOCK) != 0);
    CHECK(fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK) == 0);
    CHECK(fstat(c, &st) == 0 && S_ISSOCK(st.st_mode));
    CHECK(recv(c, peek, sizeof peek, MSG_PEEK) > 0);
    while (len < sizeof line - 1) {
        ssize_t n = recv(c, line + len, 1, 0);
        CHECK(n == 1);
        if (n != 1)
            break;
        if (line[len++] == '\n')
            break;
    }
    line[len] = '\0';
    CHECK(len > 0 && peek[0] == line[0]);
    printf("got: %s", line);
    for (size_t i = 0; i < len; i++)
        line[i] = (char)toupper((unsigned char)line[i]);
    CHECK(send(c, line, len, 0) == (ssize_t)len);
    CHECK(shutdown(c, SHUT_WR) == 0);
    CHECK(recv(c, line, sizeof line, 0) == 0); /* the client closed */
    CHECK(close(c) == 0);
    CHECK(shutdown(3, 77) == -1 && errno == EINVAL);
    return finish("sockets");
}
