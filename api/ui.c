/* SPDX-License-Identifier: MIT */
/* The web view: embedded files, the live feed and the JSON state, from the registry cache. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-cache.h"
#include "log.h"
#include "time-util.h"
#include "ui-http.h"
#include "ui-model.h"
#include "ui.h"

struct Ui {
        sd_event *event;
        ApiCache *cache;    /* the API's registry copy (borrowed) */
        bool listening;     /* while the view is in use: the copy is kept and reports changes */
        uint64_t last_used; /* CLOCK_MONOTONIC of the last request */
        UiTracker *tracker;
        HttpStream *clients[UI_MAX_CLIENTS];
        size_t n_clients;
        sd_event_source *flush;     /* coalesces changes */
        sd_event_source *heartbeat; /* comments that reveal dead connections */
        bool etcd_available;
        bool dirty;
        uint64_t flush_delay; /* from a change to its flush: see on_flush() */
};

/* The registry copy while the view is in use (it may not be valid yet), else NULL. */
static const RegistryCache *cache_of(const Ui *u) {
        return u->listening ? api_cache_peek(u->cache) : NULL;
}

static void client_remove(Ui *u, HttpStream *s) {
        for (size_t i = 0; i < u->n_clients; i++)
                if (u->clients[i] == s) {
                        u->clients[i] = u->clients[--u->n_clients];
                        return;
                }
}

static void on_client_closed(HttpStream *s, void *userdata) {
        client_remove(userdata, s);
        log_debug("web view: a feed closed, %zu open", ((Ui *) userdata)->n_clients);
}

/* Write text to every feed; a feed that cannot take it (the client stopped reading) ends. */
static void broadcast(Ui *u, const char *text) {
        size_t len = strlen(text);

        for (size_t i = u->n_clients; i > 0; i--) {
                HttpStream *s = u->clients[i - 1];
                int r = http_stream_write(s, text, len);

                if (r < 0) {
                        log_debug_errno(r, "web view: ending a feed: %m");
                        client_remove(u, s);
                        http_stream_end(s);
                }
        }
}

static int snapshot_event(Ui *u, char **ret) {
        _cleanup_free_ char *json = NULL;
        int r;

        if (!cache_of(u))
                return -ESRCH;
        r = ui_snapshot_json(cache_of(u), u->tracker, u->etcd_available, &json);
        if (r < 0)
                return r;
        return ui_sse_event("snapshot", json, ret);
}

/* Derive the events, then build the state once and write it to every feed. The next flush
 * waits at least 10 times what this one cost, so that a large, busy cluster costs the loop at
 * most about a tenth of its time for the web view (UI_FLUSH_USEC on small clusters). */
static int on_flush(sd_event_source *s, uint64_t usec, void *userdata) {
        Ui *u = userdata;
        _cleanup_free_ char *ev = NULL;
        uint64_t t0 = clock_now_usec(CLOCK_MONOTONIC);
        int r;

        u->dirty = false;
        if (!cache_of(u))
                return 0;
        r = ui_tracker_observe(u->tracker, cache_of(u), clock_now_usec(CLOCK_REALTIME));
        if (r < 0)
                log_debug_errno(r, "web view: cannot derive events, ignoring: %m");
        if (u->n_clients == 0)
                return 0;
        r = snapshot_event(u, &ev);
        if (r < 0) {
                log_warning_errno(r, "web view: cannot build the state, ignoring: %m");
                return 0;
        }
        broadcast(u, ev);
        u->flush_delay = MAX(UI_FLUSH_USEC, 10 * (clock_now_usec(CLOCK_MONOTONIC) - t0));
        return 0;
}

