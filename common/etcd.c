/* SPDX-License-Identifier: MIT */
/* The etcd client core: configuration, calls with failover and re-authentication, stats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "etcd-internal.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"

#define ETCD_DEFAULT_ENDPOINT "http://127.0.0.1:2379"
#define ETCD_DEFAULT_TIMEOUT_USEC 1000000ULL

static const char *const request_type_table[_ETCD_REQUEST_TYPE_MAX] = {
        [ETCD_REQUEST_RANGE] = "range",
        [ETCD_REQUEST_PUT] = "put",
        [ETCD_REQUEST_DELETE] = "delete",
        [ETCD_REQUEST_TXN] = "txn",
        [ETCD_REQUEST_COMPACT] = "compact",
        [ETCD_REQUEST_LEASE_GRANT] = "lease_grant",
        [ETCD_REQUEST_LEASE_KEEPALIVE] = "lease_keepalive",
        [ETCD_REQUEST_LEASE_REVOKE] = "lease_revoke",
        [ETCD_REQUEST_LEASE_TIMETOLIVE] = "lease_timetolive",
        [ETCD_REQUEST_AUTHENTICATE] = "authenticate",
        [ETCD_REQUEST_WATCH] = "watch",
};

const char *etcd_request_type_to_string(EtcdRequestType t) {
        if ((unsigned) t >= _ETCD_REQUEST_TYPE_MAX)
                return NULL;
        return request_type_table[t];
}

void etcd_stats_record(EtcdClient *c, EtcdRequestType t, int error, uint64_t start_usec) {
        EtcdOpStats *s;
        uint64_t d;

        if ((unsigned) t >= _ETCD_REQUEST_TYPE_MAX)
                return;
        s = &c->stats.ops[t];
        d = clock_now_usec(CLOCK_MONOTONIC) - start_usec;
        s->requests++;
        if (error < 0)
                s->errors++;
        s->latency_usec_sum += d;
        s->latency_usec_max = MAX(s->latency_usec_max, d);
}

EtcdResponse *etcd_response_free(EtcdResponse *r) {
        if (!r)
                return NULL;
        etcd_result_done(&r->kv);
        etcd_txn_result_done(&r->txn);
        etcd_lease_info_done(&r->lease);
        free(r);
        return NULL;
}

/* ---- client --------------------------------------------------------------------------------- */

static bool startswith_http(const char *url) {
        return strneq(url, "http://", 7) || strneq(url, "https://", 8);
}

