/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "publisher.h"
#include "strmap.h"
#include "time-util.h"

#define MAX_IN_FLIGHT 64
#define BACKOFF_MIN_USEC (250 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (10 * USEC_PER_SEC)

typedef enum HaveState {
        HAVE_UNKNOWN, /* etcd may or may not hold a state */
        HAVE_ABSENT,
        HAVE_PRESENT,
} HaveState;

/*
 * One unit's state as the publisher keeps it: systemd's three state words are interned in the
 * publisher (a few dozen distinct words; with 1,000 units, six copies of each per unit were
 * ~200 KB), so they are compared by pointer and never freed one by one.
 */
typedef struct State {
        const char *load_state, *active_state, *sub_state; /* interned, never NULL */
        char unit_hash[REGISTRY_HASH_LEN + 1];
        JobState fleet_state;
} State;

typedef struct Entry {
        Publisher *publisher;
        char *name; /* also the key in Publisher.entries */
        bool want_present;
        State want;
        HaveState have;
        State have_state; /* HAVE_PRESENT: what etcd holds */
        int64_t have_lease;
        EtcdCall *call;
        bool sending_present;
        State sending;
        int64_t sending_lease;
} Entry;

struct Publisher {
        sd_event *event;
        Registry *registry;
        char *machine_id;
        int64_t lease;
        StrMap entries; /* name -> Entry (keys borrowed from Entry.name) */
        StrMap words;   /* interned state words: word -> the same malloc'd word */
        size_t n_in_flight;
        sd_event_source *flush_source; /* defer: coalesces changes */
        sd_event_source *retry_timer;
        bool paused; /* a write failed: wait for retry_timer */
        usec_t backoff;
        PublisherStats stats;
};

static bool state_equal(const State *a, const State *b) {
        return a->load_state == b->load_state && a->active_state == b->active_state &&
               a->sub_state == b->sub_state && streq(a->unit_hash, b->unit_hash) &&
               a->fleet_state == b->fleet_state;
}

/* The publisher's copy of word (NULL counts as ""), or NULL without memory. */
static const char *intern(Publisher *p, const char *word) {
        char *w = strmap_get(&p->words, strempty(word));

        if (w)
                return w;
        w = strdup(strempty(word));
        if (!w || strmap_put(&p->words, w, w, NULL) < 0) {
                free(w);
                return NULL;
        }
        return w;
}

static int state_from(Publisher *p, const RegistryUnitState *src, State *ret) {
        State s = {
                .load_state = intern(p, src->load_state),
                .active_state = intern(p, src->active_state),
                .sub_state = intern(p, src->sub_state),
                .fleet_state = src->fleet_state,
        };

        if (!s.load_state || !s.active_state || !s.sub_state)
                return -ENOMEM;
        memcpy(s.unit_hash, src->unit_hash, sizeof(s.unit_hash));
        *ret = s;
        return 0;
}

static bool entry_dirty(const Entry *e, int64_t lease) {
        if (!e->want_present)
                return e->have != HAVE_ABSENT;
        return e->have != HAVE_PRESENT || e->have_lease != lease ||
               !state_equal(&e->want, &e->have_state);
}

static void entry_free(Entry *e) {
        if (!e)
                return;
        etcd_call_cancel(e->call);
        free(e->name);
        free(e);
}

static void schedule_flush(Publisher *p) {
        if (!p->paused)
                (void) sd_event_source_set_enabled(p->flush_source, SD_EVENT_ONESHOT);
}

static void on_written(Registry *r, int error, int64_t revision, void *userdata) {
        Entry *e = userdata;
        Publisher *p = e->publisher;

        e->call = NULL;
        p->n_in_flight--;
        if (error < 0) {
                char buf[FORMAT_TIMESPAN_MAX];

                p->stats.errors++;
                p->backoff = p->backoff ? MIN(p->backoff * 2, BACKOFF_MAX_USEC) : BACKOFF_MIN_USEC;
                log_warning_errno(error, "Failed to %s the state of %s: %m, retrying in %s",
                                  e->sending_present ? "publish" : "delete", e->name,
                                  format_timespan(buf, p->backoff));
                e->have = HAVE_UNKNOWN;
                if (!p->paused) {
                        p->paused = true;
                        (void) sd_event_source_set_time_relative(p->retry_timer, p->backoff);
                        (void) sd_event_source_set_enabled(p->retry_timer, SD_EVENT_ONESHOT);
                }
                return;
        }
        p->backoff = 0;
        if (e->sending_present) {
                p->stats.puts++;
                e->have = HAVE_PRESENT;
                e->have_state = e->sending;
                e->have_lease = e->sending_lease;
        } else {
                p->stats.deletes++;
                e->have = HAVE_ABSENT;
        }
        if (!e->want_present && e->have == HAVE_ABSENT) {
                entry_free(strmap_remove(&p->entries, e->name));
                schedule_flush(p);
                return;
        }
        schedule_flush(p);
}

