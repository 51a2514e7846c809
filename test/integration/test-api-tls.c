/* SPDX-License-Identifier: MIT */
/*
 * TLS with client certificates on the API's TCP listeners (docs/security.md). Certificates
 * are made with openssl per test binary: a CA, a server certificate for 127.0.0.1, a client
 * certificate, a client certificate for server use only, and a second CA with its own client.
 * The server runs in this thread's sd-event loop; libcurl clients run from a second thread.
 * Also: the real fleetctl binary talks to an Api (over a real etcd) with --ca-file,
 * --cert-file and --key-file on an https:// endpoint.
 */
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "api.h"
#include "etcd-launcher.h"
#include "http-server.h"
#include "macro.h"
#include "registry.h"
#include "test-net.h"
#include "test-util.h"

#define SEC 1000000ULL

static char *scratch; /* per binary: certificates, sockets */
static char *certs;

static char *path_in(const char *dir, const char *name) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static char *cert_path(const char *name) {
        return path_in(certs, name);
}

/* ---- certificates ---------------------------------------------------------------------- */

static void openssl(char **argv) {
        ck_assert_int_eq(etcd_launcher_run(argv), 0);
}

static void make_ca(const char *name) {
        _cleanup_free_ char *key = NULL, *crt = NULL, *subj = NULL;

        ck_assert_int_ge(asprintf(&key, "%s/%s.key", certs, name), 0);
        ck_assert_int_ge(asprintf(&crt, "%s/%s.crt", certs, name), 0);
        ck_assert_int_ge(asprintf(&subj, "/CN=fleet-test-%s", name), 0);
        char *argv[] = {(char *) "openssl",
                        (char *) "req",
                        (char *) "-x509",
                        (char *) "-newkey",
                        (char *) "ec",
                        (char *) "-pkeyopt",
                        (char *) "ec_paramgen_curve:prime256v1",
                        (char *) "-nodes",
                        (char *) "-keyout",
                        key,
                        (char *) "-out",
                        crt,
                        (char *) "-days",
                        (char *) "1",
                        (char *) "-subj",
                        subj,
                        NULL};
        openssl(argv);
}

/* <name>.crt/.key signed by <ca>, with the extensions given (openssl -extfile syntax). */
static void make_cert(const char *name, const char *ca, const char *cn, const char *ext) {
        _cleanup_free_ char *key = NULL, *csr = NULL, *crt = NULL, *subj = NULL, *extf = NULL,
                            *ca_crt = NULL, *ca_key = NULL;
        FILE *f;

        ck_assert_int_ge(asprintf(&key, "%s/%s.key", certs, name), 0);
        ck_assert_int_ge(asprintf(&csr, "%s/%s.csr", certs, name), 0);
        ck_assert_int_ge(asprintf(&crt, "%s/%s.crt", certs, name), 0);
        ck_assert_int_ge(asprintf(&extf, "%s/%s.ext", certs, name), 0);
        ck_assert_int_ge(asprintf(&ca_crt, "%s/%s.crt", certs, ca), 0);
        ck_assert_int_ge(asprintf(&ca_key, "%s/%s.key", certs, ca), 0);
        ck_assert_int_ge(asprintf(&subj, "/CN=%s", cn), 0);
        f = fopen(extf, "we");
        ck_assert_ptr_nonnull(f);
        fputs(ext, f);
        ck_assert_int_eq(fclose(f), 0);
        char *req[] = {(char *) "openssl",
                       (char *) "req",
                       (char *) "-newkey",
                       (char *) "ec",
                       (char *) "-pkeyopt",
                       (char *) "ec_paramgen_curve:prime256v1",
                       (char *) "-nodes",
                       (char *) "-keyout",
                       key,
                       (char *) "-out",
                       csr,
                       (char *) "-subj",
                       subj,
                       NULL};
        openssl(req);
        char *sign[] = {(char *) "openssl",
                        (char *) "x509",
                        (char *) "-req",
                        (char *) "-in",
                        csr,
                        (char *) "-CA",
                        ca_crt,
                        (char *) "-CAkey",
                        ca_key,
                        (char *) "-CAcreateserial",
                        (char *) "-out",
                        crt,
                        (char *) "-days",
                        (char *) "1",
                        (char *) "-extfile",
                        extf,
                        NULL};
        openssl(sign);
}

