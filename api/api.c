/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "api-json.h"
#include "api-validate.h"
#include "log.h"

#ifndef FLEET_VERSION
#define FLEET_VERSION "0.0.0"
#endif

/* ---- request contexts ---------------------------------------------------------------------- */

static void ctx_free(ApiCtx *c) {
        Api *a = c->api;

        for (size_t i = 0; i < c->n_slots; i++) {
                etcd_call_cancel(c->slots[i].call);
                registry_list_free(c->slots[i].list);
        }
        etcd_call_cancel(c->write_call);
        if (c->free_data)
                c->free_data(c->data);
        api_route_match_done(&c->match);
        if (c->prev)
                c->prev->next = c->next;
        else
                a->pending = c->next;
        if (c->next)
                c->next->prev = c->prev;
        a->n_pending--;
        free(c);
}

void api_ctx_reply(ApiCtx *c, unsigned status, const char *content_type, const char *body,
                   size_t len, const char *const *headers) {
        int r;

        log_debug("HTTP %u for %s %s", status, http_request_method(c->req),
                  http_request_path(c->req));
        r = http_request_reply(c->req, status, content_type, body, len, headers);
        if (r < 0)
                log_warning_errno(r, "Failed to answer HTTP request, ignoring: %m");
        /*
         * A reply given from a later callback resumes the connection and arms the HTTP
         * server's zero-delay timer; that timer has sd-event's default accuracy (250 ms), so
         * without another wake-up the answer would wait up to 250 ms. A wake-up makes the loop
         * dispatch the already elapsed timer at once.
         */
        if (!c->api->dispatching && c->api->wake)
                (void) sd_event_source_set_enabled(c->api->wake, SD_EVENT_ONESHOT);
        c->api->status_counts[api_metrics_code_index(status)]++;
        ctx_free(c);
}

void api_ctx_reply_json(ApiCtx *c, unsigned status, char *json) {
        if (!json) {
                api_ctx_reply_internal(c, -ENOMEM);
                return;
        }
        api_ctx_reply(c, status, "application/json", json, strlen(json), NULL);
        free(json);
}

void api_ctx_reply_error(ApiCtx *c, unsigned status, const char *message) {
        char *json = NULL;

        if (api_error_format((int) status, message, &json) < 0) {
                /* a static body keeps the error shape even without memory */
                static const char oom[] = "{\"error\":{\"code\":500,\"message\":\"\"}}";
                api_ctx_reply(c, 500, "application/json", oom, sizeof(oom) - 1, NULL);
                return;
        }
        api_ctx_reply_json(c, status, json);
}

void api_ctx_reply_registry_error(ApiCtx *c, int error, const char *message) {
        const char *m = http_request_method(c->req), *p = http_request_path(c->req);

        if (api_error_is_unavailable(error)) {
                log_debug_errno(error, "%s %s: etcd unreachable: %m", m, p);
                api_ctx_reply_error(c, 503, API_MESSAGE_UNAVAILABLE);
                return;
        }
        log_warning_errno(error, "%s %s: registry operation failed: %m", m, p);
        api_ctx_reply_error(c, 500, message);
}

void api_ctx_reply_internal(ApiCtx *c, int error) {
        log_warning_errno(error, "Failed to answer %s %s: %m", http_request_method(c->req),
                          http_request_path(c->req));
        api_ctx_reply_error(c, 500, NULL);
}

/* ---- registry reads ------------------------------------------------------------------------ */

static void fetch_finish(ApiCtx *c) {
        ApiFetchDone done = c->fetch_done;

        if (c->n_running > 0 || !done)
                return;
        c->fetch_done = NULL;
        done(c, c->fetch_error);
}

static void fetch_fail(ApiCtx *c, int error) {
        if (c->fetch_error >= 0)
                c->fetch_error = error;
        for (size_t i = 0; i < c->n_slots; i++)
                if (c->slots[i].call) {
                        etcd_call_cancel(c->slots[i].call);
                        c->slots[i].call = NULL;
                        c->n_running--;
                }
}