static void mark_dirty(Ui *u) {
        int r;

        if (u->dirty)
                return;
        u->dirty = true;
        r = sd_event_source_set_time_relative(u->flush, u->flush_delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(u->flush, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_debug_errno(r, "web view: cannot arm the flush timer: %m");
                u->dirty = false;
        }
}

static void on_cache_changed(RegistryCacheWatch *w, int error, const RegistryWatchUpdate *up,
                             void *userdata) {
        /* w is NULL: the API's copy (api-cache.h) reports its watch's updates */
        Ui *u = userdata;

        if (error < 0)
                /* the cache was reset: compare afresh after the next listing */
                ui_tracker_forget(u->tracker);
        mark_dirty(u);
}

/* Keep the registry copy and follow its changes, if the web view was not in use. */
static int cache_start(Ui *u) {
        int r;

        u->last_used = clock_now_usec(CLOCK_MONOTONIC);
        r = api_cache_use(u->cache);
        if (r < 0)
                return r;
        if (u->listening)
                return 0;
        r = api_cache_listen(u->cache, on_cache_changed, u);
        if (r < 0 && r != -EEXIST)
                return log_warning_errno(r, "web view: cannot follow the registry copy: %m");
        u->listening = true;
        /* the heartbeat also checks for idleness: it runs only while the view is in use */
        r = sd_event_source_set_time_relative(u->heartbeat, UI_HEARTBEAT_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(u->heartbeat, SD_EVENT_ON);
        if (r < 0)
                log_debug_errno(r, "web view: cannot arm the heartbeat: %m");
        log_debug("web view: in use, following the registry copy");
        return 0;
}

/* Let the copy go when nobody has looked for UI_IDLE_USEC. */
static void cache_maybe_stop(Ui *u) {
        if (!u->listening || u->n_clients > 0 ||
            clock_now_usec(CLOCK_MONOTONIC) - u->last_used < UI_IDLE_USEC)
                return;
        log_debug("web view: idle, no longer following the registry copy");
        (void) api_cache_unlisten(u->cache, on_cache_changed, u);
        u->listening = false;
        ui_tracker_forget(u->tracker);
        (void) sd_event_source_set_enabled(u->heartbeat, SD_EVENT_OFF);
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata) {
        Ui *u = userdata;

        broadcast(u, ": heartbeat\n\n");
        cache_maybe_stop(u);
        (void) sd_event_source_set_time_relative(s, UI_HEARTBEAT_USEC);
        return 0;
}

static void reply(HttpRequest *req, const UiReply *r) {
        int k = http_request_reply(req, r->status, r->content_type, r->body, r->len, r->headers);

        if (k < 0)
                log_debug_errno(k, "web view: cannot answer: %m");
}

static void reply_text(HttpRequest *req, unsigned status, const char *content_type,
                       const char *body) {
        UiReply r;

        ui_reply_init(&r, status, content_type, body, body ? strlen(body) : 0);
        (void) ui_reply_header(&r, "Cache-Control", "no-store");
        reply(req, &r);
}

static void serve_events(Ui *u, HttpRequest *req) {
        _cleanup_free_ char *ev = NULL;
        HttpStream *s = NULL;
        UiReply r;
        int k;

        if (u->n_clients >= UI_MAX_CLIENTS) {
                ui_reply_init(&r, 503, "text/plain; charset=utf-8", "too many web view clients\n",
                              strlen("too many web view clients\n"));
                (void) ui_reply_header(&r, "Retry-After", "5");
                reply(req, &r);
                return;
        }
        k = snapshot_event(u, &ev);
        if (k < 0) {
                reply_text(req, 500, "text/plain; charset=utf-8",
                           "the web view cannot read its copy of the registry\n");
                return;
        }
        ui_reply_init(&r, 200, "text/event-stream; charset=utf-8", NULL, 0);
        (void) ui_reply_header(&r, "Cache-Control", "no-store");
        (void) ui_reply_header(&r, "X-Accel-Buffering", "no");
        k = http_request_reply_stream(req, r.status, r.content_type, r.headers, on_client_closed, u,
                                      &s);
        if (k < 0) {
                log_debug_errno(k, "web view: cannot open a feed: %m");
                return;
        }
        /* the browser reconnects 2 s after losing the feed; then the current state at once */
        if (http_stream_write(s, "retry: 2000\n\n", 13) < 0 ||
            http_stream_write(s, ev, strlen(ev)) < 0) {
                http_stream_end(s);
                return;
        }
        u->clients[u->n_clients++] = s;
}

static void serve_state(Ui *u, HttpRequest *req) {
        _cleanup_free_ char *json = NULL;
        UiReply r;

        if (!cache_of(u) ||
            ui_snapshot_json(cache_of(u), u->tracker, u->etcd_available, &json) < 0) {
                reply_text(req, 500, "text/plain; charset=utf-8",
                           "the web view cannot read its copy of the registry\n");
                return;
        }
        ui_reply_init(&r, 200, "application/json", json, strlen(json));
        (void) ui_reply_header(&r, "Cache-Control", "no-store");
        reply(req, &r);
}

static void serve_unit(Ui *u, HttpRequest *req, const char *name) {
        const RegistryCache *c = cache_of(u);
        const RegistryEntry *job, *unit;

        if (!c || !registry_cache_is_valid(c)) {
                static const char msg[] = "the web view's copy of the registry is not ready yet\n";
                UiReply r;

                ui_reply_init(&r, 503, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
                (void) ui_reply_header(&r, "Cache-Control", "no-store");
                (void) ui_reply_header(&r, "Retry-After", "1");
                reply(req, &r);
                return;
        }
        job = registry_cache_get(c, REGISTRY_KEY_JOB, name, NULL);
        unit = job ? registry_cache_get(c, REGISTRY_KEY_UNIT, job->job.hash, NULL) : NULL;
        if (!unit || !unit->unit_text) {
                reply_text(req, 404, "text/plain; charset=utf-8", "unit not found\n");
                return;
        }
        reply_text(req, 200, "text/plain; charset=utf-8", unit->unit_text);
}

bool ui_handle(Ui *u, HttpRequest *req) {
        const char *name = NULL;
        UiRoute route = ui_route(http_request_method(req), http_request_path(req), &name);
        UiReply r;

        if (route == UI_ROUTE_NONE)
                return false;
        /* any use of the web view keeps its copy of the registry (a failure shows as not
         * synced, or as a 500 below) */
        (void) cache_start(u);
        switch (route) {
        case UI_ROUTE_EVENTS:
                serve_events(u, req);
                return true;
        case UI_ROUTE_STATE:
                serve_state(u, req);
                return true;
        case UI_ROUTE_UNIT:
                serve_unit(u, req, name);
                return true;
        default:
                if (ui_static_reply(route, name, http_request_header(req, "If-None-Match"), &r) < 0)
                        ui_static_reply(UI_ROUTE_NOT_FOUND, NULL, NULL, &r);
                reply(req, &r);
                return true;
        }
}

void ui_set_etcd_available(Ui *u, bool available) {
        if (u->etcd_available == available)
                return;
        u->etcd_available = available;
        mark_dirty(u);
}

const RegistryCache *ui_get_cache(const Ui *u) {
        return cache_of(u);
}

size_t ui_n_clients(const Ui *u) {
        return u->n_clients;
}

int ui_new(Ui **ret, sd_event *e, ApiCache *cache) {
        _cleanup_(ui_freep) Ui *u = calloc(1, sizeof(Ui));
        int r;

        if (!u)
                return -ENOMEM;
        u->event = sd_event_ref(e);
        u->etcd_available = true;
        u->flush_delay = UI_FLUSH_USEC;
        r = ui_tracker_new(&u->tracker);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(e, &u->flush, CLOCK_MONOTONIC, UI_FLUSH_USEC, 1000, on_flush,
                                       u);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(u->flush, "ui-flush");
        (void) sd_event_source_set_enabled(u->flush, SD_EVENT_OFF);
        r = sd_event_add_time_relative(e, &u->heartbeat, CLOCK_MONOTONIC, UI_HEARTBEAT_USEC,
                                       1000 * 1000, on_heartbeat, u);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(u->heartbeat, "ui-heartbeat");
        (void) sd_event_source_set_enabled(u->heartbeat, SD_EVENT_OFF);
        u->cache = cache;
        *ret = TAKE_PTR(u);
        return 0;
}

Ui *ui_free(Ui *u) {
        if (!u)
                return NULL;
        while (u->n_clients > 0)
                http_stream_end(u->clients[--u->n_clients]);
        if (u->listening)
                (void) api_cache_unlisten(u->cache, on_cache_changed, u);
        ui_tracker_free(u->tracker);
        sd_event_source_disable_unref(u->flush);
        sd_event_source_disable_unref(u->heartbeat);
        sd_event_unref(u->event);
        free(u);
        return NULL;
}