static int entry_send(Publisher *p, Entry *e) {
        int r;

        if (e->want_present) {
                RegistryUnitState s = {
                        .name = e->name,
                        .machine_id = p->machine_id,
                        .load_state = (char *) e->want.load_state,
                        .active_state = (char *) e->want.active_state,
                        .sub_state = (char *) e->want.sub_state,
                        .fleet_state = e->want.fleet_state,
                };

                memcpy(s.unit_hash, e->want.unit_hash, sizeof(s.unit_hash));
                e->sending = e->want;
                e->sending_lease = p->lease;
                r = registry_put_state(p->registry, &s, p->lease, on_written, e, &e->call);
        } else {
                RegistryKey key = {
                        .kind = REGISTRY_KEY_STATE, .name = e->name, .machine_id = p->machine_id};

                r = registry_delete(p->registry, &key, on_written, e, &e->call);
        }
        e->sending_present = e->want_present;
        if (r < 0)
                return r;
        p->n_in_flight++;
        return 0;
}

static int on_flush(sd_event_source *s, void *userdata) {
        Publisher *p = userdata;
        StrMapIter i = {};
        Entry *e;

        while (p->n_in_flight < MAX_IN_FLIGHT && !p->paused &&
               strmap_next(&p->entries, &i, NULL, (void **) &e)) {
                int r;

                if (e->call || !entry_dirty(e, p->lease))
                        continue;
                if (e->want_present && p->lease == 0)
                        continue;
                r = entry_send(p, e);
                if (r < 0)
                        log_warning_errno(r, "Failed to publish the state of %s: %m", e->name);
        }
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Publisher *p = userdata;

        p->paused = false;
        schedule_flush(p);
        return 0;
}

int publisher_set(Publisher *p, const char *name, const RegistryUnitState *s) {
        Entry *e = strmap_get(&p->entries, name);
        int r;

        if (!e) {
                e = calloc(1, sizeof(Entry));
                if (!e)
                        return -ENOMEM;
                e->publisher = p;
                e->name = strdup(name);
                if (!e->name || strmap_put(&p->entries, e->name, e, NULL) < 0) {
                        entry_free(e);
                        return -ENOMEM;
                }
        }
        if (s) {
                State c;

                r = state_from(p, s, &c);
                if (r < 0)
                        return r;
                if (e->want_present && state_equal(&e->want, &c))
                        return 0;
                e->want = c;
                e->want_present = true;
        } else {
                if (!e->want_present && e->have == HAVE_ABSENT)
                        return 0;
                e->want = (State){};
                e->want_present = false;
        }
        schedule_flush(p);
        return 0;
}

void publisher_set_lease(Publisher *p, int64_t lease) {
        if (p->lease == lease)
                return;
        p->lease = lease;
        schedule_flush(p);
}

size_t publisher_n_pending(const Publisher *p) {
        StrMapIter i = {};
        Entry *e;
        size_t n = 0;

        while (strmap_next(&p->entries, &i, NULL, (void **) &e))
                n += entry_dirty(e, p->lease);
        return n;
}

const PublisherStats *publisher_get_stats(const Publisher *p) {
        return &p->stats;
}

int publisher_new(Publisher **ret, sd_event *event, Registry *registry, const char *machine_id) {
        _cleanup_(publisher_freep) Publisher *p = NULL;
        int r;

        p = calloc(1, sizeof(Publisher));
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);
        p->registry = registry;
        p->machine_id = strdup(machine_id);
        if (!p->machine_id)
                return -ENOMEM;
        r = sd_event_add_defer(event, &p->flush_source, on_flush, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(p->flush_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(p->flush_source, "publisher-flush");
        r = sd_event_add_time_relative(event, &p->retry_timer, CLOCK_MONOTONIC, 0, 0, on_retry, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(p->retry_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(p->retry_timer, "publisher-retry");
        *ret = TAKE_PTR(p);
        return 0;
}

Publisher *publisher_free(Publisher *p) {
        StrMapIter i = {};
        Entry *e;
        char *w;

        if (!p)
                return NULL;
        while (strmap_next(&p->entries, &i, NULL, (void **) &e))
                entry_free(e);
        strmap_done(&p->entries);
        i = (StrMapIter){};
        while (strmap_next(&p->words, &i, NULL, (void **) &w))
                free(w);
        strmap_done(&p->words);
        sd_event_source_disable_unref(p->flush_source);
        sd_event_source_disable_unref(p->retry_timer);
        sd_event_unref(p->event);
        free(p->machine_id);
        free(p);
        return NULL;
}