static void on_fetched(Registry *r, int error, RegistryList *list, void *userdata) {
        ApiFetchSlot *s = userdata;
        ApiCtx *c = s->ctx;

        s->call = NULL;
        c->n_running--;
        if (error == -ENOENT && s->is_get)
                error = 0;
        else if (error >= 0) {
                s->list = malloc(sizeof(*s->list));
                if (!s->list)
                        error = -ENOMEM;
                else {
                        /* the list is borrowed: take its entries */
                        *s->list = *list;
                        list->entries = NULL;
                        list->n_entries = 0;
                }
        }
        if (error < 0)
                fetch_fail(c, error);
        fetch_finish(c);
}

static int fetch_slot(ApiCtx *c, ApiFetchSlot **ret) {
        if (c->n_slots >= API_FETCH_MAX) {
                fetch_fail(c, -E2BIG);
                return -E2BIG;
        }
        *ret = &c->slots[c->n_slots];
        **ret = (ApiFetchSlot){.ctx = c};
        return (int) c->n_slots++;
}

static bool read_cache_wanted(const ApiCtx *c) {
        const char *method = http_request_method(c->req);

        return c->api->cache && (streq(method, "GET") || streq(method, "HEAD"));
}

/*
 * The registry copy a read may be answered from: only for GET and HEAD (a write decides on
 * etcd's latest, with its revisions), and only once the copy has caught up with the latest
 * write of this API and of this process's etcd client, so that a client reads what it wrote
 * through this fleetd. Every read keeps the copy (it starts on the first one, which etcd still
 * answers).
 */
static const RegistryCache *read_cache(ApiCtx *c) {
        const RegistryCache *rc;

        if (!read_cache_wanted(c))
                return NULL;
        if (!c->copy_if_running)
                (void) api_cache_use(c->api->cache);
        /* this API's own writes, and every write of this process (agent, engine, a test) */
        rc = api_cache_current(c->api->cache, MAX(c->api->write_revision,
                                                  etcd_client_get_write_revision(
                                                          registry_get_client(c->api->registry))));
        if (rc)
                c->copy_revision = registry_cache_get_revision(rc);
        return rc;
}

/* The entries of kind whose key starts with sub, as registry_key_dir() words it (SCHEDULE and
 * METADATA: the machine ID; STATE: the unit name), from the copy's sorted array. */
static void cache_select(const RegistryCache *rc, RegistryKeyKind kind, const char *sub,
                         ApiFetchSlot *s) {
        size_t n, lo, hi;
        const RegistryEntry *e = registry_cache_list(rc, kind, &n);

        s->from_cache = true;
        s->cached = e;
        s->n_cached = n;
        if (!sub || n == 0)
                return;
        if (kind == REGISTRY_KEY_STATE) {
                /* sorted by (name, machine_id): one run of equal names */
                for (lo = 0; lo < n && strcmp(e[lo].key.name, sub) < 0; lo++)
                        ;
                for (hi = lo; hi < n && streq(e[hi].key.name, sub); hi++)
                        ;
                s->cached = e + lo;
                s->n_cached = hi - lo;
                return;
        }
        /* SCHEDULE, METADATA: by machine ID, not contiguous; no read route asks (yet) */
        s->cached = NULL;
        s->n_cached = 0;
        s->from_cache = false;
}

int api_fetch_list(ApiCtx *c, RegistryKeyKind kind, const char *sub, bool keys_only) {
        const RegistryCache *rc = read_cache(c);
        ApiFetchSlot *s;
        int i, r;

        i = fetch_slot(c, &s);
        if (i < 0)
                return i;
        if (rc && kind < 0) {
                /* the whole prefix: one slot per kind */
                cache_select(rc, 0, NULL, s);
                for (RegistryKeyKind k = 1; k < _REGISTRY_KEY_KIND_MAX; k++) {
                        ApiFetchSlot *t;

                        if (fetch_slot(c, &t) < 0)
                                return -E2BIG;
                        cache_select(rc, k, NULL, t);
                }
                c->api->reads_cached++;
                return i;
        }
        if (rc) {
                cache_select(rc, kind, sub, s);
                if (s->from_cache) {
                        c->api->reads_cached++;
                        return i;
                }
        }
        if (rc || read_cache_wanted(c))
                c->api->reads_etcd++;
        c->read_etcd = true;
        r = registry_list(c->api->registry, kind, sub, 0, keys_only, on_fetched, s, &s->call);
        if (r < 0) {
                fetch_fail(c, r);
                return r;
        }
        c->n_running++;
        return i;
}