static int dup_optional(const char *s, char **ret) {
        if (!s || !*s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int add_endpoint(EtcdClient *c, const char *url) {
        char *e;
        size_t n;

        if (!startswith_http(url))
                return -EINVAL;
        e = strdup(url);
        if (!e)
                return -ENOMEM;
        n = strlen(e);
        while (n > 0 && e[n - 1] == '/')
                e[--n] = 0;
        return strv_consume(&c->endpoints, e);
}

static int client_configure(EtcdClient *c, const EtcdClientConfig *cfg) {
        int r;

        STRV_FOREACH(e, cfg ? cfg->endpoints : NULL) {
                r = add_endpoint(c, *e);
                if (r < 0)
                        return r;
        }
        if (strv_length(c->endpoints) == 0) {
                r = add_endpoint(c, ETCD_DEFAULT_ENDPOINT);
                if (r < 0)
                        return r;
        }
        c->n_endpoints = strv_length(c->endpoints);
        c->timeout_usec = cfg && cfg->request_timeout_usec > 0 ? cfg->request_timeout_usec
                                                               : ETCD_DEFAULT_TIMEOUT_USEC;
        if (!cfg)
                return 0;
        if (cfg->unix_sockets) {
                if (strv_length(cfg->unix_sockets) != c->n_endpoints)
                        return -EINVAL;
                c->unix_sockets = strv_copy(cfg->unix_sockets);
                if (!c->unix_sockets)
                        return -ENOMEM;
        }
        c->insecure = cfg->insecure_skip_verify;
        r = dup_optional(cfg->ca_file, &c->ca_file);
        if (r >= 0)
                r = dup_optional(cfg->cert_file, &c->cert_file);
        if (r >= 0)
                r = dup_optional(cfg->key_file, &c->key_file);
        if (r >= 0)
                r = dup_optional(cfg->username, &c->username);
        if (r >= 0 && c->username)
                r = dup_optional(cfg->password ? cfg->password : "", &c->password);
        return r;
}

int etcd_client_new(EtcdClient **ret, sd_event *event, const EtcdClientConfig *config) {
        _cleanup_(etcd_client_freep) EtcdClient *c = NULL;
        int r;

        assert(ret);
        c = calloc(1, sizeof(EtcdClient));
        if (!c)
                return -ENOMEM;
        if (event)
                c->event = sd_event_ref(event);
        else {
                r = sd_event_default(&c->event);
                if (r < 0)
                        return r;
        }
        r = client_configure(c, config);
        if (r < 0)
                return r;
        r = curl_glue_new(&c->glue, c->event);
        if (r < 0)
                return r;
        /* Lease keepalives get a connection of their own, and their answers are read first
         * when the loop wakes: bulk writes and listings in flight do not hold them up. */
        r = curl_glue_new(&c->lease_glue, c->event);
        if (r < 0)
                return r;
        r = curl_glue_set_priority(c->lease_glue, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static void call_free(EtcdCall *call);

EtcdClient *etcd_client_free(EtcdClient *c) {
        if (!c)
                return NULL;
        etcd_watch_free_all(c);
        while (c->calls)
                call_free(c->calls);
        curl_glue_free(c->glue);
        curl_glue_free(c->lease_glue);
        strv_free(c->endpoints);
        strv_free(c->unix_sockets);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->username);
        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        free(c->token);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

sd_event *etcd_client_get_event(EtcdClient *c) {
        return c->event;
}

const char *etcd_client_get_endpoint(EtcdClient *c) {
        return c->endpoints[c->current];
}

const EtcdStats *etcd_client_get_stats(EtcdClient *c) {
        return &c->stats;
}

void etcd_client_failover(EtcdClient *c, size_t failed) {
        if (c->n_endpoints < 2 || c->current != failed)
                return;
        c->current = (failed + 1) % c->n_endpoints;
        c->stats.failovers++;
        log_debug("etcd: endpoint %s failed, switching to %s", c->endpoints[failed],
                  c->endpoints[c->current]);
}

/* ---- HTTP requests -------------------------------------------------------------------------- */

static int easy_set_tls(EtcdClient *c, CURL *e) {
        if (c->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) != CURLE_OK)
                return -EIO;
        if (c->cert_file && curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file) != CURLE_OK)
                return -EIO;
        if (c->key_file && curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file) != CURLE_OK)
                return -EIO;
        if (c->insecure && (curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK ||
                            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK))
                return -EIO;
        return 0;
}

static int make_headers(EtcdClient *c, bool stream, struct curl_slist **ret) {
        struct curl_slist *h = NULL, *n;

        /* No "Expect: 100-continue" round trip for larger bodies. */
        h = curl_slist_append(NULL, "Content-Type: application/json");
        n = h ? curl_slist_append(h, "Expect:") : NULL;
        /* gRPC metadata "hasleader": etcd cancels the watch when its member loses the leader,
         * instead of leaving it silently stuck on a partitioned member. */
        if (n && stream)
                n = curl_slist_append(h, "Grpc-Metadata-hasleader: true");
        if (n && c->token) {
                _cleanup_free_ char *a = NULL;

                if (asprintf(&a, "Authorization: %s", c->token) < 0)
                        n = NULL;
                else
                        n = curl_slist_append(h, a);
        }
        if (!n) {
                curl_slist_free_all(h);
                return -ENOMEM;
        }
        *ret = n;
        return 0;
}

int etcd_client_make_easy(EtcdClient *c, size_t endpoint, const char *path, const char *body,
                          bool stream, uint64_t timeout_usec, CURL **ret,
                          struct curl_slist **ret_headers) {
        _cleanup_free_ char *url = NULL;
        struct curl_slist *headers = NULL;
        long connect_ms = (long) MAX(c->timeout_usec / 1000, (uint64_t) 1);
        long timeout_ms = (long) MAX((timeout_usec ?: c->timeout_usec) / 1000, (uint64_t) 1);
        CURL *e;
        int r;

        if (asprintf(&url, "%s%s", c->endpoints[endpoint], path) < 0)
                return -ENOMEM;
        e = curl_glue_easy_new(url);
        if (!e)
                return -ENOMEM;
        r = make_headers(c, stream, &headers);
        if (r >= 0 &&
            (curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
             curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(body)) != CURLE_OK ||
             curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK ||
             curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK))
                r = -EIO;
        if (r >= 0 && !stream && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK)
                r = -EIO;
        /* A stream has no overall timeout; probe the idle connection instead. */
        if (r >= 0 && stream &&
            (curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 5L) != CURLE_OK ||
             curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 2L) != CURLE_OK))
                r = -EIO;
        if (r >= 0)
                r = easy_set_tls(c, e);
        if (r >= 0 && c->unix_sockets &&
            curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->unix_sockets[endpoint]) != CURLE_OK)
                r = -EIO;
        if (r < 0) {
                curl_slist_free_all(headers);
                curl_easy_cleanup(e);
                return r;
        }
        *ret = e;
        *ret_headers = headers;
        return 0;
}

