/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "api-client.h"
#include "etcd-driver.h"
#include "fleetctl-cordon.h"
#include "log.h"
#include "strv.h"

#define API_PREFIX "/fleet/v1/"
/* fleet-c's extensions (never part of fleet's API). */
#define EXT_PREFIX "/fleet-c/v1/"
#define MAX_PAGES 100000
#define _noreturn_ __attribute__((noreturn))

typedef struct Relay {
        pid_t pid;
        char *dir, *path;
} Relay;

struct ApiClient {
        CURL *curl;
        FleetctlEndpoint *endpoints;
        size_t n_endpoints;
        size_t current; /* endpoint that answered last */
        char *ca_file, *cert_file, *key_file;
        double connect_timeout;
        SshOptions tunnel; /* tunnel.tunnel != NULL: tunnelling */
        char *tunnel_host;
        int tunnel_port;
        Relay *relays; /* per endpoint, with a tunnel */
        char *error;
        char errbuf[CURL_ERROR_SIZE];
        EtcdDriver *etcd; /* --driver=etcd: reads from etcd, no writes */
};

typedef struct Resp {
        char *data;
        size_t len;
        bool oom;
} Resp;

_printf_(2, 3) static void set_error(ApiClient *c, const char *fmt, ...) {
        va_list ap;
        char *m = NULL;

        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        free(c->error);
        c->error = m;
}

const char *api_client_error(const ApiClient *c) {
        return c && c->error ? c->error : "";
}

static void tunnels_stop(ApiClient *c);

ApiClient *api_client_free(ApiClient *c) {
        if (!c)
                return NULL;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        etcd_driver_free(c->etcd);
        tunnels_stop(c);
        for (size_t i = 0; i < c->n_endpoints; i++)
                fleetctl_endpoint_done(&c->endpoints[i]);
        free(c->endpoints);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free((char *) c->tunnel.tunnel);
        free((char *) c->tunnel.user);
        free((char *) c->tunnel.known_hosts_file);
        free(c->tunnel_host);
        free(c->error);
        free(c);
        return NULL;
}

static int strdup_opt(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

static int client_init(ApiClient *c, const ApiClientOptions *o, char **reterr_message) {
        size_t n = strv_length(o->endpoints);
        int r;

        if (n == 0) {
                *reterr_message = strdup("no endpoint given");
                return -EINVAL;
        }
        c->endpoints = calloc(n, sizeof(FleetctlEndpoint));
        if (!c->endpoints)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = fleetctl_endpoint_parse(o->endpoints[i], &c->endpoints[i], reterr_message);
                if (r < 0)
                        return r;
                c->n_endpoints++;
        }
        if (strdup_opt(o->ca_file, &c->ca_file) < 0 ||
            strdup_opt(o->cert_file, &c->cert_file) < 0 ||
            strdup_opt(o->key_file, &c->key_file) < 0)
                return -ENOMEM;
        c->connect_timeout = o->connect_timeout;
        if (o->tunnel && o->tunnel->tunnel) {
                c->tunnel = *o->tunnel;
                c->tunnel.tunnel = NULL;
                c->tunnel.tty = 0;
                c->tunnel.forward_agent = false;
                r = fleetctl_split_host_port(o->tunnel->tunnel, 22, &c->tunnel_host,
                                             &c->tunnel_port);
                if (r < 0) {
                        if (asprintf(reterr_message, "invalid tunnel \"%s\"", o->tunnel->tunnel) <
                            0)
                                *reterr_message = NULL;
                        return r == -ENOMEM ? r : -EINVAL;
                }
                c->tunnel.port = c->tunnel_port;
                c->tunnel.user = NULL;
                c->tunnel.known_hosts_file = NULL;
                /* deep copies: the caller's strings are borrowed */
                c->tunnel.tunnel = strdup(o->tunnel->tunnel);
                if (!c->tunnel.tunnel ||
                    strdup_opt(o->tunnel->user, (char **) &c->tunnel.user) < 0 ||
                    strdup_opt(o->tunnel->known_hosts_file, (char **) &c->tunnel.known_hosts_file) <
                            0)
                        return -ENOMEM;
                c->relays = calloc(n, sizeof(Relay));
                if (!c->relays)
                        return -ENOMEM;
        }
        c->curl = curl_easy_init();
        return c->curl ? 0 : -ENOMEM;
}

