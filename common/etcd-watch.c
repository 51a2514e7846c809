/* SPDX-License-Identifier: MIT */
/* etcd watches: one streaming POST /v3/watch per watch, newline-delimited JSON messages. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "etcd-internal.h"
#include "log.h"
#include "time-util.h"

#define BACKOFF_MIN_USEC 50000ULL
#define BACKOFF_MAX_USEC 5000000ULL

struct EtcdWatch {
        EtcdClient *client;
        EtcdWatch *prev, *next;
        char *key, *range_end;
        bool prefix, prev_kv, progress_notify;
        EtcdWatchOptions opts;
        etcd_watch_handler_t handler;
        void *userdata;

        CurlTransfer *transfer;
        size_t endpoint;
        char *pending; /* bytes of an incomplete line */
        size_t n_pending;
        uint64_t generation; /* bumped per stream opened: detects restarts from the handler */
        uint64_t start_usec;

        int64_t next_revision;
        int64_t compact_revision;
        bool active;    /* a stream is open, being opened, or scheduled to re-open */
        bool created;   /* the current stream got its "created" message */
        bool announced; /* "created" was delivered since etcd_watch_new/restart */
        bool waiting_auth;
        bool reauthed;
        unsigned in_handler;
        bool freed; /* etcd_watch_free() ran inside the handler: free on return */
        sd_event_source *retry;
        uint64_t backoff_usec;
};

static int start_stream(EtcdWatch *w);

static void watch_unlink(EtcdWatch *w) {
        EtcdClient *c = w->client;

        if (!c)
                return;
        if (w->prev)
                w->prev->next = w->next;
        else if (c->watches == w)
                c->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
}

static void watch_destroy(EtcdWatch *w) {
        free(w->key);
        free(w->range_end);
        free(w->pending);
        free(w);
}

static void stop_stream(EtcdWatch *w) {
        curl_transfer_cancel(w->transfer);
        w->transfer = NULL;
        w->retry = sd_event_source_disable_unref(w->retry);
        w->waiting_auth = false;
        free(w->pending);
        w->pending = NULL;
        w->n_pending = 0;
}

EtcdWatch *etcd_watch_free(EtcdWatch *w) {
        if (!w || w->freed)
                return NULL;
        stop_stream(w);
        watch_unlink(w);
        w->active = false;
        if (w->in_handler > 0)
                w->freed = true;
        else
                watch_destroy(w);
        return NULL;
}

void etcd_watch_free_all(EtcdClient *c) {
        /* Detach, do not free: the watches' owners still hold (and free) them. */
        while (c->watches) {
                EtcdWatch *w = c->watches;

                stop_stream(w);
                watch_unlink(w);
                w->client = NULL;
                w->active = false;
        }
}

/* Call the handler. Returns true if the caller may go on with this stream: the watch was
 * neither freed nor restarted meanwhile. Frees a watch freed inside the handler. */
static bool deliver(EtcdWatch *w, int error, const EtcdWatchMessage *m) {
        uint64_t gen = w->generation;

        w->in_handler++;
        w->handler(w, error, m, w->userdata);
        w->in_handler--;
        if (w->freed) {
                if (w->in_handler == 0)
                        watch_destroy(w);
                return false;
        }
        return w->generation == gen;
}

static int cancel_reason_to_errno(const char *reason) {
        if (!reason)
                return -ECANCELED;
        if (strstr(reason, "Unauthenticated") || strstr(reason, "invalid auth token"))
                return -EACCES;
        if (strstr(reason, "PermissionDenied") || strstr(reason, "permission denied"))
                return -EPERM;
        return -ECANCELED;
}

static bool is_resumable(int error) {
        return error != -ERANGE && error != -EACCES && error != -EPERM && error != -EBADMSG &&
               error != -EINVAL;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata);

static void schedule_retry(EtcdWatch *w) {
        EtcdClient *c = w->client;
        int r;

        w->backoff_usec = w->backoff_usec == 0 ? BACKOFF_MIN_USEC
                                               : MIN(w->backoff_usec * 2, BACKOFF_MAX_USEC);
        w->retry = sd_event_source_disable_unref(w->retry);
        r = sd_event_add_time_relative(c->event, &w->retry, CLOCK_MONOTONIC, w->backoff_usec, 1000,
                                       on_retry, w);
        if (r < 0) {
                log_debug("etcd: cannot schedule a watch retry: %s", strerror(-r));
                w->active = false;
                return;
        }
        (void) sd_event_source_set_description(w->retry, "etcd-watch-retry");
        w->active = true;
        c->stats.watch_restarts++;
}

