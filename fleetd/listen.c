/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "listen.h"
#include "socket-util.h"
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

int listeners_open(Listeners *l, char *const *addresses, mode_t unix_mode,
                   const char **reterr_address) {
        int r;

        STRV_FOREACH(a, addresses) {
                int fd = socket_listen_address(*a, unix_mode);

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

uint16_t listeners_tcp_port(const Listeners *l) {
        for (size_t i = 0; l && i < l->n; i++) {
                struct sockaddr_storage sa;
                socklen_t len = sizeof(sa);

                if (getsockname(l->fds[i], (struct sockaddr *) &sa, &len) < 0)
                        continue;
                if (sa.ss_family == AF_INET)
                        return ntohs(((struct sockaddr_in *) &sa)->sin_port);
                if (sa.ss_family == AF_INET6)
                        return ntohs(((struct sockaddr_in6 *) &sa)->sin6_port);
        }
        return 0;
}
