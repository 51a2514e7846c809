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

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "errmsg.h"
#include "fileio.h"
#include "http-server.h"
#include "socket-util.h"
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
        bool tls;           /* served with TLS */
        bool verify_client; /* TLS with a client CA: every request needs a verified cert */
} Listener;

struct HttpServer {
        sd_event *event;
        char *server_name;
        HttpHandler handler;
        void *userdata;
        Listener listeners[MAX_LISTENERS];
        size_t n_listeners;
        /* TLS for TCP listeners added later (http_server_set_tls). MHD keeps pointers to
         * these strings, so they live as long as the server. Replaced strings are kept in
         * old_tls until the server is freed, as earlier listeners may still point at them. */
        char *tls_cert, *tls_key, *tls_ca;
        char **old_tls;
        size_t n_old_tls;
        HttpStream *streams; /* open streamed replies */
        size_t n_streams;
};

struct HttpStream {
        HttpServer *server;
        Listener *listener;
        struct MHD_Connection *connection;
        HttpStream *prev, *next;
        char *buf; /* queued bytes: buf[off..len) */
        size_t len, off, allocated;
        bool suspended;
        bool ended; /* http_stream_end(): finish the body, no callback */
        HttpStreamClosed closed;
        void *userdata;
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
        bool forbidden;                /* rejected by the client-certificate check */
        struct MHD_Response *response; /* built by http_request_reply, queued by MHD */
        unsigned status;
};

static void listener_update_timer(Listener *l);
static void listener_wake(Listener *l);

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

/* A JSON error body in fleet's shape (reference 9). */
#define FORBIDDEN_BODY(msg) "{\"error\":{\"code\":403,\"message\":\"" msg "\"}}"

/*
 * Verify the client certificate of a TLS connection against the trust list MHD loaded from
 * the CA (MHD_OPTION_HTTPS_MEM_TRUST). With it, MHD only *requests* a certificate
 * (GNUTLS_CERT_REQUEST): the handshake succeeds without one, or with one from another CA, so
 * the check is made here, once per request. NULL if verified, else the error body to send.
 */
static const char *verify_client(struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *ci;
        gnutls_typed_vdata_st purpose = {
                .type = GNUTLS_DT_KEY_PURPOSE_OID,
                .data = (unsigned char *) GNUTLS_KP_TLS_WWW_CLIENT,
        };
        unsigned status = 0;
        int r;

        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (!ci || !ci->tls_session)
                return FORBIDDEN_BODY("TLS session unavailable");
        if (gnutls_certificate_type_get(ci->tls_session) != GNUTLS_CRT_X509)
                return FORBIDDEN_BODY("client certificate required");
        r = gnutls_certificate_verify_peers(ci->tls_session, &purpose, 1, &status);
        if (r == GNUTLS_E_NO_CERTIFICATE_FOUND)
                return FORBIDDEN_BODY("client certificate required");
        if (r < 0 || status != 0) {
                log_debug("Rejected a client certificate: %s (status 0x%x)",
                          r < 0 ? gnutls_strerror(r) : "does not verify", status);
                return FORBIDDEN_BODY("client certificate not trusted");
        }
        return NULL;
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
                if (l->verify_client) {
                        const char *denied = verify_client(c);
                        if (denied) {
                                static const char *const close_hdr[] = {"Connection", "close",
                                                                        NULL};
                                /* Answered before any body is read; MHD closes afterwards. */
                                req->dispatched = true;
                                req->forbidden = true;
                                (void) http_request_reply(req, 403, "application/json", denied,
                                                          strlen(denied), close_hdr);
                                return req->response ? queue_reply(req) : MHD_NO;
                        }
                }
                return MHD_YES;
        }

        if (req->forbidden) {
                *upload_data_size = 0; /* discard the body of a rejected request */
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
                static const char msg[] =
                        "{\"error\":{\"code\":413,\"message\":\"request body too large\"}}";
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
                listener_wake(req->listener);
        }
        return 0;
}

/* Make MHD pick a resumed connection up on the next loop iteration: in external select mode
 * nothing else is guaranteed to wake it. */
static void listener_wake(Listener *l) {
        if (sd_event_source_set_time_relative(l->timer, 0) >= 0)
                (void) sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
}

