/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server glue against real sockets: a libcurl client in a second thread talks to the
 * server running in this thread's sd-event loop, over TCP and over a unix socket. Covers the
 * synchronous reply, a reply deferred to a timer (suspend/resume), the 413 body limit and
 * the Server header, and streamed replies (written in pieces from timers; one left open until
 * the server is freed).
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "http-server.h"
#include "macro.h"
#include "test-net.h"
#include "test-util.h"

typedef struct Result {
        long status;
        char body[256];
        char server[64];
} Result;

typedef struct Client {
        char url_base[128];
        const char *unix_path;
        int done_fd;
        Result get, deferred, limit, big, post, stream, open;
} Client;

/* Streams of the test: how many were reported closed without http_stream_end(). */
static unsigned n_closed;

static size_t write_cb(char *p, size_t sz, size_t n, void *ud) {
        Result *r = ud;
        size_t have = strlen(r->body), len = sz * n;
        if (have + len < sizeof(r->body)) {
                memcpy(r->body + have, p, len);
                r->body[have + len] = 0;
        }
        return len;
}

static size_t header_cb(char *p, size_t sz, size_t n, void *ud) {
        Result *r = ud;
        if (strncasecmp(p, "Server: ", 8) == 0)
                (void) sscanf(p + 8, "%63s", r->server);
        return sz * n;
}

static void do_request_timeout(Client *c, const char *path, const char *body, size_t body_len,
                               Result *r, long timeout_ms) {
        CURL *h = curl_easy_init();
        char url[256];

        snprintf(url, sizeof(url), "%s%s", c->url_base, path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        if (c->unix_path)
                curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
        if (body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) body_len);
        }
        CURLcode cc = curl_easy_perform(h);
        if (cc != CURLE_OK)
                fprintf(stderr, "curl %s: %s\n", path, curl_easy_strerror(cc));
        if (cc == CURLE_OK || cc == CURLE_OPERATION_TIMEDOUT)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_cleanup(h);
}

static void do_request(Client *c, const char *path, const char *body, size_t body_len, Result *r) {
        do_request_timeout(c, path, body, body_len, r, 10000L);
}

static void *client_thread(void *p) {
        Client *c = p;
        size_t big_len = HTTP_BODY_MAX + 1;
        char *big = malloc(big_len);

        memset(big, 'x', big_len);
        do_request(c, "/echo?name=abc", NULL, 0, &c->get);
        do_request(c, "/deferred", NULL, 0, &c->deferred);
        do_request(c, "/echo", big, big_len - 1, &c->limit);
        do_request(c, "/echo", big, big_len, &c->big);
        do_request(c, "/echo", "hello", 5, &c->post);
        do_request(c, "/stream", NULL, 0, &c->stream);
        /* never ended by the server: the client gives up after the first piece */
        do_request_timeout(c, "/stream-open", NULL, 0, &c->open, 500L);
        free(big);
        (void) !write(c->done_fd, "x", 1);
        return NULL;
}

static int on_deferred(sd_event_source *s, uint64_t usec, void *userdata) {
        HttpRequest *req = userdata;
        (void) http_request_reply(req, 202, "text/plain", "later", 5, NULL);
        return 0;
}

static void on_stream_closed(HttpStream *s, void *userdata) {
        n_closed++;
}

static int on_stream_more(sd_event_source *src, uint64_t usec, void *userdata) {
        HttpStream *s = userdata;

        ck_assert_int_eq(http_stream_write(s, "second\n", 7), 0);
        http_stream_end(s);
        return 0;
}

static void reply_stream(HttpRequest *req, sd_event *e, bool keep_open) {
        static const char *const hdr[] = {"Cache-Control", "no-cache", NULL};
        HttpStream *s = NULL;

        ck_assert_int_eq(http_request_reply_stream(req, 200, "text/event-stream", hdr,
                                                   on_stream_closed, NULL, &s),
                         0);
        ck_assert_int_eq(http_request_reply(req, 200, NULL, NULL, 0, NULL), -EALREADY);
        ck_assert_int_eq(http_stream_write(s, "first\n", 6), 0);
        ck_assert_uint_eq(http_stream_pending(s), 6);
        ck_assert_int_eq(http_stream_write(s, NULL, HTTP_STREAM_BUFFER_MAX), -ENOBUFS);
        if (!keep_open)
                ck_assert_int_ge(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 50000, 0,
                                                            on_stream_more, s),
                                 0);
}

