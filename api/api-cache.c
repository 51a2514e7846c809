/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-cache.h"
#include "log.h"

#define API_CACHE_MAX_LISTENERS 4

typedef struct Listener {
        registry_cache_changed_t changed;
        void *userdata;
} Listener;

struct ApiCache {
        Registry *registry;
        RegistryCacheWatch *watch; /* while in use */
        usec_t idle_usec;
        usec_t last_used; /* CLOCK_MONOTONIC */
        sd_event_source *idle_timer;
        Listener listeners[API_CACHE_MAX_LISTENERS];
        size_t n_listeners;
        ApiRender render; /* answers rendered from the copy, by its revision */
};

static void on_changed(RegistryCacheWatch *w, int error, const RegistryWatchUpdate *u,
                       void *userdata) {
        ApiCache *c = userdata;
        Listener l[API_CACHE_MAX_LISTENERS];
        size_t n = c->n_listeners;

        /* A listener may unlisten from its callback: walk a copy. */
        memcpy(l, c->listeners, n * sizeof(Listener));
        for (size_t i = 0; i < n; i++)
                l[i].changed(NULL, error, u, l[i].userdata);
}

static void stop(ApiCache *c) {
        char buf[FORMAT_TIMESPAN_MAX];

        if (!c->watch)
                return;
        log_debug("API: registry copy unused for %s, dropping it",
                  format_timespan(buf, c->idle_usec));
        c->watch = registry_cache_watch_free(c->watch);
        api_render_clear(&c->render);
        (void) sd_event_source_set_enabled(c->idle_timer, SD_EVENT_OFF);
}

static int on_idle_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        ApiCache *c = userdata;
        usec_t idle = clock_now_usec(CLOCK_MONOTONIC) - c->last_used;

        if (c->n_listeners == 0 && idle >= c->idle_usec) {
                stop(c);
                return 0;
        }
        (void) sd_event_source_set_time_relative(
                s, c->n_listeners > 0 || idle >= c->idle_usec ? c->idle_usec : c->idle_usec - idle);
        return 0;
}

int api_cache_use(ApiCache *c) {
        int r;

        assert(c);
        c->last_used = clock_now_usec(CLOCK_MONOTONIC);
        if (c->watch)
                return 0;
        r = registry_cache_watch_new(c->registry, on_changed, c, &c->watch);
        if (r < 0)
                return log_warning_errno(r, "API: cannot watch the registry: %m");
        r = sd_event_source_set_time_relative(c->idle_timer, c->idle_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->idle_timer, SD_EVENT_ON);
        if (r < 0)
                log_debug_errno(r, "API: cannot arm the registry copy's idle timer: %m");
        log_debug("API: in use, watching the registry");
        return 0;
}

const RegistryCache *api_cache_peek(const ApiCache *c) {
        return c->watch ? registry_cache_watch_get_cache(c->watch) : NULL;
}

const RegistryCache *api_cache_current(const ApiCache *c, int64_t revision) {
        const RegistryCache *rc = api_cache_peek(c);

        if (!rc || !registry_cache_is_valid(rc) || !registry_cache_watch_is_live(c->watch) ||
            registry_cache_get_revision(rc) < revision)
                return NULL;
        return rc;
}

ApiRender *api_cache_render(ApiCache *c) {
        return &c->render;
}

int api_cache_listen(ApiCache *c, registry_cache_changed_t changed, void *userdata) {
        assert(c);
        assert(changed);
        for (size_t i = 0; i < c->n_listeners; i++)
                if (c->listeners[i].changed == changed && c->listeners[i].userdata == userdata)
                        return -EEXIST;
        if (c->n_listeners >= API_CACHE_MAX_LISTENERS)
                return -E2BIG;
        c->listeners[c->n_listeners++] = (Listener){changed, userdata};
        return 0;
}

int api_cache_unlisten(ApiCache *c, registry_cache_changed_t changed, void *userdata) {
        for (size_t i = 0; i < c->n_listeners; i++)
                if (c->listeners[i].changed == changed && c->listeners[i].userdata == userdata) {
                        c->listeners[i] = c->listeners[--c->n_listeners];
                        return 1;
                }
        return 0;
}

int api_cache_new(ApiCache **ret, sd_event *e, Registry *r, usec_t idle_usec) {
        _cleanup_(api_cache_freep) ApiCache *c = calloc(1, sizeof(ApiCache));
        int k;

        if (!c)
                return -ENOMEM;
        c->registry = r;
        api_render_init(&c->render, 0);
        c->idle_usec = idle_usec > 0 ? idle_usec : USEC_PER_SEC;
        k = sd_event_add_time_relative(e, &c->idle_timer, CLOCK_MONOTONIC, c->idle_usec,
                                       USEC_PER_SEC, on_idle_timer, c);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(c->idle_timer, "api-cache-idle");
        (void) sd_event_source_set_enabled(c->idle_timer, SD_EVENT_OFF);
        *ret = TAKE_PTR(c);
        return 0;
}

ApiCache *api_cache_free(ApiCache *c) {
        if (!c)
                return NULL;
        registry_cache_watch_free(c->watch);
        api_render_clear(&c->render);
        sd_event_source_disable_unref(c->idle_timer);
        free(c);
        return NULL;
}