/* The stream ended with error: resume it by ourselves or report it. */
static void end_stream(EtcdWatch *w, int error) {
        EtcdClient *c = w->client;

        if (!w->created)
                etcd_stats_record(c, ETCD_REQUEST_WATCH, error, w->start_usec);
        stop_stream(w);
        w->active = false;
        w->created = false;
        if (error == -EACCES && c->username && !w->reauthed) {
                w->reauthed = true;
                etcd_client_drop_token(c);
                if (start_stream(w) >= 0)
                        return;
        }
        if (w->opts.auto_resume && is_resumable(error)) {
                log_debug("etcd: watch on %s ended (%s), resuming from revision %" PRIi64,
                          c->endpoints[w->endpoint], strerror(-error), w->next_revision);
                if (error != -ENOMEM)
                        etcd_client_failover(c, w->endpoint);
                schedule_retry(w);
                if (w->active)
                        return;
        }
        (void) deliver(w, error, NULL);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        EtcdWatch *w = userdata;
        int r;

        w->retry = sd_event_source_disable_unref(w->retry);
        r = start_stream(w);
        if (r < 0)
                end_stream(w, r);
        return 0;
}

/* Track the revision and filter what the handler sees. 0: deliver; 1: skip; < 0: end. */
static int account_message(EtcdWatch *w, const EtcdWatchMessage *m) {
        EtcdClient *c = w->client;

        if (m->canceled) {
                if (m->compact_revision > 0) {
                        w->compact_revision = m->compact_revision;
                        return -ERANGE;
                }
                return cancel_reason_to_errno(m->cancel_reason);
        }
        if (m->created) {
                w->created = true;
                w->backoff_usec = 0;
                w->reauthed = false;
                etcd_stats_record(c, ETCD_REQUEST_WATCH, 0, w->start_usec);
                if (w->next_revision == 0)
                        w->next_revision = m->revision + 1;
                if (w->announced)
                        return 1;
                w->announced = true;
                return 0;
        }
        if (m->n_events > 0) {
                w->next_revision =
                        MAX(w->next_revision, m->events[m->n_events - 1].kv.mod_revision + 1);
                c->stats.watch_events += m->n_events;
        } else
                w->next_revision = MAX(w->next_revision, m->revision + 1);
        return 0;
}

/* One message. 0: go on; 1: stop (the watch was freed or restarted); < 0: end the stream. */
static int handle_line(EtcdWatch *w, const char *line, size_t n) {
        EtcdWatchMessage m = {};
        int r;

        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
                n--;
        if (n == 0)
                return 0;
        r = etcd_json_decode_watch_message(line, n, &m);
        if (r < 0)
                return r;
        r = account_message(w, &m);
        if (r == 0) {
                bool alive = deliver(w, 0, &m);

                etcd_watch_message_done(&m);
                return alive ? 0 : 1;
        }
        etcd_watch_message_done(&m);
        return r < 0 ? r : 0;
}

static int on_data(CurlTransfer *t, const char *data, size_t size, void *userdata) {
        EtcdWatch *w = userdata;
        size_t start = 0;
        char *p;

        p = realloc(w->pending, w->n_pending + size + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p + w->n_pending, data, size);
        w->pending = p;
        w->n_pending += size;

        for (;;) {
                char *nl = memchr(w->pending + start, '\n', w->n_pending - start);
                int r;

                if (!nl)
                        break;
                r = handle_line(w, w->pending + start, (size_t) (nl - (w->pending + start)));
                if (r < 0)
                        return r;
                /* Freed or restarted by the handler: w or this stream's data is gone. */
                if (r > 0)
                        return 0;
                start = (size_t) (nl - w->pending) + 1;
        }
        memmove(w->pending, w->pending + start, w->n_pending - start);
        w->n_pending -= start;
        return 0;
}

