/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "leader.h"
#include "log.h"

#define RETRY_MIN_USEC (100 * USEC_PER_MSEC)
#define TIMER_ACCURACY_USEC USEC_PER_MSEC

typedef enum LeaderState {
        LEADER_STOPPED,
        LEADER_FOLLOWER,
        LEADER_CAMPAIGNING,
        LEADER_LEADING,
        LEADER_RESIGNING,
} LeaderState;

struct Leader {
        sd_event *event;
        Registry *registry;
        char *machine_id;
        char *version;
        int64_t ttl_sec;
        usec_t ttl_usec;
        bool machine_lease; /* the lease is the owner's (leader_set_lease()): never granted,
                             * renewed or revoked here */
        leader_change_handler_t handler;
        void *userdata;

        LeaderState state;
        int64_t term;
        int64_t lease;
        int64_t campaign_lease;   /* the lease of this object's campaign since the last term ended:
                                   * a key on it is that campaign's success */
        usec_t keepalive_sent_at; /* CLOCK_MONOTONIC send time of the keepalive in flight */
        usec_t deadline_at;       /* own lease: when it may expire (last good send + TTL) */
        usec_t backoff;
        uint64_t terms_won;

        /* The leader key as the watch last showed it. */
        RegistryWatch *watch;
        bool watch_failed;
        bool key_known, key_present;
        int64_t key_create_revision, key_lease, watch_revision;
        char *key_machine_id;

        EtcdCall *grant_call, *campaign_call, *keepalive_call, *resign_call, *revoke_call;
        EtcdCall *clear_call; /* deleting an ended term of ours (machine-lease mode) */
        sd_event_source *keepalive_timer, *deadline_timer, *retry_timer, *done_source;

        void (*resign_done)(Leader *l, void *userdata);
        void *resign_userdata;
};

static void evaluate(Leader *l);

/* ---- small helpers ----------------------------------------------------------------------- */

static usec_t usec_sub_or_zero(usec_t a, usec_t b) {
        return a > b ? a - b : 0;
}