static void stream_resume(HttpStream *s) {
        if (!s->suspended || !s->connection)
                return;
        s->suspended = false;
        MHD_resume_connection(s->connection);
        listener_wake(s->listener);
}

/* MHD asks for more body: hand over what is queued, or park the connection until a write. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
        HttpStream *s = cls;
        size_t n;

        if (s->off < s->len) {
                n = MIN(max, s->len - s->off);
                memcpy(buf, s->buf + s->off, n);
                s->off += n;
                if (s->off == s->len)
                        s->off = s->len = 0;
                return (ssize_t) n;
        }
        if (s->ended)
                return MHD_CONTENT_READER_END_OF_STREAM;
        s->suspended = true;
        MHD_suspend_connection(s->connection);
        return 0;
}

/* The response is destroyed: the connection is over. */
static void stream_free(void *cls) {
        HttpStream *s = cls;
        HttpServer *server = s->server;

        if (s->prev)
                s->prev->next = s->next;
        else
                server->streams = s->next;
        if (s->next)
                s->next->prev = s->prev;
        server->n_streams--;
        if (!s->ended && s->closed)
                s->closed(s, s->userdata);
        free(s->buf);
        free(s);
}

int http_request_reply_stream(HttpRequest *req, unsigned status, const char *content_type,
                              const char *const *headers, HttpStreamClosed closed, void *userdata,
                              HttpStream **ret) {
        HttpServer *server = req->listener->server;
        struct MHD_Response *resp;
        HttpStream *s;

        if (req->replied)
                return -EALREADY;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (HttpStream){
                .server = server,
                .listener = req->listener,
                .connection = req->connection,
                .closed = closed,
                .userdata = userdata,
        };
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, s,
                                                 stream_free);
        if (!resp) {
                free(s);
                return -ENOMEM;
        }
        s->next = server->streams;
        if (s->next)
                s->next->prev = s;
        server->streams = s;
        server->n_streams++;
        if (content_type)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, server->server_name);
        for (const char *const *h = headers; h && h[0] && h[1]; h += 2)
                (void) MHD_add_response_header(resp, h[0], h[1]);

        req->response = resp;
        req->status = status;
        req->replied = true;
        if (req->suspended) {
                req->suspended = false;
                MHD_resume_connection(req->connection);
                listener_wake(req->listener);
        }
        *ret = s;
        return 0;
}

int http_stream_write(HttpStream *s, const char *data, size_t len) {
        if (s->ended)
                return -EPIPE;
        if (s->len + len > HTTP_STREAM_BUFFER_MAX)
                return -ENOBUFS;
        if (s->len + len > s->allocated) {
                size_t n = MAX(s->len + len, MAX(s->allocated * 2, (size_t) 4096));
                char *b = realloc(s->buf, n);

                if (!b)
                        return -ENOMEM;
                s->buf = b;
                s->allocated = n;
        }
        memcpy(s->buf + s->len, data, len);
        s->len += len;
        stream_resume(s);
        return 0;
}

size_t http_stream_pending(const HttpStream *s) {
        return s->len - s->off;
}

void http_stream_end(HttpStream *s) {
        if (!s || s->ended)
                return;
        s->ended = true;
        s->closed = NULL;
        stream_resume(s);
}

size_t http_server_n_streams(const HttpServer *s) {
        return s->n_streams;
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
        CountCtx c = {.key = name};
        (void) MHD_get_connection_values(req->connection, MHD_HEADER_KIND, count_values, &c);
        return c.n;
}

