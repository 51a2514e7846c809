/* SPDX-License-Identifier: MIT */
/*
 * The agent's desired state: watches on schedule/<id>/, global/, metadata/<id>/ and pin/<id>/
 * (and nothing else, so that a change elsewhere never wakes this agent), unit contents fetched
 * by hash, and the selection of the global units that apply here. A pin (fleet-c's rolling
 * updates of global units) keeps this machine on a global unit's old content until fleetctl
 * deletes it.
 */
#include <stdlib.h>
#include <string.h>

#include "agent-internal.h"
#include "log.h"
#include "strv.h"

#define WATCH_RETRY_USEC (5 * USEC_PER_SEC)

enum {
        WATCH_SCHEDULE = 1 << 0,
        WATCH_GLOBAL = 1 << 1,
        WATCH_METADATA = 1 << 2,
        WATCH_PIN = 1 << 3,
};

/* --- schedule and global entries -------------------------------------------------------------- */

static void wanted_free(AgentWanted *w) {
        if (!w)
                return;
        xfleet_free(w->xfleet);
        free(w);
}

static void wanted_map_clear(StrMap *m) {
        StrMapIter i = {};
        AgentWanted *w;

        while (strmap_next(m, &i, NULL, (void **) &w))
                wanted_free(w);
        strmap_done(m);
}

/* 1 if the map changed. */
static int wanted_put(StrMap *m, const char *name, const RegistryTarget *t) {
        AgentWanted *w = strmap_get(m, name);

        if (w) {
                if (streq(w->target.hash, t->hash) && w->target.desired_state == t->desired_state)
                        return 0;
                w->target = *t;
                return 1;
        }
        w = calloc(1, sizeof(AgentWanted));
        if (!w)
                return -ENOMEM;
        w->target = *t;
        if (strmap_put(m, name, w, NULL) < 0) {
                wanted_free(w);
                return -ENOMEM;
        }
        return 1;
}

static int wanted_remove(StrMap *m, const char *name) {
        AgentWanted *w = strmap_remove(m, name);

        wanted_free(w);
        return w ? 1 : 0;
}

/* --- watches ---------------------------------------------------------------------------------- */

static void desired_changed(Agent *a) {
        if (!a->ready_notified && a->schedule_synced && a->global_synced && a->metadata_synced &&
            a->pin_synced) {
                a->ready_notified = true;
                log_info("Agent synced with the registry: %zu scheduled, %zu global units",
                         strmap_size(&a->schedule), strmap_size(&a->globals));
                if (a->ready_cb)
                        a->ready_cb(a, a->ready_userdata);
        }
        agent_pass_kick(a);
}

static void watch_failed(Agent *a, unsigned which, const char *what, int error) {
        char buf[FORMAT_TIMESPAN_MAX];

        log_warning_errno(error, "Watch on %s stopped: %m, retrying in %s", what,
                          format_timespan(buf, WATCH_RETRY_USEC));
        a->watches_failed |= which;
        (void) sd_event_source_set_time_relative(a->watch_retry_timer, WATCH_RETRY_USEC);
        (void) sd_event_source_set_enabled(a->watch_retry_timer, SD_EVENT_ONESHOT);
}

static bool entry_is_ours(const Agent *a, const RegistryEntry *e, RegistryKeyKind kind) {
        if (e->key.kind != kind || !e->key.name)
                return false;
        if (kind == REGISTRY_KEY_GLOBAL)
                return true;
        /* schedule/, metadata/ and pin/ entries of this machine only */
        return e->key.machine_id && streq(e->key.machine_id, a->machine_id);
}

/* Apply an update to a map of targets (schedule or global). 1 if anything changed. */
static int apply_targets(Agent *a, StrMap *m, RegistryKeyKind kind, const RegistryWatchUpdate *u) {
        int changed = 0, r;

        if (u->resync) {
                changed = 1; /* replace everything; cheap to recompute */
                wanted_map_clear(m);
                for (size_t i = 0; i < u->n_entries; i++) {
                        const RegistryEntry *e = &u->entries[i];

                        if (!entry_is_ours(a, e, kind) || !e->has_value)
                                continue;
                        r = wanted_put(m, e->key.name, &e->target);
                        if (r < 0)
                                return r;
                }
        }
        for (size_t i = 0; i < u->n_events; i++) {
                const RegistryEvent *ev = &u->events[i];

                if (!entry_is_ours(a, &ev->entry, kind))
                        continue;
                if (ev->type == REGISTRY_EVENT_PUT && ev->entry.has_value)
                        r = wanted_put(m, ev->entry.key.name, &ev->entry.target);
                else
                        r = wanted_remove(m, ev->entry.key.name);
                if (r < 0)
                        return r;
                changed |= r;
        }
        return changed;
}

