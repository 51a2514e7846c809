/* SPDX-License-Identifier: MIT */
/*
 * tcp-proxy — a fault-injecting TCP proxy for the e2e tests (test/e2e/07NN-*.sh).
 *
 *   tcp-proxy LISTEN_ADDR UPSTREAM_FILE PORT_FILE
 *
 * Listens on LISTEN_ADDR (IPv4 "127.0.0.1" or "127.0.0.1:PORT"; port 0 or none = any free
 * port), writes the port it got to PORT_FILE, and forwards each connection to the
 * "HOST:PORT" read from UPSTREAM_FILE when the connection arrives (so the upstream can be set
 * after the proxy has started; while the file is empty, connections are closed at once).
 *
 *   SIGUSR1  cut (reset): every open connection is reset (both sides); new connections are
 *                  accepted but blackholed: nothing is read or forwarded
 *   SIGHUP   cut (silent): open connections stay open but nothing is forwarded any more in
 *                  either direction (packets dropped, no RST: what a real partition looks
 *                  like to TCP); new connections are blackholed as above
 *   SIGUSR2  heal: frozen connections forward again (what TCP retransmission does once the
 *                  network is back), blackholed ones are connected upstream and forwarded
 *   SIGTERM  exit
 *
 * Built by the test that uses it: cc -O2 -Wall -o tcp-proxy test/tools/tcp-proxy.c
 * Events are logged on stderr with wall-clock timestamps (ms).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAXC 512
#define BUFSZ 65536

struct conn {
        int a, b;   /* client, upstream; -1 if none */
        int hole;   /* blackholed client (b == -1) */
        int frozen; /* open, but nothing forwarded until heal */
};

static struct conn conns[MAXC];
static volatile sig_atomic_t want_cut, want_freeze, want_heal, want_exit;
static int cut;

