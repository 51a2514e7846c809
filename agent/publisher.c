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

typedef struct Entry {
        Publisher *publisher;
        char *name;
        bool want_present;
        RegistryUnitState want;
        HaveState have;
        RegistryUnitState have_state; /* HAVE_PRESENT: what etcd holds */
        int64_t have_lease;
        EtcdCall *call;
        bool sending_present;
        RegistryUnitState sending;
        int64_t sending_lease;
} Entry;

struct Publisher {
        sd_event *event;
        Registry *registry;
        char *machine_id;
        int64_t lease;
        StrMap entries; /* name -> Entry, own_keys */
        size_t n_in_flight;
        sd_event_source *flush_source; /* defer: coalesces changes */
        sd_event_source *retry_timer;
        bool paused; /* a write failed: wait for retry_timer */
        usec_t backoff;
        PublisherStats stats;
};

static bool state_equal(const RegistryUnitState *a, const RegistryUnitState *b) {
        return streq(strempty(a->load_state), strempty(b->load_state)) &&
               streq(strempty(a->active_state), strempty(b->active_state)) &&
               streq(strempty(a->sub_state), strempty(b->sub_state)) &&
               streq(a->unit_hash, b->unit_hash) && a->fleet_state == b->fleet_state;
}

static int state_copy(const RegistryUnitState *src, RegistryUnitState *ret) {
        RegistryUnitState s = {
                .load_state = strdup(strempty(src->load_state)),
                .active_state = strdup(strempty(src->active_state)),
                .sub_state = strdup(strempty(src->sub_state)),
                .fleet_state = src->fleet_state,
        };

        memcpy(s.unit_hash, src->unit_hash, sizeof(s.unit_hash));
        if (!s.load_state || !s.active_state || !s.sub_state) {
                registry_unit_state_done(&s);
                return -ENOMEM;
        }
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
        registry_unit_state_done(&e->want);
        registry_unit_state_done(&e->have_state);
        registry_unit_state_done(&e->sending);
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
                registry_unit_state_done(&e->sending);
                if (!p->paused) {
                        p->paused = true;
                        (void) sd_event_source_set_time_relative(p->retry_timer, p->backoff);
                        (void) sd_event_source_set_enabled(p->retry_timer, SD_EVENT_ONESHOT);
                }
                return;
        }
        p->backoff = 0;
        registry_unit_state_done(&e->have_state);
        if (e->sending_present) {
                p->stats.puts++;
                e->have = HAVE_PRESENT;
                e->have_state = e->sending;
                e->sending = (RegistryUnitState){};
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
                RegistryUnitState s = e->want;

                s.name = e->name;
                s.machine_id = p->machine_id;
                r = state_copy(&e->want, &e->sending);
                if (r < 0)
                        return r;
                e->sending_lease = p->lease;
                r = registry_put_state(p->registry, &s, p->lease, on_written, e, &e->call);
        } else {
                RegistryKey key = {
                        .kind = REGISTRY_KEY_STATE, .name = e->name, .machine_id = p->machine_id};

                r = registry_delete(p->registry, &key, on_written, e, &e->call);
        }
        e->sending_present = e->want_present;
        if (r < 0) {
                registry_unit_state_done(&e->sending);
                return r;
        }
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
                if (!e->name || strmap_put(&p->entries, name, e, NULL) < 0) {
                        entry_free(e);
                        return -ENOMEM;
                }
        }
        if (s) {
                RegistryUnitState c;

                if (e->want_present && state_equal(&e->want, s))
                        return 0;
                r = state_copy(s, &c);
                if (r < 0)
                        return r;
                registry_unit_state_done(&e->want);
                e->want = c;
                e->want_present = true;
        } else {
                if (!e->want_present && e->have == HAVE_ABSENT)
                        return 0;
                registry_unit_state_done(&e->want);
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
        p->entries.own_keys = true;
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

        if (!p)
                return NULL;
        while (strmap_next(&p->entries, &i, NULL, (void **) &e))
                entry_free(e);
        strmap_done(&p->entries);
        sd_event_source_disable_unref(p->flush_source);
        sd_event_source_disable_unref(p->retry_timer);
        sd_event_unref(p->event);
        free(p->machine_id);
        free(p);
        return NULL;
}
