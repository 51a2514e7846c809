/* SPDX-License-Identifier: MIT */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "socket-util.h"

static int listen_unix(const char *path, mode_t mode) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
                return -EINVAL;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 ||
            listen(fd, SOMAXCONN) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int split_host_port(const char *address, char **ret_host, char **ret_port) {
        const char *colon, *host = address;
        size_t hlen;

        if (address[0] == '[') {
                const char *end = strchr(address, ']');

                if (!end || end[1] != ':')
                        return -EINVAL;
                host = address + 1;
                hlen = end - host;
                colon = end + 1;
        } else {
                colon = strrchr(address, ':');
                if (!colon)
                        return -EINVAL;
                hlen = colon - address;
        }
        if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
                return -EINVAL;
        *ret_host = strndup(host, hlen);
        *ret_port = strdup(colon + 1);
        if (!*ret_host || !*ret_port) {
                free(*ret_host);
                free(*ret_port);
                return -ENOMEM;
        }
        return 0;
}

static int listen_tcp(const char *address) {
        _cleanup_free_ char *host = NULL, *port = NULL;
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *ai = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r, one = 1;

        r = split_host_port(address, &host, &port);
        if (r < 0)
                return r;
        if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 || !ai)
                return -EINVAL;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                r = -errno;
        else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                 bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0)
                r = -errno;
        freeaddrinfo(ai);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int socket_listen_address(const char *address, mode_t unix_mode) {
        if (strneq(address, "unix:", 5))
                return listen_unix(address + 5, unix_mode);
        if (address[0] == '/')
                return listen_unix(address, unix_mode);
        return listen_tcp(address);
}