static void logm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logm(const char *fmt, ...) {
        struct timeval tv;
        va_list ap;
        gettimeofday(&tv, NULL);
        fprintf(stderr, "%lld.%03ld tcp-proxy: ", (long long) tv.tv_sec, (long) tv.tv_usec / 1000);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void on_sig(int s) {
        if (s == SIGUSR1)
                want_cut = 1;
        else if (s == SIGHUP)
                want_freeze = 1;
        else if (s == SIGUSR2)
                want_heal = 1;
        else
                want_exit = 1;
}

static void close_conn(struct conn *c) {
        struct linger l = {1, 0}; /* RST: the peer notices at once */
        if (c->a >= 0) {
                setsockopt(c->a, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                close(c->a);
        }
        if (c->b >= 0) {
                setsockopt(c->b, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                close(c->b);
        }
        c->a = c->b = -1;
        c->hole = c->frozen = 0;
}

static int parse_addr(const char *s, struct sockaddr_in *sa) {
        char host[64];
        const char *colon = strrchr(s, ':');
        size_t n = colon ? (size_t) (colon - s) : strlen(s);
        if (n == 0 || n >= sizeof host)
                return -1;
        memcpy(host, s, n);
        host[n] = 0;
        memset(sa, 0, sizeof *sa);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(colon ? (unsigned short) atoi(colon + 1) : 0);
        return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int upstream(const char *file, struct sockaddr_in *sa) {
        char buf[128] = "";
        FILE *f = fopen(file, "re");
        if (!f)
                return -1;
        if (!fgets(buf, sizeof buf, f))
                buf[0] = 0;
        fclose(f);
        buf[strcspn(buf, " \r\n")] = 0;
        if (strncmp(buf, "http://", 7) == 0)
                memmove(buf, buf + 7, strlen(buf + 7) + 1);
        return buf[0] && parse_addr(buf, sa) == 0 && sa->sin_port ? 0 : -1;
}

static int connect_upstream(struct conn *c, const char *file) {
        struct sockaddr_in sa;
        int one = 1;
        if (upstream(file, &sa) < 0)
                return -1;
        c->b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->b < 0 || connect(c->b, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -1;
        setsockopt(c->a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(c->b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return 0;
}

/* copy what is readable on from to to; -1 when the connection is over */
static int pump(int from, int to) {
        static char buf[BUFSZ];
        ssize_t n = read(from, buf, sizeof buf), off = 0;
        if (n <= 0)
                return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        while (off < n) { /* blocking write: the peers are local and read promptly */
                ssize_t w = write(to, buf + off, (size_t) (n - off));
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                off += w;
        }
        return 0;
}

int main(int argc, char **argv) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        int ls, one = 1, i;
        struct sigaction act = {.sa_handler = on_sig};
        FILE *pf;

        if (argc != 4) {
                fprintf(stderr, "usage: %s LISTEN_ADDR[:PORT] UPSTREAM_FILE PORT_FILE\n", argv[0]);
                return 2;
        }
        if (parse_addr(argv[1], &sa) < 0) {
                fprintf(stderr, "bad address %s\n", argv[1]);
                return 2;
        }
        ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ls < 0 || bind(ls, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(ls, 128) < 0) {
                perror("listen");
                return 1;
        }
        getsockname(ls, (struct sockaddr *) &sa, &sl);
        pf = fopen(argv[3], "we");
        if (!pf) {
                perror(argv[3]);
                return 1;
        }
        fprintf(pf, "%u\n", ntohs(sa.sin_port));
        fclose(pf);
        sigaction(SIGUSR1, &act, NULL);
        sigaction(SIGUSR2, &act, NULL);
        sigaction(SIGTERM, &act, NULL);
        sigaction(SIGINT, &act, NULL);
        sigaction(SIGHUP, &act, NULL);
        signal(SIGPIPE, SIG_IGN);
        for (i = 0; i < MAXC; i++)
                conns[i].a = conns[i].b = -1;
        logm("listening on port %u", ntohs(sa.sin_port));

        while (!want_exit) {
                struct pollfd p[1 + 2 * MAXC];
                int idx[1 + 2 * MAXC], np = 0;

                if (want_cut) {
                        int n = 0;
                        want_cut = 0;
                        for (i = 0; i < MAXC; i++)
                                if (conns[i].a >= 0) {
                                        close_conn(&conns[i]);
                                        n++;
                                }
                        cut = 1;
                        logm("cut (%d connection(s) closed, new ones blackholed)", n);
                }
                if (want_freeze) {
                        int n = 0;
                        want_freeze = 0;
                        for (i = 0; i < MAXC; i++)
                                if (conns[i].a >= 0 && !conns[i].hole) {
                                        conns[i].frozen = 1;
                                        n++;
                                }
                        cut = 1;
                        logm("cut, silent (%d connection(s) frozen, new ones blackholed)", n);
                }
                if (want_heal) {
                        int nf = 0, nh = 0;
                        want_heal = 0;
                        cut = 0;
                        for (i = 0; i < MAXC; i++) {
                                if (conns[i].frozen) {
                                        conns[i].frozen = 0;
                                        nf++;
                                }
                                if (conns[i].hole) {
                                        conns[i].hole = 0;
                                        if (connect_upstream(&conns[i], argv[2]) < 0)
                                                close_conn(&conns[i]);
                                        else
                                                nh++;
                                }
                        }
                        logm("heal (%d frozen connection(s) resumed, %d blackholed one(s) "
                             "connected)",
                             nf, nh);
                }
                p[np].fd = ls;
                p[np].events = POLLIN;
                idx[np++] = -1;
                for (i = 0; i < MAXC; i++) {
                        if (conns[i].a < 0 || conns[i].hole || conns[i].frozen)
                                continue;
                        p[np].fd = conns[i].a;
                        p[np].events = POLLIN;
                        idx[np++] = i;
                        p[np].fd = conns[i].b;
                        p[np].events = POLLIN;
                        idx[np++] = i;
                }
                if (poll(p, (nfds_t) np, 200) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("poll");
                        return 1;
                }
                for (i = 1; i < np; i++) {
                        struct conn *c = &conns[idx[i]];
                        if (!p[i].revents || c->a < 0)
                                continue;
                        if (pump(p[i].fd, p[i].fd == c->a ? c->b : c->a) < 0)
                                close_conn(c);
                }
                if (p[0].revents & POLLIN) {
                        int fd, slot;
                        while ((fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                                for (slot = 0; slot < MAXC && conns[slot].a >= 0; slot++)
                                        ;
                                if (slot == MAXC) {
                                        close(fd);
                                        continue;
                                }
                                conns[slot].a = fd;
                                if (cut) {
                                        conns[slot].hole = 1;
                                        continue;
                                }
                                if (connect_upstream(&conns[slot], argv[2]) < 0)
                                        close_conn(&conns[slot]);
                        }
                }
        }
        for (i = 0; i < MAXC; i++)
                if (conns[i].a >= 0)
                        close_conn(&conns[i]);
        logm("exit");
        return 0;
}