static void handler(HttpRequest *req, void *userdata) {
        sd_event *e = userdata;
        char buf[256];
        size_t len;
        const char *body = http_request_body(req, &len);

        if (strncmp(http_request_path(req), "/stream", 7) == 0) {
                reply_stream(req, e, streq(http_request_path(req), "/stream-open"));
                return;
        }
        if (streq(http_request_path(req), "/deferred")) {
                ck_assert_int_ge(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 50000, 0,
                                                            on_deferred, req),
                                 0);
                return;
        }
        snprintf(buf, sizeof(buf), "%s %s name=%s body=%.*s", http_request_method(req),
                 http_request_path(req), strempty(http_request_query(req, "name")), (int) len,
                 body);
        ck_assert_int_eq(http_request_reply(req, 200, "text/plain", buf, strlen(buf), NULL), 0);
        ck_assert_int_eq(http_request_reply(req, 200, NULL, NULL, 0, NULL), -EALREADY);
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void run_client(HttpServer *srv, sd_event *e, Client *c) {
        int pfd[2];
        pthread_t t;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        c->done_fd = pfd[1];
        ck_assert_int_ge(sd_event_add_io(e, NULL, pfd[0], EPOLLIN, on_done, NULL), 0);
        ck_assert_int_eq(pthread_create(&t, NULL, client_thread, c), 0);
        ck_assert_int_ge(sd_event_loop(e), 0);
        pthread_join(t, NULL);
        close(pfd[0]);
        close(pfd[1]);

        ck_assert_int_eq(c->get.status, 200);
        ck_assert_str_eq(c->get.body, "GET /echo name=abc body=");
        ck_assert_str_eq(c->get.server, "fleetd/test");
        ck_assert_int_eq(c->deferred.status, 202);
        ck_assert_str_eq(c->deferred.body, "later");
        ck_assert_int_eq(c->limit.status, 200);
        ck_assert_int_eq(c->big.status, 413);
        ck_assert_int_eq(c->post.status, 200);
        ck_assert_str_eq(c->post.body, "POST /echo name= body=hello");
        ck_assert_int_eq(c->stream.status, 200);
        ck_assert_str_eq(c->stream.body, "first\nsecond\n");
        ck_assert_int_eq(c->open.status, 200);
        ck_assert_str_eq(c->open.body, "first\n");
        ck_assert_uint_le(n_closed, 1);
        ck_assert_uint_le(http_server_n_streams(srv), 1);
}

/* The stream left open is reported closed exactly once: when the client is seen gone, or when
 * the server is freed. */
static void free_server(HttpServer *srv) {
        http_server_free(srv);
        ck_assert_uint_eq(n_closed, 1);
        n_closed = 0;
}

START_TEST(test_tcp) {
        sd_event *e = NULL;
        HttpServer *srv = NULL;
        Client c = {};
        char addr[64];
        int port = test_free_port();

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(http_server_new(&srv, e, "fleetd/test", handler, e), 0);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        ck_assert_int_eq(http_server_listen(srv, addr), 0);
        snprintf(c.url_base, sizeof(c.url_base), "http://127.0.0.1:%d", port);
        run_client(srv, e, &c);
        free_server(srv);
        sd_event_unref(e);
}
END_TEST

START_TEST(test_unix) {
        sd_event *e = NULL;
        HttpServer *srv = NULL;
        Client c = {};
        char dir[] = "/tmp/fleet-http-XXXXXX", path[128];
        struct stat st;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/api.sock", dir);
        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(http_server_new(&srv, e, "fleetd/test", handler, e), 0);
        ck_assert_int_eq(http_server_listen(srv, path), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0660);
        strcpy(c.url_base, "http://localhost");
        c.unix_path = path;
        run_client(srv, e, &c);
        free_server(srv);
        sd_event_unref(e);
        unlink(path);
        rmdir(dir);
}
END_TEST

START_TEST(test_bad_address) {
        sd_event *e = NULL;
        HttpServer *srv = NULL;

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(http_server_new(&srv, e, "fleetd/test", handler, e), 0);
        ck_assert_int_eq(http_server_listen(srv, ""), -EINVAL);
        ck_assert_int_eq(http_server_listen(srv, "localhost"), -EINVAL);
        ck_assert_int_eq(http_server_listen(srv, "127.0.0.1:port"), -EINVAL);
        ck_assert_int_eq(http_server_listen(srv, "unix:relative"), -EINVAL);
        ck_assert_int_eq(http_server_n_listeners(srv), 0);
        http_server_free(srv);
        sd_event_unref(e);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("http-server");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_tcp);
        tcase_add_test(tc, test_unix);
        tcase_add_test(tc, test_bad_address);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