static void certs_setup(void) {
        ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
        ck_assert_int_eq(etcd_launcher_mkdtemp(&scratch), 0);
        certs = path_in(scratch, "certs");
        ck_assert_int_eq(mkdir(certs, 0700), 0);
        make_ca("ca");
        make_ca("other-ca");
        make_cert("server", "ca", "127.0.0.1",
                  "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        make_cert("client", "ca", "admin", "extendedKeyUsage=clientAuth\n");
        make_cert("server-only", "ca", "not-a-client", "extendedKeyUsage=serverAuth\n");
        make_cert("stranger", "other-ca", "admin", "extendedKeyUsage=clientAuth\n");
}

static void certs_teardown(void) {
        (void) etcd_launcher_rm_rf(scratch);
        free(scratch);
        free(certs);
        scratch = certs = NULL;
        curl_global_cleanup();
}

/* ---- a client thread ------------------------------------------------------------------- */

typedef struct Call {
        const char *scheme; /* "https" or "http" */
        const char *ca;     /* CA to verify the server with, a name under certs/ (NULL: none) */
        const char *client; /* client certificate name under certs/, or NULL */
        const char *unix_path;
        size_t body_len;  /* > 0: POST that many bytes */
        const char *path; /* NULL: /echo */
        long status;      /* out: HTTP status, 0 if the transfer failed */
        CURLcode code;
        char body[256];
} Call;

typedef struct Calls {
        int port;
        Call *calls;
        size_t n;
        int done_fd;
} Calls;

static size_t write_cb(char *p, size_t sz, size_t n, void *ud) {
        Call *c = ud;
        size_t have = strlen(c->body), len = sz * n;

        if (have + len < sizeof(c->body)) {
                memcpy(c->body + have, p, len);
                c->body[have + len] = 0;
        }
        return len;
}

static void do_call(int port, Call *c) {
        _cleanup_free_ char *ca = NULL, *crt = NULL, *key = NULL;
        CURL *h = curl_easy_init();
        char url[128];

        ck_assert_ptr_nonnull(h);
        if (c->unix_path)
                snprintf(url, sizeof(url), "http://localhost%s", c->path ?: "/echo");
        else
                snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", c->scheme, port,
                         c->path ?: "/echo");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (c->unix_path)
                curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
        if (c->ca) {
                ck_assert_int_ge(asprintf(&ca, "%s/%s.crt", certs, c->ca), 0);
                curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        }
        if (c->client) {
                ck_assert_int_ge(asprintf(&crt, "%s/%s.crt", certs, c->client), 0);
                ck_assert_int_ge(asprintf(&key, "%s/%s.key", certs, c->client), 0);
                curl_easy_setopt(h, CURLOPT_SSLCERT, crt);
                curl_easy_setopt(h, CURLOPT_SSLKEY, key);
        }
        _cleanup_free_ char *body = NULL;
        if (c->body_len > 0) {
                body = malloc(c->body_len);
                ck_assert_ptr_nonnull(body);
                memset(body, 'x', c->body_len);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) c->body_len);
        }
        c->code = curl_easy_perform(h);
        if (c->code == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
        curl_easy_cleanup(h);
}

static void *calls_thread(void *p) {
        Calls *cs = p;

        for (size_t i = 0; i < cs->n; i++)
                do_call(cs->port, &cs->calls[i]);
        (void) !write(cs->done_fd, "x", 1);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        *(bool *) userdata = true;
        return 0;
}

static bool is_true(void *userdata) {
        return *(bool *) userdata;
}

/* Run the calls from a thread while e serves them. */
static void run_calls(sd_event *e, int port, Call *calls, size_t n) {
        Calls cs = {.port = port, .calls = calls, .n = n};
        sd_event_source *src = NULL;
        bool done = false;
        int pfd[2];
        pthread_t t;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        cs.done_fd = pfd[1];
        ck_assert_int_ge(sd_event_add_io(e, &src, pfd[0], EPOLLIN, on_done, &done), 0);
        ck_assert_int_eq(pthread_create(&t, NULL, calls_thread, &cs), 0);
        ck_assert_int_eq(etcd_launcher_run_until(e, is_true, &done, 60 * SEC), 0);
        pthread_join(t, NULL);
        sd_event_source_disable_unref(src);
        close(pfd[0]);
        close(pfd[1]);
}

