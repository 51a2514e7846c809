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

/*
 * TLS for the TCP listeners added after this call (unix sockets always stay plain HTTP: their
 * file mode and owner are the access control). cert_pem and key_pem are the server's
 * certificate (chain) and private key, PEM text, both required. ca_pem (may be NULL) holds the
 * CA certificate(s) that client certificates must chain to: with it, the server requests a
 * client certificate in the handshake and answers every request that comes without one, or
 * with one that does not verify (unknown signer, expired, not for client use), 403 and closes
 * the connection; the handler never sees it. Without ca_pem any client may connect (TLS only
 * encrypts). Plain HTTP to a TLS port fails the handshake. The texts are copied and checked
 * here: -EINVAL for a missing or unparsable certificate or key, a key that does not match,
 * a ca_pem without a certificate, or a libmicrohttpd built without TLS; -ENOMEM. Calling it
 * again replaces the settings for later listeners.
 */
int http_server_set_tls(HttpServer *s, const char *cert_pem, const char *key_pem,
                        const char *ca_pem);

/*
 * http_server_set_tls() with the PEM texts read from files now (at most HTTP_TLS_FILE_MAX
 * bytes each; ca_file may be NULL or ""). Negative errno of open/read (-EFBIG when too large),
 * -EINVAL for a file that does not load, -EOPNOTSUPP for a libmicrohttpd without TLS. With
 * reterr_message non-NULL, a malloc'd message naming the file at fault ("Unable to use TLS
 * key file /k: No such file or directory").
 */
#define HTTP_TLS_FILE_MAX (1024 * 1024)
int http_server_set_tls_files(HttpServer *s, const char *cert_file, const char *key_file,
                              const char *ca_file, char **reterr_message);

/* The same checks without a server: for validating a configuration before using it (fleetd's
 * startup and SIGHUP). */
int http_tls_check_files(const char *cert_file, const char *key_file, const char *ca_file,
                         char **reterr_message);

/* Serve an already listening socket (from sd_listen_fds). Takes ownership of fd. A TCP socket
 * is served with TLS if http_server_set_tls() was called before; a unix socket never is. */
int http_server_add_fd(HttpServer *s, int fd);

/*
 * Create and serve a listening socket. address is "unix:/path", "/path" (a unix socket,
 * created with mode 0660, an old socket file replaced), or "host:port" / "[v6]:port" (TCP).
 * -EINVAL for an unparsable address, or the errno of socket/bind/listen.
 */
int http_server_listen(HttpServer *s, const char *address);

/* Number of listening sockets served. */
size_t http_server_n_listeners(const HttpServer *s);
/* Number of those served with TLS. */
size_t http_server_n_tls_listeners(const HttpServer *s);

/* Request accessors. Strings are borrowed from the request. */
const char *http_request_method(const HttpRequest *req);
const char *http_request_path(const HttpRequest *req);                     /* without query */
const char *http_request_header(const HttpRequest *req, const char *name); /* or NULL */
const char *http_request_query(const HttpRequest *req, const char *key);   /* or NULL */
/* How many times a header (case-insensitive) / a query key appears in the request. */
unsigned http_request_header_count(const HttpRequest *req, const char *name);
unsigned http_request_query_count(const HttpRequest *req, const char *key);
const char *http_request_body(const HttpRequest *req, size_t *ret_len); /* NUL-terminated */

/*
 * Answer the request: status, a Content-Type (may be NULL), and a body (may be NULL, copied).
 * Extra headers: a NULL-terminated list of "Name", "value" pairs, or NULL.
 * Returns 0, or -EALREADY if the request was answered before.
 */
int http_request_reply(HttpRequest *req, unsigned status, const char *content_type,
                       const char *body, size_t len, const char *const *headers);

/*
 * A streamed reply (server-sent events, ...): answer req now with status, content_type and
 * headers (as http_request_reply) and a body of unknown length that the caller writes with
 * http_stream_write() for as long as it likes, until http_stream_end(). While nothing is
 * queued the connection is suspended, so an idle stream costs no polling; a client that went
 * away is noticed at the next write (send a periodic comment or heartbeat to notice it).
 *
 * closed (may be NULL) is called once when the connection ended without http_stream_end()
 * (client gone, write error, server freed): the stream is freed right after it returns and
 * must be forgotten. Returns 0 and the stream in *ret, -EALREADY if the request was answered,
 * -ENOMEM.
 */
#define HTTP_STREAM_BUFFER_MAX (1024 * 1024)
typedef struct HttpStream HttpStream;
typedef void (*HttpStreamClosed)(HttpStream *s, void *userdata);
int http_request_reply_stream(HttpRequest *req, unsigned status, const char *content_type,
                              const char *const *headers, HttpStreamClosed closed, void *userdata,
                              HttpStream **ret);

/* Queue len bytes (copied) on the stream. -ENOBUFS when more than HTTP_STREAM_BUFFER_MAX bytes
 * would be waiting (the client does not read: end the stream), -ENOMEM. */
int http_stream_write(HttpStream *s, const char *data, size_t len);
/* Bytes queued and not yet handed to the connection. */
size_t http_stream_pending(const HttpStream *s);

/* Send what is queued, then end the body and the connection. closed is not called any more;
 * the stream must not be used after this call. NULL ok. */
void http_stream_end(HttpStream *s);

/* Number of open streams (for limits and tests). */
size_t http_server_n_streams(const HttpServer *s);