int api_client_new(const ApiClientOptions *o, ApiClient **ret, char **reterr_message) {
        ApiClient *c = calloc(1, sizeof(ApiClient));
        int r;

        if (!c)
                return -ENOMEM;
        r = client_init(c, o, reterr_message);
        if (r < 0) {
                api_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

static int tunnel_start(ApiClient *c, size_t i);

int api_client_new_etcd(const EtcdDriverOptions *o, const SshOptions *tunnel, ApiClient **ret,
                        char **reterr_message) {
        _cleanup_(api_client_freep) ApiClient *c = calloc(1, sizeof(ApiClient));
        _cleanup_strv_free_ char **sockets = NULL;
        EtcdDriverOptions eo = *o;
        int r;

        if (!c)
                return -ENOMEM;
        if (tunnel && tunnel->tunnel) {
                /* fleet: the etcd driver's TCP connections go through the ssh connection; here
                 * one relay per etcd endpoint, as the API driver has */
                ApiClientOptions ao = {.endpoints = o->endpoints, .tunnel = tunnel};

                r = client_init(c, &ao, reterr_message);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < c->n_endpoints; i++) {
                        r = tunnel_start(c, i);
                        if (r < 0) {
                                if (asprintf(reterr_message, "failed initializing SSH tunnel: %s",
                                             strerror(-r)) < 0)
                                        *reterr_message = NULL;
                                return r;
                        }
                        if (strv_extend(&sockets, c->relays[i].path) < 0)
                                return -ENOMEM;
                }
                eo.unix_sockets = sockets;
        }
        r = etcd_driver_new(&eo, &c->etcd, reterr_message);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* An etcd driver call's result r: its message *msg (read only after the call, hence the
 * pointer) becomes the client's error. */
static int etcd_result(ApiClient *c, int r, char **msg) {
        if (r < 0 && r != -ENOENT)
                set_error(c, "%s", *msg ? *msg : strerror(-r));
        free(*msg);
        *msg = NULL;
        return r;
}

int api_client_latest_daemon_version(ApiClient *c, char **ret) {
        char *msg = NULL;

        if (!c->etcd)
                return -EOPNOTSUPP;
        return etcd_result(c, etcd_driver_latest_version(c->etcd, ret, &msg), &msg);
}

/* ---- tunnels ----
 *
 * With --tunnel, each endpoint gets a relay: a child process listening on a private unix
 * socket that starts one ssh per accepted connection, with the connection as ssh's stdin and
 * stdout. ssh runs "fleetctl fd-forward <socket>" on the tunnel host for a unix endpoint (as
 * fleet does), or forwards to host:port with -W for a TCP one. curl simply connects to the
 * relay's socket (CURLOPT_UNIX_SOCKET_PATH), whatever the URL says.
 */

static int tunnel_argv(ApiClient *c, const FleetctlEndpoint *e, char ***ret) {
        _cleanup_free_ char *command = NULL, *forward = NULL;
        SshOptions o = c->tunnel;
        int r;

        o.tunnel = NULL;
        if (e->unix_socket) {
                char *words[] = {(char *) "fleetctl", (char *) "fd-forward", e->socket_path, NULL};
                r = fleetctl_shell_join(words, &command);
        } else
                r = asprintf(&forward, strchr(e->host, ':') ? "[%s]:%d" : "%s:%d", e->host,
                             e->port) < 0
                            ? -ENOMEM
                            : 0;
        if (r < 0)
                return r;
        return fleetctl_ssh_argv(&o, c->tunnel_host, command, forward, ret);
}

_noreturn_ static void relay_main(int listen_fd, char **argv) {
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        (void) signal(SIGCHLD, SIG_IGN); /* reap the ssh processes automatically */
        for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                pid_t pid;

                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        _exit(1);
                }
                pid = fork();
                if (pid == 0) {
                        (void) signal(SIGCHLD, SIG_DFL);
                        (void) dup2(fd, STDIN_FILENO);
                        (void) dup2(fd, STDOUT_FILENO);
                        execvp(argv[0], argv);
                        fprintf(stderr, "failed to execute %s: %m\n", argv[0]);
                        _exit(127);
                }
                (void) close(fd);
        }
}

