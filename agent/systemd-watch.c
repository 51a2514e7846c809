/* SPDX-License-Identifier: MIT */
/*
 * Following the state of watched units without polling: one PropertiesChanged match for all
 * unit objects (looked up by object path), a full read with ListUnitsByNames when a unit is
 * first watched and after every daemon-reload, batched through one timer source so that the
 * units watched in one loop iteration share one call.
 */
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "strv.h"
#include "systemd-internal.h"
#include "unit-dir.h"
#include "unit-name.h"

/* A failed read is retried after 1 s, doubling up to 1 min (no poll loop if systemd keeps
 * refusing). */
#define REFRESH_RETRY_MIN_USEC (1000ULL * 1000)
#define REFRESH_RETRY_MAX_USEC (60ULL * 1000 * 1000)

/* --- watched units ---------------------------------------------------------------------- */

static int cmp_name(const void *a, const void *b) {
        return strcmp(((const WatchedUnit *) a)->name, ((const WatchedUnit *) b)->name);
}

static int cmp_path(const void *a, const void *b) {
        return strcmp(((const WatchedUnit *) a)->path, ((const WatchedUnit *) b)->path);
}

static WatchedUnit *find_by_name(SystemdManager *m, const char *name) {
        WatchedUnit key = {.name = (char *) name};
        void *node = tfind(&key, &m->by_name, cmp_name);

        return node ? *(WatchedUnit **) node : NULL;
}

static WatchedUnit *find_by_path(SystemdManager *m, const char *path) {
        WatchedUnit key = {.path = (char *) path};
        void *node = tfind(&key, &m->by_path, cmp_path);

        return node ? *(WatchedUnit **) node : NULL;
}

static void unindex_path(SystemdManager *m, WatchedUnit *w) {
        if (w->indexed_by_path)
                (void) tdelete(w, &m->by_path, cmp_path);
        w->indexed_by_path = false;
}

/* Index w by path unless another name (an alias of the same unit) holds that path. */
static int index_path(SystemdManager *m, WatchedUnit *w) {
        void *node = tsearch(w, &m->by_path, cmp_path);

        if (!node)
                return -ENOMEM;
        w->indexed_by_path = *(WatchedUnit **) node == w;
        return 0;
}

static void watched_unit_free(SystemdManager *m, WatchedUnit *w) {
        bool had_path = w->indexed_by_path;

        unindex_path(m, w);
        (void) tdelete(w, &m->by_name, cmp_name);
        if (w->prev)
                w->prev->next = w->next;
        else
                m->units = w->next;
        if (w->next)
                w->next->prev = w->prev;
        m->n_watched--;
        /* An alias of the same unit may be watched too: it takes over the path. */
        for (WatchedUnit *o = m->units; had_path && o; o = o->next)
                if (streq(o->path, w->path)) {
                        if (index_path(m, o) < 0)
                                log_oom();
                        break;
                }
        free(w->name);
        free(w->path);
        free(w->load_state);
        free(w->active_state);
        free(w->sub_state);
        free(w);
}

static int set_string(char **s, const char *v, bool *changed) {
        char *c;

        if (!v || (*s && streq(*s, v)))
                return 0;
        c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(*s);
        *s = c;
        *changed = true;
        return 0;
}

/* Merge the given values (NULL = unchanged) into w. 1 if the triple is known and changed. */
static int unit_update(WatchedUnit *w, const char *load, const char *active, const char *sub) {
        bool changed = false, was_known = w->known;

        if (set_string(&w->load_state, load, &changed) < 0 ||
            set_string(&w->active_state, active, &changed) < 0 ||
            set_string(&w->sub_state, sub, &changed) < 0)
                return -ENOMEM;
        w->known = w->load_state && w->active_state && w->sub_state;
        w->state = (SystemdUnitState){w->load_state, w->active_state, w->sub_state};
        return w->known && (changed || !was_known);
}

static void notify_state(SystemdManager *m, WatchedUnit *w) {
        log_debug("systemd: %s is %s/%s/%s", w->name, w->load_state, w->active_state, w->sub_state);
        if (m->state_cb)
                m->state_cb(m, w->name, &w->state, m->state_userdata);
}