int api_fetch_get(ApiCtx *c, const RegistryKey *key) {
        const RegistryCache *rc = read_cache(c);
        ApiFetchSlot *s;
        int i, r;

        i = fetch_slot(c, &s);
        if (i < 0)
                return i;
        s->is_get = true;
        if (rc) {
                const RegistryEntry *e =
                        registry_cache_get(rc, key->kind, key->name, key->machine_id);

                s->from_cache = true;
                s->cached = e;
                s->n_cached = e ? 1 : 0;
                c->api->reads_cached++;
                return i;
        }
        if (read_cache_wanted(c))
                c->api->reads_etcd++;
        c->read_etcd = true;
        r = registry_get(c->api->registry, key, on_fetched, s, &s->call);
        if (r < 0) {
                fetch_fail(c, r);
                return r;
        }
        c->n_running++;
        return i;
}

const RegistryEntry *api_fetch_entries(const ApiCtx *c, size_t i, size_t *ret_n) {
        const ApiFetchSlot *s = i < c->n_slots ? &c->slots[i] : NULL;

        if (s && s->from_cache) {
                *ret_n = s->n_cached;
                return s->cached;
        }
        if (s && s->list) {
                *ret_n = s->list->n_entries;
                return s->list->entries;
        }
        *ret_n = 0;
        return NULL;
}

void api_note_write(Api *a, int64_t revision) {
        a->write_revision = MAX(a->write_revision, revision);
}

void api_fetch_wait(ApiCtx *c, ApiFetchDone done) {
        c->fetch_done = done;
        if (c->fetch_error < 0)
                fetch_fail(c, c->fetch_error);
        fetch_finish(c);
}