static void handler(HttpRequest *req, void *userdata) {
        char buf[128];
        size_t len = 0;

        if (streq(http_request_path(req), "/stream")) {
                /* a streamed reply (the web view's event stream) over TLS */
                HttpStream *s = NULL;

                ck_assert_int_eq(http_request_reply_stream(req, 200, "text/event-stream", NULL,
                                                           NULL, NULL, &s),
                                 0);
                ck_assert_int_eq(http_stream_write(s, "data: one\n\n", 11), 0);
                ck_assert_int_eq(http_stream_write(s, "data: two\n\n", 11), 0);
                http_stream_end(s);
                return;
        }

        (void) http_request_body(req, &len);
        snprintf(buf, sizeof(buf), "%s %s %zu", http_request_method(req), http_request_path(req),
                 len);
        ck_assert_int_eq(http_request_reply(req, 200, "text/plain", buf, strlen(buf), NULL), 0);
}

/* A server with TLS from the files (ca_name may be NULL), listening on a TCP port and a unix
 * socket. */
static HttpServer *tls_server(sd_event *e, const char *ca_name, int *ret_port, char **ret_sock) {
        _cleanup_free_ char *crt = cert_path("server.crt"), *key = cert_path("server.key"),
                            *ca = NULL, *err = NULL;
        HttpServer *srv = NULL;
        char addr[64];

        if (ca_name)
                ck_assert_int_ge(asprintf(&ca, "%s/%s.crt", certs, ca_name), 0);
        ck_assert_int_eq(http_server_new(&srv, e, "fleetd/test", handler, NULL), 0);
        ck_assert_int_eq(http_server_set_tls_files(srv, crt, key, ca, &err), 0);
        *ret_port = test_free_port();
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", *ret_port);
        ck_assert_int_eq(http_server_listen(srv, addr), 0);
        *ret_sock = path_in(scratch, ca_name ? "auth.sock" : "noauth.sock");
        ck_assert_int_eq(http_server_listen(srv, *ret_sock), 0);
        ck_assert_int_eq(http_server_n_listeners(srv), 2);
        ck_assert_int_eq(http_server_n_tls_listeners(srv), 1);
        return srv;
}

START_TEST(test_client_certificates) {
        sd_event *e = NULL;
        HttpServer *srv;
        _cleanup_free_ char *sock = NULL;
        int port;

        ck_assert_int_ge(sd_event_new(&e), 0);
        srv = tls_server(e, "ca", &port, &sock);

        Call calls[] = {
                /* 0: a client certificate from the CA: served */
                {.scheme = "https", .ca = "ca", .client = "client"},
                /* 1: no client certificate: 403 before the handler runs */
                {.scheme = "https", .ca = "ca"},
                /* 2: a certificate from another CA: 403 */
                {.scheme = "https", .ca = "ca", .client = "stranger"},
                /* 3: signed by the CA but only for server use: 403 */
                {.scheme = "https", .ca = "ca", .client = "server-only"},
                /* 4: plain HTTP to the TLS port: no HTTP answer at all */
                {.scheme = "http"},
                /* 5: the client does not trust the server's certificate */
                {.scheme = "https", .ca = "other-ca", .client = "client"},
                /* 6: the unix socket stays plain HTTP, no certificate needed */
                {.scheme = "http", .unix_path = sock},
                /* 7: and a good client again, after the failures */
                {.scheme = "https", .ca = "ca", .client = "client"},
                /* 8: a body near the limit over TLS */
                {.scheme = "https", .ca = "ca", .client = "client", .body_len = HTTP_BODY_MAX},
                /* 9: a rejected client's body is not read into memory */
                {.scheme = "https", .ca = "ca", .body_len = 4096},
                /* 10: a streamed reply over TLS */
                {.scheme = "https", .ca = "ca", .client = "client", .path = "/stream"},
                /* 11: and not without a client certificate */
                {.scheme = "https", .ca = "ca", .path = "/stream"},
        };
        run_calls(e, port, calls, ELEMENTSOF(calls));

        ck_assert_int_eq(calls[0].code, CURLE_OK);
        ck_assert_int_eq(calls[0].status, 200);
        ck_assert_str_eq(calls[0].body, "GET /echo 0");
        for (size_t i = 1; i <= 3; i++) {
                ck_assert_msg(calls[i].code == CURLE_OK, "call %zu: %s", i,
                              curl_easy_strerror(calls[i].code));
                ck_assert_int_eq(calls[i].status, 403);
                ck_assert_ptr_nonnull(strstr(calls[i].body, "\"code\":403"));
        }
        ck_assert_ptr_nonnull(strstr(calls[1].body, "client certificate required"));
        ck_assert_ptr_nonnull(strstr(calls[2].body, "client certificate not trusted"));
        ck_assert_ptr_nonnull(strstr(calls[3].body, "client certificate not trusted"));
        ck_assert_int_ne(calls[4].code, CURLE_OK);
        ck_assert_int_eq(calls[4].status, 0);
        ck_assert_int_eq(calls[5].code, CURLE_PEER_FAILED_VERIFICATION);
        ck_assert_int_eq(calls[6].code, CURLE_OK);
        ck_assert_int_eq(calls[6].status, 200);
        ck_assert_int_eq(calls[7].status, 200);
        ck_assert_int_eq(calls[8].status, 200);
        ck_assert_str_eq(calls[8].body, "POST /echo 1048576");
        ck_assert_int_eq(calls[9].status, 403);
        ck_assert_int_eq(calls[10].status, 200);
        ck_assert_str_eq(calls[10].body, "data: one\n\ndata: two\n\n");
        ck_assert_int_eq(calls[11].status, 403);

        http_server_free(srv);
        sd_event_unref(e);
}
END_TEST