static void schedule_refresh(SystemdManager *m, uint64_t delay_usec) {
        int enabled = SD_EVENT_OFF;
        int r;

        (void) sd_event_source_get_enabled(m->refresh_source, &enabled);
        if (enabled != SD_EVENT_OFF && delay_usec > 0)
                return; /* already due, possibly sooner */
        r = sd_event_source_set_time_relative(m->refresh_source, delay_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->refresh_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule unit state refresh: %m");
}

static void mark_refresh(SystemdManager *m, WatchedUnit *w) {
        w->refresh = true;
        schedule_refresh(m, 0);
}

/* A watched unit's full triple from ListUnitsByNames. */
static void apply_unit_info(SystemdManager *m, const SystemdUnitInfo *i) {
        WatchedUnit *w = find_by_name(m, i->name);
        int r;

        if (!w)
                return;
        if (i->object_path[0] && !streq(i->object_path, w->path)) {
                char *p = strdup(i->object_path);

                if (!p) {
                        log_oom();
                        return;
                }
                unindex_path(m, w);
                free(w->path);
                w->path = p;
                if (index_path(m, w) < 0)
                        log_oom();
        }
        r = unit_update(w, i->load_state, i->active_state, i->sub_state);
        if (r < 0)
                log_oom();
        else if (r > 0)
                notify_state(m, w);
}

static void schedule_retry(SystemdManager *m) {
        m->refresh_retry_usec =
                MIN(MAX(m->refresh_retry_usec * 2, REFRESH_RETRY_MIN_USEC), REFRESH_RETRY_MAX_USEC);
        schedule_refresh(m, m->refresh_retry_usec);
}

static void refresh_failed(SystemdManager *m, Op *op, const char *why) {
        STRV_FOREACH(n, op->names) {
                WatchedUnit *w = find_by_name(m, *n);

                if (w)
                        w->refresh = true;
        }
        schedule_retry(m);
        log_warning("Failed to read the state of %zu watched units: %s, retrying in %llus",
                    strv_length(op->names), why,
                    (unsigned long long) (m->refresh_retry_usec / REFRESH_RETRY_MIN_USEC));
}

void systemd_watch_handle_refresh_reply(SystemdManager *m, Op *op, sd_bus_message *reply,
                                        const sd_bus_error *e) {
        _cleanup_free_ SystemdUnitInfo *infos = NULL;
        size_t n = 0;
        int r;

        if (sd_bus_error_is_set(e)) {
                refresh_failed(m, op, e->message ? e->message : e->name);
                systemd_op_drop(m, op);
                return;
        }
        r = systemd_read_unit_infos(reply, &infos, &n);
        if (r < 0)
                refresh_failed(m, op, strerror(-r));
        else
                m->refresh_retry_usec = 0;
        systemd_op_drop(m, op);
        /* Callbacks run from here on: stop as soon as one frees the manager. */
        for (size_t k = 0; k < n && !m->freed; k++)
                apply_unit_info(m, &infos[k]);
}

/* --- state following -------------------------------------------------------------------- */

static int refresh_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        SystemdManager *m = userdata;
        _cleanup_strv_free_ char **names = NULL;
        Op *op;
        int r;

        if (m->failed)
                return 0;
        for (WatchedUnit *w = m->units; w; w = w->next) {
                if (!w->refresh)
                        continue;
                if (strv_extend(&names, w->name) < 0)
                        return log_oom(), 0;
                w->refresh = false;
        }
        if (!names)
                return 0;
        r = systemd_op_new(m, OP_REFRESH, NULL, &op);
        if (r >= 0) {
                op->names = TAKE_PTR(names);
                r = systemd_op_send_names(m, op, op->names);
        }
        if (r < 0) {
                for (WatchedUnit *w = m->units; w; w = w->next)
                        w->refresh = true;
                schedule_retry(m);
                log_warning_errno(
                        r, "Failed to query unit states: %m, retrying in %llus",
                        (unsigned long long) (m->refresh_retry_usec / REFRESH_RETRY_MIN_USEC));
        }
        return 0;
}

int systemd_manager_watch_unit(SystemdManager *m, const char *name) {
        WatchedUnit *w;
        void *node;
        int r;

        assert(m);
        /* A template is no unit: systemd refuses to load it, failing a whole batch. A name
         * systemd refuses is silently left out of ListUnitsByNames' answer. */
        if (!unit_dir_name_is_safe(name) || unit_name_is_template(name) ||
            unit_name_validate(name, NULL) < 0)
                return -EINVAL;
        if (find_by_name(m, name))
                return 0;
        w = calloc(1, sizeof(WatchedUnit));
        if (!w)
                return -ENOMEM;
        w->name = strdup(name);
        r = w->name ? sd_bus_path_encode(SD_UNIT_PREFIX, name, &w->path) : -ENOMEM;
        node = r >= 0 ? tsearch(w, &m->by_name, cmp_name) : NULL;
        if (!node) {
                free(w->name);
                free(w->path);
                free(w);
                return r < 0 ? r : -ENOMEM;
        }
        w->next = m->units;
        if (m->units)
                m->units->prev = w;
        m->units = w;
        m->n_watched++;
        if (index_path(m, w) < 0) {
                watched_unit_free(m, w);
                return -ENOMEM;
        }
        mark_refresh(m, w);
        return 1;
}

int systemd_manager_unwatch_unit(SystemdManager *m, const char *name) {
        WatchedUnit *w;

        assert(m);
        w = name ? find_by_name(m, name) : NULL;
        if (!w)
                return 0;
        watched_unit_free(m, w);
        return 1;
}