static int tunnel_start(ApiClient *c, size_t i) {
        _cleanup_strv_free_ char **argv = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        Relay *t = &c->relays[i];
        _cleanup_close_ int fd = -EBADF;
        const char *tmp = getenv("XDG_RUNTIME_DIR");
        int r;

        if (t->pid > 0)
                return 0;
        r = tunnel_argv(c, &c->endpoints[i], &argv);
        if (r < 0)
                return r;
        if (asprintf(&t->dir, "%s/fleetctl-tunnel-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) {
                t->dir = NULL;
                return -ENOMEM;
        }
        if (!mkdtemp(t->dir)) {
                r = -errno;
                free(t->dir);
                t->dir = NULL;
                return r;
        }
        if (asprintf(&t->path, "%s/sock", t->dir) < 0) {
                t->path = NULL;
                return -ENOMEM;
        }
        if (strlen(t->path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, t->path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return -errno;
        fflush(stdout);
        fflush(stderr);
        t->pid = fork();
        if (t->pid < 0) {
                t->pid = 0;
                return -errno;
        }
        if (t->pid == 0)
                relay_main(fd, argv);
        log_debug("Tunnelling %s through %s", c->endpoints[i].base_url, c->tunnel_host);
        return 0;
}

static void tunnels_stop(ApiClient *c) {
        for (size_t i = 0; c->relays && i < c->n_endpoints; i++) {
                Relay *t = &c->relays[i];

                if (t->pid > 0) {
                        (void) kill(t->pid, SIGTERM);
                        (void) waitpid(t->pid, NULL, 0);
                }
                if (t->path)
                        (void) unlink(t->path);
                if (t->dir)
                        (void) rmdir(t->dir);
                free(t->path);
                free(t->dir);
        }
        free(c->relays);
        c->relays = NULL;
}

/* ---- requests ---- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Resp *r = userdata;
        size_t n = size * nmemb;
        char *d;

        d = realloc(r->data, r->len + n + 1);
        if (!d) {
                r->oom = true;
                return 0;
        }
        memcpy(d + r->len, ptr, n);
        r->len += n;
        d[r->len] = '\0';
        r->data = d;
        return n;
}

/* Go's error text for a failed dial: lower-case errno string. */
static void set_dial_error(ApiClient *c, const char *method, const char *url,
                           const FleetctlEndpoint *e, CURLcode code) {
        long os_errno = 0;
        char buf[256];

        (void) curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno > 0 && (code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT)) {
                snprintf(buf, sizeof(buf), "%s", strerror((int) os_errno));
                buf[0] = (char) tolower((unsigned char) buf[0]);
                if (e->unix_socket && !c->tunnel.tunnel)
                        set_error(c, "%s %s: dial unix %s: connect: %s", method, url,
                                  e->socket_path, buf);
                else
                        set_error(c, "%s %s: dial tcp %s:%d: connect: %s", method, url, e->host,
                                  e->port, buf);
                return;
        }
        set_error(c, "%s %s: %s", method, url, c->errbuf[0] ? c->errbuf : curl_easy_strerror(code));
}

static bool connection_failed(CURLcode code) {
        return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
               code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_OPERATION_TIMEDOUT ||
               code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING ||
               code == CURLE_SSL_CONNECT_ERROR;
}

static const char *go_method(const char *method) {
        if (streq(method, "GET"))
                return "Get";
        if (streq(method, "PUT"))
                return "Put";
        if (streq(method, "DELETE"))
                return "Delete";
        return method;
}

static int setup(ApiClient *c, const FleetctlEndpoint *e, const char *relay, const char *method,
                 const char *url, const char *body, struct curl_slist *headers, Resp *resp) {
        CURL *h = c->curl;

        curl_easy_reset(h);
        c->errbuf[0] = '\0';
        (void) curl_easy_setopt(h, CURLOPT_URL, url);
        (void) curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
        (void) curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        (void) curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
        (void) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        (void) curl_easy_setopt(h, CURLOPT_USERAGENT, "fleetctl/" FLEET_VERSION);
        (void) curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        if (log_get_max_level() >= LOG_DEBUG && getenv("FLEETCTL_CURL_VERBOSE"))
                (void) curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
        if (c->connect_timeout > 0)
                (void) curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                                        (long) (c->connect_timeout * 1000));
        if (streq(method, "GET"))
                (void) curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        else
                (void) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
                (void) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                (void) curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        }
        if (relay)
                (void) curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, relay);
        else if (e->unix_socket)
                (void) curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, e->socket_path);
        if (c->ca_file)
                (void) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        if (c->cert_file)
                (void) curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
        if (c->key_file)
                (void) curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
        return 0;
}