/* Without a CA, TLS only encrypts: any client is served. */
START_TEST(test_tls_without_client_auth) {
        sd_event *e = NULL;
        HttpServer *srv;
        _cleanup_free_ char *sock = NULL;
        int port;

        ck_assert_int_ge(sd_event_new(&e), 0);
        srv = tls_server(e, NULL, &port, &sock);
        Call calls[] = {
                {.scheme = "https", .ca = "ca"},
                {.scheme = "https", .ca = "ca", .client = "stranger"},
                {.scheme = "http"},
        };
        run_calls(e, port, calls, ELEMENTSOF(calls));
        ck_assert_int_eq(calls[0].status, 200);
        ck_assert_int_eq(calls[1].status, 200);
        ck_assert_int_eq(calls[2].status, 0);
        http_server_free(srv);
        sd_event_unref(e);
}
END_TEST

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = calloc(1, 65536);
        size_t n;

        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(buf);
        n = fread(buf, 1, 65535, f);
        ck_assert_int_gt(n, 0);
        fclose(f);
        return buf;
}

START_TEST(test_bad_settings) {
        sd_event *e = NULL;
        HttpServer *srv = NULL;
        _cleanup_free_ char *crt_path = cert_path("server.crt"),
                            *key_path = cert_path("server.key"),
                            *other_key_path = cert_path("client.key");
        _cleanup_free_ char *crt = read_file(crt_path), *key = read_file(key_path),
                            *other_key = read_file(other_key_path), *err = NULL;

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(http_server_new(&srv, e, "fleetd/test", handler, NULL), 0);
        ck_assert_int_eq(http_server_set_tls(srv, NULL, key, NULL), -EINVAL);
        ck_assert_int_eq(http_server_set_tls(srv, crt, "", NULL), -EINVAL);
        ck_assert_int_eq(http_server_set_tls(srv, "garbage", key, NULL), -EINVAL);
        ck_assert_int_eq(http_server_set_tls(srv, crt, other_key, NULL), -EINVAL); /* mismatch */
        ck_assert_int_eq(http_server_set_tls(srv, crt, key, "not a certificate"), -EINVAL);
        ck_assert_int_eq(http_server_set_tls(srv, crt, key, ""), -EINVAL);

        ck_assert_int_eq(http_server_set_tls_files(srv, "/nonexistent/c.pem", key_path, NULL, &err),
                         -ENOENT);
        ck_assert_str_eq(err, "Unable to use TLS certificate file /nonexistent/c.pem: No such "
                              "file or directory");
        ck_assert_int_eq(http_server_set_tls_files(srv, crt_path, crt_path, NULL, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "Unable to use TLS certificate "));
        ck_assert_ptr_nonnull(strstr(err, "not a PEM certificate matching the PEM key"));
        ck_assert_int_eq(http_server_set_tls_files(srv, crt_path, key_path, key_path, &err),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "Unable to use TLS CA file "));
        ck_assert_ptr_nonnull(strstr(err, "no PEM certificate in it"));
        ck_assert_int_eq(http_server_set_tls_files(srv, crt_path, "", NULL, &err), -EINVAL);
        ck_assert_str_eq(err, "TLS needs both a certificate and a key file");

        /* The check alone, as fleetd validates a configuration. */
        ck_assert_int_eq(http_tls_check_files(crt_path, key_path, crt_path, &err), 0);
        ck_assert_int_eq(http_tls_check_files(crt_path, key_path, NULL, NULL), 0);
        ck_assert_int_eq(http_tls_check_files(crt_path, other_key_path, NULL, &err), -EINVAL);
        ck_assert_int_eq(http_tls_check_files("/nonexistent", key_path, NULL, &err), -ENOENT);
        ck_assert_int_eq(http_server_n_tls_listeners(srv), 0);

        /* Nothing was set: a TCP listener is plain. Then TLS applies to later listeners only. */
        ck_assert_int_eq(http_server_listen(srv, "127.0.0.1:0"), 0);
        ck_assert_int_eq(http_server_n_tls_listeners(srv), 0);
        ck_assert_int_eq(http_server_set_tls(srv, crt, key, NULL), 0);
        ck_assert_int_eq(http_server_set_tls(srv, crt, key, crt), 0); /* replaced */
        ck_assert_int_eq(http_server_listen(srv, "127.0.0.1:0"), 0);
        ck_assert_int_eq(http_server_n_tls_listeners(srv), 1);
        http_server_free(srv);
        sd_event_unref(e);
}
END_TEST

