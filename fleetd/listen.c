/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "listen.h"
#include "strv.h"

static int append_fd(Listeners *l, int fd) {
        int *a = realloc(l->fds, (l->n + 1) * sizeof(int));

        if (!a)
                return -ENOMEM;
        l->fds = a;
        l->fds[l->n++] = fd;
        return 0;
}

int listeners_from_systemd(Listeners *l) {
        int n = sd_listen_fds(true);

        if (n <= 0)
                return n;
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;

                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                if (append_fd(l, fd) < 0)
                        return -ENOMEM;
        }
        l->activated = true;
        return n;
}

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

static int listen_address(const char *address, mode_t mode) {
        if (strneq(address, "unix:", 5))
                return listen_unix(address + 5, mode);
        if (address[0] == '/')
                return listen_unix(address, mode);
        return listen_tcp(address);
}

int listeners_open(Listeners *l, char *const *addresses, mode_t unix_mode,
                   const char **reterr_address) {
        int r;

        STRV_FOREACH(a, addresses) {
                int fd = listen_address(*a, unix_mode);

                if (fd < 0) {
                        *reterr_address = *a;
                        listeners_close(l);
                        return fd;
                }
                r = append_fd(l, fd);
                if (r < 0) {
                        (void) close(fd);
                        listeners_close(l);
                        return r;
                }
        }
        l->addresses = strv_copy(addresses);
        if (!l->addresses) {
                listeners_close(l);
                return -ENOMEM;
        }
        return 0;
}

void listeners_close(Listeners *l) {
        for (size_t i = 0; i < l->n; i++)
                (void) close(l->fds[i]);
        free(l->fds);
        strv_free(l->addresses);
        *l = (Listeners){};
}