/* One request against one endpoint. Returns the HTTP status, -ECONNREFUSED for a failure to
 * reach the endpoint (try the next one), or another negative errno. */
static int request_one(ApiClient *c, size_t i, const char *method, const char *path,
                       const char *body, Resp *resp) {
        const FleetctlEndpoint *e = &c->endpoints[i];
        struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL;
        const char *relay = NULL;
        CURLcode code;
        long status = 0;
        int r;

        if (c->relays) {
                r = tunnel_start(c, i);
                if (r < 0) {
                        set_error(c, "failed initializing SSH tunnel: %s", strerror(-r));
                        return r == -ENOMEM ? r : -ECONNREFUSED;
                }
                relay = c->relays[i].path;
        }

        if (asprintf(&url, "%s%s", e->base_url, path) < 0)
                return -ENOMEM;
        if (body && !(headers = curl_slist_append(NULL, "Content-Type: application/json")))
                return -ENOMEM;
        setup(c, e, relay, method, url, body, headers, resp);
        code = curl_easy_perform(c->curl);
        curl_slist_free_all(headers);
        if (resp->oom)
                return -ENOMEM;
        if (code != CURLE_OK) {
                set_dial_error(c, go_method(method), url, e, code);
                return connection_failed(code) ? -ECONNREFUSED : -EIO;
        }
        (void) curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        return (int) status;
}

/* Returns the HTTP status (2xx..5xx) with the body in resp, or a negative errno. A non-2xx
 * status also sets the error message in googleapi's words. */
static int request(ApiClient *c, const char *method, const char *path, const char *body,
                   Resp *resp) {
        int status = -ECONNREFUSED;

        for (size_t k = 0; k < c->n_endpoints; k++) {
                size_t i = (c->current + k) % c->n_endpoints;

                free(resp->data);
                *resp = (Resp){};
                status = request_one(c, i, method, path, body, resp);
                if (status != -ECONNREFUSED) {
                        c->current = i;
                        break;
                }
                log_debug("%s", api_client_error(c));
        }
        if (status < 0)
                return status;
        if (status < 200 || status > 299) {
                _cleanup_free_ char *msg = NULL;
                int code;

                if (api_error_parse(resp->data ? resp->data : "", resp->len, &code, &msg) >= 0 &&
                    *msg)
                        set_error(c, "googleapi: Error %d: %s", code, msg);
                else
                        set_error(c, "googleapi: got HTTP response code %d with body: %s", status,
                                  resp->data ? resp->data : "");
        }
        return status;
}

static int escape(ApiClient *c, const char *s, char **ret) {
        char *e = curl_easy_escape(c->curl, s, 0);

        if (!e)
                return -ENOMEM;
        *ret = strdup(e);
        curl_free(e);
        return *ret ? 0 : -ENOMEM;
}