int systemd_manager_refresh_unit(SystemdManager *m, const char *name) {
        WatchedUnit *w;

        assert(m);
        w = name ? find_by_name(m, name) : NULL;
        if (!w)
                return 0;
        mark_refresh(m, w);
        return 1;
}

const SystemdUnitState *systemd_manager_get_unit_state(SystemdManager *m, const char *name) {
        WatchedUnit *w;

        assert(m);
        w = name ? find_by_name(m, name) : NULL;
        return w && w->known ? &w->state : NULL;
}

size_t systemd_manager_n_watched(const SystemdManager *m) {
        return m->n_watched;
}

/* Read the three properties we follow from a PropertiesChanged a{sv}; others are skipped. */
static int read_changed(sd_bus_message *msg, const char *v[3]) {
        static const char *const keys[3] = {"LoadState", "ActiveState", "SubState"};
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key;
                int k = -1;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                for (int i = 0; i < 3; i++)
                        if (streq(key, keys[i]))
                                k = i;
                r = k >= 0 ? sd_bus_message_read(msg, "v", "s", &v[k])
                           : sd_bus_message_skip(msg, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

static bool invalidates_state(char **invalidated) {
        return strv_contains(invalidated, "LoadState") ||
               strv_contains(invalidated, "ActiveState") || strv_contains(invalidated, "SubState");
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdManager *m = userdata;
        _cleanup_strv_free_ char **invalidated = NULL;
        const char *iface, *v[3] = {};
        WatchedUnit *w;
        int r;

        w = find_by_path(m, strempty(sd_bus_message_get_path(msg)));
        if (!w)
                return 0;
        r = sd_bus_message_read(msg, "s", &iface);
        if (r >= 0 && !streq(iface, SD_UNIT))
                return 0;
        if (r >= 0)
                r = read_changed(msg, v);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &invalidated);
        if (r < 0) {
                log_warning_errno(r, "Failed to parse PropertiesChanged of %s: %m", w->name);
                mark_refresh(m, w);
                return 0;
        }
        if (invalidates_state(invalidated))
                mark_refresh(m, w);
        r = unit_update(w, v[0], v[1], v[2]);
        if (r < 0)
                return log_oom(), 0;
        if (!w->known)
                mark_refresh(m, w); /* a partial update of a unit we know nothing about */
        if (r > 0) {
                manager_enter(m);
                notify_state(m, w);
                return manager_leave(m, 0);
        }
        return 0;
}

static int on_reloading(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdManager *m = userdata;
        int active = 0;

        if (sd_bus_message_read(msg, "b", &active) < 0 || active)
                return 0;
        /* Unit files may have changed under every watched unit: read them all again. */
        for (WatchedUnit *w = m->units; w; w = w->next)
                w->refresh = true;
        if (m->units)
                schedule_refresh(m, 0);
        return 0;
}

int systemd_watch_add_matches(SystemdManager *m, const char *sender) {
        _cleanup_free_ char *match = NULL;
        int r;

        r = sd_bus_match_signal_async(m->bus, &m->match_reloading, sender, SD_PATH, SD_MANAGER,
                                      "Reloading", on_reloading, NULL, m);
        if (r < 0)
                return r;
        /* One match for every unit object, filtered by the Unit interface (arg0): a match per
         * watched unit would hit dbus-daemon's limit of 512 rules per connection. */
        if (asprintf(&match,
                     "type='signal',%s%s%spath_namespace='" SD_UNIT_PREFIX "',"
                     "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                     "arg0='" SD_UNIT "'",
                     sender ? "sender='" : "", strempty(sender), sender ? "'," : "") < 0)
                return -ENOMEM;
        return sd_bus_add_match_async(m->bus, &m->match_properties, match, on_properties_changed,
                                      NULL, m);
}

int systemd_watch_init(SystemdManager *m) {
        int r;

        /* Accuracy 1 us, not sd-event's default (0 = 250 ms): a refresh "now" is what a pass
         * for a newly watched unit waits for, and with the default it fired up to 250 ms late
         * (whenever something else woke the loop). */
        r = sd_event_add_time_relative(m->event, &m->refresh_source, CLOCK_MONOTONIC, 0, 1,
                                       refresh_handler, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(m->refresh_source, "systemd-unit-refresh");
        return sd_event_source_set_enabled(m->refresh_source, SD_EVENT_OFF);
}

static void noop_free(void *p) {
}

void systemd_watch_done(SystemdManager *m) {
        while (m->units)
                watched_unit_free(m, m->units);
        tdestroy(m->by_name, noop_free);
        tdestroy(m->by_path, noop_free);
        m->by_name = m->by_path = NULL;
        m->match_properties = sd_bus_slot_unref(m->match_properties);
        m->match_reloading = sd_bus_slot_unref(m->match_reloading);
        m->refresh_source = sd_event_source_disable_unref(m->refresh_source);
}