/* Derive globals from global_raw and this machine's pins. 1 if it changed, -ENOMEM. */
static int globals_refresh(Agent *a) {
        StrMapIter i = {};
        const char *name;
        AgentWanted *w;
        int changed = 0, r;

        while (strmap_next(&a->global_raw, &i, &name, (void **) &w)) {
                const char *pin = strmap_get(&a->pins, name);
                RegistryTarget t;

                if (agent_global_target(&w->target, pin, &t) < 0)
                        log_warning("Ignoring pin of %s to %s: not a content hash", name, pin);
                r = wanted_put(&a->globals, name, &t);
                if (r < 0)
                        return r;
                if (r > 0 && pin)
                        log_info("Global unit %s runs content %.7s here (pinned)", name, t.hash);
                changed |= r;
        }
        i = (StrMapIter){};
        while (strmap_next(&a->globals, &i, &name, (void **) &w))
                if (!strmap_get(&a->global_raw, name)) {
                        wanted_free(strmap_remove_current(&a->globals, &i));
                        changed = 1;
                }
        return changed;
}

static void on_targets(Agent *a, RegistryWatch *w, int error, const RegistryWatchUpdate *u,
                       bool global) {
        unsigned which = global ? WATCH_GLOBAL : WATCH_SCHEDULE;
        const char *what = global ? "global units" : "this machine's schedule";
        int r;

        if (error < 0) {
                watch_failed(a, which, what, error);
                return;
        }
        r = apply_targets(a, global ? &a->global_raw : &a->schedule,
                          global ? REGISTRY_KEY_GLOBAL : REGISTRY_KEY_SCHEDULE, u);
        if (r > 0 && global)
                r = globals_refresh(a);
        if (r < 0) {
                /* Out of memory: our view is incomplete. Re-list from scratch. */
                log_oom();
                (void) registry_watch_restart(w, 0);
                return;
        }
        if (r > 0 && !u->resync)
                log_debug("Registry: %s changed (%zu event(s))", what, u->n_events);
        if (global)
                a->global_synced = true;
        else
                a->schedule_synced = true;
        if (r > 0 || !a->ready_notified)
                desired_changed(a);
}

static void on_schedule(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        on_targets(userdata, w, error, u, false);
}

static void on_global(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        on_targets(userdata, w, error, u, true);
}

/* The string an entry of a string map holds: a metadata value, or the content hash a pin names. */
static const char *entry_string(const RegistryEntry *e) {
        return e->key.kind == REGISTRY_KEY_PIN ? e->pin.hash : e->metadata_value;
}

/* Apply an update to a map of this machine's strings (metadata/<id>/, pin/<id>/). 0 or
 * -ENOMEM. */
static int apply_strings(Agent *a, StrMap *m, RegistryKeyKind kind, const RegistryWatchUpdate *u) {
        int r = 0;

        if (u->resync) {
                strmap_done_free(m);
                for (size_t i = 0; i < u->n_entries && r >= 0; i++) {
                        const RegistryEntry *e = &u->entries[i];

                        if (entry_is_ours(a, e, kind) && e->has_value)
                                r = strmap_put_strdup(m, e->key.name, entry_string(e));
                }
        }
        for (size_t i = 0; i < u->n_events && r >= 0; i++) {
                const RegistryEntry *e = &u->events[i].entry;

                if (!entry_is_ours(a, e, kind))
                        continue;
                if (u->events[i].type == REGISTRY_EVENT_PUT && e->has_value) {
                        log_debug("Registry: %s set to %s", e->key.name, entry_string(e));
                        r = strmap_put_strdup(m, e->key.name, entry_string(e));
                } else {
                        log_debug("Registry: %s removed", e->key.name);
                        free(strmap_remove(m, e->key.name));
                }
        }
        return r;
}

static void on_metadata(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        Agent *a = userdata;

        if (error < 0) {
                watch_failed(a, WATCH_METADATA, "this machine's metadata", error);
                return;
        }
        if (apply_strings(a, &a->dyn_metadata, REGISTRY_KEY_METADATA, u) < 0) {
                log_oom();
                (void) registry_watch_restart(w, 0);
                return;
        }
        a->metadata_synced = true;
        desired_changed(a);
}

static void on_pins(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        Agent *a = userdata;
        int r;

        if (error < 0) {
                watch_failed(a, WATCH_PIN, "this machine's pins", error);
                return;
        }
        r = apply_strings(a, &a->pins, REGISTRY_KEY_PIN, u);
        r = r < 0 ? r : globals_refresh(a);
        if (r < 0) {
                log_oom();
                (void) registry_watch_restart(w, 0);
                return;
        }
        a->pin_synced = true;
        if (r > 0 || !a->ready_notified)
                desired_changed(a);
}