static int decode_failed(ApiClient *c, int r, char *msg) {
        if (r == -EINVAL)
                set_error(c, "%s", msg ? msg : "invalid response");
        free(msg);
        return r == -ENOMEM ? r : -EBADMSG;
}

int api_client_get_unit(ApiClient *c, const char *name, ApiUnit *ret) {
        _cleanup_free_ char *esc = NULL, *path = NULL;
        Resp resp = {};
        char *msg = NULL;
        int r;

        if (c->etcd)
                return etcd_result(c, etcd_driver_get_unit(c->etcd, name, ret, &msg), &msg);
        r = escape(c, name, &esc);
        if (r < 0 || asprintf(&path, API_PREFIX "units/%s?alt=json", esc) < 0)
                return -ENOMEM;
        r = request(c, "GET", path, NULL, &resp);
        if (r == 404)
                r = -ENOENT;
        else if (r >= 0 && (r < 200 || r > 299))
                r = -EIO;
        else if (r >= 0) {
                r = api_unit_parse(resp.data ? resp.data : "", resp.len, ret, &msg);
                if (r < 0)
                        r = decode_failed(c, r, TAKE_PTR(msg));
        }
        free(resp.data);
        return r;
}

static int put_unit(ApiClient *c, const char *name, const ApiUnit *body) {
        _cleanup_free_ char *esc = NULL, *path = NULL, *json = NULL;
        Resp resp = {};
        int r;
        char *msg = NULL;

        if (c->etcd)
                return etcd_result(c, etcd_driver_put_unit(c->etcd, name, body, &msg), &msg);

        r = escape(c, name, &esc);
        if (r < 0 || asprintf(&path, API_PREFIX "units/%s?alt=json", esc) < 0)
                return -ENOMEM;
        r = api_unit_format(body, &json);
        if (r < 0)
                return r;
        r = request(c, "PUT", path, json, &resp);
        free(resp.data);
        if (r >= 0 && (r < 200 || r > 299))
                return -EIO;
        return r < 0 ? r : 0;
}

int api_client_create_unit(ApiClient *c, const ApiUnit *u) {
        ApiUnit body = {.name = u->name, .options = u->options, .n_options = u->n_options};

        return put_unit(c, u->name, &body);
}

int api_client_replace_unit(ApiClient *c, const ApiUnit *u) {
        ApiUnit body = {.name = u->name,
                        .options = u->options,
                        .n_options = u->n_options,
                        .desired_state = u->desired_state};

        return put_unit(c, u->name, &body);
}

int api_client_set_desired_state(ApiClient *c, const char *name, const char *state) {
        ApiUnit body = {.desired_state = (char *) state};

        return put_unit(c, name, &body);
}

/* A request whose answer has no body worth reading: 0 on 2xx, -ENOENT on 404, -EIO on
 * another status, < 0 when it could not be made. */
static int request_no_body(ApiClient *c, const char *method, const char *path, const char *body) {
        Resp resp = {};
        int r = request(c, method, path, body, &resp);

        free(resp.data);
        if (r == 404)
                return -ENOENT;
        if (r >= 0 && (r < 200 || r > 299))
                return -EIO;
        return r < 0 ? r : 0;
}

int api_client_delete_unit(ApiClient *c, const char *name) {
        _cleanup_free_ char *esc = NULL, *path = NULL;
        char *msg = NULL;
        int r;

        if (c->etcd)
                return etcd_result(c, etcd_driver_delete_unit(c->etcd, name, &msg), &msg);
        r = escape(c, name, &esc);
        if (r < 0 || asprintf(&path, API_PREFIX "units/%s?alt=json", esc) < 0)
                return -ENOMEM;
        return request_no_body(c, "DELETE", path, NULL);
}

/* One page decoder per entity type, behind one loop that follows nextPageToken. */
typedef int (*PageParse)(const char *text, size_t len, void **items, size_t *n, char **token,
                         char **err);
