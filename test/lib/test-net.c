/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "test-net.h"

static int bind_loopback(int flags, int *ret_port) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof(sa);
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);

        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &l) < 0)
                return -errno;
        *ret_port = ntohs(sa.sin_port);
        return TAKE_FD(fd);
}

int test_listen_loopback(int *ret_port) {
        _cleanup_close_ int fd = -EBADF;
        int port;

        fd = bind_loopback(SOCK_NONBLOCK, &port);
        if (fd < 0)
                return fd;
        if (listen(fd, 64) < 0)
                return -errno;
        *ret_port = port;
        return TAKE_FD(fd);
}

int test_free_port(void) {
        int port, fd = bind_loopback(0, &port);

        if (fd < 0)
                return fd;
        (void) close(fd);
        return port;
}
