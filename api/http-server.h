/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A small HTTP server: libmicrohttpd driven from an sd-event loop (no threads). Each listening
 * socket gets one MHD daemon in external-epoll mode; its epoll fd is an sd-event io source and
 * its timeout an sd-event timer. The handler sees each request once, with its whole body, and
 * must call http_request_reply() exactly once, either before returning or later (for example
 * from an etcd completion callback): in the latter case the connection is suspended meanwhile.
 *
 * Bodies larger than the server's limit are answered 413 without calling the handler.
 */

#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define HTTP_BODY_MAX (1024 * 1024)

typedef struct HttpServer HttpServer;
typedef struct HttpRequest HttpRequest;

/* Called once per complete request. The request is borrowed until http_request_reply(). */
typedef void (*HttpHandler)(HttpRequest *req, void *userdata);

/* Create a server attached to e. The "Server:" header of every response is server_name. */
int http_server_new(HttpServer **ret, sd_event *e, const char *server_name, HttpHandler handler,
                    void *userdata);
HttpServer *http_server_free(HttpServer *s);
DEFINE_CLEANUP(HttpServer *, http_server_free);

/* Serve an already listening socket (from sd_listen_fds). Takes ownership of fd. */
int http_server_add_fd(HttpServer *s, int fd);

/*
 * Create and serve a listening socket. address is "unix:/path", "/path" (a unix socket,
 * created with mode 0660, an old socket file replaced), or "host:port" / "[v6]:port" (TCP).
 * -EINVAL for an unparsable address, or the errno of socket/bind/listen.
 */
int http_server_listen(HttpServer *s, const char *address);

/* Number of listening sockets served. */
size_t http_server_n_listeners(const HttpServer *s);

/* Request accessors. Strings are borrowed from the request. */
const char *http_request_method(const HttpRequest *req);
const char *http_request_path(const HttpRequest *req);                   /* without query */
const char *http_request_header(const HttpRequest *req, const char *name); /* or NULL */
const char *http_request_query(const HttpRequest *req, const char *key);   /* or NULL */
/* How many times a header (case-insensitive) / a query key appears in the request. */
unsigned http_request_header_count(const HttpRequest *req, const char *name);
unsigned http_request_query_count(const HttpRequest *req, const char *key);
const char *http_request_body(const HttpRequest *req, size_t *ret_len);    /* NUL-terminated */

/*
 * Answer the request: status, a Content-Type (may be NULL), and a body (may be NULL, copied).
 * Extra headers: a NULL-terminated list of "Name", "value" pairs, or NULL.
 * Returns 0, or -EALREADY if the request was answered before.
 */
int http_request_reply(HttpRequest *req, unsigned status, const char *content_type,
                       const char *body, size_t len, const char *const *headers);