/* ---- calls ---------------------------------------------------------------------------------- */

static void call_unlink(EtcdCall *call) {
        EtcdClient *c = call->client;

        if (call->prev)
                call->prev->next = call->next;
        else if (c->calls == call)
                c->calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        call->prev = call->next = NULL;
        if (c->auth_call == call)
                c->auth_call = NULL;
}

static void call_free(EtcdCall *call) {
        call_unlink(call);
        curl_transfer_cancel(call->transfer);
        if (call->destroy)
                call->destroy(call->userdata);
        if (call->hook_free)
                call->hook_free(call->hook_data);
        free(call->body);
        free(call);
}

void etcd_call_cancel(EtcdCall *call) {
        if (!call)
                return;
        if (call->in_callback) {
                call->cancelled = true;
                return;
        }
        call_free(call);
}

void etcd_call_set_destroy(EtcdCall *call, void (*destroy)(void *userdata)) {
        call->destroy = destroy;
}

static void complete(EtcdCall *call, int error, EtcdResponse *resp) {
        EtcdClient *c = call->client;

        if (error < 0)
                resp = etcd_response_free(resp);
        etcd_stats_record(c, call->type, error, call->start_usec);
        call_unlink(call);
        call->in_callback = true;
        if (call->cb)
                call->cb(c, error, resp, call->userdata);
        call->in_callback = false;
        etcd_response_free(resp);
        call_free(call);
}

static bool is_idempotent(EtcdRequestType t) {
        return t != ETCD_REQUEST_TXN && t != ETCD_REQUEST_LEASE_GRANT;
}

static int decode_body(EtcdCall *call, const char *body, size_t n, EtcdResponse *resp) {
        switch (call->type) {
        case ETCD_REQUEST_RANGE:
                return etcd_json_decode_range(body, n, &resp->kv);
        case ETCD_REQUEST_PUT:
                return etcd_json_decode_put(body, n, &resp->kv);
        case ETCD_REQUEST_DELETE:
                return etcd_json_decode_delete(body, n, &resp->kv);
        case ETCD_REQUEST_TXN:
                return etcd_json_decode_txn(body, n, &resp->txn);
        case ETCD_REQUEST_COMPACT:
        case ETCD_REQUEST_LEASE_REVOKE:
                return etcd_json_decode_header_only(body, n, &resp->revision);
        case ETCD_REQUEST_LEASE_GRANT:
                return etcd_json_decode_lease_grant(body, n, &resp->lease);
        case ETCD_REQUEST_LEASE_KEEPALIVE:
                return etcd_json_decode_lease_keepalive(body, n, &resp->lease);
        case ETCD_REQUEST_LEASE_TIMETOLIVE:
                return etcd_json_decode_lease_timetolive(body, n, &resp->lease);
        case ETCD_REQUEST_AUTHENTICATE: {
                EtcdClient *c = call->client;
                char *token = NULL;
                int r = etcd_json_decode_authenticate(body, n, &token);

                if (r < 0)
                        return r;
                free(c->token);
                c->token = token;
                return 0;
        }
        default:
                return -EINVAL;
        }
}