static int on_watch_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Agent *a = userdata;
        unsigned failed = a->watches_failed;
        int r = 0;

        a->watches_failed = 0;
        if ((failed & WATCH_SCHEDULE) && a->schedule_watch)
                r = registry_watch_restart(a->schedule_watch, 0);
        if (r >= 0 && (failed & WATCH_GLOBAL) && a->global_watch)
                r = registry_watch_restart(a->global_watch, 0);
        if (r >= 0 && (failed & WATCH_METADATA) && a->metadata_watch)
                r = registry_watch_restart(a->metadata_watch, 0);
        if (r >= 0 && (failed & WATCH_PIN) && a->pin_watch)
                r = registry_watch_restart(a->pin_watch, 0);
        if (r < 0) {
                a->watches_failed = failed;
                (void) sd_event_source_set_time_relative(s, WATCH_RETRY_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

void agent_watches_resync(Agent *a) {
        /* After fencing, the cached schedule may be stale (the engine may have moved our units
         * while we could not hear it): no pass may start anything until each view has been
         * listed again from etcd. The restarts re-list; while etcd is unreachable they are
         * retried by the watch retry timer. */
        a->schedule_synced = a->global_synced = a->metadata_synced = a->pin_synced = false;
        a->watches_failed |= WATCH_SCHEDULE | WATCH_GLOBAL | WATCH_METADATA | WATCH_PIN;
        (void) sd_event_source_set_time_relative(a->watch_retry_timer, 0);
        (void) sd_event_source_set_enabled(a->watch_retry_timer, SD_EVENT_ONESHOT);
}

int agent_watches_open(Agent *a) {
        int r;

        if (!a->watch_retry_timer) {
                /* Accuracy 1 ms: agent_watches_resync() arms it for "now", which with sd-event's
                 * default accuracy (0 = 250 ms) could wait up to 250 ms. */
                r = sd_event_add_time_relative(a->event, &a->watch_retry_timer, CLOCK_MONOTONIC, 0,
                                               USEC_PER_MSEC, on_watch_retry, a);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_enabled(a->watch_retry_timer, SD_EVENT_OFF);
                (void) sd_event_source_set_description(a->watch_retry_timer, "agent-watch-retry");
        }
        r = registry_watch_new(a->registry, REGISTRY_KEY_SCHEDULE, a->machine_id, NULL, on_schedule,
                               a, &a->schedule_watch);
        if (r >= 0)
                r = registry_watch_new(a->registry, REGISTRY_KEY_GLOBAL, NULL, NULL, on_global, a,
                                       &a->global_watch);
        if (r >= 0)
                r = registry_watch_new(a->registry, REGISTRY_KEY_METADATA, a->machine_id, NULL,
                                       on_metadata, a, &a->metadata_watch);
        if (r >= 0)
                r = registry_watch_new(a->registry, REGISTRY_KEY_PIN, a->machine_id, NULL, on_pins,
                                       a, &a->pin_watch);
        return r;
}

void agent_watches_close(Agent *a) {
        a->schedule_watch = registry_watch_free(a->schedule_watch);
        a->global_watch = registry_watch_free(a->global_watch);
        a->metadata_watch = registry_watch_free(a->metadata_watch);
        a->pin_watch = registry_watch_free(a->pin_watch);
        a->watch_retry_timer = sd_event_source_disable_unref(a->watch_retry_timer);
}

const char *agent_metadata_lookup(const char *key, void *userdata) {
        Agent *a = userdata;
        const char *v = strmap_get(&a->dyn_metadata, key);

        if (v)
                return *v ? v : NULL; /* "" removes the key (fleet's merge) */
        for (size_t i = 0; a->metadata && a->metadata[i] && a->metadata[i + 1]; i += 2)
                if (streq(a->metadata[i], key))
                        return a->metadata[i + 1];
        return NULL;
}

/* --- unit contents ---------------------------------------------------------------------------- */

static void content_free(AgentContent *c) {
        if (!c)
                return;
        etcd_call_cancel(c->call);
        free(c->text);
        free(c);
}

AgentContent *agent_content_get(Agent *a, const char *hash) {
        return strmap_get(&a->contents, hash);
}

/* Accept text as the content of c if it hashes to c->hash (as stored, or once normalized). */
static int content_accept(AgentContent *c, char *text) {
        _cleanup_free_ char *msg = NULL, *normalized = NULL;
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        char hash[UNIT_HASH_HEX_LEN + 1];
        size_t len = strlen(text);
        int r;

        r = unit_file_parse(text, len, &u, &msg);
        if (r < 0) {
                log_error("Content of unit %s does not parse: %s", c->hash, strempty(msg));
                free(text);
                return r == -ENOMEM ? r : -EBADMSG;
        }
        unit_hash_bytes(text, len, hash);
        if (!streq(hash, c->hash)) {
                r = unit_file_serialize(u, &normalized);
                if (r < 0) {
                        free(text);
                        return r;
                }
                unit_hash_bytes(normalized, strlen(normalized), hash);
                if (!streq(hash, c->hash)) {
                        log_error("Content stored as unit %s has hash %s: refusing it", c->hash,
                                  hash);
                        free(text);
                        return -EBADMSG;
                }
                free(text);
                text = TAKE_PTR(normalized);
                len = strlen(text);
        }
        c->text = text;
        c->len = len;
        c->has_install = unit_file_has_section(u, "Install");
        return 0;
}

static void on_content(Registry *r, int error, RegistryList *list, void *userdata) {
        AgentContent *c = userdata;
        Agent *a = c->agent;

        c->call = NULL;
        if (error >= 0 && (list->n_entries != 1 || !list->entries[0].has_value ||
                           list->entries[0].key.kind != REGISTRY_KEY_UNIT))
                error = -EBADMSG;
        if (error >= 0) {
                error = content_accept(c, TAKE_PTR(list->entries[0].unit_text));
                c->permanent = error == -EBADMSG;
        } else
                log_warning_errno(error, "Failed to fetch unit content %s: %m%s", c->hash,
                                  error == -ENOENT ? " (not in the registry)" : "");
        c->error = error;
        log_debug("Fetched unit content %s", c->hash);
        agent_pass_kick(a);
}

static int content_fetch(Agent *a, const char *hash) {
        RegistryKey key = {.kind = REGISTRY_KEY_UNIT, .name = (char *) hash};
        AgentContent *c = agent_content_get(a, hash);
        int r;

        if (!c) {
                c = calloc(1, sizeof(AgentContent));
                if (!c)
                        return -ENOMEM;
                c->agent = a;
                memcpy(c->hash, hash, sizeof(c->hash));
                if (strmap_put(&a->contents, hash, c, NULL) < 0) {
                        free(c);
                        return -ENOMEM;
                }
        }
        if (c->text || c->call || c->error)
                return 0;
        r = registry_get(a->registry, &key, on_content, c, &c->call);
        if (r < 0)
                c->error = r;
        return r;
}

/* Make w ready for name: content fetched and X-Fleet options parsed. 0 ready, -EAGAIN while
 * fetching, other negative errno if the content is unavailable. */
static int wanted_prepare(Agent *a, const char *name, AgentWanted *w) {
        AgentContent *c = agent_content_get(a, w->target.hash);
        int r;

        if (!c || (!c->text && !c->call && !c->error)) {
                r = content_fetch(a, w->target.hash);
                if (r < 0)
                        return r;
                c = agent_content_get(a, w->target.hash);
        }
        if (c->call)
                return -EAGAIN;
        if (c->error)
                return c->error;
        if (!w->xfleet || !streq(w->xfleet_hash, w->target.hash)) {
                _cleanup_(unit_file_freep) UnitFile *u = NULL;

                w->xfleet = xfleet_free(w->xfleet);
                /* content_accept() parsed this text already: only -ENOMEM can fail here */
                r = unit_file_parse(c->text, c->len, &u, NULL);
                if (r >= 0)
                        r = xfleet_parse(u, name, &w->xfleet);
                if (r < 0)
                        return r;
                memcpy(w->xfleet_hash, w->target.hash, sizeof(w->xfleet_hash));
        }
        return 0;
}

/* Whether an entry of m wants the content hash. */
static bool wanted_uses(const StrMap *m, const char *hash) {
        StrMapIter i = {};
        AgentWanted *w;

        while (strmap_next(m, &i, NULL, (void **) &w))
                if (streq(w->target.hash, hash))
                        return true;
        return false;
}

void agent_contents_prune(Agent *a, bool retry_failed) {
        StrMapIter i = {};
        AgentContent *c;

        while (strmap_next(&a->contents, &i, NULL, (void **) &c)) {
                bool used = wanted_uses(&a->schedule, c->hash) || wanted_uses(&a->globals, c->hash);

                if (!used)
                        content_free(strmap_remove_current(&a->contents, &i));
                else if (retry_failed && c->error && !c->permanent)
                        c->error = 0;
        }
}

/* --- desired units ---------------------------------------------------------------------------- */

static int pass_unit_add(AgentPassUnit *out, size_t *n, const char *name, const AgentWanted *w,
                         bool global) {
        AgentPassUnit *p = &out[(*n)++];

        *p = (AgentPassUnit){
                .name = strdup(name), .target = w->target.desired_state, .global = global};
        if (!p->name)
                return -ENOMEM;
        memcpy(p->hash, w->target.hash, sizeof(p->hash));
        return 0;
}

/* Prepare every entry of m that is desired (not inactive). Returns 1 if one is still being
 * fetched; unavailable ones go to *excluded. */
static int prepare_all(Agent *a, StrMap *m, char ***excluded) {
        bool pending = false;
        StrMapIter i = {};
        const char *name;
        AgentWanted *w;
        int r;

        while (strmap_next(m, &i, &name, (void **) &w)) {
                if (w->target.desired_state == JOB_STATE_INACTIVE)
                        continue;
                r = wanted_prepare(a, name, w);
                if (r == -EAGAIN)
                        pending = true;
                else if (r == -ENOMEM)
                        return r;
                else if (r < 0 && strv_extend(excluded, name) < 0)
                        return -ENOMEM;
        }
        return pending;
}

static bool wanted_usable(const AgentWanted *w, char **excluded, const char *name) {
        return w->target.desired_state != JOB_STATE_INACTIVE && !strv_contains(excluded, name);
}

int agent_desired_compute(Agent *a, AgentPassUnit **ret, size_t *ret_n, char ***ret_excluded) {
        _cleanup_strv_free_ char **excluded = NULL;
        _cleanup_free_ AgentScheduledUnit *sched = NULL;
        _cleanup_free_ AgentGlobalUnit *glob = NULL;
        _cleanup_free_ size_t *idx = NULL;
        AgentPassUnit *out;
        size_t ns = 0, ng = 0, n_idx = 0, n = 0;
        StrMapIter i = {};
        const char *name;
        AgentWanted *w;
        int r, pending;

        pending = prepare_all(a, &a->schedule, &excluded);
        if (pending < 0)
                return pending;
        r = prepare_all(a, &a->globals, &excluded);
        if (r < 0)
                return r;
        if (pending || r)
                return -EAGAIN;

        sched = calloc(strmap_size(&a->schedule) + 1, sizeof(AgentScheduledUnit));
        glob = calloc(strmap_size(&a->globals) + 1, sizeof(AgentGlobalUnit));
        if (!sched || !glob)
                return -ENOMEM;
        /* Every scheduled unit counts for the global selection (name clashes), those without
         * content with no options. */
        while (strmap_next(&a->schedule, &i, &name, (void **) &w))
                if (w->target.desired_state != JOB_STATE_INACTIVE)
                        sched[ns++] = (AgentScheduledUnit){
                                name, strv_contains(excluded, name) ? NULL : w->xfleet};
        i = (StrMapIter){};
        while (strmap_next(&a->globals, &i, &name, (void **) &w))
                if (wanted_usable(w, excluded, name))
                        glob[ng++] = (AgentGlobalUnit){name, w->xfleet, w->target.desired_state};
        r = agent_select_global_units(glob, ng, sched, ns, agent_metadata_lookup, a, &idx, &n_idx);
        if (r < 0)
                return r;

        out = calloc(ns + n_idx + 1, sizeof(AgentPassUnit));
        if (!out)
                return -ENOMEM;
        i = (StrMapIter){};
        while (r >= 0 && strmap_next(&a->schedule, &i, &name, (void **) &w))
                if (wanted_usable(w, excluded, name))
                        r = pass_unit_add(out, &n, name, w, false);
        for (size_t k = 0; k < n_idx && r >= 0; k++)
                r = pass_unit_add(out, &n, glob[idx[k]].name,
                                  strmap_get(&a->globals, glob[idx[k]].name), true);
        if (r < 0) {
                for (size_t k = 0; k < n; k++)
                        free(out[k].name);
                free(out);
                return r;
        }
        *ret = out;
        *ret_n = n;
        *ret_excluded = TAKE_PTR(excluded);
        return 0;
}

void agent_desired_done(Agent *a) {
        StrMapIter i = {};
        AgentContent *c;

        agent_watches_close(a);
        wanted_map_clear(&a->schedule);
        wanted_map_clear(&a->globals);
        wanted_map_clear(&a->global_raw);
        strmap_done_free(&a->pins);
        strmap_done_free(&a->dyn_metadata);
        while (strmap_next(&a->contents, &i, NULL, (void **) &c))
                content_free(c);
        strmap_done(&a->contents);
}