void api_fetch_reset(ApiCtx *c) {
        assert(c->n_running == 0);
        for (size_t i = 0; i < c->n_slots; i++)
                c->slots[i].list = registry_list_free(c->slots[i].list);
        c->n_slots = 0;
        c->fetch_error = 0;
        c->copy_revision = 0;
        c->read_etcd = false;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

int api_ctx_page(ApiCtx *c, uint16_t *ret_page) {
        _cleanup_free_ char *err = NULL;
        const char *tok = http_request_query(c->req, "nextPageToken");
        int r;

        r = api_page_from_query(tok, http_request_query_count(c->req, "nextPageToken"),
                                c->api->token_limit, ret_page, &err);
        if (r == -EINVAL)
                api_ctx_reply_error(c, 400, err);
        else if (r < 0)
                api_ctx_reply_internal(c, r);
        return r;
}

int api_ctx_index(ApiCtx *c, ApiIndex *ret) {
        ApiIndex x = {};

        for (size_t i = 0; i < c->n_slots; i++) {
                size_t n;
                const RegistryEntry *e = api_fetch_entries(c, i, &n);
                int r;

                if (n == 0)
                        continue;
                r = api_index_add(&x, e, n);
                if (r < 0) {
                        api_index_done(&x);
                        return r;
                }
        }
        api_index_sort(&x);
        *ret = x;
        return 0;
}

/* The copy's revision if every read of this request came from it, else 0. */
static int64_t ctx_copy_revision(const ApiCtx *c) {
        return c->read_etcd || c->n_slots == 0 ? 0 : c->copy_revision;
}

bool api_ctx_reply_rendered(ApiCtx *c, const char *key) {
        int64_t revision = ctx_copy_revision(c);
        const char *body;
        size_t len;

        if (revision <= 0 || !key)
                return false;
        body = api_render_get(api_cache_render(c->api->cache), key, revision, &len);
        if (!body)
                return false;
        api_ctx_reply(c, 200, "application/json", body, len, NULL);
        return true;
}

void api_ctx_reply_formatted(ApiCtx *c, int error,
                             int (*format)(const RegistryEntry *const *entries, size_t n,
                                           char **ret)) {
        _cleanup_free_ const RegistryEntry **e = NULL;
        size_t n;
        const RegistryEntry *entries = api_fetch_entries(c, 0, &n);
        char *json = NULL;
        int r;

        if (error < 0) {
                api_ctx_reply_registry_error(c, error, NULL);
                return;
        }
        e = calloc(MAX(n, (size_t) 1), sizeof(*e));
        if (!e) {
                api_ctx_reply_internal(c, -ENOMEM);
                return;
        }
        for (size_t i = 0; i < n; i++)
                e[i] = &entries[i];
        r = format(e, n, &json);
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        api_ctx_reply_json(c, 200, json);
}

void api_ctx_written_204(Registry *r, int error, int64_t revision, void *userdata) {
        ApiCtx *c = userdata;

        c->write_call = NULL;
        if (error < 0)
                api_ctx_reply_registry_error(c, error, NULL);
        else {
                api_note_write(c->api, revision);
                api_ctx_reply(c, 204, NULL, NULL, 0, NULL);
        }
}

void api_ctx_reply_json_render(ApiCtx *c, const char *key, char *json) {
        int64_t revision = ctx_copy_revision(c);

        if (json && key && revision > 0 &&
            api_render_put(api_cache_render(c->api->cache), key, revision, json, strlen(json)) < 0)
                log_debug("API: no memory to keep a rendered answer, ignoring");
        api_ctx_reply_json(c, 200, json);
}

const char *api_ctx_page_token(ApiCtx *c, uint16_t page, char buf[static API_PAGE_TOKEN_LEN + 1]) {
        if (page == 0)
                return NULL;
        api_page_token_format(c->api->token_limit, page, buf);
        return buf;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static void reply_redirect(ApiCtx *c) {
        const char *headers[] = {"Location", c->match.location, NULL};
        _cleanup_free_ char *body = NULL;
        int r;

        /* Go's http.Redirect: a short HTML note for GET only. */
        if (!streq(http_request_method(c->req), "GET")) {
                api_ctx_reply(c, 301, NULL, NULL, 0, headers);
                return;
        }
        r = api_redirect_body(c->match.location, &body);
        if (r < 0) {
                api_ctx_reply_internal(c, r);
                return;
        }
        api_ctx_reply(c, 301, "text/html; charset=utf-8", body, strlen(body), headers);
}

static void dispatch(ApiCtx *c) {
        static void (*const handlers[_API_ROUTE_MAX])(ApiCtx * c) = {
                [API_ROUTE_DISCOVERY] = api_route_discovery,
                [API_ROUTE_MACHINES_LIST] = api_route_machines_list,
                [API_ROUTE_MACHINES_PATCH] = api_route_machines_patch,
                [API_ROUTE_UNITS_LIST] = api_route_units_list,
                [API_ROUTE_UNIT_GET] = api_route_unit_get,
                [API_ROUTE_UNIT_PUT] = api_route_unit_put,
                [API_ROUTE_UNIT_DELETE] = api_route_unit_delete,
                [API_ROUTE_STATES_LIST] = api_route_states_list,
                [API_ROUTE_STATE_GET] = api_route_state_get,
                [API_ROUTE_METRICS] = api_route_metrics,
                [API_ROUTE_CORDONS_LIST] = api_route_cordons_list,
                [API_ROUTE_CORDON_PUT] = api_route_cordon_put,
                [API_ROUTE_CORDON_DELETE] = api_route_cordon_delete,
                [API_ROUTE_ETCD_HEALTH] = api_route_etcd_health,
                [API_ROUTE_PINS_LIST] = api_route_pins_list,
                [API_ROUTE_PIN_PUT] = api_route_pin_put,
                [API_ROUTE_PIN_DELETE] = api_route_pin_delete,
        };
        ApiRoute route = c->match.route;

        if (!c->api->etcd_available && route != API_ROUTE_METRICS && route != API_ROUTE_ETCD_HEALTH)
                /* fleet's "unavailable" handler answers every request alike, before routing */
                api_ctx_reply_error(c, 503, API_MESSAGE_UNAVAILABLE);
        else if (route == API_ROUTE_ERROR)
                api_ctx_reply_error(c, c->match.status, c->match.message);
        else if (route == API_ROUTE_REDIRECT)
                reply_redirect(c);
        else if (route < 0 || route >= _API_ROUTE_MAX || !handlers[route])
                api_ctx_reply_error(c, 404, NULL);
        else
                handlers[route](c);
}

static int on_wake(sd_event_source *s, void *userdata) {
        return 0;
}

static void on_request(HttpRequest *req, void *userdata) {
        Api *a = userdata;
        ApiCtx *c;
        int r;

        log_debug("HTTP %s %s", http_request_method(req), http_request_path(req));
        /* the web view shows the last known state even while etcd is unreachable */
        if (a->ui && ui_handle(a->ui, req))
                return;
        c = calloc(1, sizeof(*c));
        if (!c) {
                static const char oom[] = "{\"error\":{\"code\":500,\"message\":\"\"}}";
                (void) http_request_reply(req, 500, "application/json", oom, sizeof(oom) - 1, NULL);
                return;
        }
        *c = (ApiCtx){.api = a, .req = req, .next = a->pending};
        if (a->pending)
                a->pending->prev = c;
        a->pending = c;
        a->n_pending++;

        a->dispatching = true;
        r = api_route(http_request_method(req), http_request_path(req), &c->match);
        if (r < 0)
                api_ctx_reply_internal(c, r);
        else
                dispatch(c);
        a->dispatching = false;
}

/* ---- object -------------------------------------------------------------------------------- */

int api_new(Api **ret, sd_event *e, Registry *r, const ApiConfig *cfg) {
        _cleanup_free_ char *server = NULL;
        const ApiConfig defaults = {};
        Api *a;
        int k;

        if (!cfg)
                cfg = &defaults;
        if (asprintf(&server, "fleetd/%s", cfg->version ?: FLEET_VERSION) < 0)
                return -ENOMEM;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (Api){
                .event = sd_event_ref(e),
                .registry = r,
                .token_limit = cfg->token_limit == 0 ? API_DEFAULT_TOKEN_LIMIT
                                                     : (uint16_t) MIN(cfg->token_limit, UINT16_MAX),
                .metrics_extra = cfg->metrics_extra,
                .metrics_userdata = cfg->metrics_userdata,
                .etcd_health = cfg->etcd_health,
                .etcd_available = true,
        };
        k = sd_event_add_defer(e, &a->wake, on_wake, a);
        if (k >= 0) {
                (void) sd_event_source_set_description(a->wake, "api-wake");
                k = sd_event_source_set_enabled(a->wake, SD_EVENT_OFF);
        }
        if (k >= 0)
                k = http_server_new(&a->http, e, server, on_request, a);
        if (k >= 0)
                k = api_cache_new(&a->cache, e, r, API_CACHE_IDLE_USEC);
        if (k >= 0)
                k = ui_new(&a->ui, e, a->cache);
        if (k >= 0 && cfg->tls_cert_file && *cfg->tls_cert_file) {
                _cleanup_free_ char *msg = NULL;

                k = http_server_set_tls_files(a->http, cfg->tls_cert_file, cfg->tls_key_file,
                                              cfg->tls_ca_file, &msg);
                if (k < 0 && k != -ENOMEM)
                        log_error("%s", msg ?: "Unable to set up TLS for the API");
        }
        if (k < 0) {
                api_free(a);
                return k;
        }
        *ret = a;
        return 0;
}

Api *api_free(Api *a) {
        if (!a)
                return NULL;
        /* Answer what is still waiting so that no connection stays suspended. */
        while (a->pending)
                api_ctx_reply_error(a->pending, 503, API_MESSAGE_UNAVAILABLE);
        ui_free(a->ui);
        api_cache_free(a->cache);
        http_server_free(a->http);
        sd_event_source_disable_unref(a->wake);
        sd_event_unref(a->event);
        free(a);
        return NULL;
}

int api_listen_fd(Api *a, int fd) {
        return http_server_add_fd(a->http, fd);
}

int api_listen(Api *a, const char *address) {
        return http_server_listen(a->http, address);
}

void api_set_etcd_available(Api *a, bool available) {
        a->etcd_available = available;
        if (a->ui)
                ui_set_etcd_available(a->ui, available);
}

size_t api_n_pending(const Api *a) {
        return a->n_pending;
}