static int decode_transfer(EtcdCall *call, CurlTransfer *t, EtcdResponse **ret) {
        _cleanup_(etcd_response_freep) EtcdResponse *resp = NULL;
        long status = curl_transfer_get_http_status(t);
        size_t n;
        const char *body = curl_transfer_get_body(t, &n);
        int r;

        if (status != 200) {
                r = etcd_json_decode_error(body, n, NULL);
                log_debug("etcd: %s returned HTTP %ld", call->path, status);
                if (r == -EINVAL && call->type == ETCD_REQUEST_AUTHENTICATE)
                        return -EACCES; /* etcd: "authentication failed" is InvalidArgument */
                return r < 0 && r != -EBADMSG ? r : -EIO;
        }
        resp = calloc(1, sizeof(EtcdResponse));
        if (!resp)
                return -ENOMEM;
        resp->type = call->type;
        r = decode_body(call, body, n, resp);
        if (r < 0)
                return r;
        if (resp->revision == 0)
                resp->revision = resp->kv.revision ?: resp->txn.revision ?: resp->lease.revision;
        if (call->type == ETCD_REQUEST_PUT || call->type == ETCD_REQUEST_DELETE ||
            call->type == ETCD_REQUEST_TXN)
                call->client->write_revision = MAX(call->client->write_revision, resp->revision);
        *ret = TAKE_PTR(resp);
        return 0;
}

static void on_transfer_done(CurlTransfer *t, int error, void *userdata);

static void park(EtcdCall *call) {
        call->waiting_auth = true;
        call->auth_gen = call->client->auth_gen;
}

/* Send the call's body to the current endpoint (or park it until authenticated). */
static int attempt(EtcdCall *call) {
        EtcdClient *c = call->client;
        struct curl_slist *headers = NULL;
        CURL *e = NULL;
        int r;

        if (call->type != ETCD_REQUEST_AUTHENTICATE && etcd_client_needs_token(c)) {
                etcd_client_authenticate(c);
                if (!c->auth_call)
                        return -ENOMEM;
                park(call);
                return 0;
        }
        call->endpoint = c->current;
        r = etcd_client_make_easy(c, call->endpoint, call->path, call->body, false,
                                  call->timeout_usec, &e, &headers);
        if (r < 0)
                return r;
        r = curl_glue_start(call->type == ETCD_REQUEST_LEASE_KEEPALIVE ? c->lease_glue : c->glue, e,
                            NULL, on_transfer_done, call, &call->transfer);
        if (r < 0) {
                curl_slist_free_all(headers);
                return r;
        }
        curl_transfer_own_headers(call->transfer, headers);
        c->stats.ops[call->type].attempts++;
        return 0;
}

static bool should_retry(EtcdCall *call, int error, CurlTransfer *t) {
        EtcdClient *c = call->client;

        if (call->tries >= c->n_endpoints)
                return false;
        if (error == -ECONNREFUSED || error == -EHOSTUNREACH || error == -EAGAIN)
                return true;
        if (error == -ETIMEDOUT || error == -ECONNRESET)
                return is_idempotent(call->type) || !curl_transfer_request_sent(t);
        return false;
}

