/* SPDX-License-Identifier: MIT */
/* Registry watches: decoded events, and list-then-watch with automatic resync. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "registry-internal.h"

#define BACKOFF_MIN_USEC 100000ULL
#define BACKOFF_MAX_USEC 5000000ULL

struct RegistryWatch {
        Registry *registry;
        RegistryWatch *prev, *next;
        char *dir;
        RegistryWatchOptions opts;
        registry_watch_handler_t handler;
        void *userdata;

        EtcdWatch *watch;
        EtcdCall *list_call;
        sd_event_source *retry;
        uint64_t backoff_usec;
        int64_t revision;
        unsigned in_handler;
        bool freed;

        /* A listing in pages (opts.page_size > 0). */
        char *list_end;  /* the directory's range end */
        char *list_last; /* the last key delivered, NULL before the first page */
        int64_t list_revision;
        bool list_started; /* a page was delivered: the next ones are not resyncs */
};

static void stop(RegistryWatch *w) {
        w->watch = etcd_watch_free(w->watch);
        etcd_call_cancel(w->list_call);
        w->list_call = NULL;
        w->retry = sd_event_source_disable_unref(w->retry);
}

static void unlink_watch(RegistryWatch *w) {
        Registry *r = w->registry;

        if (!r)
                return;
        if (w->prev)
                w->prev->next = w->next;
        else if (r->watches == w)
                r->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
}

RegistryWatch *registry_watch_free(RegistryWatch *w) {
        if (!w || w->freed)
                return NULL;
        stop(w);
        unlink_watch(w);
        w->registry = NULL;
        if (w->in_handler > 0) {
                w->freed = true;
                return NULL;
        }
        free(w->list_end);
        free(w->list_last);
        free(w->dir);
        free(w);
        return NULL;
}

void registry_watch_detach_all(Registry *r) {
        while (r->watches) {
                RegistryWatch *w = r->watches;

                stop(w);
                unlink_watch(w);
                w->registry = NULL;
        }
}

/* Call the handler; false if the watch was freed meanwhile (and then free it). */
static bool deliver(RegistryWatch *w, int error, const RegistryWatchUpdate *u) {
        w->in_handler++;
        w->handler(w, error, u, w->userdata);
        w->in_handler--;
        if (w->freed) {
                if (w->in_handler == 0) {
                        free(w->list_end);
                        free(w->list_last);
                        free(w->dir);
                        free(w);
                }
                return false;
        }
        return true;
}

static int start_list(RegistryWatch *w);
static int start_watch(RegistryWatch *w, int64_t start_revision);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        RegistryWatch *w = userdata;

        w->retry = sd_event_source_disable_unref(w->retry);
        if (start_list(w) < 0)
                log_debug("registry: cannot re-list %s", w->dir);
        return 0;
}

/* Re-list after a backoff (resync mode). */
static void schedule_relist(RegistryWatch *w) {
        Registry *r = w->registry;
        int e;

        w->backoff_usec = w->backoff_usec == 0 ? BACKOFF_MIN_USEC
                                               : MIN(w->backoff_usec * 2, BACKOFF_MAX_USEC);
        w->retry = sd_event_source_disable_unref(w->retry);
        e = sd_event_add_time_relative(etcd_client_get_event(r->client), &w->retry, CLOCK_MONOTONIC,
                                       w->backoff_usec, 1000, on_retry, w);
        if (e < 0)
                log_debug("registry: cannot schedule a re-list of %s: %s", w->dir, strerror(-e));
        else
                (void) sd_event_source_set_description(w->retry, "registry-relist");
}

static bool is_fatal(int error) {
        return error == -EACCES || error == -EPERM;
}

/* A listing failed: tell the owner if it cannot be retried, else list again after a backoff. */
static void list_failed(RegistryWatch *w, int error) {
        log_debug("registry: listing %s failed: %s", w->dir, strerror(-error));
        if (is_fatal(error))
                (void) deliver(w, error, NULL);
        else
                schedule_relist(w);
}