static usec_t now_usec(Leader *l) {
        uint64_t t = 0;

        (void) sd_event_now(l->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* Arm (creating it if needed) a one-shot relative timer. */
static int arm_timer(Leader *l, sd_event_source **s, usec_t delay, sd_event_time_handler_t h,
                     const char *description) {
        int r;

        if (!*s) {
                r = sd_event_add_time_relative(l->event, s, CLOCK_MONOTONIC, delay,
                                               TIMER_ACCURACY_USEC, h, l);
                if (r < 0)
                        return log_error_errno(r, "Failed to add %s timer: %m", description);
                (void) sd_event_source_set_description(*s, description);
                return 0;
        }
        r = sd_event_source_set_time_relative(*s, delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
        if (r < 0)
                return log_error_errno(r, "Failed to arm %s timer: %m", description);
        return 0;
}

static void disarm(sd_event_source *s) {
        if (s)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static void cancel(EtcdCall **call) {
        etcd_call_cancel(*call);
        *call = NULL;
}

static void lease_revoked(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Leader *l = userdata;

        l->revoke_call = NULL;
        if (error < 0 && error != -ENOENT)
                log_debug_errno(error, "Failed to revoke engine lease, ignoring: %m");
}

/* Give up the lease (asynchronously; its keys, the leader key included, go with it). */
static void release_lease(Leader *l) {
        int r;

        if (l->machine_lease) {
                /* Not ours to revoke: the key stays on it until we delete it (see evaluate()),
                 * or goes with it when the machine's lease expires. */
                return;
        }
        if (l->lease == 0)
                return;
        cancel(&l->revoke_call); /* an older revoke: this one supersedes it */
        r = etcd_lease_revoke(registry_get_client(l->registry), l->lease, lease_revoked, l,
                              &l->revoke_call);
        if (r < 0)
                log_warning_errno(r, "Failed to revoke engine lease %" PRIx64 ", ignoring: %m",
                                  (uint64_t) l->lease);
        l->lease = 0;
}

static int retry_fired(sd_event_source *s, uint64_t usec, void *userdata) {
        evaluate(userdata);
        return 0;
}

/* Evaluate again after the current backoff, which doubles up to the lease TTL. */
static void retry_later(Leader *l) {
        l->backoff = l->backoff ? MIN(l->backoff * 2, l->ttl_usec) : RETRY_MIN_USEC;
        (void) arm_timer(l, &l->retry_timer, l->backoff, retry_fired, "engine-leader-retry");
}

/* ---- losing and winning ------------------------------------------------------------------ */

static void lose(Leader *l, const char *reason) {
        int64_t term = l->term;

        if (l->state != LEADER_LEADING)
                return;
        log_warning("Engine leadership lost (term %" PRIi64 "): %s", term, reason);
        l->state = LEADER_FOLLOWER;
        l->term = 0;
        l->campaign_lease = 0; /* a term is never resumed: a new campaign gets a new one */
        disarm(l->keepalive_timer);
        disarm(l->deadline_timer);
        cancel(&l->keepalive_call);
        release_lease(l);
        if (l->handler)
                l->handler(l, false, term, l->userdata);
        /* Campaign again when the key is free (perhaps right away). */
        retry_later(l);
}

static int keepalive_fired(sd_event_source *s, uint64_t usec, void *userdata);
static int deadline_fired(sd_event_source *s, uint64_t usec, void *userdata);

static void win(Leader *l, int64_t term, usec_t lease_granted_at) {
        l->state = LEADER_LEADING;
        l->term = term;
        l->backoff = 0;
        l->terms_won++;
        disarm(l->retry_timer);
        log_info("Engine leadership acquired by %s (term %" PRIi64 ", %s lease %" PRIx64 ")",
                 l->machine_id, term, l->machine_lease ? "machine" : "engine", (uint64_t) l->lease);
        if (!l->machine_lease) {
                (void) arm_timer(l, &l->keepalive_timer, l->ttl_usec / 3, keepalive_fired,
                                 "engine-lease-keepalive");
                l->deadline_at = lease_granted_at + l->ttl_usec;
                (void) arm_timer(l, &l->deadline_timer,
                                 usec_sub_or_zero(l->deadline_at, now_usec(l)), deadline_fired,
                                 "engine-lease-deadline");
        }
        if (l->handler)
                l->handler(l, true, term, l->userdata);
        evaluate(l); /* the watch may already know the key is gone again */
}

/* ---- keepalive ---------------------------------------------------------------------------- */

static void keepalive_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Leader *l = userdata;
        usec_t deadline;

        l->keepalive_call = NULL;
        if (l->state != LEADER_LEADING)
                return;
        if (error == -ENOENT) {
                l->lease = 0; /* gone: nothing to revoke */
                lose(l, "the engine lease expired");
                return;
        }
        if (error < 0) {
                log_warning_errno(error, "Failed to renew engine lease, retrying: %m");
                (void) arm_timer(l, &l->keepalive_timer, MIN(l->ttl_usec / 6, USEC_PER_SEC),
                                 keepalive_fired, "engine-lease-keepalive");
                return;
        }
        /* etcd restarted the TTL when it processed the keepalive, after we sent it. */
        deadline = l->keepalive_sent_at + (usec_t) resp->lease.ttl * USEC_PER_SEC;
        l->deadline_at = deadline;
        (void) arm_timer(l, &l->deadline_timer, usec_sub_or_zero(deadline, now_usec(l)),
                         deadline_fired, "engine-lease-deadline");
        (void) arm_timer(l, &l->keepalive_timer, l->ttl_usec / 3, keepalive_fired,
                         "engine-lease-keepalive");
}

static int keepalive_fired(sd_event_source *s, uint64_t usec, void *userdata) {
        Leader *l = userdata;
        int r;

        if (l->state != LEADER_LEADING || l->keepalive_call)
                return 0;
        l->keepalive_sent_at = now_usec(l);
        /* Its answer is useful until the lease may have expired: that is its timeout, not the
         * client's per-request one (1 s by default), which a saturated etcd, or a loop busy
         * with a long pass while the answer waits in the socket, exceeds. */
        r = etcd_lease_keepalive_timeout(registry_get_client(l->registry), l->lease,
                                         usec_sub_or_zero(l->deadline_at, l->keepalive_sent_at),
                                         keepalive_done, l, &l->keepalive_call);
        if (r < 0) {
                log_warning_errno(r, "Failed to send engine lease keepalive, retrying: %m");
                (void) arm_timer(l, &l->keepalive_timer, l->ttl_usec / 6, keepalive_fired,
                                 "engine-lease-keepalive");
        }
        return 0;
}

static int deadline_fired(sd_event_source *s, uint64_t usec, void *userdata) {
        Leader *l = userdata;

        /* etcd may have expired the lease; revoking it anyway is harmless. */
        lose(l, "no lease keepalive succeeded within the lease TTL");
        return 0;
}

/* ---- campaign ----------------------------------------------------------------------------- */

static void campaign_done(Registry *r, int error, int64_t revision, void *userdata) {
        Leader *l = userdata;

        l->campaign_call = NULL;
        if (l->state != LEADER_CAMPAIGNING)
                return;
        l->state = LEADER_FOLLOWER;
        if (error >= 0 && l->lease == l->campaign_lease) {
                win(l, revision, l->keepalive_sent_at);
                return;
        }
        if (error >= 0) {
                /* The machine lease ended while the campaign was under way: that term is over
                 * before it began (the key goes with the lease, or evaluate() deletes it). */
                log_debug("Engine campaign won on a lease that ended meanwhile");
                evaluate(l);
                return;
        }
        if (error == -EBUSY) {
                /* The backoff keeps growing: a key the watch cannot decode (and so reports
                 * absent) must not make us campaign in a loop. */
                log_debug("Engine campaign lost: another engine leads");
                release_lease(l);
        } else if (error == -ENOENT) {
                log_debug("Engine lease vanished before the campaign, retrying");
                if (!l->machine_lease)
                        l->lease = 0; /* the owner tells us the machine's next one */
        } else
                log_warning_errno(error, "Engine campaign failed, retrying: %m");
        /* If the watch still shows the key absent, it has not caught up yet: look again a
         * little later rather than campaigning in a tight loop. */
        retry_later(l);
}

static void campaign(Leader *l) {
        RegistryLeader rl = {.machine_id = l->machine_id, .version = l->version};
        int r;

        l->campaign_lease = l->lease;
        r = registry_campaign(l->registry, &rl, l->lease, campaign_done, l, &l->campaign_call);
        if (r < 0) {
                log_error_errno(r, "Failed to start engine campaign, retrying: %m");
                l->state = LEADER_FOLLOWER;
                retry_later(l);
        }
}

static void grant_done(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Leader *l = userdata;

        l->grant_call = NULL;
        if (l->state != LEADER_CAMPAIGNING)
                return;
        if (error < 0) {
                log_warning_errno(error, "Failed to grant engine lease, retrying: %m");
                l->state = LEADER_FOLLOWER;
                retry_later(l);
                return;
        }
        l->lease = resp->lease.id;
        campaign(l);
}

static void start_campaign(Leader *l) {
        int r;

        if (l->machine_lease && l->lease == 0)
                return; /* no live machine lease: nothing to campaign with */
        l->state = LEADER_CAMPAIGNING;
        if (l->lease != 0) {
                campaign(l);
                return;
        }
        /* The lease TTL runs from (at the latest) now: remember it for the deadline. */
        l->keepalive_sent_at = now_usec(l);
        r = etcd_lease_grant(registry_get_client(l->registry), l->ttl_sec, 0, grant_done, l,
                             &l->grant_call);
        if (r < 0) {
                log_error_errno(r, "Failed to request engine lease, retrying: %m");
                l->state = LEADER_FOLLOWER;
                retry_later(l);
        }
}

/* ---- the leader key watch ----------------------------------------------------------------- */

static int set_key(Leader *l, const RegistryEntry *e) {
        char *id = NULL;

        if (e && e->has_value) {
                id = strdup(strempty(e->leader.machine_id));
                if (!id)
                        return -ENOMEM;
        }
        free(l->key_machine_id);
        l->key_machine_id = id;
        l->key_present = e && e->has_value;
        l->key_create_revision = l->key_present ? e->create_revision : 0;
        l->key_lease = l->key_present ? e->lease : 0;
        return 0;
}

static int apply_update(Leader *l, const RegistryWatchUpdate *u) {
        int r = 0;

        if (u->resync) {
                r = set_key(l, NULL);
                for (size_t i = 0; r >= 0 && i < u->n_entries; i++)
                        if (u->entries[i].key.kind == REGISTRY_KEY_ENGINE_LEADER)
                                r = set_key(l, &u->entries[i]);
        }
        for (size_t i = 0; r >= 0 && i < u->n_events; i++) {
                const RegistryEvent *ev = &u->events[i];

                if (ev->entry.key.kind != REGISTRY_KEY_ENGINE_LEADER)
                        continue;
                r = set_key(l, ev->type == REGISTRY_EVENT_PUT ? &ev->entry : NULL);
        }
        return r;
}

static void log_leader_change(Leader *l, const char *old) {
        if (streq(strempty(old), strempty(l->key_machine_id)))
                return;
        if (l->key_machine_id)
                log_info("Engine leader is %s (term %" PRIi64 ")", l->key_machine_id,
                         l->key_create_revision);
        else
                log_info("Engine leader key is free");
}

static void on_watch(RegistryWatch *w, int error, const RegistryWatchUpdate *u, void *userdata) {
        Leader *l = userdata;
        _cleanup_free_ char *old = NULL;
        int r;

        if (error < 0) {
                /* Only auth errors end a resync watch: try again later. */
                log_error_errno(error, "Engine leader watch stopped, restarting: %m");
                l->key_known = false;
                l->watch_failed = true;
                retry_later(l);
                return;
        }
        old = l->key_machine_id ? strdup(l->key_machine_id) : NULL;
        r = apply_update(l, u);
        if (r < 0) {
                log_oom();
                l->key_known = false;
                (void) registry_watch_restart(w, 0);
                return;
        }
        l->key_known = true;
        l->watch_revision = u->revision;
        log_leader_change(l, old);
        evaluate(l);
}

/* Make sure the leader key is watched: 1 if the watch is up (or starting), 0 if not yet. */
static int ensure_watch(Leader *l) {
        int r;

        if (!l->watch) {
                r = registry_watch_new(l->registry, REGISTRY_KEY_ENGINE_LEADER, NULL, NULL,
                                       on_watch, l, &l->watch);
                if (r < 0) {
                        log_error_errno(r, "Failed to watch the leader key, retrying: %m");
                        retry_later(l);
                        return 0;
                }
                return 1;
        }
        if (l->watch_failed) {
                r = registry_watch_restart(l->watch, 0);
                if (r < 0) {
                        log_error_errno(r, "Failed to restart the leader watch, retrying: %m");
                        retry_later(l);
                        return 0;
                }
                l->watch_failed = false;
        }
        return 1;
}

static void cleared(Registry *r, int error, int64_t revision, void *userdata) {
        Leader *l = userdata;

        l->clear_call = NULL;
        if (error < 0 && error != -ESTALE) {
                log_warning_errno(error, "Failed to delete an ended engine term, retrying: %m");
                retry_later(l);
        }
        /* Deleted (or replaced meanwhile): the watch shows it and evaluate() goes on. */
}

/* The leader key is on our machine lease, but its term ended (we stepped down) or belongs to a
 * previous fleetd that used the same lease: delete it (fenced by its create_revision), then
 * campaign for a new term. A term is never resumed. */
static void clear_ended_term(Leader *l) {
        int r;

        if (l->clear_call)
                return;
        log_info("Deleting the leader key of ended term %" PRIi64 " on this machine's lease",
                 l->key_create_revision);
        r = registry_resign(l->registry, l->key_create_revision, cleared, l, &l->clear_call);
        if (r < 0) {
                log_warning_errno(r, "Failed to delete an ended engine term, retrying: %m");
                retry_later(l);
        }
}

static void evaluate(Leader *l) {
        if (l->state == LEADER_STOPPED || l->state == LEADER_RESIGNING)
                return;
        if (ensure_watch(l) <= 0 || !l->key_known)
                return;
        switch (l->state) {
        case LEADER_LEADING:
                /* Only trust what the watch saw after our term began. */
                if (l->watch_revision < l->term)
                        return;
                if (!l->key_present)
                        lose(l, "the leader key was deleted");
                else if (l->key_create_revision != l->term)
                        lose(l, "another engine holds the leader key");
                return;
        case LEADER_FOLLOWER:
                if (l->key_present && l->lease != 0 && l->key_lease == l->lease) {
                        if (l->campaign_lease == l->lease)
                                /* A campaign whose answer got lost did succeed. */
                                win(l, l->key_create_revision, l->keepalive_sent_at);
                        else if (l->machine_lease)
                                clear_ended_term(l);
                        return;
                }
                if (!l->key_present)
                        start_campaign(l);
                return;
        default:
                return;
        }
}

/* ---- resign ------------------------------------------------------------------------------- */

static int done_fired(sd_event_source *s, void *userdata) {
        Leader *l = userdata;

        disarm(l->done_source);
        l->state = LEADER_STOPPED;
        if (l->resign_done)
                l->resign_done(l, l->resign_userdata);
        return 0;
}

/* Call the resign callback from the loop, through a defer source. */
static void resign_finish(Leader *l) {
        int r;

        if (!l->done_source) {
                r = sd_event_add_defer(l->event, &l->done_source, done_fired, l);
                if (r < 0) {
                        log_error_errno(r, "Failed to add resign defer source: %m");
                        done_fired(NULL, l);
                        return;
                }
                (void) sd_event_source_set_description(l->done_source, "engine-leader-resign");
        }
        (void) sd_event_source_set_enabled(l->done_source, SD_EVENT_ONESHOT);
}

static void resign_revoked(EtcdClient *c, int error, EtcdResponse *resp, void *userdata) {
        Leader *l = userdata;

        l->revoke_call = NULL;
        if (error < 0 && error != -ENOENT)
                log_warning_errno(error, "Failed to revoke engine lease, ignoring: %m");
        resign_finish(l);
}

static void resign_revoke(Leader *l) {
        int r;

        if (l->machine_lease)
                l->lease = 0; /* the machine's: its owner revokes it, or keeps it (handover) */
        if (l->lease == 0) {
                resign_finish(l);
                return;
        }
        cancel(&l->revoke_call);
        r = etcd_lease_revoke(registry_get_client(l->registry), l->lease, resign_revoked, l,
                              &l->revoke_call);
        l->lease = 0;
        if (r < 0) {
                log_warning_errno(r, "Failed to revoke engine lease, ignoring: %m");
                resign_finish(l);
        }
}

static void resigned(Registry *r, int error, int64_t revision, void *userdata) {
        Leader *l = userdata;

        l->resign_call = NULL;
        if (error < 0 && error != -ESTALE)
                log_warning_errno(error, "Failed to delete the leader key, ignoring: %m");
        else if (error >= 0)
                log_info("Engine leadership resigned (term %" PRIi64 ")", l->term);
        l->term = 0;
        resign_revoke(l);
}

int leader_resign(Leader *l, void (*done)(Leader *l, void *userdata), void *userdata) {
        int r;

        assert(l);
        if (l->state == LEADER_RESIGNING)
                return -EALREADY;
        l->resign_done = done;
        l->resign_userdata = userdata;
        cancel(&l->grant_call);
        cancel(&l->campaign_call);
        cancel(&l->keepalive_call);
        cancel(&l->clear_call);
        disarm(l->keepalive_timer);
        disarm(l->deadline_timer);
        disarm(l->retry_timer);
        l->watch = registry_watch_free(l->watch);
        l->key_known = false;
        l->state = LEADER_RESIGNING;
        if (l->term == 0) {
                resign_revoke(l);
                return 0;
        }
        r = registry_resign(l->registry, l->term, resigned, l, &l->resign_call);
        if (r < 0) {
                log_warning_errno(r, "Failed to resign engine leadership, ignoring: %m");
                l->term = 0;
                resign_revoke(l);
        }
        return 0;
}

/* ---- object ------------------------------------------------------------------------------- */

int leader_new(Leader **ret, sd_event *event, Registry *registry, const LeaderConfig *cfg,
               leader_change_handler_t handler, void *userdata) {
        _cleanup_(leader_freep) Leader *l = NULL;

        assert(ret);
        if (!event || !registry || !cfg || !cfg->machine_id)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->event = sd_event_ref(event);
        l->registry = registry;
        l->machine_id = strdup(cfg->machine_id);
        l->version = strdup(strempty(cfg->version));
        if (!l->machine_id || !l->version)
                return -ENOMEM;
        l->ttl_sec = (int64_t) MAX((cfg->lease_ttl + USEC_PER_SEC - 1) / USEC_PER_SEC, (usec_t) 1);
        l->ttl_usec = (usec_t) l->ttl_sec * USEC_PER_SEC;
        l->machine_lease = cfg->machine_lease;
        l->handler = handler;
        l->userdata = userdata;
        *ret = TAKE_PTR(l);
        return 0;
}

int leader_start(Leader *l) {
        assert(l);
        if (l->state != LEADER_STOPPED)
                return -EALREADY;
        l->state = LEADER_FOLLOWER;
        evaluate(l); /* on failure it retries by itself */
        return 0;
}

int leader_set_lease(Leader *l, int64_t lease) {
        assert(l);
        if (!l->machine_lease)
                return -EINVAL;
        if (lease < 0)
                return -EINVAL;
        if (lease == l->lease)
                return 0;
        if (l->state == LEADER_RESIGNING || l->state == LEADER_STOPPED) {
                l->lease = lease;
                return 0;
        }
        /* The term lives on the old lease: whatever happened to it, stop leading now. */
        lose(l, lease == 0 ? "this machine's lease is gone or may have expired"
                           : "this machine has a new lease");
        l->lease = lease;
        evaluate(l);
        return 0;
}

void leader_step_down(Leader *l, const char *reason) {
        assert(l);
        lose(l, reason ? reason : "stepping down");
}

Leader *leader_free(Leader *l) {
        if (!l)
                return NULL;
        cancel(&l->grant_call);
        cancel(&l->campaign_call);
        cancel(&l->keepalive_call);
        cancel(&l->resign_call);
        cancel(&l->revoke_call);
        cancel(&l->clear_call);
        registry_watch_free(l->watch);
        sd_event_source_disable_unref(l->keepalive_timer);
        sd_event_source_disable_unref(l->deadline_timer);
        sd_event_source_disable_unref(l->retry_timer);
        sd_event_source_disable_unref(l->done_source);
        sd_event_unref(l->event);
        free(l->key_machine_id);
        free(l->machine_id);
        free(l->version);
        free(l);
        return NULL;
}

bool leader_is_leader(const Leader *l) {
        return l && l->state == LEADER_LEADING;
}

int64_t leader_get_term(const Leader *l) {
        return l && l->state == LEADER_LEADING ? l->term : 0;
}

const char *leader_get_current(const Leader *l) {
        return l && l->key_present ? l->key_machine_id : NULL;
}

int64_t leader_get_lease(const Leader *l) {
        return l ? l->lease : 0;
}

uint64_t leader_get_terms_won(const Leader *l) {
        return l ? l->terms_won : 0;
}