static void on_transfer_done(CurlTransfer *t, int error, void *userdata) {
        EtcdCall *call = userdata;
        EtcdClient *c = call->client;
        EtcdResponse *resp = NULL;
        int r = error;

        call->transfer = NULL; /* freed by the glue when this returns */
        if (r >= 0)
                r = decode_transfer(call, t, &resp);
        if (r == -EACCES && c->username && !call->reauthed &&
            call->type != ETCD_REQUEST_AUTHENTICATE) {
                /* The token expired or was revoked: authenticate again, then resend. */
                call->reauthed = true;
                etcd_client_drop_token(c);
                r = attempt(call);
                if (r >= 0)
                        return;
        } else if (r < 0 && should_retry(call, r, t)) {
                log_debug("etcd: %s on %s failed (%s), trying the next endpoint", call->path,
                          c->endpoints[call->endpoint], strerror(-r));
                etcd_client_failover(c, call->endpoint);
                call->tries++;
                r = attempt(call);
                if (r >= 0)
                        return;
        } else if (r >= 0 && call->on_result) {
                r = call->on_result(call, &resp);
                if (r > 0)
                        return;
        }
        /* Not retried (outcome unknown, or every endpoint tried): later requests still
         * should not start on an endpoint that just failed. */
        if (etcd_error_is_transport(r))
                etcd_client_failover(c, call->endpoint);
        complete(call, r, resp);
}

int etcd_call_resend(EtcdCall *call, char *body) {
        free(call->body);
        call->body = body;
        call->tries = 1;
        call->reauthed = false;
        return attempt(call);
}

int etcd_call_submit(EtcdClient *c, EtcdRequestType type, const char *path, char *body,
                     etcd_callback_t cb, void *userdata, EtcdCall **ret_call) {
        return etcd_call_submit_timeout(c, type, path, body, 0, cb, userdata, ret_call);
}

int etcd_call_submit_timeout(EtcdClient *c, EtcdRequestType type, const char *path, char *body,
                             uint64_t timeout_usec, etcd_callback_t cb, void *userdata,
                             EtcdCall **ret_call) {
        EtcdCall *call;
        int r;

        call = calloc(1, sizeof(EtcdCall));
        if (!call) {
                free(body);
                return -ENOMEM;
        }
        *call = (EtcdCall){
                .client = c,
                .type = type,
                .path = path,
                .body = body,
                .cb = cb,
                .userdata = userdata,
                .tries = 1,
                .start_usec = clock_now_usec(CLOCK_MONOTONIC),
                .timeout_usec = timeout_usec,
        };
        call->next = c->calls;
        if (call->next)
                call->next->prev = call;
        c->calls = call;
        r = attempt(call);
        if (r < 0) {
                call_free(call);
                return r;
        }
        if (ret_call)
                *ret_call = call;
        return 0;
}

/* ---- authentication ------------------------------------------------------------------------- */

bool etcd_client_needs_token(EtcdClient *c) {
        return c->username && !c->token;
}

void etcd_client_drop_token(EtcdClient *c) {
        free(c->token);
        c->token = NULL;
}

/* Resume (error 0) or fail the calls parked for authentication gen. */
static void resume_parked(EtcdClient *c, uint64_t gen, int error) {
        for (;;) {
                EtcdCall *call = c->calls;
                int r = error;

                while (call && !(call->waiting_auth && call->auth_gen == gen))
                        call = call->next;
                if (!call)
                        return;
                call->waiting_auth = false;
                if (r >= 0)
                        r = attempt(call);
                if (r < 0)
                        complete(call, r, NULL);
        }
}

static void on_authenticated(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        uint64_t gen = (uint64_t) (uintptr_t) userdata;

        if (error < 0)
                log_debug("etcd: authentication as '%s' failed: %s", c->username, strerror(-error));
        resume_parked(c, gen, error);
        etcd_watch_auth_done_all(c, error);
}

void etcd_client_authenticate(EtcdClient *c) {
        char *body = NULL;
        int r;

        if (c->auth_call)
                return;
        r = etcd_json_encode_authenticate(c->username, c->password, &body);
        if (r < 0)
                return;
        c->auth_gen++;
        r = etcd_call_submit(c, ETCD_REQUEST_AUTHENTICATE, "/v3/auth/authenticate", body,
                             on_authenticated, (void *) (uintptr_t) c->auth_gen, &c->auth_call);
        if (r < 0)
                c->auth_call = NULL;
}

int64_t etcd_client_get_write_revision(const EtcdClient *c) {
        return c->write_revision;
}