static void on_list(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        RegistryWatch *w = userdata;
        _cleanup_(registry_list_freep) RegistryList *l = NULL;

        w->list_call = NULL;
        if (error >= 0)
                error = registry_list_from_result(w->registry, &resp->kv, resp->revision, false,
                                                  &l);
        if (error < 0) {
                list_failed(w, error);
                return;
        }
        w->backoff_usec = 0;
        w->revision = l->revision;
        RegistryWatchUpdate u = {.resync = true,
                                 .revision = l->revision,
                                 .entries = l->entries,
                                 .n_entries = l->n_entries};
        if (!deliver(w, 0, &u) || w->list_call || w->watch)
                return; /* freed or restarted by the handler */
        error = start_watch(w, l->revision + 1);
        if (error < 0)
                schedule_relist(w);
}

static int send_page(RegistryWatch *w);

/* One page of a listing in pages: decode it, hand it over, ask for the next one or watch. */
static void on_page(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        RegistryWatch *w = userdata;
        _cleanup_(registry_list_freep) RegistryList *l = NULL;
        EtcdResult page = {};
        bool more = false;
        size_t skip;

        w->list_call = NULL;
        if (error >= 0) {
                /* From the second page on, the first key is the previous page's last. */
                skip = w->list_last && resp->kv.n_kvs > 0 &&
                       streq(resp->kv.kvs[0].key, w->list_last);
                more = resp->kv.more;
                if (w->list_revision == 0)
                        w->list_revision = resp->revision;
                page = (EtcdResult){.kvs = resp->kv.kvs + skip,
                                    .n_kvs = resp->kv.n_kvs - MIN(skip, resp->kv.n_kvs)};
                if (page.n_kvs > 0) {
                        free(w->list_last);
                        w->list_last = strdup(page.kvs[page.n_kvs - 1].key);
                        if (!w->list_last)
                                error = -ENOMEM;
                }
                if (more && page.n_kvs == 0)
                        error = -EBADMSG; /* no progress */
        }
        if (error >= 0)
                error = registry_list_from_result(w->registry, &page, w->list_revision, false, &l);
        if (error < 0) {
                list_failed(w, error);
                return;
        }
        RegistryWatchUpdate u = {.resync = !w->list_started,
                                 .more = more,
                                 .revision = w->list_revision,
                                 .entries = l->entries,
                                 .n_entries = l->n_entries};
        w->list_started = true;
        if (!deliver(w, 0, &u) || w->list_call || w->watch)
                return; /* freed or restarted by the handler */
        if (more) {
                error = send_page(w);
        } else {
                w->backoff_usec = 0;
                w->revision = w->list_revision;
                error = start_watch(w, w->list_revision + 1);
        }
        if (error < 0)
                schedule_relist(w);
}

static int send_page(RegistryWatch *w) {
        EtcdRangeRequest q = {
                .key = w->list_last ?: w->dir,
                .range_end = w->list_end,
                .limit = w->list_last ? w->opts.page_size + 1 : w->opts.page_size,
                .revision = w->list_revision,
        };

        return etcd_range(w->registry->client, &q, on_page, w, &w->list_call);
}

static int start_list(RegistryWatch *w) {
        Registry *r = w->registry;
        EtcdRangeRequest q = {.key = w->dir, .prefix = true};
        size_t n;
        int e;

        if (w->opts.page_size <= 0)
                return etcd_range_all(r->client, &q, 0, on_list, w, &w->list_call);
        free(w->list_last);
        w->list_last = NULL;
        w->list_revision = 0;
        w->list_started = false;
        if (!w->list_end) {
                e = etcd_prefix_range_end(w->dir, &w->list_end, &n);
                if (e < 0)
                        return e;
                if (n != strlen(w->list_end)) /* only a prefix of 0xff bytes has no end */
                        return -EINVAL;
        }
        return send_page(w);
}

static void events_free(RegistryEvent *ev, size_t n) {
        for (size_t i = 0; ev && i < n; i++) {
                registry_entry_done(&ev[i].entry);
                if (ev[i].prev) {
                        registry_entry_done(ev[i].prev);
                        free(ev[i].prev);
                }
        }
        free(ev);
}

static int convert_prev(Registry *r, const EtcdEvent *e, RegistryEvent *out) {
        RegistryEntry *p;
        int k;

        if (!e->prev_kv)
                return 0;
        p = calloc(1, sizeof(RegistryEntry));
        if (!p)
                return -ENOMEM;
        k = registry_entry_decode(r->prefix, e->prev_kv, true, p);
        if (k < 0) {
                free(p);
                return k == -ENOMEM ? k : 0;
        }
        out->prev = p;
        return 0;
}