unsigned http_request_query_count(const HttpRequest *req, const char *key) {
        CountCtx c = {.key = key};
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
                uint32_t events =
                        (FD_ISSET(fd, &rs) ? EPOLLIN : 0) | (FD_ISSET(fd, &ws) ? EPOLLOUT : 0);
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
        struct MHD_OptionItem tls_opts[5];
        unsigned flags = MHD_ALLOW_SUSPEND_RESUME;
        size_t n_opts = 0;
        Listener *l;
        int r, domain = AF_UNSPEC;
        socklen_t len = sizeof(domain);

        if (s->n_listeners >= MAX_LISTENERS) {
                (void) close(fd);
                return -E2BIG;
        }
        l = &s->listeners[s->n_listeners];
        *l = (Listener){.server = s, .fd = fd, .max_fd = -1};

        if (fd >= FD_SETSIZE) {
                (void) close(fd);
                return -EMFILE;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        /* TLS for TCP only: a unix socket's file permissions are its access control. */
        if (s->tls_cert && domain != AF_UNIX) {
                flags |= MHD_USE_TLS;
                l->tls = true;
                tls_opts[n_opts++] =
                        (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
                tls_opts[n_opts++] =
                        (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
                tls_opts[n_opts++] = (struct MHD_OptionItem){
                        MHD_OPTION_HTTPS_PRIORITIES, 0,
                        (void *) "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
                if (s->tls_ca) {
                        /* MHD then asks the client for a certificate; on_access verifies it. */
                        tls_opts[n_opts++] =
                                (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca};
                        l->verify_client = true;
                }
        }
        tls_opts[n_opts] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

        l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, l, MHD_OPTION_LISTEN_SOCKET,
                                     fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60, MHD_OPTION_ARRAY,
                                     tls_opts, MHD_OPTION_END);
        if (!l->daemon) {
                listener_done(l);
                return -EIO;
        }
        /* Accuracy 1 µs: the default 250 ms would delay every deferred reply. */
        r = sd_event_add_time_relative(s->event, &l->timer, CLOCK_MONOTONIC, 0, 1, on_timer, l);
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

/* Check that the PEM texts load as gnutls (and so MHD) will load them. */
static int tls_check(const char *cert_pem, const char *key_pem, const char *ca_pem) {
        gnutls_certificate_credentials_t cred = NULL;
        gnutls_datum_t cert = {(unsigned char *) cert_pem, (unsigned) strlen(cert_pem)};
        gnutls_datum_t key = {(unsigned char *) key_pem, (unsigned) strlen(key_pem)};
        int r;

        if (gnutls_certificate_allocate_credentials(&cred) < 0)
                return -ENOMEM;
        r = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
        if (r < 0)
                log_debug("TLS certificate or key rejected: %s", gnutls_strerror(r));
        if (r >= 0 && ca_pem) {
                gnutls_datum_t ca = {(unsigned char *) ca_pem, (unsigned) strlen(ca_pem)};
                r = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
                if (r == 0)
                        r = GNUTLS_E_NO_CERTIFICATE_FOUND;
                if (r < 0)
                        log_debug("TLS client CA rejected: %s", gnutls_strerror(r));
        }
        gnutls_certificate_free_credentials(cred);
        return r < 0 ? -EINVAL : 0;
}

int http_server_set_tls(HttpServer *s, const char *cert_pem, const char *key_pem,
                        const char *ca_pem) {
        _cleanup_free_ char *cert = NULL, *key = NULL, *ca = NULL;
        int r;

        if (!cert_pem || !*cert_pem || !key_pem || !*key_pem || (ca_pem && !*ca_pem))
                return -EINVAL;
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
                return -EINVAL;
        r = tls_check(cert_pem, key_pem, ca_pem);
        if (r < 0)
                return r;
        cert = strdup(cert_pem);
        key = strdup(key_pem);
        ca = ca_pem ? strdup(ca_pem) : NULL;
        if (!cert || !key || (ca_pem && !ca))
                return -ENOMEM;
        /* Earlier listeners' daemons may still point at the previous strings. */
        if (s->tls_cert) {
                char **a = realloc(s->old_tls, (s->n_old_tls + 3) * sizeof(char *));

                if (!a)
                        return -ENOMEM;
                s->old_tls = a;
                a[s->n_old_tls++] = TAKE_PTR(s->tls_cert);
                a[s->n_old_tls++] = TAKE_PTR(s->tls_key);
                if (s->tls_ca)
                        a[s->n_old_tls++] = TAKE_PTR(s->tls_ca);
        }
        s->tls_cert = TAKE_PTR(cert);
        s->tls_key = TAKE_PTR(key);
        s->tls_ca = TAKE_PTR(ca);
        return 0;
}

static int read_text_file(const char *path, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        /* READ_SECRET: one of them is the private key. */
        r = read_file_bounded(path, 0, HTTP_TLS_FILE_MAX, READ_SECRET, &buf, &len);
        if (r < 0)
                return r;
        if (memchr(buf, '\0', len))
                return -EINVAL;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* "Unable to use <what> <path>: <why, or strerror(-r)>" */
static int tls_file_error(char **reterr_message, int r, const char *what, const char *path,
                          const char *why) {
        if (r == -ENOMEM)
                return r;
        return errmsg_set(reterr_message, r, "Unable to use %s %s: %s", what, path,
                          why ?: strerror(-r));
}

static void free_secret(char **p) {
        if (*p)
                explicit_bzero(*p, strlen(*p));
        free(*p);
}

/* Read and check the files; then, with s non-NULL, apply them to s. */
static int tls_files(HttpServer *s, const char *cert_file, const char *key_file,
                     const char *ca_file, char **reterr_message) {
        _cleanup_free_ char *cert = NULL, *ca = NULL;
        _cleanup_(free_secret) char *key = NULL;
        int r;

        if (!cert_file || !*cert_file || !key_file || !*key_file)
                return errmsg_set(reterr_message, -EINVAL,
                                  "TLS needs both a certificate and a key file");
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
                return errmsg_set(reterr_message, -EOPNOTSUPP,
                                  "libmicrohttpd was built without TLS support");
        r = read_text_file(cert_file, &cert);
        if (r < 0)
                return tls_file_error(reterr_message, r, "TLS certificate file", cert_file,
                                      r == -EINVAL ? "not a text file" : NULL);
        r = read_text_file(key_file, &key);
        if (r < 0)
                return tls_file_error(reterr_message, r, "TLS key file", key_file,
                                      r == -EINVAL ? "not a text file" : NULL);
        if (ca_file && *ca_file) {
                r = read_text_file(ca_file, &ca);
                if (r < 0)
                        return tls_file_error(reterr_message, r, "TLS CA file", ca_file,
                                              r == -EINVAL ? "not a text file" : NULL);
        }
        /* Tell which file is wrong: the certificate with its key, then the CA. */
        r = tls_check(cert, key, NULL);
        if (r < 0)
                return tls_file_error(reterr_message, r, "TLS certificate", cert_file,
                                      "not a PEM certificate matching the PEM key in the key file");
        r = s ? http_server_set_tls(s, cert, key, ca) : tls_check(cert, key, ca);
        if (r < 0)
                return tls_file_error(reterr_message, r, "TLS CA file", ca_file,
                                      r == -EINVAL ? "no PEM certificate in it" : NULL);
        return 0;
}

int http_server_set_tls_files(HttpServer *s, const char *cert_file, const char *key_file,
                              const char *ca_file, char **reterr_message) {
        assert(s);
        return tls_files(s, cert_file, key_file, ca_file, reterr_message);
}

int http_tls_check_files(const char *cert_file, const char *key_file, const char *ca_file,
                         char **reterr_message) {
        return tls_files(NULL, cert_file, key_file, ca_file, reterr_message);
}

int http_server_listen(HttpServer *s, const char *address) {
        int fd;

        if (!address || !*address)
                return -EINVAL;
        fd = socket_listen_address(address, 0660);
        if (fd < 0)
                return fd;
        return http_server_add_fd(s, fd);
}

size_t http_server_n_listeners(const HttpServer *s) {
        return s->n_listeners;
}

size_t http_server_n_tls_listeners(const HttpServer *s) {
        size_t n = 0;

        for (size_t i = 0; i < s->n_listeners; i++)
                n += s->listeners[i].tls;
        return n;
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
        /* MHD must not stop with suspended connections: end every stream (their owners are
         * told through closed, as their connections go away now). */
        for (HttpStream *st = s->streams; st; st = st->next) {
                if (st->closed) {
                        HttpStreamClosed closed = st->closed;

                        st->closed = NULL;
                        closed(st, st->userdata);
                }
                http_stream_end(st);
        }
        for (size_t i = 0; i < s->n_listeners; i++)
                listener_done(&s->listeners[i]);
        sd_event_unref(s->event);
        free(s->server_name);
        if (s->tls_key)
                explicit_bzero(s->tls_key, strlen(s->tls_key));
        free(s->tls_cert);
        free(s->tls_key);
        free(s->tls_ca);
        for (size_t i = 0; i < s->n_old_tls; i++) {
                explicit_bzero(s->old_tls[i], strlen(s->old_tls[i]));
                free(s->old_tls[i]);
        }
        free(s->old_tls);
        free(s);
        return NULL;
}