/* ---- fleetctl over https against a real Api -------------------------------------------- */

typedef struct Child {
        char out[8192];
        size_t len;
        bool eof;
} Child;

static int on_child_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Child *c = userdata;
        ssize_t k = read(fd, c->out + c->len, sizeof(c->out) - 1 - c->len);

        if (k <= 0) {
                c->eof = true;
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        c->len += (size_t) k;
        c->out[c->len] = '\0';
        return 0;
}

static bool child_eof(void *userdata) {
        return ((Child *) userdata)->eof;
}

/* Run fleetctl with argv (after argv[0]), stdout and stderr captured, while e serves. Returns
 * its exit status. */
static int run_fleetctl(sd_event *e, char **args, Child *c) {
        const char *build = getenv("BUILD");
        _cleanup_free_ char *bin = NULL;
        sd_event_source *src = NULL;
        char *argv[16];
        size_t n = 0;
        int pfd[2], status = 0;
        pid_t pid;

        ck_assert_int_ge(asprintf(&bin, "%s/bin/fleetctl", build && *build ? build : "build"), 0);
        ck_assert_msg(access(bin, X_OK) == 0, "%s not built", bin);
        argv[n++] = bin;
        for (char **a = args; *a; a++) {
                ck_assert_int_lt(n, ELEMENTSOF(argv) - 1);
                argv[n++] = *a;
        }
        argv[n] = NULL;
        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        /*
         * posix_spawn, not fork: the parent stays suspended until the exec, and the child
         * closes every other fd first. A forked child running beside the event loop would
         * hold copies of sockets (libcurl's are not close-on-exec) that the loop closes
         * meanwhile, which leaves their epoll registrations behind and sd-event aborts on
         * the stale events.
         */
        posix_spawn_file_actions_t fa;
        ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
        ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO), 0);
        ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO), 0);
        ck_assert_int_eq(posix_spawn_file_actions_addclosefrom_np(&fa, 3), 0);
        ck_assert_int_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(pfd[1]);
        *c = (Child){};
        ck_assert_int_ge(sd_event_add_io(e, &src, pfd[0], EPOLLIN, on_child_output, c), 0);
        ck_assert_int_eq(etcd_launcher_run_until(e, child_eof, c, 30 * SEC), 0);
        sd_event_source_disable_unref(src);
        close(pfd[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

START_TEST(test_fleetctl_https) {
        EtcdLauncherOptions lo = {.base_dir = scratch};
        _cleanup_(etcd_launcher_freep) EtcdLauncher *etcd = NULL;
        _cleanup_free_ char *crt = cert_path("server.crt"), *key = cert_path("server.key"),
                            *ca = cert_path("ca.crt"), *ccrt = cert_path("client.crt"),
                            *ckey = cert_path("client.key"), *scrt = cert_path("stranger.crt"),
                            *skey = cert_path("stranger.key"), *endpoint = NULL,
                            *plain_endpoint = NULL, *ca_flag = NULL, *cert_flag = NULL,
                            *key_flag = NULL, *scert_flag = NULL, *skey_flag = NULL;
        sd_event *e = NULL;
        EtcdClient *client = NULL;
        Registry *registry = NULL;
        Api *api = NULL;
        Child c;
        char addr[64];
        int port = test_free_port();

        ck_assert_int_eq(etcd_launcher_start(&lo, &etcd), 0);
        ck_assert_int_eq(sd_event_new(&e), 0);
        EtcdClientConfig cc = {.endpoints = etcd_launcher_endpoints(etcd),
                               .request_timeout_usec = 5 * SEC};
        ck_assert_int_eq(etcd_client_new(&client, e, &cc), 0);
        ck_assert_int_eq(registry_new(&registry, client, "/t-api-tls/"), 0);

        /* A missing file is an error of api_new(). */
        ApiConfig bad = {.tls_cert_file = crt, .tls_key_file = "/nonexistent.key"};
        ck_assert_int_eq(api_new(&api, e, registry, &bad), -ENOENT);
        ck_assert_ptr_null(api);

        ApiConfig ac = {.tls_cert_file = crt, .tls_key_file = key, .tls_ca_file = ca};
        ck_assert_int_eq(api_new(&api, e, registry, &ac), 0);
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
        ck_assert_int_eq(api_listen(api, addr), 0);

        ck_assert_int_ge(asprintf(&endpoint, "--endpoint=https://127.0.0.1:%d", port), 0);
        ck_assert_int_ge(asprintf(&plain_endpoint, "--endpoint=http://127.0.0.1:%d", port), 0);
        ck_assert_int_ge(asprintf(&ca_flag, "--ca-file=%s", ca), 0);
        ck_assert_int_ge(asprintf(&cert_flag, "--cert-file=%s", ccrt), 0);
        ck_assert_int_ge(asprintf(&key_flag, "--key-file=%s", ckey), 0);
        ck_assert_int_ge(asprintf(&scert_flag, "--cert-file=%s", scrt), 0);
        ck_assert_int_ge(asprintf(&skey_flag, "--key-file=%s", skey), 0);

        /* Every flag: the legend of an empty list. */
        char *good[] = {endpoint, ca_flag, cert_flag, key_flag, (char *) "list-units", NULL};
        ck_assert_msg(run_fleetctl(e, good, &c) == 0, "fleetctl: %s", c.out);
        ck_assert_ptr_nonnull(strstr(c.out, "UNIT"));
        ck_assert_ptr_nonnull(strstr(c.out, "MACHINE"));

        /* The same with the environment variables is covered by the flags' unit tests; here
         * the failures: no client certificate, */
        char *no_cert[] = {endpoint, ca_flag, (char *) "list-units", NULL};
        ck_assert_int_ne(run_fleetctl(e, no_cert, &c), 0);
        ck_assert_msg(strstr(c.out, "403") && strstr(c.out, "client certificate required"),
                      "fleetctl: %s", c.out);

        /* a certificate from another CA, */
        char *stranger[] = {endpoint, ca_flag, scert_flag, skey_flag, (char *) "list-units", NULL};
        ck_assert_int_ne(run_fleetctl(e, stranger, &c), 0);
        ck_assert_msg(strstr(c.out, "client certificate not trusted"), "fleetctl: %s", c.out);

        /* a server fleetctl cannot verify (no --ca-file: the system CAs), */
        char *unverified[] = {endpoint, cert_flag, key_flag, (char *) "list-units", NULL};
        ck_assert_int_ne(run_fleetctl(e, unverified, &c), 0);

        /* and plain http to the TLS port. */
        char *plain[] = {plain_endpoint, (char *) "--request-timeout=2", (char *) "list-units",
                         NULL};
        ck_assert_int_ne(run_fleetctl(e, plain, &c), 0);

        /* Still serving the good client. */
        ck_assert_msg(run_fleetctl(e, good, &c) == 0, "fleetctl: %s", c.out);

        api_free(api);
        registry_free(registry);
        etcd_client_free(client);
        sd_event_unref(e);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("api-tls");
        TCase *tc = tcase_create("tls");

        tcase_add_unchecked_fixture(tc, certs_setup, certs_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_client_certificates);
        tcase_add_test(tc, test_tls_without_client_auth);
        tcase_add_test(tc, test_bad_settings);
        tcase_add_test(tc, test_fleetctl_https);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(suite)