/* One etcd event. 0 converted, 1 skipped (not in the schema), < 0 error. */
static int convert_event(Registry *r, const EtcdEvent *e, RegistryEvent *out) {
        int k = -EBADMSG;

        *out = (RegistryEvent){.type = REGISTRY_EVENT_DELETE};
        if (e->type == ETCD_EVENT_PUT) {
                k = registry_entry_decode(r->prefix, &e->kv, true, &out->entry);
                if (k >= 0)
                        out->type = REGISTRY_EVENT_PUT;
                else if (k != -EBADMSG)
                        return k == -ENOMEM ? k : 1;
                else
                        log_debug("registry: undecodable value at %s, treated as deleted",
                                  e->kv.key);
        }
        if (k < 0) {
                k = registry_entry_decode(r->prefix, &e->kv, false, &out->entry);
                if (k < 0)
                        return k == -ENOMEM ? k : 1;
        }
        return convert_prev(r, e, out);
}

static void on_watch(EtcdWatch *ew, int error, const EtcdWatchMessage *m, void *userdata) {
        RegistryWatch *w = userdata;
        RegistryEvent *ev = NULL;
        size_t n = 0;

        if (error < 0) {
                w->watch = etcd_watch_free(w->watch);
                if (w->opts.resync && !is_fatal(error)) {
                        log_debug("registry: watch on %s ended (%s), re-listing", w->dir,
                                  strerror(-error));
                        if (start_list(w) < 0)
                                schedule_relist(w);
                        return;
                }
                (void) deliver(w, error, NULL);
                return;
        }
        if (m->created && w->opts.resync)
                return;
        ev = calloc(m->n_events + 1, sizeof(RegistryEvent));
        if (!ev) {
                log_debug("registry: out of memory, dropping events");
                return;
        }
        for (size_t i = 0; i < m->n_events; i++) {
                int k = convert_event(w->registry, &m->events[i], &ev[n]);
                if (k == 0)
                        n++;
        }
        w->revision = etcd_watch_get_next_revision(ew) - 1;
        RegistryWatchUpdate u = {.revision = w->revision, .events = ev, .n_events = n};
        (void) deliver(w, 0, &u);
        events_free(ev, n);
}

static int start_watch(RegistryWatch *w, int64_t start_revision) {
        Registry *r = w->registry;
        EtcdWatchRequest q = {.key = w->dir,
                              .prefix = true,
                              .start_revision = start_revision,
                              .prev_kv = w->opts.prev_kv};
        EtcdWatchOptions o = {.auto_resume = true};

        return etcd_watch_new(r->client, &q, &o, on_watch, w, &w->watch);
}

int registry_watch_new(Registry *r, RegistryKeyKind kind, const char *sub,
                       const RegistryWatchOptions *opts, registry_watch_handler_t handler,
                       void *userdata, RegistryWatch **ret) {
        RegistryWatch *w;
        int e;

        assert(handler);
        assert(ret);
        w = calloc(1, sizeof(RegistryWatch));
        if (!w)
                return -ENOMEM;
        *w = (RegistryWatch){
                .registry = r,
                .opts = opts ? *opts : (RegistryWatchOptions){.resync = true},
                .handler = handler,
                .userdata = userdata,
        };
        e = registry_key_dir(r->prefix, kind, sub, &w->dir);
        if (e < 0 || w->opts.start_revision < 0) {
                free(w);
                return e < 0 ? e : -EINVAL;
        }
        w->next = r->watches;
        if (w->next)
                w->next->prev = w;
        r->watches = w;
        e = w->opts.resync ? start_list(w) : start_watch(w, w->opts.start_revision);
        if (e < 0) {
                registry_watch_free(w);
                return e;
        }
        *ret = w;
        return 0;
}

int registry_watch_restart(RegistryWatch *w, int64_t start_revision) {
        if (!w->registry)
                return -ENOTCONN;
        if (start_revision < 0)
                return -EINVAL;
        stop(w);
        w->backoff_usec = 0;
        return w->opts.resync ? start_list(w) : start_watch(w, start_revision);
}

bool registry_watch_is_live(RegistryWatch *w) {
        return w->watch && !w->list_call && etcd_watch_is_live(w->watch);
}

int64_t registry_watch_get_revision(RegistryWatch *w) {
        return w->revision;
}