static void on_done(CurlTransfer *t, int error, void *userdata) {
        EtcdWatch *w = userdata;
        int r = error;

        w->transfer = NULL;
        /* A last message without newline: error bodies (HTTP 4xx/5xx) come that way. */
        if (r >= 0 && w->n_pending > 0) {
                r = handle_line(w, w->pending, w->n_pending);
                if (r > 0)
                        return;
        }
        if (r >= 0 && curl_transfer_get_http_status(t) != 200)
                r = -EIO;
        end_stream(w, r < 0 ? r : -EPIPE);
}

static int start_stream(EtcdWatch *w) {
        EtcdClient *c = w->client;
        EtcdWatchRequest req = {
                .key = w->key,
                .range_end = w->range_end,
                .prefix = w->prefix,
                .start_revision = w->next_revision,
                .prev_kv = w->prev_kv,
                .progress_notify = w->progress_notify,
        };
        _cleanup_free_ char *body = NULL;
        struct curl_slist *headers = NULL;
        CURL *e = NULL;
        int r;

        w->generation++;
        w->active = true;
        w->created = false;
        if (etcd_client_needs_token(c)) {
                etcd_client_authenticate(c);
                if (!c->auth_call)
                        return -ENOMEM;
                w->waiting_auth = true;
                return 0;
        }
        r = etcd_json_encode_watch_create(&req, &body);
        if (r < 0)
                return r;
        w->endpoint = c->current;
        r = etcd_client_make_easy(c, w->endpoint, "/v3/watch", body, true, 0, &e, &headers);
        if (r < 0)
                return r;
        r = curl_glue_start(c->glue, e, on_data, on_done, w, &w->transfer);
        if (r < 0) {
                curl_slist_free_all(headers);
                return r;
        }
        curl_transfer_own_headers(w->transfer, headers);
        w->start_usec = clock_now_usec(CLOCK_MONOTONIC);
        c->stats.ops[ETCD_REQUEST_WATCH].attempts++;
        return 0;
}

void etcd_watch_auth_done_all(EtcdClient *c, int error) {
        for (;;) {
                EtcdWatch *w = c->watches;
                int r = error;

                while (w && !w->waiting_auth)
                        w = w->next;
                if (!w)
                        return;
                w->waiting_auth = false;
                if (r >= 0)
                        r = start_stream(w);
                if (r < 0)
                        end_stream(w, r);
        }
}

static int dup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int etcd_watch_new(EtcdClient *c, const EtcdWatchRequest *r, const EtcdWatchOptions *opts,
                   etcd_watch_handler_t handler, void *userdata, EtcdWatch **ret) {
        EtcdWatch *w;
        int k;

        assert(c);
        assert(handler);
        assert(ret);
        if (!r || !r->key || r->start_revision < 0)
                return -EINVAL;
        w = calloc(1, sizeof(EtcdWatch));
        if (!w)
                return -ENOMEM;
        w->client = c;
        w->prefix = r->prefix;
        w->prev_kv = r->prev_kv;
        w->progress_notify = r->progress_notify;
        if (opts)
                w->opts = *opts;
        w->handler = handler;
        w->userdata = userdata;
        w->next_revision = r->start_revision;
        k = dup_or_null(r->key, &w->key);
        if (k >= 0)
                k = dup_or_null(r->range_end, &w->range_end);
        if (k < 0) {
                watch_destroy(w);
                return k;
        }
        w->next = c->watches;
        if (w->next)
                w->next->prev = w;
        c->watches = w;
        k = start_stream(w);
        if (k < 0) {
                etcd_watch_free(w);
                return k;
        }
        *ret = w;
        return 0;
}

int etcd_watch_restart(EtcdWatch *w, int64_t start_revision) {
        if (start_revision < 0)
                return -EINVAL;
        if (!w->client)
                return -ENOTCONN;
        stop_stream(w);
        w->next_revision = start_revision;
        w->compact_revision = 0;
        w->announced = false;
        w->backoff_usec = 0;
        w->reauthed = false;
        return start_stream(w);
}

int64_t etcd_watch_get_next_revision(EtcdWatch *w) {
        return w->next_revision;
}

int64_t etcd_watch_get_compact_revision(EtcdWatch *w) {
        return w->compact_revision;
}

bool etcd_watch_is_active(EtcdWatch *w) {
        return w->active;
}

bool etcd_watch_is_live(EtcdWatch *w) {
        return w->transfer && w->created;
}
