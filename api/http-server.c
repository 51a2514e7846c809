/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "http-server.h"
#include "log.h"

#define MAX_LISTENERS 16

typedef struct Listener {
        HttpServer *server;
        struct MHD_Daemon *daemon;
        sd_event_source *timer;
        /* MHD runs in external select mode: after every MHD_run its wanted fds are mirrored
         * into level-triggered io sources, indexed by fd. (Its external epoll mode stalls on
         * large uploads: the inner epoll is edge-triggered.) */
        sd_event_source *fd_sources[FD_SETSIZE];
        int max_fd;
        int fd;
} Listener;

struct HttpServer {
        sd_event *event;
        char *server_name;
        HttpHandler handler;
        void *userdata;
        Listener listeners[MAX_LISTENERS];
        size_t n_listeners;
};

struct HttpRequest {
        Listener *listener;
        struct MHD_Connection *connection;
        char *method;
        char *path;
        char *body;
        size_t body_len;
        bool too_large;
        bool dispatched;
        bool suspended;
        bool replied;
        struct MHD_Response *response; /* built by http_request_reply, queued by MHD */
        unsigned status;
};

static void listener_update_timer(Listener *l);

static void request_free(HttpRequest *req) {
        if (!req)
                return;
        if (req->response)
                MHD_destroy_response(req->response);
        free(req->method);
        free(req->path);
        free(req->body);
        free(req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        request_free(*con_cls);
        *con_cls = NULL;
}

static int append_body(HttpRequest *req, const char *data, size_t len) {
        char *b;

        if (req->too_large || req->body_len + len > HTTP_BODY_MAX) {
                req->too_large = true;
                return 0;
        }
        b = realloc(req->body, req->body_len + len + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b + req->body_len, data, len);
        req->body_len += len;
        b[req->body_len] = '\0';
        req->body = b;
        return 0;
}

static enum MHD_Result queue_reply(HttpRequest *req) {
        enum MHD_Result r = MHD_queue_response(req->connection, req->status, req->response);
        MHD_destroy_response(TAKE_PTR(req->response));
        return r;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
        Listener *l = cls;
        HttpRequest *req = *con_cls;

        if (!req) {
                req = calloc(1, sizeof(*req));
                if (!req)
                        return MHD_NO;
                req->listener = l;
                req->connection = c;
                req->method = strdup(method);
                req->path = strdup(url);
                if (!req->method || !req->path) {
                        request_free(req);
                        return MHD_NO;
                }
                *con_cls = req;
                return MHD_YES;
        }

        if (*upload_data_size > 0) {
                if (append_body(req, upload_data, *upload_data_size) < 0)
                        return MHD_NO;
                *upload_data_size = 0;
                return MHD_YES;
        }

        if (req->replied && req->response)
                return queue_reply(req);
        if (req->dispatched)
                return MHD_YES; /* spurious call while suspended */

        req->dispatched = true;
        if (req->too_large) {
                static const char msg[] = "{\"error\":{\"code\":413,\"message\":\"request body too large\"}}";
                (void) http_request_reply(req, 413, "application/json", msg, sizeof(msg) - 1, NULL);
        } else
                l->server->handler(req, l->server->userdata);

        if (req->replied)
                return queue_reply(req);

        /* The handler answers later: park the connection until http_request_reply(). */
        req->suspended = true;
        MHD_suspend_connection(c);
        return MHD_YES;
}

int http_request_reply(HttpRequest *req, unsigned status, const char *content_type,
                       const char *body, size_t len, const char *const *headers) {
        struct MHD_Response *resp;

        if (req->replied)
                return -EALREADY;
        resp = MHD_create_response_from_buffer(len, (void *) (body ?: ""), MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return -ENOMEM;
        if (content_type)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER,
                                       req->listener->server->server_name);
        for (const char *const *h = headers; h && h[0] && h[1]; h += 2)
                (void) MHD_add_response_header(resp, h[0], h[1]);

        req->response = resp;
        req->status = status;
        req->replied = true;
        if (req->suspended) {
                req->suspended = false;
                MHD_resume_connection(req->connection);
                /* Run MHD on the next loop iteration so it picks the connection up again;
                 * in external-epoll mode nothing else is guaranteed to wake it. */
                if (sd_event_source_set_time_relative(req->listener->timer, 0) >= 0)
                        (void) sd_event_source_set_enabled(req->listener->timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

const char *http_request_method(const HttpRequest *req) {
        return req->method;
}

const char *http_request_path(const HttpRequest *req) {
        return req->path;
}

const char *http_request_header(const HttpRequest *req, const char *name) {
        return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

typedef struct CountCtx {
        const char *key;
        unsigned n;
} CountCtx;

static enum MHD_Result count_values(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
        CountCtx *c = cls;
        if (key && strcasecmp(key, c->key) == 0)
                c->n++;
        return MHD_YES;
}

unsigned http_request_header_count(const HttpRequest *req, const char *name) {
        CountCtx c = { .key = name };
        (void) MHD_get_connection_values(req->connection, MHD_HEADER_KIND, count_values, &c);
        return c.n;
}

unsigned http_request_query_count(const HttpRequest *req, const char *key) {
        CountCtx c = { .key = key };
        (void) MHD_get_connection_values(req->connection, MHD_GET_ARGUMENT_KIND, count_values, &c);
        return c.n;
}

const char *http_request_query(const HttpRequest *req, const char *key) {
        return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_request_body(const HttpRequest *req, size_t *ret_len) {
        if (ret_len)
                *ret_len = req->body_len;
        return req->body ?: "";
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void listener_sync_fds(Listener *l) {
        fd_set rs, ws, es;
        MHD_socket max = 0;

        /* Sources are rebuilt after every run: MHD may have closed a connection's fd and
         * accepted another with the same number, which an existing source would miss. The
         * number of fds is small (listen socket plus open connections). */
        for (int fd = 0; fd <= l->max_fd; fd++)
                l->fd_sources[fd] = sd_event_source_disable_unref(l->fd_sources[fd]);
        l->max_fd = -1;

        FD_ZERO(&rs);
        FD_ZERO(&ws);
        FD_ZERO(&es);
        if (MHD_get_fdset2(l->daemon, &rs, &ws, &es, &max, FD_SETSIZE) != MHD_YES)
                return;
        for (int fd = 0; fd <= max && fd < FD_SETSIZE; fd++) {
                uint32_t events = (FD_ISSET(fd, &rs) ? EPOLLIN : 0) |
                                  (FD_ISSET(fd, &ws) ? EPOLLOUT : 0);
                int r;

                if (!events)
                        continue;
                r = sd_event_add_io(l->server->event, &l->fd_sources[fd], fd, events, on_io, l);
                if (r < 0) {
                        log_debug_errno(r, "Failed to watch HTTP fd %d, ignoring: %m", fd);
                        continue;
                }
                (void) sd_event_source_set_description(l->fd_sources[fd], "http-io");
                l->max_fd = fd;
        }
}

static void listener_update_timer(Listener *l) {
        MHD_UNSIGNED_LONG_LONG ms;
        int r;

        if (MHD_get_timeout(l->daemon, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
                return;
        }
        r = sd_event_source_set_time_relative(l->timer, ms * 1000ULL);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_debug_errno(r, "Failed to arm HTTP timer: %m");
}

static void listener_run(Listener *l) {
        if (MHD_run(l->daemon) != MHD_YES)
                log_debug("MHD_run failed, ignoring");
        listener_sync_fds(l);
        listener_update_timer(l);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        listener_run(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        listener_run(userdata);
        return 0;
}

static void listener_done(Listener *l) {
        for (int fd = 0; fd <= l->max_fd; fd++)
                l->fd_sources[fd] = sd_event_source_disable_unref(l->fd_sources[fd]);
        l->timer = sd_event_source_disable_unref(l->timer);
        if (l->daemon) {
                /* MHD closes the listen socket it was given in MHD_stop_daemon. */
                MHD_stop_daemon(l->daemon);
                l->daemon = NULL;
                l->fd = -EBADF;
        }
        if (l->fd >= 0)
                (void) close(l->fd);
        l->fd = -EBADF;
}

int http_server_add_fd(HttpServer *s, int fd) {
        Listener *l;
        int r;

        if (s->n_listeners >= MAX_LISTENERS) {
                (void) close(fd);
                return -E2BIG;
        }
        l = &s->listeners[s->n_listeners];
        *l = (Listener){ .server = s, .fd = fd, .max_fd = -1 };

        if (fd >= FD_SETSIZE) {
                (void) close(fd);
                return -EMFILE;
        }
        l->daemon = MHD_start_daemon(MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
                                     on_access, l, MHD_OPTION_LISTEN_SOCKET, fd,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60, MHD_OPTION_END);
        if (!l->daemon) {
                listener_done(l);
                return -EIO;
        }
        /* Accuracy 1 µs: the default 250 ms would delay every deferred reply. */
        r = sd_event_add_time_relative(s->event, &l->timer, CLOCK_MONOTONIC, 0, 1,
                                               on_timer, l);
        if (r < 0) {
                listener_done(l);
                return r;
        }
        (void) sd_event_source_set_description(l->timer, "http-timer");
        s->n_listeners++;
        listener_sync_fds(l);
        listener_update_timer(l);
        return 0;
}

static int listen_unix(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path) || path[0] != '/')
                return -EINVAL;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        if (chmod(path, 0660) < 0)
                return -errno;
        if (listen(fd, SOMAXCONN) < 0)
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
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
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

int http_server_listen(HttpServer *s, const char *address) {
        int fd;

        if (!address || !*address)
                return -EINVAL;
        if (strneq(address, "unix:", 5))
                fd = listen_unix(address + 5);
        else if (address[0] == '/')
                fd = listen_unix(address);
        else
                fd = listen_tcp(address);
        if (fd < 0)
                return fd;
        return http_server_add_fd(s, fd);
}

size_t http_server_n_listeners(const HttpServer *s) {
        return s->n_listeners;
}

int http_server_new(HttpServer **ret, sd_event *e, const char *server_name, HttpHandler handler,
                    void *userdata) {
        HttpServer *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->server_name = strdup(server_name);
        if (!s->server_name) {
                free(s);
                return -ENOMEM;
        }
        s->event = sd_event_ref(e);
        s->handler = handler;
        s->userdata = userdata;
        *ret = s;
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_listeners; i++)
                listener_done(&s->listeners[i]);
        sd_event_unref(s->event);
        free(s->server_name);
        free(s);
        return NULL;
}