typedef void *(*ArrayFree)(void *a, size_t n);

static int list_all(ApiClient *c, const char *path, PageParse parse, size_t elem_size,
                    ArrayFree array_free, void **ret, size_t *ret_n) {
        _cleanup_free_ char *token = NULL;
        char *all = NULL;
        size_t n_all = 0;
        int r = 0;

        for (size_t page = 0; page < MAX_PAGES; page++) {
                _cleanup_free_ char *url = NULL, *esc = NULL, *next = NULL, *msg = NULL;
                void *items = NULL;
                size_t n = 0;
                Resp resp = {};
                char *grown;

                if (token && escape(c, token, &esc) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (asprintf(&url, "%s%calt=json%s%s", path, strchr(path, '?') ? '&' : '?',
                             esc ? "&nextPageToken=" : "", strempty(esc)) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = request(c, "GET", url, NULL, &resp);
                if (r >= 0 && (r < 200 || r > 299))
                        r = -EIO;
                if (r >= 0) {
                        r = parse(resp.data ? resp.data : "", resp.len, &items, &n, &next, &msg);
                        if (r < 0)
                                r = decode_failed(c, r, TAKE_PTR(msg));
                }
                free(resp.data);
                if (r < 0)
                        break;
                grown = n > 0 ? realloc(all, elem_size * (n_all + n)) : all;
                if (n > 0 && !grown) {
                        array_free(items, n);
                        r = -ENOMEM;
                        break;
                }
                all = grown;
                if (n > 0)
                        memcpy(all + elem_size * n_all, items, elem_size * n);
                n_all += n;
                free(items); /* the members moved into all */
                if (!next || !*next)
                        break;
                free(token);
                token = TAKE_PTR(next);
        }
        if (r < 0) {
                array_free(all, n_all);
                return r;
        }
        *ret = all;
        *ret_n = n_all;
        return 0;
}

static int parse_units(const char *t, size_t l, void **i, size_t *n, char **tok, char **e) {
        return api_unit_page_parse(t, l, (ApiUnit **) i, n, tok, e);
}
static int parse_states(const char *t, size_t l, void **i, size_t *n, char **tok, char **e) {
        return api_unit_state_page_parse(t, l, (ApiUnitState **) i, n, tok, e);
}
static int parse_machines(const char *t, size_t l, void **i, size_t *n, char **tok, char **e) {
        return api_machine_page_parse(t, l, (ApiMachine **) i, n, tok, e);
}
static void *free_units(void *a, size_t n) {
        return api_unit_array_free(a, n);
}
static void *free_states(void *a, size_t n) {
        return api_unit_state_array_free(a, n);
}
static void *free_machines(void *a, size_t n) {
        return api_machine_array_free(a, n);
}

int api_client_list_units(ApiClient *c, ApiUnit **ret, size_t *ret_n) {
        char *msg = NULL;

        if (c->etcd)
                return etcd_result(c, etcd_driver_list_units(c->etcd, ret, ret_n, &msg), &msg);
        return list_all(c, API_PREFIX "units", parse_units, sizeof(ApiUnit), free_units,
                        (void **) ret, ret_n);
}

int api_client_list_unit_states(ApiClient *c, const char *unit_name, const char *machine_id,
                                ApiUnitState **ret, size_t *ret_n) {
        _cleanup_free_ char *path = NULL, *u = NULL, *m = NULL;
        char *msg = NULL;

        if (c->etcd)
                return etcd_result(c,
                                   etcd_driver_list_unit_states(c->etcd, unit_name, machine_id, ret,
                                                                ret_n, &msg),
                                   &msg);
        if ((unit_name && escape(c, unit_name, &u) < 0) ||
            (machine_id && escape(c, machine_id, &m) < 0))
                return -ENOMEM;
        if (asprintf(&path, API_PREFIX "state%s%s%s%s%s", u || m ? "?" : "", u ? "unitName=" : "",
                     strempty(u), u && m ? "&" : "", m ? "machineID=" : "") < 0)
                return -ENOMEM;
        if (m) {
                char *p = NULL;
                if (asprintf(&p, "%s%s", path, m) < 0)
                        return -ENOMEM;
                free(path);
                path = p;
        }
        return list_all(c, path, parse_states, sizeof(ApiUnitState), free_states, (void **) ret,
                        ret_n);
}

int api_client_list_machines(ApiClient *c, ApiMachine **ret, size_t *ret_n) {
        char *msg = NULL;

        if (c->etcd)
                return etcd_result(c, etcd_driver_list_machines(c->etcd, ret, ret_n, &msg), &msg);
        return list_all(c, API_PREFIX "machines", parse_machines, sizeof(ApiMachine), free_machines,
                        (void **) ret, ret_n);
}

/* ---- fleet-c's cordons ---- */

/* Cordons live behind fleet-c's API extension; the etcd driver speaks only fleet's model. */
static int cordons_need_api(ApiClient *c) {
        set_error(c, "cordons need fleet-c's HTTP API; they are not available with --driver=etcd");
        return -EOPNOTSUPP;
}

int api_client_list_cordons(ApiClient *c, char ***ret) {
        Resp resp = {};
        char *msg = NULL;
        int r;

        if (c->etcd)
                return cordons_need_api(c);
        r = request(c, "GET", EXT_PREFIX "cordons", NULL, &resp);
        if (r == 404) {
                set_error(c, "this fleet API has no cordons (not fleet-c)");
                r = -EOPNOTSUPP;
        } else if (r >= 0 && (r < 200 || r > 299))
                r = -EIO;
        else if (r >= 0) {
                r = fleetctl_cordons_parse(resp.data ? resp.data : "", resp.len, ret, &msg);
                if (r < 0)
                        r = decode_failed(c, r, TAKE_PTR(msg));
        }
        free(resp.data);
        return r;
}

static int cordon_request(ApiClient *c, const char *method, const char *machine_id,
                          const char *body) {
        _cleanup_free_ char *esc = NULL, *path = NULL;
        int r;

        if (c->etcd)
                return cordons_need_api(c);
        r = escape(c, machine_id, &esc);
        if (r < 0 || asprintf(&path, EXT_PREFIX "cordons/%s", esc) < 0)
                return -ENOMEM;
        return request_no_body(c, method, path, body);
}

int api_client_put_cordon(ApiClient *c, const char *machine_id, bool draining) {
        return cordon_request(c, "PUT", machine_id,
                              draining ? "{\"draining\":true}" : "{\"draining\":false}");
}

int api_client_delete_cordon(ApiClient *c, const char *machine_id) {
        return cordon_request(c, "DELETE", machine_id, NULL);
}

/* ---- fleet-c's pins (rolling updates of global units) ---- */

static int pin_request(ApiClient *c, const char *method, const char *machine_id, const char *name,
                       const char *body) {
        _cleanup_free_ char *em = NULL, *en = NULL, *path = NULL;
        int r;

        if (c->etcd) {
                set_error(c, "rolling updates of global units need fleet-c's HTTP API; they are "
                             "not available with --driver=etcd");
                return -EOPNOTSUPP;
        }
        r = escape(c, machine_id, &em);
        r = r < 0 ? r : escape(c, name, &en);
        if (r < 0 || asprintf(&path, EXT_PREFIX "pins/%s/%s", em, en) < 0)
                return -ENOMEM;
        return request_no_body(c, method, path, body);
}

int api_client_put_pin(ApiClient *c, const char *machine_id, const char *name, const char *hash) {
        _cleanup_free_ char *body = NULL;

        if (asprintf(&body, "{\"hash\":\"%s\"}", hash) < 0)
                return -ENOMEM;
        return pin_request(c, "PUT", machine_id, name, body);
}

int api_client_delete_pin(ApiClient *c, const char *machine_id, const char *name) {
        return pin_request(c, "DELETE", machine_id, name, NULL);
}
